"""The long fuzz run of issue 14: random hostile edits of the packaged West Hunan folder, each
checked with `xuefeng validate` (and, with --run K, the first K that validate run with
`xuefeng run -n 1`). Counts every outcome; a traceback or a non-2 refusal is a failure.

    python benchmarks/fuzz_scenarios.py [-n 2000] [--seed 0] [--run 50]

The edits are those of `tests/test_input_fuzz.py` (one line of scenario.yaml, map.geojson or
history_targets.yaml: a nasty value, deleted, duplicated or truncated), drawn with Python's
`random` from the seed, so a run is repeatable.
"""

from __future__ import annotations

import argparse
import collections
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from typer.testing import CliRunner  # noqa: E402

from test_input_fuzz import MAP, NASTY, PACKAGED, SCENARIO, TARGETS, WHATIFS, _apply, copy_folder, validate  # noqa: E402
from xuefeng.cli import app  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=2000, help="mutations")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--run", type=int, default=0, help="also run this many of the valid mutations (1 replication)")
    a = ap.parse_args()
    rng = random.Random(a.seed)
    lines = {f: len((PACKAGED / f).read_text(encoding="utf-8").splitlines()) for f in (SCENARIO, MAP, TARGETS)}
    counts: collections.Counter[str] = collections.Counter()
    failures: list[str] = []
    ran = 0
    t0 = time.perf_counter()
    for k in range(a.n):
        file = rng.choice([SCENARIO, SCENARIO, SCENARIO, MAP, TARGETS])
        m = (file, rng.randrange(lines[file]), rng.choice(["value", "delete", "duplicate", "truncate"]), rng.choice(NASTY))
        with tempfile.TemporaryDirectory() as tmp:
            folder = copy_folder(Path(tmp), without=(WHATIFS,))
            _apply(folder, *m)
            code, out, exc = validate(folder)
            if exc is not None or "Traceback" in out:
                counts["traceback"] += 1
                failures.append(f"{m}: {type(exc).__name__ if exc else 'Traceback'}")
                continue
            if code == 2:
                first = out.splitlines()[0] if out else ""
                ok = first.startswith("error: ") and any(n in first for n in (SCENARIO, MAP, TARGETS))
                counts["refused (one located line, exit 2)" if ok else "refused badly"] += 1
                if not ok:
                    failures.append(f"{m}: {first[:120]}")
                continue
            if code != 0:
                counts[f"exit {code}"] += 1
                failures.append(f"{m}: exit {code}")
                continue
            counts["valid"] += 1
            if ran < a.run:
                ran += 1
                res = CliRunner().invoke(app, ["run", str(folder), "-n", "1", "--json"])
                bad = not isinstance(res.exception, (SystemExit, type(None)))
                counts["valid: run exit 0" if res.exit_code == 0 and not bad else
                       ("valid: run refused (exit 2)" if res.exit_code == 2 and not bad else "valid: run failed")] += 1
                if bad or res.exit_code not in (0, 2):
                    failures.append(f"{m}: run exit {res.exit_code} {type(res.exception).__name__}")
        if (k + 1) % 200 == 0:
            print(f"  {k + 1}/{a.n} in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    print(f"{a.n} mutations (seed {a.seed}) in {time.perf_counter() - t0:.0f} s:")
    for name, n in sorted(counts.items()):
        print(f"  {name:40s} {n:6d}")
    for f in failures[:20]:
        print("  FAIL", f)
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
