"""The one place that reaches through Django's cache object to the raw Redis client.

Supports ``django_redis.cache.RedisCache`` (default and Sentinel clients), Django's
built-in ``django.core.cache.backends.redis.RedisCache``, the package's backends over
either (``cache_admin.backends``, a Redis Cluster among them) and django-valkey's
``ValkeyCache`` and ``ClusterValkeyCache``.

The raw client is a redis-py or valkey-py client of one server or of a whole cluster: the
two libraries share an API, and a cluster client routes each key's command to the node
that serves its hash slot. What runs per node (SCAN, INFO, DBSIZE, SLOWLOG) goes through
:func:`primary_clients` or :func:`nodes` (see ``cache_admin.nodes``).

What one cache hit needs (the cache, its client and breaker) is remembered per thread in
``cache_admin.current_cache``; stored and logical keys are ``cache_admin.stored_keys``.
"""

from __future__ import annotations

import threading
from typing import Any

import redis
from django.core.cache import BaseCache, caches
from django.core.cache.backends.base import InvalidCacheBackendError
from django.core.cache.backends.redis import RedisSerializer

from cache_admin import nodes as _nodes
from cache_admin import pickled_values
from cache_admin.breaker import ProbeUnavailable, set_probe
from cache_admin.client_errors import CLUSTER_SETUP_ERRORS
from cache_admin.client_errors import ERROR_REPLIES as ERROR_REPLIES
from cache_admin.client_errors import REDIS_ERRORS as REDIS_ERRORS
from cache_admin.client_errors import RESPONSE_ERRORS as RESPONSE_ERRORS
from cache_admin.conf import conf
from cache_admin.nodes import SLOTS as SLOTS
from cache_admin.nodes import Node as Node
from cache_admin.nodes import by_slot as by_slot
from cache_admin.nodes import is_cluster as is_cluster
from cache_admin.nodes import keyslot as keyslot
from cache_admin.nodes import queue_unlinks as queue_unlinks

DJANGO_REDIS = "django_redis"
DJANGO_BUILTIN = "django"
DJANGO_VALKEY = "django_valkey"
# Backends whose ``cache.client`` is an object with get_client(), encode() and decode().
_CLIENT_OBJECT_KINDS = (DJANGO_REDIS, DJANGO_VALKEY)

# The synchronous django-valkey backends (its asyncio ones have another client API).
_VALKEY_MODULES = ("django_valkey.cache", "django_valkey.cluster_cache.cache")

# With these (exactly these classes), a client's decoding of a pickle is pickle.loads
# itself. Named, not imported: django-valkey's modules read settings when imported.
_PLAIN_CODECS = {
    "django_redis.serializers.pickle.PickleSerializer",
    "django_redis.compressors.identity.IdentityCompressor",
    "django_valkey.serializers.pickle.PickleSerializer",
    "django_valkey.compressors.identity.IdentityCompressor",
}
_plain: dict[type, bool] = {}


def _is_plain(cls: type) -> bool:
    try:  # on the hit path: the name is built once per class
        return _plain[cls]
    except KeyError:
        found = _plain[cls] = f"{cls.__module__}.{cls.__qualname__}" in _PLAIN_CODECS
        return found


class NotRedisBackend(Exception):
    pass


class ClusterUnreachable(redis.exceptions.ConnectionError):
    """No client could be had: a cluster's topology could not be read (no node answered,
    or the slots are not all served), or the alias's breaker is open while it is tried."""


def alias() -> str:
    return conf.CACHE_ALIAS


_local = threading.local()


def get_cache(name: str | None = None) -> BaseCache:
    """``caches[name]`` (default: the configured alias), remembered per thread.

    ``caches[...]`` goes through an asgiref Local on every call, which is a noticeable part
    of a cache hit. The memo is tied to the handler's current Local: when CACHES changes
    (override_settings), Django installs a new one and the memo starts over.
    """
    name = name or alias()
    handler_local = caches._connections  # type: ignore[attr-defined]
    memo: tuple[object, dict[str, BaseCache]] | None = getattr(_local, "memo", None)
    if memo is None or memo[0] is not handler_local:
        memo = (handler_local, {})
        _local.memo = memo
    found = memo[1].get(name)
    if found is None:
        found = memo[1][name] = caches[name]
    return found


_kinds: dict[type, str | None] = {}


def kind(cache: BaseCache) -> str | None:
    cls = type(cache)
    try:  # on the hit path: the MRO walk is done once per class
        return _kinds[cls]
    except KeyError:
        return kind_of(cls)


def kind_of(cls: type) -> str | None:
    """DJANGO_REDIS or DJANGO_BUILTIN for a backend class or a subclass of one, else None."""
    found: str | None = None
    for base in cls.__mro__:
        if base.__module__ in _VALKEY_MODULES:
            found = DJANGO_VALKEY
            break
        if base.__module__.startswith("django_redis"):
            found = DJANGO_REDIS
            break
        if base.__module__ == "django.core.cache.backends.redis":
            found = DJANGO_BUILTIN
            break
    _kinds[cls] = found
    return found


def check_alias(name: str | None = None) -> str | None:
    """A human-readable problem with the configured cache, or None when it is usable."""
    name = name or alias()
    try:
        cache = caches[name]
    except InvalidCacheBackendError:
        return f"CACHES has no alias {name!r}"
    except Exception as exc:  # a backend that fails to construct
        return f"cache {name!r} cannot be created: {exc}"
    if kind(cache) is None:
        return f"cache {name!r} uses {type(cache).__module__}.{type(cache).__name__}, not Redis"
    return None


