"""Send Zipf-distributed storefront traffic and print what the cache does for it.

Two passes over the same visitor model: one with the cache (after warming), then one
with ``X-Shop-Cache: off``, which serves the same pages from the same code without the
cache layer. Requests go through the test client in this process, or with ``--url`` over
HTTP to a running server. Hit rates come from ``cache_admin.counters`` (the numbers the
console shows, added up over every process); queries per request are the server's own
count of each request's statements (``X-Shop-Queries``).
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any
from urllib.parse import urlsplit

import redis
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from cache_admin import counters
from cache_admin.conf import conf
from cache_admin.stats import server_status
from cache_admin.warming import all_warmers, run_inline
from shop.loadgen import report
from shop.loadgen.runner import probe, run_pass
from shop.loadgen.traffic import Traffic

IN_PROCESS = "in-process (Django's test client)"
MAX_DURATION = 24 * 3600
MAX_CONCURRENCY = 64


def bounded(kind: type, low: float, high: float) -> Any:
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is not between {low:g} and {high:g}")
        return value

    parse.__name__ = kind.__name__
    return parse


def base_url(text: str) -> str:
    """``http://host[:port][/path]``, as typed by a user; anything else is refused."""
    try:
        parts = urlsplit(text.strip())
        port = parts.port
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a URL: {exc}") from None
    if parts.scheme != "http" or not parts.hostname:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an http:// URL of a server (e.g. http://127.0.0.1:8000)"
        )
    if parts.query or parts.fragment:
        raise argparse.ArgumentTypeError(f"{text!r}: give the site's root, without ? or #")
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    netloc = host if port is None else f"{host}:{port}"
    return f"http://{netloc}{parts.path.rstrip('/')}"


def settled_totals(timeout: float = 10.0) -> dict[str, counters.Counts]:
    """Counter totals once the server's processes have flushed what they counted.

    Each process flushes about once per ``STATS_FLUSH_INTERVAL``: read until two reads a
    flush interval apart agree (or ``timeout`` passes).
    """
    interval = max(0.1, float(conf.STATS_FLUSH_INTERVAL)) + 0.25
    deadline = time.monotonic() + timeout
    last = counters.totals()
    while time.monotonic() < deadline:
        time.sleep(interval)
        now = counters.totals()
        if now == last:
            return now
        last = now
    return last


def describe(duration: float | None, requests: int | None) -> str:
    return f"{requests} requests" if requests is not None else f"{duration:g} s"


def redis_stats() -> tuple[int, int] | None:
    """Keyspace hits and misses of the cache's server (summed over a cluster's primaries)."""
    status = server_status()
    if not status.connected:
        return None
    return status.keyspace_hits or 0, status.keyspace_misses or 0


