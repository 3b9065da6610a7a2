"""Bounded SCAN pages of the site's keys, with their metadata fetched in one pipeline (P5)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import redis

from cache_admin import backend
from cache_admin.conf import conf
from cache_admin.guard import guarded
from cache_admin.keyspace import names, params
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
    cursor: str  # where the next page starts; "0" when the scan is complete
    scanned: int  # keys examined, about: the SCAN COUNT hints used, at most the keyspace
    done: bool
    prefix: str = ""
    budget: int = 0
    calls: int = 0  # SCAN commands issued

    @property
    def next_cursor(self) -> str | None:
        return None if self.done else self.cursor


@dataclass
class Walk:
    """State of a SCAN across the primary nodes, bounded by a budget of keys examined."""

    clients: list[redis.Redis]
    match: str
    budget: int
    node: int = 0
    position: int = 0
    scanned: int = 0
    calls: int = 0
    done: bool = False
    redis_type: str | None = None
    hidden: bytes | None = None  # stored prefix left out (the package's own keys)
    seen: set[bytes] = field(default_factory=set)

    @property
    def cursor(self) -> str:
        return "0" if self.done else params.format_cursor(self.node, self.position)

    def batches(self, count: int, wanted: int | None = None) -> Iterator[tuple[int, list[bytes]]]:
        """Yield (node, new keys) until the budget is spent, the scan ends, or ``wanted`` keys.

        An empty batch is normal on a sparse match and never ends the walk; instead the
        COUNT hint grows, so a rare key far into a large keyspace is still reached.
        """
        found = 0
        scan_count = conf.SCAN_COUNT
        while not self.done and self.scanned < self.budget:
            if wanted is not None and found >= wanted:
                return
            step = max(1, min(count, self.budget - self.scanned))
            node = self.node
            position, batch = self.clients[node].scan(
                self.position, match=self.match, count=step, _type=self.redis_type
            )
            self.calls += 1
            self.scanned += step
            self.position = int(position)
            if self.position == 0:
                if node + 1 < len(self.clients):
                    self.node += 1
                else:
                    self.done = True
            raw = [k if isinstance(k, bytes) else str(k).encode() for k in batch]
            if self.hidden is not None:
                hidden = self.hidden
                raw = [k for k in raw if not k.startswith(hidden)]
            # SCAN may return a key twice while Redis rehashes: each is kept once.
            keys = [k for k in dict.fromkeys(raw) if k not in self.seen]
            self.seen.update(keys)
            found += len(keys)
            if wanted is not None and found < wanted:
                count = min(count * 2, scan_count)
            yield node, keys


def start_walk(
    prefix: str,
    budget: int,
    cursor: Any = "0",
    redis_type: str | None = None,
    include_internal: bool = False,
) -> Walk:
    clients = backend.primary_clients()
    node, position = params.cursor(cursor, len(clients))
    match = backend.glob_escape(backend.site_prefix() + prefix) + "*"
    hidden = hides_internal(prefix, include_internal)
    return Walk(clients, match, budget, node, position, redis_type=redis_type, hidden=hidden)


def hides_internal(prefix: str, include_internal: bool) -> bytes | None:
    """The stored prefix to hide, unless asked for or browsed explicitly."""
    if include_internal or prefix.startswith(conf.NAMESPACE):
        return None
    return names.internal_prefix_bytes()


def scan_page(
    prefix: str = "",
    cursor: str = "0",
    budget: int | None = None,
    redis_type: str | None = None,
    page_size: int | None = None,
    include_internal: bool = False,
) -> ScanPage:
    prefix = params.prefix(prefix)
    size = params.page_size(page_size)
    limit = params.budget(budget)
    kind = params.redis_type(redis_type)

    def run() -> ScanPage:
        walk = start_walk(prefix, limit, cursor, kind, include_internal)
        found: list[tuple[int, bytes]] = []
        first = min(max(size, 10), conf.SCAN_COUNT)
        for node, keys in walk.batches(first, wanted=size):
            found.extend((node, k) for k in keys)
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
