"""Xuefeng: an open operational campaign simulator.

Parts (DESIGN.md §2a): `scenario` (format and packaged scenarios), `geo` (hex
map), `engagement` (combat-resolution model), `engine` (vectorised campaign
state and step), `results`, `analysis`, `viz`, `web`, and the `cli`.
"""

__version__ = "0.1.0"
