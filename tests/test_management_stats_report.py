"""The lines ``cache_stats`` prints, for the server figures the live tests cannot produce on
demand (a maxmemory limit, no fragmentation figure, a day of uptime, unknown counts)."""

from __future__ import annotations

from datetime import datetime, timezone

from cache_admin.counters import Counts
from cache_admin.management import stats_report
from cache_admin.stats import ServerStatus, TypeRow
from cache_admin.types import CacheType


def plain(text: str, level: str | None) -> str:
    return text


def test_sizes_durations_and_rates_read_as_people_write_them() -> None:
    assert [stats_report.size(n) for n in (None, 512, 2048, 5 * 1024**3, 3 * 1024**5)] == [
        "-",
        "512 B",
        "2.0 KB",
        "5.0 GB",
        "3072.0 TB",
    ]
    assert [stats_report.duration(s) for s in (None, 3660, 90061)] == ["-", "1h 1m", "1d 1h 1m"]
    assert stats_report.percent(None) == "-"
    assert stats_report.percent(0.9234) == "92.3%"


def test_a_limited_server_and_a_type_with_unknown_counts() -> None:
    server = ServerStatus(
        connected=True,
        version="7.2.4",
        uptime_seconds=90061,
        used_memory=512 * 1024**2,
        maxmemory=1024**3,
        eviction_policy=None,
        keys_per_db={},
        nodes=3,
        keyspace_hits=0,
        keyspace_misses=0,
    )
    row = TypeRow(
        cache_type=CacheType("cart", "Cart data", "cart:", 1800),
        default_ttl=1800,
        override=None,
        effective_ttl=1800,
        recent=None,
        hour=Counts(hits=9, misses=1),
        key_count=None,
        key_count_exact=False,
        hints=(),
    )
    taken = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    lines = stats_report.lines(stats_report.Snapshot(taken, server, [row]), plain)
    assert lines[0] == "2026-01-02 03:04:05 UTC  Redis 7.2.4 (3 nodes), up 1d 1h 1m"
    assert lines[1] == "Memory: 512.0 MB used of 1.0 GB (50.0%)"
    assert lines[2].startswith("Keys: 0 (empty);")
    assert lines[3] == "Hit rate (server keyspace): - (no lookups yet)"
    cart = lines[6].split()
    assert cart[:5] == ["Cart", "data", "cart:", "1800", "-"]
    assert cart[5:] == ["-", "-", "-", "9", "1", "90.0%"]
    assert lines[7].split()[-3:] == ["9", "1", "90.0%"]


def test_an_unreachable_server_is_one_line() -> None:
    taken = datetime(2026, 1, 2, tzinfo=timezone.utc)
    snap = stats_report.Snapshot(taken, ServerStatus(connected=False, error="refused"), [])
    assert stats_report.lines(snap, plain) == [
        "2026-01-02 00:00:00 UTC  Redis is unreachable: refused"
    ]
