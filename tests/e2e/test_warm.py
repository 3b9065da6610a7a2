"""The warm page in Chromium: click "Warm all", watch the bars fill, see the results."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.contrib.auth.models import User

from cache_admin.warming import Progress, register_warmer

WAIT = 20
STEPS = 4


class SteppedWarmer:
    """Advances one step at a time, each step released by the test."""

    def __init__(self) -> None:
        self.reached = [threading.Event() for _ in range(STEPS)]
        self.go = [threading.Event() for _ in range(STEPS)]

    def __call__(self, progress: Progress) -> None:
        progress.set_total(STEPS)
        for i in range(STEPS):
            progress.write(f"product:{i}", {"id": i})
            progress.advance()
            self.reached[i].set()
            assert self.go[i].wait(WAIT), "the browser test never released this step"

    def release_all(self) -> None:
        for event in self.go:
            event.set()


@pytest.fixture
def stepped(warmer_registry: dict[str, Any], settings: Any) -> Any:
    settings.CACHE_ADMIN = {
        **settings.CACHE_ADMIN,
        "WARM_PROGRESS_INTERVAL": 0,
        "WARM_POLL_MS": 250,
        # The solo worker is busy with the first job: the second one waits at once, and
        # that is normal queueing, not an alarm.
        "WARM_PICKUP_TIMEOUT": 0,
    }
    warmer = SteppedWarmer()
    register_warmer("products", warmer, label="Products")
    register_warmer(
        "categories",
        lambda progress: [progress.write(f"category:{i}", i) for i in range(3)],
        label="Categories",
    )
    yield warmer
    warmer.release_all()


def log_in(page: Any, live_server: Any) -> None:
    User.objects.create_superuser("root", "root@example.com", "pw")
    page.goto(f"{live_server.url}/admin/login/?next=/admin/cache/warm/")
    page.fill("#id_username", "root")
    page.fill("#id_password", "pw")
    page.click("input[type=submit], button[type=submit]")
    page.wait_for_selector("#cache-admin-warmers")


def percent_of(page: Any, warmer: str) -> str:
    return str(page.get_attribute(f'tr[data-warmer="{warmer}"]', "data-percent"))


def test_warm_all_and_watch_the_bars_fill(
    # The database and the worker come before the browser: the test database is created
    # outside Playwright's event loop.
    live_server: Any,
    celery_worker: Any,
    stepped: SteppedWarmer,
    page: Any,
    screenshot: Any,
) -> None:
    log_in(page, live_server)
    assert page.get_attribute('tr[data-warmer="products"]', "data-status") == "never"
    screenshot("before")

    page.click("button.ca-warm-all")
    # The admin's message after the redirect (plain admin and unfold render it differently).
    page.get_by_text("Sent to Celery: Products, Categories.").wait_for(timeout=WAIT * 1000)
    # The solo worker is busy with the first job and cannot answer a ping: no false alarm.
    assert "No Celery worker answered" not in page.content()

    seen = []
    for step in range(STEPS):
        assert stepped.reached[step].wait(WAIT)
        expected = str(100 * (step + 1) // STEPS)
        # htmx polls the progress partial; the bar moves without a reload.
        page.wait_for_selector(
            f'tr[data-warmer="products"][data-status="running"][data-percent="{expected}"]',
            timeout=WAIT * 1000,
        )
        seen.append(percent_of(page, "products"))
        bar = page.locator('tr[data-warmer="products"] progress')
        assert bar.get_attribute("value") == expected
        if step == 1:
            assert page.get_attribute('tr[data-warmer="categories"]', "data-status") == "queued"
            assert "Waiting for a worker" in page.inner_text('tr[data-warmer="categories"]')
            page.wait_for_selector('tr[data-warmer="categories"] .ca-wait[data-problem="no"]')
            assert page.locator('tr[data-warmer="categories"] [role="alert"]').count() == 0
            state = page.inner_text("#cache-admin-warm-state")
            assert "Running: Products (50 %)." in state and "Categories" in state
            assert page.locator('tr[data-warmer="products"] button').is_disabled()
            screenshot("running")
        stepped.go[step].set()
    assert seen == ["25", "50", "75", "100"]

    page.wait_for_selector(
        'tr[data-warmer="categories"][data-status="succeeded"]', timeout=WAIT * 1000
    )
    page.wait_for_selector(
        'tr[data-warmer="products"][data-status="succeeded"]', timeout=WAIT * 1000
    )
    assert page.get_attribute("#cache-admin-warm-runs", "data-active") == "no"
    # The state line follows the runs: nothing says they are still queued.
    page.wait_for_selector("#cache-admin-warm-state[data-active='no']")
    assert "No warm run is active; the last one finished" in page.inner_text(
        "#cache-admin-warm-state"
    )
    assert "ago" in page.inner_text('tr[data-warmer="products"]') or "just now" in (
        page.inner_text('tr[data-warmer="products"]')
    )
    assert "0 minutes" not in page.inner_text("#cache-admin-warmers")
    products = page.inner_text('tr[data-warmer="products"]')
    categories = page.inner_text('tr[data-warmer="categories"]')
    assert "Succeeded" in products and "4" in products and "console: root" in products
    assert "Succeeded" in categories and "3" in categories
    assert page.locator('tr[data-warmer="products"] button').is_enabled()
    screenshot("done")
