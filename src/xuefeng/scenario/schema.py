"""Typed scenario format (DESIGN.md §2 "Scenario").

A scenario is everything the simulator believes about a campaign. Every datum
that comes from a source carries a `Provenance`, so a user can tell what is
documented from what is judgement. The models are frozen: once loaded and
validated, a scenario never changes; what-ifs make modified copies.

Cross-field checks that need the whole scenario (parents exist and form a
tree, coordinates inside the theater, dates inside the campaign, references
to towns/units/airfields resolve) live in `Scenario`'s validators so that any
way of building a scenario — YAML, Python, an editor — gets the same checks.
"""

from __future__ import annotations

import datetime as dt
from enum import Enum, StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Identifier = Annotated[
    str,
    Field(pattern=r"^[a-z0-9][a-z0-9_\-]*$", min_length=1, max_length=64,
          description="Lower-case id: letters, digits, '-' and '_'."),
]
#: A finite amount >= 0 (`.inf` would pass `ge=0` and turn casualties into NaN downstream).
NonNegative = Annotated[float, Field(ge=0, allow_inf_nan=False)]
#: Men of one arm in one unit: finite and below any real formation (a typo of extra digits is caught).
Men = Annotated[float, Field(ge=0, le=10_000_000, allow_inf_nan=False,
                             description="Men, at most 10 million in one unit.")]
#: A count of equipment in one unit, finite and bounded for the same reason.
Count = Annotated[float, Field(ge=0, le=1_000_000, allow_inf_nan=False)]
Latitude = Annotated[float, Field(ge=-90, le=90)]
Longitude = Annotated[float, Field(ge=-180, le=180)]


Loc = tuple[str | int, ...]


class ReferenceProblems(ValueError):
    """Several whole-scenario problems, each with its field path.

    A ValueError so that pydantic reports it as a validation error (its text
    joins all messages); a loader finds the instance in the error's
    `ctx["error"]` and turns each `(loc, message)` into a located error.
    """

    def __init__(self, problems: list[tuple[Loc, str]]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(f"{_dotted(loc)}: {msg}" for loc, msg in self.problems))


def _dotted(loc: Loc) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")


class Frozen(BaseModel):
    """Base: immutable, unknown keys are errors (a typo must not pass silently)."""

    model_config = ConfigDict(frozen=True, extra="forbid")


# --------------------------------------------------------------------------- provenance


class Provenance(Frozen):
    """Where a datum comes from.

    `source` is `seed` (the scenario's source article), `assumption` (the
    author's judgement; `note` must give the one-line reason), or the name of
    any other citation (e.g. `GeoNames`, `Senshi Sosho`).
    """

    source: str = Field(min_length=1, description="'seed', 'assumption', or a citation.")
    note: str | None = Field(default=None, description="Why; required for assumptions.")

    @model_validator(mode="after")
    def _assumption_needs_reason(self) -> Provenance:
        if self.source == "assumption" and not (self.note and self.note.strip()):
            raise ValueError("an 'assumption' needs a one-line 'note' giving the reason")
        return self

    @property
    def kind(self) -> Literal["seed", "assumption", "citation"]:
        if self.source in ("seed", "assumption"):
            return self.source  # type: ignore[return-value]
        return "citation"


class Point(Frozen):
    lat: Latitude
    lon: Longitude


# --------------------------------------------------------------------------- meta


class Side(Frozen):
    id: Identifier
    name: str
    color: str = Field(default="#888888", pattern=r"^#[0-9a-fA-F]{6}$")


