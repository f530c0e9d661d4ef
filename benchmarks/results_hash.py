"""Fingerprint of the engine's results: SHA-256 of every array of
`simulate(load_scenario(name), 40, 0, keep_series=2)` (ledger, casualties, outcome, event log,
kept series) for West Hunan and the Ardennes. A change meant to leave results alone must leave
both fingerprints as they were.

Run:  python benchmarks/results_hash.py
Prints one line per scenario: its name, the number of events and the fingerprint.
"""

from __future__ import annotations

import dataclasses
import hashlib

import numpy as np

from xuefeng.engine import simulate
from xuefeng.scenario import load_scenario

SCENARIOS = ("west-hunan-1945", "ardennes-1944")


def add_array(h, a) -> None:
    """Feed one array (dtype, shape and bytes; object arrays by their values' repr) to h."""
    a = np.asarray(a)
    if a.dtype == object:
        h.update(repr(a.tolist()).encode())
    else:
        h.update(str(a.dtype).encode())
        h.update(str(a.shape).encode())
        h.update(np.ascontiguousarray(a).tobytes())


def fingerprint(results) -> str:
    h = hashlib.sha256()
    for k in ("unit_sides", "replication_ids", "ledger", "civilian_casualties", "aircrew_lost"):
        add_array(h, getattr(results, k))
    for f in dataclasses.fields(results.outcome):
        v = getattr(results.outcome, f.name)
        if isinstance(v, dict):
            for key in sorted(v):
                h.update(key.encode())
                add_array(h, v[key])
        elif v is not None:
            add_array(h, v)
    for col in results.events.columns:
        h.update(col.encode())
        add_array(h, results.events[col].to_numpy())
    if results.series is not None:
        for name in sorted(results.series.data_vars):
            h.update(name.encode())
            add_array(h, results.series[name].values)
    return h.hexdigest()


def main() -> None:
    for name in SCENARIOS:
        r = simulate(load_scenario(name), 40, 0, keep_series=2)
        print(name, len(r.events), fingerprint(r))


if __name__ == "__main__":
    main()
