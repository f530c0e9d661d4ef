"""Sobol sensitivity: sampling, one run per parameter set, indices per parameter."""

from __future__ import annotations

import json

import numpy as np
import pytest
from ensemble_support import MINI, cli_app
from typer.testing import CliRunner

from xuefeng.analysis.sensitivity import (
    SensitivityError,
    apply_point,
    default_factors,
    parse_factor,
    run_sensitivity,
)
from xuefeng.analysis.whatif import Setup
from xuefeng.engine import EngineParams
from xuefeng.scenario import load_scenario

runner = CliRunner()


@pytest.fixture(scope="module")
def mini():
    return load_scenario(MINI)


def test_factors_and_ranges() -> None:
    p = EngineParams()
    f = parse_factor("combat.intensity", p)
    assert (f.low, f.high, f.integer) == (0.5, 1.5, False)
    f = parse_factor("params.movement.max_hops_per_6h=2:6", p)
    assert (f.name, f.low, f.high, f.integer) == ("movement.max_hops_per_6h", 2.0, 6.0, True)
    with pytest.raises(SensitivityError, match="combat.intensity"):
        parse_factor("combat.intensty", p)
    with pytest.raises(SensitivityError, match="LOW < HIGH"):
        parse_factor("combat.intensity=2:1", p)
    assert 6 <= len(default_factors(p)) <= 8
    q = apply_point(p, [parse_factor("combat.intensity", p), parse_factor("movement.max_hops_per_6h", p)],
                    np.array([0.7, 4.6]))
    assert q.combat.intensity == 0.7 and q.movement.max_hops_per_6h == 5
    assert p.combat.intensity == 1.0


def test_tiny_sample_gives_indices_for_each_parameter(mini) -> None:
    p = Setup.baseline(mini).params
    factors = [parse_factor(x, p) for x in ("combat.intensity", "medical.base_incidence_per_day", "ai.halt_ratio")]
    res = run_sensitivity(mini, factors, base=4, replications=2, seed=1)
    assert res.samples.shape == (4 * (3 + 2), 3)
    assert np.all(np.isfinite(res.values))
    assert set(res.indices) == set(res.outcomes) and len(res.outcomes) == 5
    for rows in res.indices.values():
        assert sorted(r["parameter"] for r in rows) == sorted(f.name for f in factors)
        for r in rows:
            assert {"S1", "S1_conf", "ST", "ST_conf"} <= set(r)
    # disease drives the attacker's sickness, not the engagement intensity
    sick = {r["parameter"]: r["ST"] for r in res.indices[res.outcomes[3]]}
    assert res.outcomes[3].startswith("sick.")
    assert sick["medical.base_incidence_per_day"] > sick["combat.intensity"]
    # common random numbers: the same parameter set twice gives the same outcomes
    again = run_sensitivity(mini, factors, base=4, replications=2, seed=1, workers=2)
    assert np.array_equal(res.values, again.values)


def test_cli_table_json_and_plot(tmp_path) -> None:
    app = cli_app()
    png = tmp_path / "s.png"
    r = runner.invoke(app, ["sensitivity", str(MINI), "-p", "combat.intensity", "-p", "medical.base_incidence_per_day",
                            "-b", "2", "-n", "1", "--out", str(png)])
    assert r.exit_code == 0, r.output
    assert "ST" in r.output and "combat.intensity" in r.output
    assert png.is_file() and png.stat().st_size > 1000
    r = runner.invoke(app, ["sensitivity", str(MINI), "-p", "combat.intensity", "--base-size", "2", "--replications", "1", "--json"])
    obj = json.loads(r.stdout)
    assert obj["points"] == 2 * 3 and list(obj["indices"]) == obj["outcomes"]
    r = runner.invoke(app, ["sensitivity", str(MINI), "-p", "combat.nothing", "-b", "2"])
    assert r.exit_code == 2 and "combat.nothing" in r.output and "combat.intensity" in r.output
