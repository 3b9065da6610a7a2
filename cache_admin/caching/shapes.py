"""Per-process fingerprints of a query's state, for the list keys ``lists`` remembers.

A fingerprint is the pickle of the state (the query and what shapes its rows), with one
change that makes it cheaper (a quarter to two fifths less time, docs/benchmarks.md):
the classes, functions and model fields it
names are written as references into a table this process keeps, not by name. Pickle
looks every class up in its module and calls every field's ``__reduce__`` on each dump;
with the table it writes a memo reference instead. Everything else is pickled as before,
so two states with the same fingerprint are the same state.

A fingerprint means something only in the process that made it (the table's order is the
order this process met the names in): it picks an entry of a per-process memo and is never
stored or sent. The keys themselves are made from the query's SQL, the same in every
process (C4).
"""

from __future__ import annotations

import io
import pickle
import types

from django.db import models

MAX_NAMES = 2048  # past it the table stops growing: the names beyond are pickled by name

# id -> (memo index, object), indexes 0..n-1 in order. Replaced whole when it grows, never
# changed in place: threads read it without a lock, and a dict being read must not change.
# It holds the objects, so no id in it is reused by another object.
_names: dict[int, tuple[int, object]] = {}


def fingerprint(state: object) -> bytes | None:
    """None when something in ``state`` does not pickle (no memo for that state)."""
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, pickle.HIGHEST_PROTOCOL)
    # New memo entries are numbered from the table's size, after the table's 0..n-1.
    pickler.memo = _names
    try:
        pickler.dump(state)
    except Exception:
        return None
    return buffer.getvalue()


def _is_name(obj: object) -> bool:
    # What pickle writes by name anyway: classes, functions, and fields of a model (written
    # as app label, model, field name). A field of no model is pickled with its state.
    if isinstance(obj, models.Field):
        return hasattr(obj, "model")
    return isinstance(obj, (type, types.FunctionType))


def learn(state: object) -> bytes | None:
    """``fingerprint(state)`` once the names ``state`` uses are in the table, so that its
    next fingerprints write them as references. For the miss path, not hits."""
    global _names
    pickler = pickle.Pickler(io.BytesIO(), pickle.HIGHEST_PROTOCOL)
    try:
        pickler.dump(state)
    except Exception:
        return None
    known = _names
    new = {
        id(obj): obj
        for _, obj in pickler.memo.copy().values()
        if _is_name(obj) and id(obj) not in known
    }
    if new and len(known) + len(new) <= MAX_NAMES:
        grown = dict(known)
        for key, obj in new.items():
            grown[key] = (len(grown), obj)
        _names = grown
    return fingerprint(state)
