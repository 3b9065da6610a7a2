"""Changing one key: delete it, set or remove its TTL. Only inside the site's namespace (S2)."""

from __future__ import annotations

from cache_admin import backend
from cache_admin.guard import guarded
from cache_admin.keyspace import names, params
from cache_admin.types import MAX_TTL


def delete_key(stored: bytes) -> bool:
    """True when the key existed and is now gone."""
    stored = names.require_inside(stored)
    return guarded(lambda: bool(backend.client().unlink(stored)))


def set_ttl(stored: bytes, seconds: int | None) -> bool:
    """Expire the key in ``seconds``, or keep it forever with None. False when it is gone."""
    stored = names.require_inside(stored)
    ttl = None if seconds is None else params.whole_number(seconds, "TTL in seconds", 1, MAX_TTL)

    def run() -> bool:
        client = backend.client()
        if ttl is not None:
            return bool(client.expire(stored, ttl))
        pipe = client.pipeline(transaction=False)
        pipe.exists(stored)
        pipe.persist(stored)
        exists, _removed = pipe.execute()
        return bool(exists)

    return guarded(run)
