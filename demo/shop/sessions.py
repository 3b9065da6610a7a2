"""Sessions in the cache, under the spec's ``session:`` type, living as long as its policy TTL.

Set ``SESSION_ENGINE = "shop.sessions"``. An override of the "User session" type in the
console changes the lifetime of sessions saved from then on (cache entry and cookie).
Lookups are counted under that type, so the console shows the sessions' hit rate.
"""

from __future__ import annotations

from typing import Any

from django.contrib.sessions.backends.cache import SessionStore as CacheSessionStore

from cache_admin import counters, ttl_for

TYPE = "user_session"


class SessionStore(CacheSessionStore):
    cache_key_prefix = "session:"

    def load(self) -> dict[str, Any]:
        data: dict[str, Any] = super().load()
        counters.record(TYPE, "hits" if self._session_key is not None else "misses")
        return data

    def get_session_cookie_age(self) -> int:
        return ttl_for(TYPE, jitter=False) or super().get_session_cookie_age()
