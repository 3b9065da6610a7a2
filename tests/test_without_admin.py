from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parents[1]


def test_the_toolkit_works_in_a_project_without_the_admin(tmp_path: Path) -> None:
    (tmp_path / "toolkit_only_settings.py").write_text(
        textwrap.dedent(
            f"""
            SECRET_KEY = "tests"
            USE_TZ = True
            INSTALLED_APPS = ["django.contrib.auth", "django.contrib.contenttypes", "cache_admin"]
            DATABASES = {{
                "default": {{"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
            }}
            CACHES = {{"default": {{
                "BACKEND": "django_redis.cache.RedisCache",
                "LOCATION": "{settings.TEST_REDIS_URL}/0",
                "KEY_PREFIX": "toolkit_only",
            }}}}
            """
        )
    )
    script = textwrap.dedent(
        """
        import django
        django.setup()
        from django.core.management import call_command
        from cache_admin import cache_result

        calls = []

        @cache_result(timeout=60, key_prefix="no_admin")
        def square(n):
            calls.append(n)
            return n * n

        assert square(3) == 9 and square(3) == 9 and calls == [3], calls
        call_command("check")
        print("toolkit ok")
        """
    )
    env = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="toolkit_only_settings",
        PYTHONPATH=os.pathsep.join([str(tmp_path), str(ROOT)]),
    )
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "toolkit ok" in done.stdout
