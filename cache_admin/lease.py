"""The lease: what a key holds while a read-through fill computes its value (C1).

The fill engine writes it, the console's value decoder recognises it.
"""

from __future__ import annotations

import secrets

# A lease is stored in the key it guards. It starts with "N.", a complete protocol-0
# pickle of None, so a plain cache.get() of a key being filled reads a miss (pickle ignores
# the bytes after its STOP opcode) instead of failing. Nothing Django writes starts like
# this: its pickles start with the PROTO opcode 0x80, zlib with 0x78, integers are digits.
LEASE_PREFIX = b"N.\x00cache_admin-lease:"


def new_lease() -> bytes:
    """A lease of this fill's own, told apart from any other by compare-and-set."""
    return LEASE_PREFIX + secrets.token_hex(8).encode()
