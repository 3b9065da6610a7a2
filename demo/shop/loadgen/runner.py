"""Send the visitor model's requests through Django's full request cycle, in threads.

Requests go through the test client (every middleware, the session and auth layers, the
templates), in this process, against the configured database and Redis. Each thread
counts its own database queries with ``connection.execute_wrapper`` (thread-safe, no
DEBUG needed), so a request's count is exactly the statements it ran.
"""

from __future__ import annotations

import itertools
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection, connections, transaction
from django.test import Client

from shop.bypass import HEADER
from shop.catalogue_data import SHOPPERS
from shop.loadgen.traffic import Traffic
from shop.models import Product

HOST = "localhost"


@dataclass(frozen=True)
class Sample:
    kind: str
    status: int
    seconds: float
    queries: int


@dataclass
class PassResult:
    name: str
    wall_seconds: float = 0.0
    samples: list[Sample] = field(default_factory=list)
    edits: int = 0


class QueryCounter:
    def __init__(self) -> None:
        self.count = 0

    def __call__(
        self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
    ) -> Any:
        self.count += 1
        return execute(sql, params, many, context)


def _clients(index: int) -> tuple[Client, Client]:
    anonymous = Client(HTTP_HOST=HOST, raise_request_exception=False)
    signed_in = Client(HTTP_HOST=HOST, raise_request_exception=False)
    user = get_user_model().objects.filter(username=SHOPPERS[index % len(SHOPPERS)]).first()
    if user is not None:
        signed_in.force_login(user)
    return anonymous, signed_in


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
    bypass: bool,
    plan: Plan,
    start: threading.Barrier,
    out: list[Sample],
) -> None:
    try:
        try:
            rng = random.Random(seed * 1000 + index)
            anonymous, signed_in = _clients(index)
            extra = {HEADER: "off"} if bypass else {}
            counter = QueryCounter()
        except BaseException:
            start.abort()  # the others must not wait for this thread
            raise
        start.wait()
        with connection.execute_wrapper(counter):
            while (ticket := plan.next_ticket()) is not None:
                visit = traffic.next(rng)
                client = signed_in if visit.signed_in else anonymous
                before = counter.count
                began = time.perf_counter()
                response = client.get(visit.path, **extra)
                seconds = time.perf_counter() - began
                out.append(
                    Sample(visit.kind, response.status_code, seconds, counter.count - before)
                )
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
) -> PassResult:
    """Run until ``requests`` were sent (when given), else for ``duration`` seconds."""
    plan = Plan(duration=duration, requests=requests, edit_every=edit_every)
    result = PassResult(name)
    per_thread: list[list[Sample]] = [[] for _ in range(concurrency)]
    start = threading.Barrier(concurrency + 1)
    threads = [
        threading.Thread(
            target=_visit_loop,
            args=(i, traffic, seed, bypass, plan, start, per_thread[i]),
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
