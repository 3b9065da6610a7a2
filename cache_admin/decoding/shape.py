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
from collections.abc import Callable
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


def check(data: bytes) -> None:
    """Raise ExpansionError (or UnpicklingError for malformed data) before unpickling."""
    limit = _FLOOR + 2 * len(data)
    try:
        _walk(data, limit)
    except ExpansionError:
        raise
    except Exception as exc:  # malformed: the real unpickler would refuse it too
        raise pickle.UnpicklingError(f"malformed pickle: {exc}") from None


class _Machine:
    """The pickle machine's stack and memo, holding each value's weight (the size of its
    expanded tree) and depth instead of the value."""

    def __init__(self, limit: int) -> None:
        self.stack: list[Any] = []
        self.memo: dict[int, _Value] = {}
        self.limit = limit
        self.cap = limit + 1
        self.scalar = _Value(1)  # shared by every scalar: only containers ever grow

    def to_mark(self) -> list[_Value]:
        stack = self.stack
        found: list[_Value] = []
        while True:
            top = stack.pop()
            if top is _MARK:
                found.reverse()
                return found
            found.append(top)

    def hashed(self, values: list[_Value]) -> None:
        """``values`` will be hashed (dict keys, set members, constructor arguments)."""
        for value in values:
            if value.depth > MAX_HASHED_DEPTH:
                raise ExpansionError(
                    f"a key or set member is nested more than {MAX_HASHED_DEPTH} levels deep"
                )
            if value.weight > self.limit:
                raise ExpansionError(
                    "the value repeats shared parts so often that reading it could take "
                    "hours (a hashing bomb)"
                )

    def container(self, items: list[_Value]) -> _Value:
        return _Value(
            min(1 + sum(v.weight for v in items), self.cap),
            1 + max((v.depth for v in items), default=0),
        )

    def grow(self, container: _Value, values: list[_Value]) -> None:
        if container is self.scalar:
            raise pickle.UnpicklingError("items added to a scalar")
        container.weight = min(container.weight + sum(v.weight for v in values), self.cap)
        container.depth = max(container.depth, 1 + max((v.depth for v in values), default=0))

    # One method per kind of opcode; ``arg`` is the memo index or the item count, if any.

    def push_scalar(self, arg: int) -> None:  # numbers, strings, None, GLOBAL...
        self.stack.append(self.scalar)

    def mark(self, arg: int) -> None:
        self.stack.append(_MARK)

    def push_empty(self, arg: int) -> None:  # EMPTY_LIST, EMPTY_DICT, EMPTY_SET
        self.stack.append(_Value(1))

    def build_sequence(self, arg: int) -> None:  # TUPLE, LIST
        self.stack.append(self.container(self.to_mark()))

    def build_dict(self, arg: int) -> None:  # DICT
        items = self.to_mark()
        self.hashed(items[0::2])
        self.stack.append(self.container(items))

    def build_hashed(self, arg: int) -> None:  # FROZENSET, OBJ, INST: every item hashed
        items = self.to_mark()
        self.hashed(items)
        self.stack.append(self.container(items))

    def build_small_tuple(self, arg: int) -> None:  # TUPLE1, TUPLE2, TUPLE3
        stack = self.stack
        items = stack[-arg:]
        del stack[-arg:]
        stack.append(self.container(items))

    def append_one(self, arg: int) -> None:  # APPEND
        stack = self.stack
        self.grow(stack[-2], [stack.pop()])

    def set_item(self, arg: int) -> None:  # SETITEM
        stack = self.stack
        value, key = stack.pop(), stack.pop()
        self.hashed([key])
        self.grow(stack[-1], [key, value])

    def append_many(self, arg: int) -> None:  # APPENDS
        items = self.to_mark()
        self.grow(self.stack[-1], items)

    def set_items(self, arg: int) -> None:  # SETITEMS
        items = self.to_mark()
        self.hashed(items[0::2])
        self.grow(self.stack[-1], items)

    def add_items(self, arg: int) -> None:  # ADDITEMS
        items = self.to_mark()
        self.hashed(items)
        self.grow(self.stack[-1], items)

    def construct(self, arg: int) -> None:  # REDUCE, NEWOBJ: may hash its arguments (set)
        stack = self.stack
        args = stack.pop()
        stack.pop()
        self.hashed([args])
        stack.append(self.container([args]))

    def construct_ex(self, arg: int) -> None:  # NEWOBJ_EX
        stack = self.stack
        kwargs, args = stack.pop(), stack.pop()
        stack.pop()
        self.hashed([args, kwargs])
        stack.append(self.container([args, kwargs]))

    def pop(self, arg: int) -> None:  # BUILD, POP
        self.stack.pop()

    def pop_mark(self, arg: int) -> None:
        self.to_mark()

    def dup(self, arg: int) -> None:
        self.stack.append(self.stack[-1])

    def stack_global(self, arg: int) -> None:
        del self.stack[-2:]
        self.stack.append(self.scalar)

    def replace_top(self, arg: int) -> None:  # BINPERSID, READONLY_BUFFER
        self.stack[-1] = self.scalar

    def memo_get(self, arg: int) -> None:  # GET, BINGET, LONG_BINGET
        self.stack.append(self.memo[arg])

    def memo_put(self, arg: int) -> None:  # PUT, BINPUT, LONG_BINPUT
        self.memo[arg] = self.stack[-1]

    def memoize(self, arg: int) -> None:
        self.memo[len(self.memo)] = self.stack[-1]

    def nothing(self, arg: int) -> None:  # PROTO, FRAME
        pass


