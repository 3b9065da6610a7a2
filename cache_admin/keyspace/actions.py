"""Changing keys: delete one or a selection, set or remove a TTL. Only inside the site's
namespace (S2)."""

from __future__ import annotations

from cache_admin import backend
from cache_admin.guard import guarded
from cache_admin.keyspace import names, params
from cache_admin.types import MAX_TTL


def delete_key(stored: bytes) -> bool:
    """True when the key existed and is now gone."""
    stored = names.require_inside(stored)
    return guarded(lambda: bool(backend.client().unlink(stored)))


# Half of Django's DATA_UPLOAD_MAX_NUMBER_FIELDS (1000): a larger selection still reaches the
# view, which says so, instead of Django refusing the whole form with a bare 400.
MAX_SELECTION = 500


def delete_keys(stored: list[bytes]) -> int:
    """Delete a selection of keys; how many existed. Every key is checked before any is
    deleted: one outside the site's namespace, or a selection too large, deletes nothing."""
    if len(stored) > MAX_SELECTION:
        raise ValueError(
            f"{len(stored):,} keys were selected; at most {MAX_SELECTION:,} are deleted at once."
        )
    inside = list(dict.fromkeys(names.require_inside(key) for key in stored))
    if not inside:
        return 0

    def run() -> int:
        # One UNLINK per key in one pipeline: keys of a cluster may sit on different slots.
        pipe = backend.client().pipeline(transaction=False)
        for key in inside:
            pipe.unlink(key)
        return sum(int(n) for n in pipe.execute())

    return guarded(run)


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
