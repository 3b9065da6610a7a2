"""Invalidation: by model instance, by list generation, by prefix, by key, fragment and page.

Deletions go through the breaker; during an outage they are queued and replayed (R2).
"""

from __future__ import annotations

from cache_admin.guard import CacheUnavailable
from cache_admin.invalidation.invalidator import CacheInvalidator, model_keys
from cache_admin.invalidation.outbox import delete_keys
from cache_admin.invalidation.prefix import PrefixCount, PrefixProgress
from cache_admin.invalidation.registrations import Registration, registered_models
from cache_admin.invalidation.registry import register, unregister
from cache_admin.invalidation.results import InvalidationResult

__all__ = [
    "CacheInvalidator",
    "CacheUnavailable",
    "InvalidationResult",
    "PrefixCount",
    "PrefixProgress",
    "Registration",
    "delete_keys",
    "model_keys",
    "register",
    "registered_models",
    "unregister",
]
