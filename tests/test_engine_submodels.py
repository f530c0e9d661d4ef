"""Sub-model tests on small hand-made scenarios where the right answer is known."""

from __future__ import annotations

import numpy as np
import pytest

from engine_scenarios import FixedEngagement, base, build, phase, plan, unit
from xuefeng.engine import EngineConfig, EngineParams, SideConfig, Simulation, compile_scenario
from xuefeng.engine.postures import ATTACK
from xuefeng.results.model import CATEGORIES

K = {c: i for i, c in enumerate(CATEGORIES)}
MODEL = FixedEngagement()
NO_SPREAD = EngineParams().with_overrides({"command": {"spread": 0.0}})


def run_sim(sc, steps: int, R: int = 1, params: EngineParams | None = None, config: EngineConfig | None = None,
            model=MODEL, seed: int = 0):
    c = compile_scenario(sc, params=params, config=config or EngineConfig())
    sim = Simulation(c, np.arange(R), seed, keep_series=0, engagement=model)
    for _ in range(steps):
        sim.step()
    return c, sim


def march_scenario(mountains: bool):
    d = base()
    if mountains:
        d["theater"]["roads"] = []
        d["theater"]["terrain"] = [{"id": "range", "name": "Range", "terrain": "mountains", "provenance":
                                    {"source": "assumption", "note": "t"},
                                    "polygon": [(110.0, 27.0), (111.0, 27.0), (111.0, 28.0), (110.0, 28.0)]}]
    d["units"] = [unit("marcher", "red", 27.5, 110.1)]
    d["plans"] = [plan("red", phase("go", ["marcher"], "attack", "east"))]
    return build(d)


def steps_to_arrive(sc, limit: int = 80) -> tuple[int, float]:
    c, sim = run_sim(sc, 0, params=NO_SPREAD)
    target = c.field_cells[c.phase_wp[0, 0]]
    hours = float(c.ctg[0, c.phase_wp[0, 0], c.start_cell[0]])
    for k in range(1, limit + 1):
        sim.step()
        if sim.s.cell[0, 0] == target:
            return k, hours
    return limit + 1, hours


def test_road_march_faster_than_mountains_and_on_time() -> None:
    road_steps, road_hours = steps_to_arrive(march_scenario(False))
    mtn_steps, mtn_hours = steps_to_arrive(march_scenario(True), limit=200)
    assert road_hours < mtn_hours / 2
    assert road_steps < mtn_steps
    delay = 4  # 24 h command delay without liaison, no spread
    # the unit banks 6 h a step at full supply (slower only by fatigue, at most 30%)
    lo = delay + int(np.floor(road_hours / 6))
    assert lo <= road_steps <= delay + int(np.ceil(road_hours / 6 / 0.7)) + 2
    assert mtn_steps >= delay + int(np.floor(mtn_hours / 6))


def combat_scenario(att_men: float, def_men: float, **kw):
    d = base()
    d["units"] = [unit("att", "red", 27.5, 110.45, men=att_men), unit("def", "blue", 27.5, 110.55, men=def_men)]
    d["plans"] = [plan("red", phase("attack", ["att"], "attack", "east")),
                  plan("blue", phase("hold", ["def"], "hasty_defence"))]
    d.update(kw)
    return build(d)


def test_much_stronger_attacker_wins_and_defender_retreats() -> None:
    sc = combat_scenario(40000, 3000)
    c, sim = run_sim(sc, 0, params=NO_SPREAD)
    start_def = sim.s.cell[0, 1]
    for _ in range(24):
        sim.step()
    s = sim.s
    assert s.cell[0, 1] != start_def  # the defender was pushed back
    sim2 = Simulation(c, np.arange(1), 0, keep_series=1, engagement=MODEL)
    for _ in range(24):
        sim2.step()
    ev = sim2._events_frame()
    eng = ev[ev.kind == "engagement"]
    assert len(eng) > 0
    wins = eng.detail.str.startswith("attackers won").sum()
    # p_win ~ 1 for a day's fighting; each 6-hour step decides a quarter of it
    assert wins >= 3
    # the defender lost far more men than the attacker, relative to its size
    L = sim2.s.ledger[0]
    lost = L[:, K["killed"]] + L[:, K["wounded"]] + L[:, K["missing"]] + L[:, K["captured"]]
    assert lost[1] / 3000 > lost[0] / 40000


