"""A session engine that survives Redis outages: ``SESSION_ENGINE = "cache_admin.sessions"``.

Sessions are rows of Django's session table (``django.contrib.sessions`` must be
installed), read through the cache under the session cache type
(``CACHE_ADMIN["SESSION_TYPE"]``, default ``"user_session"``: the spec's "User Session,
30 min") on ``SESSION_CACHE_ALIAS``. The database is the source of truth, so a Redis that
hangs, dies or restarts empty loses no session and signs nobody out:

- A read is a read-through lookup: one GET on a hit, counted under the session type. A
  miss reads the row and caches it under a lease, so a fill never writes back a session
  that was deleted or changed meanwhile (C1). When Redis cannot be read (breaker open,
  timeout) the row is read: "could not read" never becomes "no session".
- A save writes the row, then the cache entry. A cache write Redis did not take queues the
  deletion of the key (it may hold an older copy), replayed when Redis is back (R2).
- A new session key is made unique by the database, so signing in works with Redis down.
- A session lives as long as its type's TTL says (TTL overrides apply; SESSION_COOKIE_AGE
  when the type is not declared): the cookie, the row and the cache entry alike.
"""

from __future__ import annotations

from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.sessions.backends.cached_db import KEY_PREFIX
from django.contrib.sessions.backends.db import SessionStore as DBStore

from cache_admin import backend, policy
from cache_admin.caching import fill
from cache_admin.conf import conf
from cache_admin.invalidation import outbox
from cache_admin.types import CacheType, get_type

__all__ = ["SessionStore"]


class _NoSession(Exception):
    """A fill found no row: nothing is cached for a key nobody holds (C3 keeps it out)."""


def session_type() -> CacheType | None:
    return get_type(conf.SESSION_TYPE)


def session_slot(session_key: str, timeout: float | None = None) -> fill.Slot:
    found = session_type()
    prefix = found.prefix if found is not None else KEY_PREFIX
    return fill.Slot(
        key=prefix + session_key,
        cache_type=found,
        timeout=timeout,
        alias=str(settings.SESSION_CACHE_ALIAS),
    )


class SessionStore(DBStore):
    def get_session_cookie_age(self) -> int:
        found = session_type()
        if found is None:
            return int(super().get_session_cookie_age())
        return int(policy.base_ttl(found) or found.ttl)

    def load(self) -> dict[str, Any]:
        session_key = self.session_key
        if session_key is None:
            return {}
        slot = session_slot(session_key)

        def from_database() -> dict[str, Any]:
            row = self._get_session_from_db()  # type: ignore[attr-defined]  # no row: forgets the key
            if row is None:
                raise _NoSession
            # The cached copy lives as long as the row does.
            slot.timeout = self.get_expiry_age(expiry=row.expire_date)
            return self.decode(row.session_data)

        try:
            return fill.fetch(slot, from_database)
        except _NoSession:
            return {}

    def save(self, must_create: bool = False) -> None:
        if self.session_key is None:
            return self.create()  # comes back here with must_create
        super().save(must_create)
        slot = session_slot(self.session_key, self.get_expiry_age())
        data = self._get_session(no_load=must_create)  # type: ignore[attr-defined]
        if not fill.store(slot, data):
            self._forget_cached(self.session_key)
        return None

    def delete(self, session_key: str | None = None) -> None:
        super().delete(session_key)
        session_key = session_key or self.session_key
        if session_key is not None:
            self._forget_cached(session_key)

    def _forget_cached(self, session_key: str) -> None:
        # Queued for replay when Redis cannot be reached: the row is what counts meanwhile.
        # A session cache that is not Redis (check E039) keeps nothing to forget.
        slot = session_slot(session_key)
        if backend.check_alias(slot.alias) is None:
            outbox.delete([slot.key], alias=slot.alias)

    async def aload(self) -> dict[str, Any]:
        return await sync_to_async(self.load)()

    async def asave(self, must_create: bool = False) -> None:
        await sync_to_async(self.save)(must_create)

    async def adelete(self, session_key: str | None = None) -> None:
        await sync_to_async(self.delete)(session_key)
