"""``loads()``: ``pickle.loads`` for cached values, quicker when they hold model instances.

Django pickles a model instance as a call of ``django.db.models.base.model_unpickle`` with
the model's ``(app label, object name)``; that function asks the app registry for the class
on every instance (``apps.get_model``: four calls deep), which is a fifth of the time it
takes to load a page of 20 rows with their related rows. Here the same look-up is two dict
reads of the registry's own tables, made on each instance as well (a model registered or
an app installed meanwhile is found, as ``get_model`` would find it); anything out of the
ordinary (the registry not ready, an unknown label, a model pickled by class) goes to
Django's own function, which answers or raises as it always does. Every other global is
found exactly as ``pickle.loads`` finds it, and what is built is the same object.

Which loader a value gets is decided without reading it whole (``models_likely``): a value
of less than ``SMALL`` bytes holds a row or two at most, and is loaded by ``pickle.loads``
(looking for a name costs about half a nanosecond per byte: a fifth of a microsecond on a
300-byte value, more than one registry look-up saves); a larger one by this loader when
``MARK`` shows in its first ``SMALL`` bytes, where a list, a queryset's rows or an instance
name it with their first row. Either loader builds the same objects: the test only picks
the quicker one.
"""

from __future__ import annotations

import io
import pickle
from typing import Any

from django.apps import apps
from django.db.models.base import model_unpickle

__all__ = ["MARK", "SMALL", "load_models", "loads", "models_likely"]

MARK = b"model_unpickle"  # in the bytes of every pickle that holds a model instance
SMALL = 1024


def models_likely(data: bytes) -> bool:
    """Whether ``load_models`` is worth it over ``pickle.loads``."""
    return len(data) >= SMALL and data.find(MARK, 0, SMALL) >= 0


def loads(data: bytes) -> Any:
    """``pickle.loads(data)`` (what ``backend.decode`` calls for a plain pickle)."""
    if models_likely(data):
        return load_models(data)
    return pickle.loads(data)


def load_models(data: bytes) -> Any:
    """``pickle.loads(data)``, finding each model instance's class in the registry's tables."""
    return _Unpickler(io.BytesIO(data)).load()


def _model_instance(model_id: Any) -> Any:
    """What ``model_unpickle(model_id)`` returns: a bare instance of the model, its state
    set afterwards by the instance's own ``__setstate__``."""
    if type(model_id) is tuple and len(model_id) == 2 and apps.models_ready:
        label, name = model_id
        config = apps.app_configs.get(label)
        if config is not None and type(name) is str:
            model = config.models.get(name.lower())
            if model is not None:
                return model.__new__(model)
    return model_unpickle(model_id)


_model_instance.__safe_for_unpickle__ = True  # type: ignore[attr-defined]


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if name == "model_unpickle" and module == "django.db.models.base":
            return _model_instance
        return super().find_class(module, name)
