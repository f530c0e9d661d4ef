"""`Results`: what one batch of campaign replications yields (DESIGN.md §2).

This is the contract between the engine (which fills it) and everything that
reads runs — summaries, the history check, plots, reports, the web API. It
holds plain arrays and tables only, so it never imports the engine and can be
saved, loaded, concatenated across chunks and compared.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import xarray as xr

#: Casualty ledger categories. `wounded` counts every man wounded, including
#: those who later died of wounds (as the seed's sources count them);
#: `died_of_wounds` is that subset. Likewise `sick` counts everyone who fell
#: ill and `died_of_illness` is the subset who died.
CATEGORIES: tuple[str, ...] = (
    "killed",
    "wounded",
    "died_of_wounds",
    "missing",
    "captured",
    "sick",
    "died_of_illness",
    "returned_to_duty",
)
#: Categories that are battle casualties (killed, wounded, missing).
BATTLE_CATEGORIES: tuple[str, ...] = ("killed", "wounded", "missing")

#: Tables of `Results.to_dataframe`: what one row is.
TABLES: dict[str, str] = {
    "outcome": "one replication: winner, winner_side, objective_lost, advance_km, end_time, "
               "offensive_end_time, civilian_casualties, aircrew_lost.<side>, called_off_time, "
               "objective_lost.<further objective>",
    "daily": "one replication x campaign day x side: men on the map at the day's start and the day's "
             "battle casualties (day 0: the start date)",
    "ledger": "one replication x unit: unit, unit_name, side and men in each of CATEGORIES",
    "side_ledger": "one replication x side: men in each of CATEGORIES, summed over the side's units",
    "arrivals": "one replication x unit: when the unit arrived on the map (NaT: never)",
    "events": "one event: replication, time, kind, side, units, cell, lat, lon, detail",
}
#: Columns and dtypes of the event log (an empty log has them too).
EVENT_COLUMNS: dict[str, str] = {"replication": "int64", "time": "datetime64[s]", "kind": "object",
                                 "side": "object", "units": "object", "cell": "int64", "lat": "float64",
                                 "lon": "float64", "detail": "object"}


@dataclass(frozen=True)
class Outcome:
    """Per-replication outcome; every array has the replication axis first.

    winner: index into `Results.sides` of the side that won by the scenario's
        victory conditions, -1 for no decision.
    objective_lost: the victory condition's objective was taken.
    advance_km: furthest distance any attacking unit got from the attack's
        start point, measured along the line from start point to objective.
    end_time: when the campaign ended (conditions met or limit date).
    offensive_end_time: when the attacker was back at its start line after the
        offensive (NaT if it never was).
    arrival_time: (replication, unit) when each unit arrived on the map
        (NaT if it never did; the start time for units present at start).
    called_off_time: when the attacker's offensive was called off (NaT if it
        never was); None for results written before it was recorded.
    objectives_lost: the scenario's further hold_objective conditions (its
        victory list after the first), by id: lost or not, per replication.
    objectives_relieved: by id, whether a lost further objective was later held
        again by its holder (retaken, or the siege lifted); empty for results
        written before it was recorded.
    daily_men, daily_casualties: (replication, campaign day, side) men on the
        map at each day's start and that day's battle casualties (killed,
        wounded, missing and captured), day 0 the start date; None for results
        written before they were recorded.
    """

    winner: np.ndarray  # (R,) int
    objective_lost: np.ndarray  # (R,) bool
    advance_km: np.ndarray  # (R,) float
    end_time: np.ndarray  # (R,) datetime64[s]
    offensive_end_time: np.ndarray  # (R,) datetime64[s]
    arrival_time: np.ndarray  # (R, U) datetime64[s]
    called_off_time: np.ndarray | None = None  # (R,) datetime64[s]
    objectives_lost: dict[str, np.ndarray] = field(default_factory=dict)  # id -> (R,) bool
    objectives_relieved: dict[str, np.ndarray] = field(default_factory=dict)  # id -> (R,) bool
    daily_men: np.ndarray | None = None  # (R, day, side) men on the map at each day's start
    daily_casualties: np.ndarray | None = None  # (R, day, side) battle casualties each day


@dataclass(frozen=True)
class Results:
    """A batch of replications of one scenario.

    ledger: (replication, unit, category) men, categories as `CATEGORIES`.
    civilian_casualties, aircrew_lost: (replication, side) counts.
    series: per-step unit time series (dims replication × time × unit), kept
        only for the replications asked for (None when none were).
    events: event log with columns replication, time, kind, side, units, cell,
        lat, lon, detail.
    replication_ids: global replication numbers (chunks of an ensemble keep
        their global ids, so concatenation and resumption are exact).
    """

    scenario: str
    seed: int
    sides: tuple[str, ...]
    unit_ids: tuple[str, ...]
    unit_names: tuple[str, ...]
    unit_sides: np.ndarray  # (U,) int index into sides
    start: dt.datetime
    step_hours: int
    replication_ids: np.ndarray  # (R,) int64
    ledger: np.ndarray  # (R, U, len(CATEGORIES)) float
    civilian_casualties: np.ndarray  # (R,) float
    aircrew_lost: np.ndarray  # (R, len(sides)) float
    outcome: Outcome
    events: pd.DataFrame = field(default_factory=pd.DataFrame)
    series: xr.Dataset | None = None

    @property
    def replications(self) -> int:
        return int(self.replication_ids.shape[0])

    def side_ledger(self) -> np.ndarray:
        """(R, side, category) totals over each side's units."""
        out = np.zeros((self.replications, len(self.sides), len(CATEGORIES)))
        for s in range(len(self.sides)):
            out[:, s, :] = self.ledger[:, self.unit_sides == s, :].sum(axis=1)
        return out

    def category(self, name: str) -> int:
        return CATEGORIES.index(name)

    def to_dataframe(self, table: str = "outcome") -> pd.DataFrame:
        """One of the tables of this run as a pandas DataFrame with named columns (the
        columns of the Parquet files `results.io.save` writes; `TABLES` says what each holds).

        Why: the ledger is a (replication, unit, category) array whose axes a reader would
        otherwise have to know; a frame names them and joins with pandas' tools."""
        from xuefeng.results import io  # io builds the file tables; it imports this module

        if table == "outcome":  # the daily record has its own table
            df = io._outcome_frame(self)
            return df[[c for c in df.columns if not c.startswith("daily.")]]
        if table == "daily":
            o = self.outcome
            if o.daily_men is None or o.daily_casualties is None:
                raise ValueError("these results carry no daily record (written by an older version)")
            R, D, S = o.daily_men.shape
            return pd.DataFrame({
                "replication": np.repeat(np.asarray(self.replication_ids, dtype=np.int64), D * S),
                "day": np.tile(np.repeat(np.arange(D, dtype=np.int64), S), R),
                "side": np.tile(np.asarray(self.sides, dtype=object), R * D),
                "men": o.daily_men.reshape(-1), "casualties": o.daily_casualties.reshape(-1)})
        if table == "ledger":
            df = io._ledger_frame(self)
            u = len(self.unit_ids)
            sides = np.asarray(self.sides, dtype=object)[np.asarray(self.unit_sides, dtype=np.int64)]
            df.insert(2, "unit_name", np.tile(np.asarray(self.unit_names, dtype=object), self.replications))
            df.insert(3, "side", np.tile(sides, self.replications) if u else np.array([], dtype=object))
            return df
        if table == "side_ledger":
            return io._side_totals_frame(self)
        if table == "arrivals":
            return io._arrivals_frame(self)
        if table == "events":
            if self.events is None or not len(self.events.columns):
                return pd.DataFrame({c: pd.Series(dtype=t) for c, t in EVENT_COLUMNS.items()})
            return self.events.copy()
        raise ValueError(f"unknown table '{table}' (tables: {', '.join(TABLES)})")

    def time_series(self) -> xr.Dataset:
        """The per-step unit time series (replication × time × unit) with each unit's name and
        side as coordinates; ValueError if no replication kept them (run with keep_series >= 1)."""
        if self.series is None:
            raise ValueError("these results keep no time series; run with keep_series >= 1 "
                             "(the first replications keep them)")
        ds = self.series
        index = {u: i for i, u in enumerate(self.unit_ids)}
        pos = [index[str(u)] for u in ds["unit"].values]
        names = np.asarray(self.unit_names, dtype=object)[pos]
        sides = np.asarray(self.sides, dtype=object)[np.asarray(self.unit_sides, dtype=np.int64)[pos]]
        return ds.assign_coords(unit_name=("unit", names), side=("unit", sides))
