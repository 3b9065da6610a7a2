"""The built wheel carries the templates and static files (through the committed symlinks),
``py.typed``, the migrations and complete metadata; the sdist carries the docs too; the
metadata and the pre-commit hooks say what .ci/test does."""

from __future__ import annotations

import email
import email.message
import os
import re
import subprocess
import sys
import tarfile
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


def build(kind: str, out: Path) -> Path:
    """``python -m build --wheel`` or ``--sdist`` into ``out``; the file it wrote."""
    # Both come with the test extras (.ci/test installs them).
    pytest.importorskip("build")
    pytest.importorskip("hatchling")
    # No isolation: hatchling comes from the test extras, so no download is needed.
    subprocess.run(
        [sys.executable, "-m", "build", f"--{kind}", "--no-isolation", "--outdir", str(out)],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    [built] = out.glob("django_cache_admin-*." + ("whl" if kind == "wheel" else "tar.gz"))
    return built


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build("wheel", tmp_path_factory.mktemp("dist"))


@pytest.fixture(scope="module")
def sdist_names(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    with tarfile.open(build("sdist", tmp_path_factory.mktemp("sdist"))) as archive:
        # Without the "django_cache_admin-0.1.0/" every member starts with.
        return {name.partition("/")[2] for name in archive.getnames()}


def test_the_sdist_carries_the_docs(sdist_names: set[str]) -> None:
    # Messages and the README point at docs/*.md: a pip user gets them with the sources.
    docs = {f"docs/{path.name}" for path in (ROOT / "docs").iterdir() if path.is_file()}
    assert "docs/console.md" in docs
    assert docs <= sdist_names, sorted(docs - sdist_names)
    assert {"README.md", "CHANGELOG.md", "pyproject.toml", "LICENSE"} <= sdist_names


@pytest.fixture(scope="module")
def wheel_names(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as archive:
        return set(archive.namelist())


@pytest.fixture(scope="module")
def metadata(wheel: Path) -> email.message.Message:
    with zipfile.ZipFile(wheel) as archive:
        [name] = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        return email.message_from_bytes(archive.read(name))


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


def _ci_lines() -> tuple[set[str], set[str]]:
    """The Python and Django versions .ci/test runs the suite on."""
    script = (ROOT / ".ci" / "test").read_text()
    pythons = set(re.findall(r"find-python (3\.\d+)", script))
    pythons |= set(re.findall(r'"(3\.\d+) \.venv', script))
    djangos = set(re.findall(r"django>=(\d+\.\d+),<", script))
    return pythons, djangos


def test_the_classifiers_name_each_python_and_django_line_ci_runs(
    metadata: email.message.Message,
) -> None:
    pythons, djangos = _ci_lines()
    assert pythons == {"3.10", "3.11", "3.12", "3.13"}
    assert djangos == {"5.2", "6.0", "6.1"}
    classifiers = metadata.get_all("Classifier") or []
    prefix, django_prefix = "Programming Language :: Python :: ", "Framework :: Django :: "
    assert {c.removeprefix(prefix) for c in classifiers if re.fullmatch(prefix + r"3\.\d+", c)} == (
        pythons
    )
    assert {c.removeprefix(django_prefix) for c in classifiers if c.startswith(django_prefix)} == (
        djangos
    )
    oldest = min(pythons, key=lambda v: tuple(map(int, v.split("."))))
    assert metadata["Requires-Python"] == f">={oldest}"


def test_the_wheel_declares_its_license_and_project_urls(
    metadata: email.message.Message, wheel_names: set[str]
) -> None:
    assert metadata["License-Expression"] == "MIT"
    assert metadata["License-File"] == "LICENSE"
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in wheel_names)
    urls = dict(u.split(", ", 1) for u in metadata.get_all("Project-URL") or [])
    assert {"Homepage", "Documentation", "Source", "Changelog", "Issues"} <= set(urls)
    assert metadata["Summary"] and metadata["Author"]


def test_the_pre_commit_hooks_run_the_ci_lint_commands() -> None:
    script = (ROOT / ".ci" / "test").read_text()
    lint = script[script.index('echo "== lint') :].split("\n\n", 1)[0].splitlines()[1:]
    config = (ROOT / ".pre-commit-config.yaml").read_text()
    entries = {
        line.split("entry:", 1)[1].strip() for line in config.splitlines() if "entry:" in line
    }
    assert len(lint) == 4
    assert {f"env {c}" if c.startswith("DJANGO_") else c for c in lint} == entries
