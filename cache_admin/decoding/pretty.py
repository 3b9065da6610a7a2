"""A bounded pretty-printer for unpickled values.

``pprint`` would follow shared references and deep nesting without limit (a small pickle
can describe an exponentially large tree); this one stops at a character budget and a depth.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

MAX_DEPTH = 12
MAX_STRING = 2000
_INLINE = 80


class _Full(Exception):
    pass


class _Printer:
    def __init__(self, limit: int) -> None:
        self.parts: list[str] = []
        self.left = limit

    def write(self, text: str) -> None:
        if len(text) > self.left:
            self.parts.append(text[: self.left])
            self.left = 0
            raise _Full
        self.parts.append(text)
        self.left -= len(text)

    def value(self, obj: Any, indent: int, depth: int, stack: tuple[int, ...]) -> None:
        if id(obj) in stack:
            self.write("<cycle>")
            return
        opened = _opening(obj)
        if opened is None:
            self.write(_scalar(obj))
            return
        if depth >= MAX_DEPTH:
            self.write(opened[0] + "...")
            self.write(opened[1])
            return
        head, tail, items = opened
        inline = _try_inline(obj) if depth < MAX_DEPTH - 1 else None
        if inline is not None:
            self.write(inline)
            return
        stack = (*stack, id(obj))
        self.write(head + "\n")
        pad = " " * (indent + 2)
        if _is_sequence(obj) and _all_scalars(obj):
            self._packed(obj, pad)
            self.write(" " * indent + tail)
            return
        for key, item in items:
            self.write(pad)
            if key is not _NO_KEY:
                self.write(_short(key) + ": ")
            self.value(item, indent + 2, depth + 1, stack)
            self.write(",\n")
        self.write(" " * indent + tail)

    def _packed(self, items: Any, pad: str) -> None:
        """Scalars of a sequence several to a line, as pprint does with compact=True."""
        line = ""
        for item in items:
            text = _short(item) + ","
            if line and len(pad) + len(line) + 1 + len(text) > _INLINE:
                self.write(pad + line + "\n")
                line = ""
            line = f"{line} {text}" if line else text
        if line:
            self.write(pad + line + "\n")


_NO_KEY = object()


def _is_sequence(obj: Any) -> bool:
    return isinstance(obj, (list, tuple, set, frozenset)) or type(obj).__name__ == "deque"


def _all_scalars(obj: Any) -> bool:
    """Judged on the first items only: a long list is not walked twice."""
    return all(_opening(item) is None for item in itertools.islice(obj, 50))


def _short(obj: Any) -> str:
    """One bounded line for anything, keys included (a tuple key can nest without end)."""
    if _opening(obj) is None:
        return _scalar(obj)
    return _try_inline(obj) or f"{type(obj).__name__}(...)"


def _response_fields(obj: Any) -> dict[str, Any]:
    charset = getattr(obj, "charset", None) or "utf-8"
    try:
        content: Any = obj.content.decode(charset, errors="replace")
    except Exception:  # a response without a readable body
        content = "<unreadable content>"
    return {
        "status_code": getattr(obj, "status_code", None),
        "headers": dict(getattr(obj, "headers", {}).items()),
        "cookies": {name: morsel.value for name, morsel in getattr(obj, "cookies", {}).items()},
        "content": content,
    }


def _opening(obj: Any) -> tuple[str, str, Any] | None:
    from django.http import HttpResponse

    if type(obj) is HttpResponse:
        return "<HttpResponse> {", "}", _response_fields(obj).items()
    meta = getattr(obj, "_meta", None)
    if meta is not None and hasattr(meta, "label") and hasattr(obj, "__dict__"):
        fields = {k: v for k, v in vars(obj).items() if not k.startswith("_")}
        return f"<{meta.label} pk={_scalar(getattr(obj, 'pk', None))}> {{", "}", fields.items()
    if isinstance(obj, Mapping):
        name = "" if type(obj) is dict else type(obj).__name__
        return f"{name}{{", "}", obj.items()
    if _is_sequence(obj):
        if isinstance(obj, list):
            head, tail = "[", "]"
        elif isinstance(obj, tuple):
            head, tail = "(", ")"
        elif type(obj) is set:
            if not obj:
                return None  # repr: set()
            head, tail = "{", "}"
        else:
            head, tail = f"{type(obj).__name__}({{", "})"
        return head, tail, ((_NO_KEY, item) for item in obj)
    return None


def _scalar(obj: Any) -> str:
    if isinstance(obj, (str, bytes, bytearray)) and len(obj) > MAX_STRING:
        return repr(obj[:MAX_STRING]) + f"... ({len(obj):,} in all)"
    try:
        text = repr(obj)
    except Exception as exc:  # a refused stand-in or a half-built object
        text = f"<{type(obj).__name__}: repr failed: {type(exc).__name__}>"
    return text if len(text) <= MAX_STRING else text[:MAX_STRING] + "..."


def _try_inline(obj: Any) -> str | None:
    printer = _Printer(_INLINE + 1)
    try:
        _flat(printer, obj, 0, ())
    except _Full:
        return None
    return "".join(printer.parts)


def _flat(printer: _Printer, obj: Any, depth: int, stack: tuple[int, ...]) -> None:
    opened = _opening(obj)
    if opened is None or id(obj) in stack or depth >= 4:
        if opened is not None:  # nested containers are never put on one line past 4 levels
            raise _Full
        printer.write(_scalar(obj))
        return
    head, tail, items = opened
    printer.write(head)
    for i, (key, item) in enumerate(items):
        if i:
            printer.write(", ")
        if key is not _NO_KEY:
            printer.write(_short(key) + ": ")
        _flat(printer, item, depth + 1, (*stack, id(obj)))
    printer.write(tail)


def pretty(obj: Any, limit: int) -> tuple[str, bool]:
    """The text of ``obj`` within ``limit`` characters, and whether it was cut."""
    printer = _Printer(limit)
    try:
        printer.value(obj, 0, 0, ())
    except _Full:
        return "".join(printer.parts), True
    return "".join(printer.parts), False
