"""Helpers for the ensemble / what-if / sensitivity tests: the CLI app and
result comparison."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

MINI = Path(__file__).parent / "fixtures" / "scenarios" / "mini"


def cli_app():
    from xuefeng.cli import app

    return app


def assert_same_results(a, b, series: bool = True) -> None:
    """Bit-identical replications: ids, ledger, outcome, civilians, aircrew, events (and series)."""
    assert np.array_equal(a.replication_ids, b.replication_ids)
    assert np.array_equal(a.ledger, b.ledger)
    for f in ("winner", "objective_lost", "advance_km", "end_time", "offensive_end_time", "arrival_time"):
        np.testing.assert_array_equal(getattr(a.outcome, f), getattr(b.outcome, f), err_msg=f)  # NaT == NaT
    assert np.array_equal(a.civilian_casualties, b.civilian_casualties)
    assert np.array_equal(a.aircrew_lost, b.aircrew_lost)
    assert len(a.events) == len(b.events)
    assert a.events.reset_index(drop=True).equals(b.events.reset_index(drop=True))
    if series:
        assert (a.series is None) == (b.series is None)
        if a.series is not None:
            assert a.series.equals(b.series)


if __name__ == "__main__":  # `python ensemble_support.py ARGS...` = `xuefeng ARGS...` with the commands
    sys.argv[0] = "xuefeng"
    cli_app()()
