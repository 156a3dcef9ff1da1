"""The import contract in pyproject.toml places every module: none escapes the layers.

``lint-imports`` checks the imports between the modules the layers name; a module that no
layer names is checked by nobody, so a new one must be given its line.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("runs", "runs_limits", "runs_project")
#: Outside the layers by design: ``runs`` only re-exports the public names.
OUTSIDE = {"runs", "runs_limits"}


def _contract() -> dict:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    return next(c for c in config["contracts"] if c["id"] == "layers")


def _placed(module: str, entries: set[str]) -> bool:
    return any(module == entry or module.startswith(f"{entry}.") for entry in entries)


def test_every_module_of_the_project_is_in_a_layer():
    entries = {
        part.strip().strip("()")
        for layer in _contract()["layers"]
        for part in layer.replace("|", ":").split(":")
    }
    graph = grimp.build_graph(*PACKAGES, cache_dir=None)
    unplaced = sorted(
        module
        for module in graph.modules
        if module not in OUTSIDE
        and not _placed(module, entries)
        # a package whose children are placed one by one (runs.orchestration): its own
        # module is checked by the "decider" contract
        and not any(entry.startswith(f"{module}.") for entry in entries)
    )
    assert not unplaced, (
        f"Modules in no layer of the import contract: {', '.join(unplaced)}. Add each to the "
        "line of pyproject.toml's [tool.importlinter] layers it belongs to (STYLE.md's rooms)."
    )
