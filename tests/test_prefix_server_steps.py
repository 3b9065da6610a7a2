"""Prefix deletion's server-side steps (one script call per step) and the fallback to the
client-side loop where a node refuses scripts."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import redis
from django.core.cache import caches

from cache_admin import CacheInvalidator, stored_keys
from cache_admin.invalidation.prefix import iter_delete_prefix
from cache_admin.testing import populate
from tests import redis_commands

USER = "prefix-steps"


def _stored(server_alias: str, logical: str) -> bytes:
    return stored_keys.stored_key(logical, caches[server_alias]).encode()


def _scripts(client: redis.Redis) -> tuple[int, int]:
    """EVALSHA calls run and refused so far."""
    row = client.info("commandstats").get("cmdstat_evalsha", {})
    return int(row.get("calls", 0)), int(row.get("rejected_calls", 0))


@pytest.fixture
def as_user(server_alias: str, redis_client: redis.Redis, settings: Any) -> Iterator[None]:
    """The cache alias connects as its own Redis user, which may run everything (the test
    takes scripts away from it with ACL SETUSER)."""
    redis_client.acl_setuser(
        USER, enabled=True, passwords=["+pw"], keys=["*"], channels=["*"], commands=["+@all"]
    )
    location = settings.CACHES[server_alias]["LOCATION"].replace("redis://", f"redis://{USER}:pw@")
    settings.CACHES = {
        **settings.CACHES,
        server_alias: {**settings.CACHES[server_alias], "LOCATION": location},
    }
    yield
    redis_client.acl_deluser(USER)


def _refuse_scripts(client: redis.Redis) -> None:
    client.acl_setuser(USER, enabled=True, commands=["-@scripting"])


def test_keys_stay_in_redis(server_alias: str, redis_client: redis.Redis) -> None:
    # The client receives four numbers per step, not the keys: far fewer bytes than the
    # 5,000 keys of about 30 bytes each that a client-side loop receives and sends back.
    populate(redis_client, _stored(server_alias, "product:").decode(), 5000)
    _fill_others(redis_client, server_alias)
    sent_before = int(redis_client.info("stats")["total_net_output_bytes"])
    calls_before, _ = _scripts(redis_client)
    assert CacheInvalidator.invalidate_by_prefix("product:") == 5000
    sent = int(redis_client.info("stats")["total_net_output_bytes"]) - sent_before
    assert _scripts(redis_client)[0] > calls_before
    assert sent < 20_000
    _assert_others_left(redis_client, server_alias)


@pytest.mark.usefixtures("as_user")
def test_a_node_that_refuses_scripts_gets_the_client_loop(
    server_alias: str, redis_client: redis.Redis
) -> None:
    _refuse_scripts(redis_client)
    site = stored_keys.site_prefix(caches[server_alias]).encode()
    odd = [site + b"a*b:\xff\xfe\x00end", site + b"a*b:[x]\\?"]
    for key in odd:
        redis_client.set(key, b"v")
    populate(redis_client, _stored(server_alias, "a*b:").decode(), 2500)
    _fill_others(redis_client, server_alias)
    calls_before, refused_before = _scripts(redis_client)

    assert CacheInvalidator.invalidate_by_prefix("a*b:", dry_run=True) == 2502
    assert CacheInvalidator.invalidate_by_prefix("a*b:") == 2502
    # "cachex", not the package's own keys
    assert CacheInvalidator.invalidate_by_prefix("cache") == 1

    calls, refused = _scripts(redis_client)
    assert calls == calls_before and refused >= refused_before + 3
    assert redis_client.exists(*odd) == 0
    _assert_others_left(redis_client, server_alias)


@pytest.mark.usefixtures("as_user")
@pytest.mark.parametrize("dry_run", [False, True], ids=["delete", "dry-run"])
def test_a_refusal_mid_walk_goes_on_from_the_cursor_reached(
    server_alias: str, redis_client: redis.Redis, settings: Any, dry_run: bool
) -> None:
    settings.CACHE_ADMIN = {**settings.CACHE_ADMIN, "PREFIX_STEP_MS": 1}
    populate(redis_client, _stored(server_alias, "product:").decode(), 20_000)
    _fill_others(redis_client, server_alias)
    steps = iter_delete_prefix("product:", dry_run=dry_run)
    for step in steps:  # about half the walk by script calls
        if step.matched >= 10_000:
            break
    assert not step.done, "one step walked everything: nothing left to go on"
    _refuse_scripts(redis_client)
    last = list(steps)[-1]
    assert _scripts(redis_client)[1] >= 1
    # Every key once. A dry run deletes nothing, so a client loop that began again from
    # cursor 0 would count the first half twice.
    assert last.done and last.matched == 20_000
    assert last.deleted == (0 if dry_run else 20_000)
    assert redis_client.exists(_stored(server_alias, "product:0")) == (1 if dry_run else 0)
    _assert_others_left(redis_client, server_alias)


def test_keep_narrows_in_the_client(server_alias: str, redis_client: redis.Redis) -> None:
    # ``keep`` is Python: it needs each key, so the walk is the client loop.
    _fill(redis_client, server_alias, "product:1:keep", "product:2:drop", "product:3:drop")
    calls_before, _ = _scripts(redis_client)
    done = list(iter_delete_prefix("product:", keep=lambda rest: rest.endswith(b"drop")))[-1]
    assert (done.matched, done.deleted) == (2, 2)
    assert redis_client.exists(_stored(server_alias, "product:1:keep")) == 1
    assert _scripts(redis_client)[0] == calls_before


def test_each_call_keeps_to_its_time_budget(
    server_alias: str, redis_client: redis.Redis, settings: Any
) -> None:
    # SCAN_COUNT asks for 100,000 keys per step, more than there are: one such step
    # would walk and delete all 50,000 keys in one command of tens of milliseconds. The
    # steps are sized to PREFIX_STEP_MS (1 ms) instead.
    settings.CACHE_ADMIN = {**settings.CACHE_ADMIN, "SCAN_COUNT": 100_000, "PREFIX_STEP_MS": 1}
    populate(redis_client, _stored(server_alias, "product:").decode(), 50_000)
    redis_client.config_resetstat()
    assert CacheInvalidator.invalidate_by_prefix("product:") == 50_000
    row = redis_client.info("commandstats")["cmdstat_evalsha"]
    assert int(row["calls"]) >= 10
    # The mean leaves room for a host that takes Redis off the CPU now and then; one call
    # walking everything would take 20 ms and more.
    assert float(row["usec_per_call"]) < 5000


def test_dry_run_counts_in_redis(server_alias: str, redis_client: redis.Redis) -> None:
    populate(redis_client, _stored(server_alias, "product:").decode(), 3000)
    _fill_others(redis_client, server_alias)
    calls_before, _ = _scripts(redis_client)
    unlinks_before = redis_commands.calls(redis_client, "unlink")
    assert CacheInvalidator.invalidate_by_prefix("product:", dry_run=True) == 3000
    assert _scripts(redis_client)[0] > calls_before
    assert redis_commands.calls(redis_client, "unlink") == unlinks_before
    assert redis_client.exists(_stored(server_alias, "product:0")) == 1


def _fill(client: redis.Redis, server_alias: str, *logical: str) -> None:
    for key in logical:
        client.set(_stored(server_alias, key), b"v")


def _fill_others(client: redis.Redis, server_alias: str) -> None:
    _fill(client, server_alias, "category:1", "productive", "cache_admin:stats:total", "cachex")
    client.set(b"product:1", b"unprefixed")
    caches["neighbour"].set("product:1", "theirs")


def _assert_others_left(client: redis.Redis, server_alias: str) -> None:
    for logical in ("category:1", "productive", "cache_admin:stats:total"):
        assert client.exists(_stored(server_alias, logical)) == 1, logical
    assert client.get(b"product:1") == b"unprefixed"
    assert caches["neighbour"].get("product:1") == "theirs"  # S2
