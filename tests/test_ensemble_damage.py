"""Damaged ensemble folders (issue 14): a finished folder whose files were truncated, emptied, garbled,
deleted, swapped between chunks, replaced by another chunk's, or edited. `xuefeng ensemble --verify`
names every damaged file (exit 1); `--resume` either restores the folder — the damaged chunks run
again, `summary.json` is rebuilt, and the data are those of an uninterrupted run, bit for bit — or,
when the manifest itself cannot be trusted, refuses with exit 2 and one line. Nothing damaged is used
silently.

A tiny ensemble (6 replications of the mini scenario in 3 chunks of 2, one worker) keeps each case
well under a second.
"""

from __future__ import annotations

from cli_support import one_line_exit_2

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from ensemble_support import MINI, assert_same_results, cli_app
from typer.testing import CliRunner

from xuefeng.analysis.ensemble import MANIFEST, SUMMARY, chunk_dir, verify_folder
from xuefeng.results import io

runner = CliRunner()
N, CHUNK, SEED = 6, 2, 5
CHUNKS = N // CHUNK
ARGS = [str(MINI), "-n", str(N), "-c", str(CHUNK), "--seed", str(SEED), "--workers", "1", "--json"]


def ensemble(*args: str):
    return runner.invoke(cli_app(), ["ensemble", *args])


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> tuple[Path, str]:
    """An uninterrupted run: its folder and its --json output."""
    out = tmp_path_factory.mktemp("reference") / "ens"
    r = ensemble(*ARGS, "--out", str(out))
    assert r.exit_code == 0, r.output
    return out, r.stdout


def chunk(folder: Path, i: int) -> Path:
    return folder / chunk_dir(i)


def assert_restored(folder: Path, reference: tuple[Path, str], stdout: str) -> None:
    """The folder holds exactly the reference's data (every chunk, the summary) and verifies."""
    ref, ref_stdout = reference
    for i in range(CHUNKS):
        assert_same_results(io.load(chunk(folder, i)), io.load(chunk(ref, i)))
    assert json.loads((folder / SUMMARY).read_text()) == json.loads((ref / SUMMARY).read_text())
    assert json.loads(stdout) == json.loads(ref_stdout)
    assert json.loads((folder / MANIFEST).read_text())["complete"] is True
    assert verify_folder(folder).intact
    assert ensemble("--verify", str(folder)).exit_code == 0


def assert_one_line_exit_2(result, *words: str) -> None:
    one_line_exit_2(result, *words)


# --------------------------------------------------------------------------- kinds of damage

