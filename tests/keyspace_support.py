"""Following the key browser's cursor from the first page to the last."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from cache_admin import keyspace
from cache_admin.keyspace.scan import ScanPage

MAX_PAGES = 1000


def every_page(prefix: str, **options: Any) -> Iterator[ScanPage]:
    """Each page of the walk under ``prefix`` (``scan_page`` options), until it is done."""
    token = "0"
    for _ in range(MAX_PAGES):
        page = keyspace.scan_page(prefix, cursor=token, **options)
        yield page
        if page.done:
            return
        token = page.cursor
    raise AssertionError("the walk did not end")