def test_combat_with_the_fitted_engagement_model() -> None:
    from xuefeng.engagement import EngagementModel

    model = EngagementModel.default()
    sc = combat_scenario(40000, 3000)
    c, sim = run_sim(sc, 24, params=NO_SPREAD, model=model)
    assert sim.s.cell[0, 1] != c.start_cell[1] or sim.s.arms[0, 1].sum() < 1500


def supply_scenario(depot_far: bool):
    d = base()
    d["units"] = [unit("u", "red", 27.5, 110.5)]
    d["plans"] = [plan("red", phase("hold", ["u"], "hasty_defence"))]
    loc = {"lat": 27.95, "lon": 110.95} if depot_far else {"lat": 27.5, "lon": 110.5}
    d["logistics"] = {"depots": [{"id": "dep", "name": "Depot", "side": "red", "location": loc,
                                  "stock_tons": 1e6 if not depot_far else 0.0, "provenance":
                                  {"source": "assumption", "note": "t"}}],
                      "transport": [{"side": "red", "mode": "foot", "capacity_tons_per_day": 1000,
                                     "provenance": {"source": "assumption", "note": "t"}}]}
    return build(d)


def test_unit_without_supply_falls_sick_faster() -> None:
    # 30 days: the basic load (a week at the reference need) runs out and the unit lives on
    # what it forages
    _, fed = run_sim(supply_scenario(False), 120)
    _, hungry = run_sim(supply_scenario(True), 120)
    assert hungry.s.supply[0, 0] < 0.3 < fed.s.supply[0, 0]
    assert hungry.s.fed[0, 0] < 0.3 and fed.s.fed[0, 0] == 1.0
    sick_fed = fed.s.ledger[0, 0, K["sick"]]
    sick_hungry = hungry.s.ledger[0, 0, K["sick"]]
    assert sick_hungry > 1.3 * sick_fed > 0
    assert hungry.s.arms[0, 0].sum() < fed.s.arms[0, 0].sum()


def air_scenario(with_air: bool):
    sc = combat_scenario(12000, 10000)
    d = sc.model_dump(mode="json")
    if with_air:
        d["air_groups"] = [{"id": "ag", "name": "Air", "side": "red", "aircraft": 100,
                            "sorties_per_aircraft_per_day": 2.0, "missions": ["air_superiority", "close_support"],
                            "provenance": {"source": "assumption", "note": "t"}}]
    return build(d)


def test_air_superiority_side_gets_close_support() -> None:
    from xuefeng.engine import air as air_mod

    c, sim = run_sim(air_scenario(True), 0)
    res = air_mod.fly(c, sim.s.aircraft, True, np.zeros(1, bool), np.zeros((1, 2), bool), np.full((1, 1), 0.5),
                      c.params.air, c.day_steps)
    red = c.side_ids.index("red")
    assert res.presence[0, red] > 0.3 and res.presence[0, 1 - red] == 0
    assert res.cas_sorties[0, red] > 0
    night = air_mod.fly(c, sim.s.aircraft, False, np.zeros(1, bool), np.zeros((1, 2), bool), np.full((1, 1), 0.5),
                        c.params.air, c.day_steps)
    assert night.cas_sorties.sum() == 0  # no sorties at night
    # same engagements, same seed: the blue defender loses more with red close support
    _, with_air = run_sim(air_scenario(True), 16, R=4)
    _, without = run_sim(air_scenario(False), 16, R=4)
    def_lost = lambda s: (s.ledger[:, 1, K["killed"]] + s.ledger[:, 1, K["wounded"]]).mean()  # noqa: E731
    assert def_lost(with_air.s) > def_lost(without.s)


