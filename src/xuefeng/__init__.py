"""Xuefeng: an open operational campaign simulator.

Parts (DESIGN.md §2a): `scenario` (format and packaged scenarios), `geo` (hex
map), `engagement` (combat-resolution model), `engine` (vectorised campaign
state and step), `results`, `analysis`, `viz`, `web`, and the `cli`.

The notebook API (`xuefeng.api`, docs/python-api.md) is reachable from here:

    import xuefeng as xf
    r = xf.run(xf.load_scenario("west-hunan-1945"), replications=20, seed=1)
    r.to_dataframe("outcome")

Its names are imported on first use, so `import xuefeng` (and the CLI) stays quick.
"""

from typing import Any

__version__ = "0.1.0"

#: Names of `xuefeng.api` re-exported here (see its `__all__`).
_API_NAMES = frozenset({
    "OverrideError", "Results", "ResultsFileError", "Scenario", "ScenarioError", "WhatIf",
    "apply_whatif", "change", "compare", "iter_chunks", "list_scenarios", "load_results",
    "load_scenario", "parameters", "remove", "run", "save_scenario", "update", "whatifs",
})

__all__ = ["__version__", *sorted(_API_NAMES)]


def __getattr__(name: str) -> Any:
    if name in _API_NAMES:
        from xuefeng import api

        return getattr(api, name)
    raise AttributeError(f"module 'xuefeng' has no attribute '{name}'")


def __dir__() -> list[str]:
    return sorted({*globals(), *_API_NAMES})
