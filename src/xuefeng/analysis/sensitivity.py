"""Global sensitivity of the campaign's main outcomes to the engine parameters
(Sobol indices, SALib): which factors decided the campaign.

Each parameter varies over a range (a curated default list, ±50% of the
scenario's value unless documented bounds say otherwise; `NAME=LO:HI` gives
one). Saltelli's scheme (SALib's Sobol sequence sampler, first and total
order only) draws `base * (D + 2)` parameter sets for D parameters; each set
is run as `replications` replications with the same seed and replication ids
(common random numbers, so the indices measure the parameters, not the
dice), and each outcome is its mean over those replications.

Outcomes (generic, from the scenario's first victory condition): the
defender's victory (0/1 per replication, so its mean is the probability),
the attacker's furthest advance, the attacker's battle casualties and sick,
the defender's battle casualties.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from xuefeng.results.model import BATTLE_CATEGORIES, CATEGORIES, Results

#: Curated default factors: (sub_model.field, low, high); None bounds = ±50% of the scenario's value.
DEFAULT_FACTORS: tuple[tuple[str, float | None, float | None], ...] = (
    ("combat.intensity", None, None),
    ("combat.advantage_scale", None, None),
    ("medical.base_incidence_per_day", None, None),
    ("ai.halt_ratio", None, None),
    ("ai.retreat_morale", None, None),
    ("supply.reach_hours_foot", None, None),
    ("air.presence_sorties_per_day", None, None),
    ("command.base_delay_hours", None, None),
)
DEFAULT_BASE = 8
DEFAULT_REPLICATIONS = 2
RELATIVE_RANGE = 0.5


class SensitivityError(ValueError):
    """A parameter name or range the user can fix."""


@dataclass(frozen=True)
class Factor:
    name: str  # sub_model.field
    low: float
    high: float
    integer: bool = False


def _param_names(params: Any) -> list[str]:
    out = []
    for f in dataclasses.fields(params):
        sub = getattr(params, f.name)
        for g in dataclasses.fields(sub):
            v = getattr(sub, g.name)
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                out.append(f"{f.name}.{g.name}")
    return out


def parse_factor(text: str, params: Any) -> Factor:
    """`sub_model.field` or `sub_model.field=LO:HI` -> Factor (±50% of the current value by default)."""
    name, _, rng = text.partition("=")
    name = name.strip()
    if name.startswith("params."):
        name = name[len("params."):]
    known = _param_names(params)
    if name not in known:
        raise SensitivityError(f"--params {text}: unknown numeric engine parameter '{name}' "
                               f"(valid: {', '.join(known)})")
    sub, fld = name.split(".")
    cur = getattr(getattr(params, sub), fld)
    integer = isinstance(cur, int)
    if rng:
        try:
            lo_s, hi_s = rng.split(":")
            lo, hi = float(lo_s), float(hi_s)
        except ValueError:
            raise SensitivityError(f"--params {text}: expected NAME=LOW:HIGH (e.g. combat.intensity=0.5:1.5)") \
                from None
    else:
        if cur == 0:
            raise SensitivityError(f"--params {text}: its value is 0, so ±50% is no range; give one as "
                                   f"{name}=LOW:HIGH")
        lo, hi = cur * (1 - RELATIVE_RANGE), cur * (1 + RELATIVE_RANGE)
        if fld.endswith("_fraction") or fld.endswith("_floor"):
            hi = min(hi, 1.0)
    if not (math.isfinite(lo) and math.isfinite(hi)) or not lo < hi or lo < 0:
        raise SensitivityError(f"--params {text}: need 0 <= LOW < HIGH (got {lo}:{hi})")
    return Factor(name=name, low=float(lo), high=float(hi), integer=integer)


def default_factors(params: Any) -> list[Factor]:
    out = []
    for name, lo, hi in DEFAULT_FACTORS:
        out.append(parse_factor(name if lo is None else f"{name}={lo}:{hi}", params))
    return out


def apply_point(params: Any, factors: Sequence[Factor], x: np.ndarray) -> Any:
    """Parameters with each factor set to its value in sample row x."""
    by_sub: dict[str, dict[str, Any]] = {}
    for f, v in zip(factors, x):
        sub, fld = f.name.split(".")
        by_sub.setdefault(sub, {})[fld] = int(round(float(v))) if f.integer else float(v)
    return params.with_overrides(by_sub)  # the engine's one override mechanism


def outcome_names(scenario: Any) -> tuple[str, str, list[str]]:
    """(defender, attacker, outcome names) from the first victory condition (else sides 0 and 1)."""
    sides = [s.id for s in scenario.meta.sides]
    defender = scenario.victory[0].side if getattr(scenario, "victory", None) else sides[0]
    attacker = next(s for s in sides if s != defender)
    return defender, attacker, [f"victory.{defender}", "advance_km", f"battle_casualties.{attacker}",
                                f"sick.{attacker}", f"battle_casualties.{defender}"]


def outcomes_of(results: Results, defender: str, attacker: str) -> np.ndarray:
    """Mean of each outcome over the replications of one parameter set."""
    sl = results.side_ledger()
    d, a = results.sides.index(defender), results.sides.index(attacker)
    battle = [CATEGORIES.index(c) for c in BATTLE_CATEGORIES]
    sick = CATEGORIES.index("sick")
    return np.array([
        float(np.mean(np.asarray(results.outcome.winner) == d)),
        float(np.mean(results.outcome.advance_km)),
        float(np.mean(sl[:, a, battle].sum(1))),
        float(np.mean(sl[:, a, sick])),
        float(np.mean(sl[:, d, battle].sum(1))),
    ])


@dataclass
class SensitivityResult:
    scenario: str
    seed: int
    base: int
    replications: int
    factors: list[Factor]
    outcomes: list[str]
    samples: np.ndarray  # (points, D)
    values: np.ndarray  # (points, outcomes)
    indices: dict[str, list[dict[str, float | str]]]  # outcome -> rows ranked by ST
    constant: list[str] = dataclasses.field(default_factory=list)  # outcomes that never varied

    def as_dict(self) -> dict[str, Any]:
        return {"scenario": self.scenario, "seed": self.seed, "base_samples": self.base,
                "points": int(self.samples.shape[0]), "replications_per_point": self.replications,
                "factors": [dataclasses.asdict(f) for f in self.factors], "outcomes": self.outcomes,
                "indices": self.indices, "constant_outcomes": self.constant}


def run_sensitivity(scenario: Any, factors: Sequence[Factor] | None = None, base: int = DEFAULT_BASE,
                    replications: int = DEFAULT_REPLICATIONS, seed: int = 0, *, workers: int = 1,
                    scheduler: str | None = None, until: Any = None,
                    progress: Callable[[int, int], None] | None = None) -> SensitivityResult:
    """Sample, run every parameter set, and compute first-order and total Sobol indices."""
    import warnings

    from SALib.analyze import sobol as sobol_analyze
    from SALib.sample import sobol as sobol_sample

    from xuefeng.analysis.ensemble import Job, iter_jobs
    from xuefeng.analysis.whatif import Setup

    setup = Setup.baseline(scenario)
    factors = list(factors) if factors else default_factors(setup.params)
    if len({f.name for f in factors}) != len(factors):
        raise SensitivityError("--params: a parameter is named twice")
    if base < 2:
        raise SensitivityError("-n: the base sample needs at least 2 points")
    problem = {"num_vars": len(factors), "names": [f.name for f in factors],
               "bounds": [[f.low, f.high] for f in factors]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SALib warns when base is not a power of 2
        X = sobol_sample.sample(problem, base, calc_second_order=False, seed=seed)
    defender, attacker, names = outcome_names(scenario)
    jobs = [Job(key=i, seed=seed, first=0, count=replications, keep_series=0,
                params=apply_point(setup.params, factors, x), config=setup.config, until=until)
            for i, x in enumerate(X)]
    Y = np.full((len(X), len(names)), np.nan)
    done = 0
    if progress:
        progress(0, len(jobs))
    for key, res in iter_jobs(scenario, jobs, workers=workers, scheduler=scheduler):
        Y[key] = outcomes_of(res, defender, attacker)
        done += 1
        if progress:
            progress(done, len(jobs))
    indices: dict[str, list[dict[str, float | str]]] = {}
    constant: list[str] = []
    for j, name in enumerate(names):
        y = Y[:, j]
        rows: list[dict[str, float | str]] = []
        if np.nanstd(y) > 0:
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                si = sobol_analyze.analyze(problem, y, calc_second_order=False, conf_level=0.95,
                                           print_to_console=False, seed=seed)
            for k, f in enumerate(factors):
                rows.append({"parameter": f.name, "S1": float(si["S1"][k]), "S1_conf": float(si["S1_conf"][k]),
                             "ST": float(si["ST"][k]), "ST_conf": float(si["ST_conf"][k])})
            rows.sort(key=lambda r: -float(r["ST"]) if math.isfinite(float(r["ST"])) else math.inf)
        else:  # the outcome never changed: no variance to apportion
            constant.append(name)
            rows = [{"parameter": f.name, "S1": 0.0, "S1_conf": 0.0, "ST": 0.0, "ST_conf": 0.0} for f in factors]
        indices[name] = rows
    return SensitivityResult(scenario=scenario.meta.name, seed=seed, base=base, replications=replications,
                             factors=factors, outcomes=names, samples=X, values=Y, indices=indices,
                             constant=constant)


def plot(result: SensitivityResult, path: Any) -> None:
    """Bar plot of S1 and ST (95% confidence as error bars), one panel per outcome."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    k = len(result.outcomes)
    names = [f.name for f in result.factors]
    fig, axes = plt.subplots(1, k, figsize=(3.2 * k + 1.5, 0.45 * len(names) + 1.8), sharey=True, squeeze=False)
    y = np.arange(len(names))
    for ax, out in zip(axes[0], result.outcomes):
        rows = {r["parameter"]: r for r in result.indices[out]}
        s1 = np.array([float(rows[n]["S1"]) for n in names])
        st = np.array([float(rows[n]["ST"]) for n in names])
        s1c = np.array([float(rows[n]["S1_conf"]) for n in names])
        stc = np.array([float(rows[n]["ST_conf"]) for n in names])
        ax.barh(y - 0.2, np.nan_to_num(s1), 0.4, xerr=np.nan_to_num(s1c), label="S1 (first order)", color="#4c72b0")
        ax.barh(y + 0.2, np.nan_to_num(st), 0.4, xerr=np.nan_to_num(stc), label="ST (total)", color="#dd8452")
        ax.set_title(out.replace("_", " "), fontsize=9)
        if out in result.constant:
            ax.text(0.5, 0.5, "never varied:\nno indices", transform=ax.transAxes, ha="center", va="center",
                    fontsize=9, color="0.4")
        ax.axvline(0, color="k", lw=0.5)
        ax.set_xlim(left=min(0.0, float(np.nanmin(np.r_[s1 - s1c, 0.0]))))
    axes[0][0].set_yticks(y, names, fontsize=8)
    axes[0][0].invert_yaxis()
    axes[0][-1].legend(fontsize=7, loc="lower right")
    fig.suptitle(f"{result.scenario}: Sobol sensitivity ({result.samples.shape[0]} parameter sets × "
                 f"{result.replications} replications, seed {result.seed})", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
