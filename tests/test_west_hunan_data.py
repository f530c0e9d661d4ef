"""The packaged West Hunan 1945 scenario against its source (the seed article).

The expected values below are copied from the seed (seed/000_fd17619890e0df09.txt
beside DESIGN.md): its order of battle, its strength totals and every casualty
figure of its infobox and Casualties section. A scenario edit that drops or
changes one of them fails here.
"""

from __future__ import annotations

import datetime as dt
import importlib.resources
import json
import math

import h3
import pytest

from xuefeng.scenario import load_scenario
from xuefeng.scenario.schema import Scenario

NAME = "west-hunan-1945"

# The seed's order of battle: (formation name, commander or None, parent formation id).
SEED_OOB_CHINA = [
    ("3rd Front Army", "Tang Enbo", "chinese-command"),
    ("27th Army Group", "Li Yutang", "3rd-front-army"),
    ("26th Corps", "Ting Chih-pan", "27th-army-group"),
    ("41st Division", "Tung Gee-Tao", "26th-corps"),
    ("4th Division", "Chiang Hsiu-jen", "26th-corps"),
    ("94th Corps", "Mu Ting-fang", "3rd-front-army"),
    ("5th Division", "Li Tse-fen", "94th-corps"),
    ("43rd Division", "Li Shih-lin", "94th-corps"),
    ("121st Division", "Ch Ching-min", "94th-corps"),
    ("New 6th Corps", "Liao Yao-hsiang", "3rd-front-army"),
    ("14th Division", "Lung Tien-wu", "new-6th-corps"),
    ("New 22nd Division", "Li Tao", "new-6th-corps"),
    ("4th Front Army", "Wang Yao-wu", "chinese-command"),
    ("18th Corps", "Hu Lien", "4th-front-army"),
    ("11th Division", "Yang Po-tao", "18th-corps"),
    ("18th Division", "Chin Tao-shan", "18th-corps"),
    ("118th Division", "Tai Pu", "18th-corps"),
    ("73rd Corps", "Han Chun", "4th-front-army"),
    ("15th Division", "Liang Chi-lu", "73rd-corps"),
    ("77th Division", "Tang Sheng-hai", "73rd-corps"),
    ("193rd Division", "Hsiao Chuang-kuang", "73rd-corps"),
    ("74th Corps", "Shih Chung-cheng", "4th-front-army"),
    ("51st Division", "Chao Chih-tao", "74th-corps"),
    ("57th Division", "Li Yen", "74th-corps"),
    ("58th Division", "Tsai Jen-chieh", "74th-corps"),
    ("100th Corps", "Li Tien-hsia", "4th-front-army"),
    ("19th Division", "Yang Yin", "100th-corps"),
    ("63rd Division", "Hsu Chih-hsiu", "100th-corps"),
    ("13th Division", "Chin Li-san", "4th-front-army"),
    ("6th Provincial Division", "Chao Chi-ping", "4th-front-army"),
    ("Assorted independent units", None, "4th-front-army"),
    ("10th Army Group", "Wang Ching-chiu", "chinese-command"),
    ("39th Corps", "Liu Shang-chih", "10th-army-group"),
    ("51st Division", "Shih Hun-hsi", "39th-corps"),
    ("92nd Corps", "Hou Ching-ju", "10th-army-group"),
    ("21st Division", "Li Tse-fen", "92nd-corps"),
    ("142nd Division", "Li Chun-ling", "92nd-corps"),
]
SEED_OOB_JAPAN = [
    ("20th Army", "Ichirō Banzai", "china-expeditionary-army"),
    ("34th Division", "Takeo Ban", "20th-army"),
    ("47th Division", "Hiroshi Watanabe", "20th-army"),
    ("68th Division", "Mikio Tsutsumi", "20th-army"),
    ("116th Division", "Ginnosuke Uchida", "20th-army"),
    ("Elements of the 64th Division", None, "20th-army"),
    ("86th Independent Mixed Brigade", None, "20th-army"),
    ("109th Infantry Regiment", None, "116th-division"),  # Casualties section
]
UNCOMMITTED = {"39th-corps", "51st-division-39th-corps", "142nd-division"}

