"""Reading CDB90: unknown codes are missing values, outcome columns are never inputs."""

from __future__ import annotations

import math

import numpy as np
import pytest

from engagement_support import HEADER, dev_csv, row
from xuefeng.engagement.cdb90 import (
    ADVANTAGE_COLUMNS,
    INPUT_COLUMNS,
    OUTCOME_COLUMNS,
    CDB90Error,
    duration_hours,
    inputs_from_frame,
    read_table,
    targets_from_frame,
    terrain_index,
)


def _read(tmp_path, *rows: str):
    p = tmp_path / "t.csv"
    p.write_text(HEADER + "\n" + "\n".join(rows) + "\n")
    return read_table(p)


def test_unknown_codes_read_as_missing(tmp_path) -> None:
    df = _read(tmp_path, row(
        WOFA1=-1, WOFD1=-1, SURPA=9, AEROA=9, POST1="OO", TERRA1="000", WX1="00000",
        LEADA=-9, TRNGA=-9, TANKA=-1, ARTYA=-1, TANKD=-1, ARTYD=-1, NAMA="?", COA="?",
        ATPBHR1=9999, ATPEHR1=9999, WINA=-9, CASA=-1, CASD=-1,
    ))
    x = inputs_from_frame(df)
    t = targets_from_frame(df)
    assert math.isnan(x.front_km[0])
    assert math.isnan(x.surprise[0]) and math.isnan(x.air_superiority[0])
    assert math.isnan(x.defender_posture[0]) and math.isnan(x.terrain[0]) and math.isnan(x.wet[0])
    assert math.isnan(x.advantages[0, 0]) and math.isnan(x.advantages[0, 1])
    assert x.advantages[0, ADVANTAGE_COLUMNS.index("INITA")] == 1.0
    for v in (x.att_tanks, x.att_artillery, x.def_tanks, x.def_artillery):
        assert math.isnan(v[0])
    assert math.isnan(t.attacker_won[0]) and math.isnan(t.wina[0])
    assert math.isnan(t.cas_attacker[0]) and math.isnan(t.cas_defender[0])
    # unknown clock times: the calendar days count 12 fighting hours each
    assert x.duration_hours[0] == pytest.approx(2 * 12.0)


def test_known_values_and_scales(tmp_path) -> None:
    df = _read(tmp_path, row(SURPA=3, AEROA=-1, POST1="FD", TERRA1="GW0", WX1="WLTFT", WOFD1=-1, WOFA1=8))
    x = inputs_from_frame(df)
    assert x.surprise[0] == 1.0  # SURPA / 3
    assert x.air_superiority[0] == -1.0
    assert x.defender_posture[0] == 2  # fortified_defence
    assert x.terrain[0] == 4  # forest
    assert x.wet[0] == 1.0
    assert x.front_km[0] == 8.0  # WOFD1 unknown -> WOFA1
    assert x.duration_hours[0] == pytest.approx(36.0)  # 6 Jun 06:00 -> 7 Jun 18:00
    assert x.year[0] == 1944


def test_strength_falls_back_to_initial_and_minus_one_is_missing(tmp_path) -> None:
    df = _read(tmp_path, row(STRA=-1, INTSTA=15000), row(ISQNO=2, STRD=-1, INTSTD=-1))
    x = inputs_from_frame(df)
    assert x.att_strength[0] == 15000
    assert math.isnan(x.def_strength[1])


def test_coded_duration_5000(tmp_path) -> None:
    df = _read(tmp_path, row(ATPBHR1=5000, ATPEHR1=5430, ATPEDA1=6))
    hours, exact = duration_hours(df)
    assert hours[0] == pytest.approx(4.5)
    assert exact[0]


def test_terrain_mapping() -> None:
    assert terrain_index("FB0") == 0 and terrain_index("RM0") == 1 and terrain_index("GM0") == 2
    assert terrain_index("RW0") == 4 and terrain_index("FWM") == 5 and terrain_index("00U") == 6
    assert math.isnan(terrain_index("000"))


def test_outcome_columns_are_never_inputs() -> None:
    assert not set(OUTCOME_COLUMNS) & set(INPUT_COLUMNS)
    for c in ("WINA", "CASA", "CASD", "CEA", "QUALA", "DEEPA", "RESOA1", "PRIA1", "SECD3", "CASAPL",
              "FINSTA", "KMDA", "ACHA", "CRIT"):
        assert c in OUTCOME_COLUMNS


def test_inputs_ignore_outcome_columns(tmp_path) -> None:
    df = read_table(dev_csv())
    a = inputs_from_frame(df)
    shuffled = df.copy()
    rng = np.random.default_rng(1)
    for c in OUTCOME_COLUMNS:
        if c in shuffled.columns:
            shuffled[c] = rng.permutation(shuffled[c].to_numpy())
    b = inputs_from_frame(shuffled)
    c = inputs_from_frame(df.drop(columns=[c for c in OUTCOME_COLUMNS if c in df.columns]))
    for k, v in a.__dict__.items():
        np.testing.assert_array_equal(v, b.__dict__[k])
        np.testing.assert_array_equal(v, c.__dict__[k])


def test_read_errors(tmp_path) -> None:
    with pytest.raises(CDB90Error, match="no such file"):
        read_table(tmp_path / "nope.csv")
    binary = tmp_path / "b.csv"
    binary.write_bytes(b"\x00\x01\x02PK\x03\x04")
    with pytest.raises(CDB90Error, match="not a CSV"):
        read_table(binary)
    few = tmp_path / "few.csv"
    few.write_text("ISQNO,STRA\n1,100\n")
    with pytest.raises(CDB90Error, match="missing required column.*STRD"):
        read_table(few, required=("STRA", "STRD"))


def test_dev_data_reads() -> None:
    df = read_table(dev_csv())
    x = inputs_from_frame(df)
    t = targets_from_frame(df)
    assert len(x) == len(df) > 500
    assert np.isfinite(x.att_strength).sum() > 500
    assert set(np.unique(t.wina[np.isfinite(t.wina)])) == {-1.0, 0.0, 1.0}
    assert np.isfinite(x.duration_hours).all()
