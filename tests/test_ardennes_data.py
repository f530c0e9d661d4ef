"""The packaged Ardennes 1944 scenario: it validates, runs, and every datum says where it comes from.

Expected totals are the ACSDB theater manpower on 16 December 1944 (day 2 of
`shared/data/ardennes/ardennes-daily.csv`): German 616,924, Allied 835,178.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from xuefeng.analysis.quantities import evaluate
from xuefeng.analysis.targets import check_against, load_targets_for
from xuefeng.engine import simulate
from xuefeng.scenario import load_scenario
from xuefeng.scenario.registry import data_root, scenario_names

NAME = "ardennes-1944"


@pytest.fixture(scope="module")
def scenario():
    return load_scenario(NAME)


@pytest.fixture(scope="module")
def results(scenario):
    return simulate(scenario, replications=4, seed=0)


def test_packaged_and_named(scenario):
    assert NAME in scenario_names()
    assert scenario.meta.name == NAME
    assert {s.id for s in scenario.meta.sides} == {"germany", "allies"}


def test_side_totals_are_the_acsdb_manpower(scenario):
    assert scenario.side_strength("germany") == 616924
    assert scenario.side_strength("allies") == 835178


def test_every_unit_and_datum_has_provenance(scenario):
    for u in scenario.units:
        assert u.provenance.source.strip(), u.id
        if u.provenance.source == "assumption":
            assert u.provenance.note, u.id
    for group in (scenario.air_groups, scenario.logistics.depots, scenario.logistics.transport,
                  scenario.events, scenario.claims, scenario.victory, scenario.theater.towns,
                  scenario.theater.rivers, scenario.theater.roads, scenario.theater.terrain):
        for item in group:
            assert item.provenance.source.strip()
            if item.provenance.source == "assumption":
                assert item.provenance.note
    raw = json.loads((data_root() / NAME / "map.geojson").read_text(encoding="utf-8"))
    assert all("provenance" in f["properties"] for f in raw["features"])


def test_order_of_battle_names_the_armies_and_key_divisions(scenario):
    ids = {u.id for u in scenario.units}
    for uid in ("6th-ss-panzer-army", "5th-panzer-army", "7th-army", "first-army", "third-army", "xxx-corps",
                "1st-ss-panzer", "2nd-panzer", "26th-volksgrenadier", "101st-airborne", "82nd-airborne",
                "2nd-armored", "4th-armored", "29th-armoured-brigade"):
        assert uid in ids
    assert scenario.unit("101st-airborne").arrival.day == 19
    assert scenario.unit("2nd-panzer").equipment.tanks > 0


def test_places_the_campaign_turns_on(scenario):
    for pid in ("st-vith", "bastogne", "houffalize", "malmedy", "stavelot", "elsenborn", "celles", "dinant",
                "namur", "liege"):
        scenario.place(pid)
    rivers = {r.id for r in scenario.theater.rivers}
    assert {"our", "sure-sauer", "ourthe", "ambleve", "salm", "meuse"} <= rivers
    assert scenario.victory[0].objective == "dinant"


def test_small_run_and_history_targets_evaluate(scenario, results):
    targets = load_targets_for(NAME)
    assert targets is not None
    check_against(targets, scenario, results)  # every target's quantity evaluates on a real run
    adv = evaluate(results, "advance_km", scenario).values
    assert np.all(np.isfinite(adv)) and np.all(adv >= 0)
    cas = evaluate(results, "casualties.germany.casualties", scenario).values
    assert np.all(cas > 0)