def test_air_forces_contest_the_sky() -> None:
    """Each side holds the share of the sky its weighted sorties are of both sides': a side
    alone has 1 - exp(-W/k); against an equal air force each holds half of the filled sky; a
    small air force does not cancel a large one by filling its own sky (the old per-side rule
    gave two saturated air forces equal presence), and more sorties always add."""
    from xuefeng.engine.air import AirParams, presence

    p = AirParams()
    k = p.presence_sorties_per_day

    def day(as_red: float, as_blue: float) -> np.ndarray:
        m = np.zeros((1, 2, 6))
        m[0, 0, 0], m[0, 1, 0] = as_red, as_blue
        return presence(m, p)[0]

    alone = day(2 * k, 0.0)
    assert alone[0] == pytest.approx(1 - np.exp(-2.0)) and alone[1] == 0.0
    even = day(2 * k, 2 * k)
    assert even[0] == pytest.approx(even[1]) and even.sum() == pytest.approx(1 - np.exp(-4.0))
    big, small = day(20 * k, 5 * k)
    assert big - small == pytest.approx(0.6, abs=1e-3)  # 80% against 20% of a full sky
    assert day(21 * k, 5 * k)[0] > big  # more sorties add


def test_fuel_limited_group_gives_fuel_only_to_its_own_sides_airlift() -> None:
    from xuefeng.engine import air as air_mod

    d = combat_scenario(12000, 10000).model_dump(mode="json")
    d["air_groups"] = [{"id": "ag", "name": "Air", "side": "red", "aircraft": 100, "fuel_limited": True,
                        "sorties_per_aircraft_per_day": 2.0, "missions": ["air_superiority"],
                        "provenance": {"source": "assumption", "note": "t"}}]
    c, sim = run_sim(build(d), 0)
    red = c.side_ids.index("red")

    def sorties(waiting_side: int | None) -> float:
        waiting = np.zeros((1, 2), bool)
        if waiting_side is not None:
            waiting[0, waiting_side] = True
        res = air_mod.fly(c, sim.s.aircraft, True, np.zeros(1, bool), waiting, np.full((1, 1), 0.5),
                          c.params.air, c.day_steps)
        return float(res.presence[0, red])

    assert sorties(1 - red) == sorties(None)  # the enemy's airlift costs red no fuel
    assert sorties(red) < sorties(None)  # its own side's airlift does


def airlift_scenario(group: bool):
    d = base()
    d["units"] = [unit("home", "blue", 27.5, 110.1),
                  unit("flown", "blue", 27.5, 110.1, men=5000, arrival="1950-05-03T00:00:00", arrival_mode="air")]
    d["plans"] = [plan("blue", phase("hold", ["home"], "hasty_defence"))]
    if group:
        d["air_groups"] = [{"id": "lift", "name": "Lift", "side": "blue", "aircraft": 100,
                            "sorties_per_aircraft_per_day": 1.0, "missions": ["airlift"],
                            "provenance": {"source": "assumption", "note": "t"}}]
    return build(d)


@pytest.mark.parametrize("group", [True, False])
def test_air_arrival_appears_at_its_place_on_its_date(group: bool) -> None:
    sc = airlift_scenario(group)
    c, sim = run_sim(sc, 0)
    arrival_step = int(c.arrival_step[1])
    assert arrival_step == 8  # 2 days of 6-hour steps
    for _ in range(arrival_step - 1):
        sim.step()
        assert not sim.s.present[0, 1]
    for _ in range(4):  # within the arrival day (daylight steps for an airlift group)
        sim.step()
    assert sim.s.present[0, 1]
    assert sim.s.cell[0, 1] == c.start_cell[1] == c.start_cell[0]
    for _ in range(60):
        sim.step()
    assert sim.s.arrived_step[0, 1] >= arrival_step
    assert sim.s.arms[0, 1].sum() == pytest.approx(5000, rel=0.05)


