"""Probabilistic early refresh (XFetch; Vattani, Chierichetti, Lowenstein, VLDB 2015).

A hit refreshes ahead of expiry when ``compute_time * beta * -ln(U) >= time_left``, with U
uniform in (0, 1]: rarely while expiry is far, almost surely just before it, and earlier for
values that take long to compute. ``compute_time`` is a moving average measured in this
process per slot family; before the first measurement nothing is refreshed early.
"""

from __future__ import annotations

import math
import random

from cache_admin.caching.link import Slot

# Recent compute times per slot family (seconds, moving average).
durations: dict[str, float] = {}


def should_refresh(slot: Slot, pttl: int) -> bool:
    delta = durations.get(slot.family)
    if not delta or pttl <= 0:
        return False
    return delta * slot.early_refresh * -math.log(1.0 - random.random()) * 1000 >= pttl


def note_duration(slot: Slot, seconds: float) -> None:
    if slot.early_refresh:
        previous = durations.get(slot.family)
        durations[slot.family] = seconds if previous is None else 0.8 * previous + 0.2 * seconds
