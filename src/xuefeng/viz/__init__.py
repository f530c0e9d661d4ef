"""Presentation of runs (DESIGN.md §2 "Presentation"): plots and the HTML report.

- `xuefeng.viz.report.build_report(scenario, results, hexmap)`: one self-contained HTML page.
- `xuefeng.viz.plots.save_plot(kind, path, scenario, results, ...)`: PNG plots (matplotlib Agg).
- `xuefeng.viz.data`: what both show, read from `Results` (never from the engine).
"""
