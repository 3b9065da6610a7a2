"""The README's first command, run as a user would: ``demo/run.py`` in the background.

It is started with the current interpreter (``--no-install``), a free port, a small
catalogue and its own Redis; the test reads the storefront and the console over HTTP,
edits a product through the admin, then stops it with SIGTERM and checks that every
process it started is gone.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
from django.urls import reverse

from cache_admin.testing import free_port
from tests.demo_support import Browser, edit_product, parse_forms, sign_in

ROOT = Path(__file__).resolve().parent.parent
READY = "Ctrl-C stops everything."
START_TIMEOUT = 180.0

pytestmark = pytest.mark.slow


@dataclass
class RunningDemo:
    process: subprocess.Popen[bytes]
    base: str
    log: Path
    pids: dict[str, int]
    admin: tuple[str, str]
    var: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def alive(pid: int) -> bool:
    """True while ``pid`` is a process that has not exited (zombies count as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def processes_in_groups(groups: set[int]) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        state, pgid = fields[0], int(fields[2])
        if pgid in groups and state != "Z":
            found.append(int(entry.name))
    return found


def wait_until_ready(process: subprocess.Popen[bytes], log: Path) -> str:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace") if log.exists() else ""
        if READY in text:
            return text
        if process.poll() is not None:
            pytest.fail(f"demo/run.py exited with {process.returncode}:\n{text[-4000:]}")
        time.sleep(0.2)  # polling a log for readiness, not ordering a race
    pytest.fail(f"demo/run.py was not ready in {START_TIMEOUT:.0f}s:\n{text[-4000:]}")


@contextlib.contextmanager
def running_demo(var: Path, *extra: str) -> Iterator[RunningDemo]:
    """``demo/run.py`` started in the background with ``extra`` arguments, ready; killed
    with whatever it left behind when the block ends."""
    log = var / "run.log"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "DJANGO_SETTINGS_MODULE"}}
    command = [
        sys.executable, str(ROOT / "demo" / "run.py"), "--no-install", "--port", str(port),
        "--products", "60", "--var-dir", str(var), *extra,
    ]  # fmt: skip
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
    pids: dict[str, int] = {}
    try:
        text = wait_until_ready(process, log)
        line = re.search(r"^Processes:\s+(.*)$", text, re.M)
        assert line, text
        pids = {name: int(pid) for name, pid in re.findall(r"(\w+)=(\d+)", line.group(1))}
        credentials = re.search(r"^Admin user: (\S+) / password: (\S+)$", text, re.M)
        assert credentials, text
        base = re.search(r"^Storefront: (http://\S+?)/?$", text, re.M)
        assert base, text
        yield RunningDemo(
            process, base.group(1), log, pids, (credentials.group(1), credentials.group(2)), var
        )
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
        for pid in pids.values():  # whatever a failed test left behind
            if alive(pid):
                os.killpg(pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningDemo]:
    with running_demo(tmp_path_factory.mktemp("demo-var")) as running:
        yield running


def first_product_slug(html: str) -> str:
    found = re.search(r'href="/products/([\w-]+)/"', html)
    assert found, "the product list shows no product"
    return found.group(1)


def test_storefront_pages_answer(demo: RunningDemo) -> None:
    browser = Browser(demo.base)
    status, listing = browser.get("/products/")
    assert status == 200
    slug = first_product_slug(listing)
    status, detail = browser.get(f"/products/{slug}/")
    assert status == 200
    category = re.search(r'href="/categories/([\w-]+)/"', detail)
    assert category
    for path in [
        "/",
        "/products/?page=2&sort=price",
        f"/categories/{category.group(1)}/",
        "/search/?q=lamp",
        "/login/",
    ]:
        assert browser.get(path)[0] == 200, path
    # Bad input gets a page that says so, never a server error.
    assert browser.get("/products/?page=abc")[0] == 400
    assert browser.get("/products/no-such-product/")[0] == 404
    assert browser.get("/search/?q=" + "%FF" * 300)[0] == 200


