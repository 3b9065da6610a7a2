"""The console's htmx requests, read through django-htmx.

``request.htmx`` comes from django-htmx's middleware; a project that has not installed it
still gets a working console: the same details are read from the request here.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib.admin import AdminSite
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django_htmx.http import HttpResponseClientRedirect
from django_htmx.middleware import HtmxDetails

View = Callable[..., HttpResponse]


def htmx(request: HttpRequest) -> HtmxDetails:
    found = getattr(request, "htmx", None)
    return found if isinstance(found, HtmxDetails) else HtmxDetails(request)


def login_in_tab(site: AdminSite, admin_view: View) -> View:
    """Wrap a view made by ``site.admin_view``: an htmx request (a dashboard poll, a job's
    progress) from a visitor whose session has ended sends the whole tab to the login page,
    and back to the page it showed after signing in. Without this the login redirect is
    followed inside the request and htmx swaps the login form into the refreshed block."""

    @wraps(admin_view)
    def view(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        details = htmx(request)
        if details and not site.has_permission(request):
            back = details.current_url_abs_path or reverse("admin:index", current_app=site.name)
            login = redirect_to_login(back, reverse("admin:login", current_app=site.name))
            return HttpResponseClientRedirect(login.url)
        return admin_view(request, *args, **kwargs)

    return never_cache(view)
