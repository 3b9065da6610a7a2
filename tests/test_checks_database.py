"""The checks that read the database (run only when asked for): TTL override rows of an
unknown type (W001) or out of range (W005)."""

from __future__ import annotations

from cache_admin.models import TTLOverride
from tests.checks_support import _ids
from tests.override_rows import raw_row


def test_w001_override_for_unknown_type(db: None) -> None:
    # Written around the model's validation, as an old row would be after a type is removed.
    TTLOverride.objects.create(cache_type="gone_type", ttl=60)
    TTLOverride.objects.create(cache_type="cart", ttl=60)
    assert _ids() == []  # database checks run only when asked for
    [(found, msg)] = _ids(databases=["default"])
    assert found == "cache_admin.W001"
    assert "'gone_type'" in msg


def test_w005_override_out_of_range(db: None) -> None:
    raw_row("cart", 0)
    raw_row("category", 10**12)
    TTLOverride.objects.create(cache_type="product_list", ttl=60)
    assert _ids() == []  # database checks run only when asked for
    found = _ids(databases=["default"])
    assert [check for check, _ in found] == ["cache_admin.W005", "cache_admin.W005"]
    assert "TTL override for 'cart' is 0 s, outside 1 s - 2592000 s (30 days)" in found[0][1]
    assert "'category' is 1000000000000 s" in found[1][1]
