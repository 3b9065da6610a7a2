"""The spec's application logging: ``Cache HIT: <key>`` / ``Cache MISS: <key>`` on logger
``"cache"`` at DEBUG, for a sampled fraction (``LOG_SAMPLE_RATE``) of lookups.

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
        logger.debug("Cache HIT: %s", key)


def miss(key: str) -> None:
    if logger.isEnabledFor(logging.DEBUG) and _sampled():
        logger.debug("Cache MISS: %s", key)
