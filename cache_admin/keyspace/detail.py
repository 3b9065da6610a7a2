"""One key's value, paged for large values, every Redis type (S3 for the decoding)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import redis

from cache_admin import backend, decoding
from cache_admin.conf import MAX_PAGE_SIZE
from cache_admin.guard import guarded
from cache_admin.keyspace import names, params
from cache_admin.keyspace.scan import KeyInfo, key_info

DEFAULT_ITEM_PAGE_SIZE = 50
MAX_PAGE = 10**9
# Characters shown for one element of a collection.
ELEMENT_LIMIT = 2000
_STREAM_ID = re.compile(r"\d{1,20}-\d{1,20}")


@dataclass(frozen=True)
class Item:
    key: str | None  # hash field, list index, stream entry id; None for set members
    value: decoding.DecodedValue | None  # hash/list/zset/set value; None for stream entries
    score: float | None = None
    fields: list[tuple[str, decoding.DecodedValue]] = field(default_factory=list)


@dataclass(frozen=True)
class KeyDetail:
    info: KeyInfo
    length: int | None  # string length in bytes, or number of elements
    value: decoding.DecodedValue | None  # string keys
    items: list[Item]
    page: int
    page_size: int
    next_page: int | None  # pass back as ``page`` (with ``cursor`` when next_cursor is set)
    next_cursor: str | None  # hash, set and stream pages continue from a cursor
    supported: bool = True

    @property
    def exists(self) -> bool:
        return True

    @property
    def ttl(self) -> int | None:
        return self.info.ttl

    @property
    def redis_type(self) -> str:
        return self.info.redis_type


def key_detail(
    stored: bytes,
    page: int | str = 0,
    page_size: int | str | None = None,
    cursor: str | None = None,
) -> KeyDetail | None:
    """The key's value and metadata, or None when it no longer exists (a stale link)."""
    stored = names.require_inside(stored)
    page = params.whole_number(page, "page", 0, MAX_PAGE)
    size = params.whole_number(
        DEFAULT_ITEM_PAGE_SIZE if page_size in (None, "") else page_size,
        "page size",
        1,
        MAX_PAGE_SIZE,
    )

    def run() -> KeyDetail | None:
        client = backend.client()
        for _attempt in range(2):  # the key may change type between the two round trips
            pipe = client.pipeline(transaction=False)
            pipe.type(stored)
            pipe.pttl(stored)
            pipe.memory_usage(stored)
            info = key_info(stored, *pipe.execute(raise_on_error=False))
            if not info.exists:
                return None
            try:
                return _read(client, info, page, size, cursor)
            except backend.RESPONSE_ERRORS as exc:
                if "WRONGTYPE" not in str(exc):
                    raise
        return None

    return guarded(run)


def _read(
    client: redis.Redis, info: KeyInfo, page: int, size: int, cursor: str | None
) -> KeyDetail | None:
    kind = info.redis_type
    key = info.stored
    start, stop = page * size, page * size + size - 1
    pipe = client.pipeline(transaction=False)
    if kind == "string":
        pipe.strlen(key)
        pipe.getrange(key, 0, decoding.MAX_DECODE_BYTES - 1)
        length, data = pipe.execute()
        if data is None:
            return None
        value = decoding.decode(data, full_size=length)
        return KeyDetail(info, length, value, [], 0, size, None, None)
    if kind == "list":
        pipe.llen(key)
        pipe.lrange(key, start, stop)
        length, rows = pipe.execute()
        items = [Item(str(start + i), _element(v)) for i, v in enumerate(rows)]
        return _paged(info, length, items, page, size, stop + 1 < length)
    if kind == "zset":
        pipe.zcard(key)
        pipe.zrange(key, start, stop, withscores=True)
        length, rows = pipe.execute()
        items = [Item(None, _element(m), float(s)) for m, s in rows]
        return _paged(info, length, items, page, size, stop + 1 < length)
    if kind in ("hash", "set"):
        position = params.whole_number(cursor or "0", "cursor", 0, params.MAX_CURSOR)
        if kind == "hash":
            pipe.hlen(key)
            pipe.hscan(key, position, count=size)
        else:
            pipe.scard(key)
            pipe.sscan(key, position, count=size)
        length, (after, rows) = pipe.execute()
        if kind == "hash":
            items = [Item(names.text(f), _element(v)) for f, v in rows.items()]
        else:
            items = [Item(None, _element(m)) for m in rows]
        after = int(after)
        return _paged(info, length, items, page, size, after != 0, str(after))
    if kind == "stream":
        low = "-"
        if cursor:
            if not _STREAM_ID.fullmatch(cursor):
                raise ValueError("The stream position is not valid; start again from the top.")
            low = "(" + cursor
        pipe.xlen(key)
        pipe.xrange(key, low, "+", count=size + 1)
        length, rows = pipe.execute()
        more = len(rows) > size
        rows = rows[:size]
        items = [
            Item(_id(i), None, None, [(names.text(f), _element(v)) for f, v in d.items()])
            for i, d in rows
        ]
        last = _id(rows[-1][0]) if rows else None
        return _paged(info, length, items, page, size, more, last)
    return KeyDetail(info, None, None, [], 0, size, None, None, supported=False)


def _paged(
    info: KeyInfo,
    length: int,
    items: list[Item],
    page: int,
    size: int,
    more: bool,
    next_cursor: str | None = None,
) -> KeyDetail:
    return KeyDetail(
        info,
        length,
        None,
        items,
        page,
        size,
        page + 1 if more else None,
        next_cursor if more else None,
    )


def _element(data: Any) -> decoding.DecodedValue:
    raw = data if isinstance(data, bytes) else str(data).encode()
    return decoding.decode(raw, limit=ELEMENT_LIMIT)


def _id(raw: Any) -> str:
    return raw.decode() if isinstance(raw, bytes) else str(raw)
