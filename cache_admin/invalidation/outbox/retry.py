"""The retry thread: while anything is queued, replay every ``OUTBOX_RETRY_INTERVAL``
seconds, so the outbox drains even when nothing else in the process talks to Redis."""

from __future__ import annotations

import logging

from cache_admin.background import Worker
from cache_admin.conf import conf
from cache_admin.invalidation.outbox import pending, replaying

logger = logging.getLogger("cache_admin")


def _retry_loop(worker: Worker) -> None:
    while True:
        interval = float(conf.OUTBOX_RETRY_INTERVAL or 0)
        if not worker.sleep(max(0.05, interval)):
            return
        # Turned off while it waited: no last replay.
        if worker.exit_if(lambda: float(conf.OUTBOX_RETRY_INTERVAL or 0) <= 0):
            return
        try:
            replaying.replay()
        except Exception:  # the retry thread must never die with entries pending
            logger.exception("Invalidation outbox replay failed")
        # Ends once the queue is empty; a later queue_keys() starts it again.
        if worker.exit_if(lambda: interval <= 0 or not pending.pending_count()):  # noqa: B023
            return


retrier = Worker("cache-admin-outbox", _retry_loop)


def start() -> None:
    if float(conf.OUTBOX_RETRY_INTERVAL or 0) > 0:
        retrier.start()


def wake_retry() -> None:
    """Retry what is queued now (the retry thread runs only while something is queued)."""
    if pending.pending_count():
        start()
    retrier.wake()


pending.on_queued(start)
