"""Settings for cache_admin, read from ``settings.CACHE_ADMIN`` on every access.

Nothing is read at import time, so ``override_settings`` works everywhere.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

__all__ = ["conf"]

DEFAULTS: dict[str, Any] = {
    # The cache alias (a Redis-backed cache) the toolkit and console work on.
    "CACHE_ALIAS": "default",
    # Cache types: {name: {"label": str, "prefix": str, "ttl": int}}.
    "TYPES": {},
    # TTL used when a key matches no type and no timeout is given (None: the cache's TIMEOUT).
    "DEFAULT_TTL": None,
    # Jitter against miss storms: a TTL gets up to this fraction on top (never below base).
    "JITTER": 0.2,
    # How often each process checks whether TTL overrides changed (seconds).
    "POLICY_POLL_INTERVAL": 0.5,
    # A slow re-read of the overrides from the database, whatever Redis says (seconds).
    "POLICY_RELOAD_INTERVAL": 60.0,
    # Read-through fills: how long a fill may hold its lease (seconds).
    "LEASE_TIMEOUT": 30.0,
    # How long a reader waits for another process's fill before computing itself (seconds).
    "LEASE_WAIT": 0.2,
    # Circuit breaker: consecutive failures that open it, and how long it stays open.
    "BREAKER_THRESHOLD": 3,
    "BREAKER_COOLDOWN": 5.0,
    # Hit/miss counters are flushed to Redis at most this often (seconds).
    "STATS_FLUSH_INTERVAL": 1.0,
    # Sample the dashboard's hit-rate history from every process's counters thread, so the
    # chart has the last hour even when nobody had the dashboard open.
    "HISTORY_SAMPLING": True,
    # The package's own keys live under this logical prefix.
    "NAMESPACE": "cache_admin:",
    # Prefix invalidation: SCAN COUNT and UNLINK batch size.
    "SCAN_COUNT": 1000,
    # Invalidations issued while Redis is unreachable are queued in process (R2): at most
    # this many keys and prefixes per cache alias; what does not fit is logged and dropped.
    "OUTBOX_MAX_KEYS": 10000,
    # While invalidations are queued, a daemon thread retries them this often (seconds;
    # 0 disables it and leaves replay to the breaker's recovery and the next deletion).
    "OUTBOX_RETRY_INTERVAL": 5.0,
    # Queued invalidations are also written to the database (QueuedInvalidation), so that
    # another process replays them when the one that queued them exits before Redis is back.
    "OUTBOX_DURABLE": True,
    # How often a process that reaches Redis looks for rows other processes left (seconds);
    # a breaker that closes looks at once.
    "OUTBOX_ADOPT_INTERVAL": 60.0,
    # Hosts ("www.example.com", "127.0.0.1:8000") a path's cache_page entries are looked up
    # with; None: the concrete entries of ALLOWED_HOSTS. Cached pages are keyed by full URL.
    "PAGE_HOSTS": None,
    # Console: SCAN budget per request (keys examined), page size, polling interval (ms).
    "CONSOLE_SCAN_BUDGET": 20000,
    "CONSOLE_PAGE_SIZE": 100,
    "CONSOLE_REFRESH_MS": 5000,
    # Key browser: steps scanned automatically, one bounded request each, while a step finds
    # nothing (a rare prefix deep in a large keyspace); then "Scan more" asks the user.
    "CONSOLE_AUTO_SCAN_STEPS": 20,
    # Console: the admin site the console installs itself into (dotted path), or None.
    "ADMIN_SITE": "django.contrib.admin.site",
    # Application hit/miss logging on logger "cache" at DEBUG: fraction of calls logged.
    "LOG_SAMPLE_RATE": 0.01,
    # Metrics view: a bearer token, or None; staff login is accepted when METRICS_ALLOW_STAFF.
    "METRICS_TOKEN": None,
    "METRICS_ALLOW_STAFF": True,
    # Warming: a run's progress is written (database row, Celery state) at most this often (s).
    "WARM_PROGRESS_INTERVAL": 0.25,
    # Warming: a queued run no worker has picked up after this long is reported (s, R3).
    "WARM_PICKUP_TIMEOUT": 5.0,
    # A running warm job with no progress for this long was lost with its worker (seconds).
    "WARM_STALE_AFTER": 600.0,
    # Finished warm runs kept per warmer; older ones are folded into WarmRunTotal (the
    # metrics' counters keep counting them) and deleted.
    "WARM_RUN_HISTORY": 500,
    # Warming: timeout of the broker connection check and of the worker ping (s, R3).
    "CELERY_CHECK_TIMEOUT": 2.0,
    # Warm page: how often the progress partial polls while a run is active (ms).
    "WARM_POLL_MS": 1000,
}


_MISSING = object()


class Settings:
    # __getattribute__ rather than __getattr__: a setting is then found without Python
    # first failing the normal lookup and building an AttributeError (the hit path reads
    # settings on every call).
    def __getattribute__(self, name: str) -> Any:
        default = DEFAULTS.get(name, _MISSING)
        if default is _MISSING:
            return object.__getattribute__(self, name)
        user = getattr(settings, "CACHE_ADMIN", None)
        if not user:
            return default
        return user.get(name, default)

    @property
    def user_settings(self) -> dict[str, Any]:
        return dict(getattr(settings, "CACHE_ADMIN", {}) or {})


conf = Settings()
