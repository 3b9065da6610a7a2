"""Storefront and staff traffic against the demo's web server, from threads of this process.

Each visitor (anonymous, a signed-in shopper, a signed-in staff member) goes round its own
pages with a short pause between requests. Every request is recorded with the time the
client measured and the time the server measured (``Server-Timing``, written by the demo's
first middleware), so that a busy test machine does not count its own delays as the
site's; signed-in visitors also record whether they still were after each response.
"""

from __future__ import annotations

import http.client
import re
import statistics
import threading
import time
import urllib.error
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from tests.demo_support import Browser, Page, WebServer, manage, sign_in

NO_ANSWER = 0
SHOPPER_PASSWORD = "shopper"  # the demo seed's
STAFF_PASSWORD = "staff-password"
_DURATION = re.compile(r"dur=([0-9.]+)")


@dataclass(frozen=True)
class Visit:
    visitor: str
    page: str  # the kind of page ("detail", "admin index"...)
    started: float  # time.monotonic() when the request was sent
    seconds: float  # as the client measured it
    server_ms: float | None  # as the server measured it
    status: int  # NO_ANSWER when the server did not answer at all
    signed_in: bool | None  # for a visitor that signed in: still signed in after it


@dataclass
class Visitor:
    name: str
    browser: Browser
    pages: Sequence[tuple[str, str]]  # (kind, path)
    # For a signed-in visitor: whether a response shows it still signed in.
    still_signed_in: Callable[[Page], bool] | None = None


def shopper_signed_in(username: str) -> Callable[[Page], bool]:
    def check(page: Page) -> bool:
        return "/login/" not in page.url and f"Sign out {username}" in page.html

    return check


def staff_signed_in(page: Page) -> bool:
    return "/admin/login/" not in page.url and page.status == 200


def server_ms(page: Page) -> float | None:
    found = _DURATION.search(page.headers.get("Server-Timing", ""))
    return float(found.group(1)) if found else None


def queries(page: Page) -> int:
    return int(page.headers["X-Shop-Queries"])


class Traffic:
    """``with Traffic(visitors):`` runs them in threads until the block ends."""

    def __init__(self, visitors: Sequence[Visitor], pause: float = 0.03) -> None:
        self.visitors = visitors
        self.pause = pause
        self.visits: list[Visit] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._run, args=(v,), name=f"traffic:{v.name}", daemon=True)
            for v in visitors
        ]

    def __enter__(self) -> Traffic:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(60)

    def _run(self, visitor: Visitor) -> None:
        while not self._stop.is_set():
            for kind, path in visitor.pages:
                if self._stop.is_set():
                    return
                self._record(visitor, kind, path)
                self._stop.wait(self.pause)

    def _record(self, visitor: Visitor, kind: str, path: str) -> None:
        started = time.monotonic()
        try:
            page = visitor.browser.open(path)
        except (urllib.error.URLError, http.client.HTTPException, OSError):
            visit = Visit(visitor.name, kind, started, time.monotonic() - started, None, 0, None)
        else:
            check = visitor.still_signed_in
            visit = Visit(
                visitor.name,
                kind,
                started,
                page.seconds,
                server_ms(page),
                page.status,
                check(page) if check is not None else None,
            )
        with self._lock:
            self.visits.append(visit)

    def between(self, start: float, end: float) -> list[Visit]:
        """The visits sent from ``start`` to ``end`` (time.monotonic())."""
        with self._lock:
            return [v for v in self.visits if start <= v.started < end]


def percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def latency(visits: Sequence[Visit], *, server: bool = True) -> dict[str, float]:
    """p50, p95 and max in milliseconds, of the server's figures or the client's."""
    found = [
        (v.server_ms if server else v.seconds * 1000)
        for v in visits
        if not server or v.server_ms is not None
    ]
    return {
        "n": len(found),
        "p50": statistics.median(found),
        "p95": percentile(found, 0.95),
        "max": max(found),
    }


def create_staff(env: dict[str, str], *usernames: str) -> None:
    """Superusers of the demo (password STAFF_PASSWORD), made with its own manage.py."""
    with_password = {**env, "DJANGO_SUPERUSER_PASSWORD": STAFF_PASSWORD}
    for name in usernames:
        email = f"{name}@example.com"
        manage(with_password, "createsuperuser", "--noinput", "--username", name, "--email", email)


def storefront_paths(web: WebServer) -> list[str]:
    status, listing = web.get("/products/")
    assert status == 200
    product = re.search(r'href="(/products/[\w-]+/)"', listing)
    assert product, listing[-2000:]
    _, detail = web.get(product.group(1))
    category = re.search(r'href="(/categories/[\w-]+/)"', detail)
    assert category, detail[-2000:]
    return [
        "/",
        "/products/",
        "/products/?page=2&sort=price",
        product.group(1),
        category.group(1),
        "/search/?q=lamp",
        "/login/",
    ]


def shopper(web: WebServer, username: str) -> Browser:
    browser = Browser(web.url)
    page = sign_in(browser, "/login/", username, SHOPPER_PASSWORD, "/")
    assert page.status == 200 and f"Sign out {username}" in page.html, page.html[-2000:]
    return browser


def staff(web: WebServer, username: str) -> Browser:
    browser = Browser(web.url)
    page = sign_in(browser, "/admin/login/", username, STAFF_PASSWORD, "/admin/")
    assert page.status == 200 and page.url.endswith("/admin/"), page.url
    return browser


def visitors(web: WebServer, paths: list[str]) -> list[Visitor]:
    """Three anonymous visitors on the storefront, the shopper alice on her pages, and the
    staff member "staff" on the admin: a product found by search and opened to edit, as
    staff work, and the cache console."""
    kinds = ["home", "list", "list page 2", "detail", "category", "search", "login"]
    storefront = list(zip(kinds, paths, strict=True))
    detail = paths[3]
    admin = staff(web, "staff")
    search = "/admin/shop/product/?q=" + detail.strip("/").split("/")[-1]
    change = re.search(r"/admin/shop/product/\d+/change/", admin.get(search)[1])
    assert change, "the admin's product search found nothing"
    return [
        *(
            Visitor(f"anonymous {n}", Browser(web.url), storefront[n:] + storefront[:n])
            for n in range(3)
        ),
        Visitor(
            "shopper",
            shopper(web, "alice"),
            [("detail", detail), ("cart", "/cart/"), ("list", "/products/"), ("home", "/")],
            shopper_signed_in("alice"),
        ),
        Visitor(
            "staff",
            admin,
            [
                ("admin index", "/admin/"),
                ("admin product search", search),
                ("admin product form", change.group(0)),
                ("cache dashboard", "/admin/cache/dashboard/"),
                ("cache figures", "/admin/cache/dashboard/stats/"),
            ],
            staff_signed_in,
        ),
    ]
