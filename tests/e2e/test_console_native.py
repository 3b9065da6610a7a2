"""Native in both admin flavours, in Chromium: breadcrumbs on every console page, every
form field visibly styled (unfold styles only its own widgets), the theme's colours, and
unfold's sidebar with the console's group beside Users and Groups.

Each test runs under plain admin and again under unfold (CACHE_ADMIN_TEST_UNFOLD=1)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.cache import cache

from cache_admin.console import sidebar_navigation
from tests.e2e.conftest import FLAVOUR
from tests.testapp.models import Product

# Every input, select and textarea a person types into or picks from.
FIELDS = "input:not([type=hidden]):not([type=checkbox]):not([type=submit]), select, textarea"

# Visible means: a border that is drawn, or a background that differs from the page's.
VISIBLE_JS = """
(el) => {
  const style = getComputedStyle(el);
  const page = getComputedStyle(document.body).backgroundColor;
  const clear = (c) => c === "transparent" || c === "rgba(0, 0, 0, 0)";
  const border = parseFloat(style.borderTopWidth) > 0 && style.borderTopStyle !== "none"
    && !clear(style.borderTopColor);
  const fill = !clear(style.backgroundColor) && style.backgroundColor !== page;
  return {border, fill, id: el.id || el.name, width: el.getBoundingClientRect().width};
}
"""


def fields_are_visible(page: Any, scope: str) -> list[dict[str, Any]]:
    found = [
        page.evaluate(VISIBLE_JS, handle)
        for handle in page.query_selector_all(f"{scope} :is({FIELDS})")
        if handle.is_visible()
    ]
    assert found, f"no form field under {scope}"
    hidden = [f for f in found if not (f["border"] or f["fill"]) or f["width"] < 20]
    assert not hidden, f"fields that cannot be seen: {hidden}"
    return found


def breadcrumbs(page: Any) -> list[str]:
    """The trail's parts, in the flavour's own markup."""
    if FLAVOUR == "unfold":
        # unfold's header trail (as on its model admins' pages), chevrons between parts.
        trail = page.locator("#header-inner h1").inner_text()
        return [part.strip() for part in trail.split("chevron_right") if part.strip()]
    items = page.locator(".breadcrumbs li")  # Django 6: a list, the arrows drawn by CSS
    if items.count():
        return [text.strip() for text in items.all_inner_texts()]
    return [part.strip() for part in page.locator(".breadcrumbs").inner_text().split("\u203a")]


def test_every_console_page_has_breadcrumbs_and_visible_fields(
    console: Any, registered_product: type[Product], shot: Callable[[str], Any]
) -> None:
    cache.set("product:1", {"name": "Laptop"})
    pages = [
        ("/admin/cache/dashboard/", ["Cache", "Cache dashboard"], None),
        ("/admin/cache/keys/?prefix=product:", ["Cache", "Cache keys"], "#cache-admin form"),
        ("/admin/cache/invalidate/", ["Cache", "Invalidate cache"], "#cache-admin .ca-cards"),
        ("/admin/cache/warm/", ["Cache", "Cache warming"], None),
        ("/admin/cache/keys/delete-prefix/", ["Cache", "Keys", "Delete by prefix"], "#cache-admin"),
    ]
    for path, trail, form in pages:
        console.goto(console.url_for(path))
        console.wait_for_selector("#cache-admin")
        found = breadcrumbs(console)
        assert found[-len(trail) :] == trail, (path, found)
        if FLAVOUR == "plain":
            assert found[0] == "Home"
        cache_link = console.locator(
            "#header-inner h1 a" if FLAVOUR == "unfold" else ".breadcrumbs a"
        ).filter(has_text="Cache")
        assert cache_link.first.get_attribute("href") == "/admin/cache_admin/"
        if form:
            fields_are_visible(console, form)
        shot(path.split("?")[0].strip("/").replace("/", "-"))

    console.goto(console.url_for("/admin/cache/keys/?prefix=product:"))
    console.click("#cache-admin-key-rows a:text-is('product:1')")
    console.wait_for_selector("#cache-admin-value")
    assert breadcrumbs(console)[-3:] == ["Cache", "Keys", "Cache key"]
    fields_are_visible(console, "#cache-admin .ca-cards")
    shot("key-detail")
    assert console.js_errors == []


def test_the_ttl_override_form_shows_its_fields(console: Any, shot: Callable[[str], Any]) -> None:
    # Under unfold 0.91 the declared "TTL (seconds)" box had border 0 and a transparent
    # background (only its help text showed), and the "Cache type" select was bare.
    console.goto(console.url_for("/admin/cache_admin/ttloverride/add/?cache_type=cart"))
    ttl = console.wait_for_selector("#id_ttl")
    style = console.evaluate(VISIBLE_JS, ttl)
    assert style["border"] or style["fill"], style
    assert style["width"] > 40, style
    select = console.evaluate(VISIBLE_JS, console.query_selector("#id_cache_type"))
    assert select["border"] or select["fill"], select
    if FLAVOUR == "unfold":
        # unfold's own widgets: its classes, as on a model field of its ModelAdmin.
        assert "border-base-200" in str(ttl.get_attribute("class"))
        assert "border-base-200" in str(console.get_attribute("#id_cache_type", "class"))
        assert console.get_attribute("#id_note", "class") == ttl.get_attribute("class")
    fields_are_visible(console, "form")
    console.fill("#id_ttl", "0")
    console.click("[name=_save]")
    console.wait_for_selector("text=A TTL is at least 1 second.")
    assert console.evaluate(VISIBLE_JS, console.query_selector("#id_ttl"))["border"]
    shot("ttl-add-error")
    console.fill("#id_ttl", "90")
    console.click("[name=_save]")
    console.wait_for_selector("#cache-admin-ttl-types tr[data-type='cart']:has-text('90 s')")
    console.click("#cache-admin-ttl-types tr[data-type='cart'] a:text('Change override')")
    console.wait_for_selector("#id_ttl")
    fields_are_visible(console, "form")
    shot("ttl-change")
    assert console.js_errors == []


THEME_JS = """
([badge, variable]) => {
  const probe = document.createElement("span");
  probe.style.background = `var(${variable})`;
  document.getElementById("cache-admin").appendChild(probe);
  const wanted = getComputedStyle(probe).backgroundColor;
  probe.remove();
  return [getComputedStyle(document.querySelector(badge)).backgroundColor, wanted];
}
"""


def test_badges_use_the_themes_colours(console: Any, shot: Callable[[str], Any]) -> None:
    from cache_admin import counters

    counters.record("product_detail", "hits", 190)
    counters.record("product_detail", "misses", 10)
    counters.record("cart", "misses", 100)
    counters.record("category", "misses", 5)
    counters.flush()
    console.goto(console.url_for("/admin/cache/dashboard/"))
    console.wait_for_selector("#cache-admin-types")
    good, bad = (
        ("--color-green-100", "--color-red-100")
        if FLAVOUR == "unfold"
        else ("--message-success-bg", "--message-error-bg")
    )
    for selector, variable in [
        ("tr[data-type='product_detail'] .ca-level--target", good),
        ("tr[data-type='cart'] .ca-level--poor", bad),
    ]:
        shown, wanted = console.evaluate(THEME_JS, [selector, variable])
        assert shown == wanted and wanted not in ("", "rgba(0, 0, 0, 0)"), (selector, shown)
    # Too few lookups: the theme's neutral colour, neither red nor green.
    neutral = "--darkened-bg" if FLAVOUR == "plain" else "--ca-neutral-bg"
    shown, wanted = console.evaluate(THEME_JS, ["tr[data-type='category'] .ca-level--few", neutral])
    assert shown == wanted and wanted != "rgba(0, 0, 0, 0)", shown
    shot("dashboard-levels")


def test_the_sidebar_lists_the_console_and_keeps_users_and_groups(
    console: Any, settings: Any, shot: Callable[[str], Any]
) -> None:
    # The documented setting; plain admin ignores it and lists the same in its own sidebar.
    settings.UNFOLD = {"SIDEBAR": {"navigation": sidebar_navigation()}}
    console.goto(console.url_for("/admin/cache/warm/"))
    console.wait_for_selector("#cache-admin")
    sidebar = console.locator("#nav-sidebar" if FLAVOUR == "plain" else "#nav-sidebar-apps")
    text = sidebar.inner_text()
    pages = ("Dashboard", "Server", "Keys", "Analysis", "Invalidate", "Warm")
    for entry in (*pages, "Warm runs", "TTL overrides"):
        assert entry in text, (entry, text)
    assert "Audit log" in text
    assert "Users" in text and "Groups" in text
    current = sidebar.locator("a[aria-current=page], a.active").first
    assert current.inner_text().split()[-1] == "Warm"  # after its icon
    shot("sidebar")
