"""django-redis's ``cache.lock()`` behind the breaker: a lock that cannot reach Redis is
not acquired (never pretended held), and releasing it then leaves it to expire."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from redis.exceptions import LockError

from cache_admin.backends.fail_open import UNAVAILABLE

if TYPE_CHECKING:
    from cache_admin.backends.fail_open import FailOpenCache

logger = logging.getLogger("cache_admin")


class FailOpenLock:
    def __init__(self, lock: Any, cache: FailOpenCache) -> None:
        self.lock = lock
        self.cache = cache

    def acquire(self, *args: Any, **kwargs: Any) -> bool:
        done = self.cache.guarded(self.lock.acquire, *args, **kwargs)
        return False if done is UNAVAILABLE else bool(done)

    def locked(self) -> bool:
        done = self.cache.guarded(self.lock.locked)
        return False if done is UNAVAILABLE else bool(done)

    def owned(self) -> bool:
        done = self.cache.guarded(self.lock.owned)
        return False if done is UNAVAILABLE else bool(done)

    def release(self) -> None:
        if self.cache.guarded(self.lock.release) is UNAVAILABLE:
            logger.warning(
                "Lock %r not released, Redis unreachable: it expires after its timeout",
                self.lock.name,
            )

    def extend(self, *args: Any, **kwargs: Any) -> bool:
        return self._must(self.cache.guarded(self.lock.extend, *args, **kwargs))

    def reacquire(self) -> bool:
        return self._must(self.cache.guarded(self.lock.reacquire))

    def _must(self, done: Any) -> bool:
        if done is UNAVAILABLE:
            raise LockError("Redis unreachable: the lock's expiry cannot be changed")
        return bool(done)

    def __enter__(self) -> FailOpenLock:
        if self.acquire():
            return self
        raise LockError("Unable to acquire lock within the time specified")

    def __exit__(self, *exc: object) -> None:
        self.release()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.lock, name)  # name, timeout, local... as redis-py's Lock has them
