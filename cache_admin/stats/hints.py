"""What the figures support saying: a hit rate's level only from a minimum sample of
lookups, and the spec's "Low Hit Rate" hints only where nothing that just happened
contradicts them.

Every level and hint the dashboard and ``cache_stats`` show is decided here, from figures
(:class:`TypeFigures`); so is how a type's misses are told by reason
(:func:`miss_reasons`), and the hints follow the reason most misses had: invalidated lists
point at the list invalidation, absent keys at the TTL and warming, lease waits at slow
fills.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils.translation import gettext_lazy as _

from cache_admin import wording
from cache_admin.conf import conf
from cache_admin.counter_totals import ABSENT, INVALIDATED, LEASE_WAIT, Counts
from cache_admin.stats.server import ServerStatus, hit_rate_level

# A level of its own: lookups below CONSOLE_MIN_SAMPLE; shown without colour or hint.
FEW = "few"
HOUR = timedelta(hours=1)
RECENT_MINUTES = 5
# Misses counted without a reason (a project's own counters.miss(type) calls).
UNEXPLAINED = "unexplained"
REASON_LABELS = {
    ABSENT: _("absent"),
    INVALIDATED: _("invalidated"),
    LEASE_WAIT: _("lease wait"),
    UNEXPLAINED: _("other"),  # counted without a reason
}
# A reason speaks in the hints from this share of the misses on.
REASON_SHARE = 0.25


@dataclass(frozen=True)
class ReasonShare:
    reason: str  # one of counter_totals.REASONS, or UNEXPLAINED
    label: str
    count: int
    percent: float  # of the misses, 0 to 100


def miss_reasons(counts: Counts | None) -> list[ReasonShare]:
    """The misses by reason, the most frequent first; those with none left out, and
    nothing when no miss was counted with a reason."""
    if counts is None or counts.unexplained == counts.misses:
        return []
    found = {**counts.reasons, UNEXPLAINED: counts.unexplained}
    shares = [
        ReasonShare(reason, str(REASON_LABELS[reason]), n, round(100 * n / counts.misses, 1))
        for reason, n in found.items()
        if n
    ]
    return sorted(shares, key=lambda share: -share.count)


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
    on at least the minimum sample, led by what most of its misses were; nothing otherwise."""
    hour = figures.hour
    if level(hour) != "poor":
        return ()
    told = {share.reason: share for share in miss_reasons(hour)}
    speaking = [
        reason
        for reason in told
        if reason != UNEXPLAINED and told[reason].count >= REASON_SHARE * hour.misses
    ]
    if not speaking:  # nothing tells why: the usual causes, in the spec's order
        return tuple(_expired(figures, now) + _churn(figures) + [_KEYS_NOT_REUSED])
    hints: list[str] = []
    for reason in speaking:  # the most frequent first
        share = told[reason]
        lead = f"{share.count:,} of the {hour.misses:,} misses ({share.percent:g}%)"
        if reason == INVALIDATED:
            hints.append(
                f"{lead} found an entry whose lists were invalidated since it was filled (a "
                "new generation). If a list only shows one category (or another field), "
                "scope the list invalidation to that field: register(Model, "
                "list_scopes=('category',)) invalidates only the lists of the values a save "
                "changed. Otherwise edits are too frequent for these lists to be reused."
            )
        elif reason == ABSENT:
            hints.append(f"{lead} found nothing under the key (never filled, expired or evicted).")
            hints += _expired(figures, now) + _churn(figures) + [_KEYS_NOT_REUSED]
        else:
            hints.append(
                f"{lead} waited for another process filling the same key: the fills are slow. "
                "Make the computation faster or warm the busiest keys; a reader waits "
                f"LEASE_WAIT ({conf.LEASE_WAIT:g} s) before computing without storing."
            )
    return tuple(hints)


_KEYS_NOT_REUSED = (
    "Keys not reused? Check cache key consistency: the same call must build the same key."
)


def _expired(figures: TypeFigures, now: datetime) -> list[str]:
    found = [
        f"TTL too short? The effective TTL is {figures.effective_ttl} s; increase it for "
        "stable data with a TTL override."
    ]
    if figures.last_warm is None or now - figures.last_warm > HOUR:
        found.append("Cache not warmed? Run `python manage.py warm_cache --all`.")
    return found


def _churn(figures: TypeFigures) -> list[str]:
    churn = figures.churn
    if churn.invalidations:
        return [
            f"{churn.invalidations:,} invalidations against {wording.fills(churn.fills)} "
            "since this type had traffic in the last hour: review the invalidation logic "
            "(each key an invalidation deleted is a miss at its next read)."
        ]
    return [
        "Review the invalidation logic: an entry invalidated soon after it is filled is "
        "a miss again at the next read."
    ]
