"""The primary nodes the figures are read from, and their names for people."""

from __future__ import annotations

from typing import Any

import redis


def node_name(client: redis.Redis) -> str:
    """``host:port`` (or the socket path) of the server a client talks to."""
    kwargs: dict[str, Any] = getattr(client.connection_pool, "connection_kwargs", {})
    if kwargs.get("path"):
        return str(kwargs["path"])
    if kwargs.get("host"):
        return f"{kwargs['host']}:{kwargs.get('port', 6379)}"
    # A Sentinel pool finds its primary per connection: the service names it.
    return str(getattr(client.connection_pool, "service_name", "") or "primary")
