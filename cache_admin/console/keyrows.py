"""Key browser data from the toolkit (``cache_admin.keyspace``), shaped for the templates."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from cache_admin.console.figures import number, size
from cache_admin.console.toolkit import as_unavailable
from cache_admin.keyspace import KeyInfo, namespace_tree, scan_page
from cache_admin.keyspace.tree import DEFAULT_DELIMITER as DEFAULT_DELIMITER


def ttl_text(ttl: int | None, state: str) -> str:
    if state == "persistent":
        return "no expiry"
    if state == "missing" or ttl is None:
        return "gone"
    return f"{ttl:,} s"


@dataclass
class KeyRow:
    token: str
    logical: str
    stored: str
    cache_type: str
    redis_type: str
    ttl: str
    size: str


@dataclass
class Listing:
    rows: list[KeyRow] = field(default_factory=list)
    cursor: str = "0"
    scanned: int = 0
    done: bool = True


@dataclass(frozen=True)
class TreeEntry:
    prefix: str
    label: str
    count: str  # formatted for people
    raw_count: int
    leaf: bool


@dataclass
class Tree:
    nodes: list[TreeEntry]
    complete: bool
    scanned: int
    more: int

    @property
    def branches(self) -> int:
        return sum(1 for node in self.nodes if not node.leaf)

    @property
    def leaves(self) -> int:
        return sum(node.raw_count for node in self.nodes if node.leaf)


def key_row(info: KeyInfo) -> KeyRow:
    return KeyRow(
        token=info.token,
        logical=info.logical,
        stored=info.stored_text,
        cache_type=info.cache_type.label if info.cache_type else "",
        redis_type=info.redis_type,
        ttl=ttl_text(info.ttl, info.ttl_state),
        size=size(info.size),
    )


def _ttl_order(info: KeyInfo) -> float:
    if info.persistent:
        return math.inf
    return -1 if info.ttl is None else info.ttl


ORDERS = {
    "key": lambda info: info.logical,
    "ttl": _ttl_order,
    "size": lambda info: -1 if info.size is None else info.size,
}


def ordered(infos: list[KeyInfo], sort: str) -> list[KeyInfo]:
    """The page in the order asked for ("" keeps the toolkit's: by stored key); ties keep
    the stored-key order, so a sorted page reads the same every time."""
    order = ORDERS.get(sort.removeprefix("-"))
    if order is None:
        return infos
    return sorted(infos, key=order, reverse=sort.startswith("-"))


def rows(infos: list[KeyInfo], sort: str = "") -> list[KeyRow]:
    return [key_row(info) for info in ordered(infos, sort)]


def scan(
    prefix: str, cursor: str, redis_type: str, page_size: int | None, sort: str = ""
) -> Listing:
    """ValueError (bad prefix or cursor) is passed through for the form to show."""
    with as_unavailable(passthrough=(ValueError,)):
        page = scan_page(
            prefix, cursor=cursor or "0", redis_type=redis_type or None, page_size=page_size
        )
    return Listing(
        rows=rows(page.keys, sort),
        cursor=page.cursor,
        scanned=page.scanned,
        done=page.done,
    )


def tree(prefix: str, delimiter: str = DEFAULT_DELIMITER) -> Tree:
    with as_unavailable(passthrough=(ValueError,)):
        found = namespace_tree(prefix, delimiter=delimiter)
    nodes = [
        TreeEntry(node.prefix, node.segment, number(node.count), node.count, node.is_leaf)
        for node in found.children
    ]
    return Tree(nodes, found.complete, found.scanned, found.more_children)