# The 20 divisions taken as the seed's "110,000 in Hunan ... in 20 divisions".
TWENTY_DIVISIONS = [
    "41st-division", "4th-division", "5th-division", "43rd-division", "121st-division",
    "14th-division", "new-22nd-division", "11th-division", "18th-division", "118th-division",
    "15th-division", "77th-division", "193rd-division", "51st-division-74th-corps",
    "57th-division", "58th-division", "19th-division", "63rd-division", "13th-division",
    "6th-provincial-division",
]

# Every figure of the seed's infobox and Casualties section: (side, category, figure, source).
SEED_CLAIMS = [
    ("china", "casualties", 21040, "seed infobox"),
    ("china", "killed", 7817, "seed infobox"),
    ("china", "wounded", 12784, "seed infobox"),
    ("china", "missing", 380, "seed infobox"),
    ("china", "other", 824, "seed (Casualties section)"),  # officers among the 21,040
    ("china", "aircrew_lost", 11, "seed infobox"),  # American pilots
    ("japan", "killed", 695, "Senshi Sōsho"),
    ("japan", "wounded", 1181, "Senshi Sōsho"),
    ("japan", "died_of_wounds", 322, "Senshi Sōsho"),
    ("japan", "sick", 24640, "Senshi Sōsho"),
    ("japan", "died_of_illness", 2301, "Senshi Sōsho"),
    ("japan", "total_deaths", 4030, "Senshi Sōsho"),
    ("japan", "killed", 1720, "20th Army medical department"),
    ("japan", "wounded", 2691, "20th Army medical department"),
    ("japan", "died_of_wounds", 275, "20th Army medical department"),
    ("japan", "sick", 27372, "20th Army medical department"),
    ("japan", "died_of_illness", 1992, "20th Army medical department"),
    ("japan", "total_deaths", 3987, "20th Army medical department"),
    ("japan", "killed_or_wounded", 36358, "Chinese claim"),
    ("japan", "killed", 12651, "Chinese claim"),
    ("japan", "wounded", 23707, "Chinese claim"),
    ("japan", "captured", 180, "Chinese claim"),
    ("japan", "casualties", 11000, "Japanese first announcement"),
    ("japan", "killed", 5000, "Japanese first announcement"),
    ("japan", "sick", 15000, "Japanese revised announcement"),
    ("japan", "total_losses", 27000, "Japanese final admission"),
    ("japan", "killed", 15000, "First Demobilization Bureau"),
    ("japan", "wounded", 50000, "First Demobilization Bureau"),
    (None, "civilian_casualties", 8563, "seed infobox"),
    ("china", "strength", 110000, "seed infobox"),
    ("china", "strength", 200000, "seed infobox"),
    ("china", "other", 400, "seed infobox"),  # aircraft
    ("japan", "strength", 80000, "seed infobox"),
]


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return load_scenario(NAME)


def great_circle_km(a, b) -> float:
    r = 6371.0088
    p1, p2 = math.radians(a.lat), math.radians(b.lat)
    dl = math.radians(b.lon - a.lon)
    h = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(h))


def test_meta(scenario: Scenario) -> None:
    m = scenario.meta
    assert m.name == NAME
    assert m.start == dt.datetime(1945, 4, 6)
    assert m.end >= dt.datetime(1945, 6, 7)
    assert m.time_step_hours == 6
    assert {s.id for s in m.sides} == {"china", "japan"}
    assert "100 km" in m.description  # the seed-vs-map disagreement is recorded


def test_every_seed_formation_and_commander_with_its_parent(scenario: Scenario) -> None:
    for side, oob in (("china", SEED_OOB_CHINA), ("japan", SEED_OOB_JAPAN)):
        for name, commander, parent in oob:
            hits = [u for u in scenario.units
                    if u.side == side and u.name == name and u.commander == commander]
            assert len(hits) == 1, f"{side}: {name} ({commander}) not found exactly once"
            assert hits[0].parent == parent, f"{name} ({commander}): parent {hits[0].parent}"
    top = scenario.unit("chinese-command")
    assert top.commander == "He Yingqin" and top.parent is None
    assert scenario.unit("china-expeditionary-army").commander == "Yasuji Okamura"
    # the infobox's other commanders: Liao Yaoxiang (New 6th Corps), Zhang Lingfu (not in the OOB)
    assert any("Liao Yaoxiang" in n for n in scenario.unit("new-6th-corps").notes)
    assert any("Zhang Lingfu" in n for n in scenario.unit("74th-corps").notes)


