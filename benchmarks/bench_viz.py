"""Timing of the map's cartography on the packaged West Hunan scenario with synthetic
movements (tests/report_fixtures.wandering_results) over the whole campaign (6-hour steps).

Run: PYTHONPATH=src:tests python benchmarks/bench_viz.py  (prints seconds per operation)
"""

from __future__ import annotations

import time

from report_fixtures import wandering_results
from xuefeng.geo import build_hexmap
from xuefeng.scenario import DEFAULT_SCENARIO, load_scenario
from xuefeng.viz import data as vd
from xuefeng.viz.cartography import Projection, front_lines
from xuefeng.viz.report import build_report


def main() -> None:
    sc = load_scenario(DEFAULT_SCENARIO)
    steps = int((sc.meta.end - sc.meta.start).total_seconds() // 3600 // sc.meta.time_step_hours) + 1
    res = wandering_results(sc, steps=steps)
    hm = build_hexmap(sc.theater)
    proj = Projection.of(sc)
    t = time.perf_counter()
    control = vd.run_control(sc, res, proj)
    t_control = time.perf_counter() - t
    t = time.perf_counter()
    for k in range(steps):
        front_lines(control, k)
    t_front = time.perf_counter() - t
    t = time.perf_counter()
    html = build_report(sc, res, hm)
    t_report = time.perf_counter() - t
    print(f"{steps} steps, control grid {control.side.shape[1]}x{control.side.shape[2]} cells")
    print(f"control of the ground, all steps: {t_control:.2f} s")
    print(f"front lines, all steps:           {t_front:.2f} s")
    print(f"build_report (with hex map):       {t_report:.2f} s, {len(html) / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
