"""The throwaway Redis Cluster of cache_admin.testing: made whole, and gone when stopped."""

from __future__ import annotations

import os
import shutil

import pytest
import redis
from redis.cluster import RedisCluster

from cache_admin.testing import RedisClusterServer
from cache_admin.testing.cluster import find_cli_binary

pytestmark = pytest.mark.cluster


def test_redis_cli_makes_clusters_of_three_primaries_or_more() -> None:
    small, large = RedisClusterServer(2, 1), RedisClusterServer(3, 0)
    assert small.cli is None and large.cli is not None
    small.stop()  # never started: their folders go
    large.stop()


@pytest.mark.parametrize("use_cli", [True, False], ids=["redis-cli", "commands"])
def test_a_cluster_starts_whole_and_stops_without_a_trace(use_cli: bool) -> None:
    cluster = RedisClusterServer(3, 1, use_cli=use_cli)
    # .ci/system-deps installs redis-cli with redis-server: the first way is really taken.
    assert (cluster.cli is not None) is use_cli
    with cluster:
        assert len(cluster.primaries()) == len(cluster.replicas()) == 3
        states = cluster.states()
        replicas = [state for state in states if state.primary_id is not None]
        primary_ids = {state.node_id for state in states if state.slots}
        assert {state.primary_id for state in replicas} == primary_ids  # one each
        client = RedisCluster.from_url(cluster.url)
        info = client.cluster_info()
        assert info["cluster_state"] == "ok" and int(info["cluster_slots_ok"]) == 16384
        assert len(client.get_nodes()) == 6  # the replicas are in CLUSTER SLOTS already
        client.mset_nonatomic({f"key:{n}": n for n in range(50)})
        assert client.mget_nonatomic([f"key:{n}" for n in range(50)])[49] == b"49"
        client.close()
        processes = [node.process for node in cluster.nodes]
        folders = [node.dir for node in cluster.nodes]
    assert all(process is not None and process.poll() is not None for process in processes)
    assert not any(os.path.exists(folder) for folder in folders)
    assert cluster.running() == []


def test_a_cluster_that_cannot_start_stops_every_node_it_started() -> None:
    cluster = RedisClusterServer(2, 0, "--no-such-option", "yes")
    with pytest.raises(RuntimeError, match="no-such-option"):
        cluster.start()
    assert cluster.running() == []


def test_a_node_killed_and_started_again_rejoins_empty() -> None:
    with RedisClusterServer(3, 0) as cluster:
        client = redis.cluster.RedisCluster.from_url(cluster.url)
        client.set("key", "value")
        node = cluster.node_for_slot(client.keyslot("key"))
        client.close()
        port = node.port
        node.kill()
        node.start()
        cluster.wait_until_ready()
        assert node.port == port  # the others know it by its ports
        assert cluster.node_for_slot(12539) is not None
        assert redis.Redis(port=node.port).dbsize() == 0


def test_the_cli_is_found_beside_the_server_first(tmp_path: os.PathLike[str]) -> None:
    server = os.path.join(tmp_path, "redis-server")
    beside = os.path.join(tmp_path, "valkey-cli")
    with open(beside, "w"):
        pass
    assert find_cli_binary(server) == beside
    assert find_cli_binary("/nowhere/redis-server") == shutil.which("redis-cli")
