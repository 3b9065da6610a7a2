"""Showing cached values safely (S3).

A value is decoded the way the backends wrote it: integers as digits, otherwise an optional
django-redis compressor around a serializer (pickle by default, JSON possible). Pickles go
through :class:`RestrictedUnpickler`, which imports only an allowlist and names every other
class or function the data asked for instead of importing it. ``pickle.loads`` is never
called on stored data. Everything returned is plain text, for templates to escape.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from cache_admin.decoding import shape
from cache_admin.decoding.decompress import decompress
from cache_admin.decoding.pretty import pretty
from cache_admin.decoding.unpickler import RestrictedUnpickler, restricted_loads
from cache_admin.lease import LEASE_PREFIX

__all__ = ["DecodedValue", "RestrictedUnpickler", "decode", "hexdump", "restricted_loads"]

# Values up to this size are fetched and decoded whole; larger ones only previewed.
MAX_DECODE_BYTES = 1024 * 1024
# A decompressed value larger than this is not unpickled (a compression bomb stops here).
MAX_DECOMPRESSED_BYTES = 4 * 1024 * 1024
# Characters of text shown for one value.
DEFAULT_LIMIT = 20_000
_INT = re.compile(rb"-?\d{1,40}")


@dataclass(frozen=True)
class DecodedValue:
    kind: str  # empty | int | lease | pickle | refused | json | text | binary | preview
    text: str  # what to show, already truncated; plain text
    size: int  # the full stored size in bytes
    truncated: bool = False
    compression: str | None = None  # zlib | gzip | lzma | zstd | lz4
    python_type: str | None = None
    refused: tuple[str, ...] = ()
    note: str | None = None


def decode(
    data: bytes, *, full_size: int | None = None, limit: int = DEFAULT_LIMIT
) -> DecodedValue:
    """Decode stored bytes for display. ``full_size`` says ``data`` is only the start of it."""
    size = len(data) if full_size is None else full_size
    found = _recognised(data, size, full_size, limit)
    if found is not None:
        return found
    compression: str | None = None
    unpacked = decompress(data, MAX_DECOMPRESSED_BYTES)
    if unpacked is not None:
        compression, payload, error = unpacked
        if payload is None:
            return _raw(data, size, limit, compression=compression, note=error)
        if error:
            return _raw(payload, size, limit, compression=compression, note=error, truncated=True)
        data = payload
    note: str | None = None
    if len(data) > 1 and data[0] == 0x80 and 2 <= data[1] <= 5:  # PROTO 2..5
        found, note = _unpickled(data, size, limit, compression)
        if found is not None:
            return found
    return _text(data, size, limit, compression, note)


def _recognised(data: bytes, size: int, full_size: int | None, limit: int) -> DecodedValue | None:
    """What is known before decompressing: nothing, a preview, an integer, a lease."""
    if size == 0:
        return DecodedValue("empty", "", 0)
    if full_size is not None and full_size > len(data):
        preview = f"The value is {size:,} bytes; only the first {len(data):,} are shown, undecoded."
        return _raw(data, size, limit, kind="preview", note=preview, truncated=True)
    if _INT.fullmatch(data):
        return DecodedValue("int", data.decode(), size, python_type="int")
    if data.startswith(LEASE_PREFIX):
        # The read-through engine's lease (cache_admin/lease.py): a fill is computing it.
        return DecodedValue(
            "lease",
            "A fill is in progress: a process holds the lease while it computes this value.",
            size,
            note="cache.get() reads this key as a miss until the value is written.",
        )
    return None


def _unpickled(
    data: bytes, size: int, limit: int, compression: str | None
) -> tuple[DecodedValue | None, str | None]:
    """The pickle shown (or refused); else None and why it could not be read."""
    unpickler = RestrictedUnpickler(data)
    note: str | None = None
    try:
        shape.check(data)
        value = unpickler.run()
    except shape.ExpansionError as exc:
        note = f"Not unpickled: {exc}."
    except Exception as exc:  # corrupt or truncated data, or a refused stand-in misused
        note = f"Not a readable pickle ({type(exc).__name__}: {str(exc)[:200]})."
    else:
        if not unpickler.refused:
            text, cut = pretty(value, limit)
            found = DecodedValue("pickle", text, size, cut, compression, _type_name(value))
            return found, None
    if unpickler.refused:
        refused = tuple(unpickler.refused)
        text = "Not shown: the value needs " + ", ".join(refused) + ", which are not allowed."
        return DecodedValue("refused", text, size, False, compression, None, refused, note), note
    return None, note


def _text(
    data: bytes, size: int, limit: int, compression: str | None, note: str | None
) -> DecodedValue:
    """UTF-8 text (JSON indented), else bytes as a hex dump."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return _raw(data, size, limit, compression=compression, note=note)
    if text.lstrip()[:1] in ("{", "[", '"'):
        try:
            text = json.dumps(json.loads(text), indent=2, ensure_ascii=False)
        except (ValueError, RecursionError):  # not JSON, or nested past what can be shown
            pass
        else:
            shown, cut = _cut(text, limit)
            return DecodedValue("json", shown, size, cut, compression, "json", (), note)
    shown, cut = _cut(text, limit)
    return DecodedValue("text", shown, size, cut, compression, "str", (), note)


def _cut(text: str, limit: int) -> tuple[str, bool]:
    return (text, False) if len(text) <= limit else (text[:limit], True)


def _raw(
    data: bytes,
    size: int,
    limit: int,
    *,
    kind: str | None = None,
    compression: str | None = None,
    note: str | None = None,
    truncated: bool = False,
) -> DecodedValue:
    try:
        text, cut = _cut(data.decode("utf-8"), limit)
        found = kind or "text"
    except UnicodeDecodeError:
        text, cut = hexdump(data, limit)
        found = kind or "binary"
    return DecodedValue(found, text, size, cut or truncated, compression, None, (), note)


def hexdump(data: bytes, limit: int = DEFAULT_LIMIT) -> tuple[str, bool]:
    lines = []
    width = 16
    max_lines = max(1, limit // 78)
    for offset in range(0, min(len(data), max_lines * width), width):
        chunk = data[offset : offset + width]
        hexes = " ".join(f"{b:02x}" for b in chunk)
        text = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
        lines.append(f"{offset:08x}  {hexes:<47}  {text}")
    return "\n".join(lines), len(data) > max_lines * width


def _type_name(value: Any) -> str:
    cls = type(value)
    meta = getattr(value, "_meta", None)
    if meta is not None and hasattr(meta, "label"):
        return str(meta.label)
    module = cls.__module__
    return cls.__qualname__ if module == "builtins" else f"{module}.{cls.__qualname__}"
