"""How the console meets a toolkit failure.

Views import the toolkit functions they use and call them inside :class:`as_unavailable`,
which turns an unreachable server, a cache that is not Redis, or any unexpected error into
:class:`Unavailable`: a message for people, so a page degrades instead of failing with a 500.
"""

from __future__ import annotations

import logging
from types import TracebackType

from cache_admin import backend

logger = logging.getLogger("cache_admin.console")


class Unavailable(Exception):
    pass


class as_unavailable:  # a context manager, named like contextlib.suppress
    """``with as_unavailable(passthrough=(ValueError,)): ...``: exceptions of the
    ``passthrough`` types (bad input the page shows in its form) propagate unchanged."""

    def __init__(self, *, passthrough: tuple[type[Exception], ...] = ()) -> None:
        self.passthrough = passthrough

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        # Returns None, never True: nothing is swallowed, an error leaves as Unavailable.
        if not isinstance(exc, Exception) or isinstance(exc, (Unavailable, *self.passthrough)):
            return
        if isinstance(exc, backend.REDIS_ERRORS):
            text = str(exc)
            raise Unavailable(
                text if "Redis" in text else f"Redis could not be reached: {text}"
            ) from exc
        if isinstance(exc, backend.NotRedisBackend):
            raise Unavailable(f"The configured cache is not Redis: {exc}") from exc
        # A console page must stay up whatever a toolkit call does; the log keeps the trace.
        logger.error("A toolkit call from the console failed", exc_info=exc)
        raise Unavailable(
            f"The cache toolkit failed ({type(exc).__name__}: {exc}); the server log has "
            "the details."
        ) from exc
