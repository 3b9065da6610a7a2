"""The README's install section, followed literally on a new project: the built wheel
(installed apart from the checkout), ``startproject``, the settings block, the app's
``ready()`` with ``register()``, ``migrate``; then the console answers and a save
invalidates."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_packaging import ROOT, build

pytestmark = pytest.mark.slow

README = (ROOT / "README.md").read_text()

SHOP_MODELS = """
from django.db import models


class Product(models.Model):
    name = models.CharField(max_length=100)
    slug = models.SlugField(unique=True)
"""

CHECK = """
import django
django.setup()
from django.contrib.auth.models import User
from django.contrib.staticfiles import finders
from django.core.cache import cache
from django.test import Client
from django.test.utils import setup_test_environment

import cache_admin
from shop.models import Product

setup_test_environment()
print("package:", cache_admin.__file__)
print("static:", finders.find("cache_admin/console.css"))
User.objects.create_superuser("root", "root@example.com", "pw")
client = Client()
client.force_login(User.objects.get())
page = client.get("/admin/cache/dashboard/")
print("dashboard:", page.status_code, b"Redis is connected." in page.content)
product = Product.objects.create(name="Laptop", slug="laptop")
cache.set(f"product:{product.pk}", "stale")
product.name = "Laptop 2"
product.save()  # register(): invalidated on commit (autocommit here)
print("invalidated:", cache.get(f"product:{product.pk}") is None)
"""


def readme_block(first_line: str) -> str:
    """The README's python block that starts with ``first_line``."""
    for block in re.findall(r"```python\n(.*?)```", README, re.S):
        if block.startswith(first_line):
            return str(block)
    raise AssertionError(f"README.md has no python block starting with {first_line!r}")


def test_the_readme_install_steps_work_from_the_built_wheel(tmp_path: Path, redis_url: str) -> None:
    wheel = build("wheel", tmp_path / "dist")
    target = tmp_path / "installed"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), wheel],
        check=True,
        capture_output=True,
    )
    project = tmp_path / "project"
    project.mkdir()
    # The wheel first on the path: the checkout (installed editable here) is not used.
    env = dict(os.environ, PYTHONPATH=str(target), DJANGO_SETTINGS_MODULE="mysite.settings")
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)

    def run(*args: str) -> str:
        done = subprocess.run(
            args, cwd=project, env=env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        return done.stdout

    run(sys.executable, "-m", "django", "startproject", "mysite", ".")
    run(sys.executable, "manage.py", "startapp", "shop")
    settings = readme_block("# settings.py").replace("redis://127.0.0.1:6379/0", f"{redis_url}/0")
    with (project / "mysite" / "settings.py").open("a") as file:
        file.write("\n" + settings)
    (project / "shop" / "models.py").write_text(SHOP_MODELS)
    (project / "shop" / "apps.py").write_text(readme_block("# shop/apps.py"))
    run(sys.executable, "manage.py", "makemigrations", "shop")
    run(sys.executable, "manage.py", "migrate")
    assert "System check identified no issues" in run(sys.executable, "manage.py", "check")

    out = run(sys.executable, "-c", CHECK)
    assert f"package: {target}" in out
    assert f"static: {target}" in out
    assert "dashboard: 200 True" in out
    assert "invalidated: True" in out
