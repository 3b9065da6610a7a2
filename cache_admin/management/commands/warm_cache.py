"""``python manage.py warm_cache --all | --<warmer> ... [--async [--wait]] | --list``.

Exits non-zero when a warmer fails, so a deployment script can rely on it.
"""

from __future__ import annotations

import getpass
import logging
import time
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from cache_admin import wording
from cache_admin.conf import conf
from cache_admin.management.terminal import LiveBlock, bar, positive_seconds, raw
from cache_admin.models import WarmRun
from cache_admin.warming.registry import UnknownWarmer, Warmer, all_warmers, get_warmer
from cache_admin.warming.status import latest_runs

DEST_PREFIX = "warm__"
POLL_SECONDS = 0.2


class Command(BaseCommand):
    help = (
        "Warm the cache: --all, or one flag per registered warmer. Runs inline with a "
        "progress bar, or queues Celery jobs with --async (--wait to follow them)."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--all", action="store_true", help="Run every registered warmer.")
        taken = set(parser._option_string_actions)
        taken |= {"--all", "--list", "--async", "--celery", "--wait", "--timeout", "--warmer"}
        for warmer in all_warmers():
            if warmer.flag in taken:
                continue  # reachable through --warmer NAME
            parser.add_argument(
                warmer.flag,
                action="store_true",
                dest=DEST_PREFIX + warmer.name,
                help=f"Warm {warmer.label}."
                + (f" {warmer.description}" if warmer.description else ""),
            )
        parser.add_argument(
            "--warmer",
            action="append",
            default=[],
            metavar="NAME",
            help="Run the warmer NAME (repeatable); same as its own flag.",
        )
        parser.add_argument("--list", action="store_true", help="List warmers and their last run.")
        parser.add_argument(
            "--async",
            "--celery",
            action="store_true",
            dest="use_celery",
            help="Queue one Celery task per warmer instead of running here.",
        )
        parser.add_argument(
            "--wait",
            action="store_true",
            help="With --async: follow the jobs until they end; exit non-zero if one fails.",
        )
        parser.add_argument(
            "--timeout",
            type=positive_seconds,
            default=None,
            help="With --wait: give up after this many seconds (exit 1).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        self.verbosity = int(options["verbosity"])
        logger = logging.getLogger("cache_admin.warming")
        # A project without logging configured would get each failed warmer's traceback on
        # stderr from Python's last-resort handler; the error line says what failed, and
        # --traceback or -v 2 adds the traceback.
        quiet = logging.NullHandler()
        if not logger.hasHandlers():
            wanted = options["traceback"] or self.verbosity >= 2
            handler = logging.StreamHandler(raw(self.stderr)) if wanted else quiet
            logger.addHandler(handler)
        else:
            handler = None
        try:
            self.dispatch(options)
        finally:
            if handler is not None:
                logger.removeHandler(handler)

    def dispatch(self, options: dict[str, Any]) -> None:
        if options["list"]:
            self.list_warmers()
            return
        names = self.chosen(options)
        if options["wait"] and not options["use_celery"]:
            raise CommandError("--wait follows Celery jobs: use it with --async.")
        if options["timeout"] is not None and not options["wait"]:
            raise CommandError("--timeout applies to --wait only.")
        trigger = f"warm_cache command ({_who()})"
        if options["use_celery"]:
            runs = self.queue(names, trigger)
            if options["wait"]:
                self.follow(runs, options["timeout"])
            return
        self.run_here(names, trigger)

    def chosen(self, options: dict[str, Any]) -> list[str]:
        warmers = all_warmers()
        if not warmers:
            raise CommandError(
                "No warmers are registered. Register one in a warmers.py module of an "
                "installed app, e.g. @register_warmer('products') on a function that takes "
                "progress and calls progress.write(key, value) "
                "(from cache_admin.warming import register_warmer)."
            )
        if options["all"]:
            return [w.name for w in warmers]
        names = [w.name for w in warmers if options.get(DEST_PREFIX + w.name)]
        for name in options["warmer"]:
            try:
                names.append(get_warmer(name).name)
            except UnknownWarmer as exc:
                raise CommandError(str(exc)) from None
        if not names:
            flags = ", ".join(w.flag for w in warmers)
            raise CommandError(
                f"Say what to warm: --all, or one or more of {flags} (--list shows the warmers)."
            )
        return list(dict.fromkeys(names))

    def list_warmers(self) -> None:
        warmers = all_warmers()
        if not warmers:
            self.stdout.write("No warmers are registered.")
            return
        last = latest_runs([w.name for w in warmers])
        for warmer in warmers:
            run = last.get(warmer.name)
            self.stdout.write(f"{warmer.flag:<22} {warmer.label:<24} {_describe(run)}")

    def run_here(self, names: list[str], trigger: str) -> None:
        from cache_admin.warming.runner import run_inline

        live = self.stdout.isatty() and self.verbosity > 0
        failed: list[WarmRun] = []
        started = time.monotonic()
        total_keys = 0
        for name in names:
            warmer = get_warmer(name)
            block = LiveBlock(self.stdout) if live else None

            def draw(current: int, total: int, w: Warmer = warmer, b: Any = block) -> None:
                if b is not None:
                    b.draw([bar(w.label, current, total)])

            run = run_inline(name, trigger=trigger, listeners=[draw])
            if block is not None:
                block.draw([bar(warmer.label, run.current, run.total)])
            total_keys += run.keys_written
            self.report(run)
            if run.status == WarmRun.FAILED:
                failed.append(run)
        self.summary(len(names), failed, total_keys, time.monotonic() - started)

    def queue(self, names: list[str], trigger: str) -> list[WarmRun]:
        from cache_admin.warming.dispatch import CeleryUnavailable, enqueue
        from cache_admin.warming.status import worker_notice

        try:
            runs = enqueue(names, trigger=trigger)
        except CeleryUnavailable as exc:
            raise CommandError(str(exc)) from None
        for run in runs:
            if self.verbosity > 0:
                self.stdout.write(f"{run.warmer}: queued as task {run.task_id}")
        problem = worker_notice(runs)
        if problem:
            self.stderr.write(problem)
        return runs

    def follow(self, runs: list[WarmRun], timeout: float | None) -> None:
        from cache_admin.warming.status import reconcile, worker_notice

        started = time.monotonic()
        pickup = conf.WARM_PICKUP_TIMEOUT
        block = LiveBlock(self.stdout) if self.stdout.isatty() and self.verbosity > 0 else None
        pending = {run.pk for run in runs}
        labels = {w.name: w.label for w in all_warmers()}
        while True:
            found = WarmRun.objects.filter(pk__in=[r.pk for r in runs]).order_by("pk")
            rows = [reconcile(run) for run in found]
            if block is not None:
                block.draw([bar(labels.get(r.warmer, r.warmer), r.current, r.total) for r in rows])
            for run in rows:
                if run.pk in pending and run.status in (WarmRun.SUCCEEDED, WarmRun.FAILED):
                    pending.discard(run.pk)
                    if block is None:
                        self.report(run)
            if not pending:
                break
            waited = time.monotonic() - started
            queued = [r for r in rows if r.status == WarmRun.QUEUED]
            if queued and waited >= pickup:
                problem = worker_notice(rows)
                if problem:
                    raise CommandError(
                        f"No worker picked up the jobs after {waited:.0f} s. {problem}"
                    )
            if timeout is not None and waited >= timeout:
                raise CommandError(f"Still running after {timeout:g} s: gave up waiting.")
            time.sleep(POLL_SECONDS)
        if block is not None:
            for run in rows:
                self.report(run)
        failed = [r for r in rows if r.status == WarmRun.FAILED]
        keys = sum(r.keys_written for r in rows)
        self.summary(len(rows), failed, keys, time.monotonic() - started)

    def report(self, run: WarmRun) -> None:
        if run.status == WarmRun.FAILED:
            self.stderr.write(self.style.ERROR(f"{run.warmer}: FAILED: {run.error}"))
        elif self.verbosity > 0:
            self.stdout.write(
                self.style.SUCCESS(f"{run.warmer}: ")
                + f"{wording.keys(run.keys_written)} in {run.duration or 0:.2f}s"
            )

    def summary(self, count: int, failed: list[WarmRun], keys: int, seconds: float) -> None:
        if failed:
            names = ", ".join(r.warmer for r in failed)
            raise CommandError(f"{len(failed)} of {count} warmers failed: {names}.")
        if self.verbosity > 0:
            self.stdout.write(f"Warmed {count} of {count}: {wording.keys(keys)} in {seconds:.2f}s.")


def _who() -> str:
    try:
        return getpass.getuser()
    except Exception:
        return "unknown user"


def _describe(run: WarmRun | None) -> str:
    if run is None:
        return "never run"
    when = timezone.localtime(run.finished_at or run.started_at or run.queued_at)
    text = f"last {run.status} {when:%Y-%m-%d %H:%M:%S}"
    if run.status == WarmRun.SUCCEEDED:
        text += f", {wording.keys(run.keys_written)} in {run.duration or 0:.2f}s"
    elif run.status == WarmRun.FAILED:
        text += f": {run.error[:80]}"
    return text
