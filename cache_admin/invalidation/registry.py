"""Signal-based invalidation (strategy 3): ``register(Model, ...)``.

Keys are named when the signal fires (the instance may change again before commit) and
deleted once the transaction commits (C2): nothing before, nothing on rollback. A saved
row's previous values (its old slug) are read from the database in pre_save, only when
the registration has key fields that can change, so keys under the old values go too.
``QuerySet.update()`` and ``bulk_create``/``bulk_update`` send no signals: see
docs/invalidation.md for the calls to use instead.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from django.db import models, transaction
from django.db.models.signals import post_delete, post_save, pre_save

from cache_admin import backend, keys
from cache_admin.invalidation import scopes
from cache_admin.invalidation.invalidator import bump_generations, delete_rows, model_keys
from cache_admin.invalidation.registrations import (
    Registration,
    forget,
    registration_for,
    remember,
)

logger = logging.getLogger("cache_admin")

PREVIOUS = "_cache_admin_previous"  # instance attribute between pre_save and post_save


def register(
    model: type[models.Model],
    slug_field: str | None = None,
    attributes: Iterable[str] = (),
    lists: bool = True,
    *,
    extra_keys: Callable[[Any], Iterable[str]] | None = None,
    alias: str | None = None,
    list_scopes: Iterable[str] = (),
) -> Registration:
    """Invalidate a model's cached entries whenever a row is saved or deleted.

    ``slug_field``: its ``{model}:slug:{value}`` keys are deleted for old and new values.
    ``attributes``: CachedAttribute names (those used in this process are found anyway).
    ``lists``: bump the model's list generation too. ``extra_keys(instance)``: more
    logical keys that depend on the row (called for its old and new values).
    ``list_scopes``: fields that scope the model's lists (``invalidation.scopes``): a
    save then invalidates the lists of the row's old and new values of each, and the
    lists that fix none, instead of every list of the model.
    """
    if not (isinstance(model, type) and issubclass(model, models.Model)):
        raise TypeError(f"register() needs a model class, got {model!r}")
    if model._meta.abstract:
        raise TypeError(f"{model.__name__} is abstract: register its concrete models")
    if slug_field is not None:
        model._meta.get_field(slug_field)  # FieldDoesNotExist names the mistake early
    if isinstance(attributes, str):
        attributes = (attributes,)
    if isinstance(list_scopes, str):
        list_scopes = (list_scopes,)
    scoped = tuple(dict.fromkeys(scopes.scope_field(model, name).name for name in list_scopes))
    registration = Registration(
        model,
        slug_field,
        tuple(attributes),
        bool(lists),
        extra_keys=extra_keys,
        alias=alias,
        list_scopes=scoped,
    )
    remember(registration)
    uid = f"cache_admin_invalidation:{model._meta.label_lower}"
    pre_save.connect(_remember_previous, sender=model, weak=False, dispatch_uid=uid)
    post_save.connect(_saved, sender=model, weak=False, dispatch_uid=uid)
    post_delete.connect(_deleted, sender=model, weak=False, dispatch_uid=uid)
    return registration


def unregister(model: type[models.Model]) -> None:
    uid = f"cache_admin_invalidation:{model._meta.label_lower}"
    pre_save.disconnect(sender=model, dispatch_uid=uid)
    post_save.disconnect(sender=model, dispatch_uid=uid)
    post_delete.disconnect(sender=model, dispatch_uid=uid)
    forget(model)


def _remember_previous(sender: type[models.Model], instance: models.Model, **kwargs: Any) -> None:
    registration = registration_for(sender)
    instance.__dict__.pop(PREVIOUS, None)
    if registration is None or not registration.reads_previous or instance.pk is None:
        return
    using = kwargs.get("using") or "default"
    # The stored row, not values seen at load time: the instance may be older than the row.
    previous = sender._base_manager.using(using).filter(pk=instance.pk).first()
    if previous is not None:
        instance.__dict__[PREVIOUS] = previous


def _saved(sender: type[models.Model], instance: models.Model, **kwargs: Any) -> None:
    previous = instance.__dict__.pop(PREVIOUS, None)
    _schedule(sender, instance, previous, kwargs.get("using"))


def _deleted(sender: type[models.Model], instance: models.Model, **kwargs: Any) -> None:
    _schedule(sender, instance, None, kwargs.get("using"))


def _schedule(
    model: type[models.Model],
    instance: models.Model,
    previous: models.Model | None,
    using: str | None,
) -> None:
    registration = registration_for(model)
    if registration is None or instance.pk is None:
        return
    named = model_keys(instance, previous)  # named now: the instance may change before commit
    states = [instance] if previous is None else [instance, previous]
    lists = scopes.changed_generations(registration, states) if registration.lists else []
    pk = instance.pk  # a deleted instance has none any more by the time the commit comes
    alias = registration.alias or backend.alias()

    def run() -> None:
        delete_rows(model, [pk], named, alias)
        if lists:
            bump_generations(model, lists, keys.model_name(model), alias)

    transaction.on_commit(run, using=using, robust=True)
