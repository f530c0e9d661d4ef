"""Timing of the hex map on a synthetic theater of ~5,000 cells.

Run: python benchmarks/bench_geo.py  (prints seconds per operation)
"""

from __future__ import annotations

import time

import numpy as np

from xuefeng.geo import build_hexmap, cost_to_go, next_step_toward
from xuefeng.geo.hexmap import _BUILD_CACHE
from xuefeng.scenario.schema import Theater

PROV = {"source": "assumption", "note": "benchmark"}


def synthetic_theater(seed: int = 0, west: float = 108.0, south: float = 25.5,
                      east: float = 113.0, north: float = 29.0, resolution: int = 6) -> Theater:
    rng = np.random.default_rng(seed)

    def line(n: int) -> list[tuple[float, float]]:
        lon = np.sort(rng.uniform(west, east, n))
        lat = np.clip(np.cumsum(rng.normal(0, 0.2, n)) + rng.uniform(south + 0.5, north - 0.5), south, north)
        return [(float(a), float(b)) for a, b in zip(lon, lat)]

    terrain = []
    for k in range(20):
        cx, cy, r = rng.uniform(west, east), rng.uniform(south, north), rng.uniform(0.2, 0.8)
        ang = np.linspace(0, 2 * np.pi, 12, endpoint=False)
        poly = [(float(cx + r * np.cos(a)), float(cy + 0.7 * r * np.sin(a))) for a in ang]
        terrain.append({"id": f"t{k}", "name": f"t{k}", "provenance": PROV, "polygon": poly,
                        "terrain": ["hills", "mountains", "forest", "marsh", "urban", "water"][k % 6]})
    roads = [{"id": f"r{k}", "name": f"r{k}", "provenance": PROV, "coordinates": line(30),
              "road_class": ["highway", "road", "track"][k % 3]} for k in range(12)]
    rivers = [{"id": f"v{k}", "name": f"v{k}", "provenance": PROV, "coordinates": line(60)} for k in range(6)]
    return Theater.model_validate({
        "bounds": {"west": west, "south": south, "east": east, "north": north},
        "h3_resolution": resolution, "default_terrain": "rolling",
        "terrain": terrain, "roads": roads, "rivers": rivers})


def main() -> None:
    th = synthetic_theater()
    times = []
    for _ in range(5):
        _BUILD_CACHE.clear()
        t = time.perf_counter()
        hm = build_hexmap(th)
        times.append(time.perf_counter() - t)
    print(f"build_hexmap: {hm.n_cells} cells, best {min(times):.3f} s, median {np.median(times):.3f} s")
    t = time.perf_counter()
    eh = hm.edge_hours("foot", weather=1.3)
    print(f"edge_hours: {(time.perf_counter() - t) * 1e3:.2f} ms")
    t = time.perf_counter()
    ctg = cost_to_go(hm, eh, [0])
    print(f"cost_to_go: {(time.perf_counter() - t) * 1e3:.2f} ms")
    t = time.perf_counter()
    next_step_toward(hm, ctg, eh)
    print(f"next_step_toward: {(time.perf_counter() - t) * 1e3:.2f} ms")
    t = time.perf_counter()
    hm.to_geojson()
    print(f"to_geojson: {(time.perf_counter() - t) * 1e3:.1f} ms")


if __name__ == "__main__":
    main()
