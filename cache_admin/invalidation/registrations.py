"""What is registered for invalidation: models (``register()``) and the cached attribute
names learned per model, so that ``model_keys(instance)`` can name every key of a row, and
the key of the set in Redis where every process adds the names it stores.

A store only: the signal receivers that act on it are in ``registry``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import models

from cache_admin import keys
from cache_admin.background import on_fork
from cache_admin.conf import conf

Model = type[models.Model] | models.Model | str  # a model class, an instance, or "app.model"


@dataclass(frozen=True)
class Registration:
    model: type[models.Model]
    slug_field: str | None = None
    attributes: tuple[str, ...] = ()
    lists: bool = True
    extra_keys: Callable[[Any], Iterable[str]] | None = field(default=None, compare=False)
    alias: str | None = None
    # Fields that scope the model's lists (invalidation.scopes).
    list_scopes: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return str(self.model._meta.verbose_name).capitalize()

    @property
    def model_label(self) -> str:
        return self.model._meta.label_lower

    @property
    def prefix(self) -> str:
        return f"{keys.model_name(self.model)}:"

    @property
    def reads_previous(self) -> bool:
        return bool(self.slug_field or self.extra_keys or (self.lists and self.list_scopes))


_registry: dict[type[models.Model], Registration] = {}
# Changes with every register()/unregister(): what was derived from registrations (a list
# key's generation keys) is derived again.
_version = [0]


def version() -> int:
    return _version[0]


def remember(registration: Registration) -> None:
    _registry[registration.model] = registration
    _version[0] += 1


def forget(model: type[models.Model]) -> None:
    _registry.pop(model, None)
    _version[0] += 1


def registration_for(model: type[models.Model]) -> Registration | None:
    return _registry.get(model)


def registered_models() -> list[Registration]:
    return sorted(_registry.values(), key=lambda r: r.label.lower())


_attributes: dict[str, set[str]] = {}
_attributes_lock = threading.Lock()


@on_fork
def _after_fork_in_child() -> None:
    global _attributes_lock
    _attributes_lock = threading.Lock()  # never held for good by a thread gone with the fork


def _label(model: Model) -> str:
    if isinstance(model, str):
        return model.lower()
    return model._meta.label_lower


def remember_attribute(model: Model, attr_name: str) -> None:
    """A CachedAttribute of ``model`` named ``attr_name`` was declared or used here."""
    label = _label(model)
    names = _attributes.get(label)
    if names is not None and attr_name in names:
        return
    with _attributes_lock:
        _attributes[label] = {*_attributes.get(label, ()), attr_name}


def known_attributes(model: Model) -> set[str]:
    """The cached attribute names this process used, declared or read from the model's
    name set in Redis."""
    return set(_attributes.get(_label(model), ()))


def attribute_names_key(model: Model) -> str:
    """The logical key of the set, in the package namespace, of the attribute names any
    process stored for ``model`` (``invalidation.attributes`` reads it)."""
    return f"{conf.NAMESPACE}attrs:{_label(model)}"
