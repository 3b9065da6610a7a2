"""A model invalidation deletes its rows' attribute keys by name, whichever process wrote them.

Every store of a ``CachedAttribute`` value adds its name to the model's name set
(``registrations.attribute_names_key``). A model invalidation reads that set and unlinks
``{model}:{pk}:{name}`` for every name together with the keys it names itself: never a
SCAN. On one server that is one Lua script, one round trip; where a script may only touch
the keys it declares (a Redis Cluster, a custom KEY_FUNCTION whose keys the script cannot
build) it is SMEMBERS then UNLINK, two round trips. The names read are remembered in this
process, which deletes them by name while Redis is out of reach.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import redis
from django.core.cache import BaseCache
from django.core.cache.backends.base import default_key_func
from django.db import models
from redis.client import Pipeline
from redis.commands.core import Script

from cache_admin import backend, keys
from cache_admin.conf import conf
from cache_admin.invalidation.registrations import attribute_names_key, remember_attribute

# KEYS[1]: the model's name set; KEYS[2..]: keys named by the caller. ARGV: the stored key
# prefixes of the rows ("site:1:product:7:"). Unlinks the named keys and prefix..name for
# every name in the set, in batches; returns {deleted, names}.
_SCRIPT = """
local names = redis.call('SMEMBERS', KEYS[1])
local deleted = 0
local batch = {}
local function flush()
  if #batch > 0 then
    deleted = deleted + redis.call('UNLINK', unpack(batch))
    batch = {}
  end
end
for i = 2, #KEYS do
  batch[#batch + 1] = KEYS[i]
  if #batch >= 1000 then flush() end
end
for _, prefix in ipairs(ARGV) do
  for _, name in ipairs(names) do
    batch[#batch + 1] = prefix .. name
    if #batch >= 1000 then flush() end
  end
end
flush()
return {deleted, names}
"""
_script: Script | None = None

Unlink = Callable[[redis.Redis, list[str]], int]


def deleter(model: type[models.Model], pks: Iterable[Any], cache: BaseCache) -> Unlink:
    """What ``outbox.delete`` unlinks with for rows of ``model``: the keys it was given and
    every attribute key of those rows named in the model's name set."""
    pks = list(pks)

    def unlink(client: redis.Redis, stored: list[str]) -> int:
        set_key = backend.stored_key(attribute_names_key(model), cache)
        if cache.key_func is default_key_func and not _is_cluster(client):
            try:
                deleted, names = _one_round_trip(client, set_key, stored, model, pks, cache)
            except redis.exceptions.ResponseError:  # scripts refused (CROSSSLOT, disabled)
                deleted, names = _two_round_trips(client, set_key, stored, model, pks, cache)
        else:
            deleted, names = _two_round_trips(client, set_key, stored, model, pks, cache)
        for name in names:
            remember_attribute(model, name)
        return deleted

    return unlink


def _one_round_trip(
    client: redis.Redis,
    set_key: str,
    stored: list[str],
    model: type[models.Model],
    pks: list[Any],
    cache: BaseCache,
) -> tuple[int, list[str]]:
    global _script
    script = _script
    if script is None:
        script = _script = Script(client, _SCRIPT)
    prefixes = [backend.stored_key(keys.attribute_key_prefix(model, pk), cache) for pk in pks]
    # Bounded work per script call (P4): the calls go in one pipeline, one round trip.
    batch = max(1, int(conf.SCAN_COUNT))
    rows_per_call = max(1, batch // 16)
    calls = max(1, math.ceil(len(stored) / batch), math.ceil(len(prefixes) / rows_per_call))

    def build(pipe: Pipeline) -> None:
        for i in range(calls):
            named = stored[i * batch : (i + 1) * batch]
            rows = prefixes[i * rows_per_call : (i + 1) * rows_per_call]
            pipe.evalsha(script.sha, 1 + len(named), set_key, *named, *rows)

    found = backend.pipelined(client, script, build)
    names = [_text(name) for name in found[0][1]]
    return sum(int(deleted) for deleted, _names in found), names


def _two_round_trips(
    client: redis.Redis,
    set_key: str,
    stored: list[str],
    model: type[models.Model],
    pks: list[Any],
    cache: BaseCache,
) -> tuple[int, list[str]]:
    from cache_admin.invalidation.outbox import unlink

    names = sorted(_text(name) for name in client.smembers(set_key))  # type: ignore[union-attr]
    attribute_keys = [
        backend.stored_key(keys.attribute_key_prefix(model, pk) + name, cache)
        for pk in pks
        for name in names
    ]
    return unlink(client, list(dict.fromkeys([*stored, *attribute_keys]))), names


def _is_cluster(client: redis.Redis) -> bool:
    return isinstance(client, redis.cluster.RedisCluster)


def _text(name: bytes | str) -> str:
    return name.decode() if isinstance(name, bytes) else name
