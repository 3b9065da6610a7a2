"""Send the visitor model's requests through Django's full request cycle, in threads.

Requests go through the test client (every middleware, the session and auth layers, the
templates), in this process, against the configured database and Redis. Each thread
counts its own database queries with ``connection.execute_wrapper`` (thread-safe, no
DEBUG needed), so a request's count is exactly the statements it ran.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
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


def _visit_loop(
    index: int,
    traffic: Traffic,
    seed: int,
    bypass: bool,
    start: threading.Barrier,
    deadline: list[float],
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
            while time.monotonic() < deadline[0]:
                visit = traffic.next(rng)
                client = signed_in if visit.signed_in else anonymous
                before = counter.count
                began = time.perf_counter()
                response = client.get(visit.path, **extra)
                seconds = time.perf_counter() - began
                out.append(
                    Sample(visit.kind, response.status_code, seconds, counter.count - before)
                )
    finally:
        connections.close_all()


def _edit_loop(
    traffic: Traffic, seed: int, interval: float, stop: threading.Event, result: PassResult
) -> None:
    """Staff editing products now and then: each save invalidates through the signals."""
    rng = random.Random(seed)
    try:
        while not stop.wait(interval):
            product = Product.objects.filter(slug=traffic.product_slug(rng)).first()
            if product is None:
                continue
            with transaction.atomic():
                cents = Decimal(rng.choice([-100, -50, 50, 100])) / 100
                product.price = max(Decimal("1.00"), product.price + cents)
                product.save(update_fields=["price", "updated_at"])
            result.edits += 1
    finally:
        connections.close_all()


def run_pass(
    name: str,
    traffic: Traffic,
    *,
    duration: float,
    concurrency: int,
    seed: int,
    bypass: bool = False,
    edit_interval: float = 0.0,
) -> PassResult:
    result = PassResult(name)
    per_thread: list[list[Sample]] = [[] for _ in range(concurrency)]
    start = threading.Barrier(concurrency + 1)
    deadline = [float("inf")]
    threads = [
        threading.Thread(
            target=_visit_loop,
            args=(i, traffic, seed, bypass, start, deadline, per_thread[i]),
            name=f"loadgen-{i}",
        )
        for i in range(concurrency)
    ]
    for thread in threads:
        thread.start()
    stop_edits = threading.Event()
    editor = None
    try:
        start.wait()
        began = time.monotonic()
        deadline[0] = began + duration
        if edit_interval > 0:
            editor = threading.Thread(
                target=_edit_loop,
                args=(traffic, seed, edit_interval, stop_edits, result),
                name="loadgen-editor",
            )
            editor.start()
        for thread in threads:
            thread.join()
        result.wall_seconds = time.monotonic() - began
    finally:
        stop_edits.set()
        if editor is not None:
            editor.join()
    for samples in per_thread:
        result.samples.extend(samples)
    return result
