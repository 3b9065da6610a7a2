"""The metrics endpoint: Prometheus text format, behind a bearer token and/or staff login."""

from __future__ import annotations

import hmac

from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from cache_admin.conf import conf
from cache_admin.metrics.collector import metrics_registry


@never_cache
@require_safe
def metrics_view(request: HttpRequest) -> HttpResponse:
    refusal = refuse(request)
    if refusal is not None:
        return refusal
    return HttpResponse(generate_latest(metrics_registry()), content_type=CONTENT_TYPE_LATEST)


def refuse(request: HttpRequest) -> HttpResponse | None:
    """None when the request may read the metrics, else the 401/403 answer.

    A configured METRICS_TOKEN is accepted as ``Authorization: Bearer <token>``; active
    staff are accepted when METRICS_ALLOW_STAFF. With neither configured, the endpoint
    is open (a private network's choice).
    """
    token = conf.METRICS_TOKEN
    allow_staff = conf.METRICS_ALLOW_STAFF
    if not token and not allow_staff:
        return None
    header = request.headers.get("Authorization", "")
    scheme, _, given = header.partition(" ")
    if token and scheme.lower() == "bearer" and given.strip():
        if hmac.compare_digest(given.strip().encode(), token.encode()):
            return None
        return _text(403, "Invalid metrics token.")
    user = getattr(request, "user", None)
    if allow_staff and user is not None and user.is_active and user.is_staff:
        return None
    if user is not None and user.is_authenticated and allow_staff:
        return _text(403, "Metrics are for staff users.")
    response = _text(
        401,
        "Send Authorization: Bearer <METRICS_TOKEN>" if token else "Log in as a staff user.",
    )
    if token:
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
    return response


def _text(status: int, message: str) -> HttpResponse:
    return HttpResponse(message + "\n", status=status, content_type="text/plain; charset=utf-8")
