from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from django.core.cache import caches
from django.core.cache.utils import make_template_fragment_key
from django.http import HttpRequest, HttpResponse
from django.template import Context, Template
from django.test import Client, override_settings
from django.urls import path
from django.views.decorators.cache import cache_page

from cache_admin import CacheInvalidator
from tests.conftest import CLUSTER_ALIASES

calls: Counter[str] = Counter()


def _view(name: str) -> Any:
    def view(request: HttpRequest) -> HttpResponse:
        calls[name] += 1
        return HttpResponse(f"{name} #{calls[name]}")

    return view


urlpatterns = [
    path("products/", cache_page(60)(_view("products"))),
    path("other/", cache_page(60)(_view("other"))),
    path("shop/", cache_page(60, key_prefix="shop")(_view("shop"))),
    *(
        path(f"{alias}/products/", cache_page(60, cache=alias)(_view(f"{alias}-products")))
        for alias in ("builtin", *CLUSTER_ALIASES)
    ),
]


def _render(name: str, vary: Any, value: str, alias: str) -> str:
    template = Template(
        "{% load cache %}{% cache 600 " + name + ' vary using="' + alias + '" %}'
        "{{ value }}{% endcache %}"
    )
    return template.render(Context({"vary": vary, "value": value}))


def test_fragment_is_rendered_again_after_invalidation(cache_alias: str) -> None:
    assert _render("recommendations", 1, "v1", cache_alias) == "v1"
    assert _render("recommendations", 2, "v1", cache_alias) == "v1"
    assert _render("recommendations", 1, "v2", cache_alias) == "v1"  # cached

    result = CacheInvalidator.invalidate_fragment("recommendations", [1])

    assert result.deleted == 1
    assert result.keys == (make_template_fragment_key("recommendations", [1]),)
    assert result.message == "recommendations: 1 key deleted"
    assert _render("recommendations", 1, "v2", cache_alias) == "v2"
    assert _render("recommendations", 2, "v2", cache_alias) == "v1"  # another variant


def test_all_variants_of_a_fragment(cache_alias: str) -> None:
    for vary in (1, 2, 3):
        _render("sidebar", vary, "old", cache_alias)
    _render("sidebar.extra", 1, "old", cache_alias)  # a name that shares the text prefix

    result = CacheInvalidator.invalidate_fragment("sidebar", all_variants=True)

    assert result.deleted == 3
    assert _render("sidebar", 2, "new", cache_alias) == "new"
    assert _render("sidebar.extra", 1, "new", cache_alias) == "old"


def test_fragment_needs_a_name() -> None:
    with pytest.raises(ValueError, match="fragment name"):
        CacheInvalidator.invalidate_fragment("  ")


@pytest.fixture
def client() -> Client:
    calls.clear()
    with override_settings(ROOT_URLCONF=__name__):
        yield Client()


def _get(client: Client, url: str) -> str:
    return client.get(url).content.decode()


def test_cache_page_of_a_path(cache_alias: str, client: Client) -> None:
    page = "/products/" if cache_alias == "default" else f"/{cache_alias}/products/"
    assert _get(client, page).endswith("#1")
    assert _get(client, page).endswith("#1")  # served from the cache
    _get(client, "/other/")

    result = CacheInvalidator.invalidate_cache_page(page, hosts=["testserver"])

    assert result.deleted == 2  # the header list and the page
    assert "http://testserver" + page in result.keys
    assert _get(client, page).endswith("#2")
    assert _get(client, "/other/").endswith("#1")  # untouched


def test_query_strings_and_absolute_urls(client: Client) -> None:
    _get(client, "/products/?page=2")
    _get(client, "/products/")
    result = CacheInvalidator.invalidate_cache_page("http://testserver/products/?page=2")
    assert result.deleted == 2
    assert _get(client, "/products/?page=2").endswith("#3")
    assert _get(client, "/products/").endswith("#2")


def test_hosts_from_settings(client: Client, settings: Any) -> None:
    _get(client, "/products/")
    settings.ALLOWED_HOSTS = ["*"]
    with pytest.raises(ValueError, match="PAGE_HOSTS"):
        CacheInvalidator.invalidate_cache_page("/products/")  # no concrete host
    settings.CACHE_ADMIN = {**settings.CACHE_ADMIN, "PAGE_HOSTS": ["example.com", "testserver"]}
    assert CacheInvalidator.invalidate_cache_page("/products/").deleted == 2
    settings.CACHE_ADMIN = {**settings.CACHE_ADMIN, "PAGE_HOSTS": None}
    settings.ALLOWED_HOSTS = ["testserver", ".example.com"]
    _get(client, "/products/")
    assert CacheInvalidator.invalidate_cache_page("/products/").deleted == 2


def test_key_prefix_narrows(client: Client) -> None:
    _get(client, "/shop/")
    hosts = ["testserver"]
    assert (
        CacheInvalidator.invalidate_cache_page("/shop/", hosts=hosts, key_prefix="x").deleted == 0
    )
    assert CacheInvalidator.invalidate_cache_page("/shop/", hosts=hosts, key_prefix="shop").deleted
    assert _get(client, "/shop/").endswith("#2")


@pytest.mark.parametrize("bad", ["", "products/", "ftp://x/", None])
def test_bad_paths_are_refused(bad: Any) -> None:
    with pytest.raises(ValueError):
        CacheInvalidator.invalidate_cache_page(bad, hosts=["testserver"])


def test_hosts_django_would_refuse_are_skipped(settings: Any) -> None:
    settings.ALLOWED_HOSTS = ["testserver"]
    with pytest.raises(ValueError, match="No usable URL"):
        CacheInvalidator.invalidate_cache_page("/products/", hosts=["evil.example"])
    assert caches["default"].get("unrelated") is None


def test_one_host_as_text_and_a_fragment_in_the_url(client: Client) -> None:
    _get(client, "/products/")
    result = CacheInvalidator.invalidate_cache_page("/products/#reviews", hosts="testserver")
    assert result.keys == ("http://testserver/products/", "https://testserver/products/")
    assert result.deleted == 2


def test_cache_page_step_by_step_for_a_background_job(client: Client) -> None:
    _get(client, "/products/")
    _get(client, "/other/")
    steps = list(CacheInvalidator.iter_invalidate_cache_page("/products/", hosts=["testserver"]))
    assert steps[-1].done and steps[-1].deleted == 2
    assert _get(client, "/products/").endswith("#2")
    assert _get(client, "/other/").endswith("#1")  # untouched
    with pytest.raises(ValueError):  # checked when called, before any step runs
        CacheInvalidator.iter_invalidate_cache_page("no-slash")
