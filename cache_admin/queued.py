"""What a queued invalidation names: a stored key, or a logical prefix (R2).

The outbox queues them in memory, and its copy in the database (``QueuedInvalidation``)
keeps the same two kinds; both import them from here, below either of them.
"""

from __future__ import annotations

KEY, PREFIX = "key", "prefix"
Entry = tuple[str, str]  # (kind, target)
