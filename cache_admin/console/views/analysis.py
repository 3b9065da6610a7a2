"""Keyspace analysis: start one (a background job every staff member can follow), cancel
it, and read its report and the reports before it (``cache_admin.analysis``)."""

from __future__ import annotations

import re
from typing import Any

from django.contrib import messages
from django.contrib.admin import AdminSite
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.timezone import localtime
from django.utils.translation import gettext as _
from django_htmx.http import HttpResponseClientRedirect

from cache_admin import analysis, audit
from cache_admin.conf import conf
from cache_admin.console.access import require
from cache_admin.console.figures import number
from cache_admin.console.forms import AnalysisForm
from cache_admin.console.keyspace_report import report_context
from cache_admin.console.render import fragment, page
from cache_admin.console.toolkit import Unavailable, as_unavailable
from cache_admin.models import KeyspaceReport

_JOB_ID = re.compile(r"[0-9a-f]{32}")
TITLE = _("Keyspace analysis")


def _url(site: AdminSite, name: str, *args: str) -> str:
    return reverse(f"{site.name}:{name}", args=args, current_app=site.name)


def job_state(report: KeyspaceReport) -> dict[str, Any]:
    """A running report's progress, as the progress block shows it."""
    state: dict[str, Any] = {"job_id": report.job_id, "report": report}
    try:
        with as_unavailable():
            found = analysis.progress(report.job_id)
    except Unavailable as exc:
        return {**state, "error": str(exc)}
    state["lost"] = analysis.lost(report, found)
    if found is not None:
        state.update(
            percent=found.percent,
            node=found.node + 1,
            nodes=found.nodes,
            examined=number(found.examined),
            sampled=number(found.sampled),
            keys=number(found.keys),
            budget=number(found.budget),
            cancel_requested=found.cancel_requested,
        )
    return state


def _context(
    request: HttpRequest, shown: KeyspaceReport | None, form: AnalysisForm | None = None
) -> dict[str, Any]:
    running = KeyspaceReport.objects.filter(status=KeyspaceReport.RUNNING).first()
    may_analyze = request.user.has_perm(audit.ANALYZE)
    context: dict[str, Any] = {
        "running": job_state(running) if running else None,
        "history": list(KeyspaceReport.objects.select_related("user")[: conf.ANALYSIS_HISTORY]),
        "may_analyze": may_analyze,
        "form": (form or AnalysisForm()) if may_analyze else None,
        "shown": None,
    }
    if shown is not None and shown.status != KeyspaceReport.RUNNING:
        may_see_keys = request.user.has_perm(audit.BROWSE_KEYS)
        context["shown"] = report_context(shown, may_see_keys=may_see_keys)
    return context


@require(audit.VIEW_DASHBOARD, audit.ANALYZE)
def analysis_view(request: HttpRequest, *, site: AdminSite) -> HttpResponse:
    latest = KeyspaceReport.objects.exclude(status=KeyspaceReport.RUNNING).first()
    return page(request, site, "analysis/page.html", _context(request, latest), title=TITLE)


def _known(job_id: str) -> KeyspaceReport | None:
    if not _JOB_ID.fullmatch(job_id):
        return None
    return KeyspaceReport.objects.filter(job_id=job_id).select_related("user").first()


def _unknown(request: HttpRequest, site: AdminSite) -> HttpResponse:
    context = {**_context(request, None), "unknown": True}
    return page(request, site, "analysis/page.html", context, title=TITLE, status=404)


@require(audit.VIEW_DASHBOARD, audit.ANALYZE)
def report_view(request: HttpRequest, job_id: str, *, site: AdminSite) -> HttpResponse:
    report = _known(job_id)
    if report is None:
        return _unknown(request, site)
    context = {**_context(request, report), "on_job_page": True}
    return page(
        request,
        site,
        "analysis/page.html",
        context,
        title=_("Keyspace analysis of %(when)s")
        % {"when": localtime(report.started_at).strftime("%Y-%m-%d %H:%M")},
        parent="cache_admin_analysis",
    )


@require(audit.ANALYZE, post_only=True)
def start_view(request: HttpRequest, *, site: AdminSite) -> HttpResponse:
    form = AnalysisForm(request.POST)
    if not form.is_valid():
        context = _context(request, None, form)
        return page(request, site, "analysis/page.html", context, title=TITLE, status=400)
    data = form.cleaned_data
    try:
        with as_unavailable(passthrough=(ValueError, analysis.AlreadyRunning)):
            chosen = analysis.options(data["budget"], data["delimiter"], data["depth"])
            job_id = analysis.start(request.user, chosen)
    except analysis.AlreadyRunning as exc:
        messages.warning(request, str(exc))
        return HttpResponseRedirect(_url(site, "cache_admin_analysis"))
    except (ValueError, Unavailable) as exc:
        messages.error(request, _("The analysis was not started: %(why)s") % {"why": exc})
        return HttpResponseRedirect(_url(site, "cache_admin_analysis"))
    messages.success(request, _("The analysis started; this page follows its progress."))
    return HttpResponseRedirect(_url(site, "cache_admin_analysis_report", job_id))


@require(audit.ANALYZE, post_only=True)
def cancel_view(request: HttpRequest, job_id: str, *, site: AdminSite) -> HttpResponse:
    report = _known(job_id)
    if report is None:
        return _unknown(request, site)
    try:
        with as_unavailable():
            cancelled = analysis.cancel(job_id, request.user)
    except Unavailable as exc:
        messages.error(request, _("The analysis could not be cancelled: %(why)s") % {"why": exc})
    else:
        if cancelled:
            messages.success(request, _("Cancelling: the analysis stops after its current batch."))
        else:
            messages.info(request, _("This analysis is not running any more."))
    return HttpResponseRedirect(_url(site, "cache_admin_analysis_report", job_id))


@require(audit.VIEW_DASHBOARD, audit.ANALYZE)
def status_fragment(request: HttpRequest, job_id: str, *, site: AdminSite) -> HttpResponse:
    report = _known(job_id)
    if report is None or report.status != KeyspaceReport.RUNNING:
        # Over: the whole tab shows the report (or says it is gone).
        return HttpResponseClientRedirect(_url(site, "cache_admin_analysis_report", job_id))
    context = {"running": job_state(report), "may_analyze": request.user.has_perm(audit.ANALYZE)}
    return fragment(request, "analysis/progress.html", context)
