"""Run a script in a fresh Python process with a project of its own: for promises made at
start-up, which this process has already made with the suite's settings."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_in_project(folder: Path, settings: str, script: str, **modules: str) -> str:
    """Write ``settings`` (as ``project_settings``) and ``modules`` into ``folder``, run
    ``script`` there after ``django.setup()`` and return what it printed."""
    for name, source in {"project_settings": settings, **modules}.items():
        (folder / f"{name}.py").write_text(textwrap.dedent(source))
    env = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="project_settings",
        PYTHONPATH=os.pathsep.join([str(folder), str(ROOT)]),
    )
    code = "import django\ndjango.setup()\n" + textwrap.dedent(script)
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout
