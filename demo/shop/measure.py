"""Tell the load generator how many database queries a request ran, and how long it took.

With ``settings.SHOP_ALLOW_CACHE_BYPASS`` true (the demo's DEBUG default) every response
carries ``X-Shop-Queries``: the statements sent to the database while Django handled the
request, counted with ``connection.execute_wrapper`` (per thread, no DEBUG query log), and
``Server-Timing: app;dur=<ms>``, the time the server spent on it (the outage tests read
it: a busy client machine does not add its own delays to it). The load generator reads
them whether it sends its requests in-process or over HTTP to the running server. Put this
middleware first, so the figures cover every other layer.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse

HEADER = "X-Shop-Queries"
TIMING_HEADER = "Server-Timing"


class QueryCounter:
    def __init__(self) -> None:
        self.count = 0

    def __call__(
        self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
    ) -> Any:
        self.count += 1
        return execute(sql, params, many, context)


class QueryCountMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not getattr(settings, "SHOP_ALLOW_CACHE_BYPASS", False):
            return self.get_response(request)
        counter = QueryCounter()
        started = time.perf_counter()
        with connection.execute_wrapper(counter):
            response = self.get_response(request)
        response[HEADER] = str(counter.count)
        response[TIMING_HEADER] = f"app;dur={(time.perf_counter() - started) * 1000:.1f}"
        return response
