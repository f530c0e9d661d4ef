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
from enum import Enum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Identifier = Annotated[
    str,
    Field(pattern=r"^[a-z0-9][a-z0-9_\-]*$", min_length=1, max_length=64,
          description="Lower-case id: letters, digits, '-' and '_'."),
]
NonNegative = Annotated[float, Field(ge=0)]
Latitude = Annotated[float, Field(ge=-90, le=90)]
Longitude = Annotated[float, Field(ge=-180, le=180)]


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
        if self.end <= self.start:
            raise ValueError("'end' must be after 'start'")
        ids = [s.id for s in self.sides]
        if len(set(ids)) != len(ids):
            raise ValueError(f"duplicate side ids: {ids}")
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


class Town(Frozen):
    id: Identifier
    name: str
    location: Point
    population: int | None = Field(default=None, ge=0)
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

    infantry: NonNegative = 0
    artillery: NonNegative = 0
    armor: NonNegative = 0
    support: NonNegative = 0

    @property
    def total(self) -> float:
        return self.infantry + self.artillery + self.armor + self.support


class Equipment(Frozen):
    artillery_pieces: NonNegative = 0
    mortars: NonNegative = 0
    machine_guns: NonNegative = 0
    tanks: NonNegative = 0
    trucks: NonNegative = 0
    pack_animals: NonNegative = 0


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


class AirGroup(Frozen):
    id: Identifier
    name: str
    side: Identifier
    parent: Identifier | None = None
    aircraft: int = Field(ge=0)
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
    trigger: str | None = None
    provenance: Provenance


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
    figure: float
    category: ClaimCategory
    side: Identifier | None = Field(default=None, description="Side the figure is about; None for civilians.")
    source: str = Field(min_length=1, description="Who makes the claim.")
    unit: Identifier | None = None
    note: str = ""
    provenance: Provenance


class VictoryCondition(Frozen):
    """The defender wins if it holds `objective` until `by`; the attacker if it takes it."""

    id: Identifier
    kind: Literal["hold_objective"]
    side: Identifier = Field(description="The side that must hold the objective.")
    objective: Identifier
    by: dt.datetime
    provenance: Provenance


# --------------------------------------------------------------------------- scenario


