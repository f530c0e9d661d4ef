"""The engagement commands: fit, predict, evaluate, factors, doc."""

from __future__ import annotations

import csv
import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from engagement_support import HEADER, dev_csv, row
from xuefeng.cli import app
from xuefeng.engagement import EngagementModel
from xuefeng.engagement.cdb90 import OUTCOME_COLUMNS

runner = CliRunner()


def _read_out(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def _no_traceback(result) -> None:
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


# ----------------------------------------------------------------------------- predict


def test_predict_unknown_codes_and_missing_columns(tmp_path) -> None:
    src = tmp_path / "in.csv"
    lines = [
        row(ISQNO=11),
        row(ISQNO=12, STRA=-1, INTSTA=-1),  # no attacker strength
        row(ISQNO=13, WOFA1=-1, WOFD1=-1, SURPA=9, AEROA=9, POST1="OO", TERRA1="000", LEADA=-9,
            NAMA="?", ATPBHR1=9999, ATPEHR1=9999),
        row(ISQNO=14, STRD="?", INTSTD=""),  # no defender strength
    ]
    src.write_text(HEADER + "\n" + "\n".join(lines) + "\n")
    # drop some columns entirely: any column may be missing
    df = pd.read_csv(src, dtype=str, keep_default_na=False).drop(columns=["TANKA", "ARTYD", "WX1", "WINA", "CASA"])
    df.to_csv(src, index=False)
    out = tmp_path / "out.csv"
    result = runner.invoke(app, ["engagement", "predict", str(src), "--out", str(out)])
    assert result.exit_code == 0, result.output
    _no_traceback(result)
    assert "2 of 4 row(s) could not be predicted" in result.output
    rows = _read_out(out)
    assert list(rows[0]) == ["ISQNO", "p_attacker_win", "cas_attacker", "cas_defender"]
    assert [r["ISQNO"] for r in rows] == ["11", "12", "13", "14"]
    for r in (rows[1], rows[3]):
        assert r["p_attacker_win"] == r["cas_attacker"] == r["cas_defender"] == ""
    for r in (rows[0], rows[2]):
        assert 0 < float(r["p_attacker_win"]) < 1
        assert float(r["cas_attacker"]) > 0 and float(r["cas_defender"]) > 0


def test_predict_ignores_outcome_columns(tmp_path) -> None:
    df = pd.read_csv(dev_csv(), dtype=str, keep_default_na=False).head(80)
    a, b, c = tmp_path / "a.csv", tmp_path / "b.csv", tmp_path / "c.csv"
    df.to_csv(a, index=False)
    shuffled = df.copy()
    rng = np.random.default_rng(7)
    for col in OUTCOME_COLUMNS:
        if col in shuffled.columns:
            shuffled[col] = rng.permutation(shuffled[col].to_numpy())
    shuffled.to_csv(b, index=False)
    df.drop(columns=[col for col in OUTCOME_COLUMNS if col in df.columns]).to_csv(c, index=False)
    outs = []
    for src in (a, b, c):
        out = tmp_path / f"out-{src.stem}.csv"
        result = runner.invoke(app, ["engagement", "predict", str(src), "--out", str(out)])
        assert result.exit_code == 0, result.output
        outs.append(out.read_text())
    assert outs[0] == outs[1] == outs[2]


def test_predict_bad_input(tmp_path) -> None:
    result = runner.invoke(app, ["engagement", "predict", str(tmp_path / "nope.csv"), "--out", str(tmp_path / "o.csv")])
    assert result.exit_code == 2
    assert "no such file" in result.output
    _no_traceback(result)
    bad = tmp_path / "params.json"
    bad.write_text("{not json")
    src = tmp_path / "in.csv"
    src.write_text(HEADER + "\n" + row() + "\n")
    result = runner.invoke(app, ["engagement", "predict", str(src), "--out", str(tmp_path / "o.csv"),
                                 "--params", str(bad)])
    assert result.exit_code == 2
    assert "not an engagement parameter file" in result.output
    _no_traceback(result)


# ----------------------------------------------------------------------------- fit


def test_fit_bad_input(tmp_path) -> None:
    cases = []
    cases.append((tmp_path / "missing.csv", "no such file"))
    binary = tmp_path / "binary.csv"
    binary.write_bytes(bytes(range(256)) * 4)
    cases.append((binary, "not a CSV"))
    text = tmp_path / "prose.csv"
    text.write_text("This is not a table of battles.\nJust words.\n")
    cases.append((text, "not a CDB90 CSV table"))
    cols = tmp_path / "cols.csv"
    cols.write_text("ISQNO,STRA,STRD\n1,100,200\n")
    cases.append((cols, "missing required column(s): WINA, CASA, CASD"))
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    cases.append((empty, "empty file"))
    for path, message in cases:
        result = runner.invoke(app, ["engagement", "fit", str(path), "--out", str(tmp_path / "p.json")])
        assert result.exit_code == 2, (path, result.output)
        assert message in result.output, (path, result.output)
        _no_traceback(result)
    assert not (tmp_path / "p.json").exists()


def test_fit_too_little_data(tmp_path) -> None:
    src = tmp_path / "tiny.csv"
    src.write_text(HEADER + "\n" + row(ISQNO=1) + "\n" + row(ISQNO=2, WINA=-1) + "\n")
    result = runner.invoke(app, ["engagement", "fit", str(src), "--out", str(tmp_path / "p.json")])
    assert result.exit_code == 2
    assert "too few decisive battles" in result.output
    _no_traceback(result)


def test_fit_writes_loadable_params(tmp_path) -> None:
    out = tmp_path / "params.json"
    result = runner.invoke(app, ["engagement", "fit", str(dev_csv()), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "force_ratio" in result.output
    model = EngagementModel.load(out)
    shipped = EngagementModel.default()
    # the shipped parameters are this fit
    for k, v in shipped.power.items():
        assert model.power[k] == pytest.approx(v, abs=1e-3), k
    assert json.loads(out.read_text())["meta"]["data"] == "cdb90-dev.csv"


# ----------------------------------------------------------------------------- factors, evaluate, doc


def test_factors_prints_table() -> None:
    result = runner.invoke(app, ["engagement", "factors"])
    assert result.exit_code == 0, result.output
    for word in ("force_ratio", "air_superiority", "adv_leadership", "defence_fortified", "s.e.", "lambda"):
        assert word in result.output


def test_evaluate_runs_and_beats_attacker_always(tmp_path) -> None:
    result = runner.invoke(app, ["engagement", "evaluate", str(dev_csv()), "--folds", "3", "--seed", "1",
                                 "--markdown"])
    assert result.exit_code == 0, result.output
    lines = {line.split("|")[1].strip(): line for line in result.output.splitlines() if line.startswith("| ")}
    for name in ("Xuefeng engagement model", "attacker always wins", "force ratio alone",
                 "Lanchester square law", "Lanchester linear law", "logistic + ridge regression, same inputs"):
        assert name in lines, result.output
    acc = {k: float(v.split("|")[2]) for k, v in lines.items() if k != "model"}
    assert acc["Xuefeng engagement model"] > acc["attacker always wins"] + 0.1


def test_evaluate_bad_folds() -> None:
    result = runner.invoke(app, ["engagement", "evaluate", str(dev_csv()), "--folds", "1"])
    assert result.exit_code == 2
    assert "--folds" in result.output


def test_doc_writes_markdown(tmp_path) -> None:
    out = tmp_path / "engagement-model.md"
    result = runner.invoke(app, ["engagement", "doc", str(dev_csv()), "--folds", "3", "--extra-seeds", "1",
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert "xuefeng engagement doc" in text and "GENERATED" in text
    assert "log R = alpha" in text and "| force_ratio |" in text and "winner accuracy" in text
    assert "Campaigns never seen" in text and "grouped by campaign" in text
    assert "| adv_leadership_1900 |" in text and "inner 5-fold" in text
    assert str(tmp_path) not in text  # no machine paths in the document


def test_evaluate_group_by_campaign() -> None:
    result = runner.invoke(app, ["engagement", "evaluate", str(dev_csv()), "--folds", "3", "--seed", "0",
                                 "--group-by", "campaign", "--markdown"])
    assert result.exit_code == 0, result.output
    assert "grouped by campaign" in result.output and "| Xuefeng engagement model |" in result.output


def test_evaluate_group_by_bad_value() -> None:
    result = runner.invoke(app, ["engagement", "evaluate", str(dev_csv()), "--group-by", "war"])
    assert result.exit_code == 2
    _no_traceback(result)
    assert "--group-by" in result.output
