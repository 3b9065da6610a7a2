"""``cache_admin.console.require`` on a project's own view (it is public API)."""

from __future__ import annotations

import pytest
from django.contrib.admin import site as admin_site
from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory

from cache_admin.console import require
from tests.console.conftest import grant


@require("cache_admin.delete_keys", "cache_admin.invalidate_cache", post_only=True)
def own_view(request: HttpRequest) -> HttpResponse:
    return HttpResponse("done")


def call(user: object, method: str = "post") -> HttpResponse:
    request = getattr(RequestFactory(), method)("/own/")
    request.user = user
    return own_view(request)


def test_staff_with_one_of_the_permissions_gets_the_view(staff: User) -> None:
    assert call(grant(staff, "cache_admin.invalidate_cache")).content == b"done"


def test_others_are_refused(staff: User) -> None:
    for user in (AnonymousUser(), staff):
        with pytest.raises(PermissionDenied):
            call(user)


def test_a_site_given_makes_the_refusal_a_page(staff: User) -> None:
    request = RequestFactory().post("/own/")
    request.user = staff
    response = own_view(request, site=admin_site)  # type: ignore[call-arg]
    assert response.status_code == 403


def test_post_only(superuser: User) -> None:
    assert call(superuser, "get").status_code == 405
    assert call(superuser).status_code == 200