class Scenario(Frozen):
    meta: Meta
    theater: Theater
    units: list[Unit] = Field(min_length=1)
    air_groups: list[AirGroup] = Field(default_factory=list)
    logistics: Logistics = Field(default_factory=Logistics)
    plans: list[Plan] = Field(default_factory=list)
    events: list[Event] = Field(default_factory=list)
    claims: list[Claim] = Field(default_factory=list)
    victory: list[VictoryCondition] = Field(default_factory=list)

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
        errors: list[str] = []
        sides = {s.id for s in self.meta.sides}
        start, end = self.meta.start, self.meta.end
        bounds = self.theater.bounds

        def dup(kind: str, ids: list[str]) -> None:
            seen: set[str] = set()
            for i in ids:
                if i in seen:
                    errors.append(f"duplicate {kind} id '{i}'")
                seen.add(i)

        places = [t.id for t in self.theater.towns] + [a.id for a in self.theater.airfields]
        dup("unit", [u.id for u in self.units])
        dup("air group", [a.id for a in self.air_groups])
        dup("town/airfield", places)
        dup("claim", [c.id for c in self.claims])
        dup("event", [e.id for e in self.events])
        dup("road/river", [r.id for r in (*self.theater.roads, *self.theater.rivers)])
        place_set = set(places)
        unit_ids = {u.id for u in self.units}

        def in_bounds(where: str, p: Point) -> None:
            if not bounds.contains(p.lat, p.lon):
                errors.append(f"{where}: ({p.lat}, {p.lon}) lies outside the theater bounds "
                              f"(lat {bounds.south}..{bounds.north}, lon {bounds.west}..{bounds.east})")

        def in_campaign(where: str, d: dt.datetime | None) -> None:
            if d is not None and not (start <= d <= end):
                errors.append(f"{where}: {d.isoformat()} is outside the campaign "
                              f"({start.isoformat()} .. {end.isoformat()})")

        for t in self.theater.towns:
            in_bounds(f"town '{t.id}'", t.location)
        for a in self.theater.airfields:
            in_bounds(f"airfield '{a.id}'", a.location)
            if a.side not in sides:
                errors.append(f"airfield '{a.id}': unknown side '{a.side}'")
        for line in (*self.theater.roads, *self.theater.rivers):
            for lon, lat in line.coordinates:
                if not bounds.contains(lat, lon):
                    errors.append(f"'{line.id}': point ({lat}, {lon}) lies outside the theater bounds")
                    break

        by_id = {u.id: u for u in self.units}
        for u in self.units:
            if u.side not in sides:
                errors.append(f"unit '{u.id}': unknown side '{u.side}' (sides: {sorted(sides)})")
            if u.parent is not None:
                if u.parent not in by_id:
                    errors.append(f"unit '{u.id}': unknown parent '{u.parent}'")
                elif by_id[u.parent].side != u.side:
                    errors.append(f"unit '{u.id}': parent '{u.parent}' is on another side")
            if u.location is not None:
                in_bounds(f"unit '{u.id}'", u.location)
            in_campaign(f"unit '{u.id}' arrival", u.arrival)
        # cycles in the parent links
        for u in self.units:
            seen_chain = [u.id]
            p = u.parent
            while p is not None and p in by_id:
                if p in seen_chain:
                    errors.append(f"unit '{u.id}': cyclic parent chain {' -> '.join(seen_chain + [p])}")
                    break
                seen_chain.append(p)
                p = by_id[p].parent

        for g in self.air_groups:
            if g.side not in sides:
                errors.append(f"air group '{g.id}': unknown side '{g.side}'")
            if g.base is not None and g.base not in place_set:
                errors.append(f"air group '{g.id}': unknown base '{g.base}'")
            if g.parent is not None and g.parent not in {a.id for a in self.air_groups}:
                errors.append(f"air group '{g.id}': unknown parent '{g.parent}'")
        for d in self.logistics.depots:
            in_bounds(f"depot '{d.id}'", d.location)
            if d.side not in sides:
                errors.append(f"depot '{d.id}': unknown side '{d.side}'")
        for plan in self.plans:
            if plan.side not in sides:
                errors.append(f"plan: unknown side '{plan.side}'")
            for ph in plan.phases:
                for uid in ph.units:
                    if uid not in unit_ids:
                        errors.append(f"plan phase '{ph.id}': unknown unit '{uid}'")
                for pid in ([ph.objective] if ph.objective else []) + ph.axis:
                    if pid not in place_set:
                        errors.append(f"plan phase '{ph.id}': unknown town/airfield '{pid}'")
                in_campaign(f"plan phase '{ph.id}' start", ph.start)
        for e in self.events:
            in_campaign(f"event '{e.id}'", e.date)
            for uid in e.units:
                if uid not in unit_ids:
                    errors.append(f"event '{e.id}': unknown unit '{uid}'")
            if e.location is not None and e.location not in place_set:
                errors.append(f"event '{e.id}': unknown location '{e.location}'")
        for c in self.claims:
            if c.side is not None and c.side not in sides:
                errors.append(f"claim '{c.id}': unknown side '{c.side}'")
            if c.unit is not None and c.unit not in unit_ids:
                errors.append(f"claim '{c.id}': unknown unit '{c.unit}'")
        for v in self.victory:
            if v.side not in sides:
                errors.append(f"victory condition '{v.id}': unknown side '{v.side}'")
            if v.objective not in place_set:
                errors.append(f"victory condition '{v.id}': unknown objective '{v.objective}'")
        if errors:
            raise ValueError("; ".join(errors))
        return self
