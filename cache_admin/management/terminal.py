"""Terminal output for the management commands: bars and tables redrawn in place on a TTY."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

BAR_WIDTH = 30


def positive_seconds(text: str) -> float:
    """An argparse type: a positive, finite number of seconds."""
    from argparse import ArgumentTypeError

    try:
        value = float(text)
    except ValueError:
        raise ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 < value < float("inf"):
        raise ArgumentTypeError(f"{text!r}: give a positive number of seconds")
    return value


def bar(label: str, current: int, total: int, width: int = BAR_WIDTH) -> str:
    if total > 0:
        done = min(current, total)
        filled = int(width * done / total)
        drawn = "#" * filled + "." * (width - filled)
        return f"{label:<24} [{drawn}] {done}/{total} {100 * done // total:3d}%"
    return f"{label:<24} [{'.' * width}] {current} done"


class Stream(Protocol):
    def write(self, text: str, /) -> Any: ...

    def flush(self) -> Any: ...


def raw(out: Any) -> Stream:
    """The stream under Django's OutputWrapper (which would append a newline to each write)."""
    return getattr(out, "_out", out)  # type: ignore[no-any-return]


class LiveBlock:
    """A block of lines redrawn in place: cursor back up over the last drawing, clear, redraw."""

    def __init__(self, out: Any) -> None:
        self.out = raw(out)
        self.height = 0

    def draw(self, lines: Sequence[str]) -> None:
        parts = []
        if self.height:
            parts.append(f"\x1b[{self.height}F\x1b[J")
        parts.extend(f"{line}\n" for line in lines)
        self.out.write("".join(parts))
        self.out.flush()
        self.height = sum(1 + line.count("\n") for line in lines)