class Command(BaseCommand):
    help = "Send Zipf-distributed traffic to the storefront; report hit rate, queries, latency."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--duration",
            type=bounded(float, 1, MAX_DURATION),
            default=30.0,
            help="seconds of traffic with the cache (default 30)",
        )
        parser.add_argument(
            "--bypass-duration",
            type=bounded(float, 0, MAX_DURATION),
            default=None,
            help="seconds with caching disabled (default: a third of "
            "--duration, at least 2; 0 skips that pass)",
        )
        parser.add_argument("--concurrency", type=bounded(int, 1, MAX_CONCURRENCY), default=4)
        parser.add_argument(
            "--zipf", type=bounded(float, 0.5, 3), default=1.1, help="Zipf exponent s (default 1.1)"
        )
        parser.add_argument(
            "--signed-in",
            type=bounded(float, 0, 1),
            default=0.3,
            help="share of requests from signed-in shoppers (default 0.3)",
        )
        parser.add_argument(
            "--requests",
            type=bounded(int, 1, 10_000_000),
            default=None,
            help="send this many requests with the cache instead of running for --duration",
        )
        parser.add_argument(
            "--bypass-requests",
            type=bounded(int, 0, 10_000_000),
            default=None,
            help="requests with caching disabled (default: a fifth of --requests; 0 skips)",
        )
        parser.add_argument(
            "--edit-every",
            type=bounded(int, 0, 10_000_000),
            default=2000,
            help="a staff edit of a popular product after every N requests (default 2000; 0: none)",
        )
        parser.add_argument(
            "--url",
            type=base_url,
            default=None,
            help="send the requests over HTTP to the server at this address (e.g. the demo's "
            "http://127.0.0.1:8000) instead of through Django's test client in this process; "
            "it must use the same Redis and database",
        )
        parser.add_argument("--seed", type=bounded(int, 0, 2**31), default=1)
        parser.add_argument("--no-warm", action="store_true", help="skip warming first")
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            traffic = Traffic(options["zipf"], options["signed_in"])
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        duration, requests = options["duration"], options["requests"]
        bypass_duration, bypass_requests = options["bypass_duration"], options["bypass_requests"]
        if requests is not None:
            duration = None
            if bypass_requests is None:
                bypass_requests = max(1, requests // 5)
        elif bypass_duration is None:
            bypass_duration = max(2.0, duration / 3)
        skip_bypass = bypass_requests == 0 or (bypass_requests is None and bypass_duration == 0)
        say = self.stderr.write if options["json"] else self.stdout.write
        url = options["url"]
        if url is not None and (problem := probe(url)):
            raise CommandError(problem)
        if not options["no_warm"]:
            for warmer in all_warmers():
                run = run_inline(warmer.name, trigger="loadgen")
                say(f"warmed {warmer.name}: {run.status}, {run.keys_written} keys")
        common = {"concurrency": options["concurrency"], "seed": options["seed"], "base_url": url}
        try:
            before, info_before = counters.totals(), redis_stats()
        except (redis.RedisError, OSError) as exc:
            raise CommandError(f"Redis at {settings.REDIS_URL} is not reachable: {exc}") from None
        say(f"sending traffic with the cache ({describe(duration, requests)}), {url or IN_PROCESS}")
        cached = run_pass(
            "cached",
            traffic,
            duration=duration,
            requests=requests,
            edit_every=options["edit_every"],
            **common,
        )
        # A server in other processes flushes its counters a moment later.
        after = counters.totals() if url is None else settled_totals()
        info_after = redis_stats()
        bypass = None
        if not skip_bypass:
            say(
                f"the same traffic, caching disabled ({describe(bypass_duration, bypass_requests)})"
            )
            bypass = run_pass(
                "bypass",
                traffic,
                duration=bypass_duration,
                requests=bypass_requests,
                bypass=True,
                **common,
            )
        out = self.build(options, traffic, cached, bypass, before, after, info_before, info_after)
        lookups = out["hit_rate"]["hits"] + out["hit_rate"]["misses"]
        if url is not None and lookups < out["cached"]["requests"]:
            # Every storefront page reads the cache at least once.
            say(
                f"Warning: the counters in the Redis at {settings.REDIS_URL} saw {lookups} "
                f"cache lookups for {out['cached']['requests']} requests: does the server at "
                f"{url} use the same Redis as this command?"
            )
        if options["json"]:
            self.stdout.write(json.dumps(out, indent=2, default=str))
        else:
            self.stdout.write("\n".join(report.render_text(out)))

    def build(
        self,
        options: dict[str, Any],
        traffic: Traffic,
        cached: Any,
        bypass: Any,
        before: Any,
        after: Any,
        info_before: Any,
        info_after: Any,
    ) -> dict[str, Any]:
        out: dict[str, Any] = {
            "config": {
                "duration": options["duration"] if options["requests"] is None else None,
                "requests": options["requests"],
                "concurrency": options["concurrency"],
                "zipf": options["zipf"],
                "signed_in_share": options["signed_in"],
                "edit_every": options["edit_every"],
                "seed": options["seed"],
                "products": len(traffic.product_slugs),
                "warmed": not options["no_warm"],
                "target": options["url"] or IN_PROCESS,
            },
            "cached": report.pass_figures(cached),
            "bypass": report.pass_figures(bypass) if bypass is not None else None,
            "hit_rate": report.hit_rates(report.delta(after, before)),
            "redis_hit_rate": None,
            "query_reduction": None,
        }
        if info_before and info_after:
            hits, misses = (a - b for a, b in zip(info_after, info_before, strict=True))
            out["redis_hit_rate"] = round(hits / (hits + misses), 4) if hits + misses else None
        if bypass is not None:
            with_cache = out["cached"]["queries_per_request"]
            without = out["bypass"]["queries_per_request"]
            if with_cache is not None and without is not None:
                # With no query at all per cached request, report against one query in the run.
                floor = 1 / max(1, out["cached"]["requests"])
                out["query_reduction"] = round(without / max(with_cache, floor), 1)
        return out
