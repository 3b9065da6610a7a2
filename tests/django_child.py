"""A second Python process on the tests' settings, Redis and test database: ``SETUP`` opens
the code it runs (``python -c SETUP + body``), ``env()`` is its environment, ``run()`` runs
a script there and answers what it printed."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from django.db import connection

from cache_admin.conf import conf

ROOT = Path(__file__).resolve().parents[1]

SETUP = (
    "import os, sys\n"
    "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'tests.settings')\n"
    "from django.conf import settings\n"
    "settings.DATABASES['default']['NAME'] = os.environ['CACHE_ADMIN_TEST_DB']\n"
    "settings.CACHE_ADMIN['CACHE_ALIAS'] = os.environ['CACHE_ADMIN_TEST_ALIAS']\n"
    "import django\n"
    "django.setup()\n"
)


def env(**extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "CACHE_ADMIN_TEST_DB": str(connection.settings_dict["NAME"]),
        "CACHE_ADMIN_TEST_ALIAS": str(conf.CACHE_ALIAS),  # the test's (a cluster's, say)
        **extra,
    }


def run(script: str, *args: str) -> str:
    """Run ``script`` (after SETUP; ``sys.argv[1:]`` are ``args``) in a new process; what
    it printed. The test fails when the process does."""
    done = subprocess.run(
        [sys.executable, "-c", SETUP + textwrap.dedent(script), *args],
        cwd=ROOT,
        env=env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout
