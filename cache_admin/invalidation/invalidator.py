"""CacheInvalidator: the spec's invalidation calls (strategies 2 to 4).

A model invalidation names its keys exactly (detail, slug, attributes): never a SCAN per
save. Lists are invalidated by bumping the model's generation, one write whatever the
number of cached lists (P3). Only a prefix invalidation scans (P4).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import replace
from typing import Any

from django.core.cache import caches
from django.core.exceptions import FieldDoesNotExist
from django.db import models

from cache_admin import backend, counters, generations, keys, stored_keys
from cache_admin.guard import CacheUnavailable, guarded
from cache_admin.invalidation import attributes, outbox, pages, scopes
from cache_admin.invalidation.prefix import (
    PrefixProgress,
    count_prefix,
    iter_delete_prefix,
    validate_prefix,
)
from cache_admin.invalidation.registrations import known_attributes, registration_for
from cache_admin.invalidation.results import InvalidationResult
from cache_admin.types import type_for_key

Model = models.Model
PK_CHUNK = 500  # rows read per query: well under every database's parameter limit


def model_keys(instance: Model, previous: Model | None = None) -> list[str]:
    """The logical keys an instance may be cached under, for its current and previous values."""
    if instance.pk is None:
        raise ValueError(f"{type(instance).__name__} instance has no primary key")
    model = type(instance)
    registration = registration_for(model)
    found = [keys.detail_key(instance, instance.pk)]
    slug_field = registration.slug_field if registration else _default_slug_field(model)
    states = [instance] if previous is None else [instance, previous]
    if slug_field:
        for state in states:
            value = getattr(state, slug_field, None)
            if value not in (None, ""):
                found.append(keys.slug_key(instance, value))
    attributes = list(registration.attributes) if registration else []
    attributes += [a for a in sorted(known_attributes(model)) if a not in attributes]
    found += [keys.attribute_key(instance, attr) for attr in attributes]
    if registration and registration.extra_keys:
        for state in states:
            found += list(registration.extra_keys(state))
    return list(dict.fromkeys(found))


def delete_rows(
    model: type[Model], pks: list[Any], named: list[str], alias: str | None
) -> outbox.Deletion:
    """Delete the keys named for rows of ``model``, and every attribute key of those rows
    that any process wrote (the model's name set), in one round trip where it can."""
    alias = alias or backend.alias()
    deleter = attributes.RowDeleter(model, pks, caches[alias])
    return outbox.delete(list(dict.fromkeys(named)), alias=alias, deleter=deleter)


def _default_slug_field(model: type[Model]) -> str | None:
    # An unregistered model: follow the spec's convention when it has a field named slug.
    try:
        model._meta.get_field("slug")
    except FieldDoesNotExist:
        return None
    return "slug"


def _list_type(model: type[Model]) -> str | None:
    found = type_for_key(keys.list_prefix(model))
    return found.name if found else None


def _label(model: type[Model] | Model) -> str:
    return keys.model_name(model)


def bump_generations(
    model: type[Model], generation_keys: list[str], target: str, alias: str | None
) -> InvalidationResult:
    """New tokens under these generation keys of ``model``'s lists: one round trip, queued
    for replay as deletions during an outage (a deleted token is a bump, P3)."""
    alias = alias or backend.alias()
    if alias != backend.alias():  # generations works on the configured alias only
        done = outbox.delete(generation_keys, alias=alias)
        return InvalidationResult("lists", target, keys=done.keys, queued=done.queued)
    try:
        tokens = generations.bump_keys(generation_keys)  # guarded by the breaker
    except backend.REDIS_ERRORS as exc:
        cache = backend.get_cache(alias)
        stored = [stored_keys.stored_key(key, cache) for key in generation_keys]
        outbox.queue_keys(stored, alias=alias, reason=repr(exc))
        return InvalidationResult("lists", target, queued=True)
    counters.record(_list_type(model), "invalidations")
    outbox.replay_if_pending(alias)
    return InvalidationResult("lists", target, generation=tokens[-1])


class CacheInvalidator:
    @staticmethod
    def invalidate_model(
        instance: Model, *, previous: Model | None = None, alias: str | None = None
    ) -> InvalidationResult:
        """Delete the instance's detail, slug and attribute keys (``previous``: its old values)."""
        named = model_keys(instance, previous)
        done = delete_rows(type(instance), [instance.pk], named, alias)
        return InvalidationResult.from_deletion("model", f"{_label(instance)} {instance.pk}", done)

    @staticmethod
    def invalidate_pks(
        model: type[Model],
        pks: Iterable[Any],
        *,
        previous: Iterable[Model] = (),
        alias: str | None = None,
    ) -> InvalidationResult:
        """For ``QuerySet.update()`` and ``bulk_*``, which send no signals.

        Reads the rows (a query per 500) to name their slug and extra keys; rows already
        gone still get their detail and attribute keys deleted. A model registered with
        ``lists=True`` gets the generations a save of those rows would bump. ``previous``:
        the rows as read before an ``update()`` changed them, so that keys and list scopes
        of their old values go too (C2); without it only the current values are known.
        """
        wanted = list(dict.fromkeys(pks))
        rows: dict[Any, Model] = {}
        for start in range(0, len(wanted), PK_CHUNK):
            chunk = wanted[start : start + PK_CHUNK]
            rows.update((obj.pk, obj) for obj in model._base_manager.filter(pk__in=chunk))
        before = {row.pk: row for row in previous}
        named: list[str] = []
        for pk in wanted:
            instance = rows.get(pk) or model(pk=pk)
            named += model_keys(instance, before.get(pk))
        done = delete_rows(model, wanted, named, alias)
        target = f"{_label(model)} ({len(wanted)} rows)"
        registration = registration_for(model)
        if registration is not None and registration.lists:
            states = [*rows.values(), *before.values()]
            bump_generations(model, scopes.changed_generations(registration, states), target, alias)
        return InvalidationResult.from_deletion("model", target, done)

    @staticmethod
    def invalidate_list_cache(
        model: type[Model] | Model,
        *,
        scope: Mapping[str, Any] | None = None,
        alias: str | None = None,
    ) -> InvalidationResult:
        """A new generation for the model's lists: one write, however many are cached (P3).

        ``scope={"category": laptops}``: only the lists that fix that list scope to that
        value (``register(..., list_scopes=("category",))``); ValueError for a field that is
        not one of the model's list scopes.
        """
        model_class = model if isinstance(model, type) else type(model)
        name = _label(model_class)
        if not scope:
            return bump_generations(model_class, [generations.key(model_class)], name, alias)
        found = [scopes.scope_generation(model_class, f, v) for f, v in scope.items()]
        shown = ", ".join(f"{field}={value}" for field, value in scope.items())
        return replace(bump_generations(model_class, found, name, alias), scope=shown)

    @staticmethod
    def invalidate_by_prefix(
        prefix: str, dry_run: bool = False, *, alias: str | None = None
    ) -> int:
        """Delete (or with ``dry_run`` count) the site's keys under a logical prefix (P4, S2)."""
        result = CacheInvalidator.invalidate_prefix(prefix, dry_run, alias=alias)
        return result.matched if dry_run else result.deleted  # type: ignore[return-value]

    # The same functions as in their modules, reachable under the spec's class name.
    count_prefix = staticmethod(count_prefix)

    @staticmethod
    def invalidate_prefix(
        prefix: str, dry_run: bool = False, *, alias: str | None = None
    ) -> InvalidationResult:
        """Like ``invalidate_by_prefix`` but says what it did; queued when Redis is out (R2).

        A dry run during an outage raises ``CacheUnavailable``: there is nothing to count.
        """
        validate_prefix(prefix)
        alias = alias or backend.alias()
        last: PrefixProgress | None = None
        try:
            for last in iter_delete_prefix(prefix, dry_run=dry_run, alias=alias):  # noqa: B007
                pass
        except CacheUnavailable as exc:
            if dry_run:
                raise
            outbox.queue_prefix(prefix, alias=alias, reason=str(exc))
            deleted = last.deleted if last else 0
            return InvalidationResult("prefix", prefix, deleted=deleted, queued=True)
        assert last is not None
        outbox.replay_if_pending(alias)
        return InvalidationResult(
            "prefix", prefix, deleted=last.deleted, matched=last.matched, dry_run=dry_run
        )

    @staticmethod
    def iter_invalidate_prefix(
        prefix: str,
        batch: int | None = None,
        *,
        dry_run: bool = False,
        alias: str | None = None,
    ) -> Iterator[PrefixProgress]:
        """Progress after each SCAN step (scanned, matched, deleted, done), for a progress bar.

        ValueError for an unusable prefix (raised at once, before any Redis call).
        ``CacheUnavailable`` when Redis goes out of reach; unless a dry run, the prefix is
        then queued for replay (R2) and the exception says so (``queued``).
        """
        validate_prefix(prefix)
        return _iter_queueing(prefix, batch, dry_run, alias or backend.alias())

    @staticmethod
    def invalidate_keys(*logical: str, alias: str | None = None) -> InvalidationResult:
        named = [key for key in logical if isinstance(key, str) and key]
        if not named:
            raise ValueError("Give at least one key, for example 'product:123'.")
        done = outbox.delete(named, alias=alias)
        target = named[0] if len(named) == 1 else f"{len(named)} keys"
        return InvalidationResult.from_deletion("keys", target, done)

    @staticmethod
    def queued_count(*, alias: str | None = None) -> int:
        """Invalidations issued during an outage that still wait for Redis (R2)."""
        return outbox.waiting(alias or backend.alias())

    @staticmethod
    def replay_queued(*, alias: str | None = None) -> InvalidationResult:
        """Replay now what outages left queued, here and in the database (R2)."""
        alias = alias or backend.alias()
        cache = caches[alias]
        target = "queued invalidations"
        before = outbox.waiting(alias)
        try:
            # A breaker closing on this call replays at once (its recovery hook).
            guarded(lambda: backend.client(cache).ping(), alias=alias, error=CacheUnavailable)
        except CacheUnavailable:
            return InvalidationResult("replay", target, queued=True, matched=before)
        outbox.adopt(alias)
        outbox.replay(alias)
        left = outbox.waiting(alias)
        return InvalidationResult(
            "replay", target, deleted=max(0, before - left), matched=before, queued=left > 0
        )

    invalidate_fragment = staticmethod(pages.invalidate_fragment)
    invalidate_cache_page = staticmethod(pages.invalidate_cache_page)
    iter_invalidate_cache_page = staticmethod(pages.iter_invalidate_cache_page)


def _iter_queueing(
    prefix: str, batch: int | None, dry_run: bool, alias: str
) -> Iterator[PrefixProgress]:
    try:
        yield from iter_delete_prefix(prefix, dry_run=dry_run, batch=batch, alias=alias)
    except CacheUnavailable as exc:
        if not dry_run:
            outbox.queue_prefix(prefix, alias=alias, reason=str(exc))
            exc.queued = True
        raise
    outbox.replay_if_pending(alias)