def test_shopper_cart_follows_what_is_added(demo: RunningDemo) -> None:
    shopper = Browser(demo.base)
    assert shopper.get("/login/")[0] == 200
    status, url, _ = shopper.request(
        "/login/",
        {"csrfmiddlewaretoken": shopper.cookie("csrftoken"), "username": "carol",
         "password": "shopper", "next": "/cart/"},
    )  # fmt: skip
    assert status == 200 and url.endswith("/cart/"), url
    status, empty = shopper.get("/cart/")  # cart:user:<id> is cached from here on
    assert status == 200
    slug = first_product_slug(shopper.get("/products/?sort=-price")[1])
    _, detail = shopper.get(f"/products/{slug}/")
    name = re.search(r"<h1>(.*?)</h1>", detail)
    assert name and name.group(1) not in empty
    status, url, cart = shopper.request(
        f"/cart/add/{slug}/", {"csrfmiddlewaretoken": shopper.cookie("csrftoken")}
    )
    assert status == 200 and url.endswith("/cart/")
    assert name.group(1) in cart
    assert shopper.get(f"/cart/add/{slug}/")[0] == 405  # adding is a POST


def admin_login(demo: RunningDemo) -> Browser:
    browser = Browser(demo.base)
    user, password = demo.admin
    page = sign_in(browser, reverse("admin:login"), user, password, reverse("admin:index"))
    assert page.status == 200 and page.url.endswith(reverse("admin:index")), page.url
    return browser


def test_console_pages_answer_for_the_printed_admin(demo: RunningDemo) -> None:
    browser = admin_login(demo)
    for name in [
        "admin:index",
        "admin:cache_admin_dashboard",
        "admin:cache_admin_keys",
        "admin:cache_admin_invalidate",
        "admin:cache_admin_warm",
        "admin:cache_admin_ttloverride_changelist",
    ]:
        status, html = browser.get(reverse(name))
        assert status == 200, (name, html[-2000:])
    assert browser.get("/admin/shop/product/")[0] == 200


def test_product_edited_in_the_admin_shows_on_the_storefront(demo: RunningDemo) -> None:
    shopper = Browser(demo.base)
    # Both pages are cached by these first visits (the list as a whole page, for an
    # anonymous visitor), so the edit has to invalidate them.
    status, listing = shopper.get("/products/")
    assert status == 200
    slug = first_product_slug(listing)
    status, before = shopper.get(f"/products/{slug}/")
    assert status == 200

    new_price = "98765.43"  # the seed's prices stay under 2,000
    assert new_price not in before and new_price not in listing
    edit_product(admin_login(demo), slug, price=new_price)

    status, after = shopper.get(f"/products/{slug}/")
    assert status == 200 and f"${new_price}" in after
    status, listing_after = shopper.get("/products/")
    assert status == 200 and f"${new_price}" in listing_after


def search_ttl(demo: RunningDemo, word: str) -> int:
    found = re.search(r"^Redis: started \S+ on (redis://\S+)$", demo.output(), re.M)
    assert found, demo.output()
    client = redis.Redis.from_url(found.group(1) + "/0")
    try:
        # The demo's KEY_PREFIX and version, then the spec's key: search:product:<query>.
        return int(client.ttl(f"ecommerce:1:search:product:{word}"))
    finally:
        client.close()


def test_ttl_override_in_the_console_changes_what_the_site_does(demo: RunningDemo) -> None:
    shopper = Browser(demo.base)
    assert shopper.get("/search/?q=before")[0] == 200
    # The default, 10 minutes plus up to 20 % jitter (a few seconds may pass before reading).
    assert 590 <= search_ttl(demo, "before") <= 720

    browser = admin_login(demo)
    add_url = reverse("admin:cache_admin_ttloverride_add")
    status, html = browser.get(add_url)
    assert status == 200
    fields = next(f for f in parse_forms(html) if "ttl" in f)
    fields.update(cache_type="search_results", ttl="120", _save="Save")
    status, url, page = browser.request(add_url, fields)
    assert status == 200 and not url.endswith(add_url), page[-3000:]

    assert shopper.get("/search/?q=after")[0] == 200
    assert 0 < search_ttl(demo, "after") <= 144


