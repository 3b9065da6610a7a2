"""The namespace tree: child segments of a prefix with key counts from a bounded scan."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from cache_admin.conf import conf
from cache_admin.keyspace import names, params
from cache_admin.keyspace.guard import guarded
from cache_admin.keyspace.scan import start_walk

# A tree level lists at most this many children (the largest first).
MAX_CHILDREN = 200


@dataclass(frozen=True)
class TreeNode:
    segment: str  # "product:" for a branch, "123" for a key directly under the prefix
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
    delimiter: str = ":",
    include_internal: bool = False,
) -> NamespaceTree:
    prefix = params.prefix(prefix)
    limit = params.budget(budget)
    delimiter = params.delimiter(delimiter)

    def run() -> NamespaceTree:
        walk = start_walk(prefix, limit, include_internal=include_internal)
        site = names.site_prefix_bytes() + prefix.encode()
        sep = delimiter.encode()
        branches: Counter[bytes] = Counter()
        leaves: Counter[bytes] = Counter()
        for _node, keys in walk.batches(max(1, int(conf.SCAN_COUNT))):
            for key in keys:
                rest = key[len(site) :]
                head, found, _tail = rest.partition(sep)
                if found:
                    branches[head + sep] += 1
                else:
                    leaves[rest] += 1
        rows = [
            TreeNode(names.text(s), prefix + names.text(s), n, False) for s, n in branches.items()
        ]
        rows += [
            TreeNode(names.text(s), prefix + names.text(s), n, True) for s, n in leaves.items()
        ]
        rows.sort(key=lambda node: (-node.count, node.segment))
        kept = sorted(rows[:MAX_CHILDREN], key=lambda node: (node.is_leaf, node.segment))
        return NamespaceTree(
            prefix=prefix,
            delimiter=delimiter,
            children=kept,
            scanned=walk.scanned,
            complete=walk.done,
            more_children=max(0, len(rows) - MAX_CHILDREN),
        )

    return guarded(run)


def _node(prefix: str, segment: bytes, count: int, leaf: bool) -> TreeNode:
    text = names.text(segment)
    return TreeNode(text, prefix + text, count, leaf)
