"""What the figures support saying: a hit rate's level only from a minimum sample of
lookups, and the spec's "Low Hit Rate" hints only where nothing that just happened
contradicts them.

Every level and hint the dashboard and ``cache_stats`` show is decided here, from figures
(:class:`TypeFigures`); further evidence about a type (why it missed, say) adds a field
there and its hints in :func:`type_hints`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from cache_admin import wording
from cache_admin.conf import conf
from cache_admin.counters import Counts
from cache_admin.stats.server import ServerStatus, hit_rate_level

# A level of its own: lookups below CONSOLE_MIN_SAMPLE; shown without colour or hint.
FEW = "few"
HOUR = timedelta(hours=1)
RECENT_MINUTES = 5


def min_sample() -> int:
    return conf.CONSOLE_MIN_SAMPLE


def level(counts: Counts | None) -> str | None:
    """The spec's "target", "acceptable" or "poor"; FEW below the minimum sample; None
    without lookups."""
    if counts is None or not counts.lookups:
        return None
    if counts.lookups < min_sample():
        return FEW
    return hit_rate_level(counts.hit_rate)


def server_level(status: ServerStatus, site_lookups: int) -> str | None:
    """INFO counts every client of the server, the console's own reads included: its rate
    is judged only when the server saw the minimum sample and so did the site's own
    counted lookups (``site_lookups``, the last hour), else it is FEW."""
    lookups = (status.keyspace_hits or 0) + (status.keyspace_misses or 0)
    if not lookups:
        return None
    if min(lookups, site_lookups) < min_sample():
        return FEW
    return hit_rate_level(status.hit_rate)


@dataclass(frozen=True)
class TypeFigures:
    effective_ttl: int
    minutes: tuple[Counts, ...]  # the last hour's counts, one per minute, oldest first
    last_warm: datetime | None = None  # when a warm run (any warmer) last succeeded

    @property
    def hour(self) -> Counts:
        return sum(self.minutes, Counts())

    @property
    def recent(self) -> Counts:
        return sum(self.minutes[-RECENT_MINUTES:], Counts())

    @property
    def churn(self) -> Counts:
        """The hour from the first minute the type was read or filled: invalidations before
        it (a bulk load, a seed) removed nothing anyone had filled, and say nothing about
        the rate."""
        for start, minute in enumerate(self.minutes):
            if minute.lookups or minute.fills:
                return sum(self.minutes[start:], Counts())
        return Counts()


def type_hints(figures: TypeFigures, now: datetime) -> tuple[str, ...]:
    """The spec's "Low Hit Rate" troubleshooting for a type that is poor over the last hour
    on at least the minimum sample; nothing otherwise."""
    if level(figures.hour) != "poor":
        return ()
    hints = [
        f"TTL too short? The effective TTL is {figures.effective_ttl} s; increase it for "
        "stable data with a TTL override."
    ]
    if figures.last_warm is None or now - figures.last_warm > HOUR:
        hints.append("Cache not warmed? Run `python manage.py warm_cache --all`.")
    churn = figures.churn
    if churn.invalidations:
        hints.append(
            f"{churn.invalidations:,} invalidations against {wording.fills(churn.fills)} "
            "since this type had traffic in the last hour: review the invalidation logic."
        )
    else:
        hints.append(
            "Review the invalidation logic: an entry invalidated soon after it is filled is "
            "a miss again at the next read."
        )
    hints.append(
        "Keys not reused? Check cache key consistency: the same call must build the same key."
    )
    return tuple(hints)
