"""Movement parameters: THE one place where march rates live.

Definition used throughout (one, consistently): every rate is **kilometres
per campaign day**, a day being 24 elapsed hours *including* rest, halts,
feeding and bivouac — the distance a formation (division/corps column, not a
single soldier) covers day after day. `HexMap.edge_hours` therefore returns
elapsed campaign hours: ``hours = km / km_per_day * 24``. The engine may
advance a unit by that many hours of its 6-hour steps without adding rest.
`march_hours_per_day` says how much of that day is spent actually moving; it
is there for models that need exertion (fatigue, disease), not for timing.

A rate of 0 means impassable. Each field's comment gives its source, or says
``assumption:`` where the value is judgement.

Sources:
- FM 21-18, *Foot Marches* (US Army, 1990), ch. 1: normal march 20–32 km a
  day at 4 km/h on roads and 2.4 km/h cross-country by day; forced marches
  longer. (Older FM 21-100 / FM 101-10 (1944) tables give the same norms:
  ~2.5 mph on roads, 1.5 mph cross-country, 15–20 miles a day.)
- FM 101-10-1/2 (1987), *Staff Officers' Field Manual, Planning Factors*:
  motor march planning rates (close column ~25 km/h on good roads,
  open column ~40 km/h), 8–10 driving hours a day.
- Terrain ratios between classes follow the pattern of the movement
  factors in T. N. Dupuy, *Numbers, Predictions and War* (1979)
  (rugged / wooded / marsh terrain roughly halving to quartering rates of
  movement); the individual numbers are judgement and are marked so.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from xuefeng.scenario.schema import RoadClass, TerrainClass

#: Terrain classes in declaration order; `HexMap.terrain` indexes this tuple.
TERRAIN_CLASSES: tuple[str, ...] = tuple(t.value for t in TerrainClass)

#: Road codes used by `HexMap.edge_road`: 0 none, 1 track, 2 road, 3 highway.
ROAD_CODES: dict[str, int] = {
    RoadClass.track.value: 1,
    RoadClass.road.value: 2,
    RoadClass.highway.value: 3,
}
ROAD_NAMES: tuple[str, ...] = ("none", "track", "road", "highway")

MODES: tuple[str, ...] = ("foot", "motor")


@dataclass(frozen=True)
class MovementParams:
    """March rates (km per 24-hour campaign day, rest included), crossing
    penalties (elapsed hours) and march hours; 0 km/day = impassable."""

    # ---- formations on foot (infantry with pack animals), off-road, by terrain class
    foot_flat: float = 20.0
    """FM 21-18: normal march 20–32 km/day; lower end for a division column cross-country."""
    foot_rolling: float = 18.0
    """assumption: slightly below flat (gentle slopes, paddy bunds, field tracks)."""
    foot_hills: float = 12.0
    """assumption: ~0.6 of flat, in line with Dupuy's rugged-terrain movement factors."""
    foot_mountains: float = 6.0
    """assumption: ~0.3 of flat; steep mountain paths in single file (Dupuy: rugged, heavily wooded)."""
    foot_forest: float = 10.0
    """assumption: ~0.5 of flat; dense wood and bamboo limit columns to paths."""
    foot_marsh: float = 5.0
    """assumption: ~0.25 of flat; marsh and flooded paddy."""
    foot_urban: float = 15.0
    """assumption: towns slow columns (defiles, rubble) though streets exist."""
    foot_water: float = 0.0
    """Impassable: lakes and wide water are crossed only by bridge (a road) or boat."""

    # ---- formations on foot, on roads, by road class
    foot_highway: float = 25.0
    """FM 21-18: 4 km/h on roads, 20–32 km/day normal march; mid value for a division."""
    foot_road: float = 22.0
    """assumption: unsurfaced road, slightly slower than a highway (mud, narrower column)."""
    foot_track: float = 15.0
    """assumption: mountain path/track, single file; better than open hills, worse than a road."""

    # ---- motorised columns, off-road, by terrain class
    motor_flat: float = 40.0
    """assumption: 1940s trucks cross-country on dry flat ground, ~5 h at ~8 km/h effective."""
    motor_rolling: float = 25.0
    """assumption: rolling ground, ~0.6 of flat."""
    motor_hills: float = 10.0
    """assumption: hills are barely passable to wheeled vehicles off roads."""
    motor_mountains: float = 0.0
    """Impassable: no wheeled movement in mountains off roads."""
    motor_forest: float = 5.0
    """assumption: forest nearly blocks wheeled vehicles off roads."""
    motor_marsh: float = 0.0
    """Impassable: wheeled vehicles bog in marsh and flooded paddy."""
    motor_urban: float = 30.0
    """assumption: streets usable but congested."""
    motor_water: float = 0.0
    """Impassable: water is crossed only by bridge (a road)."""

    # ---- motorised columns, on roads, by road class
    motor_highway: float = 150.0
    """FM 101-10-1/2: ~25 km/h close column x 8-10 driving hours, less halts and refuelling."""
    motor_road: float = 80.0
    """assumption: unsurfaced road, about half the highway rate."""
    motor_track: float = 30.0
    """assumption: pack track, passable to light vehicles only at walking pace."""

    # ---- trains, along railways only (supply: engine/supply.py)
    rail_km_per_day: float = 400.0
    """assumption: a 1940s military freight train at ~20 km/h for ~20 h a day, stops included."""

    # ---- river crossings where no road (bridge or ferry) runs on the edge, elapsed hours
    foot_river_crossing_hours: float = 12.0
    """assumption: a division crossing an unbridged river by boats and rafts loses about half a day."""
    foot_ford_hours: float = 3.0
    """assumption: wading a fordable river costs a few hours for a column."""
    motor_river_crossing_hours: float = 24.0
    """assumption: ferrying vehicles without a bridge takes about a day."""
    motor_ford_hours: float = 6.0
    """assumption: vehicles fording take longer than men on foot (entry/exit ramps)."""

    # ---- exertion
    march_hours_per_day: float = 10.0
    """FM 21-18: 8–10 marching hours in a normal day; the rest of the 24 h (already inside the
    km/day rates) is halts, meals and bivouac. For exertion models only, not for timing."""

    def __post_init__(self) -> None:
        for name, value in self.__dict__.items():
            if not (np.isfinite(value) and value >= 0):
                raise ValueError(f"MovementParams.{name} must be a finite number >= 0, got {value!r}")
        if not 0 < self.march_hours_per_day <= 24:
            raise ValueError("MovementParams.march_hours_per_day must be in (0, 24]")

    # ---- arrays for vectorised use
    def terrain_km_per_day(self, mode: str) -> np.ndarray:
        """Off-road rates (km/day) by `TERRAIN_CLASSES` index for a mode."""
        _check_mode(mode)
        return np.array([getattr(self, f"{mode}_{t}") for t in TERRAIN_CLASSES], dtype=np.float64)

    def road_km_per_day(self, mode: str) -> np.ndarray:
        """Road rates (km/day) by road code (index 0 = no road -> 0)."""
        _check_mode(mode)
        return np.array([0.0] + [getattr(self, f"{mode}_{r}") for r in ROAD_NAMES[1:]],
                        dtype=np.float64)

    def river_hours(self, mode: str) -> tuple[float, float]:
        """(unbridged crossing hours, ford hours) for a mode."""
        _check_mode(mode)
        if mode == "foot":
            return self.foot_river_crossing_hours, self.foot_ford_hours
        return self.motor_river_crossing_hours, self.motor_ford_hours


def _check_mode(mode: str) -> None:
    if mode not in MODES:
        raise ValueError(
            f"transport mode {mode!r} has no hex-edge movement costs; use one of {MODES} "
            "(rail and air move between places, not along hex edges)")
