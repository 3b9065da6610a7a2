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
from collections.abc import Iterable
from typing import Any

import redis
from django.core.cache import BaseCache
from django.core.cache.backends.base import default_key_func
from django.db import models
from redis.client import Pipeline

from cache_admin import backend, keys, stored_keys
from cache_admin.conf import conf
from cache_admin.invalidation.outbox import unlink
from cache_admin.invalidation.registrations import attribute_names_key, remember_attribute
from cache_admin.lua import LuaScript, pipelined

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
_script = LuaScript(_SCRIPT)


class RowDeleter:
    """What ``outbox.delete`` unlinks with for rows of ``model`` (called with the client and
    the stored keys it was given): those keys and every attribute key of the rows named in
    the model's name set. Answers how many keys it deleted."""

    def __init__(self, model: type[models.Model], pks: Iterable[Any], cache: BaseCache) -> None:
        self.model = model
        self.pks = list(pks)
        self.cache = cache
        self.names_key = stored_keys.stored_key(attribute_names_key(model), cache)

    def __call__(self, client: redis.Redis, stored: list[str]) -> int:
        if self.cache.key_func is default_key_func and not backend.is_cluster(client):
            try:
                deleted, names = self.one_round_trip(client, stored)
            except backend.RESPONSE_ERRORS:  # scripts refused (CROSSSLOT, disabled)
                deleted, names = self.two_round_trips(client, stored)
        else:
            deleted, names = self.two_round_trips(client, stored)
        for name in names:
            remember_attribute(self.model, name)
        return deleted

    def row_prefix(self, pk: Any) -> str:
        return stored_keys.stored_key(keys.attribute_key_prefix(self.model, pk), self.cache)

    def one_round_trip(self, client: redis.Redis, stored: list[str]) -> tuple[int, list[str]]:
        prefixes = [self.row_prefix(pk) for pk in self.pks]
        # Bounded work per script call (P4): the calls go in one pipeline, one round trip.
        batch = max(1, int(conf.SCAN_COUNT))
        rows_per_call = max(1, batch // 16)
        calls = max(1, math.ceil(len(stored) / batch), math.ceil(len(prefixes) / rows_per_call))

        def build(pipe: Pipeline) -> None:
            for i in range(calls):
                named = stored[i * batch : (i + 1) * batch]
                rows = prefixes[i * rows_per_call : (i + 1) * rows_per_call]
                _script.queue(pipe, [self.names_key, *named], rows)

        found = pipelined(client, _script, build)
        names = [_text(name) for name in found[0][1]]
        return sum(int(deleted) for deleted, _names in found), names

    def two_round_trips(self, client: redis.Redis, stored: list[str]) -> tuple[int, list[str]]:
        found = client.smembers(self.names_key)
        names = sorted(_text(name) for name in found)
        # The keys built by the cache's own key function, one by one.
        attribute_keys = [
            stored_keys.stored_key(keys.attribute_key_prefix(self.model, pk) + name, self.cache)
            for pk in self.pks
            for name in names
        ]
        return unlink(client, list(dict.fromkeys([*stored, *attribute_keys]))), names


def _text(name: bytes | str) -> str:
    return name.decode() if isinstance(name, bytes) else name
