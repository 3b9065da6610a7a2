"""Count the commands Redis received, from its own INFO commandstats.

The package's background threads talk to Redis while a test measures: the TTL policy
listener PINGs its subscription every ``POLICY_POLL_INTERVAL`` (and SUBSCRIBEs again
after a reconnection), the counters thread flushes its tallies (``HINCRBY``, ``EXPIRE``),
and any thread may open a connection (its handshake). ``delta`` leaves those out by
default, so a test asserts only the traffic of the call it measures, whenever the threads
happen to run.
"""

from __future__ import annotations

from collections import Counter

import redis

from cache_admin.nodes import primary_clients

# What any thread sends when it opens a connection (and a cluster client when it is made:
# the topology, and valkey-py's reading of the command table).
HANDSHAKE = frozenset(
    {"hello", "client|setinfo", "client|setname", "select", "auth", "ping"}
    | {"cluster|slots", "command"}
)

BACKGROUND = HANDSHAKE | {
    "info",  # the measurement itself
    "subscribe",  # the policy listener, on (re)connecting; its PINGs are in HANDSHAKE
    "hincrby",  # counter flushes
    "expire",
    "replconf",  # a cluster primary's replicas acknowledge the stream every second
}


def counts(client: redis.Redis) -> dict[str, int]:
    """Calls per command name (``get``, ``client|setinfo``) since the server started (on a
    cluster, summed over its primaries)."""
    total: Counter[str] = Counter()
    for server in primary_clients(client):
        stats = server.info("commandstats")
        total.update(
            {name.removeprefix("cmdstat_"): int(row["calls"]) for name, row in stats.items()}
        )
    return dict(total)


def calls(client: redis.Redis, command: str) -> int:
    return counts(client).get(command, 0)


def delta(
    before: dict[str, int], after: dict[str, int], *, ignore: frozenset[str] = BACKGROUND
) -> dict[str, int]:
    """The commands sent between two ``counts``, without ``ignore`` (background traffic)."""
    changed = {name: after[name] - before.get(name, 0) for name in after if name not in ignore}
    return {name: value for name, value in changed.items() if value}


def name_of(command: str) -> str:
    """The commandstats name of a command line as MONITOR shows it: ``client|setinfo``."""
    words = command.split()
    if not words:
        return ""
    name = words[0].lower()
    if name == "client" and len(words) > 1:
        return f"client|{words[1].lower()}"
    return name