def test_warm_from_the_console_runs_on_the_demos_celery_worker(demo: RunningDemo) -> None:
    browser = admin_login(demo)
    warm_url = reverse("admin:cache_admin_warm")
    status, html = browser.get(warm_url)
    assert status == 200 and 'data-warmer="featured"' in html, html[-2000:]
    status, _, page = browser.request(
        warm_url, {"csrfmiddlewaretoken": browser.cookie("csrftoken"), "warmer": "featured"}
    )
    assert status == 200, page[-2000:]

    # The run is recorded in the demo's database; its worker picks it up from Redis.
    database = demo.var / "shop.sqlite3"
    deadline = time.monotonic() + 90
    while True:
        with contextlib.closing(sqlite3.connect(database, timeout=10)) as db:
            row = db.execute(
                "SELECT status, trigger, task_id FROM cache_admin_warmrun "
                "WHERE warmer = 'featured' AND trigger LIKE 'console:%' ORDER BY id DESC"
            ).fetchone()
        if row is not None and row[0] in {"succeeded", "failed"}:
            break
        assert time.monotonic() < deadline, f"the warm run never finished: {row}"
        time.sleep(0.2)  # polling the run record, not ordering a race
    assert row[0] == "succeeded"
    assert row[2], "the run went through Celery, so it has a task id"


def test_load_generator_in_a_second_terminal_drives_the_running_demo(demo: RunningDemo) -> None:
    # As the README says: the demo's var dir leads the command to the demo's Redis and
    # database; --url sends the traffic to its web server.
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "DJANGO_SETTINGS_MODULE"}}
    env["DEMO_VAR_DIR"] = str(demo.var)
    done = subprocess.run(
        [sys.executable, str(ROOT / "demo" / "manage.py"), "loadgen", "--json", "--no-warm",
         "--url", demo.base, "--requests", "300", "--bypass-requests", "0", "--concurrency", "2"],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Warning" not in done.stderr, done.stderr  # it found the demo's Redis
    report = json.loads(done.stdout)
    cached = report["cached"]
    assert cached["requests"] == 300
    assert cached["no_answer"] == 0 and cached["errors"] == 0
    assert set(cached["statuses"]) <= {200, 302}, cached
    assert cached["queries_per_request"] is not None  # the demo's server reports them
    # The web server's lookups, counted in the demo's Redis, are what the dashboard shows.
    rates = report["hit_rate"]
    assert rates["hits"] + rates["misses"] >= 300
    assert rates["per_type"]["product_detail"]["hits"] > 0


def test_sigterm_stops_every_process_it_started(demo: RunningDemo) -> None:
    expected = {"web", "worker", "beat", "redis"}
    assert expected <= set(demo.pids), demo.pids
    assert all(alive(pid) for pid in demo.pids.values())
    groups = set(demo.pids.values())
    # Celery's prefork pool runs in the worker's group: wait until it is there, so that
    # the check below also covers processes whose pids were never printed.
    deadline = time.monotonic() + 60
    while len(processes_in_groups({demo.pids["worker"]})) < 2:
        assert time.monotonic() < deadline, "the Celery worker never started its pool"
        time.sleep(0.2)  # polling for readiness, not ordering a race

    demo.process.send_signal(signal.SIGTERM)
    assert demo.process.wait(60) == 0
    assert "Demo stopped" in demo.output()
    assert [name for name, pid in demo.pids.items() if alive(pid)] == []
    assert processes_in_groups(groups | {demo.process.pid}) == []
