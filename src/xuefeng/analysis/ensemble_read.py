"""Read a saved run or a saved ensemble folder into one `Results`, for reports and plots.

An ensemble folder (`xuefeng ensemble --out DIR`) holds its chunks as results
folders. They are read one at a time: each chunk's per-replication arrays
(ledger, outcome, civilians, aircrew) are kept, and its event log only for the
replications that kept time series (the ones a report replays). The event log
is what grows with an ensemble (hundreds of rows per replication), so
dropping it chunk by chunk keeps memory near that of the per-replication
arrays, where joining every chunk whole would hold every event.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd

from xuefeng.analysis.ensemble import MANIFEST, EnsembleError, chunk_dir, join, read_manifest
from xuefeng.results import io
from xuefeng.results.model import Results


def is_ensemble_folder(folder: str | Path) -> bool:
    """A folder written by `xuefeng ensemble --out` (it holds the ensemble manifest)."""
    return (Path(folder) / MANIFEST).is_file()


def _keep_replayed_events(r: Results) -> Results:
    """The chunk with only the events of replications that kept series (None kept if none did)."""
    ev = r.events
    if ev is None or not len(ev) or "replication" not in ev.columns:
        return r
    keep: set[int] = set()
    if r.series is not None and "replication" in r.series.coords:
        keep = {int(x) for x in r.series["replication"].values}
    return dataclasses.replace(r, events=ev[ev["replication"].isin(keep)].reset_index(drop=True))


def read_ensemble(folder: str | Path) -> Results:
    """The complete ensemble in `folder`, streamed chunk by chunk (see the module docstring).

    Raises EnsembleError naming the folder when it is incomplete or a chunk is unreadable."""
    folder = Path(folder)
    m = read_manifest(folder)
    if m is None:
        raise EnsembleError(f"{folder}: no {MANIFEST}; not an ensemble folder")
    chunks = m.get("chunks") or []
    missing = [c for c in chunks if c.get("status") != "done"]
    if not chunks or missing:
        raise EnsembleError(f"{folder}: the ensemble is not complete ({len(chunks) - len(missing)} of "
                            f"{len(chunks)} chunks done); finish it with "
                            f"`xuefeng ensemble --out {folder} --resume`")
    parts = []
    for c in chunks:
        try:
            parts.append(_keep_replayed_events(io.load(folder / chunk_dir(int(c["index"])))))
        except io.ResultsFileError as e:
            raise EnsembleError(f"{folder}: chunk {c['index']} cannot be read ({e}); rerun it with "
                                f"`xuefeng ensemble --out {folder} --resume`") from None
    out = join(parts)
    if not isinstance(out.events, pd.DataFrame):  # pragma: no cover - join keeps a frame
        out = dataclasses.replace(out, events=pd.DataFrame())
    return out


def read_results(folder: str | Path) -> Results:
    """A run folder (`xuefeng run --out`) or an ensemble folder (`xuefeng ensemble --out`).

    Raises io.ResultsFileError or EnsembleError with one line naming the folder."""
    return read_ensemble(folder) if is_ensemble_folder(folder) else io.load(folder)
