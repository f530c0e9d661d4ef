"""Scenario part of xuefeng (DESIGN.md §2): typed format, loading, validation, packaged scenarios.

    from xuefeng.scenario import load_scenario
    scenario = load_scenario("west-hunan-1945")   # or a folder, or a .yaml file

Bad input raises `ScenarioError` (file, line, field path, what was expected).
"""

from xuefeng.scenario.errors import ScenarioError
from xuefeng.scenario.loader import MAX_FILE_BYTES, load_scenario, read_scenario_data, resolve_scenario_file
from xuefeng.scenario.registry import DEFAULT_SCENARIO, list_scenarios, scenario_dir
from xuefeng.scenario.schema import Scenario

__all__ = [
    "DEFAULT_SCENARIO",
    "MAX_FILE_BYTES",
    "Scenario",
    "ScenarioError",
    "list_scenarios",
    "load_scenario",
    "read_scenario_data",
    "resolve_scenario_file",
    "scenario_dir",
]
