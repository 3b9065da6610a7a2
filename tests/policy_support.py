"""The policy's cross-process listener stopped, so that a test runs its steps alone."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from cache_admin import policy


@contextlib.contextmanager
def listener_stopped() -> Iterator[None]:
    """The listener's steps, run by the test alone: the live listener is stopped (enter it
    after a database fixture: stopping waits for the listener's first read), and started
    again afterwards."""
    policy.overrides()  # started in this process, so that a lookup does not restart it
    policy.listener.stop(timeout=10)
    assert not policy.listener.running
    try:
        yield
    finally:
        policy.listener.start()
