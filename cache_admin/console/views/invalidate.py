"""The Invalidate page: registered models (one instance, all lists, the lists of one scope,
the whole prefix), any prefix, a template fragment, the cache_page entries of a URL. Each
action writes an audit entry and answers with a redirect back to the page
(POST/redirect/GET), which shows what it did once, as an admin message: a reload shows the
page, it does not invalidate again.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.contrib import messages
from django.contrib.admin import AdminSite
from django.core.exceptions import ValidationError
from django.db import models
from django.forms import Form
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.urls import reverse
from django.utils.translation import gettext as _

from cache_admin import audit, deletion_jobs
from cache_admin.console.access import require
from cache_admin.console.figures import queued_invalidations
from cache_admin.console.forms import CachePageForm, FragmentForm, ModelActionForm, PrefixForm
from cache_admin.console.render import page
from cache_admin.console.toolkit import Unavailable, as_unavailable
from cache_admin.console.views.prefix_delete import job_status
from cache_admin.invalidation import (
    CacheInvalidator,
    InvalidationResult,
    Registration,
    registered_models,
    scopes,
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
    if action == "scope":  # ValueError for a field or value that names no scope
        field, value = scopes.scope_from_text(registration.model, form.cleaned_data["scope"])
        return CacheInvalidator.invalidate_list_cache(registration.model, scope={field: value})
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


def _outcome(
    request: HttpRequest, kind: str, form: Form | None, regs: dict[str, Registration]
) -> Outcome:
    """What the posted action did; None when it did nothing (its form or a message says why)."""
    try:
        if form is None:  # replay: nothing to fill in, replay what outages left queued
            with as_unavailable():
                return CacheInvalidator.replay_queued()
        return _run(kind, form, regs, request.user)
    except ValueError as exc:
        if form is not None:
            form.add_error(None, str(exc))
    except Unavailable as exc:
        messages.error(request, _("Nothing was invalidated: %(error)s") % {"error": exc})
    return None


def _report(request: HttpRequest, result: Outcome) -> str:
    """The message for the page after the redirect, and the query that follows a job."""
    if isinstance(result, PrefixJob):
        what = result.label or _("keys under “%(prefix)s”") % {"prefix": result.prefix}
        messages.info(request, _("Deleting the %(what)s in the background.") % {"what": what})
        query = QueryDict(mutable=True)
        query["job"] = result.job_id
        return "?" + query.urlencode()
    if result is not None:
        audit.record(
            request.user,
            f"invalidate_{result.action}",
            result.target,
            keys_affected=result.deleted,
            message=result.message,
            queued=result.queued,
        )
        say = messages.warning if result.queued else messages.success
        say(request, result.message)
    return ""


@require(audit.INVALIDATE)
def invalidate_view(request: HttpRequest, *, site: AdminSite) -> HttpResponse:
    regs, regs_error = registrations()
    kind = request.POST.get("kind", "") if request.method == "POST" else ""
    forms = _forms(request, kind, regs)
    status = 200
    if request.method == "POST" and kind != "replay" and kind not in forms:
        messages.error(request, _("Choose one of the actions on this page."))
        status = 400
    elif request.method == "POST":
        form = forms.get(kind)  # None for replay
        if form is None or form.is_valid():
            result = _outcome(request, kind, form, regs)
            if form is None or not form.errors:
                url = reverse(f"{site.name}:cache_admin_invalidate", current_app=site.name)
                return HttpResponseRedirect(url + _report(request, result))
    context: dict[str, Any] = {
        "forms": forms,
        "registrations": [
            {"name": r.label, "prefix": r.prefix, "scopes": ", ".join(r.list_scopes)}
            for r in regs.values()
        ],
        "regs_error": regs_error,
        "queued": queued_invalidations(),
    }
    job_id = request.GET.get("job", "")[:100]
    if job_id:
        context.update(job_id=job_id, job=job_status(job_id))
    return page(
        request, site, "invalidate.html", context, title=_("Invalidate cache"), status=status
    )
