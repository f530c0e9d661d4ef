"""Hostile input that is not a scenario (issue 14): damaged or hand-edited engagement parameter files
for `xuefeng engagement predict --params`, and absurd counts (`-n` with 400 digits) in every command
that takes one. Each is refused with exit status 2 and one line naming the input (a parameter file's
field path), never a traceback; a file the schema accepts predicts finite numbers.

The hypothesis test runs on a fixed seed and a small budget, so it is the same every run.
"""

from __future__ import annotations

from cli_support import one_line_exit_2

import json
import math
from pathlib import Path

import numpy as np
import pytest
from engagement_support import HEADER, row
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from xuefeng.cli import app
from xuefeng.engagement import EngagementModel
from xuefeng.engagement.params_file import MAX_DEPTH, ParamsFileError, parse_params

runner = CliRunner()
SHIPPED = Path(__file__).parents[1] / "src" / "xuefeng" / "engagement" / "data" / "params.json"
MINI = Path(__file__).parent / "fixtures" / "scenarios" / "mini"


def shipped() -> dict:
    return json.loads(SHIPPED.read_text(encoding="utf-8"))




def predict(tmp_path: Path, params_text: str):
    params = tmp_path / "params.json"
    params.write_text(params_text, encoding="utf-8")
    src = tmp_path / "in.csv"
    src.write_text(HEADER + "\n" + row() + "\n")
    return runner.invoke(app, ["engagement", "predict", str(src), "--out", str(tmp_path / "o.csv"),
                               "--params", str(params)])


def _set(path: str, value):
    def edit(d: dict) -> None:
        *head, last = path.split("/")
        for k in head:
            d = d[k]
        d[last] = value
    return edit


def _drop(path: str):
    def edit(d: dict) -> None:
        *head, last = path.split("/")
        for k in head:
            d = d[k]
        del d[last]
    return edit


# (case, edit of the shipped file's dictionary, field path the message names)
EDITS = [
    ("list for a coefficient", _set("power/force_ratio", [1.0, 2.0]), "power.force_ratio"),
    ("object for a coefficient", _set("casualty/att/own_size", {"a": 1}), "casualty.att.own_size"),
    ("string for a coefficient", _set("power/intercept", "0.5"), "power.intercept"),
    ("boolean for a coefficient", _set("casualty/def/lambda", True), "casualty.def.lambda"),
    ("enormous coefficient", _set("power/artillery", 1e300), "power.artillery"),
    ("400-digit integer coefficient", _set("power/tanks", 10**400), "power.tanks"),
    ("infinite coefficient", _set("casualty/att/sigma", math.inf), "casualty.att.sigma"),
    ("NaN coefficient", _set("casualty/def/sigma", math.nan), "casualty.def.sigma"),
    ("NaN fill value", _set("fill/year", math.nan), "fill.year"),
    ("misspelt coefficient", _set("power/forse_ratio", 1.0), "forse_ratio"),
    ("unknown top-level key", _set("powers", {}), "powers"),
    ("missing part", _drop("casualty"), "casualty"),
    ("missing side", _drop("casualty/def"), "casualty.def"),
    ("list for a part", _set("fill", [1, 2, 3]), "fill"),
    ("negative standard error", _set("se/power:intercept", -1.0), "se.power:intercept"),
    ("infinite standard error", _set("se/power:intercept", math.inf), "se.power:intercept"),
    ("string in a war effect", _set("groups/att/war:WORLD WAR II", "big"), "groups.att.war:WORLD WAR II"),
    ("negative mean duration", _set("duration/all", -3.0), "duration"),
    ("absurd size exponent", _set("duration/size_exponent", 1e9), "size_exponent"),
    ("decreasing advance quantiles", _set("advance/all", [5.0, 1.0]), "advance.all"),
    ("advance of NaN km", _set("advance/all", [0.0, math.nan]), "advance.all"),
    ("other format", _set("format", "xuefeng-engagement-params/9"), "format"),
]


@pytest.mark.parametrize(("case", "edit", "where"), EDITS, ids=[e[0] for e in EDITS])
def test_edited_model_file_is_refused_with_its_field(tmp_path, case, edit, where) -> None:
    d = shipped()
    edit(d)
    text = json.dumps(d)  # NaN and Infinity as Python's json writes them (and `engagement fit` would)
    with pytest.raises(ParamsFileError, match=None) as e:
        parse_params(text)
    assert where in str(e.value)
    one_line_exit_2(predict(tmp_path, text), str(tmp_path / "params.json"), where)


RAW = [
    ("not JSON", "{not json", "not valid JSON"),
    ("empty", "", "not valid JSON"),
    ("truncated", SHIPPED.read_text()[:5000], "not valid JSON"),
    ("a list", "[1, 2]", "JSON list"),
    ("a number", "3", "JSON int"),
    ("duplicate coefficient", '{"power": {"intercept": 1, "intercept": 2}}', "'intercept' appears twice"),
    ("deeply nested", "[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ("nested just too deep", '{"meta": ' + '{"a": ' * MAX_DEPTH + "1" + "}" * MAX_DEPTH + "}", "nested too deeply"),
    ("5,000-digit number", '{"power": {"intercept": ' + "9" * 5000 + "}}", "digits"),
]


