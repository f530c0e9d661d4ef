"""`xuefeng report`, `plot` and `serve` on the command line (engine replaced by the toy runner)."""

from __future__ import annotations

import pytest
import typer
from typer.testing import CliRunner

from report_fixtures import toy_results, toy_scenario
from xuefeng.cli import run_cmds, viz_cmds

runner = CliRunner()


@pytest.fixture
def app(monkeypatch):
    sc = toy_scenario()
    monkeypatch.setattr(run_cmds, "_load", lambda ref: sc if ref in ("toy", "west-hunan-1945")
                        else run_cmds.fail(f"unknown scenario '{ref}'"))
    monkeypatch.setattr(run_cmds, "_simulate",
                        lambda scenario, n, seed, keep, progress: toy_results(scenario, n, seed=seed))
    monkeypatch.setattr(viz_cmds, "_hexmap", lambda scenario: None)
    a = typer.Typer()

    @a.callback()
    def _root() -> None:
        pass

    viz_cmds.register(a)
    return a


def test_report_writes_html(app, tmp_path):
    out = tmp_path / "r.html"
    r = runner.invoke(app, ["report", "toy", "--replications", "3", "--seed", "5", "--out", str(out)])
    assert r.exit_code == 0, r.output
    html = out.read_text()
    assert 'id="map"' in html and "seed 5" in html and 'id="histograms"' in html


def test_report_from_saved_run(app, tmp_path):
    from xuefeng.results.io import save

    save(toy_results(toy_scenario(), 2), tmp_path / "run")
    out = tmp_path / "r.html"
    r = runner.invoke(app, ["report", "toy", "--from", str(tmp_path / "run"), "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "2 replications" in out.read_text()
    r = runner.invoke(app, ["report", "toy", "--from", str(tmp_path / "missing"), "--out", str(out)])
    assert r.exit_code == 2


@pytest.mark.parametrize("args", [["plot", "map"], ["plot", "overview"], ["plot", "toy", "strengths"], ["plot", "casualties", "toy"],
                                  ["plot", "histograms", "-n", "4"], ["plot", "map", "--date", "1945-04-07"]])
def test_plot_kinds(app, tmp_path, args):
    out = tmp_path / "p.png"
    r = runner.invoke(app, [*args, "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert out.read_bytes().startswith(b"\x89PNG")


@pytest.mark.parametrize("args, message", [
    (["plot", "pie"], "unknown plot kind 'pie'"),
    (["plot", "toy", "pie"], "unknown plot kind 'pie'"),
    (["plot", "map", "--date", "1950-01-01"], "outside the campaign"),
    (["plot", "map", "--date", "May 5"], "YYYY-MM-DD"),
    (["plot", "strengths", "--date", "1945-04-07"], "map plot only"),
])
def test_plot_errors_exit_2(app, tmp_path, args, message):
    out = tmp_path / "p.png"
    r = runner.invoke(app, [*args, "--out", str(out)])
    assert r.exit_code == 2, r.output
    assert message in " ".join(r.output.split())
    assert not out.exists()


def test_serve_refuses_public_host_without_token(app, monkeypatch):
    import uvicorn

    called = []
    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: called.append(k))
    monkeypatch.delenv("XUEFENG_TOKEN", raising=False)
    r = runner.invoke(app, ["serve", "--host", "0.0.0.0", "--port", "8123"])
    assert r.exit_code == 2 and "--token" in r.output and not called
    r = runner.invoke(app, ["serve", "--host", "0.0.0.0", "--token", "short"])
    assert r.exit_code == 2 and not called
    r = runner.invoke(app, ["serve", "--host", "0.0.0.0", "--port", "8123", "--token", "a-long-secret"])
    assert r.exit_code == 0, r.output
    assert called[-1]["host"] == "0.0.0.0" and called[-1]["port"] == 8123
    r = runner.invoke(app, ["serve"])
    assert r.exit_code == 0 and called[-1]["host"] == "127.0.0.1"
