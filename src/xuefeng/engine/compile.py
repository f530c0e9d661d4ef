"""Compile a Scenario + HexMap into flat arrays the step loop reads (DESIGN.md §2b).

Nothing here runs per step: manoeuvre units (divisions, brigades and smaller
units that have a location or an arrival; subordinates without one fold into
them; HQ echelons are not on the map), phases and their routes, cost-to-go
fields per (transport mode, target), next-step tables, depots, air groups,
territory, population and the attack line used for `advance_km`.

Scenario-level engine settings (which side has a liaison system, guerrillas,
disease factors, climate, parameter overrides) come from the typed
`Scenario.engine_settings` (`scenario.schema.EngineSettings`) — the scenario
loader reads them from an optional `engine.yaml` beside the scenario file, so
the engine never parses files — into `EngineConfig`; parameter overrides are
checked against the engine's parameters here (`check_engine_settings`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from xuefeng.engine.ai import TRIGGERS, AIParams
from xuefeng.engine.air import MISSIONS, AirParams
from xuefeng.engine.bridges import BridgeParams, zone_masks
from xuefeng.engine.civilians import CivilianParams
from xuefeng.engine.combat import CombatParams
from xuefeng.engine.command import CommandParams
from xuefeng.engine.fuel import FuelParams, edge_fuel_km
from xuefeng.engine.guerrillas import GuerrillaParams
from xuefeng.engine.medical import MedicalParams
from xuefeng.engine.movement import MovementModelParams
from xuefeng.engine.supply import SupplyParams, road_capacity
from xuefeng.scenario.schema import Echelon, Posture, Scenario

MANOEUVRE_ECHELONS = {Echelon.division, Echelon.brigade, Echelon.regiment, Echelon.battalion, Echelon.group}
POSTURE_NAMES: tuple[str, ...] = tuple(p.value for p in Posture)
MODE_NAMES: tuple[str, ...] = ("foot", "motor")
ARMS: tuple[str, ...] = ("infantry", "artillery", "armor", "support")
QUALITY_FIELDS: tuple[str, ...] = ("leadership", "training", "morale", "logistics", "intelligence",
                                   "technology", "initiative")


@dataclass(frozen=True)
class EngineParams:
    """All sub-model parameters, one frozen dataclass per sub-model (each documented in its module)."""

    movement: MovementModelParams = field(default_factory=MovementModelParams)
    combat: CombatParams = field(default_factory=CombatParams)
    air: AirParams = field(default_factory=AirParams)
    supply: SupplyParams = field(default_factory=SupplyParams)
    medical: MedicalParams = field(default_factory=MedicalParams)
    command: CommandParams = field(default_factory=CommandParams)
    guerrillas: GuerrillaParams = field(default_factory=GuerrillaParams)
    civilians: CivilianParams = field(default_factory=CivilianParams)
    ai: AIParams = field(default_factory=AIParams)
    fuel: FuelParams = field(default_factory=FuelParams)
    bridges: BridgeParams = field(default_factory=BridgeParams)

    def with_overrides(self, overrides: dict[str, dict[str, Any]]) -> EngineParams:
        """Copy with {sub_model: {field: value}} replaced; unknown names raise ValueError."""
        out = self
        for sub, vals in (overrides or {}).items():
            if not hasattr(out, sub):
                raise ValueError(f"engine parameters: unknown sub-model '{sub}' "
                                 f"(known: {', '.join(f.name for f in dataclasses.fields(self))})")
            cur = getattr(out, sub)
            names = {f.name for f in dataclasses.fields(cur)}
            bad = set(vals) - names
            if bad:
                raise ValueError(f"engine parameters: unknown {sub} field(s) {sorted(bad)} (known: {sorted(names)})")
            fixed = {k: _override_value(sub, k, getattr(cur, k), v) for k, v in vals.items()}
            out = dataclasses.replace(out, **{sub: dataclasses.replace(cur, **fixed)})
        if out.air.day_start_hour >= out.air.day_end_hour:
            raise ValueError(f"engine parameters: air.day_start_hour ({out.air.day_start_hour}) must be before "
                             f"air.day_end_hour ({out.air.day_end_hour})")
        return out


#: Largest value any engine parameter may take (a bound against absurd input such as 1e300,
#: far above every meaningful value: the largest default is a few thousand).
MAX_PARAMETER = 1e6
#: Parameters that are shares or probabilities, 0..1, besides every `*_fraction` (not `*_per_*`)
#: and `*_floor`.
UNIT_INTERVAL: frozenset[tuple[str, str]] = frozenset({
    ("movement", "day_march_denial"), ("air", "rain_sortie_factor"), ("air", "airlift_rain_factor"),
    ("air", "fuel_factor"), ("air", "max_interdiction"), ("combat", "morale_break"),
    ("combat", "morale_defeat"), ("combat", "morale_victory"), ("combat", "momentum_gain"),
    ("combat", "momentum_keep_per_day"), ("ai", "halt_supply"), ("ai", "resume_supply"),
    ("ai", "counter_supply"), ("ai", "retreat_supply"), ("ai", "retreat_strength"), ("ai", "retreat_morale"),
    ("ai", "rally_strength"), ("ai", "recover_morale"), ("ai", "morale_recovery_supply"),
    ("supply", "start_supply"), ("supply", "ration_stock"),
})
#: Parameters that are hours of the day, 0..24.
HOUR_OF_DAY: frozenset[tuple[str, str]] = frozenset({("air", "day_start_hour"), ("air", "day_end_hour")})


def parameter_range(sub: str, name: str) -> tuple[float, float]:
    """The documented range of an engine parameter: shares 0..1, hours of the day 0..24,
    everything else 0..MAX_PARAMETER (no engine parameter is negative)."""
    if (sub, name) in HOUR_OF_DAY:
        return 0.0, 24.0
    if (sub, name) in UNIT_INTERVAL or name.endswith("_floor") or (name.endswith("_fraction") and "_per_" not in name):
        return 0.0, 1.0
    return 0.0, MAX_PARAMETER


def _override_value(sub: str, name: str, default: Any, value: Any) -> Any:
    """`value` as the kind of parameter `default` is (bool, int, float, tuple of numbers, each
    finite and in `parameter_range`), or ValueError naming the parameter and its range. The
    one place every override (engine.yaml, --set, what-ifs, sensitivity samples) is checked."""
    lo, hi = parameter_range(sub, name)

    def number(v: Any) -> bool:
        return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and lo <= v <= hi

    where = f"engine parameters: {sub}.{name}"
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ValueError(f"{where}: expected true or false, got {value!r}")
        return value
    if isinstance(default, int):
        if not (number(value) and float(value).is_integer()):
            raise ValueError(f"{where}: expected a whole number from {lo:g} to {hi:g}, got {value!r}")
        return int(value)
    if isinstance(default, float):
        if not number(value):
            raise ValueError(f"{where}: expected a number from {lo:g} to {hi:g}, got {value!r}")
        return float(value)
    if isinstance(default, tuple):
        if not (isinstance(value, (list, tuple)) and len(value) == len(default) and all(map(number, value))):
            raise ValueError(f"{where}: expected a list of {len(default)} numbers from {lo:g} to {hi:g}, got {value!r}")
        return tuple(float(v) for v in value)
    return value


@dataclass(frozen=True)
class SideConfig:
    """Per-side engine settings (engine.yaml `sides.<id>`)."""

    liaison_system: bool = False
    """The side has a liaison/advisory system (shorter command delay, better close support)."""
    guerrilla_intensity: float = 0.0
    """Partisan activity of this side in its home territory (0 none, 1 strong)."""
    disease_factor: float = 1.0
    """Multiplier on disease incidence (hygiene, medical service, acclimatisation)."""
    capture_factor: float = 1.0
    """Multiplier on the captured share of a beaten unit (willingness to surrender)."""
    march_mode: str = "foot"
    """Transport mode the side's units march in: foot or motor."""
    supply_mode: str | None = None
    """Supply transport mode (foot or motor); default: the mode of the side's largest transport capacity."""
    doctrine: dict = field(default_factory=dict)
    """This side's values of `ai` parameters (ai.SIDE_DOCTRINE fields), over the engine's."""
    opening_surprise: float = 0.0
    """Surprise (CDB90's SURPA / 3, 0..1) this side's attacks achieve when its offensive opens
    (combat.opening_surprise); 0: none (a scenario states it from its sources)."""


