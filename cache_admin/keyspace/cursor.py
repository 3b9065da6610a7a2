"""The key browser's cursor token: where the walk stands on every primary node, in one string.

A token is ``0`` (the start) or ``<node>-<node>-...~<check>``, one part per primary node:

- ``x``: that node's SCAN has ended;
- ``<position>``: its SCAN continues at that cursor;
- ``<position>_<count>_<after>``: a page ended inside the batch that SCAN returns at
  ``<position>`` with COUNT ``<count>``; the next page asks for the same batch again and
  keeps its keys whose 64-bit hash (hex) is above ``<after>``, so a page holds exactly its
  page size and no key is skipped (a key that appeared meanwhile may be left out, as SCAN
  itself may).

``<check>`` is a short digest of the parts: a token edited by hand or cut short is refused
with a message instead of sending Redis a cursor nobody issued.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

START = "0"
MAX_TOKEN = 4000
_PART = re.compile(r"x|(\d{1,20})(?:_(\d{1,9})_([0-9a-f]{16}))?")
MAX_POSITION = 2**64 - 1
BAD = (
    "The cursor token is not valid (edited or cut short?); use the link to the next page, "
    "or start again from the beginning."
)


@dataclass
class NodeCursor:
    position: int = 0
    done: bool = False
    # Set when a page ended inside the batch at ``position``: its COUNT and the last hash shown.
    count: int | None = None
    after: int | None = None

    def text(self) -> str:
        if self.done:
            return "x"
        if self.count is not None and self.after is not None:
            return f"{self.position}_{self.count}_{self.after:016x}"
        return str(self.position)


def key_hash(key: bytes) -> int:
    """The order in which a batch's keys fill a page when it does not fit whole."""
    return int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "big")


def _check(body: str) -> str:
    return hashlib.blake2b(body.encode(), digest_size=4).hexdigest()


def encode(nodes: list[NodeCursor]) -> str:
    """The token for these positions; START once every node is done (the walk is over)."""
    if all(node.done for node in nodes) or all(
        node.position == 0 and node.count is None and not node.done for node in nodes
    ):
        return START
    body = "-".join(node.text() for node in nodes)
    return f"{body}~{_check(body)}"


def decode(token: object, nodes: int) -> list[NodeCursor]:
    """The positions a token names, for a cache of ``nodes`` primaries; ValueError with a
    message for people on anything else."""
    text = START if token is None or token == "" else str(token).strip()
    if text == START:
        return [NodeCursor() for _ in range(nodes)]
    if len(text) > MAX_TOKEN or text.count("~") != 1:
        raise ValueError(BAD)
    body, check = text.split("~")
    if _check(body) != check:
        raise ValueError(BAD)
    parts = body.split("-")
    if len(parts) != nodes:
        raise ValueError(
            f"The cursor token was made for {len(parts)} Redis node(s); the cache has {nodes} "
            "now. Start again from the beginning."
        )
    found = []
    for part in parts:
        match = _PART.fullmatch(part)
        if match is None:
            raise ValueError(BAD)
        if part == "x":
            found.append(NodeCursor(done=True))
            continue
        position = int(match[1])
        if position > MAX_POSITION:
            raise ValueError(BAD)
        count = int(match[2]) if match[2] else None
        after = int(match[3], 16) if match[3] else None
        found.append(NodeCursor(position, False, count or None, after))
    return found