class Meta(Frozen):
    name: Identifier = Field(description="Scenario id used on the command line.")
    title: str
    description: str = ""
    start: dt.datetime = Field(description="Campaign start (first step).")
    end: dt.datetime = Field(description="Latest date the campaign may run to.")
    time_step_hours: int = Field(default=6, ge=1, le=24)
    sides: list[Side] = Field(min_length=2)
    provenance: Provenance

    @model_validator(mode="after")
    def _dates_ordered(self) -> Meta:
        problems: list[tuple[Loc, str]] = []
        if (self.start.tzinfo is None) != (self.end.tzinfo is None):
            problems.append((("end",), "'start' and 'end' must both have a time zone or both have none"))
        elif self.end <= self.start:
            problems.append((("end",), f"'end' must be after 'start' ({self.start.isoformat()})"))
        seen: set[str] = set()
        for k, s in enumerate(self.sides):
            if s.id in seen:
                problems.append((("sides", k, "id"), f"duplicate side id '{s.id}' (ids must be unique)"))
            seen.add(s.id)
        if problems:
            raise ReferenceProblems(problems)
        return self


# --------------------------------------------------------------------------- theater


class TerrainClass(str, Enum):
    """Terrain classes; their movement and combat effects are engine parameters."""

    flat = "flat"
    rolling = "rolling"
    hills = "hills"
    mountains = "mountains"
    forest = "forest"
    marsh = "marsh"
    urban = "urban"
    water = "water"


class RoadClass(str, Enum):
    highway = "highway"  # an all-weather motor road
    road = "road"  # an unsurfaced road, usable by carts and light trucks
    track = "track"  # a mountain path for foot and pack animals


class Bounds(Frozen):
    west: Longitude
    south: Latitude
    east: Longitude
    north: Latitude

    @model_validator(mode="after")
    def _ordered(self) -> Bounds:
        if self.east <= self.west or self.north <= self.south:
            raise ValueError("bounds need west < east and south < north")
        return self

    def contains(self, lat: float, lon: float) -> bool:
        return self.south <= lat <= self.north and self.west <= lon <= self.east


class TerrainRegion(Frozen):
    """A polygon of one terrain class; later regions override earlier ones."""

    id: Identifier
    name: str
    terrain: TerrainClass
    polygon: list[tuple[Longitude, Latitude]] = Field(
        min_length=3, description="Outer ring as [lon, lat] pairs (GeoJSON order).")
    elevation_m: NonNegative | None = None
    provenance: Provenance


class LineFeature(Frozen):
    """A river or road as a polyline of [lon, lat] pairs (GeoJSON order)."""

    id: Identifier
    name: str
    coordinates: list[tuple[Longitude, Latitude]] = Field(min_length=2)
    provenance: Provenance


class River(LineFeature):
    fordable: bool = Field(default=False, description="Crossable on foot without a bridge.")


class Road(LineFeature):
    road_class: RoadClass


class Railway(LineFeature):
    """A railway line: supply moves along it by rail (a side with `rail` transport), from a depot
    to the railhead nearest each unit, then on in the side's supply mode."""


class Bridge(Frozen):
    """A road bridge over a river that a side may blow in the enemy's face and rebuild
    (engine bridges.py). Road crossings not listed here are bridges that stand all campaign."""

    id: Identifier
    name: str
    river: Identifier = Field(description="The river it crosses (a river id).")
    location: Point = Field(description="At the crossing: the road edge over the river nearest this point "
                                        "(within two cell widths) is the bridge.")
    guarded_by: Identifier | None = Field(
        default=None, description="Side whose engineers stand by with charges laid: it blows the bridge when "
                                  "the enemy reaches it even with none of its units there.")
    demolition_probability: float | None = Field(
        default=None, ge=0, le=1,
        description="Chance the bridge is blown when the enemy reaches it (default: the engine's "
                    "bridges.demolition_probability).")
    rebuild_hours: NonNegative | None = Field(
        default=None, description="Hours of engineer work to bridge it again (default: the engine's "
                                  "bridges.rebuild_hours).")
    blown: bool = Field(default=False, description="Down at the campaign's start.")
    provenance: Provenance


class Town(Frozen):
    id: Identifier
    name: str
    location: Point
    population: int | None = Field(default=None, ge=0, le=1_000_000_000)
    provenance: Provenance