#: Probability of a rain/low-cloud day in a month the scenario's climate does not give
#: (assumption: a generic temperate-monsoon spring; scenarios should give their own).
DEFAULT_RAIN_PROBABILITY = 0.3
#: Disease season factor in a month the scenario's climate does not give (1 = the medical base rate).
DEFAULT_DISEASE_SEASON = 1.0


@dataclass(frozen=True)
class EngineConfig:
    """Scenario-level engine settings (engine.yaml beside scenario.yaml)."""

    sides: dict[str, SideConfig] = field(default_factory=dict)
    rain_probability_by_month: dict[int, float] = field(default_factory=dict)
    """Probability of a rain/low-cloud day by month (default 0.3)."""
    disease_season_by_month: dict[int, float] = field(default_factory=dict)
    """Disease incidence factor by month (default 1)."""
    rural_density_per_km2: float = 0.0
    """Rural people per km2 counted for civilian casualties (default none)."""
    params: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Overrides of sub-model parameters, {sub_model: {field: value}}."""

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> EngineConfig:
        d = dict(d or {})
        d.pop("provenance", None)
        d.pop("notes", None)
        sides = {}
        side_fields = {f.name for f in dataclasses.fields(SideConfig)}
        for sid, sv in (d.pop("sides", None) or {}).items():
            sv = {k: v for k, v in (sv or {}).items() if k not in ("provenance", "note", "notes")}
            bad = set(sv) - side_fields
            if bad:
                raise ValueError(f"engine.yaml: sides.{sid}: unknown field(s) {sorted(bad)} (known: {sorted(side_fields)})")
            sides[sid] = SideConfig(**sv)
        climate = d.pop("climate", None) or {}
        civ = d.pop("civilians", None) or {}
        params = d.pop("params", None) or {}
        if d:
            raise ValueError(f"engine.yaml: unknown top-level key(s) {sorted(d)} "
                             "(known: sides, climate, civilians, params, provenance, notes)")
        return cls(
            sides=sides,
            rain_probability_by_month={int(k): float(v) for k, v in
                                       (climate.get("rain_probability_by_month") or {}).items()},
            disease_season_by_month={int(k): float(v) for k, v in
                                     (climate.get("disease_season_by_month") or {}).items()},
            rural_density_per_km2=float(civ.get("rural_density_per_km2", 0.0)),
            params={k: dict(v or {}) for k, v in params.items()},
        )


class EngineSettingsError(ValueError):
    """Engine settings of a scenario that the engine cannot use (a parameter override naming no
    parameter, or a value of the wrong kind); the message names the setting."""


def find_engine_config(scenario: Scenario) -> EngineConfig:
    """The scenario's engine settings (its `engine.yaml`, typed by the scenario schema), or defaults."""
    settings = scenario.engine_settings
    data = settings.model_dump(exclude_none=True) if hasattr(settings, "model_dump") else settings
    try:
        return EngineConfig.from_dict(data)
    except (TypeError, ValueError) as exc:
        raise EngineSettingsError(f"engine settings of scenario '{scenario.meta.name}' (engine.yaml): {exc}") from None


def _scenario_params(scenario: Scenario, cfg: EngineConfig) -> EngineParams:
    try:
        return EngineParams().with_overrides(cfg.params)
    except (TypeError, ValueError) as exc:
        raise EngineSettingsError(f"engine settings of scenario '{scenario.meta.name}' (engine.yaml): "
                                  f"params: {exc}") from None


def side_doctrines(cfg: EngineConfig, side_ids: tuple[str, ...], p: EngineParams) -> dict[str, np.ndarray]:
    """Each doctrine parameter (ai.SIDE_DOCTRINE) as an array over the sides: the engine's value
    unless engine.yaml's `sides.<side>.doctrine` gives the side its own (checked like every
    parameter override: EngineParams.with_overrides)."""
    from xuefeng.engine.ai import SIDE_DOCTRINE

    per_side = []
    for sid in side_ids:
        doc = dict(cfg.sides.get(sid, SideConfig()).doctrine or {})
        bad = sorted(set(doc) - set(SIDE_DOCTRINE))
        if bad:
            raise ValueError(f"engine.yaml: sides.{sid}.doctrine: {bad} cannot differ by side "
                             f"(per-side doctrine parameters: {', '.join(SIDE_DOCTRINE)})")
        per_side.append(p.with_overrides({"ai": doc}).ai)
    return {name: np.array([getattr(a, name) for a in per_side], float) for name in SIDE_DOCTRINE}


def check_engine_settings(scenario: Scenario) -> None:
    """Raise EngineSettingsError if the scenario's engine settings, parameter overrides included,
    would not compile (what `xuefeng validate` checks beyond the schema)."""
    cfg = find_engine_config(scenario)
    p = _scenario_params(scenario, cfg)
    try:
        side_doctrines(cfg, tuple(s.id for s in scenario.meta.sides), p)
    except ValueError as exc:
        raise EngineSettingsError(f"engine settings of scenario '{scenario.meta.name}' (engine.yaml): {exc}") from None