def delay_scenario():
    d = base()
    d["units"] = [unit("r", "red", 27.5, 110.1), unit("b", "blue", 27.9, 110.9)]
    d["plans"] = [plan("red", phase("r-go", ["r"], "attack", "north", start="1950-05-02T00:00:00")),
                  plan("blue", phase("b-go", ["b"], "attack", "north", start="1950-05-02T00:00:00"))]
    return build(d)


def test_command_delay_delays_phase_start_and_liaison_shortens_it() -> None:
    cfg = EngineConfig(sides={"blue": SideConfig(liaison_system=True)})
    c, sim = run_sim(delay_scenario(), 0, params=NO_SPREAD, config=cfg)
    sim.keep = 0
    for _ in range(20):
        sim.step()
    ev = sim._events_frame()
    starts = ev[ev.kind == "phase_start"].set_index("detail").time
    issued = ev[ev.kind == "phase_issued"].set_index("detail").time
    hours = lambda pid: (starts[pid] - issued[pid]) / np.timedelta64(1, "h")  # noqa: E731
    assert str(issued["r-go"])[:10] == "1950-05-02"
    assert hours("r-go") == 24.0  # base delay, no liaison
    assert hours("b-go") == pytest.approx(12.0)  # 24 h * 0.4 = 9.6 h -> 2 steps
    assert hours("b-go") < hours("r-go")


def guerrilla_scenario():
    d = base()
    # red starts far west, blue holds the east; red advances deep into blue's home territory
    d["units"] = [unit("r", "red", 27.5, 110.05), unit("b", "blue", 27.9, 110.95)]
    d["plans"] = [plan("red", phase("deep", ["r"], "attack", "east"))]
    d["logistics"] = {"depots": [{"id": "dep", "name": "Depot", "side": "red", "location": {"lat": 27.5, "lon": 110.05},
                                  "stock_tons": 1e6, "provenance": {"source": "assumption", "note": "t"}}],
                      "transport": [{"side": "red", "mode": "foot", "capacity_tons_per_day": 1000,
                                     "provenance": {"source": "assumption", "note": "t"}}]}
    return build(d)


def test_guerrillas_reduce_supply_throughput() -> None:
    from xuefeng.engine import guerrillas as g

    sc = guerrilla_scenario()
    quiet = EngineConfig()
    active = EngineConfig(sides={"blue": SideConfig(guerrilla_intensity=1.0)})
    _, a = run_sim(sc, 40, config=quiet)
    c, b = run_sim(sc, 40, config=active)
    assert b.s.cell[0, 0] == a.s.cell[0, 0]  # same march
    e = g.exposure(c, b.s, c.params.guerrillas)
    assert e[0, 0] > 0 and e[0, 1] == 0  # only the intruder in the partisans' home is exposed
    assert b.s.supply[0, 0] < a.s.supply[0, 0]
    assert b.s.ledger[0, 0, K["killed"]] > a.s.ledger[0, 0, K["killed"]]


def test_civilians_hurt_only_in_populated_cells_with_combat() -> None:
    # the engine counts no civilians unless a scenario gives its rates (civilians.py)
    rates = EngineParams().with_overrides({"civilians": {"combat_rate": 0.018, "occupation_rate_per_day": 0.005}})

    def civ(pop: int | None, fight: bool) -> float:
        sc = combat_scenario(20000, 8000)
        d = sc.model_dump(mode="json")
        # a town where the defender stands
        d["theater"]["towns"].append({"id": "mid", "name": "Mid", "location": {"lat": 27.5, "lon": 110.55},
                                      "population": pop, "provenance": {"source": "assumption", "note": "t"}})
        # red is the home side nowhere near: give blue's home to the whole map by putting red far off
        if not fight:
            d["plans"] = [plan("blue", phase("hold", ["def"], "hasty_defence"))]
        _, sim = run_sim(build(d), 24, params=rates)
        return float(sim.s.civilians[0])

    with_pop_fight = civ(50000, True)
    assert with_pop_fight > 0
    assert civ(None, True) == 0.0
    assert civ(50000, False) == 0.0


