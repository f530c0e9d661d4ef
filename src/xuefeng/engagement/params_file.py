"""The schema of an engagement parameter file (written by `engagement fit`, read by `--params`).

Why a schema: a hand-edited or damaged file must fail with the field that is wrong, not with a
traceback from the prediction (a list where a number belongs), NaN casualties (an enormous or
infinite coefficient) or a silently ignored coefficient (a misspelt name, a key given twice).
`read_params_file` parses the JSON (keys once each, bounded depth and size) and validates it;
`ParamsFileError` says what is wrong, with the field's path (`casualty.att.sigma`).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from xuefeng.engagement.model import CASUALTY_FEATURES, ERA_BINS, POWER_FEATURES

FORMAT = "xuefeng-engagement-params/1"
#: Bound on every coefficient and fill value: they act on log or log-odds scales, where the
#: shipped fit's lie within ±3; beyond ±1000 a file is damaged (and exp() of it overflows).
COEF_LIMIT = 1000.0
#: Mean battle durations (h) are positive and at most this (over eleven years).
MAX_DURATION_HOURS = 1e5
#: The duration law's size exponent (T ∝ men^b) lies within ±this.
MAX_SIZE_EXPONENT = 10.0
#: Advance quantiles (km) lie in 0 … this.
MAX_ADVANCE_KM = 1e5
#: JSON nested deeper than this (the file itself is three levels deep; meta a few more) is refused.
MAX_DEPTH = 32
#: A parameter file larger than this is not one (the shipped file is about 30 kB).
MAX_BYTES = 64 * 2**20

POWER_NAMES = frozenset(("intercept", *POWER_FEATURES))
CASUALTY_NAMES = frozenset((*CASUALTY_FEATURES, "lambda", "sigma"))
FILL_NAMES = frozenset((*POWER_FEATURES, *(f"{s}:{n}" for s in ("att", "def") for n in CASUALTY_FEATURES)))
SE_NAMES = frozenset((*(f"power:{n}" for n in POWER_NAMES), *(f"{s}:{n}" for s in ("att", "def")
                                                                for n in CASUALTY_NAMES)))
ERA_NAMES = frozenset(("all", *(e[0] for e in ERA_BINS)))
DURATION_NAMES = ERA_NAMES | {"size_exponent"}


class ParamsFileError(ValueError):
    """An engagement parameter file that cannot be used; the message names the field."""


def _known(names: frozenset[str], what: str):
    def check(d: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(d) - names)
        if unknown:
            raise ValueError(f"unknown {what} {unknown[0]!r}" + (f" (and {len(unknown) - 1} more)"
                                                                  if len(unknown) > 1 else ""))
        return d
    return AfterValidator(check)


def _std_err(x: float) -> float:
    if math.isnan(x):
        return x  # not estimated (a coefficient at a bound of the fit)
    if not 0.0 <= x <= COEF_LIMIT:
        raise ValueError(f"a standard error must be NaN or in 0 … {COEF_LIMIT:g}, not {x:g}")
    return x


Coef = Annotated[float, Field(allow_inf_nan=False, ge=-COEF_LIMIT, le=COEF_LIMIT)]
StdErr = Annotated[float, AfterValidator(_std_err)]
Hours = Annotated[float, Field(allow_inf_nan=False, gt=0.0, le=MAX_DURATION_HOURS)]
Km = Annotated[float, Field(allow_inf_nan=False, ge=0.0, le=MAX_ADVANCE_KM)]


def _sorted(q: list[float]) -> list[float]:
    if any(b < a for a, b in zip(q, q[1:])):
        raise ValueError("quantiles must not decrease")
    return q


def _duration(d: dict[str, float]) -> dict[str, float]:
    b = d.get("size_exponent")
    if b is not None and abs(b) > MAX_SIZE_EXPONENT:
        raise ValueError(f"size_exponent {b:g} is outside ±{MAX_SIZE_EXPONENT:g}")
    for k, v in d.items():
        if k != "size_exponent" and not 0.0 < v <= MAX_DURATION_HOURS:
            raise ValueError(f"{k}: a mean duration must be in (0, {MAX_DURATION_HOURS:g}] hours, not {v:g}")
    return d


class CasualtyPart(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")

    att: Annotated[dict[str, Coef], _known(CASUALTY_NAMES, "casualty coefficient")]
    def_: Annotated[dict[str, Coef], _known(CASUALTY_NAMES, "casualty coefficient")] = Field(alias="def")


class Groups(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")

    power: dict[str, Coef] = {}
    att: dict[str, Coef] = {}
    def_: dict[str, Coef] = Field(default_factory=dict, alias="def")


class ParamsFile(BaseModel):
    """An engagement parameter file, as `EngagementModel.to_dict` writes it."""

    model_config = ConfigDict(strict=True, extra="forbid")

    format: Literal["xuefeng-engagement-params/1"] = FORMAT
    power: Annotated[dict[str, Coef], _known(POWER_NAMES, "power coefficient")]
    casualty: CasualtyPart
    fill: Annotated[dict[str, Coef], _known(FILL_NAMES, "fill feature")]
    se: Annotated[dict[str, StdErr], _known(SE_NAMES, "standard error")] = {}
    groups: Groups = Groups()
    meta: dict[str, Any] = {}
    duration: Annotated[dict[str, float], _known(DURATION_NAMES, "duration entry"),
                        AfterValidator(_duration)] = {}
    advance: Annotated[dict[str, Annotated[list[Km], Field(min_length=1, max_length=1000),
                                           AfterValidator(_sorted)]],
                       _known(ERA_NAMES, "advance era")] = {}
    #: advances scale as men^b (the quantiles are of km / (men / 10^4)^b); absent: 0
    advance_size_exponent: Annotated[float, Field(ge=-MAX_SIZE_EXPONENT, le=MAX_SIZE_EXPONENT)] = 0.0

    def as_dict(self) -> dict[str, Any]:
        """The plain dictionary `EngagementModel.from_dict` reads."""
        return self.model_dump(by_alias=True)


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise ParamsFileError(f"key {k!r} appears twice in one object; each key may appear once")
        out[k] = v
    return out


def _depth(obj: Any) -> int:
    """Nesting depth of parsed JSON, without recursion."""
    deepest, stack = 0, [(obj, 1)]
    while stack:
        o, d = stack.pop()
        deepest = max(deepest, d)
        if d > MAX_DEPTH:
            break
        if isinstance(o, dict):
            stack.extend((v, d + 1) for v in o.values())
        elif isinstance(o, list):
            stack.extend((v, d + 1) for v in o)
    return deepest


def _describe(e: ValidationError) -> str:
    err = e.errors()[0]
    path = ".".join(str(p) for p in err["loc"]) or "(top level)"
    more = f" ({len(e.errors()) - 1} more problem(s) after it)" if len(e.errors()) > 1 else ""
    msg = err["msg"].removeprefix("Value error, ")
    if err["type"].endswith("_type") and "input" in err:  # a list where a number belongs, …
        msg += f", not a JSON {_json_type(err['input'])}"
    return f"{path}: {msg}{more}"


def _json_type(x: Any) -> str:
    kinds = {dict: "object", list: "array", str: "string", bool: "true/false", type(None): "null"}
    if isinstance(x, int) and not isinstance(x, bool):
        return f"integer of {len(str(abs(x)))} digits" if abs(x) > 2**53 else "integer"
    return kinds.get(type(x), type(x).__name__)


def parse_params(text: str) -> dict[str, Any]:
    """Validate the text of a parameter file; the checked dictionary or ParamsFileError."""
    try:
        data = json.loads(text, object_pairs_hook=_no_duplicates)
    except RecursionError:
        raise ParamsFileError(f"JSON nested too deeply (a parameter file is at most {MAX_DEPTH} levels)") from None
    except json.JSONDecodeError as e:
        raise ParamsFileError(f"not valid JSON ({e})") from None
    except ParamsFileError:
        raise
    except ValueError:  # Python's int-conversion limit: a number thousands of digits long
        raise ParamsFileError("holds a number thousands of digits long; no parameter is that large") from None
    if not isinstance(data, dict):
        raise ParamsFileError(f"the file holds a JSON {type(data).__name__}, not an object with power, "
                              "casualty and fill")
    if _depth(data) > MAX_DEPTH:
        raise ParamsFileError(f"JSON nested too deeply (a parameter file is at most {MAX_DEPTH} levels)")
    try:
        return ParamsFile.model_validate(data).as_dict()
    except ValidationError as e:
        raise ParamsFileError(_describe(e)) from None


def read_params_file(path: str | Path) -> dict[str, Any]:
    """Read and validate a parameter file (ParamsFileError, or OSError if it cannot be read)."""
    p = Path(path)
    if p.is_file() and p.stat().st_size > MAX_BYTES:
        raise ParamsFileError(f"{p.stat().st_size:,} bytes; a parameter file is at most {MAX_BYTES:,}")
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise ParamsFileError(f"not UTF-8 text ({e.reason} at byte {e.start})") from None
    return parse_params(text)
