"""Reading the CAA Database of Battles (CDB90) into model inputs.

The file is read as text and every column's "unknown" code (from the notes at
the end of ``CDB90DEF.csv``) becomes ``NaN``; a code is never used as a
number.  Only the columns in :data:`INPUT_COLUMNS` are ever turned into model
inputs; the outcome and post-hoc columns (:data:`OUTCOME_COLUMNS`) are read
only as targets (winner, casualties) and only by the fitting and evaluation
code.

Unknown codes handled (per ``CDB90DEF.csv``):

* widths of front ``WOFA*``/``WOFD*``, strengths, weapons: ``-1``;
* years ``9999``, months and days ``99``, hours ``9999`` (an hour of
  ``5000`` starts a period whose length is known but not its clock times:
  the end is ``5000 + duration`` in hhmm);
* ``SURPA`` and ``AEROA``: ``9``; ``POSTYPE``, ``FRONT``, ``DEPTH``,
  ``TIME``: ``9``; ``CODEA``/``CODED``: anything but 1, 2, 3;
* the advantage codes ``LEADA`` … ``INITA`` (and ``CEA``): ``-9``;
* ``POST1``/``POST2``: ``OO``; terrain and weather letters: ``0`` (and the
  undocumented ``$`` weather letter);
* names: ``?``; everywhere: blank cells and ``NA``.
* ``WINA``: ``-9``; ``CASA``/``CASD``: ``-1``.

Besides the combat descriptors, the WAR and CAMPGN texts are inputs (for the
optional war/theatre/campaign effects) and give the year when ATPBYR1 and
YR1 are unknown.
"""

from __future__ import annotations

import csv
import datetime as _dt
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

# ---------------------------------------------------------------------------
# Column roles
# ---------------------------------------------------------------------------

#: Columns that describe what happened (targets) or were judged after the fact.
#: They are never model inputs.
OUTCOME_COLUMNS: tuple[str, ...] = (
    "WINA", "KMDA", "CRIT", "ACHA", "ACHD",
    "CASA", "CASD", "FINSTA", "FINSTD",
    "CTANKA", "CARTYA", "CFLYA", "CTANKD", "CARTYD", "CFLYD",  # equipment losses
    "STRAPL", "STRAMI", "CASAPL", "CASAMI", "STRDPL", "STRDMI", "CASDPL", "CASDMI",
    "CEA",
    "QUALA", "RESA", "MOBILA", "AIRA", "FPREPA", "WXA", "TERRA", "LEADAA",
    "PLANA", "SURPAA", "MANA", "LOGSAA", "FORTSA", "DEEPA",
    "PRIA1", "PRIA2", "PRIA3", "SECA1", "SECA2", "SECA3",
    "RESOA1", "RESOA2", "RESOA3",
    "PRID1", "PRID2", "PRID3", "SECD1", "SECD2", "SECD3",
    "RESOD1", "RESOD2", "RESOD3",
)

#: The judgement advantages a scenario designer sets (attacker's view, -4..+4).
ADVANTAGE_COLUMNS: tuple[str, ...] = (
    "LEADA", "TRNGA", "MORALA", "LOGSA", "MOMNTA", "INTELA", "TECHA", "INITA",
)

_ATP = tuple(
    f"ATP{be}{part}{i}"
    for i in range(1, 11)
    for be in ("B", "E")
    for part in ("YR", "MN", "DA", "HR")
)

#: The only columns the model reads as inputs.
INPUT_COLUMNS: tuple[str, ...] = (
    "WOFA1", "WOFD1",
    "POST1", "POST2", "POSTYPE",
    "TERRA1", "WX1",
    "SURPA", "AEROA",
    "STRA", "CODEA", "INTSTA", "STRD", "CODED", "INTSTD",
    "TANKA", "ARTYA", "FLYA", "TANKD", "ARTYD", "FLYD",
    *ADVANTAGE_COLUMNS,
    "NOATP", *_ATP,
    "WAR", "CAMPGN", "YR1",  # war and campaign (group effects), year
)

#: Columns ``engagement fit`` and ``evaluate`` need: strengths and the targets.
REQUIRED_FIT_COLUMNS: tuple[str, ...] = ("STRA", "STRD", "WINA", "CASA", "CASD")

#: Defender postures, in the order of :data:`xuefeng.engagement.POSTURES`.
POSTURE_CODES: dict[str, int] = {"HD": 0, "PD": 1, "FD": 2, "DL": 3, "WD": 4}

