"""``CachedAttribute``: the spec's pattern 5, an instance's computed value under
``{model}:{id}:{attr}``.

``CacheInvalidator.invalidate_model(instance)`` deletes every attribute key of the row by
name, whichever process wrote it: each store of an attribute value adds its name to a
small set per model in the package namespace, in the store's own round trip, and the
invalidation reads that set (``invalidation.attributes``). Each process also knows the
names it used, declared (``cached_attribute``) or read from the set:
``known_attributes(Model)`` (kept in ``invalidation.registrations``), what it deletes
while Redis is out of reach.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar, overload

from django.db import models

from cache_admin import keys
from cache_admin.caching import fill
from cache_admin.caching.decorators import TypeRef, check_timeout, evaluate, resolve_type
from cache_admin.invalidation.outbox import delete_keys
from cache_admin.invalidation.registrations import known_attributes, remember_attribute

__all__ = ["CachedAttribute", "cached_attribute", "known_attributes"]

T = TypeVar("T")


class CachedAttribute(Generic[T]):
    def __init__(
        self,
        instance: models.Model,
        attr_name: str,
        func: Callable[[], T],
        timeout: float | None = None,
        cache_type: TypeRef = None,
    ) -> None:
        if not isinstance(attr_name, str) or not attr_name or ":" in attr_name:
            raise ValueError(f"attr_name must be a name such as 'related', not {attr_name!r}")
        self.instance = instance
        self.attr_name = attr_name
        self.func = func
        self.timeout = check_timeout(timeout)
        self.cache_type = cache_type
        remember_attribute(instance, attr_name)

    @property
    def key(self) -> str:
        return keys.attribute_key(self.instance, self.attr_name)

    def _slot(self) -> fill.Slot:
        key = self.key
        label = self.instance._meta.label_lower
        return fill.Slot(
            key=key,
            cache_type=resolve_type(self.cache_type, key),
            timeout=self.timeout,
            family=f"{label}.{self.attr_name}",
            attribute=(label, self.attr_name),
        )

    @property
    def value(self) -> T:
        if self.instance.pk is None:  # unsaved: no key of its own, nothing to share
            return evaluate(self.func())  # type: ignore[no-any-return]
        return fill.fetch(self._slot(), lambda: evaluate(self.func()))  # type: ignore[no-any-return]

    def refresh(self) -> T:
        if self.instance.pk is None:
            return evaluate(self.func())  # type: ignore[no-any-return]
        return fill.refresh(self._slot(), lambda: evaluate(self.func()))  # type: ignore[no-any-return]

    def invalidate(self) -> int:
        return delete_keys([self.key])


class cached_attribute(Generic[T]):
    """``@cached_attribute(timeout=3600)`` on a model method: a read-only attribute backed
    by ``CachedAttribute``, known to ``known_attributes()`` as soon as the class exists."""

    def __init__(self, timeout: float | None = None, cache_type: TypeRef = None) -> None:
        self.timeout = check_timeout(timeout)
        self.cache_type = cache_type
        self.func: Callable[[Any], T] | None = None
        self.name = ""

    def __call__(self, func: Callable[[Any], T]) -> cached_attribute[T]:
        self.func = func
        self.__doc__ = func.__doc__
        return self

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def contribute_to_class(self, cls: type[models.Model], name: str) -> None:
        # Django calls this once the model's _meta exists (__set_name__ runs too early).
        self.name = name
        setattr(cls, name, self)
        if not cls._meta.abstract:
            remember_attribute(cls, name)

    @overload
    def __get__(self, instance: None, owner: type) -> cached_attribute[T]: ...

    @overload
    def __get__(self, instance: models.Model, owner: type) -> T: ...

    def __get__(self, instance: models.Model | None, owner: type) -> Any:
        if instance is None:
            return self
        func = self.func
        assert func is not None, "use as @cached_attribute(...) above a method"
        return CachedAttribute(
            instance, self.name, lambda: func(instance), self.timeout, self.cache_type
        ).value
