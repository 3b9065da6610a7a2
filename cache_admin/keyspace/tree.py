"""The namespace tree: child segments of a prefix with key counts from a bounded scan.

Segments that are ids (``keyspace.ids``: digits, UUIDs, hex digests) collapse into one
``<id>`` child, so ``product:`` shows ``<id>:`` with 4,226 keys rather than one namespace
per product; that child's prefix (``product:<id>:``) is browsed like any other.
"""

from __future__ import annotations

import heapq
from collections import Counter
from dataclasses import dataclass

from cache_admin.conf import conf
from cache_admin.guard import guarded
from cache_admin.keyspace import names, params
from cache_admin.keyspace.ids import ID, is_id, stored_prefix
from cache_admin.keyspace.walk import start_walk

# A tree level lists at most this many children (the largest first).
MAX_CHILDREN = 200
DEFAULT_DELIMITER = ":"


@dataclass(frozen=True)
class TreeNode:
    segment: str  # "product:" or "<id>:" for a branch, "123" for a key under the prefix
    prefix: str  # the full logical prefix to browse: parent prefix + segment
    count: int
    is_leaf: bool  # a key with no further delimiter


@dataclass(frozen=True)
class NamespaceTree:
    prefix: str
    delimiter: str
    children: list[TreeNode]
    scanned: int
    complete: bool  # the scan reached the end: counts are exact, else a sample of the keyspace
    more_children: int = 0  # children left out beyond MAX_CHILDREN

    @property
    def approximate(self) -> bool:
        return not self.complete

    @property
    def total(self) -> int:
        return sum(child.count for child in self.children)


def namespace_tree(
    prefix: str = "",
    budget: int | None = None,
    delimiter: str = DEFAULT_DELIMITER,
    include_internal: bool = False,
) -> NamespaceTree:
    prefix = params.prefix(prefix)
    limit = params.budget(budget)
    delimiter = params.delimiter(delimiter)

    def run() -> NamespaceTree:
        walk = start_walk(prefix, limit, include_internal=include_internal)
        covered = stored_prefix(prefix)
        sep = delimiter.encode()
        collapsed = ID.encode() + sep
        branches: Counter[bytes] = Counter()
        # Under an ``<id>`` prefix one leaf name is many keys (``detail`` of every product).
        leaves: Counter[bytes] = Counter()
        for _where, keys in walk.batches(conf.SCAN_COUNT):
            for key in keys:
                rest = key[covered.rest(key) or 0 :]
                end = rest.find(sep)
                if end < 0:
                    leaves[rest] += 1
                elif is_id(rest[:end]):
                    branches[collapsed] += 1
                else:
                    branches[rest[: end + len(sep)]] += 1
        # Only the shown children become objects: a flat prefix can hold thousands of keys.
        top = heapq.nlargest(MAX_CHILDREN, branches.items(), key=lambda item: item[1])
        kept = [_node(prefix, segment, count, False) for segment, count in top]
        room = MAX_CHILDREN - len(kept)
        kept += [_node(prefix, leaf, leaves[leaf], True) for leaf in heapq.nsmallest(room, leaves)]
        kept.sort(key=lambda node: (node.is_leaf, node.segment))
        return NamespaceTree(
            prefix=prefix,
            delimiter=delimiter,
            children=kept,
            scanned=walk.scanned,
            complete=walk.done,
            more_children=len(branches) + len(leaves) - len(kept),
        )

    return guarded(run)


def _node(prefix: str, segment: bytes, count: int, leaf: bool) -> TreeNode:
    text = names.text(segment)
    return TreeNode(text, prefix + text, count, leaf)