def test_duplicated_names_are_kept_apart_with_notes(scenario: Scenario) -> None:
    fifty_first = [u for u in scenario.units if u.name == "51st Division"]
    assert {u.id for u in fifty_first} == {"51st-division-74th-corps", "51st-division-39th-corps"}
    li = [u for u in scenario.units if u.commander == "Li Tse-fen"]
    assert {u.id for u in li} == {"5th-division", "21st-division"}
    for u in fifty_first:
        assert any("two '51st Division'" in n for n in u.notes), u.id
    for u in li:
        assert any("Li Tse-fen" in n and "both" in n for n in u.notes), u.id
    banzai = scenario.unit("20th-army")
    assert any("Sakanishi" in n for n in banzai.notes)
    assert any("20th Corps" in n for n in banzai.notes)


def test_uncommitted_units(scenario: Scenario) -> None:
    assert {u.id for u in scenario.units if not u.committed} == UNCOMMITTED
    for uid in UNCOMMITTED:
        assert scenario.unit(uid).location is None


def test_strength_totals_match_the_seed(scenario: Scenario) -> None:
    assert scenario.side_strength("japan") == 80_000
    assert scenario.side_strength("china") == 200_000
    twenty = [scenario.unit(uid) for uid in TWENTY_DIVISIONS]
    assert len(set(TWENTY_DIVISIONS)) == 20
    assert all(u.echelon.value == "division" and u.committed and u.side == "china" for u in twenty)
    assert sum(u.strength.total for u in twenty) == 110_000
    marked = {u.id for u in scenario.units if any("'20 divisions'" in n for n in u.notes)}
    assert marked == set(TWENTY_DIVISIONS)
    # every Chinese division the seed lists is either one of the 20 or explained
    divisions = {u.id for u in scenario.units if u.side == "china" and u.echelon.value == "division"}
    assert len(divisions) == 23
    assert divisions - set(TWENTY_DIVISIONS) == {"51st-division-39th-corps", "142nd-division", "21st-division"}


def test_air(scenario: Scenario) -> None:
    groups = {g.id: g for g in scenario.air_groups}
    assert sum(g.aircraft for g in groups.values()) == 400
    names = {g.name for g in groups.values()}
    for n in ("1st Air Group", "2nd Air Group", "3rd Air Group", "5th Air Group", "14th Air Force"):
        assert n in names
    assert groups["usaaf-14th-air-force"].fuel_limited
    places = {a.id for a in scenario.theater.airfields}
    assert "zhijiang-airfield" in places
    assert next(a for a in scenario.theater.airfields if a.id == "zhijiang-airfield").side == "china"


def test_every_seed_claim(scenario: Scenario) -> None:
    have = [(c.side, c.category.value, c.figure, c.source) for c in scenario.claims]
    for claim in SEED_CLAIMS:
        assert claim in have, f"missing claim {claim}"
    regiment = sorted(c.figure for c in scenario.claims if c.unit == "109th-infantry-regiment")
    assert regiment == [125, 175, 246, 546]  # three battalions and their sum
    assert all(c.provenance.source == "seed" for c in scenario.claims)


def test_places_inside_bounds_and_distances(scenario: Scenario) -> None:
    b = scenario.theater.bounds
    for t in (*scenario.theater.towns, *scenario.theater.airfields):
        assert b.contains(t.location.lat, t.location.lon), t.id
    for name in ("zhijiang", "shaoyang", "hengyang", "xiangtan", "wuyang", "anjiang", "hongjiang",
                 "dongkou", "shanmen", "longtan", "wugang", "xinhua", "xupu", "chenxi", "yuanling"):
        scenario.place(name)
    # the seed's "a mere 100 km" is wrong on the map: the map wins
    assert 170 <= great_circle_km(scenario.place("zhijiang"), scenario.place("shaoyang")) <= 190
    # the seed's Wu-yang, "seventy miles southeast of Chihchiang" (113 km)
    zj, wy = scenario.place("zhijiang"), scenario.place("wuyang")
    assert 90 <= great_circle_km(zj, wy) <= 125
    assert wy.lat < zj.lat and wy.lon > zj.lon


