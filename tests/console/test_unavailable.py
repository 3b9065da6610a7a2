"""A toolkit failure of any kind is a message on a normal page, never a 500 (R1)."""

from __future__ import annotations

import ast
import logging
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest
import redis
from django.test import Client
from django.urls import reverse

from cache_admin import backend
from cache_admin.console.toolkit import Unavailable, as_unavailable
from cache_admin.invalidation import register, unregister
from tests.testapp.models import Product

CONSOLE = Path(__file__).resolve().parents[2] / "cache_admin" / "console"


def test_redis_errors_become_a_message() -> None:
    with pytest.raises(Unavailable, match="Redis could not be reached: refused"), as_unavailable():
        raise redis.exceptions.ConnectionError("refused")


def test_a_cache_that_is_not_redis_becomes_a_message() -> None:
    not_redis = "The configured cache is not Redis: locmem"
    with pytest.raises(Unavailable, match=not_redis), as_unavailable():
        raise backend.NotRedisBackend("locmem")


def test_an_unexpected_error_is_logged_with_its_trace(caplog: pytest.LogCaptureFixture) -> None:
    with (
        caplog.at_level(logging.ERROR, logger="cache_admin.console"),
        pytest.raises(Unavailable, match=r"failed \(KeyError: 'boom'\)"),
        as_unavailable(),
    ):
        raise KeyError("boom")
    [logged] = caplog.records
    assert logged.exc_info is not None and logged.exc_info[0] is KeyError


def test_passthrough_and_interrupts_propagate_unchanged() -> None:
    with pytest.raises(ValueError, match="bad prefix"), as_unavailable(passthrough=(ValueError,)):
        raise ValueError("bad prefix")
    with pytest.raises(KeyboardInterrupt), as_unavailable():
        raise KeyboardInterrupt


def test_an_inner_unavailable_is_not_wrapped_again(caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(Unavailable) as raised, as_unavailable(), as_unavailable():
        raise redis.exceptions.ConnectionError("Redis is down")
    assert str(raised.value) == "Redis is down"
    assert not caplog.records


@pytest.fixture
def product_with_broken_keys(product: Product) -> Iterator[Product]:
    def broken(instance: Product) -> Iterable[str]:
        raise RuntimeError("the project's key function is broken")

    register(Product, slug_field="slug", extra_keys=broken)
    yield product
    unregister(Product)


def test_an_unexpected_toolkit_failure_in_a_view_is_a_message(
    admin_client: Client, product_with_broken_keys: Product, caplog: pytest.LogCaptureFixture
) -> None:
    data = {
        "kind": "model",
        "model-model": "testapp.product",
        "model-action": "instance",
        "model-lookup": str(product_with_broken_keys.pk),
    }
    with caplog.at_level(logging.ERROR, logger="cache_admin.console"):
        response = admin_client.post(reverse("admin:cache_admin_invalidate"), data, follow=True)
    assert response.status_code == 200
    body = response.content.decode()
    assert "Nothing was invalidated" in body
    assert "(RuntimeError: the project&#x27;s key function is broken)" in body
    assert "Traceback" not in body
    assert any(r.exc_info and r.exc_info[0] is RuntimeError for r in caplog.records)


def _console_modules() -> list[Path]:
    return sorted(CONSOLE.rglob("*.py"))


def test_the_console_names_the_toolkit_functions_it_calls() -> None:
    # Every edge from the console to the toolkit is an import that grep, mypy and the import
    # graph see: no module looked up by name. The one dotted path read is the ADMIN_SITE
    # setting's.
    dynamic = []
    for module in _console_modules():
        tree = ast.parse(module.read_text())
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [node.module or ""] if isinstance(node, ast.ImportFrom) else []
                names += [alias.name for alias in node.names]
                if any(name.split(".")[0] == "importlib" for name in names):
                    dynamic.append(f"{module.name}: imports importlib")
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                if node.func.id in {"import_module", "__import__"}:
                    dynamic.append(f"{module.name}:{node.lineno}: {node.func.id}")
                if node.func.id == "import_string" and module.name != "site.py":
                    dynamic.append(f"{module.name}:{node.lineno}: import_string")
    assert dynamic == []
    assert len(_console_modules()) > 10
