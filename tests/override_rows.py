"""Write TTL override rows the way a database without CHECK constraints would let them in."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from django.db import connection

from cache_admin.models import TTLOverride


@contextlib.contextmanager
def unchecked_database() -> Iterator[None]:
    """SQLite as a database that does not enforce CHECK constraints (MySQL before 8.0.16,
    a restored dump, a table altered by hand): rows the constraint refuses get in."""
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA ignore_check_constraints = ON")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA ignore_check_constraints = OFF")


def raw_row(cache_type: str, ttl: int) -> None:
    with unchecked_database():
        TTLOverride.objects.bulk_create([TTLOverride(cache_type=cache_type, ttl=ttl)])
