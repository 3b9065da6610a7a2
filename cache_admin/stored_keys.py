"""How the site's logical keys are stored: the backend's key function, its
``KEY_PREFIX:VERSION:`` prefix (S2), and the way back; glob escaping for SCAN MATCH (S3)."""

from __future__ import annotations

from django.core.cache import BaseCache

from cache_admin.backend import get_cache


def stored_key(logical: str, cache: BaseCache | None = None) -> str:
    # The key function itself: django-valkey's make_key() leaves an empty key empty.
    cache = cache or get_cache()
    return str(cache.key_func(logical, cache.key_prefix, cache.version))


def site_prefix(cache: BaseCache | None = None) -> str:
    """The stored form of the empty logical key: ``KEY_PREFIX:VERSION:``.

    Everything the site stores (at its current version) starts with it (S2).
    """
    return stored_key("", cache)


def logical_key(stored: str | bytes, cache: BaseCache | None = None) -> str | None:
    """The logical key of a stored key, or None when it is outside the site's namespace."""
    if isinstance(stored, bytes):
        try:
            stored = stored.decode()
        except UnicodeDecodeError:  # Django never writes such a key: not the site's
            return None
    prefix = site_prefix(cache)
    if stored.startswith(prefix):
        return stored[len(prefix) :]
    return None


def glob_escape(text: str) -> str:
    """Escape glob metacharacters for SCAN MATCH (S3)."""
    out = []
    for char in text:
        if char in "*?[]\\":
            out.append("\\")
        out.append(char)
    return "".join(out)