#: Elevation (m) assumed by terrain class where the map has none (flat, rolling,
#: hills, mountains, forest, marsh, urban, water). assumption: typical of central/west Hunan.
DEFAULT_ELEVATION_M = np.array([100.0, 250.0, 500.0, 1000.0, 400.0, 60.0, 150.0, 50.0])


@dataclass(frozen=True, eq=False)
class Compiled:
    """Flat arrays for the step loop. Shapes: C cells, U units, S sides, P phases,
    F fields, M modes, D depots, G air groups."""

    name: str
    params: EngineParams
    config: EngineConfig
    start: dt.datetime
    step_hours: int
    n_steps: int
    step_times: np.ndarray  # (n_steps+1,) datetime64[s]
    step_month: np.ndarray  # (n_steps+1,) int
    step_day: np.ndarray  # (n_steps+1,) bool daylight
    new_day: np.ndarray  # (n_steps+1,) bool first step of a day
    step_weather: np.ndarray  # (n_steps+1,) int8: -1 drawn from the climate, else WEATHER_CODES
    day_steps: int
    # sides
    side_ids: tuple[str, ...]
    n_sides: int
    side_doctrine: dict[str, np.ndarray]  # ai.SIDE_DOCTRINE name -> (S,) value per side
    side_onehot: np.ndarray  # (U,S)
    enemy_side_matrix: np.ndarray  # (S,S) 1 where t is an enemy of s  [s,t]
    side_liaison: np.ndarray  # (S,) bool
    side_surprise: np.ndarray  # (S,) opening surprise of each side's attacks (SideConfig.opening_surprise)
    side_guerrilla: np.ndarray  # (S,)
    side_disease: np.ndarray  # (S,)
    side_capture: np.ndarray  # (S,)
    side_capacity: np.ndarray  # (S,) tons/day (inf: not modelled)
    side_supply_motor: np.ndarray  # (S,) bool
    side_has_depots: np.ndarray  # (S,) bool
    cas_liaison_mult: float
    # map
    n_cells: int
    lat: np.ndarray
    lon: np.ndarray
    nbr: np.ndarray  # (C,6) (-1 -> self for safe gathers)
    nbr_self: np.ndarray  # (C,7) cell + neighbours (-2 padding, never equal to a cell)
    terrain: np.ndarray  # (C,) int
    terrain_eng: np.ndarray  # (C,) engagement TERRAINS index
    elev: np.ndarray  # (C,)
    high_ground: np.ndarray  # (8,) bool
    terrain_exertion: np.ndarray  # (8,)
    edge_hours: np.ndarray  # (2 weather, M, C, 6)
    edge_fuel_km: np.ndarray  # (C, 6) road km of fuel a hop costs (fuel.edge_fuel_km)
    population: np.ndarray  # (C,)
    home_side: np.ndarray  # (C,) int
    depth_km: np.ndarray  # (S,C) km from the side's nearest start position
    proj_km: np.ndarray  # (C,) position along the attack line
    # fields
    field_cells: np.ndarray  # (F,)
    ctg: np.ndarray  # (M,F,C) float32 hours
    next_k: np.ndarray  # (M,F,C) int8
    retreat_next: np.ndarray  # (S,C) next cell toward the side's rear
    rear_ctg: np.ndarray  # (S,C) foot hours to the side's rear (depots); 0 where it has none
    x_km: np.ndarray  # (C,) local planar coordinates, km
    cell_km: float  # mean distance between neighbouring cell centres, km
    y_km: np.ndarray  # (C,)
    edge_ok: np.ndarray  # (C,6) bool: passable on foot
    adj: np.ndarray | None  # (C,C) bool: same or neighbouring cell (None for very large maps)
    # units
    n_units: int
    unit_ids: tuple[str, ...]
    unit_names: tuple[str, ...]
    side: np.ndarray  # (U,)
    enemy: np.ndarray  # (U,U) bool
    mode: np.ndarray  # (U,)
    arms0: np.ndarray  # (U,4)
    men0: np.ndarray  # (U,)
    guns0: np.ndarray
    mortars0: np.ndarray
    tanks0: np.ndarray
    trucks0: np.ndarray  # (U,) trucks (fuel.py)
    quality: np.ndarray  # (U,7)
    log_quality: np.ndarray  # (U,7) ln quality, intelligence raised for a side with liaison (combat.py)
    start_cell: np.ndarray  # (U,)
    home_field: np.ndarray  # (U,)
    place_ids: tuple[str, ...]  # towns and airfields, the objectives an order may name
    place_field: np.ndarray  # (places,) field index of each place
    arrival_step: np.ndarray  # (U,) 0 = at start
    lift_step: np.ndarray  # (U,) step an air arrival's airlift begins (earliest airlift event naming it or an ancestor)
    air_arrival: np.ndarray  # (U,) bool
    # phases
    n_phases: int
    phase_ids: tuple[str, ...]
    phase_side: np.ndarray  # (P,)
    phase_units: np.ndarray  # (P,U) bool
    phase_posture: np.ndarray  # (P,)
    phase_start_step: np.ndarray  # (P,) big = none
    phase_trigger: np.ndarray  # (P,) -1 none / index into TRIGGERS
    phase_retreat: np.ndarray  # (P,) bool: the side's retreat plan (withdrawal, no start, no trigger)
    phase_wp: np.ndarray  # (P,W) field index
    phase_wp_cell: np.ndarray  # (P,W) cell
    phase_nwp: np.ndarray  # (P,)
    phase_attack: np.ndarray  # (P,) bool
    phase_obj_cell: np.ndarray  # (P,) -1 none
    phase_obj_dist: np.ndarray  # (P,C) km from objective (or 0)
    # depots
    n_depots: int
    depot_side: np.ndarray
    depot_cell: np.ndarray
    depot_stock0: np.ndarray
    # bridges (bridges.py): the scenario's listed bridges
    n_bridges: int
    bridge_ids: tuple[str, ...]
    bridge_names: tuple[str, ...]
    bridge_edges: np.ndarray  # (B,2,2) (cell, slot) of the bridge edge, both directions
    bridge_ends: np.ndarray  # (B,2) the cells at either end
    bridge_zone: np.ndarray  # (B,C) bool: cells within reach of the bridge
    bridge_at: np.ndarray  # (C,6) int: the bridge on each edge (-1 none)
    bridge_down_hours: np.ndarray  # (2 weather, M, B) hours across with the bridge down
    bridge_guard: np.ndarray  # (B,) side whose engineers stand by (-1 none)
    bridge_p: np.ndarray  # (B,) chance of a demolition
    bridge_rebuild_h: np.ndarray  # (B,) engineer hours to rebuild
    bridge_blown0: np.ndarray  # (B,) bool: down at the start
    depot_fuel0: np.ndarray  # (D,) fuel tons (0 where not given)
    fuel_modelled: bool  # any depot gives fuel_tons: fuel is its own supply class (fuel.py)
    depot_ctg: np.ndarray  # (D,C)
    depot_next: np.ndarray  # (D,C) next cell toward each depot down its depot_ctg (the depot's cell: itself)
    road_capacity: np.ndarray  # (C,) vehicles a day the cell's roads carry (supply.road_capacity)
    # air
    n_groups: int
    group_side: np.ndarray
    group_side_onehot: np.ndarray  # (G,S)
    group_aircraft: np.ndarray
    group_rate: np.ndarray
    group_missions: np.ndarray  # (G,5)
    group_fuel_limited: np.ndarray
    # victory
    victory_cell: int  # -1 none
    victory_holder: int
    victory_attacker: int
    victory_by_step: int
    victory_threat_km: float  # 0: no threat condition
    victory_threat_hours: float
    victory_dist_km: np.ndarray  # (C,) km from each cell to the victory objective (zeros if none)
    # the scenario's further hold_objective conditions (victory[1:]): lost or held, not ending the campaign
    objective_ids: tuple[str, ...]
    objective_cell: np.ndarray  # (K,)
    objective_holder: np.ndarray  # (K,) side
    objective_by_step: np.ndarray  # (K,)
    objective_threat_km: np.ndarray  # (K,) 0: no threat condition
    objective_threat_hours: np.ndarray  # (K,)
    objective_dist_km: np.ndarray  # (K,C)
    attack_side: int  # side whose advance is measured (-1 none)
    line_km: float
    # rng layout
    rng_size: int
    rng_slices: dict[str, slice]


