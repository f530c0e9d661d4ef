"""What a new user meets first (issue 11): --version, help in words, whole numbers,
80 columns, side names, `scenario new`, reports from ensembles, no verdict from one
replication, sensitivity's warning."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from typer.testing import CliRunner

import xuefeng
from xuefeng.cli import app

MINI = str(Path(__file__).parent / "fixtures" / "scenarios" / "mini")
SRC = str(Path(__file__).parents[1] / "src")
runner = CliRunner()


def test_version_from_the_entry_point() -> None:
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    r = subprocess.run([sys.executable, "-c", "from xuefeng.cli import main; main()", "--version"],
                       capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f"xuefeng {xuefeng.__version__}"


@pytest.mark.parametrize("args", [[], ["run"], ["report"], ["plot"], ["whatif"], ["sensitivity"], ["ensemble"],
                                  ["scenario", "new"], ["validate"], ["engagement", "evaluate"], ["serve"]])
def test_help_placeholders_are_words(args) -> None:
    r = runner.invoke(app, [*args, "--help"], env={"COLUMNS": "80"})
    assert r.exit_code == 0, r.output
    for typed in ("<bool>", "<str>", "<int>", "<path>", "<float>", "<list"):
        assert typed not in r.output, (args, typed)
    assert max(len(line) for line in r.output.splitlines()) <= 80


def test_people_print_as_whole_numbers() -> None:
    from xuefeng.cli.ensemble_cmds import _fmt_value
    from xuefeng.cli.run_cmds import _fmt, _stat

    assert _fmt(8.59) == "9" and _fmt(8.59, whole=False) == "8.6"
    assert _stat({"median": 9.2, "p05": 3.4, "p95": 18.6}, 5) == ("9", "3 – 19")
    assert _fmt_value("aircrew_lost.japan", 9.2) == "9"
    assert _fmt_value("casualties.red.killed", -2.4, signed=True) == "-2"
    assert _fmt_value("advance_km", 2.345) == "2.35"


def test_run_table_fits_80_columns() -> None:
    r = runner.invoke(app, ["run", MINI, "-n", "3"], env={"COLUMNS": "80"})
    assert r.exit_code == 0, r.output
    assert max(len(line) for line in r.stdout.splitlines()) <= 80
    assert "Redland" in r.stdout


def test_whatif_rows_name_the_sides() -> None:
    r = runner.invoke(app, ["whatif", MINI, "--set", "params.combat.intensity=2", "-n", "2", "--workers", "1"],
                      env={"COLUMNS": "80"})
    assert r.exit_code == 0, r.output
    rows = [line for line in r.stdout.splitlines() if "killed" in line or "victory" in line]
    assert rows and any("Redland" in x or "Blueland" in x for x in rows), r.stdout
    assert not any(" red " in x or " blue " in x for x in rows)
    assert max(len(line) for line in r.stdout.splitlines()) <= 80


def test_scenario_new_copies_a_packaged_scenario(tmp_path) -> None:
    folder = tmp_path / "my-scenario"
    r = runner.invoke(app, ["scenario", "new", str(folder)])
    assert r.exit_code == 0, r.output
    assert (folder / "scenario.yaml").is_file()
    r = runner.invoke(app, ["validate", str(folder)])
    assert r.exit_code == 0 and r.stdout.startswith("ok: "), r.output
    assert "China (with US air support)" in r.stdout  # side names, not ids
    r = runner.invoke(app, ["run", str(folder), "-n", "2", "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["replications"] == 2
    # a folder that holds something is refused; an empty one is used
    again = runner.invoke(app, ["scenario", "new", str(folder)])
    assert again.exit_code == 2 and "not an empty folder" in again.output
    (tmp_path / "empty").mkdir()
    assert runner.invoke(app, ["scenario", "new", str(tmp_path / "empty")]).exit_code == 0
    bad = runner.invoke(app, ["scenario", "new", str(tmp_path / "other"), "--from", "no-such-scenario"])
    assert bad.exit_code == 2 and "--from no-such-scenario" in bad.output and "Traceback" not in bad.output
    assert not (tmp_path / "other").exists()


def test_one_replication_report_has_no_verdict() -> None:
    from report_fixtures import toy_results, toy_scenario
    from xuefeng.viz.report import build_report

    sc = toy_scenario()
    one = build_report(sc, toy_results(sc, replications=1))
    table = one[one.index('<table id="claims-table">'):]
    table = table[: table.index("</table>")]
    assert "Claim in model range" not in table and "one replication" in table
    assert 'class="outside"' not in table and 'class="within"' not in table
    many = build_report(sc, toy_results(sc, replications=5))
    assert "Claim in model range" in many


def test_report_and_plot_read_an_ensemble_folder(tmp_path) -> None:
    out = tmp_path / "ens"
    r = runner.invoke(app, ["ensemble", MINI, "-n", "6", "-c", "2", "--workers", "1", "--out", str(out)])
    assert r.exit_code == 0, r.output
    from xuefeng.analysis.ensemble_read import read_results

    res = read_results(out)
    assert res.replications == 6 and list(res.replication_ids) == list(range(6))
    assert set(res.events["replication"]) <= {0}  # only the replayed replication's events are kept
    html = tmp_path / "r.html"
    r = runner.invoke(app, ["report", MINI, "--from", str(out), "--out", str(html)])
    assert r.exit_code == 0, r.output
    assert "6 replications" in html.read_text()
    png = tmp_path / "h.png"
    r = runner.invoke(app, ["plot", "histograms", MINI, "--from", str(out), "--out", str(png)])
    assert r.exit_code == 0, r.output
    assert png.read_bytes().startswith(b"\x89PNG")


def test_incomplete_ensemble_is_refused(tmp_path) -> None:
    out = tmp_path / "ens"
    assert runner.invoke(app, ["ensemble", MINI, "-n", "4", "-c", "2", "--workers", "1",
                               "--out", str(out)]).exit_code == 0
    from xuefeng.analysis.ensemble import write_manifest

    m = json.loads((out / "manifest.json").read_text())
    m["chunks"][1]["status"] = "pending"  # as a run killed before its last chunk left it
    m["chunks"][1].pop("files", None)
    write_manifest(out, m)  # with its checksum: an honest incomplete folder, not a damaged one
    r = runner.invoke(app, ["report", MINI, "--from", str(out), "--out", str(tmp_path / "r.html")])
    assert r.exit_code == 2
    assert "not complete (1 of 2 chunks done)" in r.output and "--resume" in r.output
    assert "Traceback" not in r.output


def test_sensitivity_takes_replications_with_n_and_warns() -> None:
    from xuefeng.cli.ensemble_cmds import _interval_too_wide

    assert _interval_too_wide(0.28, 1.65) and not _interval_too_wide(0.5, 0.1)
    assert not _interval_too_wide(0.0, 0.0)
    r = runner.invoke(app, ["sensitivity", MINI, "-p", "combat.intensity", "--base-size", "2", "-n", "1",
                            "--workers", "1"])
    assert r.exit_code == 0, r.output
    assert "× 1 replication," in " ".join(r.stdout.split())
    assert "wider than the index" in " ".join(r.stderr.split())


def test_history_counts_are_whole() -> None:
    from xuefeng.analysis.history import format_value

    assert format_value(9.2, "count") == "9" and format_value(9.2, "number") == "9.20"
    assert format_value(0.25, "probability") == "25.0%"


def test_histograms_of_one_replication_are_refused(tmp_path) -> None:
    png = tmp_path / "h.png"
    r = runner.invoke(app, ["plot", "histograms", MINI, "-n", "1", "--out", str(png)])
    assert r.exit_code == 2 and "2 or more replications" in " ".join(r.output.split())
    assert not png.exists()
