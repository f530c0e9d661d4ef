"""`xuefeng run` and `xuefeng history`: bad input, output, Ctrl-C.

Most tests replace the engine with synthetic results (`run_cmds._simulate`)
on a small generic scenario written to a temporary folder; the last ones use
the real engine and the packaged scenario when the engine is present.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest
import yaml
from synthetic import make_results, scenario_dict
from typer.testing import CliRunner

import xuefeng.engine
from xuefeng.cli import app, run_cmds
from xuefeng.results import io

runner = CliRunner()

TARGETS = {
    "scenario": "synthetic",
    "advance": {"start": "origin", "objective": "goal"},
    "summary_aliases": {"p_blue_victory": "p_victory.blue", "p_goal_lost": "p_objective_lost",
                        "allied_aircrew_lost": "aircrew_lost.blue"},
    "targets": [
        {"name": "blue-wins", "source": "Chronicle", "text": "Blue wins in 80%", "kind": "probability",
         "quantity": "victory.blue", "min": 0.8},
        {"name": "red-killed", "source": "Chronicle", "text": "Red killed 10-100", "kind": "median_range",
         "quantity": "casualties.red.killed", "min": 10, "max": 100},
    ],
}


@pytest.fixture()
def scen(tmp_path):
    d = tmp_path / "synthetic"
    d.mkdir()
    (d / "scenario.yaml").write_text(yaml.safe_dump(scenario_dict(), sort_keys=False))
    (d / "history_targets.yaml").write_text(yaml.safe_dump(TARGETS, sort_keys=False))
    return d


@pytest.fixture()
def fake_engine(monkeypatch):
    calls = []

    def fake(scenario, replications, seed, keep_series, progress):
        calls.append(dict(replications=replications, seed=seed, keep_series=keep_series))
        if progress is not None:
            progress(1, 2)
            progress(1.0)
        return make_results(replications, seed=seed)

    monkeypatch.setattr(run_cmds, "_simulate", fake)
    return calls


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args], env={"COLUMNS": "200"})


def assert_user_error(res, *words):
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output
    assert res.exception is None or isinstance(res.exception, SystemExit)
    for w in words:
        assert w in res.output, res.output


# --------------------------------------------------------------------------- bad input


def test_unknown_scenario_lists_known_ones(fake_engine):
    res = invoke("run", "no-such-campaign")
    assert_user_error(res, "no-such-campaign", "packaged")
    assert not fake_engine


@pytest.mark.parametrize("seed, word", [("-1", "negative"), ("abc", "whole number"), ("1.5", "whole number"),
                                        (str(2**63), "too large"), (str(2**64 + 5), "too large")])
def test_bad_seeds(scen, fake_engine, seed, word):
    assert_user_error(invoke("run", scen, f"--seed={seed}"), word)
    assert_user_error(invoke("history", scen, f"--seed={seed}"), word)
    assert not fake_engine


def test_largest_seed_is_accepted(scen, fake_engine):
    res = invoke("run", scen, "--seed", str(2**63 - 1), "--json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["seed"] == 2**63 - 1


@pytest.mark.parametrize("n", ["0", "-3", "ten", "2.5"])
def test_bad_replication_counts(scen, fake_engine, n):
    assert_user_error(invoke("run", scen, f"--replications={n}"), "--replications")
    assert_user_error(invoke("history", scen, f"--replications={n}"), "--replications")
    assert not fake_engine


def test_too_many_replications_for_memory(scen, fake_engine):
    res = invoke("run", scen, "--replications", str(10**9))  # the most -n accepts; beyond it: "too large"
    assert_user_error(res, "memory", "available")
    assert not fake_engine


def test_memory_refusal_names_estimate_and_available(scen, fake_engine, monkeypatch):
    monkeypatch.setattr(run_cmds, "available_memory_bytes", lambda: 1_000_000_000)
    monkeypatch.setattr(run_cmds, "estimate_bytes", lambda s, n, k: n * 1_000_000)
    res = invoke("run", scen, "-n", "5000")
    assert_user_error(res, "5.0 GB", "1.0 GB", "at most about 1,000")
    assert invoke("run", scen, "-n", "900", "--json").exit_code == 0


def test_fallback_memory_estimate_grows_with_replications(scen):
    from xuefeng.scenario import load_scenario

    s = load_scenario(scen)
    a, b = run_cmds.estimate_bytes(s, 10, 0), run_cmds.estimate_bytes(s, 1000, 0)
    if not hasattr(xuefeng.engine, "estimate_bytes"):
        assert b == pytest.approx(100 * a)
    assert b > a > 0
    assert run_cmds.available_memory_bytes() is None or run_cmds.available_memory_bytes() > 0


def test_history_without_targets_file(scen, fake_engine):
    (scen / "history_targets.yaml").unlink()
    assert_user_error(invoke("history", scen), "history_targets.yaml")


def test_targets_file_naming_unknown_unit(scen, fake_engine):
    bad = {**TARGETS, "targets": [{"name": "x", "source": "s", "text": "t", "kind": "median_range",
                                   "quantity": "latest_arrival", "units": ["ghost"], "max": 1.0}]}
    (scen / "history_targets.yaml").write_text(yaml.safe_dump(bad))
    assert_user_error(invoke("history", scen), "ghost")


# --------------------------------------------------------------------------- output


def test_run_json_prints_only_the_summary(scen, fake_engine):
    res = invoke("run", scen, "--seed", "5", "--replications", "21", "--json")
    assert res.exit_code == 0, res.output
    s = json.loads(res.stdout)  # nothing but the JSON object on stdout
    assert s["replications"] == 21 and s["seed"] == 5
    assert s["p_blue_victory"] == pytest.approx(19 / 21)
    assert s["p_goal_lost"] == pytest.approx(1 / 21)
    assert s["allied_aircrew_lost"] == {"median": 22.0, "p05": 4.0, "p95": 40.0}
    assert s["casualties"]["red"]["killed"] == {"median": 66.0, "p05": 12.0, "p95": 120.0}
    assert fake_engine == [dict(replications=21, seed=5, keep_series=0)]


def test_run_tables(scen, fake_engine):
    res = invoke("run", scen, "-n", "21")
    assert res.exit_code == 0, res.output
    for w in ("Outcome", "Casualties", "Sources beside the simulation", "Source A", "90% interval",
              "n/a", "Blue Corps"):
        assert w in res.stdout, res.stdout
    one = invoke("run", scen, "-n", "1")
    assert one.exit_code == 0, one.output
    assert "winner" in one.stdout and "Blue" in one.stdout
    assert "inside?" not in one.stdout and "90% interval" not in one.stdout  # one campaign: no verdict
    default = invoke("run", scen)
    assert default.exit_code == 0 and "200 replications" in default.stdout, default.output


def test_run_out_saves_loadable_results(scen, fake_engine, tmp_path):
    out = tmp_path / "out"
    res = invoke("run", scen, "-n", "3", "--out", out)
    assert res.exit_code == 0, res.output
    r = io.load(out)
    assert r.replications == 3
    assert io.load_summary(out)["p_blue_victory"] == pytest.approx(1 / 3)
    assert fake_engine[-1]["keep_series"] == 1


def test_ctrl_c_during_engine(scen, monkeypatch, tmp_path):
    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(run_cmds, "_simulate", interrupted)
    out = tmp_path / "out"
    res = invoke("run", scen, "--out", out)
    assert res.exit_code == 130
    assert "interrupted; no output written" in res.output
    assert not out.exists()
    res = invoke("history", scen)
    assert res.exit_code == 130 and "interrupted" in res.output


def test_ctrl_c_during_save_leaves_nothing(scen, fake_engine, monkeypatch, tmp_path):
    real = pd.DataFrame.to_parquet
    n = {"calls": 0}

    def flaky(self, *a, **k):
        n["calls"] += 1
        if n["calls"] == 2:
            raise KeyboardInterrupt
        return real(self, *a, **k)

    monkeypatch.setattr(pd.DataFrame, "to_parquet", flaky)
    res = invoke("run", scen, "--out", tmp_path / "out")
    assert res.exit_code == 130
    assert sorted(p.name for p in tmp_path.iterdir()) == ["synthetic"]


def test_history_exit_status(scen, fake_engine):
    res = invoke("history", scen, "-n", "21")
    assert res.exit_code == 0, res.output
    assert "2 of 2 targets hold" in res.stdout and "Chronicle" in res.stdout
    assert fake_engine[-1] == dict(replications=21, seed=0, keep_series=0)
    failing = {**TARGETS, "targets": [*TARGETS["targets"],
                                      {"name": "red-wins", "source": "Legend", "text": "Red wins",
                                       "kind": "probability", "quantity": "victory.red", "min": 0.5}]}
    (scen / "history_targets.yaml").write_text(yaml.safe_dump(failing))
    res = invoke("history", scen, "-n", "21")
    assert res.exit_code == 1, res.output
    assert "2 of 3 targets hold" in res.stdout
    res = invoke("history", scen, "-n", "21", "--json")
    assert res.exit_code == 1
    v = json.loads(res.stdout)
    assert v["all_hold"] is False and [t["holds"] for t in v["targets"]] == [True, True, False]


def test_history_default_replications(scen, fake_engine):
    invoke("history", scen)
    assert fake_engine[-1]["replications"] == run_cmds.DEFAULT_HISTORY_REPLICATIONS == 500


# --------------------------------------------------------------------------- the real engine

def test_real_run_json_has_the_issue_keys():
    res = invoke("run", "--replications", "2", "--seed", "3", "--json")
    assert res.exit_code == 0, res.output
    s = json.loads(res.stdout)
    for k in ("p_chinese_victory", "p_zhijiang_lost", "end_date_median", "advance_km_median", "casualties",
              "civilian_casualties", "us_aircrew_lost", "replications", "seed"):
        assert k in s
    assert set(s["casualties"]) == {"china", "japan"}
    for side in ("china", "japan"):
        assert set(s["casualties"][side]) == {"killed", "wounded", "died_of_wounds", "missing", "captured",
                                              "sick", "died_of_illness"}
    assert s["replications"] == 2 and s["seed"] == 3


def test_real_history_runs(tmp_path):
    res = invoke("history", "--replications", "2", "--seed", "1")
    assert res.exit_code in (0, 1), res.output
    assert "targets hold" in res.stdout


#: History targets the model is known to miss, each with its reason in the README's status
#: and docs/ensembles.md: the CDB90-fitted engagement model gives the Japanese about as many
#: battle casualties as the Chinese (~16,000), far more than the Japanese records' 1,876-4,411,
#: so with their ~24,000 sick the two together sit at the records' total of 40,000 (40,168 with
#: seed 0, under it with seed 1). (Before a battle renewed within a day went on as the same
#: battle, the Japanese battle casualties were ~25,000 and their sick did not exceed them.)
KNOWN_MISSES = {"japanese-total-losses"}


def test_historical_check_holds_at_a_size_ci_can_afford():
    """The default scenario's historical check at the issue's 500 replications, seed 0: every
    target but the known misses must hold. A change to the engine, the engagement model's
    parameters or the scenario that moves the campaign away from the sources fails here."""
    res = invoke("history", "--replications", "500", "--seed", "0", "--json")
    targets = json.loads(res.stdout)["targets"]
    assert len(targets) == 12
    missed = {t["name"] for t in targets if not t["holds"]}
    assert missed <= KNOWN_MISSES, missed
    assert res.exit_code == (1 if missed else 0)


def test_unwritable_out_is_a_user_error(scen, fake_engine, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert_user_error(invoke("run", scen, "--out", blocker), "not a folder")
    assert_user_error(invoke("run", scen, "--out", blocker / "sub"), "cannot write")


def test_history_applies_set_through_the_one_override_mechanism(scen, monkeypatch):
    """`history --set` runs the engine with the override applied (the params reach the engine)
    and records it in the JSON; a bad path exits 2 before anything runs."""
    seen = []

    def fake(scenario, replications, seed, keep_series, progress, setup=None):
        seen.append(setup)
        return make_results(replications, seed=seed)

    monkeypatch.setattr(run_cmds, "_simulate", fake)
    import xuefeng.analysis.whatif as whatif  # the synthetic results' scenario is not one the engine compiles

    monkeypatch.setattr(whatif, "preflight", lambda setup, what: None)
    res = invoke("history", scen, "--json", "--set", "params.combat.intensity=0.5")
    assert res.exit_code in (0, 1), res.output
    assert seen[-1] is not None and seen[-1].params.combat.intensity == 0.5
    assert json.loads(res.stdout)["set"] == ["params.combat.intensity=0.5"]
    res = invoke("history", scen, "--json")
    assert seen[-1] is None and json.loads(res.stdout)["set"] == []
    n = len(seen)
    assert_user_error(invoke("history", scen, "--set", "params.combat.nope=1"), "nope")
    assert len(seen) == n
