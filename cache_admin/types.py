"""Cache types: a named kind of cached data with a label, a logical key prefix and a TTL.

Types come from ``CACHE_ADMIN["TYPES"]`` and from code (:func:`register_type`). A key's
type is the one with the longest matching prefix.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TypeGuard

from cache_admin.conf import CacheAdminSettings, snapshot

__all__ = [
    "CacheType",
    "InvalidType",
    "all_types",
    "get_type",
    "iter_types",
    "register_type",
    "type_for_key",
    "unregister_type",
]

# The TTLs a type or an override may have: whole seconds from 1 s to 30 days.
MIN_TTL = 1
MAX_TTL = 30 * 24 * 3600


def ttl_in_range(ttl: object) -> TypeGuard[int]:
    return isinstance(ttl, int) and not isinstance(ttl, bool) and MIN_TTL <= ttl <= MAX_TTL


@dataclass(frozen=True)
class CacheType:
    name: str
    label: str
    prefix: str
    ttl: int


class InvalidType(ValueError):
    pass


_code_types: dict[str, CacheType] = {}
# all_types() sits on the hit path: it is rebuilt only when settings or code types change.
_Memo = tuple[
    CacheAdminSettings,
    int,
    dict[str, CacheType],
    tuple[CacheType, ...],
    dict[str, CacheType | None],
]
_memo: _Memo | None = None
# type_for_key() answers from a per-key memo of this many entries at most.
KEY_MEMO_SIZE = 4096
_code_version = 0


def register_type(name: str, *, prefix: str, ttl: int, label: str | None = None) -> CacheType:
    global _code_version
    cache_type = build_type(name, {"prefix": prefix, "ttl": ttl, "label": label or name})
    _code_types[name] = cache_type
    _code_version += 1
    return cache_type


def unregister_type(name: str) -> None:
    global _code_version
    _code_types.pop(name, None)
    _code_version += 1


def build_type(name: str, spec: object) -> CacheType:
    if not isinstance(name, str) or not name.isidentifier():
        raise InvalidType(f"type name {name!r} must be an identifier such as 'product_detail'")
    if not isinstance(spec, dict):
        raise InvalidType(f"type {name!r} must be a dict with 'prefix' and 'ttl'")
    prefix = spec.get("prefix")
    ttl = spec.get("ttl")
    label = spec.get("label", name.replace("_", " ").capitalize())
    if not isinstance(prefix, str) or not prefix:
        raise InvalidType(f"type {name!r}: 'prefix' must be a non-empty string")
    if not ttl_in_range(ttl):
        raise InvalidType(f"type {name!r}: 'ttl' must be whole seconds from 1 to {MAX_TTL}")
    if not isinstance(label, str):
        raise InvalidType(f"type {name!r}: 'label' must be a string")
    return CacheType(name=name, label=label, prefix=prefix, ttl=ttl)


def settings_types(now: CacheAdminSettings | None = None) -> dict[str, CacheType]:
    """Valid types from settings; invalid entries are left out (a system check reports them)."""
    found: dict[str, CacheType] = {}
    for name, spec in (now or snapshot()).TYPES.items():
        try:
            found[name] = build_type(name, spec)
        except InvalidType:
            continue
    return found


def _memoized() -> _Memo:
    global _memo
    # The settings snapshot is replaced whenever CACHE_ADMIN changes: one identity test.
    now = snapshot()
    memo = _memo
    if memo is not None and memo[0] is now and memo[1] == _code_version:
        return memo
    types = settings_types(now)
    types.update(_code_types)
    # Longest prefix first: the first match is the key's type.
    by_prefix = tuple(sorted(types.values(), key=lambda t: (-len(t.prefix), t.prefix)))
    memo = (now, _code_version, types, by_prefix, {})
    _memo = memo
    return memo


def all_types() -> dict[str, CacheType]:
    return _memoized()[2]


def get_type(name: str) -> CacheType | None:
    return all_types().get(name)


def iter_types() -> Iterator[CacheType]:
    return iter(sorted(all_types().values(), key=lambda t: t.prefix))


def type_for_key(logical_key: str) -> CacheType | None:
    memo = _memoized()
    known = memo[4]
    try:
        return known[logical_key]
    except KeyError:
        pass
    found: CacheType | None = None
    for cache_type in memo[3]:
        if logical_key.startswith(cache_type.prefix):
            found = cache_type
            break
    if len(known) >= KEY_MEMO_SIZE:
        known.clear()
    known[logical_key] = found
    return found
