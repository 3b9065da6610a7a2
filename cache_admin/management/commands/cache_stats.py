"""``python manage.py cache_stats [--watch [--interval N]] [--json]``.

Exits 1 when Redis is unreachable; ``--watch`` refreshes in place until Ctrl-C (exit 0).
"""

from __future__ import annotations

import json
import time
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from cache_admin.management import stats_report
from cache_admin.management.terminal import LiveBlock, positive_seconds, raw

DEFAULT_INTERVAL = 2.0


class Command(BaseCommand):
    help = (
        "Redis server figures and per-type hit rates. --watch refreshes every --interval "
        "seconds until Ctrl-C; --json prints machine-readable output."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--watch", action="store_true", help="Refresh until Ctrl-C.")
        parser.add_argument(
            "--interval",
            type=positive_seconds,
            default=None,
            help=f"Seconds between refreshes with --watch (default {DEFAULT_INTERVAL:g}).",
        )
        parser.add_argument(
            "--json",
            action="store_true",
            help="Print JSON (with --watch: one JSON object per line and refresh).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["interval"] is not None and not options["watch"]:
            raise CommandError("--interval applies to --watch only.")
        interval = options["interval"] or DEFAULT_INTERVAL
        terminal = self.stdout.isatty() and not options["json"]
        colour = (terminal and not options["no_color"]) or options["force_color"]
        block = LiveBlock(self.stdout) if terminal and options["watch"] else None
        first = True
        try:
            while True:
                snap = stats_report.take()
                if first and not snap.server.connected:
                    raise CommandError(f"Redis is unreachable: {snap.server.error}")
                first = False
                self.show(snap, options["json"], colour, block)
                if not options["watch"]:
                    return
                time.sleep(interval)
        except KeyboardInterrupt:
            # Ctrl-C is how --watch ends: a clean exit, not a traceback.
            raw(self.stdout).write("\n")
            raw(self.stdout).flush()

    def show(
        self, snap: stats_report.Snapshot, as_json: bool, colour: bool, block: LiveBlock | None
    ) -> None:
        if as_json:
            raw(self.stdout).write(json.dumps(stats_report.as_json(snap)) + "\n")
            raw(self.stdout).flush()
            return
        lines = stats_report.lines(snap, self.paint if colour else _plain)
        if block is not None:
            block.draw([*lines, "", "Refreshing; Ctrl-C to stop."])
            return
        self.stdout.write("\n".join(lines))
        raw(self.stdout).flush()

    def paint(self, text: str, level: str | None) -> str:
        styles = {
            "target": self.style.SUCCESS,
            "acceptable": self.style.WARNING,
            "poor": self.style.ERROR,
        }
        return styles[level](text) if level in styles else text


def _plain(text: str, level: str | None) -> str:
    return text
