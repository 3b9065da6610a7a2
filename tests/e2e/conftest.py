"""Browser tests: Playwright drives Debian's Chromium against a live server.

Screenshots go to ``artifacts/`` at the top of the repository (kept by CI, ignored by git).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User

from cache_admin.invalidation import register, unregister
from tests.testapp.models import Product

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"


def chromium_path() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    raise RuntimeError("Chromium is not installed: apt-get install -y chromium (see .ci/run)")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    return {
        **browser_type_launch_args,
        "executable_path": chromium_path(),
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


@pytest.fixture
def screenshot(page: Any, request: pytest.FixtureRequest) -> Any:
    """``screenshot("name")`` saves the page to artifacts/<test>-<name>.png."""
    ARTIFACTS.mkdir(exist_ok=True)

    def take(name: str) -> Path:
        # One file per admin flavour: CI runs the browser tests under plain admin and unfold.
        if not name.startswith(f"{FLAVOUR}-"):
            name = f"{FLAVOUR}-{name}"
        path = ARTIFACTS / f"{request.node.name}-{name}.png".replace("/", "_")
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


# Console browser tests: a logged-in page, screenshots per admin flavour, a registered model.
FLAVOUR = "unfold" if os.environ.get("CACHE_ADMIN_TEST_UNFOLD") == "1" else "plain"
WAIT_MS = 15_000


@pytest.fixture(scope="module", autouse=True)
def _sync_orm_until_the_database_is_flushed() -> Iterator[None]:
    # transactional_db flushes the tables after conftest's function-scoped environment
    # fixture has been undone, while Playwright's loop still runs in this thread.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    yield
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def shot(screenshot: Callable[[str], Any]) -> Callable[[str], Any]:
    """The console tests' name for ``screenshot`` (already one file per admin flavour)."""
    return screenshot  # type: ignore[no-any-return]


@pytest.fixture
def console(transactional_db: None, live_server: Any, page: Any) -> Any:
    """A page logged in as a superuser; ``console.url(path)`` builds live-server URLs."""
    User.objects.create_superuser("root", "root@example.com", "pw")
    page.set_default_timeout(WAIT_MS)
    page.goto(f"{live_server.url}/admin/login/?next=/admin/")
    page.fill("#id_username", "root")
    page.fill("#id_password", "pw")
    page.click("input[type=submit], button[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")
    page.url_for = lambda path: f"{live_server.url}{path}"
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.js_errors = errors
    return page


@pytest.fixture
def registered_product() -> Iterator[type[Product]]:
    register(Product, slug_field="slug")
    yield Product
    unregister(Product)
