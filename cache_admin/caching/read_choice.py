"""Which read a plain lookup sends: ``GET``, or ``SET key <lease> NX GET PX`` that also
takes the lease of a miss.

The leased read saves a miss a round trip (two instead of three: read and lease, then the
compare-and-set), but costs every hit about 3 µs more client CPU than a ``GET`` (redis-py
packs seven arguments instead of two), some 8 % of a ``cache.get``. Which one pays
depends on how often the lookups miss: with a loopback round trip worth some 25 µs, the
leased read pays from about one miss in ten. So each process keeps a moving share of
misses per slot family (as ``early`` keeps compute times) and leases in the read while the
share is above ``LEASED_READ_FROM``. A family not seen yet starts leased: a fresh process's
first lookups are the likeliest to miss.
"""

from __future__ import annotations

LEASED_READ_FROM = 0.1
# Weight of one lookup in the moving share: the read follows the last few dozen lookups.
STEP = 1 / 32

_miss_share: dict[str, float] = {}


def leased_read(family: str) -> bool:
    return _miss_share.get(family, 1.0) > LEASED_READ_FROM


def note(family: str, missed: bool) -> None:
    share = _miss_share.get(family, 1.0)
    _miss_share[family] = share + STEP * ((1.0 if missed else 0.0) - share)


def reset_for_tests() -> None:
    _miss_share.clear()