Step = Callable[[_Machine, int], None]


def _stop(machine: _Machine, arg: int) -> None:  # never called: the walk ends at STOP
    raise AssertionError("STOP ends the walk")


# Opcode name -> what the machine does with it; every other opcode pushes a scalar.
_STEPS: dict[str, Step] = {
    "MARK": _Machine.mark,
    **dict.fromkeys(("EMPTY_LIST", "EMPTY_DICT", "EMPTY_SET"), _Machine.push_empty),
    **dict.fromkeys(("TUPLE", "LIST"), _Machine.build_sequence),
    "DICT": _Machine.build_dict,
    **dict.fromkeys(("FROZENSET", "OBJ", "INST"), _Machine.build_hashed),
    **dict.fromkeys(("TUPLE1", "TUPLE2", "TUPLE3"), _Machine.build_small_tuple),
    "APPEND": _Machine.append_one,
    "SETITEM": _Machine.set_item,
    "APPENDS": _Machine.append_many,
    "SETITEMS": _Machine.set_items,
    "ADDITEMS": _Machine.add_items,
    **dict.fromkeys(("REDUCE", "NEWOBJ"), _Machine.construct),
    "NEWOBJ_EX": _Machine.construct_ex,
    **dict.fromkeys(("BUILD", "POP"), _Machine.pop),
    "POP_MARK": _Machine.pop_mark,
    "DUP": _Machine.dup,
    "STACK_GLOBAL": _Machine.stack_global,
    **dict.fromkeys(("BINPERSID", "READONLY_BUFFER"), _Machine.replace_top),
    **dict.fromkeys(("GET", "BINGET", "LONG_BINGET"), _Machine.memo_get),
    **dict.fromkeys(("PUT", "BINPUT", "LONG_BINPUT"), _Machine.memo_put),
    "MEMOIZE": _Machine.memoize,
    **dict.fromkeys(("PROTO", "FRAME"), _Machine.nothing),
}
_MEMO_INDEX = frozenset({"GET", "BINGET", "LONG_BINGET", "PUT", "BINPUT", "LONG_BINPUT"})

# How an argument is laid out after its opcode (pickletools' sizes): n >= 0 fixed bytes;
# LINE up to a newline (TWO_LINES: "module\nname\n"); or a length of 1, 4 (signed), 4
# or 8 bytes followed by that many bytes.
LINE, TWO_LINES = -1, -10
_LENGTH_WIDTH = {-2: (1, False), -3: (4, True), -4: (4, False), -5: (8, False)}


def _op(name: str, size: int) -> tuple[Step, int, bool, int]:
    """(step, argument layout, whether the argument is a memo index, the step's count)."""
    step = _stop if name == "STOP" else _STEPS.get(name, _Machine.push_scalar)
    if name in ("GLOBAL", "INST"):
        size = TWO_LINES
    count = int(name[-1]) if name in ("TUPLE1", "TUPLE2", "TUPLE3") else 0
    return step, size, name in _MEMO_INDEX, count


_OPS = {
    ord(op.code.encode("latin-1")): _op(op.name, op.arg.n if op.arg is not None else 0)
    for op in pickletools.opcodes
}


def _walk(data: bytes, limit: int) -> None:
    machine = _Machine(limit)
    push_scalar, append, scalar = _Machine.push_scalar, machine.stack.append, machine.scalar
    pos, end = 0, len(data)
    while pos < end:
        step, size, is_index, count = _OPS[data[pos]]
        start = pos + 1
        pos = start + size if size >= 0 else _argument_end(data, start, size)
        if pos > end:
            raise pickle.UnpicklingError("truncated pickle")
        if step is push_scalar:  # most opcodes: inline, not a call each
            append(scalar)
        elif step is _stop:
            return
        else:
            step(machine, _index(data, start, pos, size) if is_index else count)


def _argument_end(data: bytes, start: int, size: int) -> int:
    if size == LINE:
        return data.index(b"\n", start) + 1
    if size == TWO_LINES:
        return data.index(b"\n", data.index(b"\n", start) + 1) + 1
    width, signed = _LENGTH_WIDTH[size]
    return start + width + int.from_bytes(data[start : start + width], "little", signed=signed)


def _index(data: bytes, start: int, stop: int, size: int) -> int:
    if size == LINE:  # PUT / GET: a decimal number and a newline
        return int(data[start : stop - 1])
    return int.from_bytes(data[start:stop], "little")
