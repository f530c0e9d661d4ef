"""A readable digest of a replication's events: engagements aggregated by day and defender,
naming both sides and the nearest town, beside the other events and the scenario's dated
historical events (the report's timeline and `xuefeng run --events`)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

#: Outcome of a day's fighting at one defender, from its engagement events (worst first).
_OUTCOMES = (("attackers won; defender retreats", "driven back"), ("attack repulsed", "attack repulsed"),
             ("fighting goes on", "fighting went on"))


@dataclass(frozen=True)
class DigestItem:
    """One line of the digest."""

    time: pd.Timestamp
    kind: str  # engagement (a day's fighting at one defender), another engine event kind, or historical
    sides: tuple[str, ...]  # side ids involved (attacker's first for an engagement)
    text: str
    source: str  # simulated or historical

    def as_dict(self) -> dict[str, Any]:
        return {"time": self.time.strftime("%Y-%m-%d %H:%M"), "kind": self.kind, "sides": list(self.sides),
                "text": self.text, "source": self.source}


def _nearest_town(scenario: Any, lat: float, lon: float) -> str:
    best, name = math.inf, ""
    for t in scenario.theater.towns:
        d = (t.location.lat - lat) ** 2 + ((t.location.lon - lon) * math.cos(math.radians(lat))) ** 2
        if d < best:
            best, name = d, t.name
    if not name:
        return ""
    km = math.sqrt(best) * 111.0
    return f"at {name}" if km < 8 else f"{km:.0f} km from {name}"


def digest(scenario: Any, events: pd.DataFrame, replication: int | None = None,
           historical: bool = True) -> list[DigestItem]:
    """The digest of one replication (the first in `events` when None), in time order."""
    units = {u.id: u for u in scenario.units}
    sides = {s.id: s.name for s in scenario.meta.sides}
    out: list[DigestItem] = []
    ev = events if isinstance(events, pd.DataFrame) else pd.DataFrame()
    if len(ev):
        if replication is None:
            replication = int(ev["replication"].iloc[0])
        ev = ev[ev["replication"] == replication]
    eng = ev[ev["kind"] == "engagement"] if len(ev) else ev
    if len(eng):
        eng = eng.assign(day=pd.to_datetime(eng["time"]).dt.floor("D"),
                         defender=eng["units"].astype(str).str.split(",").str[0])
        for (day, dfd), g in eng.groupby(["day", "defender"], sort=True):
            ids = [x for part in g["units"].astype(str) for x in part.split(",")[1:]]
            attackers = list(dict.fromkeys(ids))
            d = units.get(dfd)
            a_side = units[attackers[0]].side if attackers and attackers[0] in units else ""
            outcome = next((label for key, label in _OUTCOMES if (g["detail"] == key).any()), "fighting went on")
            where = _nearest_town(scenario, float(g["lat"].iloc[-1]), float(g["lon"].iloc[-1]))
            att = ", ".join(units[a].name if a in units else a for a in attackers) or "unknown attackers"
            text = (f"{att} ({sides.get(a_side, a_side)}) attacked {d.name if d else dfd} "
                    f"({sides.get(d.side, d.side) if d else ''}) {where}: {outcome}"
                    f" ({len(g)} step{'s' if len(g) != 1 else ''} of fighting)")
            out.append(DigestItem(pd.Timestamp(g["time"].min()), "engagement",
                                  tuple(x for x in (a_side, d.side if d else "") if x), text, "simulated"))
    phases = {ph.id: ph.name for pl in scenario.plans for ph in pl.phases}
    # orders issued are noise beside the phases that begin (the command delay is in between)
    other = ev[~ev["kind"].isin(["engagement", "phase_issued"])] if len(ev) else ev
    for _, row in other.iterrows():
        names = [units[u].name if u in units else u for u in str(row.get("units") or "").split(",") if u]
        side = str(row.get("side") or "")
        who = ", ".join(names) or sides.get(side, side)
        detail = str(row.get("detail", ""))
        if row["kind"] == "phase_start":
            detail = f"begins {phases.get(detail, detail)}"
        text = f"{who}: {detail}" if who else detail
        out.append(DigestItem(pd.Timestamp(row["time"]), str(row["kind"]), (side,) if side else (), text,
                              "simulated"))
    if historical:
        for e in scenario.events:
            names = ", ".join(units[u].name if u in units else u for u in e.units)
            out.append(DigestItem(pd.Timestamp(e.date).tz_localize(None) if pd.Timestamp(e.date).tzinfo else
                                  pd.Timestamp(e.date), e.kind, tuple(sorted({units[u].side for u in e.units
                                                                               if u in units})),
                                  e.description + (f" [{names}]" if names else ""), "historical"))
    out.sort(key=lambda x: (x.time, x.source != "historical"))
    return out


def digest_frame(items: list[DigestItem]) -> pd.DataFrame:
    """The digest as a DataFrame (time, kind, sides, text, source)."""
    return pd.DataFrame([{**i.as_dict(), "sides": ",".join(i.sides)} for i in items],
                        columns=["time", "kind", "sides", "text", "source"])
