"""TTL overrides in the admin: every type listed, validated forms, history, applied TTLs."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import redis
from django.contrib.admin.models import LogEntry
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from cache_admin import policy
from cache_admin.models import AuditEntry, TTLOverride
from tests.override_rows import raw_row

ADD = "admin:cache_admin_ttloverride_add"


def add(client: Client, **data: str) -> str:
    response = client.post(reverse(ADD), {"note": "", **data}, follow=True)
    assert response.status_code == 200
    return response.content.decode()


def test_changelist_lists_every_type_with_or_without_override(admin_client: Client) -> None:
    TTLOverride.objects.create(cache_type="cart", ttl=60)
    body = admin_client.get(reverse("admin:cache_admin_ttloverride_changelist")).content.decode()
    table = body.split('id="cache-admin-ttl-types"')[1].split("</table>")[0]
    for name in (
        "product_list",
        "product_detail",
        "category",
        "user_session",
        "search_results",
        "recommendations",
        "cart",
    ):
        assert f'data-type="{name}"' in table
    cart = table.split('data-type="cart"')[1].split("</tr>")[0]
    assert "1800 s" in cart and "60 s" in cart and "Change override" in cart
    category = table.split('data-type="category"')[1].split("</tr>")[0]
    assert "Add override" in category and "?cache_type=category" in category


def test_add_override_changes_the_effective_ttl_and_keeps_history(
    admin_client: Client, django_capture_on_commit_callbacks: Callable[..., object]
) -> None:
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        body = add(admin_client, cache_type="product_detail", ttl="120")
    assert "errorlist" not in body
    override = TTLOverride.objects.get(cache_type="product_detail")
    assert override.ttl == 120
    assert LogEntry.objects.filter(object_id=str(override.pk)).exists()
    assert AuditEntry.objects.filter(action="add_ttl", target="product_detail").exists()
    stats = admin_client.get(reverse("admin:cache_admin_dashboard_stats")).content.decode()
    row = stats.split('data-type="product_detail"')[1].split("</tr>")[0]
    assert 'data-effective="120"' in row


@pytest.mark.parametrize(
    ("ttl", "message"),
    [
        ("-5", "at least 1 second"),
        ("0", "at least 1 second"),
        ("abc", "Enter whole seconds"),
        ("2.5", "Enter whole seconds"),
        ("99999999999", "at most 30 days"),
        ("", "This field is required"),
    ],
)
def test_bad_ttls_are_refused(admin_client: Client, ttl: str, message: str) -> None:
    body = add(admin_client, cache_type="cart", ttl=ttl)
    assert message in body
    assert not TTLOverride.objects.exists()


def test_unknown_type_is_refused(admin_client: Client) -> None:
    body = add(admin_client, cache_type="nonsense", ttl="60")
    assert "Select a valid choice" in body
    assert not TTLOverride.objects.exists()


def test_long_ttl_warns(admin_client: Client) -> None:
    body = add(admin_client, cache_type="cart", ttl=str(2 * 86400))
    assert "more than 24 hours" in body
    assert TTLOverride.objects.get().ttl == 2 * 86400


def test_apply_a_shorter_ttl_to_existing_keys(
    admin_client: Client, redis_client: redis.Redis
) -> None:
    cache.set("cart:user:1", "a", 1800)
    cache.set("cart:user:2", "b", None)
    cache.set("cart:user:3", "c", 10)
    cache.set("product:1", "p", 900)
    body = add(admin_client, cache_type="cart", ttl="60", apply_to_existing="on")
    assert "2 existing keys now expire sooner" in body
    assert redis_client.ttl(cache.make_key("cart:user:1")) <= 60
    assert redis_client.ttl(cache.make_key("cart:user:2")) <= 60
    assert redis_client.ttl(cache.make_key("cart:user:3")) <= 10
    assert redis_client.ttl(cache.make_key("product:1")) > 60
    assert AuditEntry.objects.get(action="apply_ttl").keys_affected == 2


def test_apply_leaves_longer_prefixed_types_alone(
    admin_client: Client, redis_client: redis.Redis
) -> None:
    cache.set("product:1", "p", 900)
    cache.set("product:list:abc", "l", 300)
    add(admin_client, cache_type="product_detail", ttl="100", apply_to_existing="on")
    assert redis_client.ttl(cache.make_key("product:1")) <= 100
    assert redis_client.ttl(cache.make_key("product:list:abc")) > 100


def test_change_and_delete_are_audited(admin_client: Client) -> None:
    override = TTLOverride.objects.create(cache_type="cart", ttl=60)
    url = reverse("admin:cache_admin_ttloverride_change", args=[override.pk])
    response = admin_client.post(url, {"cache_type": "cart", "ttl": "90", "note": "sale"})
    assert response.status_code == 302
    assert TTLOverride.objects.get().ttl == 90
    url = reverse("admin:cache_admin_ttloverride_delete", args=[override.pk])
    assert admin_client.post(url, {"post": "yes"}).status_code == 302
    assert list(AuditEntry.objects.order_by("id").values_list("action", flat=True)) == [
        "change_ttl",
        "delete_ttl",
    ]


def test_an_override_out_of_range_shows_as_ignored(admin_client: Client) -> None:
    raw_row("cart", 10**12)  # a row the form and the constraint refuse, in anyway
    policy.reload()
    body = admin_client.get(reverse("admin:cache_admin_ttloverride_changelist")).content.decode()
    table = body.split('id="cache-admin-ttl-types"')[1].split("</table>")[0]
    cart = table.split('data-type="cart"')[1].split("</tr>")[0]
    assert "ignored: out of range" in cart and "1000000000000 s" in cart
    assert "1800 s</td>" in cart.split("ignored: out of range")[1]  # the default is in force
    rows = body.split('id="result_list"')[1]
    assert "ignored: out of range" in rows  # the model's own list too
    stats = admin_client.get(reverse("admin:cache_admin_dashboard_stats")).content.decode()
    row = stats.split('data-type="cart"')[1].split("</tr>")[0]
    assert 'data-ignored="1000000000000"' in row and "ignored: out of range" in row
    assert 'data-effective="1800"' in row