#: Terrain classes, in the order of :data:`xuefeng.engagement.TERRAINS`.
TERRAIN_NAMES: tuple[str, ...] = (
    "flat", "rolling", "hills", "mountains", "forest", "marsh", "urban", "water",
)


#: Fighting hours per calendar day of a period whose clock times are unknown.
UNKNOWN_CLOCK_HOURS_PER_DAY = 12.0


class CDB90Error(ValueError):
    """The file cannot be read as a CDB90 table; the message says why."""


# ---------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------

_MISSING_STRINGS = {"", "?", "NA", "N/A", "NAN", "NULL", "NONE", "-", "."}


def read_table(path: str | Path, required: tuple[str, ...] = ("ISQNO",)) -> pd.DataFrame:
    """Read a CDB90-style CSV as text (no codes interpreted yet).

    Raises :class:`CDB90Error` for a missing file, a file that is not a CSV
    table, or missing ``required`` columns.
    """
    p = Path(path)
    if not p.exists():
        raise CDB90Error(f"{p}: no such file")
    if not p.is_file():
        raise CDB90Error(f"{p}: not a file")
    try:
        raw = p.read_bytes()
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = raw.decode("latin-1")
        except Exception as exc:  # pragma: no cover
            raise CDB90Error(f"{p}: not a text CSV file ({exc})") from exc
    except OSError as exc:
        raise CDB90Error(f"{p}: cannot read ({exc.strerror or exc})") from exc
    if "\x00" in text:
        raise CDB90Error(f"{p}: not a CSV file (binary content)")
    if not text.strip():
        raise CDB90Error(f"{p}: empty file, expected a CSV table with a header row")
    try:
        df = pd.read_csv(
            io.StringIO(text), dtype=str, keep_default_na=False, skipinitialspace=True
        )
    except (pd.errors.ParserError, csv.Error, ValueError) as exc:
        raise CDB90Error(f"{p}: not a readable CSV table ({str(exc).splitlines()[0]})") from exc
    df.columns = [str(c).strip().upper() for c in df.columns]
    if df.shape[1] < 2:
        raise CDB90Error(
            f"{p}: not a CDB90 CSV table (found {df.shape[1]} column; expected columns such as "
            f"{', '.join(REQUIRED_FIT_COLUMNS)})"
        )
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise CDB90Error(f"{p}: missing required column(s): {', '.join(missing)}")
    return df.apply(lambda s: s.str.strip())


def _num(df: pd.DataFrame, col: str, missing: tuple[float, ...] = ()) -> np.ndarray:
    """A numeric column with unknown codes and unparseable text as NaN."""
    if col not in df.columns:
        return np.full(len(df), np.nan)
    s = df[col].astype(str).str.strip()
    s = s.where(~s.str.upper().isin(_MISSING_STRINGS), None)
    x = pd.to_numeric(s, errors="coerce").to_numpy(dtype=float)
    for code in missing:
        x[np.isclose(x, code)] = np.nan
    return x


def _text(df: pd.DataFrame, col: str) -> np.ndarray:
    if col not in df.columns:
        return np.full(len(df), "", dtype=object)
    s = df[col].astype(str).str.strip().str.upper()
    return s.where(~s.isin(_MISSING_STRINGS), "").to_numpy(dtype=object)


def _positive(x: np.ndarray) -> np.ndarray:
    """Counts: negative values are unknown codes (-1, -9, -9999)."""
    x = x.copy()
    x[x < 0] = np.nan
    return x


def _strength(df: pd.DataFrame, total: str, initial: str) -> np.ndarray:
    s = _positive(_num(df, total))
    s[s <= 0] = np.nan
    ini = _positive(_num(df, initial))
    ini[ini <= 0] = np.nan
    return np.where(np.isfinite(s), s, ini)


def _ordinal(y: float, m: float, d: float) -> int | None:
    try:
        return _dt.date(int(y), int(m), int(d)).toordinal()
    except (ValueError, OverflowError):
        return None


def _hhmm_hours(x: np.ndarray) -> np.ndarray:
    return np.floor(x / 100.0) + np.mod(x, 100.0) / 60.0