class Airfield(Frozen):
    id: Identifier
    name: str
    location: Point
    side: Identifier
    provenance: Provenance


class Theater(Frozen):
    """The map. Features may be written inline or in GeoJSON files named in
    `layers` (paths relative to the scenario file); the loader merges them."""

    bounds: Bounds
    layers: list[str] = Field(default_factory=list, description="GeoJSON files with map features.")
    h3_resolution: int = Field(default=6, ge=3, le=9, description="H3 hex resolution.")
    default_terrain: TerrainClass = TerrainClass.hills
    terrain: list[TerrainRegion] = Field(default_factory=list)
    rivers: list[River] = Field(default_factory=list)
    roads: list[Road] = Field(default_factory=list)
    railways: list[Railway] = Field(default_factory=list)
    bridges: list[Bridge] = Field(default_factory=list)
    towns: list[Town] = Field(default_factory=list)
    airfields: list[Airfield] = Field(default_factory=list)


# --------------------------------------------------------------------------- forces


class Echelon(str, Enum):
    """Echelons from the top of an order of battle down."""

    command = "command"  # theatre command / commander-in-chief
    front_army = "front_army"  # Chinese front army / Japanese area army or army
    army = "army"
    army_group = "army_group"
    corps = "corps"
    division = "division"
    brigade = "brigade"
    regiment = "regiment"
    battalion = "battalion"
    group = "group"  # an assorted group of independent units


class Strength(Frozen):
    """Men by arm."""

    infantry: Men = 0
    artillery: Men = 0
    armor: Men = 0
    support: Men = 0

    @property
    def total(self) -> float:
        return self.infantry + self.artillery + self.armor + self.support


class Equipment(Frozen):
    artillery_pieces: Count = 0
    mortars: Count = 0
    machine_guns: Count = 0
    tanks: Count = 0
    trucks: Count = 0
    pack_animals: Count = 0


class Quality(Frozen):
    """Quality factors on the engagement model's scale: 1.0 is average.

    The names follow the CDB90 advantage columns (leadership, training,
    morale, logistics, momentum, intelligence, technology, initiative).
    """

    leadership: float = Field(default=1.0, gt=0, le=3)
    training: float = Field(default=1.0, gt=0, le=3)
    morale: float = Field(default=1.0, gt=0, le=3)
    logistics: float = Field(default=1.0, gt=0, le=3)
    intelligence: float = Field(default=1.0, gt=0, le=3)
    technology: float = Field(default=1.0, gt=0, le=3)
    initiative: float = Field(default=1.0, gt=0, le=3)


class TransportMode(str, Enum):
    motor = "motor"
    rail = "rail"
    foot = "foot"
    air = "air"


class Unit(Frozen):
    """A node of the order of battle. Strength is the unit's own men, not its
    subordinates': a corps' strength is its corps troops; totals sum the tree."""

    id: Identifier
    name: str
    side: Identifier
    echelon: Echelon
    parent: Identifier | None = None
    commander: str | None = None
    strength: Strength = Field(default_factory=Strength)
    equipment: Equipment = Field(default_factory=Equipment)
    quality: Quality = Field(default_factory=Quality)
    location: Point | None = Field(default=None, description="Start location; None = with its parent / off-map.")
    arrival: dt.datetime | None = Field(default=None, description="Arrival on the map; None = at start.")
    arrival_mode: TransportMode = TransportMode.foot
    march_mode: Literal["foot", "motor"] | None = Field(
        default=None, description="How the unit marches (a panzer division by motor, a horse-drawn one on foot); "
                                  "default: its side's engine.yaml march_mode.")
    committed: bool = Field(default=True, description="False for units the sources say were uncommitted.")
    provenance: Provenance
    notes: list[str] = Field(default_factory=list, description="Ambiguities and remarks recorded for users.")


# --------------------------------------------------------------------------- air


