"""A key's detail from the toolkit (``keyspace.key_detail``), shaped for the template.

Values arrive as ``decoding.DecodedValue`` (plain text, already made safe to show: the
restricted unpickler names what it refused); the template escapes them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cache_admin.console.figures import number, size
from cache_admin.console.keyrows import ttl_text
from cache_admin.console.toolkit import as_unavailable
from cache_admin.decoding import DecodedValue
from cache_admin.keyspace import Item, key_detail

ITEM_PAGE_SIZE = 50
COLUMNS = {
    "hash": ["field", "value"],
    "list": ["index", "value"],
    "set": ["member"],
    "zset": ["member", "score"],
    "stream": ["entry id", "fields"],
}


@dataclass
class Detail:
    stored: str
    logical: str
    cache_type: str
    redis_type: str
    ttl: str
    has_ttl: bool
    size: str
    length: str
    value: str = ""
    notes: list[str] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    items: list[list[str]] = field(default_factory=list)
    page: int = 0
    next_page: int | None = None
    next_cursor: str | None = None
    supported: bool = True


def value_notes(value: DecodedValue) -> list[str]:
    notes = []
    if value.python_type:
        notes.append(f"Python type: {value.python_type}")
    if value.compression:
        notes.append(f"Stored compressed ({value.compression}), shown decompressed.")
    if value.truncated:
        notes.append(f"Truncated: the value is {value.size:,} bytes; only the beginning is shown.")
    if value.note:
        notes.append(value.note)
    return notes


def _row(kind: str, item: Item) -> list[str]:
    if kind == "stream":
        return [item.key or "", "\n".join(f"{k}: {v.text}" for k, v in item.fields)]
    text = item.value.text if item.value is not None else ""
    if kind == "zset":
        return [text, f"{item.score:g}" if item.score is not None else ""]
    if kind == "set":
        return [text]
    return [item.key or "", text]


def load(stored: bytes, page: int, cursor: str | None) -> Detail | None:
    """None when the key no longer exists; ValueError for a bad page or cursor."""
    with as_unavailable(passthrough=(ValueError,)):
        found = key_detail(stored, page=page, page_size=ITEM_PAGE_SIZE, cursor=cursor)
    if found is None:
        return None
    info = found.info
    kind = info.redis_type
    detail = Detail(
        stored=info.stored_text,
        logical=info.logical,
        cache_type=info.cache_type.label if info.cache_type else "",
        redis_type=kind,
        ttl=ttl_text(info.ttl, info.ttl_state),
        has_ttl=info.ttl_state == "expires",
        size=size(info.size),
        length=number(found.length),
        page=found.page,
        next_page=found.next_page,
        next_cursor=found.next_cursor,
        supported=found.supported,
    )
    if found.value is not None:
        detail.value = found.value.text
        detail.notes = value_notes(found.value)
    if kind in COLUMNS:
        detail.columns = COLUMNS[kind]
        detail.items = [_row(kind, item) for item in found.items]
    return detail
