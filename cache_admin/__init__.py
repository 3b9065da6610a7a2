"""django-cache-admin: a Redis caching toolkit and admin console for Django."""

from __future__ import annotations

from cache_admin.caching import (
    CachedAttribute,
    CachePattern,
    cache_queryset,
    cache_result,
    cached_attribute,
)
from cache_admin.invalidation import (
    CacheInvalidator,
    InvalidationResult,
    delete_keys,
    register,
    registered_models,
)
from cache_admin.keys import (
    action_key,
    attribute_key,
    detail_key,
    list_key,
    slug_key,
    user_key,
)
from cache_admin.policy import ttl_for
from cache_admin.types import CacheType, register_type

__all__ = [
    "CacheInvalidator",
    "CachePattern",
    "CacheType",
    "CachedAttribute",
    "InvalidationResult",
    "action_key",
    "attribute_key",
    "cache_queryset",
    "cache_result",
    "cached_attribute",
    "delete_keys",
    "detail_key",
    "list_key",
    "register",
    "register_type",
    "registered_models",
    "slug_key",
    "ttl_for",
    "user_key",
]

__version__ = "0.1.0"