def truncate(p: Path) -> None:
    p.write_bytes(p.read_bytes()[: p.stat().st_size // 2])


def empty(p: Path) -> None:
    p.write_bytes(b"")


def garble(p: Path) -> None:
    """Flip bytes in the middle: same size, other content (what a bad sector or a stray write does)."""
    data = bytearray(p.read_bytes())
    mid = len(data) // 2
    for k in range(mid, min(mid + 16, len(data))):
        data[k] ^= 0x5A
    p.write_bytes(bytes(data))


def delete(p: Path) -> None:
    p.unlink()


def swap(a: Path, b: Path) -> None:
    tmp = a.with_name(a.name + ".swap")
    a.rename(tmp)
    b.rename(a)
    tmp.rename(b)


def _in_chunk(i: int, name: str, how: Callable[[Path], None]) -> Callable[[Path], list[str]]:
    def damage(folder: Path) -> list[str]:
        how(chunk(folder, i) / name)
        return [f"{chunk_dir(i)}/{name}"]
    return damage


FILE_DAMAGE = [(f"{how.__name__} {name} of chunk {i}", _in_chunk(i, name, how))
               for name, i in (("ledger.parquet", 1), ("events.parquet", 2), ("series.nc", 0),
                               ("results.json", 2))
               for how in (truncate, empty, garble, delete)]
FILE_DAMAGE += [(f"garble {name} of chunk 1", _in_chunk(1, name, garble))
                for name in ("outcome.parquet", "arrivals.parquet", "side_totals.parquet")]


def swap_files(name: str, i: int, j: int) -> Callable[[Path], list[str]]:
    def damage(folder: Path) -> list[str]:
        swap(chunk(folder, i) / name, chunk(folder, j) / name)
        return [f"{chunk_dir(i)}/{name}", f"{chunk_dir(j)}/{name}"]
    return damage


def swap_chunks(folder: Path) -> list[str]:
    swap(chunk(folder, 1), chunk(folder, 2))
    return [chunk_dir(1), chunk_dir(2)]


def copy_of_other_chunk(folder: Path) -> list[str]:
    shutil.rmtree(chunk(folder, 2))
    shutil.copytree(chunk(folder, 1), chunk(folder, 2))
    return [chunk_dir(2)]


def delete_chunk(folder: Path) -> list[str]:
    shutil.rmtree(chunk(folder, 1))
    return [chunk_dir(1)]


def delete_all_chunks(folder: Path) -> list[str]:
    shutil.rmtree(folder / "chunks")
    return [chunk_dir(i) for i in range(CHUNKS)]


def chunk_folder_is_a_file(folder: Path) -> list[str]:
    shutil.rmtree(chunk(folder, 0))
    chunk(folder, 0).write_text("not a chunk")
    return [chunk_dir(0)]


def stray_file_in_chunk(folder: Path) -> list[str]:
    (chunk(folder, 1) / "summary.json").write_text('{"p_victory": {"red": 1.0}}')
    return [f"{chunk_dir(1)}/summary.json"]


def edit_results_json(folder: Path) -> list[str]:
    """A hand edit that keeps valid JSON: another seed and unit names (load would take them)."""
    p = chunk(folder, 1) / "results.json"
    m = json.loads(p.read_text())
    m["seed"] = SEED + 1
    m["unit_names"] = [n.upper() for n in m["unit_names"]]
    p.write_text(json.dumps(m, indent=2))
    return [f"{chunk_dir(1)}/results.json"]


def summary_damage(how: Callable[[Path], None]) -> Callable[[Path], list[str]]:
    def damage(folder: Path) -> list[str]:
        how(folder / SUMMARY)
        return [SUMMARY]
    return damage


def edit_summary(folder: Path) -> list[str]:
    p = folder / SUMMARY
    s = json.loads(p.read_text())
    s["replications"] = 1_000_000
    p.write_text(json.dumps(s))
    return [SUMMARY]


RESTORED = FILE_DAMAGE + [
    ("swap ledgers of chunks 1 and 2", swap_files("ledger.parquet", 1, 2)),
    ("swap events of chunks 0 and 1", swap_files("events.parquet", 0, 1)),
    ("swap results.json of chunks 0 and 1", swap_files("results.json", 0, 1)),  # 1 and 2: the same bytes
    ("swap outcomes of chunks 1 and 2", swap_files("outcome.parquet", 1, 2)),
    ("swap chunk folders 1 and 2", swap_chunks),
    ("chunk 2 replaced by a copy of chunk 1", copy_of_other_chunk),
    ("delete a chunk folder", delete_chunk),
    ("delete every chunk", delete_all_chunks),
    ("a chunk folder replaced by a file", chunk_folder_is_a_file),
    ("a stray file in a chunk", stray_file_in_chunk),
    ("edit results.json", edit_results_json),
    ("garble summary.json", summary_damage(garble)),
    ("truncate summary.json", summary_damage(truncate)),
    ("delete summary.json", summary_damage(delete)),
    ("edit summary.json", edit_summary),
]


@pytest.mark.parametrize(("case", "damage"), RESTORED, ids=[c for c, _ in RESTORED])
def test_damaged_folder_is_named_by_verify_and_restored_by_resume(tmp_path, reference, case, damage) -> None:
    folder = tmp_path / "ens"
    shutil.copytree(reference[0], folder)
    damaged = damage(folder)

    check = verify_folder(folder)
    named = {p for p, _ in check.problems}
    assert all(any(n == d or n.startswith(d + "/") for n in named) for d in damaged), (damaged, check.problems)
    v = ensemble("--verify", str(folder))
    assert v.exit_code == 1, v.output
    assert all(d in v.stdout for d in damaged)

    r = ensemble(*ARGS, "--out", str(folder), "--resume")
    assert r.exit_code == 0, r.output
    if not all(d == SUMMARY for d in damaged):  # a damaged chunk is said to run again, never silently used
        assert "runs again" in r.stderr
    assert_restored(folder, reference, r.stdout)


def _manifest_edit(edit: Callable[[dict], None], keep_checksum: bool = True) -> Callable[[Path], None]:
    def damage(folder: Path) -> None:
        p = folder / MANIFEST
        m = json.loads(p.read_text())
        edit(m)
        if not keep_checksum:  # a forged checksum over a broken body: the schema still refuses it
            from xuefeng.analysis.ensemble import _canonical_digest

            m["sha256"] = _canonical_digest({k: v for k, v in m.items() if k != "sha256"})
        p.write_text(json.dumps(m, indent=2))
    return damage


def _set_seed(m: dict) -> None:
    m["seed"] = SEED + 1


def _set_file_hash(m: dict) -> None:
    m["chunks"][1]["files"]["ledger.parquet"]["sha256"] = "0" * 64


def _break_chunk_record(m: dict) -> None:
    m["chunks"][1]["count"] = "two"


def _replace_manifest(text: str) -> Callable[[Path], None]:
    return lambda folder: (folder / MANIFEST).write_text(text)


REFUSED = [
    ("garble the manifest", lambda f: garble(f / MANIFEST), "manifest.json"),
    ("truncate the manifest", lambda f: truncate(f / MANIFEST), "manifest.json"),
    ("empty the manifest", lambda f: empty(f / MANIFEST), "manifest.json"),
    ("manifest nested too deeply", _replace_manifest("[" * 100_000 + "]" * 100_000), "manifest.json"),
    ("manifest a JSON list", _replace_manifest("[]"), "manifest.json"),
    ("edit the manifest's seed", _manifest_edit(_set_seed), "edited"),
    ("edit a recorded hash", _manifest_edit(_set_file_hash), "edited"),
    ("forged checksum over a broken record", _manifest_edit(_break_chunk_record, keep_checksum=False),
     "chunks.1.count"),
    ("delete the manifest", lambda f: delete(f / MANIFEST), "no ensemble"),
]


@pytest.mark.parametrize(("case", "damage", "word"), REFUSED, ids=[c for c, _, _ in REFUSED])
def test_untrustworthy_manifest_is_refused_with_exit_2(tmp_path, reference, case, damage, word) -> None:
    folder = tmp_path / "ens"
    shutil.copytree(reference[0], folder)
    damage(folder)
    assert_one_line_exit_2(ensemble("--verify", str(folder)), word)
    assert_one_line_exit_2(ensemble(*ARGS, "--out", str(folder), "--resume"), word)
    # with the arguments left for the manifest to give, the same refusal
    assert_one_line_exit_2(ensemble(str(MINI), "--out", str(folder), "--resume"), word)


def test_intact_folder_verifies_and_resumes_to_itself(tmp_path, reference) -> None:
    folder = tmp_path / "ens"
    shutil.copytree(reference[0], folder)
    v = ensemble("--verify", str(folder))
    assert v.exit_code == 0 and "intact" in v.stdout and "complete" in v.stdout
    j = ensemble("--verify", str(folder), "--json")
    assert json.loads(j.stdout) == {"folder": str(folder), "intact": True, "complete": True, "chunks": CHUNKS,
                                    "chunks_done": CHUNKS, "damaged": []}
    r = ensemble(*ARGS, "--out", str(folder), "--resume")
    assert r.exit_code == 0 and "runs again" not in r.stderr
    assert_restored(folder, reference, r.stdout)


def test_interrupted_folder_verifies_as_incomplete_and_resumes(tmp_path, reference) -> None:
    """A chunk saved but not yet recorded (killed between the two writes) is not trusted: it runs again."""
    folder = tmp_path / "ens"
    shutil.copytree(reference[0], folder)
    p = folder / MANIFEST
    m = json.loads(p.read_text())
    m["chunks"][2].update(status="pending", files=None)
    m["complete"], m["summary_file"] = False, None
    from xuefeng.analysis.ensemble import write_manifest

    write_manifest(folder, m)
    (folder / SUMMARY).unlink()
    v = ensemble("--verify", str(folder))
    assert v.exit_code == 0 and "incomplete: 2 of 3" in v.stdout
    r = ensemble(*ARGS, "--out", str(folder), "--resume")
    assert r.exit_code == 0, r.output
    assert_restored(folder, reference, r.stdout)


def test_verify_refuses_other_arguments_and_missing_folders(tmp_path) -> None:
    assert_one_line_exit_2(ensemble("--verify", str(tmp_path / "nope")), "no such folder")
    assert_one_line_exit_2(ensemble("--verify", str(tmp_path)), "no ensemble")
    assert_one_line_exit_2(ensemble("--verify", str(tmp_path), "-n", "5"), "--verify", "-n")
