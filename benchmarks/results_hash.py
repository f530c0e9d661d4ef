"""Fingerprint of the engine's results: SHA-256 of every array of
`simulate(load_scenario(name), 40, 0, keep_series=2)` (ledger, outcome, events, kept series) for
West Hunan and the Ardennes. A change meant to leave results alone must leave both unchanged.

Run:  python benchmarks/results_hash.py
"""
import hashlib, sys, dataclasses
import numpy as np
from xuefeng.engine import simulate
from xuefeng.scenario import load_scenario

def h_arr(h, a):
    a = np.asarray(a)
    if a.dtype == object:
        h.update(repr(a.tolist()).encode())
    else:
        h.update(str(a.dtype).encode()); h.update(str(a.shape).encode()); h.update(np.ascontiguousarray(a).tobytes())

for name in ("west-hunan-1945", "ardennes-1944"):
    r = simulate(load_scenario(name), 40, 0, keep_series=2)
    h = hashlib.sha256()
    for k in ("unit_sides", "replication_ids", "ledger", "civilian_casualties", "aircrew_lost"):
        h_arr(h, getattr(r, k))
    for f in dataclasses.fields(r.outcome):
        v = getattr(r.outcome, f.name)
        if isinstance(v, dict):
            for kk in sorted(v):
                h.update(kk.encode()); h_arr(h, v[kk])
        elif v is not None:
            h_arr(h, v)
    ev = r.events
    for col in ev.columns:
        h.update(col.encode()); h_arr(h, ev[col].to_numpy())
    if r.series is not None:
        for v in sorted(r.series.data_vars):
            h.update(v.encode()); h_arr(h, r.series[v].values)
    print(name, len(ev), h.hexdigest())
