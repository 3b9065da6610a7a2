"""Validation of what users send to the key browser: prefixes, cursors, sizes, types."""

from __future__ import annotations

from typing import Any

from cache_admin.conf import MAX_BUDGET, MAX_PAGE_SIZE, conf

REDIS_TYPES = ("string", "hash", "list", "set", "zset", "stream")
MAX_PREFIX_LENGTH = 1000
MAX_CURSOR = 2**64 - 1


def prefix(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValueError("The prefix must be text.")
    if len(value) > MAX_PREFIX_LENGTH:
        raise ValueError(
            f"The prefix is {len(value)} characters long; at most {MAX_PREFIX_LENGTH} are accepted."
        )
    return value


def whole_number(value: Any, what: str, low: int, high: int) -> int:
    if isinstance(value, bool):
        raise ValueError(f"The {what} must be a whole number from {low} to {high}.")
    if isinstance(value, str):
        text = value.strip()
        if not text.isdigit() or len(text) > 20:
            raise ValueError(f"The {what} must be a whole number from {low} to {high}.")
        value = int(text)
    if not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"The {what} must be a whole number from {low} to {high}.")
    return value


def page_size(value: Any) -> int:
    if value is None or value == "":
        value = conf.CONSOLE_PAGE_SIZE
    return whole_number(value, "page size", 1, MAX_PAGE_SIZE)


def budget(value: Any) -> int:
    if value is None or value == "":
        value = conf.CONSOLE_SCAN_BUDGET
    return whole_number(value, "scan budget", 1, MAX_BUDGET)


def redis_type(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if value not in REDIS_TYPES:
        raise ValueError(
            f"Unknown Redis type {str(value)[:40]!r}; use one of {', '.join(REDIS_TYPES)}."
        )
    return str(value)


def delimiter(value: Any) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= 10:
        raise ValueError("The delimiter must be 1 to 10 characters, such as ':'.")
    return value
