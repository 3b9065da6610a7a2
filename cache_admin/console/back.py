"""Where a page links back to: a URL the request carries, kept only when it is a relative
URL inside this admin site, so a crafted link cannot send anyone elsewhere (no open redirect)."""

from __future__ import annotations

from django.contrib.admin import AdminSite
from django.http import HttpRequest
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

MAX_LENGTH = 2000
PARAM = "back"


def back_url(request: HttpRequest, site: AdminSite, value: object, default: str) -> str:
    """``value`` when it is a same-site relative path under the admin, else ``default``."""
    if not isinstance(value, str) or not 1 < len(value) <= MAX_LENGTH:
        return default
    root = reverse(f"{site.name}:index")
    # "//host" and "/\host" are other sites to a browser; control characters end headers.
    if not value.startswith(root) or value.startswith(("//", "/\\")):
        return default
    if any(c in value for c in "\\") or any(ord(c) < 32 or ord(c) == 127 for c in value):
        return default
    if not url_has_allowed_host_and_scheme(value, allowed_hosts={request.get_host()}):
        return default
    return value


def requested(request: HttpRequest, site: AdminSite, default: str) -> str:
    """The back URL of a GET's query or a POST's form."""
    source = request.POST if request.method == "POST" else request.GET
    return back_url(request, site, source.get(PARAM), default)
