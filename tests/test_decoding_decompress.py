"""Compressed values the key browser meets: zstd and lz4 (django-redis compressors whose
packages the project does not depend on), and data that only looks compressed."""

from __future__ import annotations

import zlib

import pytest

from cache_admin.decoding.decompress import _lz4_engine, _zstd_engine, decompress

ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
LZ4_MAGIC = b"\x04\x22\x4d\x18"


@pytest.mark.parametrize(
    ("kind", "magic", "engine", "package"),
    [
        ("zstd", ZSTD_MAGIC, _zstd_engine, "pyzstd"),
        ("lz4", LZ4_MAGIC, _lz4_engine, "lz4"),
    ],
)
def test_zstd_and_lz4_say_which_package_decodes_them(
    kind: str, magic: bytes, engine: object, package: str
) -> None:
    data = magic + b"\x00" * 16
    found = decompress(data, 1000)
    if callable(engine) and engine() is not None:  # the package is installed: not decodable
        assert found is None
    else:
        assert found == (kind, None, f"{kind}-compressed; install {package} to decode it.")


def test_bytes_that_only_start_like_a_header_are_shown_raw() -> None:
    assert decompress(b"x\x9c not zlib at all", 1000) is None
    truncated = zlib.compress(b"a" * 1000)[:-8]  # a stream that ends early
    assert decompress(truncated, 10_000) is None
    assert decompress(b"plain", 1000) is None


def test_output_past_the_limit_is_cut_and_says_so() -> None:
    assert decompress(zlib.compress(b"a" * 5000), 100) == (
        "zlib",
        b"a" * 100,
        "Decompressed, it exceeds 100 bytes; the start is shown raw.",
    )
