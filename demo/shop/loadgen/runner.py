"""Send the visitor model's requests to the storefront, in threads.

Two ways to reach it. In-process (the default), requests go through Django's test client:
every middleware, the session and auth layers and the templates run in this process,
against the configured database and Redis. Over HTTP (``--url``), they go to a running
server, the demo's web process for instance, one connection per request. Either way the
database queries of a request are the server's count, read from the response's
``X-Shop-Queries`` header (``shop.measure``).
"""

from __future__ import annotations

import http.client
import itertools
import random
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from http.cookies import SimpleCookie
from typing import Protocol
from urllib.parse import urlsplit

from django.contrib.auth import get_user_model
from django.db import connections, transaction
from django.test import Client

from shop.bypass import HEADER as BYPASS_HEADER
from shop.catalogue_data import SHOPPERS
from shop.loadgen.traffic import Traffic
from shop.measure import HEADER as QUERIES_HEADER
from shop.models import Product

HOST = "localhost"
HTTP_TIMEOUT = 30.0
NO_ANSWER = 0  # the status recorded when the server did not answer at all


@dataclass(frozen=True)
class Sample:
    kind: str
    status: int
    seconds: float
    queries: int | None


@dataclass
class PassResult:
    name: str
    wall_seconds: float = 0.0
    samples: list[Sample] = field(default_factory=list)
    edits: int = 0


def _queries(value: str | None) -> int | None:
    """The server's count, or None when it does not report one."""
    return int(value) if value is not None and value.isdigit() else None


def _shopper(index: int) -> object | None:
    return get_user_model().objects.filter(username=SHOPPERS[index % len(SHOPPERS)]).first()


class Storefront(Protocol):
    def get(self, path: str, signed_in: bool) -> tuple[int, int | None]:
        """Send one GET; answer its status and the queries the server ran for it."""


class InProcessStorefront:
    """Django's test client: the site's whole request cycle, in this process."""

    def __init__(self, index: int, bypass: bool) -> None:
        self.anonymous = Client(HTTP_HOST=HOST, raise_request_exception=False)
        self.signed_in = Client(HTTP_HOST=HOST, raise_request_exception=False)
        if (user := _shopper(index)) is not None:
            self.signed_in.force_login(user)  # type: ignore[arg-type]
        self.extra = {BYPASS_HEADER: "off"} if bypass else {}

    def get(self, path: str, signed_in: bool) -> tuple[int, int | None]:
        client = self.signed_in if signed_in else self.anonymous
        response = client.get(path, **self.extra)  # type: ignore[arg-type]
        return response.status_code, _queries(response.headers.get(QUERIES_HEADER))


def http_get(
    base_url: str, path: str, headers: dict[str, str], timeout: float
) -> http.client.HTTPResponse:
    """One GET on a connection of its own (read whole, then closed); raises OSError or
    HTTPException when the server does not answer."""
    parts = urlsplit(base_url)
    connection = http.client.HTTPConnection(
        parts.hostname or "127.0.0.1", parts.port or 80, timeout=timeout
    )
    try:
        connection.request(
            "GET", parts.path.rstrip("/") + path, headers={"Host": parts.netloc, **headers}
        )
        response = connection.getresponse()
        response.read()
        return response
    finally:
        connection.close()


class HttpStorefront:
    """A running server at ``base_url``; each visitor keeps its cookies like a browser."""

    def __init__(self, base_url: str, index: int, bypass: bool) -> None:
        self.base_url = base_url
        self.headers: dict[str, str] = {}
        if bypass:
            self.headers[BYPASS_HEADER.removeprefix("HTTP_").replace("_", "-")] = "off"
        self.jars: dict[bool, dict[str, str]] = {False: {}, True: {}}
        if (user := _shopper(index)) is not None:
            # The session is written through the site's session engine (the shared database
            # and cache), so the server reads it as a signed-in shopper's.
            client = Client(HTTP_HOST=HOST)
            client.force_login(user)  # type: ignore[arg-type]
            self.jars[True] = {name: morsel.value for name, morsel in client.cookies.items()}

    def get(self, path: str, signed_in: bool) -> tuple[int, int | None]:
        jar = self.jars[signed_in]
        headers = dict(self.headers)
        if jar:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in jar.items())
        try:
            response = http_get(self.base_url, path, headers, HTTP_TIMEOUT)
        except (OSError, http.client.HTTPException):
            return NO_ANSWER, None
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                if morsel["max-age"] == "0":
                    jar.pop(name, None)
                else:
                    jar[name] = morsel.value
        return response.status, _queries(response.getheader(QUERIES_HEADER))


