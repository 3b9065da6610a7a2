"""The Invalidate page: registered models (one instance, all lists, the whole prefix), any
prefix, a template fragment, the cache_page entries of a URL. Each action answers in the
page with what it did and writes an audit entry.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.contrib.admin import AdminSite
from django.core.exceptions import ValidationError
from django.db import models
from django.forms import Form
from django.http import HttpRequest, HttpResponse, QueryDict
from django.utils.translation import gettext as _
from django_htmx.http import trigger_client_event

from cache_admin import audit, deletion_jobs
from cache_admin.console.access import require
from cache_admin.console.figures import queued_invalidations
from cache_admin.console.forms import CachePageForm, FragmentForm, ModelActionForm, PrefixForm
from cache_admin.console.render import REFRESH_EVENT, page
from cache_admin.console.toolkit import Unavailable, as_unavailable
from cache_admin.invalidation import (
    CacheInvalidator,
    InvalidationResult,
    Registration,
    registered_models,
)
from cache_admin.invalidation.pages import PAGE_PREFIX

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser
    from django.contrib.auth.models import AnonymousUser

    User = AbstractBaseUser | AnonymousUser


def registrations() -> tuple[dict[str, Registration], str]:
    """{"app_label.model_name": Registration}, and an error when the registry is unavailable."""
    try:
        with as_unavailable():
            found = registered_models()
    except Unavailable as exc:
        return {}, str(exc)
    return {reg.model_label: reg for reg in found}, ""


def find_instance(registration: Registration, lookup: str) -> models.Model | None:
    manager = registration.model._default_manager
    found = None
    # Not a pk of this model's type: the slug may still match.
    with contextlib.suppress(ValueError, TypeError, ValidationError):
        found = manager.filter(pk=lookup).first()
    if found is None and registration.slug_field:
        found = manager.filter(**{registration.slug_field: lookup}).first()
    return found


@dataclass(frozen=True)
class PrefixJob:
    """A prefix deletion started in the background: a request never walks the keyspace (P5);
    the page follows the job's progress and the job writes the audit entry when it ends."""

    job_id: str
    prefix: str
    label: str = ""


def start_prefix_job(prefix: str, user: User) -> PrefixJob:
    return PrefixJob(deletion_jobs.start(prefix, user=user), prefix)


def start_page_job(path: str, user: User) -> PrefixJob:
    # Finding a path's cached pages walks every cache_page entry: a background job too.
    # The path is checked (and its URLs built) here; the job runs the steps unstarted.
    steps = CacheInvalidator.iter_invalidate_cache_page(path)
    label = _("cache_page entries of %(path)s") % {"path": path}
    job_id = deletion_jobs.start(
        PAGE_PREFIX, user=user, steps=lambda: steps, action="invalidate_page", label=label
    )
    return PrefixJob(job_id, path, label)


Outcome = InvalidationResult | PrefixJob | None


def _model_action(form: ModelActionForm, regs: dict[str, Registration], user: User) -> Outcome:
    registration = regs[form.cleaned_data["model"]]
    action = form.cleaned_data["action"]
    if action == "lists":
        return CacheInvalidator.invalidate_list_cache(registration.model)
    if action == "prefix":
        return start_prefix_job(registration.prefix, user)
    lookup = form.cleaned_data["lookup"].strip()
    instance = find_instance(registration, lookup)
    if instance is None:
        form.add_error(
            "lookup",
            _("No %(model)s with pk or slug “%(lookup)s”.")
            % {"model": registration.model._meta.verbose_name, "lookup": lookup},
        )
        return None
    return CacheInvalidator.invalidate_model(instance)


def _run(kind: str, form: Form, regs: dict[str, Registration], user: User) -> Outcome:
    """ValueError for input the toolkit refused; Unavailable when it could not answer."""
    data = form.cleaned_data
    with as_unavailable(passthrough=(ValueError,)):
        if isinstance(form, ModelActionForm):
            return _model_action(form, regs, user)
        if kind == "prefix":
            return start_prefix_job(data["prefix"], user)
        if kind == "fragment":
            vary_on = tuple(v.strip() for v in data["vary_on"].split(",") if v.strip())
            return CacheInvalidator.invalidate_fragment(data["name"], vary_on)
        return start_page_job(data["path"], user)


def _forms(request: HttpRequest, kind: str, regs: dict[str, Registration]) -> dict[str, Form]:
    choices = [(label, reg.label) for label, reg in regs.items()]

    def data(name: str) -> QueryDict | None:
        return request.POST if kind == name else None

    return {
        "model": ModelActionForm(data("model"), models=choices, prefix="model"),
        "prefix": PrefixForm(data("prefix"), prefix="prefix"),
        "fragment": FragmentForm(data("fragment"), prefix="fragment"),
        "page": CachePageForm(data("page"), prefix="page"),
    }


@require(audit.INVALIDATE)
def invalidate_view(request: HttpRequest, *, site: AdminSite) -> HttpResponse:
    regs, regs_error = registrations()
    kind = request.POST.get("kind", "") if request.method == "POST" else ""
    forms = _forms(request, kind, regs)
    context: dict[str, Any] = {
        "forms": forms,
        "registrations": [{"name": r.label, "prefix": r.prefix} for r in regs.values()],
        "regs_error": regs_error,
        "result": None,
        "error": "",
        "active": kind,
    }
    result: Outcome = None
    if kind == "replay":  # nothing to fill in: replay what outages left queued
        try:
            with as_unavailable():
                result = CacheInvalidator.replay_queued()
        except Unavailable as exc:
            context["error"] = str(exc)
    elif kind in forms and forms[kind].is_valid():
        try:
            result = _run(kind, forms[kind], regs, request.user)
        except ValueError as exc:
            forms[kind].add_error(None, str(exc))
        except Unavailable as exc:
            context["error"] = str(exc)
    if isinstance(result, PrefixJob):
        context["job_id"] = result.job_id
        context["job"] = {
            "prefix": result.prefix,
            "label": result.label,
            "state": "running",
            "done": False,
            "percent": 0,
            "deleted": 0,
            "scanned": 0,
        }
    elif result is not None:
        audit.record(
            request.user,
            f"invalidate_{result.action}",
            result.target,
            keys_affected=result.deleted,
            message=result.message,
            queued=result.queued,
        )
        context["result"] = result.message
    context["queued"] = queued_invalidations()
    response = page(request, site, "invalidate.html", context, title=_("Invalidate cache"))
    if result is not None:
        trigger_client_event(response, REFRESH_EVENT)
    return response
