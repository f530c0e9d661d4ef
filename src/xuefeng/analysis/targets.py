"""Historical targets of a scenario, as data (`history_targets.yaml`).

A scenario folder may hold `history_targets.yaml` beside its scenario file:
what the sources say happened, written as checks on an ensemble, and the
summary aliases of that scenario. Code knows no scenario: every place, side
and unit named by a check comes from this file.

    scenario: west-hunan-1945
    advance: {start: <town id>, objective: <town or airfield id>}
    summary_aliases: {p_chinese_victory: p_victory.china, ...}
    targets:
      - name: ...                 # identifier shown in the table
        source: ...               # the source's words
        text: ...                 # the target in words
        kind: probability | median_range | median_comparison
        quantity: ...             # see xuefeng.analysis.quantities
        units: [...]              # for latest_arrival (subordinates included)
        min: / max:               # bounds, inclusive (numbers or dates)
        greater_than: ...         # median_comparison: the other quantity

Kinds:
- probability: the fraction of replications in which the (0/1) quantity is 1
  lies within [min, max];
- median_range: the median over replications lies within [min, max] (either
  bound may be left out; times as ISO dates/datetimes);
- median_comparison: the quantity's median exceeds `greater_than`'s median.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from xuefeng.analysis.quantities import QuantityError, evaluate, great_circle_km

TARGETS_FILE = "history_targets.yaml"

Bound = float | dt.datetime | dt.date


class TargetsError(ValueError):
    """A targets file that is missing, unreadable or inconsistent with its scenario."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class AdvanceReference(_Frozen):
    """The line an advance is measured along: start town → objective."""

    start: str
    objective: str


class Target(_Frozen):
    name: str = Field(min_length=1)
    source: str = Field(min_length=1, description="The source's words this target rests on.")
    text: str = Field(min_length=1, description="The target in words.")
    kind: Literal["probability", "median_range", "median_comparison"]
    quantity: str
    units: list[str] = Field(default_factory=list)
    min: Bound | None = None
    max: Bound | None = None
    greater_than: str | None = None

    @model_validator(mode="after")
    def _bounds(self) -> Target:
        if self.kind == "median_comparison":
            if not self.greater_than:
                raise ValueError(f"target '{self.name}': a median_comparison needs 'greater_than'")
        elif self.min is None and self.max is None:
            raise ValueError(f"target '{self.name}': give 'min', 'max' or both")
        if self.kind == "probability":
            for b in (self.min, self.max):
                if b is not None and not (isinstance(b, float) and 0.0 <= b <= 1.0):
                    raise ValueError(f"target '{self.name}': probability bounds must be between 0 and 1")
        return self


class HistoryTargets(_Frozen):
    scenario: str
    advance: AdvanceReference | None = None
    summary_aliases: dict[str, str] = Field(default_factory=dict)
    targets: list[Target] = Field(default_factory=list)

    def advance_distance_km(self, scenario) -> float | None:
        """Great-circle distance from the start town to the objective."""
        if self.advance is None:
            return None
        a, b = scenario.place(self.advance.start), scenario.place(self.advance.objective)
        return great_circle_km(a.lat, a.lon, b.lat, b.lon)


def find_targets_file(name_or_path: str | Path) -> Path | None:
    """The targets file beside a scenario given as a packaged name, a
    scenario file or a scenario folder (resolved as `load_scenario` resolves
    it); None if the scenario has none. Raises ScenarioError for a scenario
    that does not exist."""
    from xuefeng.scenario.loader import resolve_scenario_file

    f = resolve_scenario_file(name_or_path).parent / TARGETS_FILE
    return f if f.is_file() else None


def load_targets(path: str | Path) -> HistoryTargets:
    """Read and type-check a targets file (errors name the file and field)."""
    from xuefeng.scenario.errors import ScenarioError
    from xuefeng.scenario.loader import read_yaml_file, validation_error

    try:
        raw, src = read_yaml_file(path)  # the scenario's own safe reader: file:line for every problem
    except ScenarioError as e:
        raise TargetsError(str(e)) from None
    try:
        return HistoryTargets.model_validate(raw)
    except ValidationError as e:
        raise TargetsError(str(validation_error(e, src))) from None
    except (TypeError, RecursionError, OverflowError) as e:  # values pydantic cannot compare
        raise TargetsError(f"{path}: cannot validate: {e}") from None


def load_targets_for(name_or_path: str | Path) -> HistoryTargets | None:
    f = find_targets_file(name_or_path)
    return load_targets(f) if f is not None else None


def check_against(targets: HistoryTargets, scenario, results=None) -> None:
    """Raise TargetsError if the file names sides, places or units the scenario
    lacks, or quantities that cannot be evaluated on `results`."""
    errors: list[str] = []
    sides = {s.id for s in scenario.meta.sides}
    units = {u.id for u in scenario.units}
    denominator = None
    if targets.advance is not None:
        for role in ("start", "objective"):
            pid = getattr(targets.advance, role)
            try:
                scenario.place(pid)
            except KeyError:
                errors.append(f"advance.{role}: unknown town/airfield '{pid}'")
        if not errors:
            denominator = targets.advance_distance_km(scenario)
    for t in targets.targets:
        for uid in t.units:
            if uid not in units:
                errors.append(f"target '{t.name}': unknown unit '{uid}'")
        for q in (t.quantity, t.greater_than):
            if not q:
                continue
            parts = q.split(".")
            if parts[0] in ("victory", "aircrew_lost", "casualties", "battle_casualties_to_day") and len(parts) > 1 \
                    and parts[1] not in sides:
                errors.append(f"target '{t.name}': unknown side '{parts[1]}' in '{q}'")
            if results is not None:
                try:
                    evaluate(results, q, scenario, units=t.units, advance_km_denominator=denominator)
                except QuantityError as e:
                    errors.append(f"target '{t.name}': {e}")
    if errors:
        raise TargetsError(f"history targets for '{targets.scenario}': " + "; ".join(errors))