class AirMission(str, Enum):
    air_superiority = "air_superiority"
    close_support = "close_support"
    interdiction = "interdiction"
    airlift = "airlift"
    reconnaissance = "reconnaissance"
    air_supply = "air_supply"  # supply dropped or landed to the side's units short of it


class AirGroup(Frozen):
    id: Identifier
    name: str
    side: Identifier
    parent: Identifier | None = None
    aircraft: int = Field(ge=0, le=100_000)
    base: Identifier | None = Field(default=None, description="Airfield id.")
    sorties_per_aircraft_per_day: NonNegative = 1.0
    missions: list[AirMission] = Field(default_factory=list)
    fuel_limited: bool = False
    provenance: Provenance


# --------------------------------------------------------------------------- logistics


class Depot(Frozen):
    id: Identifier
    name: str
    side: Identifier
    location: Point
    stock_tons: NonNegative
    fuel_tons: NonNegative | None = Field(
        default=None, description="Motor fuel held, tons, apart from stock_tons. Given for any depot, fuel "
                                  "is its own supply class that stops vehicles (engine fuel.py); "
                                  "None everywhere: vehicles never run dry.")
    provenance: Provenance


class TransportModeSpec(Frozen):
    side: Identifier
    mode: TransportMode
    capacity_tons_per_day: NonNegative
    provenance: Provenance


class Logistics(Frozen):
    depots: list[Depot] = Field(default_factory=list)
    transport: list[TransportModeSpec] = Field(default_factory=list)


# --------------------------------------------------------------------------- plans


class Posture(str, Enum):
    attack = "attack"
    hasty_defence = "hasty_defence"
    prepared_defence = "prepared_defence"
    fortified_defence = "fortified_defence"
    delay = "delay"
    withdrawal = "withdrawal"
    reserve = "reserve"


class PlanTrigger(StrEnum):
    """Rules the engine's AI evaluates to start a plan phase (`engine.ai.TRIGGERS`, same order).

    An enum so that a misspelt trigger is refused by `validate`, not by the engine.
    """

    date = "date"  # at the phase's `start`
    enemy_halted = "enemy_halted"
    enemy_retreating = "enemy_retreating"
    own_strength_superior = "own_strength_superior"


class PlanPhase(Frozen):
    """One phase of a side's plan: who does what, toward where, from when.

    A phase starts at `start` or when `trigger` fires (whichever comes first);
    triggers are rules the engine's AI evaluates (see engine docs).
    """

    id: Identifier
    name: str
    units: list[Identifier] = Field(min_length=1)
    posture: Posture
    objective: Identifier | None = Field(default=None, description="Town or airfield id.")
    axis: list[Identifier] = Field(default_factory=list, description="Towns to pass through, in order.")
    start: dt.datetime | None = None
    trigger: PlanTrigger | None = None
    provenance: Provenance

    @model_validator(mode="after")
    def _date_trigger_needs_start(self) -> PlanPhase:
        if self.trigger is PlanTrigger.date and self.start is None:
            raise ReferenceProblems([(("trigger",), "trigger 'date' needs a 'start' date")])
        return self


class Plan(Frozen):
    side: Identifier
    phases: list[PlanPhase] = Field(min_length=1)
    provenance: Provenance


# --------------------------------------------------------------------------- events, claims, victory


class Event(Frozen):
    id: Identifier
    date: dt.datetime
    kind: Literal["airlift", "reinforcement", "conference", "decision", "battle", "retreat", "other"]
    description: str
    units: list[Identifier] = Field(default_factory=list)
    location: Identifier | None = Field(default=None, description="Town or airfield id.")
    provenance: Provenance


class WeatherCondition(StrEnum):
    """A day's weather as the engine uses it: `clear` (every sortie flies, dry ground),
    `overcast` (low cloud: strike aircraft mostly grounded, ground dry), `rain` (low cloud and
    mud on off-road and track movement)."""

    clear = "clear"
    overcast = "overcast"
    rain = "rain"


