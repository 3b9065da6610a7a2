"""A django-debug-toolbar panel: this request's read-through calls by cache type (hits,
misses and why, lease waits, fills, time) with their keys.

    pip install "django-cache-admin[debug-toolbar]"
    DEBUG_TOOLBAR_PANELS = [..., "cache_admin.debug_toolbar.CacheTypesPanel"]

The calls are recorded by ``cache_admin.caching.recorder`` in a context variable opened by
``enable_instrumentation`` and closed by ``disable_instrumentation``: concurrent requests
do not mix, and a process serving no toolbar request pays one global check per lookup.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextvars import Token
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from cache_admin.caching import recorder
from cache_admin.types import get_type

try:
    from debug_toolbar.panels import Panel
except ImportError as exc:  # the package works without it; only this module needs it
    raise ImportError(
        "cache_admin.debug_toolbar needs django-debug-toolbar: "
        'pip install "django-cache-admin[debug-toolbar]" (or pip install django-debug-toolbar)'
    ) from exc

__all__ = ["CacheTypesPanel"]

REASONS = {
    recorder.ABSENT: _("absent"),
    recorder.INVALIDATED: _("invalidated"),
    recorder.LEASE_WAIT: _("lease wait"),
    recorder.UNREADABLE: _("unreadable"),
}
# What each reason means, under the tables.
REASON_HELP = {
    recorder.ABSENT: _("nothing under the key: never filled, expired, evicted or deleted"),
    recorder.INVALIDATED: _("an entry of older generation tokens: its lists were invalidated"),
    recorder.LEASE_WAIT: _("another process was filling it: the lookup waited for that fill"),
    recorder.UNREADABLE: _("a value the lookup cannot serve (another serializer, corrupted)"),
}
OUTCOMES = {
    recorder.HIT: _("hit"),
    recorder.MISS: _("miss"),
    recorder.EARLY_REFRESH: _("hit, refreshed early"),
    recorder.REFRESH: _("refreshed: computed and stored"),
    recorder.UNREACHABLE: _("Redis unreachable: computed, not cached"),
    recorder.UNCACHED: _("not a Redis cache: computed, not cached"),
}
UNTYPED = _("(no type)")


class CacheTypesPanel(Panel):
    title = _("Read-through calls by cache type")
    nav_title = _("Cache types")
    template = "cache_admin/debug_toolbar/panel.html"
    # Recording follows the context (asyncio tasks, sync_to_async threads): ASGI is fine.
    is_async = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._token: Token[list[recorder.Call] | None] | None = None
        self._calls: list[recorder.Call] = []

    @property
    def nav_subtitle(self) -> str:
        total = self.get_stats().get("total")
        if not total:
            return ""
        return ngettext(
            "%(calls)d call, %(hits)d hit, %(ms).2f ms",
            "%(calls)d calls, %(hits)d hits, %(ms).2f ms",
            total["calls"],
        ) % {"calls": total["calls"], "hits": total["hits"], "ms": total["total_ms"]}

    def enable_instrumentation(self) -> None:
        if self._token is None:
            self._token = recorder.start()

    def disable_instrumentation(self) -> None:
        if self._token is not None:
            self._calls = recorder.stop(self._token)
            self._token = None

    def generate_stats(self, request: HttpRequest, response: HttpResponse) -> None:
        self.record_stats(summary(self._calls))

    def generate_server_timing(self, request: HttpRequest, response: HttpResponse) -> None:
        total = self.get_stats().get("total") or {}
        title = f"Cache types {total.get('calls', 0)} calls"
        self.record_server_timing("total_time", title, total.get("total_ms", 0))


def summary(calls: Iterable[recorder.Call]) -> dict[str, Any]:
    """The panel's stats as plain data (the toolbar stores them as JSON)."""
    rows: list[dict[str, Any]] = []
    by_type: dict[str, dict[str, Any]] = {}
    total = _tally(str(_("All types")))
    for call in calls:
        row = call.as_dict()
        row["key"] = printable(call.key)
        # Plain strings: the toolbar keeps panel stats as JSON.
        row["outcome_label"] = str(OUTCOMES.get(call.outcome, call.outcome))
        row["reason_label"] = str(REASONS.get(call.reason, call.reason))
        rows.append(row)
        tally = by_type.get(call.cache_type)
        if tally is None:
            tally = by_type[call.cache_type] = _tally(_type_label(call.cache_type))
        _add(tally, call)
        _add(total, call)
        if call.depth:  # its time is in the call whose function made it already
            total["total_ms"] -= call.total_ms
    types = [by_type[name] for name in sorted(by_type)]
    for tally in [*types, total]:
        tally["reasons"] = [
            {"reason": str(REASONS.get(reason, reason)), "count": count}
            for reason, count in sorted(tally["reasons"].items())
        ]
    seen = {call["reason"] for call in rows}
    legend = [
        {"reason": str(REASONS[reason]), "help": str(text)}
        for reason, text in REASON_HELP.items()
        if reason in seen
    ]
    return {"calls": rows, "types": types, "total": total, "reasons": legend}


def printable(key: str) -> str:
    """Characters a page would not show as themselves (controls, bidi overrides) as escapes."""
    if key.isprintable():
        return key
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in key)


def _type_label(name: str) -> str:
    if not name:
        return str(UNTYPED)
    cache_type = get_type(name)
    return f"{cache_type.label} ({name})" if cache_type is not None else name


def _tally(label: str) -> dict[str, Any]:
    return {
        "label": label,
        "calls": 0,
        "hits": 0,
        "misses": 0,
        "reasons": {},
        "lease_waits": 0,
        "fills": 0,
        "errors": 0,
        "wait_ms": 0.0,
        "compute_ms": 0.0,
        "total_ms": 0.0,
    }


def _add(tally: dict[str, Any], call: recorder.Call) -> None:
    tally["calls"] += 1
    tally["hits"] += call.outcome in (recorder.HIT, recorder.EARLY_REFRESH)
    tally["misses"] += call.outcome == recorder.MISS
    if call.reason:
        tally["reasons"][call.reason] = tally["reasons"].get(call.reason, 0) + 1
    tally["lease_waits"] += call.reason == recorder.LEASE_WAIT
    tally["fills"] += call.filled
    tally["errors"] += call.errors
    for field in ("wait_ms", "compute_ms", "total_ms"):
        tally[field] += getattr(call, field)
