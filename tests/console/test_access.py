"""Every console page for every kind of visitor (S1): login page, 403, or the page."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from cache_admin import audit
from cache_admin.keyspace import key_token
from tests.console.conftest import VISITORS

STORED = b"testsite:1:product:1"

PAGES = [
    ("cache_admin_dashboard", (), audit.VIEW_DASHBOARD),
    ("cache_admin_dashboard_stats", (), audit.VIEW_DASHBOARD),
    ("cache_admin_keys", (), audit.BROWSE_KEYS),
    ("cache_admin_keys_more", (), audit.BROWSE_KEYS),
    ("cache_admin_keys_tree", (), audit.BROWSE_KEYS),
    ("cache_admin_keys_found", ("a" * 32,), audit.BROWSE_KEYS),
    ("cache_admin_key_detail", (key_token(STORED),), audit.BROWSE_KEYS),
    ("cache_admin_prefix_delete", (), audit.DELETE_KEYS),
    ("cache_admin_invalidate", (), audit.INVALIDATE),
    ("cache_admin_warm", (), audit.WARM),
]

MUTATIONS = [
    ("cache_admin_key_delete", (key_token(STORED),), audit.DELETE_KEYS, {}),
    ("cache_admin_key_ttl", (key_token(STORED),), audit.DELETE_KEYS, {"ttl": "60"}),
    ("cache_admin_prefix_delete", (), audit.DELETE_KEYS, {"prefix": "product:"}),
    (
        "cache_admin_keys_delete",
        (),
        audit.DELETE_KEYS,
        {"key": key_token(STORED), "confirm": "yes"},
    ),
    ("cache_admin_keys_find_cancel", ("a" * 32,), audit.BROWSE_KEYS, {}),
    ("cache_admin_invalidate", (), audit.INVALIDATE, {"kind": "prefix", "prefix-prefix": "x:"}),
]

EXPECTED = {"anonymous": 302, "staff_without": 403, "staff_with": 200, "superuser": 200}


@pytest.mark.parametrize("kind", VISITORS)
@pytest.mark.parametrize(("name", "args", "permission"), PAGES, ids=[p[0] for p in PAGES])
def test_page_per_visitor(
    visitor: Callable[[str, str], Client],
    kind: str,
    name: str,
    args: tuple[str, ...],
    permission: str,
) -> None:
    cache.set("product:1", {"name": "Laptop"})
    response = visitor(kind, permission).get(reverse(f"admin:{name}", args=args))
    assert response.status_code == EXPECTED[kind]
    if kind == "anonymous":
        assert response["Location"].startswith(reverse("admin:login"))
    if kind == "staff_without":
        assert f"({permission})".encode() in response.content


@pytest.mark.parametrize("kind", VISITORS)
@pytest.mark.parametrize(
    ("name", "args", "permission", "data"), MUTATIONS, ids=[m[0] for m in MUTATIONS]
)
def test_mutation_per_visitor(
    visitor: Callable[[str, str], Client],
    kind: str,
    name: str,
    args: tuple[str, ...],
    permission: str,
    data: dict[str, str],
) -> None:
    cache.set("product:1", {"name": "Laptop"})
    response = visitor(kind, permission).post(reverse(f"admin:{name}", args=args), data)
    if kind == "anonymous":
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))
        assert cache.get("product:1") == {"name": "Laptop"}
    elif kind == "staff_without":
        assert response.status_code == 403
        assert cache.get("product:1") == {"name": "Laptop"}
    else:
        assert response.status_code in (200, 302)


def test_browsing_permission_does_not_allow_deleting(
    visitor: Callable[[str, str], Client],
) -> None:
    cache.set("product:1", "kept")
    client = visitor("staff_with", audit.BROWSE_KEYS)
    url = reverse("admin:cache_admin_key_delete", args=[key_token(STORED)])
    assert client.post(url).status_code == 403
    assert cache.get("product:1") == "kept"
    page = client.get(reverse("admin:cache_admin_key_detail", args=[key_token(STORED)]))
    assert b"Delete key" not in page.content


@pytest.mark.parametrize(("name", "args"), [(m[0], m[1]) for m in MUTATIONS[:2]])
def test_mutations_refuse_get(admin_client: Client, name: str, args: tuple[str, ...]) -> None:
    cache.set("product:1", "kept")
    response = admin_client.get(reverse(f"admin:{name}", args=args))
    assert response.status_code == 405
    assert cache.get("product:1") == "kept"


@pytest.mark.parametrize(
    ("name", "args", "permission", "data"), MUTATIONS, ids=[m[0] for m in MUTATIONS]
)
def test_post_without_csrf_token_is_refused(
    superuser: object, name: str, args: tuple[str, ...], permission: str, data: dict[str, str]
) -> None:
    cache.set("product:1", "kept")
    client = Client(enforce_csrf_checks=True)
    client.force_login(superuser)  # type: ignore[arg-type]
    response = client.post(reverse(f"admin:{name}", args=args), data)
    assert response.status_code == 403
    assert cache.get("product:1") == "kept"
