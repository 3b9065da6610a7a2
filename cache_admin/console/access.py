"""Permission checks for console views (S1).

The admin site's ``admin_view`` (applied in urls.py) sends anonymous and non-staff users
to the login page and applies CSRF protection; this adds the console's specific
permission (403 without it) and POST-only mutations.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed

View = TypeVar("View", bound=Callable[..., HttpResponse])


def require(permission: str, *, post_only: bool = False) -> Callable[[View], View]:
    def decorator(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            user = request.user
            if not (user.is_active and user.is_staff):
                raise PermissionDenied
            if not user.has_perm(permission):
                raise PermissionDenied
            if post_only and request.method != "POST":
                return HttpResponseNotAllowed(["POST"])
            return view(request, *args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator
