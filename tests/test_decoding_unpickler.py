"""S3: objects of refused classes take whatever a pickle does to them (items appended, keys
set, state restored, being called) without running any code of theirs."""

from __future__ import annotations

import pickle

import pytest
from django.db.models.base import model_unpickle

from cache_admin.decoding.unpickler import restricted_loads


class Basket(list[int]):
    pass


class Catalogue(dict[str, int]):
    pass


class Stateful:
    def __init__(self) -> None:
        self.items = [1, 2]

    def __reduce__(self) -> tuple[object, ...]:
        # A callable, its arguments, then state: REDUCE, then BUILD on what it returned.
        return (Stateful.make, (), {"items": [1, 2]})

    @staticmethod
    def make() -> Stateful:
        return Stateful()


@pytest.mark.parametrize("protocol", [0, 2, pickle.HIGHEST_PROTOCOL])
def test_refused_lists_dicts_and_stateful_objects_load_as_named_stand_ins(protocol: int) -> None:
    # Protocol 0 appends and sets one item at a time (APPEND, SETITEM); later ones in
    # batches (APPENDS, SETITEMS); every protocol restores state (BUILD) after REDUCE.
    data = pickle.dumps([Basket([7, 8]), Catalogue(k=1), Stateful()], protocol)
    loaded, refused = restricted_loads(data)
    assert len(loaded) == 3
    assert all(repr(item).startswith("<refused ") for item in loaded), loaded
    assert refused


class NotAModelName:
    def __reduce__(self) -> tuple[object, ...]:
        return (model_unpickle, (5,))


def test_a_model_reference_that_is_not_a_model_name_is_refused() -> None:
    # model_unpickle called with something else than ("app_label", "ModelName").
    loaded, refused = restricted_loads(pickle.dumps(NotAModelName()))
    assert repr(loaded) == "<refused model 5>"
    assert refused == ("model 5",)
