"""The key browser's toolkit: bounded SCAN pages, namespace tree, key detail, key actions.

Every function stays inside the site's KEY_PREFIX (S2), does a bounded amount of Redis
work (P5), raises ``ValueError`` with a message for people on bad input, and
:class:`RedisUnavailable` (a redis ``ConnectionError``) when Redis cannot be reached.
"""

from __future__ import annotations

from cache_admin.guard import RedisUnavailable
from cache_admin.keyspace.actions import delete_key, delete_keys, set_ttl
from cache_admin.keyspace.detail import Item, KeyDetail, key_detail
from cache_admin.keyspace.names import OutsideNamespace, key_from_token, key_token
from cache_admin.keyspace.params import REDIS_TYPES
from cache_admin.keyspace.scan import KeyInfo, ScanPage, scan_page
from cache_admin.keyspace.tree import NamespaceTree, TreeNode, namespace_tree

__all__ = [
    "REDIS_TYPES",
    "Item",
    "KeyDetail",
    "KeyInfo",
    "NamespaceTree",
    "OutsideNamespace",
    "RedisUnavailable",
    "ScanPage",
    "TreeNode",
    "delete_key",
    "delete_keys",
    "key_detail",
    "key_from_token",
    "key_token",
    "namespace_tree",
    "scan_page",
    "set_ttl",
]