def test_free_unit_envelops_an_enemy_held_in_contact() -> None:
    d = base()
    # red attacks blue's first unit; blue's second unit stands ~12 km north of red, out of contact
    d["units"] = [unit("red", "red", 27.5, 110.45, men=9000), unit("holder", "blue", 27.5, 110.55, men=9000),
                  unit("flank", "blue", 27.61, 110.45, men=9000)]
    d["plans"] = [plan("red", phase("attack", ["red"], "attack", "east")),
                  plan("blue", phase("hold", ["holder", "flank"], "hasty_defence"))]
    sc = build(d)
    # red presses its attack at any odds (no halt, no call-off): outnumbered two to one it would
    # otherwise halt or call its offensive off after its first repulse, and nobody would be held
    # in contact
    c, sim = run_sim(sc, 0, params=NO_SPREAD.with_overrides({"ai": {"retreat_ratio": 0.0, "halt_ratio": 0.0}}))
    start = sim.s.cell[0, 2]
    chased = moved = struck = False
    for _ in range(16):
        sim.step()
        s = sim.s
        chasing = bool(s.chase[0, 2] >= 0)
        chased |= chasing
        moved |= bool(s.cell[0, 2] != start)
        # while it envelops, the flank unit stands next to (or on) the red unit, attacking
        struck |= chasing and bool(c.adj[s.cell[0, 2], s.cell[0, 0]]) and int(s.posture[0, 2]) == ATTACK
    assert chased
    assert moved
    assert struck


def test_a_motorised_unit_out_of_supply_slows_to_foot_pace() -> None:
    """Fuel: with nothing delivered a motorised column keeps low_supply_speed_floor_motor of its
    speed (its vehicles stop), a column on foot low_supply_speed_floor."""
    from xuefeng.engine.movement import march_speed

    sc = supply_scenario(True)
    out = {}
    for mode in ("foot", "motor"):
        c, sim = run_sim(sc, 0, config=EngineConfig(sides={"red": SideConfig(march_mode=mode)}))
        s = sim._s
        s.fatigue[:] = 0.0
        s.fed[:] = 1.0
        full = march_speed(c, s, c.params.movement)[0, 0]
        s.fed[:] = 0.0
        out[mode] = march_speed(c, s, c.params.movement)[0, 0] / full
    p = c.params.movement
    assert out["foot"] == pytest.approx(p.low_supply_speed_floor)
    assert out["motor"] == pytest.approx(p.low_supply_speed_floor_motor)
    assert out["motor"] < out["foot"]


def _bypass_run(ratio: float) -> tuple[bool, bool]:
    """(the motorised attacker got east of the defender, the foot attacker did) within four days
    (the attack order takes effect after the command delay)."""
    d = base()
    d["units"] = [unit("inf", "red", 27.5, 110.40, men=20000), unit("pz", "red", 27.5, 110.40, men=8000,
                                                                     march_mode="motor"),
                  unit("def", "blue", 27.5, 110.55, men=8000)]
    d["plans"] = [plan("red", phase("attack", ["inf", "pz"], "attack", "east")),
                  plan("blue", phase("hold", ["def"], "hasty_defence"))]
    params = NO_SPREAD.with_overrides({"ai": {"bypass_ratio": ratio}})
    c, sim = run_sim(build(d), 0, params=params)
    past = {"pz": False, "inf": False}
    for _ in range(16):
        sim.step()
        for name, i in (("pz", 1), ("inf", 0)):
            past[name] |= bool(c.x_km[sim.s.cell[0, i]] > c.x_km[sim.s.cell[0, 2]] + 1.0)
    return past["pz"], past["inf"]


def test_a_motorised_attacker_bypasses_an_enemy_the_infantry_holds() -> None:
    """Infantry holding a defender by 2.5:1 lets the motorised unit beside it march on past the
    defender (bypass_ratio 2); the infantry stays in the fight; with bypass_ratio 0 neither gets
    past the defender while it holds."""
    pz, inf = _bypass_run(2.0)
    assert pz and not inf
    assert _bypass_run(0.0) == (False, False)
