"""Settings for cache_admin: one typed snapshot of ``settings.CACHE_ADMIN``.

Each setting is declared once below with its type, default, rule and system check ID. The
snapshot is built on first use and dropped when Django's ``setting_changed`` says
CACHE_ADMIN changed (override_settings, pytest-django's ``settings`` fixture), so nothing is
read at import time and a cache hit reads a plain attribute. A value that breaks its rule
is left out, so its default applies, and its system check reports it: a bad setting never
fails a request.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Mapping
from dataclasses import Field, dataclass, field, fields
from typing import TYPE_CHECKING, Any, TypeGuard

from django.conf import settings
from django.core.signals import setting_changed

if TYPE_CHECKING:
    from django.contrib.admin import AdminSite

__all__ = ["CacheAdminSettings", "conf", "reload"]

# Console limits a request may ask for (and so the most its defaults may be).
MAX_PAGE_SIZE = 1000
MAX_BUDGET = 10_000_000


@dataclass(frozen=True)
class Rule:
    fits: Callable[[object], bool]
    wanted: str  # completes "it must be ..."


def _is_number(value: object) -> TypeGuard[float]:
    # bool is an int to Python, never to a person; inf and nan break every wait and sleep.
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _is_whole(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _seconds(*, zero: bool) -> Rule:
    if zero:
        return Rule(lambda v: _is_number(v) and v >= 0, "a number of seconds, 0 or more")
    return Rule(lambda v: _is_number(v) and v > 0, "a number of seconds above 0")


def _whole(low: int, high: float = math.inf, unit: str = "") -> Rule:
    what = f"a whole number{unit}"
    wanted = f"{what}, {low} or more" if high == math.inf else f"{what} from {low} to {high}"
    return Rule(lambda v: _is_whole(v) and low <= v <= high, wanted)


def _or_none(rule: Rule) -> Rule:
    return Rule(lambda v: v is None or rule.fits(v), f"None or {rule.wanted}")


def _is_site(value: object) -> bool:
    if value is None or (isinstance(value, str) and value):
        return True
    from django.contrib.admin import AdminSite

    return isinstance(value, AdminSite)


FRACTION = Rule(lambda v: _is_number(v) and 0 <= v <= 1, "a number from 0 to 1")
FLAG = Rule(lambda v: isinstance(v, bool), "True or False")
TEXT = Rule(lambda v: isinstance(v, str) and bool(v), "a non-empty string")
TYPES_RULE = Rule(lambda v: isinstance(v, dict), "a dict of {name: {'prefix': ..., 'ttl': ...}}")
HOSTS = Rule(
    lambda v: (
        v is None or (isinstance(v, (list, tuple)) and all(isinstance(h, str) and h for h in v))
    ),
    "None or a list of hosts such as ['www.example.com', '127.0.0.1:8000']",
)
SITE = Rule(_is_site, "None, an AdminSite or its dotted path such as 'django.contrib.admin.site'")
TOKEN = Rule(lambda v: v is None or isinstance(v, str), "None or a string")


def _about(check: str, rule: Rule) -> dict[str, object]:
    return {"check": f"cache_admin.{check}", "rule": rule}


@dataclass(frozen=True)
class CacheAdminSettings:
    # The cache alias (a Redis-backed cache) the toolkit and console work on.
    CACHE_ALIAS: str = field(default="default", metadata=_about("E001", TEXT))
    # Cache types: {name: {"label": str, "prefix": str, "ttl": int}}; entries checked by E002.
    TYPES: Mapping[str, object] = field(default_factory=dict, metadata=_about("E002", TYPES_RULE))
    # Jitter against miss storms: a TTL gets up to this fraction on top (never below base).
    JITTER: float = field(default=0.2, metadata=_about("E004", FRACTION))
    # TTL used when a key matches no type and no timeout is given (None: the cache's TIMEOUT).
    DEFAULT_TTL: int | None = field(
        default=None, metadata=_about("E005", _or_none(_whole(0, unit=" of seconds")))
    )
    # How often each process checks that its subscription to TTL policy changes is alive
    # (a PING; seconds).
    POLICY_POLL_INTERVAL: float = field(default=0.5, metadata=_about("E006", _seconds(zero=False)))
    # A slow re-read of the overrides from the database, whatever Redis says (seconds).
    POLICY_RELOAD_INTERVAL: float = field(
        default=60.0, metadata=_about("E007", _seconds(zero=False))
    )
    # Read-through fills: how long a fill may hold its lease (seconds).
    LEASE_TIMEOUT: float = field(default=30.0, metadata=_about("E008", _seconds(zero=False)))
    # How long a reader waits for another process's fill before computing itself (seconds).
    LEASE_WAIT: float = field(default=0.2, metadata=_about("E009", _seconds(zero=True)))
    # Circuit breaker: consecutive failures that open it (a timeout opens it at once).
    BREAKER_THRESHOLD: int = field(default=3, metadata=_about("E010", _whole(1)))
    # Without a probe: how long it stays open before one trial call goes through (seconds).
    BREAKER_COOLDOWN: float = field(default=5.0, metadata=_about("E011", _seconds(zero=True)))
    # While it is open, a background thread per process PINGs the server this often and
    # closes it on the first answer (seconds; 0: no probe, trial calls instead).
    BREAKER_PROBE_INTERVAL: float = field(
        default=0.25, metadata=_about("E037", _seconds(zero=True))
    )
    # The cache type of the session engine (cache_admin.sessions): its prefix names the
    # session keys, its TTL (overrides apply) is the sessions' lifetime, its row counts them.
    SESSION_TYPE: str = field(default="user_session", metadata=_about("E038", TEXT))
    # Hit/miss counters are flushed to Redis at most this often (seconds).
    STATS_FLUSH_INTERVAL: float = field(default=1.0, metadata=_about("E012", _seconds(zero=False)))
    # Sample the dashboard's hit-rate history from every process's counters thread, so the
    # chart has the last hour even when nobody had the dashboard open.
    HISTORY_SAMPLING: bool = field(default=True, metadata=_about("E013", FLAG))
    # The package's own keys live under this logical prefix.
    NAMESPACE: str = field(default="cache_admin:", metadata=_about("E014", TEXT))
    # Prefix invalidation: SCAN COUNT and UNLINK batch size.
    SCAN_COUNT: int = field(default=1000, metadata=_about("E015", _whole(1)))
    # Prefix deletion's server-side steps: how long one script call may keep Redis busy
    # (ms); its SCAN steps are sized to fit (docs/invalidation.md).
    PREFIX_STEP_MS: int = field(
        default=2, metadata=_about("E042", _whole(1, 1000, unit=" of milliseconds"))
    )
    # Invalidations issued while Redis is unreachable are queued in process (R2): at most
    # this many keys and prefixes per cache alias; what does not fit is logged and dropped.
    OUTBOX_MAX_KEYS: int = field(default=10000, metadata=_about("E016", _whole(0)))
    # While invalidations are queued, a daemon thread retries them this often (seconds;
    # 0 disables it and leaves replay to the breaker's recovery and the next deletion).
    OUTBOX_RETRY_INTERVAL: float = field(default=5.0, metadata=_about("E017", _seconds(zero=True)))
    # Queued invalidations are also written to the database (QueuedInvalidation), so that
    # another process replays them when the one that queued them exits before Redis is back.
    OUTBOX_DURABLE: bool = field(default=True, metadata=_about("E018", FLAG))
    # How often a process that reaches Redis looks for rows other processes left (seconds);
    # a breaker that closes looks at once.
    OUTBOX_ADOPT_INTERVAL: float = field(default=60.0, metadata=_about("E019", _seconds(zero=True)))
    # Hosts ("www.example.com", "127.0.0.1:8000") a path's cache_page entries are looked up
    # with; None: the concrete entries of ALLOWED_HOSTS. Cached pages are keyed by full URL.
    PAGE_HOSTS: list[str] | tuple[str, ...] | None = field(
        default=None, metadata=_about("E020", HOSTS)
    )
    # Console: SCAN budget per request (keys examined), page size, polling interval (ms).
    CONSOLE_SCAN_BUDGET: int = field(default=10000, metadata=_about("E021", _whole(1, MAX_BUDGET)))
    CONSOLE_PAGE_SIZE: int = field(default=100, metadata=_about("E022", _whole(1, MAX_PAGE_SIZE)))
    CONSOLE_REFRESH_MS: int = field(
        default=5000, metadata=_about("E023", _whole(1, unit=" of milliseconds"))
    )
    # Key browser: steps scanned automatically, one bounded request each, while a step finds
    # nothing (a rare prefix deep in a large keyspace); then "Scan more" asks the user.
    CONSOLE_AUTO_SCAN_STEPS: int = field(default=20, metadata=_about("E024", _whole(0)))
    # Dashboard and cache_stats: a hit rate is coloured, and hints are given, only from this
    # many lookups on; below it the rate is shown as "too few lookups to judge".
    CONSOLE_MIN_SAMPLE: int = field(default=100, metadata=_about("E036", _whole(1)))
    # Keyspace analysis: keys each run examines per primary node (its SCAN budget). A
    # keyspace that fits is walked whole (exact figures); a larger one is sampled and the
    # figures are extrapolated from the share of SCAN walked.
    ANALYSIS_SCAN_BUDGET: int = field(
        default=100_000, metadata=_about("E040", _whole(1, MAX_BUDGET))
    )
    # Keyspace analysis reports kept in the database; older ones are deleted.
    ANALYSIS_HISTORY: int = field(default=20, metadata=_about("E041", _whole(1)))
    # Console: the admin site the console installs itself into (dotted path), or None.
    ADMIN_SITE: str | AdminSite | None = field(
        default="django.contrib.admin.site", metadata=_about("E025", SITE)
    )
    # Application hit/miss logging on logger "cache" at DEBUG: fraction of calls logged.
    LOG_SAMPLE_RATE: float = field(default=0.01, metadata=_about("E026", FRACTION))
    # Metrics view: a bearer token, or None; staff login is accepted when METRICS_ALLOW_STAFF.
    METRICS_TOKEN: str | None = field(default=None, metadata=_about("E027", TOKEN))
    METRICS_ALLOW_STAFF: bool = field(default=True, metadata=_about("E028", FLAG))
    # Warming: a run's progress is written (database row, Celery state) at most this often (s).
    WARM_PROGRESS_INTERVAL: float = field(
        default=0.25, metadata=_about("E029", _seconds(zero=True))
    )
    # Warming: a queued run no worker has picked up after this long is reported (s, R3).
    WARM_PICKUP_TIMEOUT: float = field(default=5.0, metadata=_about("E030", _seconds(zero=True)))
    # A running warm job with no progress for this long was lost with its worker (seconds).
    WARM_STALE_AFTER: float = field(default=600.0, metadata=_about("E031", _seconds(zero=False)))
    # Finished warm runs kept per warmer; older ones are folded into WarmRunTotal (the
    # metrics' counters keep counting them) and deleted.
    WARM_RUN_HISTORY: int = field(default=500, metadata=_about("E032", _whole(1)))
    # Warming: timeout of the broker connection check and of the worker ping (s, R3).
    CELERY_CHECK_TIMEOUT: float = field(default=2.0, metadata=_about("E033", _seconds(zero=False)))
    # Warm page: how often the progress partial polls while a run is active (ms).
    WARM_POLL_MS: int = field(
        default=1000, metadata=_about("E034", _whole(1, unit=" of milliseconds"))
    )


DECLARED: tuple[Field[Any], ...] = fields(CacheAdminSettings)


def check_id(setting: Field[Any]) -> str:
    return str(setting.metadata["check"])


def rule(setting: Field[Any]) -> Rule:
    found: Rule = setting.metadata["rule"]
    return found


def user_settings() -> Mapping[object, object]:
    """``settings.CACHE_ADMIN`` as given, or an empty mapping when it is missing or not a dict."""
    user = getattr(settings, "CACHE_ADMIN", None)
    return user if isinstance(user, Mapping) else {}


def rejected(user: Mapping[object, object]) -> list[tuple[Field[Any], object]]:
    """The settings in ``user`` whose value breaks its rule (their default applies)."""
    return [
        (s, user[s.name]) for s in DECLARED if s.name in user and not rule(s).fits(user[s.name])
    ]


def _build() -> CacheAdminSettings:
    user = user_settings()
    # Any: each value kept fits its rule, which is what the field's type says.
    given: dict[str, Any] = {
        s.name: user[s.name] for s in DECLARED if s.name in user and rule(s).fits(user[s.name])
    }
    return CacheAdminSettings(**given)


_snapshot: CacheAdminSettings | None = None
# Bumped by every change: a snapshot built from what was read before a change is not kept
# (a background thread may be building one while a test overrides CACHE_ADMIN).
_generation = 0
_lock = threading.Lock()


def snapshot() -> CacheAdminSettings:
    """The settings now: the same object until CACHE_ADMIN changes (memos compare it)."""
    found = _snapshot
    return found if found is not None else _load()


def _load() -> CacheAdminSettings:
    global _snapshot
    generation = _generation
    built = _build()
    with _lock:
        if generation == _generation:
            _snapshot = built
    return built


def reload() -> None:
    """Forget the snapshot; the next read builds it again from ``settings.CACHE_ADMIN``.

    Changes through override_settings do this by themselves; only an assignment to
    ``django.conf.settings.CACHE_ADMIN`` outside of it needs a call.
    """
    global _snapshot, _generation
    with _lock:
        _generation += 1
        _snapshot = None


def _on_setting_changed(*, setting: str, **kwargs: object) -> None:
    if setting == "CACHE_ADMIN":
        reload()


setting_changed.connect(_on_setting_changed, dispatch_uid="cache_admin.conf")


class _Current(CacheAdminSettings):
    """``conf``: each attribute is read from the current snapshot, at access time."""

    def __init__(self) -> None:  # holds nothing of its own
        pass

    # __getattribute__ rather than __getattr__: nothing is stored here, so the normal
    # lookup would only fail first (the hit path reads settings on every call).
    def __getattribute__(self, name: str) -> Any:
        found = _snapshot
        if found is None:
            found = _load()
        return getattr(found, name)


conf: CacheAdminSettings = _Current()
