"""The hex map (DESIGN.md §2 "Map"): H3 cells over a theater with terrain,
roads, rivers and movement costs as flat arrays, plus cost-to-go fields.

    hm = build_hexmap(scenario.theater)
    hours = hm.edge_hours("foot", MovementParams(), weather=1.0)
    ctg = cost_to_go(hm, hours, [hm.place_cells["objective"]])
    nxt = next_step_toward(hm, ctg, hours)     # unit_cell = nxt[unit_cell]
"""

from xuefeng.geo.hexmap import HexMap, build_hexmap, haversine_km
from xuefeng.geo.movement import (
    MODES,
    ROAD_CODES,
    ROAD_NAMES,
    TERRAIN_CLASSES,
    MovementParams,
)
from xuefeng.geo.paths import cost_to_go, cost_to_go_fields, layered_cost_to_go, next_step_toward

__all__ = [
    "HexMap",
    "build_hexmap",
    "haversine_km",
    "MODES",
    "ROAD_CODES",
    "ROAD_NAMES",
    "TERRAIN_CLASSES",
    "MovementParams",
    "cost_to_go",
    "cost_to_go_fields",
    "layered_cost_to_go",
    "next_step_toward",
]
