"""Run the demo shop's own commands and web server as subprocesses, and talk to it over HTTP.

The suite never imports from ``demo/``: the demo runs as a user runs it, through
``demo/manage.py``, with ``DEMO_VAR_DIR`` pointing at a temporary database, and is read
with a small cookie-keeping client (``Browser``) and form parser (``parse_forms``).
"""

from __future__ import annotations

import contextlib
import http.cookiejar
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import Message
from html.parser import HTMLParser
from pathlib import Path

from cache_admin.testing import free_port

ROOT = Path(__file__).resolve().parent.parent
MANAGE = ROOT / "demo" / "manage.py"


def demo_environment(redis_url: str, var: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env.update(
        REDIS_URL=redis_url,
        DEMO_VAR_DIR=str(var),
        DJANGO_SETTINGS_MODULE="shop_site.settings",
        PYTHONPATH=os.pathsep.join([str(ROOT / "demo"), str(ROOT)]),
    )
    return env


def manage(env: dict[str, str], *argv: str) -> str:
    done = subprocess.run(
        [sys.executable, str(MANAGE), *argv], env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, f"manage.py {' '.join(argv)}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@dataclass(frozen=True)
class Page:
    """A response as the browser ended up with it (redirects followed)."""

    status: int
    url: str
    html: str
    headers: Message
    seconds: float  # from sending the request to the end of the last body read


class Browser:
    """urllib with cookies; never raises on HTTP status codes."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def open(self, path: str, data: dict[str, str] | None = None) -> Page:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        req = urllib.request.Request(self.base + path, data=body)
        if body is not None:
            req.add_header("Referer", self.base + path)
        started = time.perf_counter()
        try:
            with self.opener.open(req, timeout=30) as response:
                html = response.read().decode()
                status, url, headers = response.status, response.geturl(), response.headers
        except urllib.error.HTTPError as exc:
            html = exc.read().decode(errors="replace")
            status, url, headers = exc.code, exc.geturl(), exc.headers
        return Page(status, url, html, headers, time.perf_counter() - started)

    def request(self, path: str, data: dict[str, str] | None = None) -> tuple[int, str, str]:
        page = self.open(path, data)
        return page.status, page.url, page.html

    def get(self, path: str) -> tuple[int, str]:
        status, _, html = self.request(path)
        return status, html

    def cookie(self, name: str) -> str:
        return next(c.value for c in self.jar if c.name == name and c.value is not None)


def sign_in(browser: Browser, login: str, username: str, password: str, then: str) -> Page:
    """Sign in through a login form (the storefront's or the admin's), as a browser does."""
    assert browser.get(login)[0] == 200
    fields = {
        "csrfmiddlewaretoken": browser.cookie("csrftoken"),
        "username": username,
        "password": password,
        "next": then,
    }
    return browser.open(login, fields)


class FormFields(HTMLParser):
    """The values each form on a page would submit, as a browser sends them."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, str]] = []
        self.current: dict[str, str] | None = None
        self.select: str | None = None
        self.textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.current = {}
            self.forms.append(self.current)
        if self.current is None or ("name" not in a and tag != "option"):
            return
        if tag == "input":
            kind = a.get("type", "text")
            if kind in {"checkbox", "radio"}:
                if "checked" in a:
                    self.current[a["name"]] = a.get("value", "on")
            elif kind not in {"submit", "button", "file"}:
                self.current[a["name"]] = a.get("value", "")
        elif tag == "select":
            self.select = a["name"]
        elif tag == "option" and self.select and "selected" in a:
            self.current[self.select] = a.get("value", "")
        elif tag == "textarea":
            self.textarea = a["name"]
            self.current[self.textarea] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self.select = None
        elif tag == "textarea":
            self.textarea = None

    def handle_data(self, data: str) -> None:
        if self.textarea and self.current is not None:
            self.current[self.textarea] += (
                data.lstrip("\n") if not self.current[self.textarea] else data
            )


def parse_forms(html: str) -> list[dict[str, str]]:
    parser = FormFields()
    parser.feed(html)
    return parser.forms


@dataclass
class WebServer:
    url: str
    log: Path
    browser: Browser = field(init=False)

    def __post_init__(self) -> None:
        self.browser = Browser(self.url)

    def requests_served(self) -> int:
        return sum(
            1 for line in self.log.read_text(errors="replace").splitlines() if '"GET /' in line
        )

    def get(self, path: str) -> tuple[int, str]:
        """Status and body of a GET; never raises on an HTTP error status."""
        return self.browser.get(path)


@contextlib.contextmanager
def web_server(env: dict[str, str], log: Path) -> Iterator[WebServer]:
    """The demo's ``runserver`` on a free port, stopped (its whole group) on exit."""
    port = free_port()
    server = WebServer(f"http://127.0.0.1:{port}", log)
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, str(MANAGE), "runserver", f"127.0.0.1:{port}", "--noreload"],
            env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, log.read_text(errors="replace")
            with contextlib.suppress(urllib.error.URLError, OSError):
                if server.get("/")[0] == 200:
                    break
            assert time.monotonic() < deadline, log.read_text(errors="replace")
            time.sleep(0.2)  # polling for readiness, not ordering a race
        yield server
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(30)


def edit_product(browser: Browser, slug: str, **changes: str) -> Page:
    """Change a product through the admin's change form, as staff do (``browser`` signed in)."""
    _, changelist = browser.get("/admin/shop/product/?q=" + slug)
    found = re.search(r"/admin/shop/product/(\d+)/change/", changelist)
    assert found, changelist[-2000:]
    change_url = found.group(0)
    status, html = browser.get(change_url)
    assert status == 200, html[-2000:]
    fields = next(f for f in parse_forms(html) if "name" in f and "slug" in f)
    fields.update(changes, _save="Save")
    page = browser.open(change_url, fields)
    assert page.status == 200 and not page.url.endswith(change_url), "the admin refused the edit"
    return page
