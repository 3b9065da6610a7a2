"""A linear pre-pass over a pickle's opcodes that refuses hashing bombs.

A few hundred bytes of pickle can describe a tuple that holds the same tuple twice, forty
levels deep: building a dict or set keyed by it makes Python hash 2**40 nodes, in C, with
no way to interrupt it. The pass below follows the pickle machine's stack and memo without
building anything, weighs every value by the size of its expanded tree, and refuses the
data when a value that would be hashed (a dict key, a set member, the arguments of a
constructor) weighs more than a tree of that size could be without shared references.
"""

from __future__ import annotations

import pickle
import pickletools
from typing import Any

# Whatever the data, values up to this weight are always accepted.
_FLOOR = 100_000
# Hashing a tuple recurses in C without a depth guard: a key nested a million levels deep
# crashes the process. No real key comes near this.
MAX_HASHED_DEPTH = 200
_MARK = object()


class ExpansionError(pickle.UnpicklingError):
    pass


class _Value:
    __slots__ = ("depth", "weight")

    def __init__(self, weight: int, depth: int = 0) -> None:
        self.weight = weight
        self.depth = depth


def _container(items: list[_Value], cap: int) -> _Value:
    return _Value(
        min(1 + sum(v.weight for v in items), cap), 1 + max((v.depth for v in items), default=0)
    )


def check(data: bytes) -> None:
    """Raise ExpansionError (or UnpicklingError for malformed data) before unpickling."""
    limit = _FLOOR + 2 * len(data)
    try:
        _walk(data, limit)
    except ExpansionError:
        raise
    except Exception as exc:  # malformed: the real unpickler would refuse it too
        raise pickle.UnpicklingError(f"malformed pickle: {exc}") from None


_KINDS = {
    "MARK": 1,
    "EMPTY_LIST": 2,
    "EMPTY_DICT": 2,
    "EMPTY_SET": 2,
    "TUPLE": 3,
    "LIST": 3,
    "DICT": 4,
    "FROZENSET": 5,
    "OBJ": 5,
    "INST": 5,
    "TUPLE1": 6,
    "TUPLE2": 6,
    "TUPLE3": 6,
    "APPEND": 7,
    "SETITEM": 8,
    "APPENDS": 9,
    "SETITEMS": 10,
    "ADDITEMS": 11,
    "REDUCE": 12,
    "NEWOBJ": 12,
    "NEWOBJ_EX": 13,
    "BUILD": 14,
    "PUT": 15,
    "BINPUT": 15,
    "LONG_BINPUT": 15,
    "MEMOIZE": 16,
    "GET": 17,
    "BINGET": 17,
    "LONG_BINGET": 17,
    "POP": 18,
    "POP_MARK": 19,
    "DUP": 20,
    "STACK_GLOBAL": 21,
    "BINPERSID": 22,
    "READONLY_BUFFER": 22,
    "PROTO": 23,
    "FRAME": 23,
    "STOP": 24,
}
_PAIR_LINES = frozenset({"GLOBAL", "INST"})  # "module\nname\n": two lines
# code -> (kind, argument size, extra). Kind 0 pushes one scalar (numbers, strings, None,
# globals...). Sizes follow pickletools: n >= 0 fixed bytes; -1 up to a newline; -2, -3,
# -4, -5 a length in 1, 4 (signed), 4 or 8 bytes, then that many bytes. Extra: the item
# count of TUPLE1..3, or 2 for a two-line argument.
_TABLE: dict[int, tuple[int, int, int]] = {}
for _op in pickletools.opcodes:
    _TABLE[ord(_op.code.encode("latin-1"))] = (
        _KINDS.get(_op.name, 0),
        _op.arg.n if _op.arg is not None else 0,
        int(_op.name[-1])
        if _op.name in ("TUPLE1", "TUPLE2", "TUPLE3")
        else 2
        if _op.name in _PAIR_LINES
        else 0,
    )
_WIDTH = {-2: (1, False), -3: (4, True), -4: (4, False), -5: (8, False)}


