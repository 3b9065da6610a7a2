"""Permission checks for console views (S1).

The admin site's ``admin_view`` (applied in urls.py) sends anonymous and non-staff users
to the login page and applies CSRF protection; this adds the console's specific
permission (403 without it) and POST-only mutations.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Concatenate, ParamSpec

from django.contrib.admin import AdminSite
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.utils.translation import gettext as _

P = ParamSpec("P")
View = Callable[Concatenate[HttpRequest, P], HttpResponse]


def forbidden(request: HttpRequest, site: AdminSite, permission: str) -> HttpResponse:
    """A 403 inside the admin's chrome that names the missing permission."""
    # Imported here: settings import this package (console.sidebar) before the auth models.
    from django.contrib.auth.models import Permission

    from cache_admin.console.render import page

    app_label, codename = permission.split(".", 1)
    found = Permission.objects.filter(content_type__app_label=app_label, codename=codename).first()
    context = {"permission": permission, "permission_name": found.name if found else permission}
    return page(request, site, "forbidden.html", context, title=_("Permission needed"), status=403)


def require(
    permission: str, *alternatives: str, post_only: bool = False
) -> Callable[[View[P]], View[P]]:
    """Staff with ``permission`` (or any of ``alternatives``) only; others get a 403 page."""

    def decorator(view: View[P]) -> View[P]:
        @wraps(view)
        def wrapped(request: HttpRequest, /, *args: P.args, **kwargs: P.kwargs) -> HttpResponse:
            user = request.user
            if not (user.is_active and user.is_staff):
                raise PermissionDenied
            if not any(user.has_perm(p) for p in (permission, *alternatives)):
                site = kwargs.get("site")
                if not isinstance(site, AdminSite):
                    raise PermissionDenied
                return forbidden(request, site, permission)
            if post_only and request.method != "POST":
                return HttpResponseNotAllowed(["POST"])
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
