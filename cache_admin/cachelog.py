"""The spec's application logging: ``Cache HIT: <key>`` / ``Cache MISS: <key>`` on logger
``"cache"`` at DEBUG, for a sampled fraction (``LOG_SAMPLE_RATE``) of lookups; a miss's
record carries its reason (``record.miss_reason``, one of ``counter_totals.REASONS``).

When the logger is not enabled for DEBUG this costs one cached level check per lookup.
"""

from __future__ import annotations

import logging
import random

from cache_admin.conf import conf

logger = logging.getLogger("cache")


def _sampled() -> bool:
    rate = conf.LOG_SAMPLE_RATE
    return rate >= 1 or random.random() < rate


def hit(key: str) -> None:
    if logger.isEnabledFor(logging.DEBUG) and _sampled():
        logger.debug("Cache HIT: %s", shown(key))


def miss(key: str, reason: str | None = None) -> None:
    if logger.isEnabledFor(logging.DEBUG) and _sampled():
        # The spec's line as it is; the reason rides on the record for handlers to show.
        logger.debug("Cache MISS: %s", shown(key), extra={"miss_reason": reason})


def shown(key: str) -> str:
    """The key as logged: a session key is a credential, only its first characters show."""
    from cache_admin.types import get_type

    sessions = get_type(conf.SESSION_TYPE)
    if sessions is not None and key.startswith(sessions.prefix):
        return key[: len(sessions.prefix) + 4] + "..."
    return key
