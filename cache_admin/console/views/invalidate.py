"""The Invalidate page: registered models (one instance, all lists, the whole prefix), any
prefix, a template fragment, the cache_page entries of a URL. Each action answers in the
page with what it did and writes an audit entry.
"""

from __future__ import annotations

from typing import Any

from django.contrib.admin import AdminSite
from django.core.exceptions import ValidationError
from django.db import models
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

from cache_admin import audit
from cache_admin.console.access import require
from cache_admin.console.figures import pick
from cache_admin.console.forms import CachePageForm, FragmentForm, ModelActionForm, PrefixForm
from cache_admin.console.render import REFRESH_EVENT, page
from cache_admin.console.toolkit import Unavailable, call


def registrations() -> tuple[dict[str, Any], str]:
    """{"app_label.model_name": registration}, and an error when the registry is unavailable."""
    try:
        found = call("invalidation", "registered_models") or []
    except Unavailable as exc:
        return {}, str(exc)
    items = found.items() if isinstance(found, dict) else ((pick(r, "model"), r) for r in found)
    out = {}
    for model, registration in items:
        found = model if isinstance(model, type) else pick(registration, "model")
        out[_model(found)._meta.label_lower] = registration
    return out, ""


def _model(registration: Any) -> type[models.Model]:
    found = pick(registration, "model", default=registration)
    return found  # type: ignore[no-any-return]


def find_instance(registration: Any, lookup: str) -> models.Model | None:
    model = _model(registration)
    manager = model._default_manager
    try:
        found = manager.filter(pk=lookup).first()
    except (ValueError, TypeError, ValidationError):
        found = None
    slug_field = pick(registration, "slug_field")
    if found is None and slug_field:
        found = manager.filter(**{slug_field: lookup}).first()
    return found


def model_prefix(registration: Any) -> str:
    model = _model(registration)
    return str(pick(registration, "prefix", default=None) or f"{model._meta.model_name}:")


def _model_action(request: HttpRequest, form: ModelActionForm, regs: dict[str, Any]) -> Any:
    registration = regs[form.cleaned_data["model"]]
    model = _model(registration)
    action = form.cleaned_data["action"]
    if action == "lists":
        return call("invalidation", "CacheInvalidator.invalidate_list_cache", model)
    if action == "prefix":
        prefix = model_prefix(registration)
        return call("invalidation", "CacheInvalidator.invalidate_by_prefix", prefix)
    lookup = form.cleaned_data["lookup"].strip()
    instance = find_instance(registration, lookup)
    if instance is None:
        form.add_error(
            "lookup",
            _("No %(model)s with pk or slug %(lookup)s.")
            % {"model": model._meta.verbose_name, "lookup": lookup},
        )
        return None
    return call("invalidation", "CacheInvalidator.invalidate_model", instance)


def _run(request: HttpRequest, kind: str, form: Any, regs: dict[str, Any]) -> Any:
    data = form.cleaned_data
    if kind == "model":
        return _model_action(request, form, regs)
    if kind == "prefix":
        return call("invalidation", "CacheInvalidator.invalidate_by_prefix", data["prefix"])
    if kind == "fragment":
        vary_on = tuple(v.strip() for v in data["vary_on"].split(",") if v.strip())
        return call("invalidation", "CacheInvalidator.invalidate_fragment", data["name"], vary_on)
    return call("invalidation", "CacheInvalidator.invalidate_cache_page", data["path"])


@require(audit.INVALIDATE)
def invalidate_view(request: HttpRequest, *, site: AdminSite) -> HttpResponse:
    regs, regs_error = registrations()
    choices = [(label, str(_model(r)._meta.verbose_name).capitalize()) for label, r in regs.items()]
    kind = request.POST.get("kind", "") if request.method == "POST" else ""
    bound = {
        "model": ModelActionForm(
            request.POST if kind == "model" else None, models=choices, prefix="model"
        ),
        "prefix": PrefixForm(request.POST if kind == "prefix" else None, prefix="prefix"),
        "fragment": FragmentForm(request.POST if kind == "fragment" else None, prefix="fragment"),
        "page": CachePageForm(request.POST if kind == "page" else None, prefix="page"),
    }
    context: dict[str, Any] = {
        "forms": bound,
        "registrations": [
            {"label": label, "name": _model(r)._meta.verbose_name, "prefix": model_prefix(r)}
            for label, r in regs.items()
        ],
        "regs_error": regs_error,
        "result": None,
        "error": "",
    }
    response_trigger = False
    if kind in bound and bound[kind].is_valid():
        try:
            result = _run(request, kind, bound[kind], regs)
        except Unavailable as exc:
            context["error"] = str(exc)
            result = None
        if result is not None:
            message = str(pick(result, "message", default=result))
            count = pick(result, "deleted", default=None)
            audit.record(
                request.user,
                f"invalidate_{pick(result, 'action', default=kind)}",
                str(pick(result, "target", default=kind)),
                keys_affected=count if isinstance(count, int) else None,
                message=message,
            )
            context["result"] = message
            response_trigger = True
    response = page(request, site, "invalidate.html", context, title=_("Invalidate cache"))
    if response_trigger:
        response["HX-Trigger"] = REFRESH_EVENT
    return response
