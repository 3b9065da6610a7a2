"""A page behind django-debug-toolbar with the package's panel, for the panel's tests.

``toolbar_settings(settings)`` turns the toolbar on for one test (pytest-django's
``settings`` fixture undoes it); the page makes a known set of read-through calls, with
key prefixes a hostile project (or a forged cookie) could produce.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse

from cache_admin import cache_result
from cache_admin.caching import recorder

PANEL = "cache_admin.debug_toolbar.CacheTypesPanel"
HOSTILE_PREFIX = 'product:<img src=x onerror="alert(1)">&amp;'
CONTROL_PREFIX = "category:\u202eevil\x07"


@cache_result(timeout=600, key_prefix="product")
def product(pk: int) -> str:
    return f"product {pk}"


@cache_result(timeout=600, key_prefix="category")
def category(pk: int) -> str:
    return f"category {pk}"


@cache_result(timeout=600, key_prefix=HOSTILE_PREFIX)
def hostile() -> str:
    return "hostile"


@cache_result(timeout=600, key_prefix=CONTROL_PREFIX)
def control() -> str:
    return "control"


def page(request: HttpRequest) -> HttpResponse:
    # product 1: a miss (filled) then a hit; category 1 twice; two odd keys once each.
    product(1)
    product(1)
    category(1)
    category(1)
    hostile()
    control()
    response = HttpResponse("<html><head><title>Shop</title></head><body><p>Shop</p></body></html>")
    response["X-Recorder-Active"] = str(recorder.active)  # records open in the process
    return response


def show_toolbar(request: HttpRequest) -> bool:
    # The toolbar caches its callback for the process: the request decides, not a setting.
    return request.GET.get("toolbar") != "off"


def toolbar_settings(settings: Any) -> None:
    settings.INSTALLED_APPS = [*settings.INSTALLED_APPS, "debug_toolbar"]
    settings.MIDDLEWARE = ["debug_toolbar.middleware.DebugToolbarMiddleware", *settings.MIDDLEWARE]
    settings.ROOT_URLCONF = "tests.toolbar_urls"
    settings.DEBUG_TOOLBAR_PANELS = ["debug_toolbar.panels.timer.TimerPanel", PANEL]
    settings.DEBUG_TOOLBAR_CONFIG = {
        "SHOW_TOOLBAR_CALLBACK": "tests.toolbar_site.show_toolbar",
        "RENDER_PANELS": True,  # the panels' content is in the page itself
        "IS_RUNNING_TESTS": False,
    }
