"""Invalidation: by model instance, by list generation, by prefix, by key, fragment and page.

Deletions go through the breaker; during an outage they are queued and replayed (R2).
"""

from __future__ import annotations

from cache_admin.invalidation.outbox import CacheUnavailable, Deletion, delete_keys
from cache_admin.invalidation.prefix import Progress

__all__ = [
    "CacheUnavailable",
    "Deletion",
    "Progress",
    "delete_keys",
]