@pytest.mark.parametrize(("case", "text", "words"), RAW, ids=[r[0] for r in RAW])
def test_malformed_model_file_is_refused(tmp_path, case, text, words) -> None:
    one_line_exit_2(predict(tmp_path, text), words)


def test_model_file_that_is_a_folder_or_not_utf8(tmp_path) -> None:
    src = tmp_path / "in.csv"
    src.write_text(HEADER + "\n" + row() + "\n")
    for bad, word in ((tmp_path, "not a file"), (tmp_path / "latin1.json", "UTF-8")):
        if bad != tmp_path:
            bad.write_bytes(b'{"meta": {"note": "caf\xe9"}}')
        r = runner.invoke(app, ["engagement", "predict", str(src), "--out", str(tmp_path / "o.csv"),
                                "--params", str(bad)])
        one_line_exit_2(r, word)


def test_shipped_and_refitted_files_pass_the_schema(tmp_path) -> None:
    """The schema is the file format: what `save` writes reads back to the same model."""
    model = EngagementModel.load(SHIPPED)
    p = tmp_path / "again.json"
    model.save(p)
    again = EngagementModel.load(p)
    assert json.dumps(again.to_dict()) == json.dumps(model.to_dict())


_json_leaf = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(10**30), max_value=10**30),
                       st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=5))
_json_value = st.recursive(_json_leaf, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                               st.dictionaries(st.text(max_size=4), inner, max_size=3)),
                           max_leaves=6)
_PATHS = [("power", "force_ratio"), ("power", "intercept"), ("casualty", "att", "sigma"),
          ("casualty", "def", "log_duration"), ("fill", "force_ratio"), ("se", "power:intercept"),
          ("duration", "all"), ("duration", "size_exponent"), ("advance", "all"), ("groups", "power"),
          ("casualty", "att"), ("meta",), ("fill",)]


@seed(14)
@settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(path=st.sampled_from(_PATHS), value=_json_value)
def test_random_edits_never_crash_and_accepted_files_predict_finite(path, value) -> None:
    d = shipped()
    target = d
    for k in path[:-1]:
        target = target[k]
    target[path[-1]] = value
    try:
        checked = parse_params(json.dumps(d))
    except ParamsFileError as e:
        assert str(e) and "\n" not in str(e)
        return
    model = EngagementModel.from_dict(checked)
    p, ca, cd = model.predict_batch(np.array([12_000.0, 3_000.0]), np.array([8_000.0, 9_000.0]),
                                    duration_hours=np.array([24.0, 72.0]), year=1945.0)
    assert np.all(np.isfinite(p)) and np.all(np.isfinite(ca)) and np.all(np.isfinite(cd))


# --------------------------------------------------------------------------- absurd counts

BIG = "9" * 400
COUNT_COMMANDS = [
    (["run", str(MINI), "-n", BIG], "--replications"),
    (["history", str(MINI), "-n", BIG], "--replications"),
    (["check-model", str(MINI), "-n", BIG], "--replications"),
    (["ensemble", str(MINI), "-n", BIG], "--replications"),
    (["ensemble", str(MINI), "-n", "5", "--chunk", BIG], "--chunk"),
    (["ensemble", str(MINI), "-n", "5", "--workers", BIG], "--workers"),
    (["whatif", str(MINI), "-n", BIG, "--set", "params.combat.intensity=1"], "--replications"),
    (["sensitivity", str(MINI), "-n", BIG], "--replications"),
    (["sensitivity", str(MINI), "--reps", BIG], "--replications"),
    (["sensitivity", str(MINI), "-n", "1000000", "--reps", "1000000"], "replications"),
    (["report", str(MINI), "-n", BIG, "--out", "{tmp}/r.html"], "--replications"),
    (["plot", "strengths", str(MINI), "-n", BIG, "--out", "{tmp}/p.png"], "--replications"),
    (["run", str(MINI), "-n", "9" * 5000], "5,000-digit"),
    (["run", str(MINI), "-n", "10000000000000"], "10,000,000,000,000"),
    (["run", str(MINI), "-n", "-" + BIG], "--replications"),
    (["ensemble", str(MINI), "-n", "1e9"], "not a whole number"),
    (["engagement", "doc", "{tmp}/none.csv", "--extra-seeds", BIG, "--out", "{tmp}/d.md"], "--extra-seeds"),
    (["engagement", "evaluate", "{tmp}/in.csv", "--folds", BIG], "--folds"),
]


@pytest.mark.parametrize(("args", "word"), COUNT_COMMANDS,
                         ids=[" ".join(x if x != str(MINI) else "mini" for x in a)[:40] for a, _ in COUNT_COMMANDS])
def test_absurd_counts_exit_2_in_every_command(tmp_path, args, word) -> None:
    (tmp_path / "in.csv").write_text(HEADER + "\n" + row() + "\n")
    r = runner.invoke(app, [a.replace("{tmp}", str(tmp_path)) for a in args])
    one_line_exit_2(r, word)
    assert [p.name for p in tmp_path.iterdir()] == ["in.csv"]  # nothing written
