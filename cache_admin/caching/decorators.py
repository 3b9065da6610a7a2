"""``cache_result`` and ``cache_queryset``: the spec's patterns 1 and 2.

Keys are ``<key_prefix>:<arguments>``, built from the call bound to the function's
signature with defaults applied, so ``f(1)``, ``f(user_id=1)`` and ``f(1, detail=False)``
(the default) are one entry (C4). One simple argument stays readable
(``user_profile:42``); anything else becomes a digest that is stable across processes.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable
from typing import Any, Generic, ParamSpec, Protocol, TypeVar, overload

from django.db import models

from cache_admin import keys
from cache_admin.caching import fill
from cache_admin.invalidation import scopes
from cache_admin.invalidation.outbox import delete_keys
from cache_admin.types import CacheType, get_type, type_for_key

P = ParamSpec("P")
R = TypeVar("R")
R_co = TypeVar("R_co", covariant=True)

TypeRef = str | CacheType | None


class CachedFunction(Protocol[P, R_co]):
    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R_co: ...

    def invalidate(self, *args: P.args, **kwargs: P.kwargs) -> int: ...

    def refresh(self, *args: P.args, **kwargs: P.kwargs) -> R_co: ...

    def key_for(self, *args: P.args, **kwargs: P.kwargs) -> str: ...


def call_key(prefix: str, signature: inspect.Signature, args: Any, kwargs: Any) -> str:
    try:
        bound = signature.bind(*args, **kwargs)
    except TypeError as exc:
        raise TypeError(f"{prefix}: {exc}") from None
    bound.apply_defaults()
    # An argument equal to its default says nothing: f(1) and f(1, detail=False) keep the
    # readable key user_profile:1, and both are the same entry.
    parameters = signature.parameters
    values = {
        name: value
        for name, value in bound.arguments.items()
        if not _is_default(value, parameters[name])
    }
    if not values:
        return prefix
    if len(values) == 1:
        return f"{prefix}:{keys.part(next(iter(values.values())))}"
    return f"{prefix}:{keys.digest(dict(values))}"


def _is_default(value: Any, parameter: inspect.Parameter) -> bool:
    if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
        return not value
    default = parameter.default
    if default is parameter.empty:
        return False
    if value is default:
        return True
    try:
        return type(value) is type(default) and bool(value == default)
    except Exception:  # an odd __eq__: keep the argument in the key
        return False


def resolve_type(cache_type: TypeRef, key: str) -> CacheType | None:
    if isinstance(cache_type, CacheType):
        return cache_type
    if cache_type is not None:
        found = get_type(cache_type)
        if found is not None:
            return found
    return type_for_key(key)


def check_timeout(timeout: object) -> float | None:
    if timeout is None:
        return None
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise TypeError(f"timeout must be a number of seconds or None, not {timeout!r}")
    return timeout


def check_prefix(key_prefix: object) -> None:
    if key_prefix is not None and (not isinstance(key_prefix, str) or not key_prefix.strip(":")):
        raise ValueError(
            f"key_prefix must be a non-empty string such as 'user_profile', not {key_prefix!r}"
        )


def default_prefix(func: Callable[..., Any], key_prefix: str | None) -> str:
    check_prefix(key_prefix)
    if key_prefix is None:
        return f"{func.__module__}.{func.__qualname__}"
    return key_prefix.rstrip(":")


def model_generations(depends_on: tuple[type[models.Model], ...]) -> tuple[str, ...]:
    """The generation keys of entries that depend on whole models, in a stable order."""
    found: list[str] = []
    for each in depends_on:
        found += scopes.model_generations(each)
    return tuple(dict.fromkeys(found))


def evaluate(result: Any) -> Any:
    """A QuerySet becomes the list of its rows: small to pickle, no query object inside."""
    if isinstance(result, models.QuerySet):
        return list(result)
    return result


class _Cached(Generic[P, R]):
    """The machinery shared by both decorators; ``models_for`` makes entries enveloped."""

    def __init__(
        self,
        func: Callable[P, R],
        timeout: float | None,
        key_prefix: str | None,
        cache_type: TypeRef,
        early_refresh: float,
    ) -> None:
        self.func = func
        self.timeout = check_timeout(timeout)
        self.prefix = default_prefix(func, key_prefix)
        self.cache_type = cache_type
        self.early_refresh = float(early_refresh)
        self.signature = inspect.signature(func)
        params = self.signature.parameters.values()
        # Without defaults or *args/**kwargs, a call with every argument given by position
        # binds to exactly those values: the key skips Signature.bind (on the hit path).
        self.plain_names: tuple[str, ...] | None = (
            tuple(p.name for p in params)
            if all(
                p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty
                for p in params
            )
            else None
        )

    def key_for(self, *args: P.args, **kwargs: P.kwargs) -> str:
        return self.key(args, kwargs)

    def key(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
        names = self.plain_names
        if names is not None and not kwargs and len(args) == len(names):
            if not names:
                return self.prefix
            if len(names) == 1:
                return f"{self.prefix}:{keys.part(args[0])}"
            return f"{self.prefix}:{keys.digest(dict(zip(names, args, strict=True)))}"
        return call_key(self.prefix, self.signature, args, kwargs)

    def slot(self, key: str, generations: tuple[str, ...] = ()) -> fill.Slot:
        # Positional: this runs on every hit.
        return fill.Slot(
            key,
            resolve_type(self.cache_type, key),
            self.timeout,
            generations,
            self.prefix,
            self.early_refresh,
        )

    def invalidate(self, *args: P.args, **kwargs: P.kwargs) -> int:
        return delete_keys([self.key_for(*args, **kwargs)])

    def wrap(self, call: Callable[P, R], refresh: Callable[P, R]) -> CachedFunction[P, R]:
        wrapper: Any = functools.wraps(self.func)(call)
        wrapper.invalidate = self.invalidate
        wrapper.refresh = refresh
        wrapper.key_for = self.key_for
        return wrapper  # type: ignore[no-any-return]


@overload
def cache_result(timeout: Callable[P, R]) -> CachedFunction[P, R]: ...


@overload
def cache_result(
    timeout: float | None = None,
    key_prefix: str | None = None,
    cache_type: TypeRef = None,
    *,
    early_refresh: float = 0.0,
) -> Callable[[Callable[P, R]], CachedFunction[P, R]]: ...


def cache_result(
    timeout: Any = None,
    key_prefix: str | None = None,
    cache_type: TypeRef = None,
    *,
    early_refresh: float = 0.0,
) -> Any:
    """Cache what the function returns (``None`` and empty results too, never exceptions)."""
    if callable(timeout):  # used bare: @cache_result
        return cache_result()(timeout)
    check_timeout(timeout)  # mistakes show where the decorator is written
    check_prefix(key_prefix)

    def decorate(func: Callable[P, R]) -> CachedFunction[P, R]:
        cached = _Cached(func, timeout, key_prefix, cache_type, early_refresh)

        def call(*args: P.args, **kwargs: P.kwargs) -> R:
            return fill.fetch(cached.slot(cached.key(args, kwargs)), lambda: func(*args, **kwargs))

        def refresh(*args: P.args, **kwargs: P.kwargs) -> R:
            return fill.refresh(
                cached.slot(cached.key(args, kwargs)), lambda: func(*args, **kwargs)
            )

        return cached.wrap(call, refresh)

    return decorate


def cache_queryset(
    timeout: float | None = None,
    key_prefix: str | None = None,
    cache_type: TypeRef = None,
    *,
    model: type[models.Model] | None = None,
    depends_on: Iterable[type[models.Model]] = (),
    early_refresh: float = 0.0,
) -> Callable[[Callable[P, Any]], CachedFunction[P, list[Any]]]:
    """Cache the evaluated rows (a list) of the QuerySet the function returns.

    Entries carry the generation tokens of the queryset's model (and of ``depends_on``),
    so ``CacheInvalidator.invalidate_list_cache(Model)`` makes all of them miss at once, and
    so does a save of a registered model (with list scopes: through the token of the lists
    that fix no scope, as an entry of the whole model is one of those). Without ``model=``
    the function is called on every lookup to learn the model: building a QuerySet runs
    no query, but pass ``model=`` when the function does other work before returning it.
    """
    extra = tuple(depends_on)
    check_timeout(timeout)
    check_prefix(key_prefix)

    def decorate(func: Callable[P, Any]) -> CachedFunction[P, list[Any]]:
        cached: _Cached[P, Any] = _Cached(func, timeout, key_prefix, cache_type, early_refresh)

        def prepare(args: Any, kwargs: Any) -> tuple[fill.Slot, Callable[[], list[Any]]]:
            key = cached.key(args, kwargs)
            if model is not None:
                depends = model_generations((model, *extra))
                return cached.slot(key, depends), lambda: evaluate(func(*args, **kwargs))
            queryset = func(*args, **kwargs)
            if not isinstance(queryset, models.QuerySet):
                raise TypeError(
                    f"{cached.prefix}: cache_queryset needs a function that returns a QuerySet "
                    f"(got {type(queryset).__name__}); pass model=... to cache other results"
                )
            depends = model_generations((queryset.model, *extra))
            return cached.slot(key, depends), lambda: list(queryset)

        def call(*args: P.args, **kwargs: P.kwargs) -> list[Any]:
            return fill.fetch(*prepare(args, kwargs))

        def refresh(*args: P.args, **kwargs: P.kwargs) -> list[Any]:
            return fill.refresh(*prepare(args, kwargs))

        return cached.wrap(call, refresh)

    return decorate
