"""Run a management command in a child process against the parent test's database and Redis.

``python tests/warm_cli.py <command> [args]``. The parent passes its test database file in
``WARM_CLI_DB`` and picks demo-like warmers with ``WARM_CLI_WARMERS`` (comma-separated).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")


def register(names: list[str]) -> None:
    from cache_admin.warming import Progress, register_warmer

    def writer(prefix: str, count: int) -> Any:
        def warm(progress: Progress) -> None:
            progress.set_total(count)
            for i in range(count):
                progress.write(f"{prefix}{i}", {"n": i})
                progress.advance()

        return warm

    def broken(progress: Progress) -> None:
        progress.set_total(2)
        raise RuntimeError("catalogue unavailable")

    known = {
        "products": writer("product:", 5),
        "categories": writer("category:", 3),
        "featured": writer("product:list:featured:", 2),
        "broken": broken,
    }
    for name in names:
        register_warmer(name, known[name])


def main() -> None:
    import django
    from django.conf import settings

    db = os.environ.get("WARM_CLI_DB")
    if db:
        settings.DATABASES["default"]["NAME"] = db
    django.setup()
    register([n for n in os.environ.get("WARM_CLI_WARMERS", "").split(",") if n])
    from django.core.management import execute_from_command_line

    execute_from_command_line(["manage.py", *sys.argv[1:]])


if __name__ == "__main__":
    main()
