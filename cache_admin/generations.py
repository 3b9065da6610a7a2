"""Per-model generation tokens: O(1) invalidation of every cached list of a model (P3).

Generation-enveloped entries (``cache_queryset``, ``CachePattern.cache_list_view``) store
the tokens current when they were computed; an entry whose tokens differ from the current
ones is a miss. ``bump(Model)`` is one SET, however many lists are cached.

Tokens are random, not counters: when a generation key is lost (eviction, a restart
without persistence), ``token()`` creates a fresh random one, which no old entry holds, so
nothing old comes back to life.
"""

from __future__ import annotations

import secrets
from typing import TypeVar

from django.db import models

from cache_admin import backend
from cache_admin.conf import conf
from cache_admin.guard import guarded

__all__ = ["bump", "token"]

T = TypeVar("T")

ModelRef = type[models.Model] | models.Model | str


def label(model: ModelRef) -> str:
    """``app_label.model_name`` of a model class or instance (a string is taken as given)."""
    if isinstance(model, str):
        return model.lower()
    return model._meta.label_lower


def key(model: ModelRef) -> str:
    """The logical key of a model's generation token."""
    return f"{conf.NAMESPACE}gen:{label(model)}"


def new_token() -> str:
    return secrets.token_hex(8)


def token(model: ModelRef) -> str:
    """The current token, created (SET NX) when missing.

    Raises one of ``backend.REDIS_ERRORS`` when Redis is unreachable.
    """
    client = backend.client()
    stored = backend.stored_key(key(model))

    def read_or_create() -> bytes | None:
        found = client.get(stored)
        if found is not None:
            return found  # type: ignore[return-value]
        fresh = new_token().encode()
        if client.set(stored, fresh, nx=True):
            return fresh
        return client.get(stored)  # type: ignore[return-value]

    found = guarded(read_or_create)
    return found.decode() if isinstance(found, bytes) else token(model)


def bump(model: ModelRef) -> str:
    """Give the model a new token: every generation-enveloped entry of it becomes a miss.

    One SET. Raises one of ``backend.REDIS_ERRORS`` when Redis is unreachable.
    """
    client = backend.client()
    stored = backend.stored_key(key(model))
    fresh = new_token()
    guarded(lambda: client.set(stored, fresh.encode()))
    return fresh
