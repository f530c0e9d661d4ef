"""Packaged scenarios: folders under `xuefeng/scenario/data/<name>/scenario.yaml`.

A new campaign is added by writing only a new folder there (DESIGN.md §4);
nothing in code names a scenario except the CLI's default.
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path

import yaml

from xuefeng.scenario.errors import ScenarioError

SCENARIO_FILE = "scenario.yaml"
MAX_FILE_BYTES = 20 * 1024 * 1024  # per scenario or layer file; see loader
DEFAULT_SCENARIO = "west-hunan-1945"


def data_root() -> Path:
    """The folder that holds the packaged scenarios (a real folder: the package is not zipped)."""
    return Path(str(importlib.resources.files("xuefeng.scenario") / "data"))


def scenario_names() -> list[str]:
    """Names of the packaged scenarios, sorted (folders that hold a scenario.yaml)."""
    root = data_root()
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if (p / SCENARIO_FILE).is_file())


def _title(path: Path) -> str:
    """meta.title, read without validating the whole scenario, so that listing never fails."""
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            return "(file too large)"
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        doc = yaml.load(path.read_text(encoding="utf-8-sig"), Loader=loader)  # noqa: S506 (safe loader)
        meta = doc.get("meta") if isinstance(doc, dict) else None
        title = meta.get("title") if isinstance(meta, dict) else None
        return str(title) if title else "(no title)"
    except (yaml.YAMLError, OSError, UnicodeDecodeError, RecursionError):
        return "(unreadable)"


def list_scenarios() -> list[tuple[str, str]]:
    """(name, title) of every packaged scenario."""
    root = data_root()
    return [(name, _title(root / name / SCENARIO_FILE)) for name in scenario_names()]


def scenario_dir(name: str) -> Path:
    """The folder of packaged scenario `name`; ScenarioError naming the known ones if absent."""
    names = scenario_names()
    if name not in names:
        known = ", ".join(names) if names else "none installed"
        raise ScenarioError(
            f"unknown scenario '{name}': not a file or folder, and no packaged scenario has this name "
            f"(packaged: {known})",
            expected="a packaged scenario name, a folder with scenario.yaml, or a .yaml file")
    return data_root() / name