class WeatherPeriod(Frozen):
    """Weather the sources record for a span of the campaign. Days outside every period draw
    their weather from the climate (engine.yaml `rain_probability_by_month`); a later period
    overrides an earlier one where they overlap."""

    id: Identifier
    start: dt.datetime
    end: dt.datetime
    condition: WeatherCondition
    provenance: Provenance

    @model_validator(mode="after")
    def _ordered(self) -> WeatherPeriod:
        if self.end <= self.start:
            raise ValueError("a weather period needs start < end")
        return self


class ClaimCategory(str, Enum):
    killed = "killed"
    wounded = "wounded"
    died_of_wounds = "died_of_wounds"
    missing = "missing"
    captured = "captured"
    sick = "sick"
    died_of_illness = "died_of_illness"
    total_deaths = "total_deaths"
    casualties = "casualties"  # killed + wounded + missing (battle casualties)
    killed_or_wounded = "killed_or_wounded"
    total_losses = "total_losses"  # battle casualties plus sickness
    civilian_casualties = "civilian_casualties"
    aircrew_lost = "aircrew_lost"
    strength = "strength"
    other = "other"


class Claim(Frozen):
    """A figure some source gives; the simulator compares itself with it."""

    id: Identifier
    figure: float = Field(allow_inf_nan=False)
    category: ClaimCategory
    side: Identifier | None = Field(default=None, description="Side the figure is about; None for civilians.")
    source: str = Field(min_length=1, description="Who makes the claim.")
    unit: Identifier | None = None
    note: str = ""
    provenance: Provenance


class VictoryCondition(Frozen):
    """The defender wins if it holds `objective` until `by`; the attacker if it takes it — or,
    where `threat_radius_km` is given, if for `threat_hours` running its units within that
    distance of the objective, not broken or withdrawing, outnumber the holder's there (an
    objective made untenable without being entered, such as an airfield under the guns)."""

    id: Identifier
    kind: Literal["hold_objective"]
    side: Identifier = Field(description="The side that must hold the objective.")
    objective: Identifier
    by: dt.datetime
    threat_radius_km: float | None = Field(
        default=None, gt=0, le=1000,
        description="The objective is lost when, for threat_hours running, the enemy's units within "
                    "this many km of it (not broken or withdrawing) outnumber the holder's there "
                    "(omit: only entering it takes it).")
    threat_hours: float | None = Field(
        default=None, ge=0, le=10000,
        description="Hours an enemy force must stay within threat_radius_km (default 24).")
    provenance: Provenance


# --------------------------------------------------------------------------- scenario


class SideEngineSettings(Frozen):
    """Per-side engine settings (`engine.yaml`, `sides.<side id>`)."""

    liaison_system: bool = Field(
        default=False, description="The side has a liaison/advisory system (shorter command delay, "
                                   "better close support).")
    guerrilla_intensity: float = Field(
        default=0.0, ge=0.0, allow_inf_nan=False, description="Partisan activity of this side in its home territory (0 none, 1 strong).")
    disease_factor: float = Field(
        default=1.0, ge=0.0, allow_inf_nan=False, description="Multiplier on disease incidence (hygiene, medical service, "
                                         "acclimatisation).")
    capture_factor: float = Field(
        default=1.0, ge=0.0, allow_inf_nan=False, description="Multiplier on the captured share of a beaten unit.")
    march_mode: Literal["foot", "motor"] = Field(
        default="foot", description="Transport mode the side's units march in.")
    supply_mode: Literal["foot", "motor"] | None = Field(
        default=None, description="Supply transport mode; default: the mode of the side's largest transport "
                                  "capacity.")
    doctrine: dict[Identifier, Any] = Field(
        default_factory=dict, description="This side's doctrine: values of the engine's `ai` parameters "
                                          "(halt_ratio, counter_ratio, retreat_ratio ...) for its units "
                                          "only; checked against the engine's parameters.")
    opening_surprise: float = Field(
        default=0.0, ge=0.0, le=1.0, allow_inf_nan=False,
        description="Surprise this side's attacks achieve when its offensive opens, on the engagement "
                    "model's scale (CDB90 SURPA / 3: 1 complete, 0.67 substantial, 0.33 minor); it "
                    "applies to an enemy unit still in its start position in its first battle, when "
                    "its side has been under attack for no longer than combat.battle_gap_hours.")
    provenance: Provenance | None = None
    notes: str | None = None


