"""Generation tokens: O(1) invalidation of every cached list that depends on them (P3).

Generation-enveloped entries (``cache_queryset``, ``CachePattern.cache_list_view``) store
the tokens current when they were computed; an entry whose tokens differ from the current
ones is a miss. A bump is one SET, however many lists are cached.

Each model has up to three kinds of token (logical keys in the package namespace):

    gen:<app.model>                      every list of the model ("all lists")
    gen:<app.model>:unscoped             lists not scoped to one value (list scopes only)
    gen:<app.model>:<field>=<value>      lists that fix ``field`` to ``value``

``invalidation.scopes`` decides which a list depends on and which a save bumps.

Tokens are random, not counters: when a token key is lost (eviction, a restart without
persistence, a scope token's expiry), ``token()`` creates a fresh random one, which no old
entry holds, so nothing old comes back to life.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from typing import Any

from django.db import models

from cache_admin import backend, keys, stored_keys
from cache_admin.conf import conf
from cache_admin.guard import guarded

__all__ = ["bump", "token"]

ModelRef = type[models.Model] | models.Model | str

UNSCOPED = "unscoped"
# A scope token (one per value of a scope field, so possibly many) expires: a lost token
# is a bump, so this only bounds their number; a list of a quiet scope misses once a day.
SCOPE_TOKEN_TTL_MS = 24 * 3600 * 1000


def label(model: ModelRef) -> str:
    """``app_label.model_name`` of a model class or instance (a string is taken as given)."""
    if isinstance(model, str):
        return model.lower()
    return model._meta.label_lower


def key(model: ModelRef) -> str:
    """The logical key of a model's "all lists" token."""
    return f"{conf.NAMESPACE}gen:{label(model)}"


def unscoped_key(model: ModelRef) -> str:
    """The token of the lists of a model with list scopes that fix none of them."""
    return f"{key(model)}:{UNSCOPED}"


def scope_key(model: ModelRef, field_name: str, value: Any) -> str:
    """The token of the lists that fix ``field_name`` to ``value`` (a canonical value:
    ``invalidation.scopes`` prepares it)."""
    return f"{key(model)}:{field_name}={keys.part(value)}"


def _expiry_ms(logical: str) -> int | None:
    return SCOPE_TOKEN_TTL_MS if "=" in logical.rpartition(":")[2] else None


def new_token() -> str:
    return secrets.token_hex(8)


def token(model: ModelRef) -> str:
    """The current "all lists" token, created (SET NX) when missing.

    Raises one of ``backend.REDIS_ERRORS`` when Redis is unreachable.
    """
    return token_at(key(model))


def token_at(logical: str) -> str:
    """The current token under a generation key, created (SET NX) when missing."""
    client = backend.client()
    stored = stored_keys.stored_key(logical)
    px = _expiry_ms(logical)

    def read_or_create() -> bytes | None:
        found = client.get(stored)
        if found is not None:
            return found  # type: ignore[return-value]
        fresh = new_token().encode()
        if client.set(stored, fresh, nx=True, px=px):
            return fresh
        return client.get(stored)  # type: ignore[return-value]

    found = guarded(read_or_create)
    return found.decode() if isinstance(found, bytes) else token_at(logical)


def tokens(logical_keys: Iterable[str]) -> list[str]:
    """The current tokens under these generation keys, in one round trip when they all
    exist (a missing one is created as ``token_at`` does).

    Raises one of ``backend.REDIS_ERRORS`` when Redis is unreachable.
    """
    wanted = list(logical_keys)
    client = backend.client()

    def read() -> list[Any]:
        pipe = client.pipeline(transaction=False)  # one key per command: a cluster splits it
        for name in wanted:
            pipe.get(stored_keys.stored_key(name))
        return pipe.execute()

    found = guarded(read)
    return [
        value.decode() if isinstance(value, bytes) else token_at(name)
        for name, value in zip(wanted, found, strict=True)
    ]


def bump(model: ModelRef) -> str:
    """Give the model a new "all lists" token: every generation-enveloped entry of it
    becomes a miss.

    One SET. Raises one of ``backend.REDIS_ERRORS`` when Redis is unreachable.
    """
    return bump_keys([key(model)])[0]


def bump_keys(logical_keys: Iterable[str]) -> list[str]:
    """New random tokens under these generation keys: one SET each, in one round trip.

    Raises one of ``backend.REDIS_ERRORS`` when Redis is unreachable.
    """
    wanted = list(dict.fromkeys(logical_keys))
    fresh = [new_token() for _ in wanted]
    client = backend.client()
    cache = backend.get_cache()
    stored = [stored_keys.stored_key(logical, cache) for logical in wanted]

    def write() -> None:
        if len(stored) == 1:
            client.set(stored[0], fresh[0].encode(), px=_expiry_ms(wanted[0]))
            return
        pipe = client.pipeline(transaction=False)  # one key per command: a cluster splits it
        for logical, name, value in zip(wanted, stored, fresh, strict=True):
            pipe.set(name, value.encode(), px=_expiry_ms(logical))
        pipe.execute()

    guarded(write)
    return fresh
