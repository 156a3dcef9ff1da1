"""Packaging beyond pyproject.toml: the installed names of the folders, and templates/ and
static/ carried inside the runs package (``runs/templates``, ``runs/static``) of a wheel, where
a host's APP_DIRS template loader and AppDirectoriesFinder find them."""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
#: Installed name -> folder in this repository: pyproject.toml's [tool.setuptools] package-dir.
RENAMED = tomllib.loads((HERE / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"]
#: Folder of this repository -> where it goes inside the installed runs package.
CARRIED = {"templates": "templates", "static": "static"}


def _packages() -> list[str]:
    packages = find_packages(where=str(HERE), include=["runs", "runs.*"])
    for name, folder in RENAMED.items():
        packages.append(name)
        packages += [f"{name}.{sub}" for sub in find_packages(where=str(HERE / folder))]
    return packages


class BuildWithAssets(build_py):
    """build_py, then templates/ and static/ copied into the built runs package.

    An editable install leaves them where they are: runs' own settings read the checkout's
    folders then.
    """

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        for folder, target in CARRIED.items():
            source = HERE / folder
            if source.is_dir():
                dest = Path(self.build_lib) / "runs" / target
                shutil.rmtree(dest, ignore_errors=True)
                shutil.copytree(source, dest, ignore=shutil.ignore_patterns("__pycache__"))


setup(
    packages=_packages(),
    cmdclass={"build_py": BuildWithAssets},
)
