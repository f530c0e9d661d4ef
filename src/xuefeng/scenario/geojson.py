"""GeoJSON map layers -> the Theater's feature lists.

Map features are drawn in GIS tools and kept as GeoJSON; the typed scenario
keeps them as plain lists. This module only converts (and checks the GeoJSON
structure it needs); the values themselves are checked by the pydantic schema,
and the loader maps any error back to the feature it came from.

Convention: a FeatureCollection; each feature has `properties.layer` (one of
`LAYERS`), `properties.id`, `properties.name`, `properties.provenance`
({source, note}) and the layer's own properties (terrain: `terrain`, optional
`elevation_m`; road: `road_class`; river: optional `fordable`; town: optional
`population`; airfield: `side`). Geometry: Polygon for terrain (outer ring
used, holes ignored, ring kept as written), LineString for roads and rivers,
Point for towns and airfields. Positions are [lon, lat] (a third value,
altitude, is dropped). Any other property is an error, as in the YAML: a typo
must not pass silently.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

Loc = tuple[str | int, ...]

# layer name -> (Theater list it joins, GeoJSON geometry type it needs)
LAYERS: dict[str, tuple[str, str]] = {
    "terrain": ("terrain", "Polygon"),
    "river": ("rivers", "LineString"),
    "road": ("roads", "LineString"),
    "railway": ("railways", "LineString"),
    "town": ("towns", "Point"),
    "airfield": ("airfields", "Point"),
}


@dataclass(frozen=True)
class LayerItem:
    """One converted feature and where it came from (for error messages)."""

    target: str  # Theater list name: terrain, rivers, roads, railways, towns, airfields
    item: dict[str, Any]  # the Theater entry, before validation
    index: int  # index in the file's `features`
    feature_id: str | None
    layer: str


def _position(c: Any) -> Any:
    """[lon, lat(, alt)] -> [lon, lat]; anything else is passed on for the schema to reject."""
    if isinstance(c, (list, tuple)) and len(c) >= 2:
        return [c[0], c[1]]
    return c


def convert(doc: Any) -> tuple[list[LayerItem], list[tuple[Loc, str]]]:
    """Convert a parsed GeoJSON document; return the items and structural problems.

    Problems carry their location inside the GeoJSON file, e.g.
    `('features', 3, 'geometry', 'type')`. Features with structural problems are
    left out of the items.
    """
    items: list[LayerItem] = []
    problems: list[tuple[Loc, str]] = []
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
        if isinstance(doc, dict):
            problems.append((("type",), f"expected a GeoJSON FeatureCollection (got type {doc.get('type')!r})"))
        else:
            problems.append(((), f"expected a GeoJSON FeatureCollection (got {type(doc).__name__})"))
        return items, problems
    features = doc.get("features")
    if not isinstance(features, list):
        problems.append((("features",), "expected a list of features"))
        return items, problems
    for k, f in enumerate(features):
        loc: Loc = ("features", k)
        if not isinstance(f, dict) or f.get("type") != "Feature":
            problems.append((loc, "expected a GeoJSON Feature (a mapping with \"type\": \"Feature\")"))
            continue
        props = f.get("properties")
        if not isinstance(props, dict):
            problems.append(((*loc, "properties"), "expected a mapping of properties"))
            continue
        layer = props.get("layer")
        if not isinstance(layer, str) or layer not in LAYERS:  # a list or mapping is not hashable
            problems.append(((*loc, "properties", "layer"),
                             f"expected one of {', '.join(LAYERS)} (got {layer!r})"))
            continue
        target, gtype = LAYERS[layer]
        geom = f.get("geometry")
        if not isinstance(geom, dict) or geom.get("type") != gtype:
            got = geom.get("type") if isinstance(geom, dict) else geom
            problems.append(((*loc, "geometry", "type"),
                             f"a {layer} feature needs a {gtype} geometry (got {got!r})"))
            continue
        coords = geom.get("coordinates")
        item = {key: value for key, value in props.items() if key != "layer"}
        cloc: Loc = (*loc, "geometry", "coordinates")
        if gtype == "Point":
            if not (isinstance(coords, list) and len(coords) >= 2):
                problems.append((cloc, f"a Point needs [lon, lat] coordinates (got {coords!r})"))
                continue
            item["location"] = {"lat": coords[1], "lon": coords[0]}
        elif gtype == "LineString":
            if not isinstance(coords, list):
                problems.append((cloc, "a LineString needs a list of [lon, lat] positions"))
                continue
            item["coordinates"] = [_position(c) for c in coords]
        else:  # Polygon
            if not (isinstance(coords, list) and coords and isinstance(coords[0], list)):
                problems.append((cloc, "a Polygon needs a list of rings, the first the outer ring"))
                continue
            item["polygon"] = [_position(c) for c in coords[0]]
        fid = props.get("id")
        items.append(LayerItem(target, item, k, fid if isinstance(fid, str) else None, layer))
    return items, problems


def feature_loc(field_loc: Loc) -> Loc:
    """A location inside a Theater entry -> the same place inside its feature.

    `('location', 'lat')` -> `('geometry', 'coordinates', 1)`;
    `('polygon', 4, 0)` -> `('geometry', 'coordinates', 0, 4, 0)`;
    `('population',)` -> `('properties', 'population')`.
    """
    if not field_loc:
        return ()
    head, rest = field_loc[0], field_loc[1:]
    if head == "location":
        if rest and rest[0] in ("lon", "lat"):
            return ("geometry", "coordinates", 0 if rest[0] == "lon" else 1)
        return ("geometry", "coordinates")
    if head == "coordinates":
        return ("geometry", "coordinates", *rest)
    if head == "polygon":
        return ("geometry", "coordinates", 0, *rest)
    return ("properties", *field_loc)
