"""S3: cached values are shown through a restricted unpickler, decompressed and bounded."""

from __future__ import annotations

import collections
import datetime
import decimal
import gzip
import json
import lzma
import os
import pickle
import uuid
import zlib
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import caches
from django_redis.compressors.gzip import GzipCompressor
from django_redis.compressors.lzma import LzmaCompressor
from django_redis.compressors.zlib import ZlibCompressor

from cache_admin import backend, decoding, stored_keys
from tests.testapp.models import Category, Product


class RunsCode:
    """Unpickling this with plain pickle.loads runs a shell command."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, (f"touch {self.marker}",))


class LocalThing:
    def __init__(self) -> None:
        self.x = 1


def test_code_running_pickle_does_not_run_and_is_named(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    payload = pickle.dumps({"ok": 1, "evil": RunsCode(marker)})
    shown = decoding.decode(payload)
    assert not marker.exists()
    assert shown.kind == "refused"
    assert shown.refused == (f"{os.system.__module__}.system",)
    assert "system" in shown.text and "not allowed" in shown.text
    # The same payload really runs under plain pickle: the test would notice a regression.
    pickle.loads(payload)  # proves the payload is live
    assert marker.exists()


def test_code_running_pickle_stored_in_redis_stays_inert(cache_alias: str, tmp_path: Path) -> None:
    from cache_admin import keyspace

    marker = tmp_path / "ran"
    backend.client().set(stored_keys.stored_key("product:evil"), pickle.dumps([RunsCode(marker)]))
    detail = keyspace.key_detail(stored_keys.stored_key("product:evil").encode())
    assert detail is not None and detail.value is not None
    assert detail.value.kind == "refused" and not marker.exists()


@pytest.mark.parametrize(
    ("payload", "name"),
    [
        (pickle.dumps(LocalThing()), "tests.test_decoding.LocalThing"),
        (
            b"\x80\x04cbuiltins\neval\n(S'1'\ntR.",
            "builtins.eval",
        ),
        (b"\x80\x04cposix\nsystem\n(S'true'\ntR.", "posix.system"),
        (b"\x80\x04csubprocess\nPopen\n(S'true'\ntR.", "subprocess.Popen"),
        (b"\x80\x04cbuiltins\ngetattr\n(cbuiltins\ndict\nS'fromkeys'\ntR.", "builtins.getattr"),
    ],
)
def test_names_every_refused_import(payload: bytes, name: str) -> None:
    shown = decoding.decode(payload)
    assert shown.kind == "refused"
    assert name in shown.refused


def test_allocation_bombs_are_refused() -> None:
    # bytearray(10**12) would try to allocate a terabyte.
    payload = b"\x80\x04cbuiltins\nbytearray\n(L1000000000000L\ntR."
    shown = decoding.decode(payload)
    assert shown.kind == "binary" and shown.note and "not allowed" in shown.note


def test_allowed_types_are_shown() -> None:
    value = {
        "when": datetime.datetime(2026, 5, 1, tzinfo=datetime.timezone.utc),
        "day": datetime.date(2026, 5, 1),
        "price": decimal.Decimal("9.99"),
        "id": uuid.UUID(int=5),
        "ordered": collections.OrderedDict(a=1),
        "counts": collections.Counter("aab"),
        "queue": collections.deque([1, 2]),
        "tags": {"x"},
        "frozen": frozenset({1}),
        "pair": (1, 2.5, None, True, b"raw", bytearray(b"ba")),
    }
    shown = decoding.decode(pickle.dumps(value))
    assert shown.kind == "pickle" and shown.python_type == "dict" and not shown.refused
    for part in ("Decimal('9.99')", "UUID('00000000-0000-0000-0000-000000000005')", "deque"):
        assert part in shown.text
    assert "Counter" in shown.text and "OrderedDict" in shown.text


@pytest.mark.django_db
def test_model_instances_of_installed_apps() -> None:
    category = Category.objects.create(name="Laptops", slug="laptops")
    product = Product.objects.create(name="<b>Book</b>", slug="book", category=category)
    product.category  # noqa: B018 - puts the related instance in the pickled state
    shown = decoding.decode(pickle.dumps([product]))
    assert shown.kind == "pickle", shown.text
    assert f"<testapp.Product pk={product.pk}>" in shown.text
    assert "'<b>Book</b>'" in shown.text
    single = decoding.decode(pickle.dumps(product))
    assert single.python_type == "testapp.Product"


def test_unknown_model_is_refused() -> None:
    payload = pickle.dumps(Product(name="x", slug="x")).replace(b"testapp", b"nosuchx")
    shown = decoding.decode(payload)
    assert shown.kind == "refused"
    assert any("nosuchx" in name for name in shown.refused)


@pytest.mark.parametrize(
    ("compress", "name"),
    [
        (ZlibCompressor({}).compress, "zlib"),
        (GzipCompressor({}).compress, "gzip"),
        (LzmaCompressor({}).compress, "lzma"),
    ],
)
def test_django_redis_compressors_are_undone(compress: Any, name: str) -> None:
    value = {"items": list(range(200)), "name": "compressed"}
    shown = decoding.decode(compress(pickle.dumps(value)))
    assert shown.compression == name
    assert shown.kind == "pickle" and "'compressed'" in shown.text


def test_compressed_cache_round_trip(settings: Any) -> None:
    settings.CACHES = {
        **settings.CACHES,
        "zipped": {
            **settings.CACHES["default"],
            "OPTIONS": {
                **settings.CACHES["default"]["OPTIONS"],
                "COMPRESSOR": "django_redis.compressors.zlib.ZlibCompressor",
            },
        },
    }
    settings.CACHE_ADMIN = {**settings.CACHE_ADMIN, "CACHE_ALIAS": "zipped"}
    caches["zipped"].set("product:1", {"name": "x" * 500})
    raw = backend.client().get(stored_keys.stored_key("product:1"))
    assert raw is not None and raw[:1] == b"x"  # zlib header: really compressed
    shown = decoding.decode(raw)
    assert shown.compression == "zlib" and "'xxxx" in shown.text
    caches["zipped"].close()


def test_decompression_bomb_is_bounded() -> None:
    bomb = zlib.compress(b"\x00" * (decoding.MAX_DECOMPRESSED_BYTES + 1024))
    shown = decoding.decode(bomb)
    assert shown.compression == "zlib" and shown.note and "exceeds" in shown.note
    assert shown.truncated and len(shown.text) <= decoding.DEFAULT_LIMIT


def test_bytes_that_only_look_compressed_are_shown_raw() -> None:
    for data in (b"x\x9cnot zlib at all", b"\x1f\x8bnope", lzma.compress(b"ok")[:8]):
        shown = decoding.decode(data)
        assert shown.compression is None and shown.size == len(data)
    assert decoding.decode(gzip.compress(b"plain text")).text == "plain text"


def test_json_text_binary_and_empty() -> None:
    shown = decoding.decode(json.dumps({"b": [1, 2], "a": "<script>"}).encode())
    assert shown.kind == "json" and shown.text.startswith("{\n  ")
    assert '"<script>"' in shown.text
    assert decoding.decode(b"hello <i>").text == "hello <i>"
    assert decoding.decode(b"-12").kind == "int"
    assert decoding.decode(b"").kind == "empty"
    binary = decoding.decode(b"\xff\x00\x01abc")
    assert binary.kind == "binary" and "ff 00 01 61 62 63" in binary.text and "abc" in binary.text
    assert decoding.decode(b"{not json").kind == "text"


def test_large_values_are_truncated_with_their_size() -> None:
    text = decoding.decode(b"a" * 50_000, limit=1000)
    assert text.truncated and len(text.text) == 1000 and text.size == 50_000
    pickled = decoding.decode(pickle.dumps(["x" * 100] * 5000), limit=3000)
    assert pickled.kind == "pickle" and pickled.truncated and len(pickled.text) <= 3000
    assert decoding.decode(b"a" * 10, full_size=5000).kind == "preview"


def test_shared_references_cannot_blow_up_the_output() -> None:
    # 40 levels of a list holding the same list twice: 2**40 leaves when printed naively.
    node: list[Any] = ["leaf"]
    for _ in range(40):
        node = [node, node]
    shown = decoding.decode(pickle.dumps(node), limit=5000)
    assert shown.kind == "pickle" and shown.truncated and len(shown.text) <= 5000

    cyclic: list[Any] = [1]
    cyclic.append(cyclic)
    assert "<cycle>" in decoding.decode(pickle.dumps(cyclic)).text


def test_corrupt_pickle_is_shown_raw() -> None:
    shown = decoding.decode(pickle.dumps({"a": 1})[:-3])
    assert shown.kind == "binary" and shown.note and "Not a readable pickle" in shown.note


def test_cached_pages_are_shown() -> None:
    from django.http import HttpResponse

    response = HttpResponse("<p>cached page</p>", headers={"X-Thing": "1"})
    response.set_cookie("seen", "yes")
    shown = decoding.decode(pickle.dumps(response))
    assert shown.kind == "pickle", shown.text
    assert "'<p>cached page</p>'" in shown.text and "'X-Thing': '1'" in shown.text
    assert "'seen': 'yes'" in shown.text and "'status_code': 200" in shown.text


def _hashing_bomb(levels: int = 40) -> bytes:
    """{t40: 1} where t(n+1) = (tn, tn): a few hundred bytes, 2**40 nodes to hash."""
    out = [b"\x80\x04}\x94", b"\x8c\x01k\x85\x940"]  # dict (memo 0), ('k',) (memo 1)
    for level in range(1, levels + 1):  # BINGET n, BINGET n, TUPLE2, MEMOIZE, POP
        out.append(b"h%ch%c\x86\x940" % (level, level))
    out.append(b"h%cK\x01s." % (levels + 1))  # the last tuple as the key of 1
    return b"".join(out)


def test_hashing_bombs_are_refused_before_unpickling() -> None:
    shown = decoding.decode(_hashing_bomb())
    assert shown.kind == "binary" and shown.note and "hashing bomb" in shown.note
    small = decoding.decode(_hashing_bomb(levels=3))  # the same shape, harmless size
    assert small.kind == "pickle" and "'k'" in small.text


def test_shared_references_in_ordinary_data_are_fine() -> None:
    row = {"name": "x", "tags": ["a", "b"]}
    shown = decoding.decode(pickle.dumps({"rows": [row] * 5000, "pair": ((1, 2), (1, 2))}))
    assert shown.kind == "pickle"


def test_late_containers_in_long_sequences_stay_bounded() -> None:
    node: list[Any] = ["leaf"]
    for _ in range(40):
        node = [node, node]
    late = [*range(100), node]  # scalars first, then a container with shared references
    shown = decoding.decode(pickle.dumps(late), limit=2000)
    assert shown.kind == "pickle" and len(shown.text) <= 2000


def test_deeply_nested_keys_are_refused() -> None:
    # {((((...)))): 1}: a million levels crash the process when hashed (the C stack
    # overflows); anything past MAX_HASHED_DEPTH is refused, 5,000 levels show it.
    payload = b"\x80\x04}" + b")" + b"\x85" * 5000 + b"K\x01s."
    shown = decoding.decode(zlib.compress(payload))
    assert shown.compression == "zlib" and shown.kind == "binary"
    assert shown.note and "nested more than" in shown.note


def test_json_nested_past_the_recursion_limit_is_shown_as_text() -> None:
    deep = b"[" * 200_000 + b"]" * 200_000
    shown = decoding.decode(deep, limit=100)
    assert shown.kind == "text" and shown.truncated and shown.size == 400_000


def test_a_fill_in_progress_is_named_not_shown_as_none() -> None:
    from cache_admin.decoding import decode
    from cache_admin.lease import LEASE_PREFIX

    found = decode(LEASE_PREFIX + b"0123456789abcdef")
    assert found.kind == "lease"
    assert "fill is in progress" in found.text
