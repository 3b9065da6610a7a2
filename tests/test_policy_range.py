"""TTL overrides outside 1 s - 30 days: refused by the model and the database, and ignored
where the policy reads them when one gets in anyway (the type's default applies)."""

from __future__ import annotations

import logging

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor

from cache_admin import policy
from cache_admin.models import TTLOverride
from cache_admin.types import MAX_TTL
from tests.override_rows import raw_row

OUT_OF_RANGE = [0, -5, MAX_TTL + 1, 10**12]


@pytest.mark.django_db
@pytest.mark.parametrize("ttl", OUT_OF_RANGE)
def test_the_model_refuses_it_on_save_and_full_clean(ttl: int) -> None:
    override = TTLOverride(cache_type="cart", ttl=ttl)
    with pytest.raises(ValidationError) as raised:
        override.full_clean()
    assert "ttl" in raised.value.message_dict
    with pytest.raises(ValidationError, match="from 1 second to 30 days"):
        override.save()
    with pytest.raises(ValidationError):
        TTLOverride.objects.create(cache_type="cart", ttl=ttl)
    assert not TTLOverride.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("ttl", [0, MAX_TTL + 1])
def test_the_database_refuses_it_too(ttl: int) -> None:
    # What skips save(): bulk_create, update(), raw SQL.
    with pytest.raises(IntegrityError), transaction.atomic():
        TTLOverride.objects.bulk_create([TTLOverride(cache_type="cart", ttl=ttl)])
    TTLOverride.objects.create(cache_type="cart", ttl=60)
    with pytest.raises(IntegrityError), transaction.atomic():
        TTLOverride.objects.filter(cache_type="cart").update(ttl=ttl)
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE cache_admin_ttloverride SET ttl = %s", [ttl])
    assert TTLOverride.objects.get().ttl == 60


@pytest.mark.django_db
@pytest.mark.parametrize("ttl", OUT_OF_RANGE)
def test_a_row_that_gets_in_is_ignored_and_the_default_applies(ttl: int) -> None:
    raw_row("cart", ttl)
    TTLOverride.objects.create(cache_type="category", ttl=120)
    assert policy.reload()
    assert policy.ttl_for("cart", jitter=False) == 1800  # the type's default
    assert policy.ttl_for("category", jitter=False) == 120  # the others apply
    assert policy.overrides() == {"category": 120}
    cart = next(t for t in policy.effective_ttls() if t.cache_type.name == "cart")
    assert (cart.override, cart.ignored, cart.effective) == (None, ttl, 1800)


@pytest.mark.django_db
def test_an_ignored_row_is_logged_once_per_value(caplog: pytest.LogCaptureFixture) -> None:
    raw_row("cart", 10**12)
    with caplog.at_level(logging.ERROR, logger="cache_admin"):
        for _ in range(3):
            policy.reload()
        TTLOverride.objects.filter(cache_type="cart").delete()
        raw_row("cart", 0)
        policy.reload()
    lines = [r.getMessage() for r in caplog.records if "TTL override for 'cart'" in r.getMessage()]
    assert len(lines) == 2
    assert "is 1000000000000 s, outside 1 s - 2592000 s: ignored" in lines[0]
    assert "is 0 s" in lines[1]


@pytest.mark.django_db(transaction=True)
def test_the_migration_removes_rows_the_constraint_refuses() -> None:
    executor = MigrationExecutor(connection)
    before = [("cache_admin", "0004_queuedinvalidation")]
    after = [("cache_admin", "0005_ttloverride_ttl_range")]
    executor.migrate(before)
    try:
        with connection.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO cache_admin_ttloverride "
                "(cache_type, ttl, note, created_at, updated_at) VALUES (%s, %s, '', %s, %s)",
                [
                    ("cart", 0, "2026-01-01", "2026-01-01"),
                    ("category", 10**12, "2026-01-01", "2026-01-01"),
                    ("search_results", 60, "2026-01-01", "2026-01-01"),
                ],
            )
        executor = MigrationExecutor(connection)
        executor.migrate(after)
    finally:
        MigrationExecutor(connection).migrate(
            MigrationExecutor(connection).loader.graph.leaf_nodes()
        )
    assert list(TTLOverride.objects.values_list("cache_type", "ttl")) == [("search_results", 60)]
