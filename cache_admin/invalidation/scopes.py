"""List scopes: which generation tokens a cached list depends on, and which a change bumps.

A registration may name fields that scope its model's lists
(``register(Product, list_scopes=("category",))``). A list whose queryset fixes one of them
depends on the token of that value only (plus the model's "all lists" token); a save bumps
the tokens of the row's old and new values and the token of the lists that fix none. So an
edit in one category leaves the lists of the others cached.

A field is *fixed* by a queryset when its top-level conditions (joined by AND, none negated
on the way down) compare the model's own column for that field with constants:
``filter(category=3)``, ``filter(category_id=3)``, ``filter(category=<Category>)``,
``filter(category__pk=3)`` or ``filter(category__in=[3, 4])`` (at most
``MAX_SCOPE_VALUES`` values). A condition through a join (``category__slug="laptops"``), an
OR, an exclusion or an expression does not fix it: such a list depends on the
"unscoped" token, which every save bumps. That is read from the queryset's own conditions,
not from the ``filters`` given for the key, so a key and the rows it holds cannot disagree.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.expressions import Col
from django.db.models.lookups import Exact, In
from django.db.models.sql.where import AND, WhereNode

from cache_admin import generations
from cache_admin.invalidation.registrations import Registration, registration_for

MAX_SCOPE_VALUES = 8


def scope_field(model: type[models.Model], name: str) -> models.Field[Any, Any]:
    """The concrete field ``name`` of ``model`` that may scope its lists; ValueError with
    what to use instead otherwise."""
    try:
        found = model._meta.get_field(name)
    except Exception as exc:
        raise ValueError(f"{model.__name__} has no field {name!r} to scope its lists") from exc
    if not isinstance(found, models.Field) or not found.concrete or found.many_to_many:
        raise ValueError(
            f"{model.__name__}.{name} cannot scope lists: name a column of the model "
            "(a plain field or a foreign key)"
        )
    return found


def canonical(field: models.Field[Any, Any], value: Any) -> Any:
    """A scope value as the database compares it: ``3``, ``"3"`` and a row with pk 3 are
    one value of a foreign key (C4)."""
    if isinstance(value, models.Model):
        value = value.pk
    return field.get_prep_value(value)


def list_generations(queryset: models.QuerySet[Any]) -> tuple[str, ...]:
    """The generation keys a cached list of ``queryset`` depends on."""
    model = queryset.model
    registration = registration_for(model)
    if registration is None or not registration.list_scopes:
        return (generations.key(model),)
    query = queryset.query
    for name in registration.list_scopes:
        field = scope_field(model, name)
        values = _fixed_values(query.where, field, query.base_table)
        if values:
            return (
                generations.key(model),
                *(generations.scope_key(model, field.name, v) for v in values),
            )
    return generations.key(model), generations.unscoped_key(model)


def model_generations(model: type[models.Model]) -> tuple[str, ...]:
    """What an entry that depends on a whole model depends on (``cache_queryset``)."""
    registration = registration_for(model)
    if registration is None or not registration.list_scopes:
        return (generations.key(model),)
    return generations.key(model), generations.unscoped_key(model)


def changed_generations(registration: Registration, states: Iterable[models.Model]) -> list[str]:
    """The generation keys a change of rows bumps; ``states``: the rows as they are now and
    as they were (old values too, C2). Without list scopes, the "all lists" token."""
    model = registration.model
    if not registration.list_scopes:
        return [generations.key(model)]
    found = [generations.unscoped_key(model)]
    for name in registration.list_scopes:
        field = scope_field(model, name)
        for state in states:
            value = canonical(field, getattr(state, field.attname))
            if value is not None:
                found.append(generations.scope_key(model, field.name, value))
    return list(dict.fromkeys(found))


def scope_generation(model: type[models.Model], name: str, value: Any) -> str:
    """The generation key of the lists of ``model`` that fix field ``name`` to ``value``
    (ValueError when ``name`` is not one of the registration's list scopes)."""
    field = _scoping_field(model, name)
    return generations.scope_key(model, field.name, canonical(field, value))


def _scoping_field(model: type[models.Model], name: str) -> models.Field[Any, Any]:
    registration = registration_for(model)
    if registration is None or name not in registration.list_scopes:
        raise ValueError(
            f"{model.__name__} lists are not scoped by {name!r}: register it with "
            f"list_scopes=({name!r},)"
        )
    return scope_field(model, name)


def scope_from_text(model: type[models.Model], text: str) -> tuple[str, Any]:
    """``"category=laptops"`` as the field name and value of one of ``model``'s list scopes:
    a related row is found by pk, else by the slug field its registration names (or its
    ``slug``). ValueError with what to type otherwise."""
    name, equals, raw = text.partition("=")
    name, raw = name.strip(), raw.strip()
    if not equals or not name or not raw:
        raise ValueError(f"Type the scope as field=value, for example {_example(model)}.")
    field = _scoping_field(model, name)
    related = field.related_model
    if related is None:
        try:
            return field.name, field.to_python(raw)
        except ValidationError as exc:
            raise ValueError(f"{name}: {' '.join(exc.messages)}") from exc
    assert isinstance(related, type)
    return field.name, _related_row(related, raw)


def _related_row(related: type[models.Model], raw: str) -> models.Model:
    manager = related._default_manager
    found = None
    with contextlib.suppress(ValueError, TypeError, ValidationError):  # not a pk of its type
        found = manager.filter(pk=raw).first()
    registration = registration_for(related)
    slug = registration.slug_field if registration is not None else None
    if slug is None and any(f.name == "slug" for f in related._meta.concrete_fields):
        slug = "slug"
    if found is None and slug:
        found = manager.filter(**{slug: raw}).first()
    if found is None:
        raise ValueError(f"No {related._meta.verbose_name} with pk or slug “{raw}”.")
    return found


def _example(model: type[models.Model]) -> str:
    registration = registration_for(model)
    names = registration.list_scopes if registration is not None else ()
    return f"{names[0]}=..." if names else "category=laptops"


def _fixed_values(node: WhereNode, field: models.Field[Any, Any], alias: str) -> list[Any]:
    """The constants ``field`` of table ``alias`` is fixed to under ``node``; [] when none."""
    if node.negated or node.connector != AND:
        return []
    for child in node.children:
        if isinstance(child, WhereNode):
            found = _fixed_values(child, field, alias)
        elif (
            isinstance(child, (Exact, In))
            and isinstance(child.lhs, Col)
            and child.lhs.target is field
            and child.lhs.alias == alias
            and not hasattr(child.rhs, "resolve_expression")
        ):
            found = _constants(child)
        else:
            continue
        if found:
            return found
    return []


def _constants(lookup: Exact | In) -> list[Any]:
    values = list(lookup.rhs) if isinstance(lookup, In) else [lookup.rhs]
    if not values or len(values) > MAX_SCOPE_VALUES:
        return []
    if any(v is None or hasattr(v, "resolve_expression") for v in values):
        return []
    return sorted(dict.fromkeys(values), key=repr)
