"""Redis Cluster for Django's built-in backend and for django-redis, over redis-py's
``RedisCluster``, behind the alias's breaker like the package's other backends (R1).

Django's built-in backend has no cluster client and django-redis has none either; these
give them one. ``LOCATION`` lists one or more nodes of the cluster (any role: the client
learns the rest from them), comma-separated; OPTIONS are the same as for one server.

Django's built-in flavour::

    CACHES = {"default": {
        "BACKEND": "cache_admin.backends.cluster.RedisClusterCache",
        "LOCATION": "redis://10.0.0.1:6379,redis://10.0.0.2:6379",
        "OPTIONS": {"socket_timeout": 1, "socket_connect_timeout": 1},
    }}

django-redis's flavour (its API too: ``ttl``, ``expire``, ``delete_pattern``, ``lock``...)::

    CACHES = {"default": {
        "BACKEND": "cache_admin.backends.django_redis.RedisCache",
        "LOCATION": "redis://10.0.0.1:6379",
        "OPTIONS": {
            "CLIENT_CLASS": "cache_admin.backends.cluster.ClusterClient",
            "SOCKET_TIMEOUT": 1, "SOCKET_CONNECT_TIMEOUT": 1,
        },
    }}

A key's command goes to the node that serves its hash slot; ``get_many``, ``set_many``,
``delete_many`` and ``clear`` split their work by node. Commands over several keys that
Redis runs atomically (``MGET`` aside, which is split) must keep their keys in one slot
(a ``{hash tag}``), as on any cluster. One ``RedisCluster`` per configuration serves every
thread of the process: it knows the topology and follows MOVED and ASK redirections.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from typing import Any

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient
from django.core.exceptions import ImproperlyConfigured
from django_redis.client import DefaultClient
from redis.backoff import ExponentialWithJitterBackoff
from redis.cluster import ClusterNode, RedisCluster
from redis.retry import Retry

from cache_admin.backends.fail_open import FailOpenCache

__all__ = ["ClusterClient", "RedisClusterCache", "cluster_client"]

_clients: dict[tuple[tuple[str, ...], str], RedisCluster] = {}
_lock = threading.Lock()


def retry() -> Retry:
    """The cluster client's retry unless OPTIONS give one: a command that met a connection
    error is sent once more, after a topology refresh (a failover that is over by then
    costs nothing), within a fraction of a second. redis-py's own default retries ten
    times with a backoff of up to a second: seconds per call against a node that is
    down, paid by every request until the breaker opens."""
    return Retry(ExponentialWithJitterBackoff(base=0.05, cap=0.2), retries=1)


def cluster_client(locations: Iterable[str], **options: Any) -> RedisCluster:
    """The process's one ``RedisCluster`` for these nodes and options (made on first use:
    it reads the topology from the first node that answers)."""
    servers = tuple(location.strip() for location in locations if location.strip())
    if not servers:
        raise ImproperlyConfigured("A Redis Cluster cache needs at least one node in LOCATION.")
    key = (servers, repr(sorted(options.items())))
    found = _clients.get(key)
    if found is not None:
        return found
    with _lock:
        found = _clients.get(key)
        if found is None:
            others = [_node(server) for server in servers[1:]]
            options.setdefault("retry", retry())
            found = _clients[key] = RedisCluster(url=servers[0], startup_nodes=others, **options)
    return found


def _node(location: str) -> ClusterNode:
    # The first location carries the credentials and options; the others add addresses.
    address = location.split("://", 1)[-1].rsplit("@", 1)[-1].split("/", 1)[0]
    host, _, port = address.rpartition(":")
    return ClusterNode(host or address, int(port) if host else 6379)  # type: ignore[no-untyped-call]


class _BuiltinClusterClient(RedisCacheClient):
    """Django's ``RedisCacheClient`` with a ``RedisCluster`` instead of a pool per server."""

    # Set by RedisCacheClient.__init__ (not in its type stubs).
    _servers: list[str]
    _serializer: Any
    _pool_options: dict[str, Any]

    def __init__(self, servers: list[str], **options: Any) -> None:
        options.pop("pool_class", None)  # one pool per node, made by RedisCluster
        super().__init__(servers, **options)
        self._cluster_options = dict(self._pool_options)
        self._cluster_options.pop("parser_class", None)

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        return cluster_client(self._servers, **self._cluster_options)

    def get_many(self, keys: Iterable[Any]) -> dict[Any, Any]:
        keys = list(keys)
        found = self.get_client(None).mget_nonatomic(keys)  # MGET per slot
        loads = self._serializer.loads
        return {
            key: loads(value) for key, value in zip(keys, found, strict=True) if value is not None
        }

    def set_many(self, data: Mapping[Any, Any], timeout: Any) -> None:
        # A SET per key (MSET needs one slot), sent to each node in one round trip.
        pipe = self.get_client(None, write=True).pipeline(transaction=False)
        for key, value in data.items():
            pipe.set(key, self._serializer.dumps(value), ex=timeout)
        pipe.execute()

    def clear(self) -> bool:
        # FLUSHDB on every primary: the whole database, as Django's clear() does.
        return bool(self.get_client(None, write=True).flushdb(target_nodes=RedisCluster.PRIMARIES))


class RedisClusterCache(FailOpenCache, DjangoRedisCache):
    """Django's built-in Redis backend on a Redis Cluster, behind the alias's breaker."""

    def __init__(self, server: Any, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = _BuiltinClusterClient


class ClusterClient(DefaultClient):
    """A django-redis ``CLIENT_CLASS`` whose raw client is a ``RedisCluster``."""

    def get_next_client_index(
        self, write: bool = True, tried: list[int] | None = None, **kwargs: Any
    ) -> int:
        return 0  # every LOCATION is a startup node of the one cluster client

    def connect(self, index: int = 0) -> RedisCluster:
        params = self.connection_factory.make_connection_params(self._server[0])
        params.pop("url")
        params.pop("parser_class", None)
        # What django-redis gives its client class (a ``retry`` among them).
        params.update(self._options.get("REDIS_CLIENT_KWARGS", {}))
        return cluster_client(self._server, **params)

    def disconnect(self, index: int = 0, client: Any = None) -> None:
        found = client if client is not None else self._clients[index]
        if found is not None:
            found.disconnect_connection_pools()

    def get_many(
        self, keys: Iterable[Any], version: int | None = None, client: Any = None
    ) -> dict[Any, Any]:
        keys = list(keys)
        if not keys:
            return {}
        client = client or self.get_client(write=False)
        stored = [self.make_key(key, version=version) for key in keys]
        found = client.mget_nonatomic(stored)  # MGET per slot
        return {
            key: self.decode(value)
            for key, value in zip(keys, found, strict=True)
            if value is not None
        }

    def keys(self, search: str, version: int | None = None, client: Any = None) -> list[Any]:
        client = client or self.get_client(write=False)
        pattern = self.make_pattern(search, version=version)
        found = client.keys(pattern, target_nodes=RedisCluster.PRIMARIES)  # every primary
        return [self.reverse_key(key.decode() if isinstance(key, bytes) else key) for key in found]
