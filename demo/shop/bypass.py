"""Serve a request without the site's caches, to measure what the caches save.

The load generator's second pass sends ``X-Shop-Cache: off``; the middleware honours it
only when ``settings.SHOP_ALLOW_CACHE_BYPASS`` is true. The storefront then calls the
undecorated bodies of the same functions, so both passes run the same queries apart
from the cache layer.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar

from django.conf import settings
from django.http import HttpRequest, HttpResponse

HEADER = "HTTP_X_SHOP_CACHE"
_bypass: ContextVar[bool] = ContextVar("shop_cache_bypass", default=False)


def active() -> bool:
    return _bypass.get()


class CacheBypassMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        wanted = request.META.get(HEADER, "").lower() == "off"
        if not (wanted and getattr(settings, "SHOP_ALLOW_CACHE_BYPASS", False)):
            return self.get_response(request)
        token = _bypass.set(True)
        try:
            return self.get_response(request)
        finally:
            _bypass.reset(token)
