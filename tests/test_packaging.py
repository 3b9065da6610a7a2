"""The built wheel carries the templates and static files (through the committed symlinks),
``py.typed`` and the migrations."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _source_files(top: str) -> set[str]:
    base = ROOT / top
    found = {
        path.relative_to(base).as_posix()
        for path in (base / "cache_admin").rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    assert found, f"{top}/cache_admin/ holds no files"
    return found


@pytest.fixture(scope="module")
def wheel_names(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    # Both come with the test extras (.ci/test installs them).
    pytest.importorskip("build")
    pytest.importorskip("hatchling")
    out = tmp_path_factory.mktemp("dist")
    # No isolation: hatchling comes from the test extras, so no download is needed.
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out)],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    [wheel] = out.glob("django_cache_admin-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        return set(archive.namelist())


@pytest.mark.parametrize("top", ["templates", "static"])
def test_the_package_sees_the_top_folder_through_a_symlink(top: str) -> None:
    link = ROOT / "cache_admin" / top
    assert link.is_symlink()
    assert os.readlink(link) == f"../{top}"
    tracked = subprocess.run(
        ["git", "ls-files", "-s", f"cache_admin/{top}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert tracked.startswith("120000 "), "the symlink must be committed as a symlink"


@pytest.mark.parametrize("top", ["templates", "static"])
def test_the_wheel_contains_every_template_and_static_file(wheel_names: set[str], top: str) -> None:
    wanted = {f"cache_admin/{top}/{name}" for name in _source_files(top)}
    assert wanted <= wheel_names, sorted(wanted - wheel_names)


def test_the_wheel_contains_typing_marker_and_migrations(wheel_names: set[str]) -> None:
    migrations = {
        f"cache_admin/migrations/{path.name}"
        for path in (ROOT / "cache_admin" / "migrations").glob("*.py")
    }
    assert "cache_admin/migrations/0001_initial.py" in migrations
    assert migrations <= wheel_names
    assert "cache_admin/py.typed" in wheel_names
    assert "cache_admin/__init__.py" in wheel_names


def test_the_wheel_leaves_out_tests_and_demo(wheel_names: set[str]) -> None:
    assert not {n for n in wheel_names if n.startswith(("tests/", "demo/", "bench/"))}
    assert not {n for n in wheel_names if "__pycache__" in n or n.endswith(".pyc")}
