"""Bounded pages of the site's keys (a ``walk`` cut to the page), with their metadata
fetched in one pipeline per node (P5)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import redis

from cache_admin.conf import conf
from cache_admin.guard import guarded
from cache_admin.keyspace import names, params
from cache_admin.keyspace.walk import start_walk
from cache_admin.types import CacheType, type_for_key

EXPIRES = "expires"
PERSISTENT = "persistent"
MISSING = "missing"


@dataclass(frozen=True)
class KeyInfo:
    stored: bytes
    token: str
    logical: str
    stored_text: str
    cache_type: CacheType | None
    redis_type: str  # "none" when the key vanished since it was listed
    ttl: int | None  # seconds left; None when persistent or missing
    ttl_state: str  # EXPIRES | PERSISTENT | MISSING
    size: int | None  # bytes, from MEMORY USAGE

    @property
    def exists(self) -> bool:
        return self.ttl_state != MISSING

    @property
    def persistent(self) -> bool:
        return self.ttl_state == PERSISTENT


@dataclass(frozen=True)
class ScanPage:
    keys: list[KeyInfo]
    cursor: str  # the token where the next page starts; "0" when the scan is complete
    scanned: int  # keys examined, about: the SCAN COUNT hints used, at most the keyspace
    done: bool
    prefix: str = ""
    budget: int = 0
    calls: int = 0  # SCAN commands issued

    @property
    def next_cursor(self) -> str | None:
        return None if self.done else self.cursor


def scan_page(
    prefix: str = "",
    cursor: str = "0",
    budget: int | None = None,
    redis_type: str | None = None,
    page_size: int | None = None,
    include_internal: bool = False,
) -> ScanPage:
    """At most ``page_size`` keys (CONSOLE_PAGE_SIZE), sorted by stored key, and the cursor
    token of the next page. ``prefix`` may hold ``<id>`` placeholders (``keyspace.ids``)."""
    prefix = params.prefix(prefix)
    size = params.page_size(page_size)
    limit = params.budget(budget)
    kind = params.redis_type(redis_type)

    def run() -> ScanPage:
        walk = start_walk(prefix, limit, cursor, kind, include_internal)
        found: list[tuple[int, bytes]] = []
        first = min(max(size, 10), conf.SCAN_COUNT)
        for node, keys in walk.batches(first, wanted=size):
            found.extend((node, k) for k in walk.cut(keys, size - len(found)))
        found.sort(key=lambda item: item[1])
        scanned = walk.scanned
        if walk.done:  # COUNT is a hint: a finished walk cannot have seen more than there is
            scanned = min(scanned, sum(int(c.dbsize()) for c in walk.clients))
        return ScanPage(
            keys=key_infos(walk.clients, found),
            cursor=walk.cursor,
            scanned=scanned,
            done=walk.done,
            prefix=prefix,
            budget=limit,
            calls=walk.calls,
        )

    return guarded(run)


def key_infos(clients: list[redis.Redis], keys: list[tuple[int, bytes]]) -> list[KeyInfo]:
    """TYPE, PTTL and MEMORY USAGE of every key: one pipeline per node, whatever the count."""
    replies: dict[int, list[Any]] = {}
    for node in sorted({n for n, _ in keys}):
        pipe = clients[node].pipeline(transaction=False)
        for n, key in keys:
            if n == node:
                pipe.type(key)
                pipe.pttl(key)
                pipe.memory_usage(key)
        replies[node] = pipe.execute(raise_on_error=False)
    offsets = dict.fromkeys(replies, 0)
    infos = []
    for node, key in keys:
        i = offsets[node]
        offsets[node] += 3
        kind, pttl, size = replies[node][i : i + 3]
        infos.append(key_info(key, kind, pttl, size))
    return infos


def key_info(stored: bytes, kind: Any, pttl: Any, size: Any) -> KeyInfo:
    redis_type = kind.decode() if isinstance(kind, bytes) else str(kind or "none")
    if isinstance(kind, Exception):
        redis_type = "none"
    ttl: int | None = None
    if not isinstance(pttl, int) or pttl == -2 or redis_type == "none":
        state = MISSING
    elif pttl == -1:
        state = PERSISTENT
    else:
        state = EXPIRES
        ttl = max(0, (pttl + 999) // 1000)
    logical = names.logical_text(stored)
    return KeyInfo(
        stored=stored,
        token=names.key_token(stored),
        logical=logical,
        stored_text=names.text(stored),
        cache_type=type_for_key(logical),
        redis_type=redis_type,
        ttl=ttl,
        ttl_state=state,
        size=size if isinstance(size, int) else None,
    )
