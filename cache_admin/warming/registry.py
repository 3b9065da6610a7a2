"""The warmer registry: a project declares in code what can be warmed (name, label, function).

Warmers are registered with :func:`register_warmer` (also a decorator), typically in a
``warmers.py`` module of an installed app: those modules are imported on first use, like
``admin.py`` modules, so the command, the console and Celery workers see the same list.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, overload

from cache_admin.background import on_fork

if TYPE_CHECKING:
    from cache_admin.warming.progress import Progress

# What a warm function returns: how many keys it wrote, the keys themselves, or None
# (then the keys written through ``progress.write`` are counted).
WarmOutput = int | Iterable[Any] | None
WarmFunction = Callable[["Progress"], WarmOutput]

NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


class UnknownWarmer(LookupError):
    def __init__(self, name: str) -> None:
        self.name = name
        known = ", ".join(w.name for w in all_warmers()) or "none are registered"
        super().__init__(f"Unknown warmer {name!r}. Registered warmers: {known}.")

    def __str__(self) -> str:
        return str(self.args[0])


@dataclass(frozen=True)
class Warmer:
    name: str
    label: str
    func: WarmFunction
    description: str = ""

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


_registry: dict[str, Warmer] = {}
_discovered = False
_discover_lock = threading.Lock()


@on_fork
def _after_fork_in_child() -> None:
    global _discover_lock
    _discover_lock = threading.Lock()  # never held for good by a thread gone with the fork


@overload
def register_warmer(
    name: str, func: WarmFunction, *, label: str | None = ..., description: str = ...
) -> Warmer: ...


@overload
def register_warmer(
    name: str, func: None = ..., *, label: str | None = ..., description: str = ...
) -> Callable[[WarmFunction], WarmFunction]: ...


def register_warmer(
    name: str,
    func: WarmFunction | None = None,
    *,
    label: str | None = None,
    description: str = "",
) -> Warmer | Callable[[WarmFunction], WarmFunction]:
    """Register ``func`` as the warmer ``name``; without ``func``, a decorator.

    Registering a name again replaces the earlier warmer (module reloads, tests).
    """
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise ValueError(
            f"warmer name {name!r} must be lower-case letters, digits and underscores, "
            "starting with a letter (it becomes a command flag: --name)"
        )
    if func is None:

        def decorator(f: WarmFunction) -> WarmFunction:
            register_warmer(name, f, label=label, description=description)
            return f

        return decorator
    if not callable(func):
        raise TypeError(f"warmer {name!r}: {func!r} is not callable")
    warmer = Warmer(
        name=name,
        label=label or name.replace("_", " ").capitalize(),
        func=func,
        description=description or (func.__doc__ or "").strip().split("\n")[0],
    )
    _registry[name] = warmer
    return warmer


def unregister_warmer(name: str) -> None:
    _registry.pop(name, None)


def autodiscover() -> None:
    """Import every installed app's ``warmers`` module, once per process."""
    global _discovered
    if _discovered:
        return
    with _discover_lock:
        if _discovered:
            return
        from django.apps import apps

        if not apps.ready:
            return
        from django.utils.module_loading import autodiscover_modules

        _discovered = True
        autodiscover_modules("warmers")


def all_warmers() -> list[Warmer]:
    """Registered warmers in registration order."""
    autodiscover()
    return list(_registry.values())


def get_warmer(name: str) -> Warmer:
    autodiscover()
    try:
        return _registry[name]
    except KeyError:
        raise UnknownWarmer(name) from None