def _local_xy(lat: np.ndarray, lon: np.ndarray, lat0: float, lon0: float) -> tuple[np.ndarray, np.ndarray]:
    ky = 111.2
    kx = 111.2 * np.cos(np.radians(lat0))
    return (np.asarray(lon) - lon0) * kx, (np.asarray(lat) - lat0) * ky


#: Recorded weather conditions (scenario `weather`) as codes in `Compiled.step_weather`.
WEATHER_CODES: dict[str, int] = {"clear": 0, "overcast": 1, "rain": 2}


def compile_scenario(scenario: Scenario, hexmap: Any = None, params: EngineParams | None = None,
                     config: EngineConfig | None = None, until: dt.datetime | None = None,
                     engagement_terrains: tuple[str, ...] | None = None) -> Compiled:
    """Compile once; see module doc. `config` defaults to the scenario's engine.yaml."""
    from xuefeng.geo import TERRAIN_CLASSES, build_hexmap, cost_to_go_fields, haversine_km, layered_cost_to_go

    sc = scenario
    cfg = config if config is not None else find_engine_config(sc)
    p = params if params is not None else _scenario_params(sc, cfg)
    hm = hexmap if hexmap is not None else build_hexmap(sc.theater)
    C = hm.n_cells
    step_h = sc.meta.time_step_hours
    end = sc.meta.end if until is None else min(sc.meta.end, until)
    n_steps = int((end - sc.meta.start).total_seconds() // (3600 * step_h))
    start64 = np.datetime64(sc.meta.start.replace(tzinfo=None), "s")
    times = start64 + np.arange(n_steps + 1) * np.timedelta64(step_h * 3600, "s")
    hours = (sc.meta.start.hour + np.arange(n_steps + 1) * step_h) % 24
    months = np.array([int(str(t)[5:7]) for t in times.astype("datetime64[D]")])
    day = (hours >= p.air.day_start_hour) & (hours < p.air.day_end_hour)
    day_steps = max(1, int(sum(1 for h in range(0, 24, step_h) if p.air.day_start_hour <= h < p.air.day_end_hour)))
    new_day = hours < step_h

    side_ids = tuple(s.id for s in sc.meta.sides)
    S = len(side_ids)
    sidx = {s: i for i, s in enumerate(side_ids)}
    scfg = [cfg.sides.get(s, SideConfig()) for s in side_ids]
    for s in cfg.sides:
        if s not in sidx:
            raise ValueError(f"engine.yaml: unknown side '{s}' (sides: {', '.join(side_ids)})")
    for sc_ in scfg:
        if sc_.march_mode not in MODE_NAMES or (sc_.supply_mode not in (None, *MODE_NAMES)):
            raise ValueError(f"engine.yaml: march_mode/supply_mode must be one of {MODE_NAMES}")
    doctrine = side_doctrines(cfg, side_ids, p)

    # ---------------------------------------------------------------- units
    by_id = {u.id: u for u in sc.units}
    man = [u for u in sc.units if u.echelon in MANOEUVRE_ECHELONS and u.committed
           and (u.location is not None or u.arrival is not None)]
    man_ids = {u.id for u in man}

    def manoeuvre_ancestor(uid: str) -> str | None:
        cur: str | None = uid
        while cur is not None:
            if cur in man_ids:
                return cur
            cur = by_id[cur].parent
        return None

    U = len(man)
    if U == 0:
        raise ValueError("scenario has no manoeuvre units (divisions/brigades with a location or arrival)")
    uix = {u.id: i for i, u in enumerate(man)}
    arms0 = np.zeros((U, 4)); guns0 = np.zeros(U); mortars0 = np.zeros(U); tanks0 = np.zeros(U)
    trucks0 = np.zeros(U)
    for u in sc.units:
        if not u.committed:
            continue
        a = manoeuvre_ancestor(u.id)
        if a is None:
            continue
        # do not fold in a non-committed branch or another manoeuvre unit's men
        i = uix[a]
        if u.id != a and u.id in man_ids:
            continue
        arms0[i] += [u.strength.infantry, u.strength.artillery, u.strength.armor, u.strength.support]
        guns0[i] += u.equipment.artillery_pieces
        mortars0[i] += u.equipment.mortars
        tanks0[i] += u.equipment.tanks
        trucks0[i] += u.equipment.trucks
    men0 = np.maximum(arms0.sum(1), 1.0)
    arms0 = np.where(arms0.sum(1, keepdims=True) > 0, arms0, np.array([[1.0, 0, 0, 0]]))
    quality = np.array([[getattr(u.quality, q) for q in QUALITY_FIELDS] for u in man])
    side = np.array([sidx[u.side] for u in man])
    mode = np.array([MODE_NAMES.index(u.march_mode or scfg[s].march_mode) for u, s in zip(man, side)])

    # arrival places: own location, else an event naming the unit, else the nearest ancestor's location
    ev_loc: dict[str, str] = {}
    for e in sorted(sc.events, key=lambda e: e.date):
        if e.location:
            for uid in e.units:
                ev_loc.setdefault(uid, e.location)
    start_lat = np.zeros(U); start_lon = np.zeros(U)
    for i, u in enumerate(man):
        loc = u.location
        if loc is None and u.id in ev_loc:
            loc = sc.place(ev_loc[u.id])
        cur = u.parent
        while loc is None and cur is not None:
            loc = by_id[cur].location
            cur = by_id[cur].parent
        if loc is None:
            raise ValueError(f"unit '{u.id}' has an arrival but no location, no event location and no "
                             "located parent: give it a location")
        start_lat[i], start_lon[i] = loc.lat, loc.lon
    start_cell = np.asarray(hm.cells_of(start_lat, start_lon), dtype=np.int64)
    if np.any(start_cell < 0):
        bad = [man[i].id for i in np.nonzero(start_cell < 0)[0]]
        raise ValueError(f"units {bad} start outside the map")
    arrival_step = np.array([0 if u.arrival is None or u.arrival <= sc.meta.start else
                             int(np.ceil((u.arrival - sc.meta.start).total_seconds() / (3600 * step_h)))
                             for u in man])
    lift_start = []
    for u in man:
        chain, cur = set(), u.id
        while cur is not None:
            chain.add(cur)
            cur = by_id[cur].parent
        dates = [e.date for e in sc.events if e.kind == "airlift" and chain & set(e.units)]
        first = min([*dates, u.arrival]) if (u.arrival is not None and u.arrival_mode.value == "air") else u.arrival
        lift_start.append(0 if first is None or first <= sc.meta.start else
                          int(np.ceil((first - sc.meta.start).total_seconds() / (3600 * step_h))))
    air_arrival = np.array([u.arrival is not None and u.arrival > sc.meta.start and u.arrival_mode.value == "air"
                            for u in man])

    # ---------------------------------------------------------------- map
    nb = np.asarray(hm.neighbours, dtype=np.int64)
    nbr = np.where(nb >= 0, nb, np.arange(C)[:, None])
    nbr_self = np.concatenate([np.arange(C)[:, None], np.where(nb >= 0, nb, -2)], axis=1)
    terrain = np.asarray(hm.terrain, dtype=np.int64)
    tnames = tuple(TERRAIN_CLASSES)
    eng_t = engagement_terrains or tnames
    terrain_eng = np.array([eng_t.index(tnames[t]) if tnames[t] in eng_t else 0 for t in terrain])
    elev = np.asarray(hm.elevation_m, dtype=np.float64)
    elev = np.where(np.isnan(elev), DEFAULT_ELEVATION_M[terrain], elev)
    high_ground = np.array([t in ("hills", "mountains") for t in tnames])
    eh = np.zeros((2, 2, C, 6))
    for wi, w in enumerate((1.0, p.movement.rain_factor)):
        for mi, m in enumerate(MODE_NAMES):
            eh[wi, mi] = hm.edge_hours(m, None, w)

    br = _compile_bridges(sc, hm, p, eh, nbr_self, sidx, C)

    # ---------------------------------------------------------------- phases and fields
    fields: list[int] = []
    fidx: dict[int, int] = {}

    def field_of(cell: int) -> int:
        if cell not in fidx:
            fidx[cell] = len(fields)
            fields.append(cell)
        return fidx[cell]

    def place_cell(pid: str) -> int:
        c = hm.place_cells.get(pid)
        if c is None:
            loc = sc.place(pid)
            c = int(hm.cell_of(loc.lat, loc.lon))
        return int(c)

    home_field = np.array([field_of(int(c)) for c in start_cell])
    phases = [(pl.side, ph) for pl in sc.plans for ph in pl.phases]
    P = len(phases)

    def units_of(uid: str) -> list[int]:
        # a headquarters (not a manoeuvre unit) is not on the map: it names only itself
        return [uix[uid]] if uid in uix else []

    wps: list[list[int]] = []
    phase_units = np.zeros((P, U), bool)
    phase_side = np.zeros(P, int)
    phase_posture = np.zeros(P, int)
    phase_start = np.full(P, 10 ** 9)
    phase_trigger = np.full(P, -1)
    phase_obj = np.full(P, -1)
    for k, (sd, ph) in enumerate(phases):
        phase_side[k] = sidx[sd]
        for uid in ph.units:
            phase_units[k, units_of(uid)] = True
        phase_posture[k] = POSTURE_NAMES.index(ph.posture.value)
        if ph.start is not None:
            phase_start[k] = max(0, int(np.ceil((ph.start - sc.meta.start).total_seconds() / (3600 * step_h))))
        if ph.trigger is not None:
            if ph.trigger not in TRIGGERS:
                raise ValueError(f"plan phase '{ph.id}': unknown trigger '{ph.trigger}' "
                                 f"(known: {', '.join(TRIGGERS)})")
            phase_trigger[k] = TRIGGERS.index(ph.trigger)
            if ph.trigger == "date" and ph.start is None:
                raise ValueError(f"plan phase '{ph.id}': trigger 'date' needs a 'start' date")
        elif ph.start is None:
            # no start and no trigger: a withdrawal phase is the side's retreat plan, issued when the
            # side calls off its offensive (ai.py); any other such phase runs from the beginning
            phase_start[k] = 10 ** 9 if ph.posture.value == "withdrawal" else 0
        route = [place_cell(x) for x in ph.axis]
        if ph.objective:
            phase_obj[k] = place_cell(ph.objective)
            route.append(int(phase_obj[k]))
        dedup: list[int] = []
        for c in route:
            if not dedup or dedup[-1] != c:
                dedup.append(c)
        wps.append(dedup)
    W = max([len(w) for w in wps] + [1])
    phase_wp_cell = np.full((P, W), -1)
    phase_wp = np.full((P, W), -1)
    phase_nwp = np.zeros(P, int)
    for k, w in enumerate(wps):
        phase_nwp[k] = len(w)
        for j in range(W):
            if w:
                c = w[min(j, len(w) - 1)]
                phase_wp_cell[k, j] = c
                phase_wp[k, j] = field_of(c)

    # every named place is an objective an order from outside the engine may give (orders.py)
    place_ids = tuple(p_.id for p_ in (*sc.theater.towns, *sc.theater.airfields))
    place_field = np.array([field_of(place_cell(pid)) for pid in place_ids], dtype=np.int64)

    # depots
    deps = sc.logistics.depots
    D = len(deps)
    depot_side = np.array([sidx[d.side] for d in deps], dtype=int)
    depot_cell = np.array([int(hm.cell_of(d.location.lat, d.location.lon)) for d in deps], dtype=int)
    depot_stock0 = np.array([d.stock_tons for d in deps], dtype=float)
    depot_fuel0 = np.array([d.fuel_tons or 0.0 for d in deps], dtype=float)
    fuel_modelled = any(d.fuel_tons is not None for d in deps)
    cap = np.zeros(S)
    best_mode = ["foot"] * S
    best_cap = np.zeros(S)
    has_tr = np.zeros(S, bool)
    for tr in sc.logistics.transport:
        s_ = sidx[tr.side]
        cap[s_] += tr.capacity_tons_per_day
        has_tr[s_] = True
        # the supply mode is the largest road mode (rail carries to the railheads; from there the
        # road mode goes on)
        if tr.mode.value != "rail" and tr.capacity_tons_per_day > best_cap[s_]:
            best_cap[s_] = tr.capacity_tons_per_day
            best_mode[s_] = "foot" if tr.mode.value == "foot" else "motor"
    side_capacity = np.where(has_tr, cap, np.inf)
    supply_motor = np.array([(scfg[s].supply_mode or best_mode[s]) == "motor" for s in range(S)])
    side_has_depots = np.array([np.any(depot_side == s) for s in range(S)], bool)

    # rear of each side: its depots, else its units' start cells
    rear_sets = []
    for s in range(S):
        cells = depot_cell[depot_side == s].tolist() or start_cell[side == s].tolist() or [0]
        rear_sets.append(cells)
    has_rear = np.array([np.any(depot_side == s) for s in range(S)], bool)

    F = len(fields)
    ctg = np.zeros((2, F, C), np.float32)
    next_k = np.full((2, F, C), -1, np.int8)
    for mi in range(2):
        w = eh[0, mi]
        d = cost_to_go_fields(hm, w, [[c] for c in fields])
        ctg[mi] = np.minimum(d, 1e9)
        next_k[mi] = _next_slot(nb, w, d)
    rear = cost_to_go_fields(hm, eh[0, 0], rear_sets)
    rk = _next_slot(nb, eh[0, 0], rear)
    retreat_next = np.where(rk >= 0, nbr[np.arange(C)[None, :], np.maximum(rk, 0)], np.arange(C)[None, :])
    # depots: hours in the side's supply mode; by train too where the side has rail transport
    rail_sides = {sidx[tr.side] for tr in sc.logistics.transport
                  if tr.mode.value == "rail" and tr.capacity_tons_per_day > 0}
    rail_eh = hm.rail_edge_hours() if rail_sides and hm.edge_rail.any() else None
    depot_ctg = np.zeros((D, C))
    for j in range(D):
        mi = 1 if supply_motor[depot_side[j]] else 0
        if rail_eh is not None and int(depot_side[j]) in rail_sides:
            reach_mode = p.supply.reach_hours_motor if mi else p.supply.reach_hours_foot
            depot_ctg[j] = layered_cost_to_go(hm, [eh[0, mi], rail_eh * (reach_mode / p.supply.reach_hours_rail)],
                                              p.supply.rail_transfer_hours, [int(depot_cell[j])])
        else:
            depot_ctg[j] = cost_to_go_fields(hm, eh[0, mi], [[int(depot_cell[j])]])[0]

    # territory: a cell belongs to the side with the nearest start position (units present at start)
    at_start = arrival_step == 0
    lat_c = np.asarray(hm.lat); lon_c = np.asarray(hm.lon)
    depth = np.full((S, C), 1e4)
    for s in range(S):
        m = (side == s) & at_start
        if m.any():
            depth[s] = haversine_km(lat_c[:, None], lon_c[:, None], start_lat[m][None, :],
                                    start_lon[m][None, :]).min(1)
    home_side = np.where(depth.min(0) < 1e4, np.argmin(depth, 0), -1)

    # population
    pop = np.zeros(C)
    for t in sc.theater.towns:
        c = place_cell(t.id)
        pop[c] += t.population if t.population is not None else p.civilians.default_town_population
    if cfg.rural_density_per_km2 > 0:
        area = _cell_area_km2(hm)
        pop += cfg.rural_density_per_km2 * area

    # victory and the attack line
    vcell, vhold, vatt, vby = -1, -1, -1, n_steps
    v_threat_km, v_threat_h = 0.0, 0.0
    if sc.victory:
        v = sc.victory[0]
        if v.threat_radius_km is not None:
            v_threat_km = float(v.threat_radius_km)
            v_threat_h = float(v.threat_hours) if v.threat_hours is not None else 24.0
        vcell = place_cell(v.objective)
        vhold = sidx[v.side]
        others = [s for s in range(S) if s != vhold]
        att_sides = [phase_side[k] for k in range(P) if phase_obj[k] == vcell and phase_side[k] != vhold]
        vatt = int(att_sides[0]) if att_sides else (others[0] if others else -1)
        vby = int(np.ceil((v.by - sc.meta.start).total_seconds() / (3600 * step_h)))
    attack_side = vatt
    # further hold_objective conditions: tracked (lost or not) without ending the campaign
    sec = [v for v in sc.victory[1:] if str(getattr(v.kind, "value", v.kind)) == "hold_objective"] if sc.victory else []
    K = len(sec)
    obj_ids = tuple(v.id for v in sec)
    obj_cell = np.array([place_cell(v.objective) for v in sec], dtype=np.int64)
    obj_holder = np.array([sidx[v.side] for v in sec], dtype=np.int64)
    obj_by = np.array([int(np.ceil((v.by - sc.meta.start).total_seconds() / (3600 * step_h))) for v in sec],
                      dtype=np.int64)
    obj_threat_km = np.array([float(v.threat_radius_km or 0.0) for v in sec])
    obj_threat_h = np.array([float(v.threat_hours if v.threat_hours is not None else 24.0) for v in sec])
    obj_dist = np.stack([haversine_km(lat_c, lon_c, lat_c[x], lon_c[x]) for x in obj_cell]) if K else np.zeros((0, C))
    lat0, lon0 = float(np.mean(lat_c)), float(np.mean(lon_c))
    x, y = _local_xy(lat_c, lon_c, lat0, lon0)
    proj = np.zeros(C); line_km = 0.0
    if attack_side >= 0 and vcell >= 0:
        main = [k for k in range(P) if phase_side[k] == attack_side and phase_obj[k] == vcell]
        if main and phases[main[0]][1].axis:
            c0 = place_cell(phases[main[0]][1].axis[0])
            x0, y0 = x[c0], y[c0]
        else:
            m = side == attack_side
            if main:
                m = m & phase_units[main[0]]
            if not m.any():
                m = side == attack_side
            x0, y0 = _local_xy(start_lat[m].mean(), start_lon[m].mean(), lat0, lon0)
        dx, dy = x[vcell] - x0, y[vcell] - y0
        line_km = float(np.hypot(dx, dy))
        if line_km > 0:
            proj = ((x - x0) * dx + (y - y0) * dy) / line_km
    phase_obj_dist = np.zeros((P, C))
    for k in range(P):
        if phase_obj[k] >= 0:
            phase_obj_dist[k] = haversine_km(lat_c, lon_c, lat_c[phase_obj[k]], lon_c[phase_obj[k]])

    # air groups
    G = len(sc.air_groups)
    group_side = np.array([sidx[g.side] for g in sc.air_groups], dtype=int)
    gmis = np.zeros((G, len(MISSIONS)))
    for j, g in enumerate(sc.air_groups):
        for m in g.missions:
            gmis[j, MISSIONS.index(m.value)] = 1.0

    enemy_sm = 1.0 - np.eye(S)
    side_oh = np.eye(S)[side]
    # random block layout (fixed per compiled scenario)
    layout = [("win", U), ("cas_att", U), ("cas_def", U), ("cas_air", U), ("retreat", U), ("disease", U),
              ("guerrilla", U),
              ("delay", P), ("weather", 1), ("air", G), ("airlift", 1), ("threat", 1 + len(obj_ids)),
              ("bridges", br["n_bridges"])]
    slices, off = {}, 0
    for nm, n in layout:
        slices[nm] = slice(off, off + n)
        off += n

    # recorded weather by date (later periods override earlier ones); -1: drawn from the climate
    step_weather = np.full(n_steps + 1, -1, np.int8)
    for wp in sc.weather:
        inside = (times >= np.datetime64(wp.start, "s")) & (times < np.datetime64(wp.end, "s"))
        step_weather[inside] = WEATHER_CODES[wp.condition.value]

    return Compiled(
        name=sc.meta.name, params=p, config=cfg, start=sc.meta.start, step_hours=step_h, n_steps=n_steps,
        step_times=times, step_month=months, step_day=day, new_day=new_day, step_weather=step_weather,
        day_steps=day_steps,
        side_ids=side_ids, n_sides=S, side_onehot=side_oh, enemy_side_matrix=enemy_sm,
        side_liaison=np.array([c.liaison_system for c in scfg]),
        side_surprise=np.array([float(c.opening_surprise) for c in scfg]),
        side_guerrilla=np.array([c.guerrilla_intensity for c in scfg], float),
        side_disease=np.array([c.disease_factor for c in scfg], float),
        side_capture=np.array([c.capture_factor for c in scfg], float),
        side_doctrine=doctrine,
        side_capacity=side_capacity, side_supply_motor=supply_motor, side_has_depots=side_has_depots,
        cas_liaison_mult=p.air.cas_liaison_multiplier,
        n_cells=C, lat=lat_c, lon=lon_c, nbr=nbr, nbr_self=nbr_self, terrain=terrain, terrain_eng=terrain_eng,
        elev=elev, high_ground=high_ground, terrain_exertion=np.asarray(p.movement.terrain_exertion, float),
        edge_hours=eh, edge_fuel_km=edge_fuel_km(hm.edge_km, hm.edge_road, p.fuel), population=pop,
        home_side=home_side, depth_km=depth, proj_km=proj,
        field_cells=np.array(fields), ctg=ctg, next_k=next_k, retreat_next=retreat_next,
        rear_ctg=np.where(has_rear[:, None], np.minimum(rear, 1e6), 0.0), x_km=x, y_km=y,
        cell_km=_cell_km(nb, x, y),
        edge_ok=(nb >= 0) & np.isfinite(eh[0, 0]), adj=_adjacency(nbr_self, C),
        n_units=U, unit_ids=tuple(u.id for u in man), unit_names=tuple(u.name for u in man),
        side=side, enemy=side[:, None] != side[None, :], mode=mode, arms0=arms0, men0=men0,
        guns0=guns0, mortars0=mortars0, tanks0=tanks0, trucks0=trucks0, quality=quality, start_cell=start_cell,
        log_quality=_log_quality(quality, side, np.array([c.liaison_system for c in scfg]),
                                 p.combat.liaison_intelligence),
        home_field=home_field, place_ids=place_ids, place_field=place_field, arrival_step=arrival_step, lift_step=np.array(lift_start), air_arrival=air_arrival,
        n_phases=P, phase_ids=tuple(ph.id for _, ph in phases), phase_side=phase_side,
        phase_units=phase_units, phase_posture=phase_posture, phase_start_step=phase_start,
        phase_trigger=phase_trigger, phase_retreat=(phase_start >= 10 ** 9) & (phase_trigger < 0),
        phase_wp=phase_wp, phase_wp_cell=phase_wp_cell, phase_nwp=phase_nwp,
        phase_attack=phase_posture == 0, phase_obj_cell=phase_obj, phase_obj_dist=phase_obj_dist,
        n_depots=D, depot_side=depot_side, depot_cell=depot_cell, depot_stock0=depot_stock0,
        depot_fuel0=depot_fuel0, fuel_modelled=fuel_modelled, **br,
        depot_ctg=np.minimum(depot_ctg, 1e9), depot_next=_downhill(nbr, np.minimum(depot_ctg, 1e9)),
        road_capacity=road_capacity(hm.edge_road, p.supply),
        n_groups=G, group_side=group_side, group_side_onehot=np.eye(S)[group_side] if G else np.zeros((0, S)),
        group_aircraft=np.array([g.aircraft for g in sc.air_groups], float),
        group_rate=np.array([g.sorties_per_aircraft_per_day for g in sc.air_groups], float),
        group_missions=gmis, group_fuel_limited=np.array([g.fuel_limited for g in sc.air_groups], bool),
        victory_cell=vcell, victory_holder=vhold, victory_attacker=vatt, victory_by_step=vby,
        victory_threat_km=v_threat_km, victory_threat_hours=v_threat_h,
        victory_dist_km=(haversine_km(lat_c, lon_c, lat_c[vcell], lon_c[vcell]) if vcell >= 0 else np.zeros(C)),
        objective_ids=obj_ids, objective_cell=obj_cell, objective_holder=obj_holder, objective_by_step=obj_by,
        objective_threat_km=obj_threat_km, objective_threat_hours=obj_threat_h, objective_dist_km=obj_dist,
        attack_side=attack_side, line_km=line_km, rng_size=off, rng_slices=slices,
    )


def check_bridges(sc) -> None:
    """ValueError naming the first listed bridge that sits on no road crossing of its river."""
    from xuefeng.geo.hexmap import build_hexmap

    hm = build_hexmap(sc.theater)
    width = _bridge_width_km(hm)
    for br in sc.theater.bridges:
        _bridge_edge(hm, br, width)


def _bridge_width_km(hm) -> float:
    """How far from its location a bridge's road crossing may lie: two cell widths."""
    return 2.0 * float(np.nanmean(np.where(np.isfinite(hm.edge_km), hm.edge_km, np.nan)))


def _bridge_edge(hm, br, width: float) -> tuple[int, int]:
    """(cell, slot) of bridge `br`'s road edge within `width` km; ValueError naming it if none."""
    e = hm.bridge_edge(br.river, br.location.lat, br.location.lon, width)
    if e is None:
        raise ValueError(f"bridge '{br.id}': no road crosses river '{br.river}' within {width:.0f} km of "
                         f"(lat {br.location.lat}, lon {br.location.lon}); put the bridge where a road of "
                         "the map crosses the river, or add the road")
    return e


def _compile_bridges(sc, hm, p: EngineParams, eh: np.ndarray, nbr_self: np.ndarray, sidx: dict[str, int],
                     C: int) -> dict[str, Any]:
    """The scenario's bridges (bridges.py) as arrays: each is the road edge over its river
    nearest its location, within two cell widths; a bridge with none raises ValueError. Down,
    it costs the same hours both ways: those of the crossing toward its second end (off-road
    at that cell's terrain), never less than with the bridge."""
    from xuefeng.geo.hexmap import unbridged_edge_hours

    bridges = sc.theater.bridges
    B = len(bridges)
    edges = np.zeros((B, 2, 2), np.int64)
    down = np.zeros((2, len(MODE_NAMES), B))
    fordable = {r.id: r.fordable for r in sc.theater.rivers}
    width = _bridge_width_km(hm)
    for b, br in enumerate(bridges):
        cell, slot = _bridge_edge(hm, br, width)
        edges[b, 0] = (cell, slot)
        edges[b, 1] = (hm.neighbours[cell, slot], hm.reverse_slot[cell, slot])
    bridge_at = np.full((C, 6), -1, np.int64)
    for b in range(B):
        for d in range(2):
            bridge_at[edges[b, d, 0], edges[b, d, 1]] = b
    if B:
        for wi, w in enumerate((1.0, p.movement.rain_factor)):
            for mi, m in enumerate(MODE_NAMES):
                down[wi, mi] = unbridged_edge_hours(hm, m, edges[:, 0, 0], edges[:, 0, 1],
                                                    np.array([fordable[br.river] for br in bridges], bool),
                                                    None, w)
    ends = edges[:, :, 0].copy()
    bp = p.bridges
    return dict(
        n_bridges=B, bridge_ids=tuple(br.id for br in bridges), bridge_names=tuple(br.name for br in bridges),
        bridge_edges=edges, bridge_ends=ends,
        bridge_zone=zone_masks(nbr_self, ends, bp.reach_cells, C), bridge_at=bridge_at,
        bridge_down_hours=np.maximum(down, eh[:, :, edges[:, 0, 0], edges[:, 0, 1]] if B else down),
        bridge_guard=np.array([sidx[br.guarded_by] if br.guarded_by else -1 for br in bridges], np.int64),
        bridge_p=np.array([bp.demolition_probability if br.demolition_probability is None
                           else br.demolition_probability for br in bridges], float),
        bridge_rebuild_h=np.array([bp.rebuild_hours if br.rebuild_hours is None else br.rebuild_hours
                                   for br in bridges], float),
        bridge_blown0=np.array([br.blown for br in bridges], bool),
    )


#: Largest map for which the dense (C,C) adjacency table is built (C*C bytes).
MAX_DENSE_ADJ_CELLS = 12000


def _downhill(nbr: np.ndarray, ctg: np.ndarray) -> np.ndarray:
    """(D,C) for each field of ctg (D,C) and cell, the neighbour with the least cost-to-go if it
    is less than the cell's own, else the cell itself (the field's goal, or a cell it cannot
    reach): following it from any cell ends at the goal, the cost falling at every hop."""
    nb_ctg = ctg[:, nbr]  # (D,C,6)
    k = np.argmin(nb_ctg, axis=-1)
    best = np.take_along_axis(nb_ctg, k[..., None], axis=-1)[..., 0]
    cells = np.arange(ctg.shape[1])
    return np.where(best < ctg, nbr[cells[None, :], k], cells[None, :]).astype(np.int64)


def _log_quality(quality: np.ndarray, side: np.ndarray, liaison: np.ndarray, factor: float) -> np.ndarray:
    """ln of each unit's quality (U,7, QUALITY_FIELDS order), the intelligence factor of a side
    with a liaison system multiplied by `factor` (combat.CombatParams.liaison_intelligence)."""
    q = np.array(quality, dtype=float)
    q[:, QUALITY_FIELDS.index("intelligence")] *= np.where(liaison[side], factor, 1.0)
    return np.log(q)


def _cell_km(nbr: np.ndarray, x: np.ndarray, y: np.ndarray) -> float:
    """Mean distance (km) between the centres of neighbouring cells."""
    ok = nbr >= 0
    if not ok.any():
        return 1.0
    src = np.broadcast_to(np.arange(nbr.shape[0])[:, None], nbr.shape)[ok]
    dst = nbr[ok]
    return float(np.mean(np.hypot(x[src] - x[dst], y[src] - y[dst])))


def _adjacency(nbr_self: np.ndarray, C: int) -> np.ndarray | None:
    if C > MAX_DENSE_ADJ_CELLS:
        return None
    adj = np.zeros((C, C), bool)
    rows = np.repeat(np.arange(C), nbr_self.shape[1])
    cols = nbr_self.ravel()
    ok = cols >= 0
    adj[rows[ok], cols[ok]] = True
    return adj


def _has_ancestor(by_id: dict, uid: str, anc: str) -> bool:
    cur = by_id[uid].parent
    while cur is not None:
        if cur == anc:
            return True
        cur = by_id[cur].parent
    return False


def _next_slot(nb: np.ndarray, w: np.ndarray, ctg: np.ndarray) -> np.ndarray:
    """(T,C) slot of the neighbour on the shortest path to the field's target; -1 at
    the target or where unreachable."""
    has = nb >= 0
    cand = np.where(has[None], ctg[:, np.where(has, nb, 0)], np.inf) + np.where(has, w, np.inf)[None]
    k = np.argmin(cand, axis=-1)
    best = np.take_along_axis(cand, k[..., None], axis=-1)[..., 0]
    move = (ctg > 0) & np.isfinite(ctg) & np.isfinite(best)
    return np.where(move, k, -1).astype(np.int8)


def _cell_area_km2(hm: Any) -> np.ndarray:
    import h3

    return np.array([h3.cell_area(str(c), unit="km^2") for c in hm.cells])
