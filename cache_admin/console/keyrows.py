"""Key browser data from the toolkit (``cache_admin.keyspace``), shaped for the templates."""

from __future__ import annotations

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


def scan(prefix: str, cursor: str, redis_type: str, page_size: int | None) -> Listing:
    """ValueError (bad prefix or cursor) is passed through for the form to show."""
    with as_unavailable(passthrough=(ValueError,)):
        page = scan_page(
            prefix, cursor=cursor or "0", redis_type=redis_type or None, page_size=page_size
        )
    return Listing(
        rows=[key_row(info) for info in page.keys],
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
