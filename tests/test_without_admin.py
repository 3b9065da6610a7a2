from __future__ import annotations

from pathlib import Path

from django.conf import settings

from tests.project_support import run_in_project


def test_the_toolkit_works_in_a_project_without_the_admin(tmp_path: Path) -> None:
    project_settings = f"""
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
    script = """
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
    assert "toolkit ok" in run_in_project(tmp_path, project_settings, script)
