"""S2: a key reaches the console's key pages only as bytes inside the site's KEY_PREFIX."""

from __future__ import annotations

import pytest

from cache_admin import stored_keys
from cache_admin.keyspace import names


def test_a_key_given_as_text_is_taken_as_its_utf8_bytes() -> None:
    inside = stored_keys.site_prefix() + "product:é"
    assert names.require_inside(inside) == inside.encode()
    assert names.key_token(inside) == names.key_token(inside.encode())


@pytest.mark.parametrize(
    ("stored", "message"),
    [
        (42, "A key is given as bytes."),
        (b"x" * (names.MAX_KEY_BYTES + 1), "longer than"),
    ],
)
def test_what_cannot_be_a_key_of_this_site_is_refused(stored: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        names.require_inside(stored)
