"""pickled_values.loads builds what pickle.loads builds, and finds a model's class the way
Django's model_unpickle does (an unknown label raises as it does)."""

from __future__ import annotations

import pickle
from typing import Any

import pytest
from django.apps import apps
from django.db import connection
from django.db.models.base import model_unpickle
from django.test.utils import CaptureQueriesContext

from cache_admin import backend, pickled_values
from cache_admin.caching import fill
from cache_admin.stored_keys import stored_key
from tests.testapp.models import Category, Product

pytestmark = pytest.mark.django_db


@pytest.fixture
def rows() -> list[Product]:
    laptops = Category.objects.create(name="Laptops", slug="laptops")
    for n in range(5):
        Product.objects.create(name=f"P{n}", slug=f"p{n}", category=laptops)
    found = list(Product.objects.select_related("category").order_by("pk"))
    found[0].note = "set after the query"  # type: ignore[attr-defined]
    return found


def state(instance: Any) -> dict[str, Any]:
    return {
        "class": type(instance),
        "fields": {k: v for k, v in vars(instance).items() if k != "_state"},
        "db": instance._state.db,
        "adding": instance._state.adding,
        "cached": dict(instance._state.fields_cache),
    }


def test_model_instances_load_as_pickle_loads_them(rows: list[Product]) -> None:
    data = pickle.dumps({"items": rows, "count": len(rows)}, pickle.HIGHEST_PROTOCOL)
    ours, theirs = pickled_values.loads(data), pickle.loads(data)
    assert ours == theirs and ours["items"] == rows
    assert [state(p) for p in ours["items"]] == [state(p) for p in theirs["items"]]
    assert [state(p.category) for p in ours["items"]] == [
        state(p.category) for p in theirs["items"]
    ]
    assert ours["items"][0].note == "set after the query"
    with CaptureQueriesContext(connection) as queries:
        assert [p.category.name for p in ours["items"]] == ["Laptops"] * 5
    assert len(queries) == 0  # the related rows came along, as with pickle.loads


def test_deferred_fields_stay_deferred(rows: list[Product]) -> None:
    deferred = list(Product.objects.only("name").order_by("pk"))
    loaded = pickled_values.loads(pickle.dumps(deferred, pickle.HIGHEST_PROTOCOL))
    deferred_names = {"slug", "category_id", "price", "is_featured", "is_active"}
    assert [p.get_deferred_fields() for p in loaded] == [deferred_names] * 5
    assert [p.name for p in loaded] == [p.name for p in rows]


def test_a_value_without_models_is_plain_pickle() -> None:
    value = {"text": "model_unpickle is only a word here", "n": [1, 2.5, None]}
    data = pickle.dumps(value, pickle.HIGHEST_PROTOCOL)
    assert pickled_values.loads(data) == value


def test_an_unknown_model_raises_as_django_does() -> None:
    # A pickle naming a model this process does not have (another deploy's app).
    class_id = ("no_such_app", "Thing")
    data = pickle.dumps(_Reduced(class_id), pickle.HIGHEST_PROTOCOL)
    with pytest.raises(LookupError) as ours:
        pickled_values.loads(data)
    with pytest.raises(LookupError) as theirs:
        pickle.loads(data)
    assert str(ours.value) == str(theirs.value)


def test_a_model_registered_later_is_found_and_one_removed_is_not(
    rows: list[Product],
) -> None:
    data = pickle.dumps(rows[:1], pickle.HIGHEST_PROTOCOL)
    models = apps.app_configs["testapp"].models
    product = models.pop("product")
    try:
        with pytest.raises(LookupError):
            pickled_values.loads(data)
    finally:
        models["product"] = product
    assert pickled_values.loads(data) == rows[:1]


def test_a_version_mismatch_still_warns(rows: list[Product]) -> None:
    # The instance's own __setstate__ runs, as with pickle.loads: its warning too.
    _, args, instance_state = rows[0].__reduce__()
    older = _Reduced(args[0], {**instance_state, "_django_version": "1.0"})
    data = pickle.dumps(older, pickle.HIGHEST_PROTOCOL)
    with pytest.warns(RuntimeWarning, match="Django version 1.0 does not match"):
        loaded = pickled_values.loads(data)
    assert isinstance(loaded, Product) and loaded.name == rows[0].name


def test_the_read_through_engine_serves_rows_it_loads_this_way(
    cache_alias: str, rows: list[Product]
) -> None:
    slot = fill.Slot("product:rows:all")
    assert fill.fetch(slot, lambda: rows) == rows
    stored = backend.client().get(stored_key("product:rows:all"))
    assert isinstance(stored, bytes) and b"model_unpickle" in stored
    with CaptureQueriesContext(connection) as queries:
        again = fill.fetch(slot, lambda: pytest.fail("a hit computes nothing"))
    assert again == rows and [p.category.name for p in again] == ["Laptops"] * 5
    assert len(queries) == 0


class _Reduced:
    """Pickles as Django pickles a model instance: model_unpickle of a class id."""

    def __init__(self, class_id: Any, state: dict[str, Any] | None = None) -> None:
        self.class_id = class_id
        self.state = state or {}

    def __reduce__(self) -> tuple[Any, ...]:
        return (model_unpickle, (self.class_id,), self.state)


def test_the_registry_is_not_asked_once_per_instance(
    rows: list[Product], monkeypatch: pytest.MonkeyPatch
) -> None:
    # What makes it quicker: pickle.loads asks apps.get_model for each of these 10 rows.
    asked: list[tuple[str, ...]] = []
    real_get_model = apps.get_model

    def counting_get_model(*args: Any, **kwargs: Any) -> Any:
        asked.append(args)
        return real_get_model(*args, **kwargs)

    monkeypatch.setattr(apps, "get_model", counting_get_model)
    data = pickle.dumps(rows, pickle.HIGHEST_PROTOCOL)
    pickle.loads(data)
    assert len(asked) == 10
    asked.clear()
    assert pickled_values.loads(data) == rows
    assert asked == []


def test_which_loader_is_picked_without_reading_the_value_whole(rows: list[Product]) -> None:
    one = pickle.dumps(rows[0], pickle.HIGHEST_PROTOCOL)
    page = pickle.dumps({"items": rows * 4}, pickle.HIGHEST_PROTOCOL)
    text_first = pickle.dumps(["x" * 5000, rows], pickle.HIGHEST_PROTOCOL)
    assert len(one) < pickled_values.SMALL <= len(page)
    assert pickled_values.models_likely(page)
    assert not pickled_values.models_likely(one)  # a row or two: pickle.loads is as quick
    assert not pickled_values.models_likely(text_first)  # no model name in its first bytes
    # Whichever is picked, what is built is the same.
    for data in (one, page, text_first):
        assert pickled_values.loads(data) == pickle.loads(data)
        assert pickled_values.load_models(data) == pickle.loads(data)
    with pytest.raises(pickle.UnpicklingError):
        pickled_values.loads(page[: len(page) // 2])  # cut short: refused as pickle does