Month = Annotated[int, Field(ge=1, le=12)]


class ClimateSettings(Frozen):
    """Weather and disease season by month (`engine.yaml`, `climate`)."""

    rain_probability_by_month: dict[Month, Annotated[float, Field(ge=0.0, le=1.0)]] = Field(
        default_factory=dict, description="Probability of a rain/low-cloud day, by month 1-12 (others: 0.3).")
    disease_season_by_month: dict[Month, Annotated[float, Field(ge=0.0, allow_inf_nan=False)]] = Field(
        default_factory=dict, description="Disease incidence factor by month 1-12 (others: 1).")


class CivilianSettings(Frozen):
    """Civilian population counted for civilian casualties (`engine.yaml`, `civilians`)."""

    rural_density_per_km2: float = Field(
        default=0.0, ge=0.0, allow_inf_nan=False, description="Rural people per km2 in the theater (0: towns only).")


class EngineSettings(Frozen):
    """Settings of the engine's sub-models for this scenario: the file `engine.yaml` beside the
    scenario file. The sub-model parameter overrides (`params`, {sub_model: {field: value}})
    name the engine's parameters and are checked against them by the engine and by
    `xuefeng validate`."""

    provenance: Provenance | None = None
    notes: str | None = None
    sides: dict[Identifier, SideEngineSettings] = Field(default_factory=dict)
    climate: ClimateSettings = Field(default_factory=ClimateSettings)
    civilians: CivilianSettings = Field(default_factory=CivilianSettings)
    params: dict[Identifier, dict[Identifier, Any]] = Field(default_factory=dict)