def _walk(data: bytes, limit: int) -> None:
    stack: list[Any] = []
    memo: dict[int, _Value] = {}
    cap = limit + 1
    scalar = _Value(1)  # shared by every scalar: only containers ever grow
    append = stack.append
    pos, end = 0, len(data)

    def to_mark() -> list[_Value]:
        found: list[_Value] = []
        while True:
            top = stack.pop()
            if top is _MARK:
                found.reverse()
                return found
            found.append(top)

    def hashed(values: list[_Value]) -> None:
        for value in values:
            if value.depth > MAX_HASHED_DEPTH:
                raise ExpansionError(
                    f"a key or set member is nested more than {MAX_HASHED_DEPTH} levels deep"
                )
            if value.weight > limit:
                raise ExpansionError(
                    "the value repeats shared parts so often that reading it could take "
                    "hours (a hashing bomb)"
                )

    def grow(container: _Value, values: list[_Value]) -> None:
        if container is scalar:
            raise pickle.UnpicklingError("items added to a scalar")
        container.weight = min(container.weight + sum(v.weight for v in values), cap)
        container.depth = max(container.depth, 1 + max((v.depth for v in values), default=0))

    while pos < end:
        kind, size, extra = _TABLE[data[pos]]
        pos += 1
        start = pos
        if size >= 0:
            pos += size
        elif size == -1:
            pos = data.index(b"\n", pos) + 1
            if extra == 2:
                pos = data.index(b"\n", pos) + 1
        else:
            width, signed = _WIDTH[size]
            pos += width + int.from_bytes(data[pos : pos + width], "little", signed=signed)
        if pos > end:
            raise pickle.UnpicklingError("truncated pickle")
        if kind == 0:
            append(scalar)
        elif kind == 17:  # GET, BINGET, LONG_BINGET
            append(memo[_index(data, start, pos, size)])
        elif kind == 16:  # MEMOIZE
            memo[len(memo)] = stack[-1]
        elif kind == 15:  # PUT, BINPUT, LONG_BINPUT
            memo[_index(data, start, pos, size)] = stack[-1]
        elif kind == 1:
            append(_MARK)
        elif kind == 2:
            append(_Value(1))
        elif kind in (3, 4, 5):  # TUPLE LIST | DICT | FROZENSET OBJ INST
            items = to_mark()
            if kind == 4:
                hashed(items[0::2])
            elif kind == 5:
                hashed(items)
            append(_container(items, cap))
        elif kind == 6:  # TUPLE1, TUPLE2, TUPLE3
            items = stack[-extra:]
            del stack[-extra:]
            append(_container(items, cap))
        elif kind == 7:  # APPEND
            grow(stack[-2], [stack.pop()])
        elif kind == 8:  # SETITEM
            value, key = stack.pop(), stack.pop()
            hashed([key])
            grow(stack[-1], [key, value])
        elif kind in (9, 10, 11):  # APPENDS | SETITEMS | ADDITEMS
            items = to_mark()
            hashed(items[0::2] if kind == 10 else items if kind == 11 else [])
            grow(stack[-1], items)
        elif kind == 12:  # REDUCE, NEWOBJ: a constructor may hash its arguments (set, Counter)
            args = stack.pop()
            stack.pop()
            hashed([args])
            append(_container([args], cap))
        elif kind == 13:  # NEWOBJ_EX
            kwargs, args = stack.pop(), stack.pop()
            stack.pop()
            hashed([args, kwargs])
            append(_container([args, kwargs], cap))
        elif kind in (14, 18):  # BUILD, POP
            stack.pop()
        elif kind == 19:  # POP_MARK
            to_mark()
        elif kind == 20:  # DUP
            append(stack[-1])
        elif kind == 21:  # STACK_GLOBAL
            del stack[-2:]
            append(scalar)
        elif kind == 22:  # BINPERSID, READONLY_BUFFER
            stack[-1] = scalar
        elif kind == 24:  # STOP
            return


def _index(data: bytes, start: int, stop: int, size: int) -> int:
    if size == -1:  # PUT / GET: a decimal number and a newline
        return int(data[start : stop - 1])
    return int.from_bytes(data[start:stop], "little")
