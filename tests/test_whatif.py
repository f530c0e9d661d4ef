"""What-ifs: overrides into the scenario, engine parameters and side settings,
the named variants of a scenario's whatifs.yaml, and their comparison with the
baseline under common random numbers."""

from __future__ import annotations

import datetime as dt
import json
import shutil

import pytest
import yaml
from ensemble_support import MINI, cli_app
from typer.testing import CliRunner

from xuefeng.analysis.whatif import (
    OverrideError,
    Setup,
    WhatIf,
    apply_set,
    apply_whatif,
    load_whatifs,
    parse_assignment,
    run_whatifs,
    whatif_from_sets,
)
from xuefeng.engine import simulate
from xuefeng.scenario import load_scenario

runner = CliRunner()
WH = "west-hunan-1945"
BUILT_INS = {"no-us-air", "no-airlift", "japanese-fuel", "no-guerrillas", "no-disease", "japanese-strength-plus-25"}


@pytest.fixture(scope="module")
def wh():
    return load_scenario(WH)


@pytest.fixture(scope="module")
def mini():
    return load_scenario(MINI)


def test_parse_assignment() -> None:
    assert parse_assignment("units.a.strength.infantry=20000") == ("units.a.strength.infantry", 20000)
    assert parse_assignment("sides.x.march_mode=motor") == ("sides.x.march_mode", "motor")
    assert parse_assignment("units.a.committed=false") == ("units.a.committed", False)
    assert parse_assignment("params.air.presence_sorties_per_day=1e6") == ("params.air.presence_sorties_per_day", 1e6)
    with pytest.raises(OverrideError, match="PATH=VALUE"):
        parse_assignment("units.a.strength")


def test_set_paths_reach_scenario_params_and_sides(wh) -> None:
    base = Setup.baseline(wh)
    s = apply_set(base, "units.116th-division.strength.infantry", 20000)
    assert s.scenario.unit("116th-division").strength.infantry == 20000
    assert base.scenario.unit("116th-division").strength.infantry != 20000  # the original is untouched
    s = apply_set(base, "air_groups.usaaf-14th-air-force.aircraft", 0)
    assert next(g for g in s.scenario.air_groups if g.id == "usaaf-14th-air-force").aircraft == 0
    s = apply_set(base, "params.medical.base_incidence_per_day", 0.001)
    assert s.params.medical.base_incidence_per_day == 0.001 and s.scenario is wh
    s = apply_set(base, "sides.japan.guerrilla_intensity", 0.5)
    assert s.config.sides["japan"].guerrilla_intensity == 0.5
    assert s.config.sides["china"] == base.config.sides["china"]


def test_a_side_s_doctrine_parameter_can_be_set_and_reaches_the_engine(wh) -> None:
    """sides.<side>.doctrine.<parameter>: the side's own value of one per-side doctrine parameter,
    kept beside the doctrine engine.yaml gives it, and compiled for that side only."""
    from xuefeng.engine.compile import side_doctrines

    base = Setup.baseline(wh)
    s = apply_set(base, "sides.japan.doctrine.bypass_ratio", 1.0)
    assert s.config.sides["japan"].doctrine["bypass_ratio"] == 1.0
    for k, v in (base.config.sides["japan"].doctrine or {}).items():
        assert s.config.sides["japan"].doctrine[k] == v
    ids = tuple(x.id for x in wh.meta.sides)
    got, was = side_doctrines(s.config, ids, s.params), side_doctrines(base.config, ids, base.params)
    j, c = ids.index("japan"), ids.index("china")
    assert got["bypass_ratio"][j] == 1.0 and got["bypass_ratio"][c] == was["bypass_ratio"][c]
    with pytest.raises(OverrideError, match="bypas.*bypass_ratio"):
        apply_set(base, "sides.japan.doctrine.bypas", 1.0)
    with pytest.raises(OverrideError, match="sides.japan.doctrine.halt_ratio"):
        apply_set(base, "sides.japan.doctrine.halt_ratio", -1)


@pytest.mark.parametrize(("path", "value", "named", "listed"), [
    ("units.no-such-unit.strength.infantry", 1, "no-such-unit", "116th-division"),
    ("units.116th-division.strength.cavalry", 1, "cavalry", "infantry"),
    ("units.116th-division.strength", 1, "strength", "infantry"),
    ("nonsense.x", 1, "nonsense", "units"),
    ("params.medical.disease_rate", 0, "disease_rate", "base_incidence_per_day"),
    ("params.medic.x", 0, "medic", "medical"),
    ("sides.japan.fuel", 1, "fuel", "march_mode"),
    ("sides.mars.march_mode", "motor", "mars", "japan"),
])
def test_bad_paths_name_the_path_and_list_valid_keys(wh, path, value, named, listed) -> None:
    with pytest.raises(OverrideError) as e:
        apply_set(Setup.baseline(wh), path, value)
    msg = str(e.value)
    assert named in msg and listed in msg


