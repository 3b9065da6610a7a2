"""The slow log of one node (``SLOWLOG GET``), bounded and with its arguments cut short.

Arguments are text for people: decoded with ``\\xNN`` for other bytes and for control
characters (a NUL or an escape sequence is shown, not obeyed), at most
``ARGUMENTS`` of them, each at most ``ARGUMENT_CHARS`` characters. They may hold values
and names from the keyspace (the template escapes them, like everything it shows).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import redis

ENTRIES = 50
ARGUMENTS = 8
ARGUMENT_CHARS = 80
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class SlowEntry:
    id: int
    started: datetime
    microseconds: int
    command: str
    arguments: tuple[str, ...]
    more_arguments: int  # left out here (Redis itself keeps at most 32)
    client: str  # address
    client_name: str


def text(value: Any, limit: int = ARGUMENT_CHARS) -> str:
    """Readable, bounded text for a reply element: bytes that are not UTF-8, and control
    characters, as ``\\xNN`` escapes."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="backslashreplace")
    shown = _CONTROL.sub(lambda found: f"\\x{ord(found.group()):02x}", str(value))
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


def _entry(raw: Any) -> SlowEntry | None:
    if not isinstance(raw, (list, tuple)) or len(raw) < 4:
        return None
    # Redis Enterprise puts the command's complexity before the command.
    words = raw[3] if isinstance(raw[3], (list, tuple)) else raw[4] if len(raw) > 4 else []
    extra = list(raw[4:]) if isinstance(raw[3], (list, tuple)) else list(raw[5:])
    words = list(words) or [b"?"]
    return SlowEntry(
        id=int(raw[0]),
        started=datetime.fromtimestamp(int(raw[1]), tz=timezone.utc),
        microseconds=int(raw[2]),
        command=text(words[0], 40).upper(),
        arguments=tuple(text(word) for word in words[1 : ARGUMENTS + 1]),
        more_arguments=max(0, len(words) - 1 - ARGUMENTS),
        client=text(extra[0], 60) if extra else "",
        client_name=text(extra[1], 60) if len(extra) > 1 else "",
    )


def slow_log(client: redis.Redis, entries: int = ENTRIES) -> tuple[list[SlowEntry], int]:
    """The newest ``entries`` of the slow log, and how many it holds in all."""
    # The raw command: redis-py's own parser joins the arguments with spaces, and one
    # could not tell them apart.
    raw = client.execute_command("SLOWLOG", "GET", entries)  # type: ignore[no-untyped-call]
    length = int(client.slowlog_len())
    found = [entry for entry in map(_entry, raw or []) if entry is not None]
    return found, length
