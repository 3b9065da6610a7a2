"""A key's namespace: its first segments by a delimiter, with id-like segments collapsed.

Namespaces are read from the logical key (inside the site's ``KEY_PREFIX:VERSION:``), so
Django's stored prefix does not put every key in one group. ``product:123`` is in
``product:``, ``product:list:9f2c...`` in ``product:list:``, and ``product:123:reviews:5``
in ``product:<id>:`` rather than one namespace per product.
"""

from __future__ import annotations

from cache_admin.keyspace.ids import ID as ID
from cache_admin.keyspace.ids import is_id as is_id

MAX_DEPTH = 5


def namespace(logical: str, delimiter: str, depth: int) -> str:
    """The first ``depth`` segments that a delimiter ends, each followed by it; "" for a
    key without a delimiter. The key's last segment is its own name, never a namespace."""
    segments = logical.split(delimiter, depth)[:-1]
    return "".join((ID if is_id(segment) else segment) + delimiter for segment in segments)
