"""The lease: what a key holds while a read-through fill computes its value (C1).

The fill engine writes it, the console's value decoder recognises it.
"""

from __future__ import annotations

import itertools
import secrets

from cache_admin.background import on_fork

# A lease is stored in the key it guards. It starts with "N.", a complete protocol-0
# pickle of None, so a plain cache.get() of a key being filled reads a miss (pickle ignores
# the bytes after its STOP opcode) instead of failing. Nothing Django writes starts like
# this: its pickles start with the PROTO opcode 0x80, zlib with 0x78, integers are digits.
LEASE_PREFIX = b"N.\x00cache_admin-lease:"


class _Leases:
    """Every lookup offers a lease (the read takes it when the key is absent): a random
    part drawn once per process and a counter keep them apart, cheaper than a random draw
    per lookup."""

    def __init__(self) -> None:
        self.prefix = LEASE_PREFIX + secrets.token_hex(8).encode() + b":"
        self.counter = itertools.count()


_leases = _Leases()


@on_fork
def _after_fork_in_child() -> None:
    # A child counting on from its parent's random part would offer the parent's leases.
    global _leases
    _leases = _Leases()


def new_lease() -> bytes:
    """A lease of this fill's own, told apart from any other by compare-and-set."""
    leases = _leases
    return b"%s%d" % (leases.prefix, next(leases.counter))
