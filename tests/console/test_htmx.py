"""htmx requests, read through django-htmx, with or without its middleware installed."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

MIDDLEWARE = "django_htmx.middleware.HtmxMiddleware"
STATS = "admin:cache_admin_dashboard_stats"


@pytest.fixture(params=["with middleware", "without middleware"])
def middleware(request: pytest.FixtureRequest, settings: Any) -> str:
    if request.param == "without middleware":
        settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if m != MIDDLEWARE]
    assert (MIDDLEWARE in settings.MIDDLEWARE) == (request.param == "with middleware")
    return str(request.param)


def htmx_get(client: Client, url: str, current: str) -> Any:
    headers = {"HX-Request": "true", "HX-Current-URL": current}
    return client.get(url, headers=headers)


def test_a_poll_after_the_session_ended_sends_the_tab_to_the_login_page(
    db: None, middleware: str
) -> None:
    dashboard = reverse("admin:cache_admin_dashboard")
    response = htmx_get(Client(), reverse(STATS), f"http://testserver{dashboard}")
    assert hasattr(response.wsgi_request, "htmx") == (middleware == "with middleware")
    assert response.status_code == 200
    # Back to the page the tab showed, not to the fragment the poll asked for.
    assert response["HX-Redirect"] == f"/admin/login/?next={dashboard}"
    assert response.content == b""
    assert "no-cache" in response["Cache-Control"]


def test_a_current_url_of_another_site_is_not_followed_back(db: None, middleware: str) -> None:
    response = htmx_get(Client(), reverse(STATS), "https://elsewhere.example/admin/")
    assert response["HX-Redirect"] == "/admin/login/?next=/admin/"


def test_a_plain_request_after_the_session_ended_is_redirected_as_before(
    db: None, middleware: str
) -> None:
    response = Client().get(reverse(STATS))
    assert response.status_code == 302
    assert response["Location"] == f"/admin/login/?next={reverse(STATS)}"
    assert "HX-Redirect" not in response


def test_signed_in_htmx_requests_get_their_fragment(admin_client: Client, middleware: str) -> None:
    dashboard = reverse("admin:cache_admin_dashboard")
    response = htmx_get(admin_client, reverse(STATS), f"http://testserver{dashboard}")
    assert response.status_code == 200
    assert "HX-Redirect" not in response
    assert 'id="cache-admin-history-note"' in response.content.decode()
    assert admin_client.get(dashboard).status_code == 200
