"""The wheel carries what an installed runs needs (issue 17): templates and static files inside
the runs package, every migration, the installed names ``runs_project`` and ``runs_limits``
(never a top-level ``project`` or ``limits``), and the ``runs`` command.

The wheel is built once per session with ``pip wheel`` (its build isolation fetches setuptools
once; pip's cache keeps it). .ci/wheel_smoke.sh installs such a wheel and runs it.
"""

from __future__ import annotations

import configparser
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def wheel(tmp_path_factory) -> zipfile.ZipFile:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (path,) = out.glob("runs-*.whl")
    with zipfile.ZipFile(path) as opened:
        yield opened


def _names(wheel: zipfile.ZipFile) -> set[str]:
    return set(wheel.namelist())


def _files_under(folder: Path, suffix: str = "") -> set[str]:
    return {
        p.relative_to(folder).as_posix()
        for p in folder.rglob(f"*{suffix}")
        if p.is_file() and "__pycache__" not in p.parts
    }


def test_every_template_and_static_file_is_inside_the_runs_package(wheel):
    names = _names(wheel)

    templates = _files_under(ROOT / "templates")
    static = _files_under(ROOT / "static")
    assert {"runs/base.html", "runs/login.html", "runs/403.html", "runs/404.html"} <= templates
    assert "runs/app.css" in static
    assert {f"runs/templates/{t}" for t in templates} <= names
    assert {f"runs/static/{s}" for s in static} <= names


def test_every_migration_is_in_the_wheel(wheel):
    names = _names(wheel)

    for package, folder in (("runs", "runs"), ("runs_limits", "limits")):
        migrations = _files_under(ROOT / folder / "migrations", ".py")
        assert "__init__.py" in migrations
        assert {f"{package}/migrations/{m}" for m in migrations} <= names


def test_the_installed_names_clash_with_no_other_package(wheel):
    names = _names(wheel)
    top_level = {name.split("/")[0] for name in names if not name.startswith("runs-")}

    assert top_level == {"runs", "runs_project", "runs_limits"}
    assert "runs_project/settings.py" in names
    assert "runs_limits/apps.py" in names


def test_the_runs_command_is_an_entry_point(wheel):
    (info,) = {n.split("/")[0] for n in _names(wheel) if n.endswith(".dist-info/entry_points.txt")}
    entry_points = configparser.ConfigParser()
    entry_points.read_string(wheel.read(f"{info}/entry_points.txt").decode())

    assert entry_points["console_scripts"]["runs"] == "runs.cli:main"