def duration_hours(df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Total hours of the active periods and whether clock times were known.

    For each active time period (``ATPB*``/``ATPE*``): with both clock times
    known, the exact span; with the ``5000``/``5000+duration`` code, the
    coded duration; with unknown hours, the calendar-day span plus 12 hours
    (a day's fighting).  Periods with unknown dates are skipped; a battle
    with no usable period has NaN.
    """
    n = len(df)
    total = np.zeros(n)
    any_ok = np.zeros(n, dtype=bool)
    exact = np.ones(n, dtype=bool)
    for i in range(1, 11):
        by = _num(df, f"ATPBYR{i}", (9999,))
        bm = _num(df, f"ATPBMN{i}", (99,))
        bd = _num(df, f"ATPBDA{i}", (99,))
        bh = _num(df, f"ATPBHR{i}", (9999,))
        ey = _num(df, f"ATPEYR{i}", (9999,))
        em = _num(df, f"ATPEMN{i}", (99,))
        ed = _num(df, f"ATPEDA{i}", (99,))
        eh = _num(df, f"ATPEHR{i}", (9999,))
        ok = np.isfinite(by) & np.isfinite(bm) & np.isfinite(bd)
        ok &= np.isfinite(ey) & np.isfinite(em) & np.isfinite(ed)
        if not ok.any():
            continue
        days = np.full(n, np.nan)
        for j in np.flatnonzero(ok):
            b = _ordinal(by[j], bm[j], bd[j])
            e = _ordinal(ey[j], em[j], ed[j])
            if b is not None and e is not None:
                days[j] = float(e - b)
        ok &= np.isfinite(days) & (days >= 0)
        coded = ok & (bh == 5000) & np.isfinite(eh) & (eh >= 5000)
        clock = ok & ~coded & np.isfinite(bh) & np.isfinite(eh) & (bh < 2400) & (eh <= 2400)
        h = np.where(
            coded,
            _hhmm_hours(eh - 5000) + 24.0 * days,
            np.where(clock, 24.0 * days + _hhmm_hours(eh) - _hhmm_hours(bh), UNKNOWN_CLOCK_HOURS_PER_DAY * (days + 1.0)),
        )
        h = np.where(ok & (h <= 0), 1.0, h)
        total = np.where(ok, total + h, total)
        exact &= ~ok | coded | clock
        any_ok |= ok
    total = np.where(any_ok, total, np.nan)
    return total, exact & any_ok


def battle_year(df: pd.DataFrame) -> np.ndarray:
    """Year the battle began (ATPBYR1, else YR1, else a year in CAMPGN's text)."""
    y = _num(df, "ATPBYR1", (9999,))
    y2 = _num(df, "YR1", (9999,))
    y = np.where(np.isfinite(y), y, y2)
    if "CAMPGN" in df.columns:
        m = df["CAMPGN"].astype(str).str.extract(r"\b(1[5-9]\d\d|20\d\d)\b")[0]
        y3 = pd.to_numeric(m, errors="coerce").to_numpy(dtype=float)
        y = np.where(np.isfinite(y), y, y3)
    y[(y < 1400) | (y > 2100)] = np.nan
    return y


def terrain_index(code: str) -> float:
    """Map a CDB90 TERRA1 code (3 letters) to an index into TERRAIN_NAMES.

    Third letter U → urban, M → marsh; second letter W (heavily wooded) →
    forest; first letter F → flat, R → rolling, G (rugged) → hills (CDB90
    does not separate hills from mountains); dunes/desert count by their
    relief letter; nothing known → NaN (unknown).
    """
    c = (code or "").upper().ljust(3, "0")
    if c[2] == "U":
        return 6.0
    if c[2] == "M":
        return 5.0
    if c[1] == "W":
        return 4.0
    return {"F": 0.0, "R": 1.0, "G": 2.0}.get(c[0], np.nan)


@dataclass
class Inputs:
    """Model inputs for n battles (NaN = unknown), in the units of the API."""

    isqno: np.ndarray
    att_strength: np.ndarray
    def_strength: np.ndarray
    att_artillery: np.ndarray
    def_artillery: np.ndarray
    att_tanks: np.ndarray
    def_tanks: np.ndarray
    air_superiority: np.ndarray
    surprise: np.ndarray
    defender_posture: np.ndarray  # float: index into POSTURES or NaN
    terrain: np.ndarray  # float: index into TERRAINS or NaN
    duration_hours: np.ndarray
    front_km: np.ndarray
    advantages: np.ndarray  # (n, 8)
    year: np.ndarray
    wet: np.ndarray  # 1 wet, 0 dry, NaN unknown
    war: np.ndarray  # CDB90 WAR text ("" unknown)
    campaign: np.ndarray  # CDB90 CAMPGN text ("" unknown)

    def __len__(self) -> int:
        return len(self.att_strength)

    def as_kwargs(self) -> dict[str, np.ndarray]:
        """Keyword arguments of ``build_features`` / ``predict_batch`` (without ``war``)."""
        d = dict(self.__dict__)
        d.pop("isqno")
        d.pop("war")
        d.pop("campaign")
        return d

    def groups_kwargs(self) -> dict[str, np.ndarray]:
        """``war`` and ``campaign`` keywords of ``predict_batch``."""
        return {"war": self.war, "campaign": self.campaign}

    def take(self, idx: np.ndarray) -> "Inputs":
        return Inputs(**{k: v[idx] for k, v in self.__dict__.items()})


def inputs_from_frame(df: pd.DataFrame) -> Inputs:
    """Turn a (text) CDB90 table into model inputs.  Reads only INPUT_COLUMNS."""
    df = df[[c for c in df.columns if c in INPUT_COLUMNS or c == "ISQNO"]]
    n = len(df)
    isqno = _text(df, "ISQNO") if "ISQNO" in df.columns else np.array(
        [str(i + 1) for i in range(n)], dtype=object
    )
    sa = _strength(df, "STRA", "INTSTA")
    sd = _strength(df, "STRD", "INTSTD")
    post = np.array([POSTURE_CODES.get(p, np.nan) for p in _text(df, "POST1")], dtype=float)
    terr = np.array([terrain_index(t) for t in _text(df, "TERRA1")], dtype=float)
    surpa = _num(df, "SURPA")
    surpa[(surpa < -3) | (surpa > 3)] = np.nan  # 9 = unknown
    aero = _num(df, "AEROA")
    aero[(aero < -1) | (aero > 1)] = np.nan  # 9 = unknown
    wofa = _positive(_num(df, "WOFA1"))
    wofd = _positive(_num(df, "WOFD1"))
    wofa[wofa <= 0] = np.nan
    wofd[wofd <= 0] = np.nan
    front = np.where(np.isfinite(wofd), wofd, wofa)
    adv = np.column_stack([_num(df, c) for c in ADVANTAGE_COLUMNS]) if n else np.zeros((0, 8))
    adv[(adv < -4) | (adv > 4)] = np.nan  # -9 = unknown
    dur, _exact = duration_hours(df)
    wx = _text(df, "WX1")
    wet = np.array([1.0 if w[:1] == "W" else 0.0 if w[:1] == "D" else np.nan for w in wx])
    return Inputs(
        isqno=isqno,
        att_strength=sa,
        def_strength=sd,
        att_artillery=_positive(_num(df, "ARTYA")),
        def_artillery=_positive(_num(df, "ARTYD")),
        att_tanks=_positive(_num(df, "TANKA")),
        def_tanks=_positive(_num(df, "TANKD")),
        air_superiority=aero,
        surprise=surpa / 3.0,
        defender_posture=post,
        terrain=terr,
        duration_hours=dur,
        front_km=front,
        advantages=adv.reshape(n, len(ADVANTAGE_COLUMNS)),
        year=battle_year(df),
        wet=wet,
        war=_text(df, "WAR"),
        campaign=_text(df, "CAMPGN"),
    )


@dataclass
class Targets:
    """Outcomes, for fitting and evaluation only."""

    attacker_won: np.ndarray  # 1 win, 0 loss, NaN draw/unknown
    wina: np.ndarray  # raw WINA: 1, 0, -1, NaN
    cas_attacker: np.ndarray
    cas_defender: np.ndarray
    advance_km: np.ndarray | None = None  # KMDA: km the attacker advanced (NaN unknown)

    def take(self, idx: np.ndarray) -> "Targets":
        return Targets(**{k: (None if v is None else v[idx]) for k, v in self.__dict__.items()})


def targets_from_frame(df: pd.DataFrame) -> Targets:
    wina = _num(df, "WINA")
    wina[~np.isin(wina, (-1.0, 0.0, 1.0))] = np.nan  # -9 = unknown
    won = np.where(wina == 1, 1.0, np.where(wina == -1, 0.0, np.nan))
    ca = _positive(_num(df, "CASA"))
    cd = _positive(_num(df, "CASD"))
    km = _num(df, "KMDA") if "KMDA" in df.columns else np.full(len(df), np.nan)
    km[km <= -9000] = np.nan  # -9999 = unknown
    return Targets(attacker_won=won, wina=wina, cas_attacker=ca, cas_defender=cd, advance_km=km)


def load(path: str | Path, required: tuple[str, ...] = ("ISQNO",)) -> tuple[Inputs, pd.DataFrame]:
    df = read_table(path, required=required)
    return inputs_from_frame(df), df
