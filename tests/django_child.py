"""A second Python process on the tests' settings, Redis and test database: ``SETUP`` opens
the code it runs (``python -c SETUP + body``), ``env()`` is its environment."""

from __future__ import annotations

import os

from django.db import connection

SETUP = (
    "import os, sys\n"
    "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'tests.settings')\n"
    "from django.conf import settings\n"
    "settings.DATABASES['default']['NAME'] = os.environ['CACHE_ADMIN_TEST_DB']\n"
    "import django\n"
    "django.setup()\n"
)


def env(**extra: str) -> dict[str, str]:
    return {**os.environ, "CACHE_ADMIN_TEST_DB": str(connection.settings_dict["NAME"]), **extra}
