"""The spec's caching patterns on one read-through engine (``fill``)."""

from __future__ import annotations

from cache_admin.caching.attribute import CachedAttribute, cached_attribute, known_attributes
from cache_admin.caching.decorators import CachedFunction, cache_queryset, cache_result
from cache_admin.caching.lists import CachePattern

__all__ = [
    "CachePattern",
    "CachedAttribute",
    "CachedFunction",
    "cache_queryset",
    "cache_result",
    "cached_attribute",
    "known_attributes",
]
