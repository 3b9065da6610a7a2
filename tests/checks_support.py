"""The package's system check messages, and CACHE_ADMIN changed for one test."""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, run_checks


def _ids(databases: list[str] | None = None) -> list[tuple[str, str]]:
    messages: list[CheckMessage] = run_checks(databases=databases)
    return [(str(m.id), m.msg) for m in messages if str(m.id).startswith("cache_admin.")]


def _set(settings: Any, **values: object) -> None:
    settings.CACHE_ADMIN = {**settings.CACHE_ADMIN, **values}
