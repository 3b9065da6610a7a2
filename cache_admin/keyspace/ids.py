"""Id-like key segments (digits, UUIDs, hex digests) and the ``<id>`` placeholder.

One rule for the whole package: the key browser's namespace tree collapses
``product:1000:``, ``product:1005:``, ... into one ``product:<id>:`` node, and the keyspace
analysis (``analysis.namespaces``) groups keys the same way. A browsed prefix may hold the
placeholder: ``product:<id>:`` lists the keys whose segment there is an id.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from cache_admin import stored_keys

ID = "<id>"
# Digits, a UUID (with or without dashes), a hex digest of 16 characters or more.
ID_PATTERN = (
    r"\d+"
    r"|[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"
    r"|[0-9a-fA-F]{16,}"
)
_ID_SEGMENT = re.compile(ID_PATTERN)
_ID_BYTES = ID_PATTERN.encode()


def is_id(segment: str | bytes) -> bool:
    if isinstance(segment, bytes):
        return re.fullmatch(_ID_BYTES, segment) is not None
    return _ID_SEGMENT.fullmatch(segment) is not None


@dataclass(frozen=True)
class StoredPrefix:
    """What a logical prefix (with or without ``<id>``) covers among stored keys."""

    glob: str  # for SCAN MATCH: every key the prefix covers, and with ``<id>`` some more
    literal: bytes  # the stored prefix, when it holds no placeholder
    exact: re.Pattern[bytes] | None  # with ``<id>``: matches the start of covered keys

    def covers(self, stored: bytes) -> bool:
        return self.rest(stored) is not None

    def rest(self, stored: bytes) -> int | None:
        """Where a stored key goes on after the prefix; None when the prefix does not cover it."""
        if self.exact is None:
            return len(self.literal) if stored.startswith(self.literal) else None
        found = self.exact.match(stored)
        return found.end() if found else None


def stored_prefix(prefix: str) -> StoredPrefix:
    site = stored_keys.site_prefix()
    parts = prefix.split(ID)
    glob = "*".join(stored_keys.glob_escape(p) for p in [site + parts[0], *parts[1:]]) + "*"
    if len(parts) == 1:
        return StoredPrefix(glob, (site + prefix).encode(), None)
    ids = b"".join(b"(?:" + _ID_BYTES + b")" + re.escape(p.encode()) for p in parts[1:])
    return StoredPrefix(glob, b"", re.compile(re.escape((site + parts[0]).encode()) + ids))
