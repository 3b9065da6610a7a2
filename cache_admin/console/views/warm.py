"""The warm page: every warmer with its latest run, Warm / Warm all buttons, live progress.

Progress comes from the WarmRun rows (written by whichever worker runs the job), so every
staff member watching sees the same bars. A request to warm says within a few seconds
when there is no broker or no worker (R3).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.admin import AdminSite
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.translation import gettext as _

from cache_admin import audit
from cache_admin.conf import conf
from cache_admin.console.access import require
from cache_admin.console.render import fragment, page
from cache_admin.console.toolkit import Unavailable, as_unavailable
from cache_admin.models import WarmRun
from cache_admin.warming.dispatch import CeleryUnavailable, enqueue
from cache_admin.warming.health import broker_problem
from cache_admin.warming.registry import UnknownWarmer
from cache_admin.warming.status import WarmerRow, warmer_rows, worker_notice

ALL = "__all__"


def _rows_context() -> dict[str, Any]:
    try:
        with as_unavailable():
            rows = warmer_rows()
    except Unavailable as exc:
        return {"rows": [], "rows_error": str(exc), "poll_ms": int(conf.CONSOLE_REFRESH_MS)}
    active = any(row.active for row in rows)
    poll = int(conf.WARM_POLL_MS) if active else int(conf.CONSOLE_REFRESH_MS)
    finished = [row.run.finished_at for row in rows if row.run and row.run.finished_at]
    return {
        "rows": rows,
        "active": active,
        "poll_ms": max(250, poll),
        # The state line above the table, from the runs themselves (polled with them).
        "running": [_label(row) for row in rows if row.run and row.run.status == WarmRun.RUNNING],
        "waiting": [_label(row) for row in rows if row.run and row.run.status == WarmRun.QUEUED],
        "last_finished": max(finished, default=None),
    }


def _label(row: WarmerRow) -> str:
    percent = row.percent
    label = str(row.warmer.label)
    return label if percent is None else f"{label} ({percent} %)"


@require(audit.WARM)
def warm_view(request: HttpRequest, *, site: AdminSite) -> HttpResponse:
    if request.method == "POST":
        return _start(request, site)
    context = _rows_context()
    try:
        with as_unavailable():
            context["problem"] = broker_problem()
    except Unavailable as exc:
        context["problem"] = str(exc)
    return page(request, site, "warm/page.html", context, title=_("Cache warming"))


@require(audit.WARM)
def warm_status(request: HttpRequest, *, site: AdminSite) -> HttpResponse:
    return fragment(request, "warm/runs.html", _rows_context())


def _start(request: HttpRequest, site: AdminSite) -> HttpResponse:
    wanted = request.POST.get("warmer", "")
    context = _rows_context()
    rows: list[WarmerRow] = context["rows"]
    known = {row.warmer.name: row for row in rows}
    if wanted == ALL:
        names = list(known)
    elif wanted in known:
        names = [wanted]
    else:
        context["problem"] = _("Choose a registered warmer to run.")
        return page(request, site, "warm/page.html", context, title=_("Cache warming"), status=400)
    busy = [name for name in names if known[name].active]
    names = [name for name in names if not known[name].active]
    if busy:
        labels = ", ".join(str(known[n].warmer.label) for n in busy)
        messages.info(request, _("Already queued or running: %(labels)s.") % {"labels": labels})
    if names:
        user = request.user
        try:
            with as_unavailable(passthrough=(CeleryUnavailable, UnknownWarmer)):
                runs = enqueue(names, trigger=f"console: {user.get_username()}", user=user)
        except (CeleryUnavailable, UnknownWarmer, Unavailable) as exc:
            messages.error(request, str(exc))
        else:
            audit.record(
                user,
                "warm",
                "all warmers" if wanted == ALL else wanted,
                warmers=names,
                task_ids=[run.task_id for run in runs],
            )
            labels = ", ".join(str(known[n].warmer.label) for n in names)
            # An event, true after the runs end too: their state is the page's polled table.
            messages.success(request, _("Sent to Celery: %(labels)s.") % {"labels": labels})
            try:
                with as_unavailable():
                    worker = worker_notice(runs)
            except Unavailable as exc:
                worker = str(exc)
            if worker:
                messages.warning(request, worker)
    return HttpResponseRedirect(reverse(f"{site.name}:cache_admin_warm"))


urlpatterns = [path("status/", warm_status, name="cache_admin_warm_status")]
