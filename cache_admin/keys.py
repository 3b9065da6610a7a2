"""Logical key helpers following the spec's naming convention, and canonical hashing (C4).

    {model}:{id}                 detail_key(Product, 123)          -> product:123
    {model}:slug:{slug}          slug_key(Product, "laptop")       -> product:slug:laptop
    {model}:list:{filter_hash}   list_key(Product, {...})          -> product:list:3f2a...
    {model}:{id}:{attr}          attribute_key(p, "related")       -> product:123:related
    {action}:{model}:{params}    action_key("search", Product, "laptop")
    {model}:user:{id}            user_key("cart", 789)             -> cart:user:789

Hashes are stable across processes and restarts (no Python ``hash()``).
"""

from __future__ import annotations

import datetime
import decimal
import hashlib
import json
import re
import uuid
from collections.abc import Mapping
from typing import Any

from django.db import models

# Characters that keep a key part readable; anything else is hashed.
_SAFE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.@+")
MAX_PLAIN_PART = 64
# A part made only of _SAFE characters, from 1 to MAX_PLAIN_PART of them.
_PLAIN = re.compile(rf"[A-Za-z0-9\-_.@+]{{1,{MAX_PLAIN_PART}}}", re.ASCII)


def model_name(model: type[models.Model] | models.Model | str) -> str:
    if isinstance(model, str):
        return model
    return model._meta.model_name or type(model).__name__.lower()


def normalize(value: Any) -> Any:
    """A JSON-able canonical form: equal filters give equal forms, whatever their order."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else repr(value)
    if isinstance(value, decimal.Decimal):
        if not value.is_finite():  # NaN and Infinity have no integral value
            return str(value)
        normal = value.normalize()
        return int(normal) if normal == normal.to_integral_value() else str(normal)
    if isinstance(value, datetime.datetime) and value.utcoffset() is not None:
        # One instant, one key, whatever time zone the caller happened to use.
        return value.astimezone(datetime.timezone.utc).isoformat()
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, models.Model):
        return [model_name(value), normalize(value.pk)]
    if isinstance(value, Mapping):
        return {str(k): normalize(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, (set, frozenset)):
        return sorted((normalize(v) for v in value), key=lambda v: json.dumps(v, sort_keys=True))
    if isinstance(value, (list, tuple)):
        return [normalize(v) for v in value]
    if isinstance(value, bytes):
        return value.hex()
    if hasattr(value, "pk"):
        return normalize(value.pk)
    return f"{type(value).__module__}.{type(value).__qualname__}:{value!s}"


def digest(value: Any, length: int = 16) -> str:
    text = json.dumps(normalize(value), sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.blake2b(text.encode(), digest_size=length // 2).hexdigest()


def part(value: Any) -> str:
    """One readable key part for simple values (``42``, ``laptop``), a digest otherwise."""
    kind = type(value)
    # On the hit path (one call per cached call): ids and slugs skip normalize().
    if kind is int:
        text = str(value)
        if len(text) <= MAX_PLAIN_PART:
            return text
    elif kind is str and _PLAIN.fullmatch(value):
        return value  # type: ignore[no-any-return]
    normal = normalize(value)
    if isinstance(normal, bool) or normal is None:
        return digest(normal)
    text = str(normal)
    if isinstance(normal, (int, str)) and _PLAIN.fullmatch(text):
        return text
    return digest(normal)


def detail_key(model: type[models.Model] | models.Model | str, pk: Any) -> str:
    return f"{model_name(model)}:{part(pk)}"


def slug_key(model: type[models.Model] | models.Model | str, slug: Any) -> str:
    return f"{model_name(model)}:slug:{part(slug)}"


def list_prefix(model: type[models.Model] | models.Model | str) -> str:
    return f"{model_name(model)}:list:"


def list_key(model: type[models.Model] | models.Model | str, params: Any) -> str:
    return f"{list_prefix(model)}{digest(params)}"


def attribute_key(instance: models.Model, attr: str) -> str:
    return attribute_key_prefix(instance, instance.pk) + attr


def attribute_key_prefix(model: type[models.Model] | models.Model | str, pk: Any) -> str:
    """What every attribute key of one row starts with: ``product:123:``."""
    return f"{model_name(model)}:{part(pk)}:"


def action_key(action: str, model: type[models.Model] | models.Model | str, *params: Any) -> str:
    suffix = part(params[0]) if len(params) == 1 else digest(list(params))
    return f"{action}:{model_name(model)}:{suffix}"


def user_key(kind: str, user_id: Any) -> str:
    return f"{kind}:user:{part(user_id)}"
