"""Counts and times in words: plurals, seconds and minutes, "just now"."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from cache_admin import wording

NOW = timezone.now()


@pytest.mark.parametrize(
    ("n", "keys", "fills"),
    [(0, "0 keys", "0 fills"), (1, "1 key", "1 fill"), (4002, "4,002 keys", "4,002 fills")],
)
def test_counts_agree_with_their_number(n: int, keys: str, fills: str) -> None:
    assert wording.keys(n) == keys
    assert wording.fills(n) == fills


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1, "1 second"),
        (1.5, "1.5 seconds"),
        (5, "5 seconds"),
        (0.5, "0.5 seconds"),
        (119, "119 seconds"),
        (120, "2 minutes"),
        (437, "about 7 minutes"),
    ],
)
def test_seconds(value: float, text: str) -> None:
    assert wording.seconds(value) == text


@pytest.mark.parametrize(
    ("elapsed", "text"),
    [
        (timedelta(seconds=0), "just now"),
        (timedelta(seconds=9), "just now"),
        (timedelta(seconds=25), "25 seconds ago"),
        (timedelta(minutes=3, seconds=10), "3\xa0minutes ago"),
        (timedelta(hours=2, minutes=5), "2\xa0hours, 5\xa0minutes ago"),
    ],
)
def test_ago_never_says_zero_minutes(elapsed: timedelta, text: str) -> None:
    assert wording.ago(NOW - elapsed, NOW) == text


def test_ago_of_nothing_is_empty() -> None:
    assert wording.ago(None) == ""


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0, "0.0 µs"),
        (1.26, "1.3 µs"),
        (999.9, "999.9 µs"),
        (28_961, "29.0 ms"),
        (4_200_000, "4.20 s"),
    ],
)
def test_microseconds(value: float, text: str) -> None:
    assert wording.microseconds(value) == text