def test_grid_size(scenario: Scenario) -> None:
    b = scenario.theater.bounds
    ring = [(b.south, b.west), (b.south, b.east), (b.north, b.east), (b.north, b.west)]
    cells = h3.polygon_to_cells(h3.LatLngPoly(ring), scenario.theater.h3_resolution)
    assert 1000 < len(cells) < 5000


def test_manoeuvre_units_placed(scenario: Scenario) -> None:
    for u in scenario.units:
        if u.committed and u.echelon.value in ("division", "brigade", "regiment", "corps"):
            assert u.location is not None, u.id
    for uid in ("new-6th-corps", "14th-division", "new-22nd-division"):
        u = scenario.unit(uid)
        assert u.arrival_mode.value == "air"
        assert u.arrival is not None and u.arrival <= dt.datetime(1945, 4, 30, 23, 59)
        assert (u.location.lat, u.location.lon) == (scenario.place("zhijiang-airfield").lat,
                                                    scenario.place("zhijiang-airfield").lon)
    assert all(u.arrival_mode.value == "foot" for u in scenario.units if u.side == "japan")


def test_seed_events_and_plans(scenario: Scenario) -> None:
    dates = {e.date.date() for e in scenario.events}
    for d in ((4, 6), (4, 13), (4, 14), (4, 25), (5, 3), (5, 5), (6, 7)):
        assert dt.date(1945, *d) in dates
    triggers = {ph.trigger for p in scenario.plans for ph in p.phases}
    assert triggers <= {None, "date", "enemy_halted", "enemy_retreating", "own_strength_superior"}
    japan = next(p for p in scenario.plans if p.side == "japan")
    main = next(ph for ph in japan.phases if ph.objective == "zhijiang-airfield")
    assert main.start == dt.datetime(1945, 4, 13) and main.posture.value == "attack"
    (v,) = scenario.victory
    assert (v.side, v.objective, v.by) == ("china", "zhijiang-airfield", dt.datetime(1945, 6, 7))


def test_depots_and_transport(scenario: Scenario) -> None:
    depots = {d.id: d for d in scenario.logistics.depots}
    assert depots["jp-shaoyang-stockpile"].side == "japan"
    jp_modes = {t.mode.value: t.capacity_tons_per_day for t in scenario.logistics.transport if t.side == "japan"}
    assert jp_modes.get("motor", 0) == 0 and jp_modes["foot"] > 0


def test_geojson_follows_the_layer_convention() -> None:
    """Read the map file directly, so a loader change cannot hide a malformed feature."""
    path = importlib.resources.files("xuefeng.scenario") / "data" / NAME / "map.geojson"
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert doc["type"] == "FeatureCollection"
    geometry = {"terrain": "Polygon", "river": "LineString", "road": "LineString",
                "town": "Point", "airfield": "Point"}
    extra = {"terrain": {"terrain", "elevation_m"}, "river": {"fordable"}, "road": {"road_class"},
             "town": {"population"}, "airfield": {"side"}}
    seen = {k: 0 for k in geometry}
    for f in doc["features"]:
        p = f["properties"]
        layer = p["layer"]
        seen[layer] += 1
        assert f["geometry"]["type"] == geometry[layer], p["id"]
        assert set(p) - {"layer", "id", "name", "provenance"} <= extra[layer], p["id"]
        assert p["provenance"]["source"] and p["provenance"].get("note"), p["id"]
    assert all(seen.values()), seen
    roads = {f["properties"]["id"] for f in doc["features"] if f["properties"]["layer"] == "road"}
    assert {"heng-shao-highway", "tan-shao-highway"} <= roads