@pytest.mark.parametrize(("path", "value"), [
    ("sides.japan.march_mode", "hovercraft"), ("params.medical.base_incidence_per_day", "lots"),
    ("params.movement.max_hops_per_6h", 1.5), ("units.116th-division.strength.infantry", -5),
    ("air_groups.usaaf-14th-air-force.aircraft", "many"), ("params.combat.intensity", -1)])
def test_bad_values_are_named(wh, path, value) -> None:
    with pytest.raises(OverrideError) as e:
        apply_set(Setup.baseline(wh), path, value)
    assert path in str(e.value)


def test_built_in_whatifs_are_data_and_apply(wh) -> None:
    known = load_whatifs(WH)
    assert BUILT_INS <= set(known)
    base = Setup.baseline(wh)
    s = apply_whatif(base, known["no-us-air"])
    assert {g.id: g.aircraft for g in s.scenario.air_groups}["usaaf-14th-air-force"] == 0
    s = apply_whatif(base, known["no-airlift"])
    assert not [e for e in s.scenario.events if e.kind == "airlift"]
    air = [u for u in s.scenario.units if u.arrival_mode.value == "air"]
    assert air and not any(u.committed for u in air)
    s = apply_whatif(base, known["japanese-fuel"])
    assert s.config.sides["japan"].march_mode == "motor" and s.config.sides["japan"].supply_mode == "motor"
    s = apply_whatif(base, known["no-guerrillas"])
    assert all(c.guerrilla_intensity == 0 for c in s.config.sides.values())
    s = apply_whatif(base, known["no-disease"])
    assert s.params.medical.base_incidence_per_day == 0
    s = apply_whatif(base, known["japanese-strength-plus-25"])
    for u0, u1 in zip(wh.units, s.scenario.units):
        f = 1.25 if u0.side == "japan" else 1.0
        assert u1.strength.infantry == pytest.approx(u0.strength.infantry * f)


def test_no_disease_means_no_sick(wh) -> None:
    known = load_whatifs(WH)
    rep = run_whatifs(wh, [known["no-disease"]], 2, 3, until=dt.datetime(1945, 4, 22))
    out = rep.variants[0]["outcomes"]
    for side in ("china", "japan"):
        assert out[f"casualties.{side}.sick"]["variant"] == 0
        assert out[f"casualties.{side}.died_of_illness"]["variant"] == 0
        assert out[f"casualties.{side}.sick"]["baseline"] > 0
    assert rep.baseline["casualties.japan.sick"] == out["casualties.japan.sick"]["baseline"]


def test_no_op_variant_gives_exactly_zero_differences(mini) -> None:
    """Common random numbers: a variant that changes nothing repeats every replication exactly."""
    noop = whatif_from_sets(["params.combat.intensity=1.0", "sides.red.guerrilla_intensity=0"])
    rep = run_whatifs(mini, [noop], 5, 11, chunk=2)
    for k, d in rep.variants[0]["outcomes"].items():
        assert d["difference"] == 0 and d["p05"] == 0 and d["p95"] == 0, k
    # and the baseline is what `simulate` gives
    r = simulate(mini, 5, 11, keep_series=0)
    assert rep.baseline["advance_km"] == pytest.approx(float(r.outcome.advance_km.mean()), abs=0)


def test_real_change_gives_an_interval(mini) -> None:
    rep = run_whatifs(mini, [whatif_from_sets(["params.combat.intensity=2"])], 6, 1)
    d = rep.variants[0]["outcomes"]["casualties.red.killed"]
    assert d["difference"] > 0 and d["p05"] <= d["difference"] <= d["p95"]


def test_whatifs_file_mechanisms(tmp_path, mini) -> None:
    d = tmp_path / "mini"
    shutil.copytree(MINI, d)
    (d / "whatifs.yaml").write_text(yaml.safe_dump({"whatifs": {
        "red-doubled": {"title": "Red doubled", "changes": [
            {"update": "units", "where": {"side": "red"}, "scale": {"strength.infantry": 2}}]},
        "no-blue-air": {"title": "No Blue air", "changes": [{"remove": "air_groups", "where": {"side": "blue"}}]},
        "typo": {"title": "t", "changes": [
            {"update": "units", "where": {"side": "green"}, "set": {"committed": False}}]},
    }}))
    known = load_whatifs(d)
    base = Setup.baseline(mini)
    s = apply_whatif(base, known["red-doubled"])
    for u0, u1 in zip(mini.units, s.scenario.units):
        assert u1.strength.infantry == u0.strength.infantry * (2 if u0.side == "red" else 1)
    assert not apply_whatif(base, known["no-blue-air"]).scenario.air_groups
    with pytest.raises(OverrideError, match="no item of units matches"):
        apply_whatif(base, known["typo"])
    app = cli_app()
    r = runner.invoke(app, ["whatif", str(d), "red-doubled", "-n", "3", "--json"])
    assert r.exit_code == 0, r.output
    obj = json.loads(r.stdout)
    assert [v["name"] for v in obj["variants"]] == ["red-doubled"]
    assert obj["variants"][0]["outcomes"]["casualties.red.killed"]["difference"] != 0
    r = runner.invoke(app, ["whatif", str(d), "nope", "-n", "3"])
    assert r.exit_code == 2 and "nope" in r.output and "red-doubled" in r.output


