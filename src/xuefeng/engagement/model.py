"""The engagement model: a Dupuy-style multiplicative combat-power ratio.

Combat power of each side is its strength times a product of factors; the
model works with the logarithm of the attacker-to-defender power ratio::

    log R = alpha * log(S_a / S_d)
          + w_art  * [log(1 + 1000 guns_a / S_a) - log(1 + 1000 guns_d / S_d)]
          + w_tank * [log(1 + 1000 tanks_a / S_a) - log(1 + 1000 tanks_d / S_d)]
          + sum_k theta_k * x_k          (air superiority, surprise, posture,
                                          terrain, weather, year, era (the
                                          casualty model's era bins), front density,
                                          the eight judgement advantages)
          + sum_k theta'_k * x_k * [year >= 1900]   (the modern change of each
                                          advantage factor)

    P(attacker wins) = 1 / (1 + exp(-(beta_0 + log R)))

so each factor's ``exp(theta_k)`` is its multiplier on the attacker's power
ratio (a Dupuy factor) and ``exp(theta_k / alpha)`` the equivalent
multiplier on the attacker's strength.

Casualties of side s (attacker a, defender d) over an engagement lasting
``duration_hours`` are log-t distributed (Student t on the log scale) with
median::

    log C_s = log S_s + gamma_s . z_s + lambda_s * log R

where ``z_s`` holds the side's own size, the enemy-to-own strength ratio,
duration (log and log squared), the defender's posture, the enemy's
firepower density, the era of the battle, the front density, the weather and
the advantages; ``lambda_s`` ties losses to the same power ratio that decides
the winner.  Optional war, theatre and campaign effects (random effects
fitted on CDB90's WAR and CAMPGN texts) add to log R and to each side's log
casualties when the caller names a war or campaign that is in CDB90.  The
fitting is in :mod:`xuefeng.engagement.fit`; docs/engagement-model.md has
the fitted values.

Prediction is pure NumPy and vectorised over any broadcastable shape.
Unknown inputs (NaN) take the mean of that feature over the fitting data,
so an unknown posture counts as the average posture, and so on.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

POSTURES: tuple[str, ...] = (
    "hasty_defence", "prepared_defence", "fortified_defence", "delay", "withdrawal",
)
TERRAINS: tuple[str, ...] = (
    "flat", "rolling", "hills", "mountains", "forest", "marsh", "urban", "water",
)
ADVANTAGES: tuple[str, ...] = (
    "leadership", "training", "morale", "logistics", "momentum", "intelligence",
    "technology", "initiative",
)

#: Era bins (start years) for the casualty model; the first is the baseline.
ERA_BINS: tuple[tuple[str, float, float], ...] = (
    ("era_1600_1749", -math.inf, 1750.0),
    ("era_1750_1849", 1750.0, 1850.0),
    ("era_1850_1899", 1850.0, 1900.0),
    ("era_1900_1919", 1900.0, 1920.0),
    ("era_1920_1945", 1920.0, 1946.0),
    ("era_1946_on", 1946.0, math.inf),
)

# Terrain index (TERRAINS) -> terrain feature column; rolling is the baseline,
# mountains share the hills value (CDB90's "rugged"), water is unknown.
_TERRAIN_FEATURES: tuple[str, ...] = (
    "terrain_flat", "terrain_hills", "terrain_forest", "terrain_marsh", "terrain_urban",
)
_TERRAIN_TO_FEATURE: dict[int, int | None] = {0: 0, 1: None, 2: 1, 3: 1, 4: 2, 5: 3, 6: 4}
_POSTURE_FEATURES: tuple[str, ...] = (
    "posture_prepared", "posture_fortified", "posture_delay", "posture_withdrawal",
)
# In log R the posture is coded cumulatively so that the fit can keep
# hasty >= prepared >= fortified (from the attacker's side) by simple bounds.
_DEFENCE_FEATURES: tuple[str, ...] = (
    "defence_prepared", "defence_fortified", "defence_delay", "defence_withdrawal",
)

#: Battles from this year on are "modern" (breech-loaders, magazine rifles,
#: quick-firing artillery); each advantage factor has a modern change.
MODERN_YEAR = 1900.0

#: Features of log R (besides the intercept).
POWER_FEATURES: tuple[str, ...] = (
    "force_ratio", "artillery", "tanks", "air_superiority", "surprise",
    *_DEFENCE_FEATURES, *_TERRAIN_FEATURES,
    "wet_weather", "front_density", "year", *(e[0] for e in ERA_BINS[1:]),
    *(f"adv_{a}" for a in ADVANTAGES),
    *(f"adv_{a}_1900" for a in ADVANTAGES),
)
#: Features of each side's log casualty fraction (besides lambda * log R).
CASUALTY_FEATURES: tuple[str, ...] = (
    "intercept", "own_size", "enemy_ratio", "log_duration", "log_duration_sq",
    *_POSTURE_FEATURES, "enemy_artillery", "enemy_tanks", "front_density",
    "wet_weather", *(e[0] for e in ERA_BINS[1:]),
    *(f"adv_{a}" for a in ADVANTAGES),
)

HUMAN_NAMES: dict[str, str] = {
    "intercept": "intercept",
    "force_ratio": "log force ratio S_a/S_d (exponent alpha)",
    "artillery": "artillery per 1000 men, log(1+x), att - def",
    "tanks": "tanks per 1000 men, log(1+x), att - def",
    "air_superiority": "air superiority (AEROA, -1..1)",
    "surprise": "surprise (SURPA/3, -1..1)",
    "defence_prepared": "defender prepared or fortified (vs hasty)",
    "defence_fortified": "defender fortified (over prepared)",
    "defence_delay": "defender delaying (vs hasty)",
    "defence_withdrawal": "defender withdrawing (vs hasty)",
    "posture_prepared": "defender: prepared defence (vs hasty)",
    "posture_fortified": "defender: fortified defence (vs hasty)",
    "posture_delay": "defender: delay (vs hasty)",
    "posture_withdrawal": "defender: withdrawal (vs hasty)",
    "terrain_flat": "terrain: flat (vs rolling)",
    "terrain_hills": "terrain: hills/mountains, rugged (vs rolling)",
    "terrain_forest": "terrain: heavily wooded (vs rolling)",
    "terrain_marsh": "terrain: marsh (vs rolling)",
    "terrain_urban": "terrain: urban (vs rolling)",
    "wet_weather": "wet weather (vs dry)",
    "front_density": "log defender men per km of front, centred at 10^3.5",
    "year": "year of battle, (year-1900)/100",
    "own_size": "log own strength, centred at 10^4 men",
    "enemy_ratio": "log enemy/own strength",
    "log_duration": "log(duration / 24 h)",
    "log_duration_sq": "log(duration / 24 h)^2",
    "enemy_artillery": "enemy artillery per 1000 men, log(1+x)",
    "enemy_tanks": "enemy tanks per 1000 men, log(1+x)",
    **{f"adv_{a}": f"attacker's {a} advantage (-4..4)" for a in ADVANTAGES},
    **{f"adv_{a}_1900": f"change of the {a} factor from 1900 on (advantage x [year >= 1900])"
       for a in ADVANTAGES},
    **{e[0]: f"era {e[0][4:].replace('_', '-')} (vs before 1750)" for e in ERA_BINS[1:]},
}


def _clean(text: Any) -> str:
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return ""
    t = " ".join(str(text).upper().split())
    return "" if t in ("?", "NAN", "NONE") else t


def war_keys(war: Any, campaign: Any = None) -> tuple[str, ...]:
    """Group keys of a battle: the war (CDB90 WAR text before any
    parenthesis), the theatre (the full WAR text, when it has a parenthesis)
    and the campaign (CDB90 CAMPGN text)."""
    keys = []
    text = _clean(war)
    if text:
        broad = text.split("(")[0].strip(" ,")
        if broad:
            keys.append(f"war:{broad}")
        if "(" in text:
            keys.append(f"theatre:{text}")
    camp = _clean(campaign)
    if camp:
        keys.append(f"campaign:{camp}")
    return tuple(keys)


def _f(x: Any) -> np.ndarray:
    return np.asarray(x, dtype=float)


def _density(count: np.ndarray, strength: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log1p(1000.0 * np.maximum(count, 0.0) / strength)


def build_features(
    att_strength: Any,
    def_strength: Any,
    att_artillery: Any = np.nan,
    def_artillery: Any = np.nan,
    att_tanks: Any = np.nan,
    def_tanks: Any = np.nan,
    air_superiority: Any = np.nan,
    surprise: Any = np.nan,
    defender_posture: Any = np.nan,
    terrain: Any = np.nan,
    duration_hours: Any = np.nan,
    front_km: Any = np.nan,
    advantages: Any = None,
    year: Any = np.nan,
    wet: Any = np.nan,
) -> tuple[dict[str, np.ndarray], tuple[int, ...]]:
    """Raw model features (NaN where unknown), broadcast to a common shape.

    Returns ``(features, shape)``; ``features`` maps every name in
    :data:`POWER_FEATURES` and the side-specific casualty features
    (``att:…``/``def:…``) to an array of ``shape``.
    """
    sa, sd = _f(att_strength), _f(def_strength)
    if advantages is None:
        adv = np.full((len(ADVANTAGES),), np.nan)
    else:
        adv = _f(advantages)
        if adv.shape[-1:] != (len(ADVANTAGES),):
            raise ValueError(
                f"advantages must have a last axis of length {len(ADVANTAGES)} ({', '.join(ADVANTAGES)})"
            )
    others = [_f(v) for v in (
        att_artillery, def_artillery, att_tanks, def_tanks, air_superiority, surprise,
        defender_posture, terrain, duration_hours, front_km, year, wet,
    )]
    shape = np.broadcast_shapes(sa.shape, sd.shape, adv.shape[:-1], *(o.shape for o in others))
    sa = np.broadcast_to(sa, shape)
    sd = np.broadcast_to(sd, shape)
    (aa, da, at, dt, air, sur, post, terr, dur, front, yr, wet_) = (
        np.broadcast_to(o, shape) for o in others
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        sa = np.where(sa > 0, sa, np.nan)
        sd = np.where(sd > 0, sd, np.nan)
        lsa, lsd = np.log(sa), np.log(sd)
        feats: dict[str, np.ndarray] = {}
        feats["force_ratio"] = lsa - lsd
        da_a, da_d = _density(aa, sa), _density(da, sd)
        dt_a, dt_d = _density(at, sa), _density(dt, sd)
        feats["artillery"] = da_a - da_d
        feats["tanks"] = dt_a - dt_d
        feats["air_superiority"] = np.where(np.abs(air) <= 1, air, np.nan)
        feats["surprise"] = np.where(np.abs(sur) <= 1, sur, np.nan)
        p_known = np.isfinite(post) & (post >= 0) & (post < len(POSTURES))
        for i, name in enumerate(_POSTURE_FEATURES, start=1):
            feats[name] = np.where(p_known, (post == i).astype(float), np.nan)
        feats["defence_prepared"] = np.where(p_known, ((post == 1) | (post == 2)).astype(float), np.nan)
        feats["defence_fortified"] = feats["posture_fortified"]
        feats["defence_delay"] = feats["posture_delay"]
        feats["defence_withdrawal"] = feats["posture_withdrawal"]
        t_known = np.isfinite(terr) & (terr >= 0) & (terr < 7)  # 7 = water: unknown
        t_int = np.where(t_known, terr, -1).astype(int)
        for j, name in enumerate(_TERRAIN_FEATURES):
            hit = np.zeros(shape, dtype=bool)
            for t_idx, f_idx in _TERRAIN_TO_FEATURE.items():
                if f_idx == j:
                    hit |= t_int == t_idx
            feats[name] = np.where(t_known, hit.astype(float), np.nan)
        feats["wet_weather"] = np.where(np.isfinite(wet_), (wet_ > 0.5).astype(float), np.nan)
        fr = np.where(front > 0, front, np.nan)
        feats["front_density"] = lsd - np.log(fr) - 3.5 * math.log(10)
        feats["year"] = (yr - 1900.0) / 100.0

        modern = np.where(np.isfinite(yr), (yr >= MODERN_YEAR).astype(float), np.nan)
        for k, a in enumerate(ADVANTAGES):
            v = np.broadcast_to(adv[..., k], shape)
            feats[f"adv_{a}"] = np.where(np.abs(v) <= 4, v, np.nan)
            # unknown year: NaN (filled with the fitting data's mean) unless
            # the advantage is 0, when the modern change is 0 whatever the year
            feats[f"adv_{a}_1900"] = np.where(feats[f"adv_{a}"] == 0, 0.0, feats[f"adv_{a}"] * modern)

        d = np.where(dur > 0, dur, np.nan)
        ld = np.log(d / 24.0)
        era = {}
        yknown = np.isfinite(yr)
        for name, lo, hi in ERA_BINS[1:]:
            era[name] = np.where(yknown, ((yr >= lo) & (yr < hi)).astype(float), np.nan)
            feats[name] = era[name]  # the era's factor on log R
        for side, own, other, e_art, e_tank in (
            ("att", lsa, lsd, da_d, dt_d),
            ("def", lsd, lsa, da_a, dt_a),
        ):
            feats[f"{side}:intercept"] = np.ones(shape)
            feats[f"{side}:own_size"] = own - 4.0 * math.log(10)
            feats[f"{side}:enemy_ratio"] = other - own
            feats[f"{side}:log_duration"] = ld
            feats[f"{side}:log_duration_sq"] = ld * ld
            for name in _POSTURE_FEATURES:
                feats[f"{side}:{name}"] = feats[name]
            feats[f"{side}:enemy_artillery"] = e_art
            feats[f"{side}:enemy_tanks"] = e_tank
            for name, v in era.items():
                feats[f"{side}:{name}"] = v
            for name in CASUALTY_FEATURES:
                if f"{side}:{name}" not in feats:
                    feats[f"{side}:{name}"] = feats[name]
    return feats, shape


@dataclass
class EngagementModel:
    """Fitted parameters and prediction.  See the module docstring."""

    power: dict[str, float]  # includes "intercept"
    casualty: dict[str, dict[str, float]]  # side -> feature -> coef, plus "lambda", "sigma"
    fill: dict[str, float]  # feature -> value used when unknown
    se: dict[str, float] = field(default_factory=dict)  # "power:x", "att:x", "def:x"
    groups: dict[str, dict[str, float]] = field(default_factory=dict)  # part -> war key -> effect
    meta: dict[str, Any] = field(default_factory=dict)
    #: era bin -> mean battle duration (h) at 10^4 men of CDB90's battles of that era ("all":
    #: pooled), and "size_exponent": T grows as men^b; the hazard of an ongoing engagement
    #: ending (xuefeng.engagement.ongoing.fit_duration)
    duration: dict[str, float] = field(default_factory=dict)
    #: era bin -> quantiles of the km a winning attacker advanced in CDB90 (ongoing.ADVANCE_LEVELS),
    #: stated for a battle of 10^4 men: a battle of `men` advances (men / 10^4)^advance_size_exponent
    #: times as far (ongoing.advance_size_exponent)
    advance: dict[str, list[float]] = field(default_factory=dict)
    advance_size_exponent: float = 0.0

    # ------------------------------------------------------------------ io
    @classmethod
    def default(cls) -> "EngagementModel":
        """The model fitted on CDB90 and shipped with the package."""
        ref = resources.files("xuefeng.engagement").joinpath("data/params.json")
        return cls.from_dict(json.loads(ref.read_text(encoding="utf-8")))

    @classmethod
    def load(cls, path: str | Path) -> "EngagementModel":
        """A parameter file, checked against its schema (`params_file.ParamsFileError` names the
        field that is wrong)."""
        from xuefeng.engagement.params_file import read_params_file

        return cls.from_dict(read_params_file(path))

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "EngagementModel":
        try:
            return cls(
                power={k: float(v) for k, v in d["power"].items()},
                casualty={
                    s: {k: float(v) for k, v in d["casualty"][s].items()} for s in ("att", "def")
                },
                fill={k: float(v) for k, v in d["fill"].items()},
                se={k: float(v) for k, v in d.get("se", {}).items()},
                groups={p: {k: float(v) for k, v in g.items()} for p, g in d.get("groups", {}).items()},
                meta=dict(d.get("meta", {})),
                duration={k: float(v) for k, v in d.get("duration", {}).items()},
                advance={k: [float(x) for x in v] for k, v in d.get("advance", {}).items()},
                advance_size_exponent=float(d.get("advance_size_exponent", 0.0)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not an engagement parameter file ({exc!r})") from exc

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": "xuefeng-engagement-params/1",
            "power": self.power,
            "casualty": self.casualty,
            "fill": self.fill,
            "se": self.se,
            "groups": self.groups,
            "meta": self.meta,
            "duration": self.duration,
            "advance": self.advance,
            "advance_size_exponent": self.advance_size_exponent,
        }

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=1, sort_keys=False) + "\n")

    def mean_duration_hours(self, year: float, men: Any = None) -> Any:
        """Mean duration (h) of a battle of `year`'s era with `men` on both sides (default
        10^4), as fitted on the data (xuefeng.engagement.ongoing.fit_duration): the mean time to
        decision of an ongoing engagement. A model file without durations answers 24 h."""
        from xuefeng.engagement.ongoing import decision_hours

        law = self.duration_law(year)
        return law[0] if men is None else decision_hours(law, men)

    def duration_law(self, year: float) -> tuple[float, float]:
        """(mean duration in h at 10^4 men, size exponent) for `year`'s era."""
        from xuefeng.engagement.ongoing import era_of

        if not self.duration:
            return 24.0, 0.0
        v = self.duration.get(era_of(float(year)) if math.isfinite(year) else "all", self.duration.get("all", 24.0))
        b = float(self.duration.get("size_exponent", 0.0))
        return (float(v) if math.isfinite(v) and v > 0 else 24.0), (b if math.isfinite(b) else 0.0)

    def advance_quantiles(self, year: float) -> list[float]:
        """Quantiles of the km a winning attacker advanced in the fitting data's battles of
        `year`'s era, for a battle of 10^4 men (scale by `advance_size_exponent`; empty for a
        model file without them)."""
        from xuefeng.engagement.ongoing import era_of

        if not self.advance:
            return []
        return list(self.advance.get(era_of(float(year)) if math.isfinite(year) else "all",
                                     self.advance.get("all", [])))

    # ------------------------------------------------------------- predict
    def _filled(self, feats: dict[str, np.ndarray], name: str) -> np.ndarray:
        v = feats[name]
        fill = self.fill.get(name, 0.0)
        return np.where(np.isfinite(v), v, fill)

    def log_power_ratio(self, feats: dict[str, np.ndarray], shape: tuple[int, ...]) -> np.ndarray:
        """log R without the intercept (NaN where strengths are unknown)."""
        out = np.zeros(shape)
        for name in POWER_FEATURES:
            c = self.power.get(name, 0.0)
            if c != 0.0:
                out = out + c * self._filled(feats, name)
        # rows without both strengths cannot be predicted
        return np.where(np.isfinite(feats["force_ratio"]), out, np.nan)

    def group_effect(self, part: str, war: Any, campaign: Any, shape: tuple[int, ...]) -> np.ndarray:
        """Sum of the fitted war, theatre and campaign effects (0 for unknown ones)."""
        table = self.groups.get(part, {})
        w = np.broadcast_to(np.asarray(war, dtype=object), shape)
        c = np.broadcast_to(np.asarray(campaign, dtype=object), shape)
        out = np.zeros(shape)
        cache: dict[Any, float] = {}
        for idx in np.ndindex(*shape):
            key = (w[idx], c[idx])
            if key not in cache:
                cache[key] = sum(table.get(k, 0.0) for k in war_keys(*key))
            out[idx] = cache[key]
        return out

    def log_casualty_fraction(
        self, side: str, feats: dict[str, np.ndarray], log_r: np.ndarray
    ) -> np.ndarray:
        ld = self._filled(feats, f"{side}:log_duration")
        return self._log_casualty_base(side, feats, log_r) + self._duration_term(side, ld)

    def _log_casualty_base(self, side: str, feats: dict[str, np.ndarray], log_r: np.ndarray) -> np.ndarray:
        """A side's log casualty fraction without the duration terms."""
        coefs = self.casualty[side]
        out = coefs.get("lambda", 0.0) * log_r
        for name in CASUALTY_FEATURES:
            c = coefs.get(name, 0.0)
            if c != 0.0 and name not in ("log_duration", "log_duration_sq"):
                out = out + c * self._filled(feats, f"{side}:{name}")
        return out

    def _duration_term(self, side: str, ld: np.ndarray) -> np.ndarray:
        """g1 * ld + g2 * ld^2 of ld = log(duration / 24 h), with ld held at or above the
        parabola's vertex so that casualties never fall as the duration grows."""
        coefs = self.casualty[side]
        g1, g2 = coefs.get("log_duration", 0.0), coefs.get("log_duration_sq", 0.0)
        if g2 > 0:
            ld = np.maximum(ld, -g1 / (2.0 * g2))
        return g1 * ld + g2 * ld * ld

    def predict_durations(self, durations: tuple[Any, ...], att_strength: Any, def_strength: Any,
                          att_artillery: Any = np.nan, def_artillery: Any = np.nan, att_tanks: Any = np.nan,
                          def_tanks: Any = np.nan, air_superiority: Any = np.nan, surprise: Any = np.nan,
                          defender_posture: Any = np.nan, terrain: Any = np.nan, front_km: Any = np.nan,
                          advantages: Any = None, *, year: Any = np.nan, wet: Any = np.nan, war: Any = None,
                          campaign: Any = None) -> tuple[np.ndarray, list[np.ndarray], list[np.ndarray]]:
        """`predict_batch` for the same battles at several durations, the features built once
        (the campaign engine asks for two per step): P(attacker wins) and, per duration, the
        attacker's and the defender's casualties. Inputs as predict_batch's, durations first."""
        feats, shape = build_features(
            att_strength, def_strength, att_artillery, def_artillery, att_tanks, def_tanks,
            air_superiority, surprise, defender_posture, terrain, durations[0], front_km,
            advantages, year, wet,
        )
        log_r = self.log_power_ratio(feats, shape)
        g_att = g_def = 0.0
        if (war is not None or campaign is not None) and self.groups:
            log_r = log_r + self.group_effect("power", war, campaign, shape)
            g_att = self.group_effect("att", war, campaign, shape)
            g_def = self.group_effect("def", war, campaign, shape)
        eta = self.power.get("intercept", 0.0) + log_r
        p_win = 1.0 / (1.0 + np.exp(-np.clip(eta, -50, 50)))
        ok = np.isfinite(feats["force_ratio"])
        sa = np.where(ok, np.broadcast_to(_f(att_strength), shape), np.nan)
        sd = np.where(ok, np.broadcast_to(_f(def_strength), shape), np.nan)
        base_a = self._log_casualty_base("att", feats, log_r)
        base_d = self._log_casualty_base("def", feats, log_r)
        cas_a, cas_d = [], []
        for k, dur in enumerate(durations):
            if k == 0:
                ld_a = self._filled(feats, "att:log_duration")
                ld_d = self._filled(feats, "def:log_duration")
            else:  # as build_features codes a duration, without building the rest again
                d = np.broadcast_to(_f(dur), shape)
                with np.errstate(divide="ignore", invalid="ignore"):
                    ld = np.log(np.where(d > 0, d, np.nan) / 24.0)
                ld_a = np.where(np.isfinite(ld), ld, self.fill.get("att:log_duration", 0.0))
                ld_d = np.where(np.isfinite(ld), ld, self.fill.get("def:log_duration", 0.0))
            la = (base_a + self._duration_term("att", ld_a)) + g_att
            ldf = (base_d + self._duration_term("def", ld_d)) + g_def
            cas_a.append(sa * np.exp(np.minimum(la, 0.0)))
            cas_d.append(sd * np.exp(np.minimum(ldf, 0.0)))
        return p_win, cas_a, cas_d

    def predict_batch(
        self,
        att_strength: Any,
        def_strength: Any,
        att_artillery: Any = np.nan,
        def_artillery: Any = np.nan,
        att_tanks: Any = np.nan,
        def_tanks: Any = np.nan,
        air_superiority: Any = np.nan,
        surprise: Any = np.nan,
        defender_posture: Any = np.nan,
        terrain: Any = np.nan,
        duration_hours: Any = 24.0,
        front_km: Any = np.nan,
        advantages: Any = None,
        *,
        year: Any = np.nan,
        wet: Any = np.nan,
        war: Any = None,
        campaign: Any = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """P(attacker wins), attacker casualties, defender casualties (men).

        All arguments broadcast together.  Strengths in men, weapons in
        numbers, ``air_superiority`` and ``surprise`` in -1..1 from the
        attacker's view (``surprise`` = CDB90 SURPA / 3), ``defender_posture``
        an index into :data:`POSTURES`, ``terrain`` an index into
        :data:`TERRAINS`, ``advantages`` shape ``(..., 8)`` in CDB90's -4..4
        codes (order :data:`ADVANTAGES`).  Keyword-only extras: ``year`` of
        the engagement (sets the era of casualty rates and, from 1900 on, the
        modern advantage factors; 1945 for West Hunan),
        ``wet`` (1 wet, 0 dry weather), ``war`` and ``campaign`` (CDB90 WAR
        and CAMPGN texts, to add the fitted war/theatre/campaign effects;
        None, the default, for a battle of a war that is not in CDB90).  NaN = unknown for any input but
        the strengths.  Casualties are the median of the fitted lognormal for
        an engagement lasting ``duration_hours`` (never more than the side's
        strength); where a strength is missing or not positive all three
        outputs are NaN.
        """
        p_win, (cas_a,), (cas_d,) = self.predict_durations(
            (duration_hours,), att_strength, def_strength, att_artillery, def_artillery, att_tanks, def_tanks,
            air_superiority, surprise, defender_posture, terrain, front_km, advantages,
            year=year, wet=wet, war=war, campaign=campaign)
        return p_win, cas_a, cas_d

    # -------------------------------------------------------------- report
    def factor_rows(self) -> list[dict[str, Any]]:
        """Rows for the factor table: part, name, description, value, se, multiplier."""
        rows: list[dict[str, Any]] = []
        alpha = self.power.get("force_ratio", float("nan"))
        for name in ("intercept", *POWER_FEATURES):
            if name not in self.power:
                continue
            v = self.power[name]
            se = self.se.get(f"power:{name}", float("nan"))
            mult = math.exp(v) if name not in ("intercept", "force_ratio") else float("nan")
            equiv = (
                math.exp(v / alpha)
                if name not in ("intercept", "force_ratio") and alpha > 0.05
                else float("nan")
            )
            rows.append(dict(part="power ratio and winner (log-odds)", name=name, description=HUMAN_NAMES.get(name, name),
                             value=v, se=se, multiplier=mult, strength_equiv=equiv))
        for side in ("att", "def"):
            label = ("attacker casualties (log fraction)" if side == "att"
                     else "defender casualties (log fraction)")
            for name in ("lambda", *CASUALTY_FEATURES, "sigma"):
                if name not in self.casualty[side]:
                    continue
                v = self.casualty[side][name]
                se = self.se.get(f"{side}:{name}", float("nan"))
                desc = {
                    "lambda": "x log R (power ratio)",
                    "sigma": "scale of log casualties (Student t, 5 d.f.)",
                }.get(name, HUMAN_NAMES.get(name, name))
                mult = math.exp(v) if name not in ("sigma", "intercept") else float("nan")
                rows.append(dict(part=label, name=name, description=desc, value=v, se=se,
                                 multiplier=mult, strength_equiv=float("nan")))
        return rows
