"""A pickle reader that imports only an allowlist and names everything else it meets."""

from __future__ import annotations

import io
import pickle
import warnings
from typing import Any

_ALLOWED: dict[str, frozenset[str]] = {
    "builtins": frozenset(
        {"dict", "list", "set", "frozenset", "tuple", "str", "int", "float", "complex"}
        | {"bool", "object"}
    ),
    "copyreg": frozenset({"_reconstructor"}),
    "datetime": frozenset({"datetime", "date", "time", "timedelta", "timezone"}),
    "decimal": frozenset({"Decimal"}),
    "uuid": frozenset({"UUID", "SafeUUID"}),
    "collections": frozenset({"OrderedDict", "defaultdict", "deque", "Counter"}),
    "zoneinfo": frozenset({"ZoneInfo", "ZoneInfo._unpickle"}),
    "django.db.models.base": frozenset({"ModelState"}),
    # Django 6.1+: a model instance's state refers to one of these constants by name.
    "django.db.models.fetch_modes": frozenset({"FETCH_ONE", "FETCH_PEERS", "FETCH_RAISE"}),
    "django.utils.safestring": frozenset({"SafeString"}),
    # What cache_page stores: a rendered response with its headers and cookies.
    "django.http.response": frozenset({"HttpResponse", "ResponseHeaders"}),
    "http.cookies": frozenset({"SimpleCookie", "Morsel"}),
}


class _RefusedBase:
    """Stands in for a class or function the unpickler would not import; does nothing."""

    refused_name = ""

    def __new__(cls, *args: Any, **kwargs: Any) -> _RefusedBase:
        return object.__new__(cls)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def __call__(self, *args: Any, **kwargs: Any) -> _RefusedBase:
        return self

    def __setstate__(self, state: Any) -> None:
        pass

    def __setitem__(self, key: Any, value: Any) -> None:
        pass

    def append(self, value: Any) -> None:
        pass

    def extend(self, values: Any) -> None:
        pass

    def __repr__(self) -> str:
        return f"<refused {self.refused_name}>"


def _sized(kind: type[bytes] | type[bytearray]) -> Any:
    """``bytes(10**12)`` would allocate a terabyte: only copies of given data are made."""

    def build(*args: Any) -> bytes | bytearray:
        if not args or isinstance(args[0], int):
            raise pickle.UnpicklingError(f"{kind.__name__}() of a size is not allowed")
        return kind(*args)

    return build


class RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, data: bytes) -> None:
        super().__init__(io.BytesIO(data))
        self.refused: list[str] = []

    def run(self) -> Any:
        with warnings.catch_warnings():
            # Django warns about model pickles from another version; showing them is fine.
            warnings.simplefilter("ignore")
            return self.load()

    def find_class(self, module: str, name: str) -> Any:
        if name in _ALLOWED.get(module, ()):
            return super().find_class(module, name)
        if (module, name) == ("django.db.models.base", "model_unpickle"):
            return self._model_unpickle
        if module == "builtins" and name in ("bytes", "bytearray"):
            return _sized(bytes if name == "bytes" else bytearray)
        return self._refuse(f"{module}.{name}")

    def persistent_load(self, pid: Any) -> Any:
        return self._refuse(f"persistent id {str(pid)[:60]}")

    def _refuse(self, full_name: str) -> type[_RefusedBase]:
        if full_name not in self.refused:
            self.refused.append(full_name)
        return type("Refused", (_RefusedBase,), {"refused_name": full_name})

    def _model_unpickle(self, model_id: Any) -> Any:
        """Django's model_unpickle, limited to models of installed apps."""
        from django.apps import apps

        if (
            not isinstance(model_id, tuple)
            or len(model_id) != 2
            or not all(isinstance(part, str) for part in model_id)
        ):
            return self._refuse(f"model {str(model_id)[:80]}")()
        try:
            model = apps.get_model(*model_id)
        except (LookupError, ValueError):
            return self._refuse(f"model {model_id[0]}.{model_id[1]} (not installed)")()
        return object.__new__(model)


def restricted_loads(data: bytes) -> tuple[Any, tuple[str, ...]]:
    """The object and the names refused; raises pickle.UnpicklingError (or other) on bad data."""
    unpickler = RestrictedUnpickler(data)
    return unpickler.run(), tuple(unpickler.refused)