class Scenario(Frozen):
    meta: Meta
    theater: Theater
    units: list[Unit] = Field(min_length=1)
    air_groups: list[AirGroup] = Field(default_factory=list)
    logistics: Logistics = Field(default_factory=Logistics)
    plans: list[Plan] = Field(default_factory=list)
    events: list[Event] = Field(default_factory=list)
    weather: list[WeatherPeriod] = Field(default_factory=list, description="Recorded weather by date.")
    claims: list[Claim] = Field(default_factory=list)
    victory: list[VictoryCondition] = Field(default_factory=list)
    engine_settings: EngineSettings = Field(
        default_factory=EngineSettings,
        description="Per-side engine settings (liaison, guerrillas, disease and capture factors, march and "
                    "supply modes), climate, civilians and sub-model parameter overrides. The loader reads "
                    "them from `engine.yaml` beside the scenario file.")

    # ---- helpers
    def unit(self, unit_id: str) -> Unit:
        for u in self.units:
            if u.id == unit_id:
                return u
        raise KeyError(unit_id)

    def place(self, place_id: str) -> Point:
        """Location of a town or airfield by id."""
        for p in (*self.theater.towns, *self.theater.airfields):
            if p.id == place_id:
                return p.location
        raise KeyError(place_id)

    def children(self, unit_id: str | None) -> list[Unit]:
        return [u for u in self.units if u.parent == unit_id]

    def total_strength(self, unit_id: str) -> float:
        """Men in a unit and all its subordinates."""
        return self.unit(unit_id).strength.total + sum(
            self.total_strength(c.id) for c in self.children(unit_id))

    def side_strength(self, side: str) -> float:
        return sum(u.strength.total for u in self.units if u.side == side)

    # ---- whole-scenario checks
    @model_validator(mode="after")
    def _check_references(self) -> Scenario:
        """Checks that need the whole scenario. Every problem keeps its field
        path so that a loader can point at the file and line (see
        `ReferenceProblems`); all problems are collected, not just the first."""
        problems: list[tuple[Loc, str]] = []

        def err(loc: Loc, message: str) -> None:
            problems.append((loc, message))

        sides = {s.id for s in self.meta.sides}
        side_list = sorted(sides)
        start, end = self.meta.start, self.meta.end
        bounds = self.theater.bounds
        box = (f"lat {bounds.south}..{bounds.north}, lon {bounds.west}..{bounds.east}")

        def dup(kind: str, items: list[tuple[Loc, str]]) -> None:
            seen: set[str] = set()
            for loc, i in items:
                if i in seen:
                    err((*loc, "id"), f"duplicate {kind} id '{i}' (ids must be unique)")
                seen.add(i)

        th: Loc = ("theater",)
        towns = [((*th, "towns", k), t) for k, t in enumerate(self.theater.towns)]
        fields = [((*th, "airfields", k), a) for k, a in enumerate(self.theater.airfields)]
        roads = [((*th, "roads", k), r) for k, r in enumerate(self.theater.roads)]
        rivers = [((*th, "rivers", k), r) for k, r in enumerate(self.theater.rivers)]
        units = [(("units", k), u) for k, u in enumerate(self.units)]
        groups = [(("air_groups", k), g) for k, g in enumerate(self.air_groups)]

        dup("unit", [(loc, u.id) for loc, u in units])
        dup("air group", [(loc, g.id) for loc, g in groups])
        dup("town/airfield", [(loc, p.id) for loc, p in (*towns, *fields)])
        dup("claim", [(("claims", k), c.id) for k, c in enumerate(self.claims)])
        dup("event", [(("events", k), e.id) for k, e in enumerate(self.events)])
        dup("road/river", [(loc, r.id) for loc, r in (*roads, *rivers)])
        place_set = {t.id for t in self.theater.towns} | {a.id for a in self.theater.airfields}
        unit_ids = {u.id for u in self.units}

        def in_bounds(loc: Loc, p: Point) -> None:
            if not bounds.contains(p.lat, p.lon):
                err(loc, f"(lat {p.lat}, lon {p.lon}) lies outside the theater bounds ({box})")

        def in_campaign(loc: Loc, d: dt.datetime | None) -> None:
            if d is None:
                return
            if (d.tzinfo is None) != (start.tzinfo is None):
                err(loc, f"{d.isoformat()} and the campaign dates must both have a time zone or both have none")
            elif not (start <= d <= end):
                err(loc, f"{d.isoformat()} is outside the campaign ({start.isoformat()} .. {end.isoformat()})")

        def known_side(loc: Loc, side: str | None) -> None:
            if side is not None and side not in sides:
                err(loc, f"unknown side '{side}' (sides: {', '.join(side_list)})")

        def known_place(loc: Loc, place: str, what: str = "town/airfield") -> None:
            if place not in place_set:
                err(loc, f"unknown {what} '{place}' (no town or airfield has this id)")

        for loc, t in towns:
            in_bounds((*loc, "location"), t.location)
        for loc, a in fields:
            in_bounds((*loc, "location"), a.location)
            known_side((*loc, "side"), a.side)
        river_ids = {r.id for r in self.theater.rivers}
        bridges = [((*th, "bridges", k), b) for k, b in enumerate(self.theater.bridges)]
        dup("bridge", [(loc, b.id) for loc, b in bridges])
        for loc, b in bridges:
            in_bounds((*loc, "location"), b.location)
            known_side((*loc, "guarded_by"), b.guarded_by)
            if b.river not in river_ids:
                err((*loc, "river"), f"unknown river '{b.river}' (rivers: {', '.join(sorted(river_ids)) or 'none'})")
        for loc, line in (*roads, *rivers):
            for j, (lon, lat) in enumerate(line.coordinates):
                if not bounds.contains(lat, lon):
                    err((*loc, "coordinates", j),
                        f"point (lat {lat}, lon {lon}) of '{line.id}' lies outside the theater bounds ({box})")
                    break

        by_id = {u.id: u for u in self.units}
        for loc, u in units:
            known_side((*loc, "side"), u.side)
            if u.parent is not None:
                if u.parent not in by_id:
                    err((*loc, "parent"), f"unknown parent '{u.parent}' (no unit has this id)")
                elif by_id[u.parent].side != u.side:
                    err((*loc, "parent"), f"parent '{u.parent}' is on side '{by_id[u.parent].side}', "
                                          f"unit '{u.id}' on side '{u.side}'")
            if u.location is not None:
                in_bounds((*loc, "location"), u.location)
            in_campaign((*loc, "arrival"), u.arrival)
        # cycles in the parent links: report each cycle once, at its first unit
        reported: set[frozenset[str]] = set()
        for loc, u in units:
            chain = [u.id]
            p = u.parent
            while p is not None and p in by_id:
                if p in chain:
                    cycle = chain[chain.index(p):]
                    if u.id in cycle and frozenset(cycle) not in reported:
                        reported.add(frozenset(cycle))
                        err((*loc, "parent"), f"cyclic parent chain {' -> '.join([*cycle, p])} "
                                              "(the order of battle must be a tree)")
                    break
                chain.append(p)
                p = by_id[p].parent

        group_ids = {g.id for g in self.air_groups}
        for loc, g in groups:
            known_side((*loc, "side"), g.side)
            if g.base is not None:
                known_place((*loc, "base"), g.base, "base")
            if g.parent is not None and g.parent not in group_ids:
                err((*loc, "parent"), f"unknown parent '{g.parent}' (no air group has this id)")
        for k, d in enumerate(self.logistics.depots):
            loc = ("logistics", "depots", k)
            in_bounds((*loc, "location"), d.location)
            known_side((*loc, "side"), d.side)
        for k, tr in enumerate(self.logistics.transport):
            known_side(("logistics", "transport", k, "side"), tr.side)
            if tr.mode == TransportMode.rail and not self.theater.railways:
                err(("logistics", "transport", k, "mode"),
                    "rail transport needs railways on the map: add `railway` features to a map layer "
                    "(theater.railways), or use foot or motor")
        for k, plan in enumerate(self.plans):
            known_side(("plans", k, "side"), plan.side)
            for j, ph in enumerate(plan.phases):
                loc = ("plans", k, "phases", j)
                for n, uid in enumerate(ph.units):
                    if uid not in unit_ids:
                        err((*loc, "units", n), f"unknown unit '{uid}'")
                if ph.objective:
                    known_place((*loc, "objective"), ph.objective)
                for n, pid in enumerate(ph.axis):
                    known_place((*loc, "axis", n), pid)
                in_campaign((*loc, "start"), ph.start)
        for k, e in enumerate(self.events):
            loc = ("events", k)
            in_campaign((*loc, "date"), e.date)
            for n, uid in enumerate(e.units):
                if uid not in unit_ids:
                    err((*loc, "units", n), f"unknown unit '{uid}'")
            if e.location is not None:
                known_place((*loc, "location"), e.location)
        for k, c in enumerate(self.claims):
            known_side(("claims", k, "side"), c.side)
            if c.unit is not None and c.unit not in unit_ids:
                err(("claims", k, "unit"), f"unknown unit '{c.unit}'")
        for k, v in enumerate(self.victory):
            known_side(("victory", k, "side"), v.side)
            known_place(("victory", k, "objective"), v.objective, "objective")
        for sid in self.engine_settings.sides:
            known_side(("engine_settings", "sides", sid), sid)
        if problems:
            raise ReferenceProblems(problems)
        return self