def client(cache: BaseCache | None = None, *, write: bool = True) -> redis.Redis:
    cache = cache or get_cache()
    found = kind(cache)
    try:
        if found in _CLIENT_OBJECT_KINDS:
            return cache.client.get_client(write=write)  # type: ignore[attr-defined,no-any-return]
        if found == DJANGO_BUILTIN:
            return cache._cache.get_client(write=write)  # type: ignore[attr-defined,no-any-return]
    except CLUSTER_SETUP_ERRORS as exc:  # a cluster client is made from the live topology
        raise ClusterUnreachable(f"the cluster's topology could not be read: {exc}") from exc
    raise NotRedisBackend(check_alias() or "not a Redis cache")


def primary_clients(cache: BaseCache | None = None) -> list[redis.Redis]:
    """One client per primary node (the client itself for one server): SCAN, INFO and
    DBSIZE run on each and are merged."""
    return _nodes.primary_clients(client(cache))


def nodes(cache: BaseCache | None = None) -> list[Node]:
    """Every node, primaries first, with its role (and on a cluster its slots, flags and
    link state, from CLUSTER NODES: one round trip), each with a client of its own."""
    return _nodes.nodes(client(cache))


def node_for_key(stored: str | bytes, cache: BaseCache | None = None) -> Node:
    """The primary that serves a stored key (from the client's slot map, no round trip)."""
    return _nodes.node_for_key(client(cache), stored)


def subscriber(cache: BaseCache | None = None) -> Any:
    """A pub/sub object of the cache's server. On a cluster it connects to a random
    primary: a PUBLISH reaches every node, and the subscriptions of many processes spread."""
    return _nodes.subscriber(client(cache))


def encode(value: Any, cache: BaseCache | None = None) -> bytes:
    """Serialize exactly as the backend does, so ``cache.get`` reads what we write."""
    cache = cache or get_cache()
    found = kind(cache)
    if found in _CLIENT_OBJECT_KINDS:
        data = cache.client.encode(value)  # type: ignore[attr-defined]
    elif found == DJANGO_BUILTIN:
        data = cache._cache._serializer.dumps(value)  # type: ignore[attr-defined]
    else:
        raise NotRedisBackend(check_alias() or "not a Redis cache")
    if isinstance(data, (int, float)):  # stored as digits, as the client library sends them
        return repr(data).encode()
    return bytes(data)


def decode(data: bytes, cache: BaseCache | None = None) -> Any:
    """Deserialize exactly as the backend does."""
    cache = cache or get_cache()
    # Both backends first try int(data), which fails on every pickle (it starts with the
    # PROTO opcode 0x80) and, for a value of a few hundred bytes, fails more slowly than
    # the unpickling itself (it formats the bytes into its message). With the default
    # serializer and no compression the result is pickle.loads(data) either way
    # (``pickled_values``: the same objects, quicker for model instances).
    pickled = data[:1] == b"\x80"
    found = kind(cache)
    if found in _CLIENT_OBJECT_KINDS:
        client = cache.client  # type: ignore[attr-defined]
        if (
            pickled
            and _is_plain(type(getattr(client, "_serializer", None)))
            and _is_plain(type(getattr(client, "_compressor", None)))
        ):
            return pickled_values.loads(data)
        return client.decode(data)
    serializer = cache._cache._serializer  # type: ignore[attr-defined]
    if pickled and type(serializer) is RedisSerializer:
        return pickled_values.loads(data)
    return serializer.loads(data)


def default_timeout(cache: BaseCache | None = None) -> int | None:
    timeout = (cache or get_cache()).default_timeout
    return None if timeout is None else int(timeout)


def text_hash(key: str) -> dict[str, str]:
    """A hash's fields and values as text (the client may answer bytes); {} when absent."""
    raw = client().hgetall(key)
    return {
        (k.decode() if isinstance(k, bytes) else str(k)): (
            v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)
        )
        for k, v in raw.items()
    }


def probe(name: str) -> None:
    """Whether the server of cache ``name`` answers (the breaker's probe threads call this):
    PING, or on a cluster CLUSTER INFO on every primary of a freshly read slot map, which
    must say the cluster is ok (a node answers PING while its cluster refuses commands with
    CLUSTERDOWN)."""
    try:
        cache = caches[name]
    except Exception as exc:  # no such alias (any more): nothing to probe
        raise ProbeUnavailable(str(exc)) from exc
    if kind(cache) is None:
        raise ProbeUnavailable(f"cache {name!r} is not a Redis cache")
    try:
        found = client(cache)
        if not is_cluster(found):
            found.ping()
            return
        try:  # the primaries as the cluster sees them now: a replica may have taken over
            _nodes.refresh_topology(found)
        except CLUSTER_SETUP_ERRORS as exc:
            raise ClusterUnreachable(f"the cluster's topology could not be read: {exc}") from exc
        for node in _nodes.primary_clients(found):
            state = node.cluster("info").get("cluster_state")
            if state != "ok":
                raise redis.exceptions.ClusterDownError(f"CLUSTERDOWN: cluster_state is {state}")
    except REDIS_ERRORS:
        raise
    except ERROR_REPLIES:
        pass  # an error reply (NOAUTH...): the server is there; callers will see the error


set_probe(probe)