def storefront(base_url: str | None, index: int, bypass: bool) -> Storefront:
    if base_url is None:
        return InProcessStorefront(index, bypass)
    return HttpStorefront(base_url, index, bypass)


def probe(base_url: str) -> str | None:
    """Why the server at ``base_url`` cannot take the traffic, or None when it answers."""
    try:
        response = http_get(base_url, "/", {}, timeout=5)
    except (OSError, http.client.HTTPException) as exc:
        return f"no storefront answers at {base_url}: {exc or type(exc).__name__}"
    if response.status >= 400:
        return f"the storefront at {base_url} answers {response.status} {response.reason} for /"
    return None


@dataclass
class Plan:
    """When a pass ends (a duration or a number of requests) and how often staff edit."""

    duration: float | None = None
    requests: int | None = None
    edit_every: int = 0
    deadline: float = float("inf")
    tickets: Iterator[int] = field(default_factory=itertools.count)
    edits: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_ticket(self) -> int | None:
        with self.lock:
            ticket = next(self.tickets)
        if self.requests is not None and ticket >= self.requests:
            return None
        if time.monotonic() >= self.deadline:
            return None
        return ticket

    def edit_due(self, ticket: int) -> bool:
        return self.edit_every > 0 and ticket % self.edit_every == self.edit_every - 1


def _edit(traffic: Traffic, rng: random.Random) -> bool:
    """A staff member changes a popular product's price; the signals invalidate."""
    product = Product.objects.filter(slug=traffic.product_slug(rng)).first()
    if product is None:
        return False
    with transaction.atomic():
        cents = Decimal(rng.choice([-100, -50, 50, 100])) / 100
        product.price = max(Decimal("1.00"), product.price + cents)
        product.save(update_fields=["price", "updated_at"])
    return True


def _visit_loop(
    index: int,
    traffic: Traffic,
    seed: int,
    target: tuple[str | None, bool],
    plan: Plan,
    start: threading.Barrier,
    out: list[Sample],
) -> None:
    base_url, bypass = target
    try:
        try:
            rng = random.Random(seed * 1000 + index)
            shop = storefront(base_url, index, bypass)
        except BaseException:
            start.abort()  # the others must not wait for this thread
            raise
        start.wait()
        while (ticket := plan.next_ticket()) is not None:
            visit = traffic.next(rng)
            began = time.perf_counter()
            status, queries = shop.get(visit.path, visit.signed_in)
            out.append(Sample(visit.kind, status, time.perf_counter() - began, queries))
            if plan.edit_due(ticket) and _edit(traffic, random.Random(seed + ticket)):
                with plan.lock:
                    plan.edits += 1
    finally:
        connections.close_all()


def run_pass(
    name: str,
    traffic: Traffic,
    *,
    concurrency: int,
    seed: int,
    duration: float | None = None,
    requests: int | None = None,
    bypass: bool = False,
    edit_every: int = 0,
    base_url: str | None = None,
) -> PassResult:
    """Run until ``requests`` were sent (when given), else for ``duration`` seconds.

    ``base_url`` sends the requests over HTTP to a running server instead of through
    the test client in this process.
    """
    plan = Plan(duration=duration, requests=requests, edit_every=edit_every)
    result = PassResult(name)
    per_thread: list[list[Sample]] = [[] for _ in range(concurrency)]
    start = threading.Barrier(concurrency + 1)
    threads = [
        threading.Thread(
            target=_visit_loop,
            args=(i, traffic, seed, (base_url, bypass), plan, start, per_thread[i]),
            name=f"loadgen-{i}",
        )
        for i in range(concurrency)
    ]
    for thread in threads:
        thread.start()
    try:
        start.wait()
        began = time.monotonic()
        if requests is None and duration is not None:
            plan.deadline = began + duration
    finally:
        for thread in threads:
            thread.join()
    result.wall_seconds = time.monotonic() - began
    result.edits = plan.edits
    for samples in per_thread:
        result.samples.extend(samples)
    return result