def test_cli_set_bad_path_exits_2_naming_it() -> None:
    app = cli_app()
    r = runner.invoke(app, ["whatif", str(MINI), "--set", "units.blue-1st-div.strength.cavalry=5", "-n", "2"])
    assert r.exit_code == 2
    assert "units.blue-1st-div.strength.cavalry" in r.output and "infantry" in r.output
    r = runner.invoke(app, ["whatif", str(MINI), "--set", "params.medical.disease_rate_per_day=0.001", "-n", "2"])
    assert r.exit_code == 2 and "disease_rate_per_day" in r.output and "base_incidence_per_day" in r.output
    r = runner.invoke(app, ["whatif", str(MINI), "--set", "sides.red", "-n", "2"])
    assert r.exit_code == 2 and "PATH=VALUE" in r.output


def test_cli_table_and_list() -> None:
    app = cli_app()
    r = runner.invoke(app, ["whatif", str(MINI), "--set", "params.combat.intensity=1.5", "-n", "3", "-s", "2"])
    assert r.exit_code == 0, r.output
    assert "difference" in r.output and "90% interval" in r.output and "killed" in r.output
    r = runner.invoke(app, ["whatif", "--list"])
    assert r.exit_code == 0
    for name in BUILT_INS:
        assert name in r.output


def test_whatif_json_carries_a_change_that_holds_a_date() -> None:
    """A what-if that moves an arrival date prints as JSON (the date as ISO text)."""
    import datetime as _dt
    import json as _json

    from xuefeng.analysis.summary import json_safe

    out = _json.loads(_json.dumps(json_safe({"set": {"arrival": _dt.datetime(1944, 12, 21, 12)}})))
    assert out == {"set": {"arrival": "1944-12-21T12:00:00"}}


def test_removing_units_takes_subordinates_and_every_reference(wh) -> None:
    """A `remove: units` change takes the unit's subordinates with it and drops them from plan
    phases, claims and events (a scenario naming a missing unit would not validate)."""
    parent = next(u for u in wh.units if any(v.parent == u.id for v in wh.units)
                  and any(u.id in ph.units for p in wh.plans for ph in p.phases))
    below = {v.id for v in wh.units if v.parent == parent.id}
    w = WhatIf("out", "one formation out", ({"remove": "units", "where": {"id": parent.id}},))
    sc = apply_whatif(Setup.baseline(wh), w).scenario
    ids = {u.id for u in sc.units}
    assert parent.id not in ids and not (below & ids)
    named = {x for p in sc.plans for ph in p.phases for x in ph.units} | {c.unit for c in sc.claims} \
        | {x for e in sc.events for x in e.units}
    assert not ({parent.id} | below) & named


def test_an_earlier_end_drops_what_happens_after_it(wh) -> None:
    end = wh.meta.start + dt.timedelta(days=10)
    sc = apply_set(Setup.baseline(wh), "meta.end", end.isoformat()).scenario
    assert sc.meta.end == end
    assert all(u.arrival is None or u.arrival <= end for u in sc.units)
    assert all(e.date <= end for e in sc.events)
    assert all(ph.start is None or ph.start <= end for p in sc.plans for ph in p.phases)


def test_web_overrides_are_what_ifs(wh) -> None:
    """The web API's overrides go through the same mechanism as `xuefeng whatif`: the same
    changes give the same scenario, and a unit listed with its superior goes with it."""
    from xuefeng.web.app import Overrides, apply_overrides

    parent = next(u for u in wh.units if any(v.parent == u.id for v in wh.units))
    child = next(v for v in wh.units if v.parent == parent.id)
    event = wh.events[0].id
    ov = Overrides(remove_units=[child.id, parent.id], remove_events=[event])
    by_web = apply_overrides(wh, ov)
    by_whatif = apply_whatif(Setup.baseline(wh), WhatIf("x", "x", (
        {"remove": "units", "where": {"id": parent.id}}, {"remove": "events", "where": {"id": event}}))).scenario
    assert by_web.model_dump() == by_whatif.model_dump()
