"""Counts and times in words for people: "1 key", "5 seconds", "just now"."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone
from django.utils.timesince import timesince
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

# Below this many seconds "ago" reads "just now": a clock tick is not news.
JUST_NOW = 10


def keys(n: int) -> str:
    return ngettext("%(n)s key", "%(n)s keys", n) % {"n": f"{n:,}"}


def fills(n: int) -> str:
    return ngettext("%(n)s fill", "%(n)s fills", n) % {"n": f"{n:,}"}


def seconds(value: float) -> str:
    """A span: "1 second", "1.5 seconds", "2 minutes", "about 7 minutes" from 120 s on."""
    if value >= 120:
        minutes = round(value / 60)
        text = ngettext("%(n)d minute", "%(n)d minutes", minutes) % {"n": minutes}
        return text if value % 60 == 0 else _("about %(span)s") % {"span": text}
    shown = f"{int(value)}" if float(value).is_integer() else f"{value:g}"
    return ngettext("%(n)s second", "%(n)s seconds", 1 if shown == "1" else 2) % {"n": shown}


def microseconds(value: float) -> str:
    """A server-side time in the unit that reads best: "1.3 µs", "29.0 ms", "4.20 s"."""
    if value < 1000:
        return f"{value:.1f} µs"
    if value < 1_000_000:
        return f"{value / 1000:.1f} ms"
    return f"{value / 1_000_000:,.2f} s"


def ago(when: datetime | None, now: datetime | None = None) -> str:
    """ "just now", "25 seconds ago", "3 minutes ago", "2 hours, 5 minutes ago"."""
    if when is None:
        return ""
    now = now or timezone.now()
    elapsed = (now - when).total_seconds()
    if elapsed < JUST_NOW:
        return _("just now")
    if elapsed < 60:
        n = int(elapsed)
        return ngettext("%(n)d second ago", "%(n)d seconds ago", n) % {"n": n}
    return _("%(span)s ago") % {"span": timesince(when, now)}
