"""Every console action answers a POST with a redirect (POST/redirect/GET): the page it
lands on shows the result once, as an admin message, and reloading that page does nothing
again (no second deletion, no second audit entry). The warm action, which needs a Celery
worker, is checked in test_warm.py."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.core.cache import cache
from django.core.cache.utils import make_template_fragment_key
from django.test import Client
from django.urls import reverse

from cache_admin import deletion_jobs, keys
from cache_admin.keyspace import key_token
from cache_admin.models import AuditEntry, QueuedInvalidation, TTLOverride
from tests.testapp.models import Product

INVALIDATE = "admin:cache_admin_invalidate"


def _key_url(name: str, logical: str) -> str:
    return reverse(f"admin:{name}", args=[key_token(cache.make_key(logical).encode())])


@dataclass(frozen=True)
class Action:
    url: Callable[[], str]
    data: Callable[[Product], dict[str, str]]
    arm: Callable[[Product], None]  # puts in place what the action removes or changes
    done: Callable[[Product], bool]  # the action's effect is there
    audit: str  # the audit entry's action
    message: str  # a piece of the admin message (plain admin capitalises its first letter)


def _fragment_key() -> str:
    return make_template_fragment_key("recommendations", ["7"])


def _queue(product: Product) -> None:
    cache.set("search:q", 1)
    QueuedInvalidation.objects.create(
        alias="default", kind="key", target=cache.make_key("search:q")
    )


ACTIONS = {
    "invalidate one instance": Action(
        lambda: reverse(INVALIDATE),
        lambda p: {
            "kind": "model",
            "model-model": "testapp.product",
            "model-action": "instance",
            "model-lookup": p.slug,
        },
        lambda p: cache.set(keys.detail_key(p, p.pk), "cached"),
        lambda p: cache.get(keys.detail_key(p, p.pk)) is None,
        "invalidate_model",
        ": 1 key deleted",
    ),
    "invalidate lists": Action(
        lambda: reverse(INVALIDATE),
        lambda p: {"kind": "model", "model-model": "testapp.product", "model-action": "lists"},
        lambda p: None,
        lambda p: True,
        "invalidate_lists",
        "lists: new generation",
    ),
    "invalidate a model's prefix": Action(
        lambda: reverse(INVALIDATE),
        lambda p: {"kind": "model", "model-model": "testapp.product", "model-action": "prefix"},
        lambda p: cache.set("product:77", 1),
        lambda p: cache.get("product:77") is None,
        "delete_prefix",
        "in the background",
    ),
    "invalidate a prefix": Action(
        lambda: reverse(INVALIDATE),
        lambda p: {"kind": "prefix", "prefix-prefix": "search:"},
        lambda p: cache.set("search:laptop", 1),
        lambda p: cache.get("search:laptop") is None,
        "delete_prefix",
        "in the background",
    ),
    "invalidate a fragment": Action(
        lambda: reverse(INVALIDATE),
        lambda p: {"kind": "fragment", "fragment-name": "recommendations", "fragment-vary_on": "7"},
        lambda p: cache.set(_fragment_key(), "<ul></ul>"),
        lambda p: cache.get(_fragment_key()) is None,
        "invalidate_fragment",
        "ecommendations: 1 key deleted",
    ),
    "invalidate a cached page": Action(
        lambda: reverse(INVALIDATE),
        lambda p: {"kind": "page", "page-path": "/products/"},
        lambda p: None,
        lambda p: True,
        "invalidate_page",
        "cache_page entries of /products/ in the background",
    ),
    "replay queued invalidations": Action(
        lambda: reverse(INVALIDATE),
        lambda p: {"kind": "replay"},
        _queue,
        lambda p: cache.get("search:q") is None and not QueuedInvalidation.objects.exists(),
        "invalidate_replay",
        "1 queued invalidation replayed",
    ),
    "delete a key": Action(
        lambda: _key_url("cache_admin_key_delete", "product:5"),
        lambda p: {},
        lambda p: cache.set("product:5", "x"),
        lambda p: cache.get("product:5") is None,
        "delete_key",
        "Deleted ",
    ),
    "delete selected keys": Action(
        lambda: reverse("admin:cache_admin_keys_delete"),
        lambda p: {"key": key_token(cache.make_key("product:8").encode()), "confirm": "yes"},
        lambda p: cache.set("product:8", "x"),
        lambda p: cache.get("product:8") is None,
        "delete_keys",
        "Deleted 1 key.",
    ),
    "set a key's TTL": Action(
        lambda: _key_url("cache_admin_key_ttl", "product:6"),
        lambda p: {"ttl": "77"},
        lambda p: cache.set("product:6", "x", timeout=None),
        lambda p: 0 < (cache.ttl("product:6") or 0) <= 77,
        "set_ttl",
        "TTL set to 77 s.",
    ),
    "delete by prefix": Action(
        lambda: reverse("admin:cache_admin_prefix_delete"),
        lambda p: {"prefix": "reco:"},
        lambda p: cache.set("reco:1", 1),
        lambda p: cache.get("reco:1") is None,
        "delete_prefix",
        "in the background",
    ),
    "add a TTL override": Action(
        lambda: reverse("admin:cache_admin_ttloverride_add"),
        lambda p: {"cache_type": "cart", "ttl": "90", "note": ""},
        lambda p: None,
        lambda p: TTLOverride.objects.filter(cache_type="cart", ttl=90).exists(),
        "add_ttl",
        "was added successfully",
    ),
}


def _wait_for_jobs(body: str) -> None:
    # Background deletions (P5) write their audit entry when they end.
    for job_id in body.split('data-job="')[1:]:
        assert deletion_jobs.join(job_id.split('"')[0], timeout=30)


def _job_of(location: str) -> None:
    if "/delete-prefix/" in location:
        assert deletion_jobs.join(location.rstrip("/").split("/")[-1], timeout=30)


@pytest.mark.parametrize("name", list(ACTIONS))
def test_a_reload_after_an_action_does_not_repeat_it(
    transactional_db: None,
    admin_client: Client,
    registered_product: type[Product],
    product: Product,
    name: str,
) -> None:
    action = ACTIONS[name]
    action.arm(product)
    response = admin_client.post(action.url(), action.data(product))
    assert response.status_code == 302, response.content[:300]
    location = response["Location"]
    _job_of(location)

    landed = admin_client.get(location)
    assert landed.status_code == 200
    body = landed.content.decode()
    _wait_for_jobs(body)
    assert action.message in body  # the result, once, as an admin message
    assert action.done(product)
    assert AuditEntry.objects.filter(action=action.audit).count() == 1

    action.arm(product)  # what the action removed is back: a repeat would remove it again
    again = admin_client.get(location).content.decode()
    _wait_for_jobs(again)
    assert action.message not in again
    assert AuditEntry.objects.filter(action=action.audit).count() == 1
    if name not in ("invalidate lists", "invalidate a cached page", "add a TTL override"):
        assert not action.done(product)


def test_a_form_with_errors_is_shown_again_and_does_nothing(
    admin_client: Client, registered_product: type[Product]
) -> None:
    response = admin_client.post(
        reverse(INVALIDATE),
        {"kind": "model", "model-model": "testapp.product", "model-action": "instance"},
    )
    assert response.status_code == 200
    assert "Enter the pk or slug" in response.content.decode()
    assert not AuditEntry.objects.exists()


@pytest.mark.parametrize("kind", ["", "bogus", "<script>"])
def test_an_unknown_action_is_refused_with_a_message(admin_client: Client, kind: str) -> None:
    response = admin_client.post(reverse(INVALIDATE), {"kind": kind})
    assert response.status_code == 400
    body = response.content.decode()
    assert "Choose one of the actions on this page." in body
    assert "<script>" not in body.split('id="cache-admin"')[1]
    assert not AuditEntry.objects.exists()


@pytest.mark.parametrize("job", ["nope", "x" * 5000, "../../etc"])
def test_a_forged_job_in_the_query_is_a_clear_note(admin_client: Client, job: str) -> None:
    response = admin_client.get(reverse(INVALIDATE), {"job": job})
    assert response.status_code == 200
    assert "This deletion job is unknown or has expired" in response.content.decode()
