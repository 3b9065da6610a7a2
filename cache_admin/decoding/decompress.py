"""Undo django-redis compressors, recognised by their magic bytes, with a bounded output."""

from __future__ import annotations

import importlib
import lzma
import zlib
from typing import Any


def _zlib(data: bytes, limit: int, wbits: int) -> tuple[bytes, bool]:
    engine = zlib.decompressobj(wbits)
    out = engine.decompress(data, limit)
    return out, engine.eof


def _streaming(engine: Any, data: bytes, limit: int) -> tuple[bytes, bool]:
    out = engine.decompress(data, max_length=limit)
    return bytes(out), bool(engine.eof)


def _zstd_engine() -> Any:
    for module in ("pyzstd", "compression.zstd"):
        try:
            return importlib.import_module(module).ZstdDecompressor()
        except (ImportError, AttributeError):
            continue
    return None


def _lz4_engine() -> Any:
    try:
        return importlib.import_module("lz4.frame").LZ4FrameDecompressor()
    except ImportError:
        return None


def _kind(data: bytes) -> str | None:
    if len(data) >= 2 and data[0] == 0x78 and (data[0] * 256 + data[1]) % 31 == 0:
        return "zlib"
    if data.startswith(b"\x1f\x8b"):
        return "gzip"
    if data.startswith(b"\xfd7zXZ\x00"):
        return "lzma"
    if data.startswith(b"\x28\xb5\x2f\xfd"):
        return "zstd"
    if data.startswith(b"\x04\x22\x4d\x18"):
        return "lz4"
    return None


def decompress(data: bytes, limit: int) -> tuple[str, bytes | None, str | None] | None:
    """None when ``data`` is not compressed; else (name, output or None, problem or None).

    A compressed-looking value that fails to decompress is shown raw (it may just be
    bytes that happen to start like a header).
    """
    kind = _kind(data)
    if kind is None:
        return None
    try:
        if kind == "zlib":
            out, complete = _zlib(data, limit, zlib.MAX_WBITS)
        elif kind == "gzip":
            out, complete = _zlib(data, limit, 16 + zlib.MAX_WBITS)
        elif kind == "lzma":
            out, complete = _streaming(lzma.LZMADecompressor(), data, limit)
        else:
            engine = _zstd_engine() if kind == "zstd" else _lz4_engine()
            if engine is None:
                package = "pyzstd" if kind == "zstd" else "lz4"
                return kind, None, f"{kind}-compressed; install {package} to decode it."
            out, complete = _streaming(engine, data, limit)
    except Exception:
        return None
    if not complete:
        if len(out) >= limit:
            return kind, out, f"Decompressed, it exceeds {limit:,} bytes; the start is shown raw."
        return None  # truncated stream: not really compressed data
    return kind, out, None
