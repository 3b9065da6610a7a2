"""The server page's figures (cache_admin.stats.activity): slow log, clients, top commands,
latency events, per node, bounded; a refused command leaves its part empty with the
server's answer."""

from __future__ import annotations

from typing import Any

import redis
from django.core.cache import caches

from cache_admin.nodes import node_name
from cache_admin.stats import clients, commands, slowlog
from cache_admin.stats.activity import server_activity
from cache_admin.testing import RedisServer
from tests.redis_fixtures import BUSY_SCRIPT


def test_slow_log_entries_are_cut_short(recording_server: redis.Redis) -> None:
    client = recording_server
    client.execute_command("SET", "k", "v" * 500)
    client.execute_command("MSET", *[f"key{i}" for i in range(20)])
    [activity] = server_activity()
    entries = {entry.command: entry for entry in activity.slow_log}
    long_value = entries["SET"].arguments[1]
    assert len(long_value) == slowlog.ARGUMENT_CHARS and long_value.endswith("…")
    mset = entries["MSET"]
    assert len(mset.arguments) == slowlog.ARGUMENTS and mset.more_arguments == 20 - 8
    assert activity.slow_log_length >= len(activity.slow_log) >= 3
    assert activity.slow_log[0].id > activity.slow_log[-1].id  # the newest first
    assert all(entry.client.startswith("127.0.0.1:") for entry in activity.slow_log)


def test_slow_log_reads_the_enterprise_layout_and_odd_bytes() -> None:
    # Redis Enterprise puts the command's complexity before the command.
    entry = slowlog._entry(
        [7, 1_700_000_000, 1500, b"O(N)", [b"GET", b"\xff\xfekey"], b"1.2.3.4:5", b""]
    )
    assert entry is not None
    assert entry.command == "GET" and entry.arguments == ("\\xff\\xfekey",)
    assert entry.microseconds == 1500 and entry.client == "1.2.3.4:5"
    assert slowlog._entry([1, 2]) is None


def test_clients_are_grouped_by_name_and_address(redis_url: str) -> None:
    named = [redis.Redis.from_url(redis_url) for _ in range(3)]
    for client in named:
        client.client_setname("worker")
    try:
        summary = clients.client_summary(named[0])
        workers = [g for g in summary.groups if g.name == "worker"]
        assert len(workers) == 1
        assert workers[0].count == 3 and workers[0].address == "127.0.0.1"
        assert workers[0].commands[0] in ("client|list", "client|setname")
        assert summary.total >= 3 and summary.groups_more == 0
        bounded = clients.client_summary(named[0], limit=1)
        assert len(bounded.groups) == 1 and bounded.groups_more == len(summary.groups) - 1
    finally:
        for client in named:
            client.close()


def test_top_commands_by_calls_and_by_time(redis_client: redis.Redis) -> None:
    redis_client.config_resetstat()
    for _ in range(30):
        redis_client.get("x")
    redis_client.eval(BUSY_SCRIPT, 0)
    top = commands.top_commands(redis_client, top=3)
    assert top.by_calls[0].name == "get" and top.by_calls[0].calls == 30
    assert top.by_time[0].name == "eval" and top.by_time[0].per_call > 1000
    assert len(top.by_calls) == len(top.by_time) == 3 <= top.total


def test_latency_events_and_threshold(recording_server: redis.Redis) -> None:
    recording_server.eval(BUSY_SCRIPT, 0)
    [activity] = server_activity()
    assert activity.latency_threshold == 1
    assert "command" in {event.event for event in activity.latency}
    assert all(event.max_ms >= event.latest_ms >= 1 for event in activity.latency)


def test_a_command_the_server_refuses_leaves_its_part_empty(settings: Any) -> None:
    with RedisServer(
        None, "--rename-command", "SLOWLOG", "", "--rename-command", "CONFIG", ""
    ) as server:
        settings.CACHES = {
            **settings.CACHES,
            "locked": {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": f"{server.url}/0"},
        }
        settings.CACHE_ADMIN = {**settings.CACHE_ADMIN, "CACHE_ALIAS": "locked"}
        try:
            [activity] = server_activity()
        finally:
            caches["locked"].close()
    assert set(activity.refused) == {"slow_log"}
    assert "unknown command" in activity.refused["slow_log"]
    assert activity.slow_log == [] and activity.latency_threshold is None
    assert activity.clients is not None and activity.commands is not None


def test_node_names() -> None:
    assert node_name(redis.Redis(host="10.0.0.5", port=7000)) == "10.0.0.5:7000"
    assert node_name(redis.Redis(unix_socket_path="/run/redis.sock")) == "/run/redis.sock"
