"""Throughput of the campaign engine on the full West Hunan scenario: sizes, the
Mesa reference, the memory-bandwidth floor, local processes and Dask scaling.

Run:  python benchmarks/bench_engine.py            (everything, about 4 minutes on 2 cores)
      python benchmarks/bench_engine.py --quick    (small sizes only, under a minute)
      python benchmarks/bench_engine.py --versus OLD/src   (this engine against another
                                                    checkout's, side by side; see below)
Options: --scenario NAME, --seed S, --mesa-n N, --dask-n N, --no-dask, --no-mesa;
--versus SRC, --pairs P, --runs K, --n N.

--versus SRC: the engine of this checkout against the one under SRC (the `src` folder of
another checkout, e.g. a `git worktree` of an older commit), each in its own process with
SRC or this checkout's src first on PYTHONPATH, alternating old and new P times (default 3):
each process runs a 50-replication warm-up, then `simulate(scenario, N, seed, keep_series=0)`
K times (default N = 1,000, K = 2), timed by wall clock and by process CPU time. Prints every
run's milliseconds per replication, the best and the mean of each engine and their ratios.
Alternating, and best-of beside the mean, because other work on the machine slows either.

Prints one table (replications per second) and notes:

- engine, 1 process: one `simulate(scenario, N, seed, keep_series=0)` call in
  this process for N = 1, 100, 1,000, 10,000 (after a warm-up call, so that
  imports, the engagement model and the Numba kernels' cache are loaded);
- ensemble, local processes: `run_ensemble(..., workers=K)` with the chunk
  size `xuefeng ensemble` picks, K = 1 and 2 — the command a user runs
  (`xuefeng ensemble -n 10000 --workers 2`), without the output tables;
- dask: the same ensemble on a `dask.distributed.LocalCluster` on 127.0.0.1
  with 1 and 2 worker processes (one thread each), cluster start not counted;
- Mesa reference (benchmarks/mesa_reference.py: the same campaign model, one
  Mesa agent per unit): replications per second, its agreement with the
  engine on the main outcomes (Mann-Whitney, Bonferroni over the table), and
  the engine's speed over it per replication — engine at N = 1,000 in one
  process against Mesa, both timed in this run;
- memory-bandwidth floor: the bytes of state one unit-step must at least read
  and write (every per-replication array of the engine's `State`, read once
  and written once per step, divided by the units), against this machine's
  measured array-copy bandwidth (numpy copy of a 256 MB array, best of 5, read
  + write counted); the ratio says how far the engine is from being limited by
  memory rather than by computation and per-call overhead. (Per unit-step of
  the campaign's full length: replications that end early are no longer
  stepped, so the engine touches less than that.)
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path


def copy_bandwidth_bytes_per_s(megabytes: int = 256, repeats: int = 5) -> float:
    """Best-of-`repeats` numpy array copy rate, bytes read + written per second."""
    import numpy as np

    src = np.ones(megabytes * 2**20 // 8)
    dst = np.empty_like(src)
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        np.copyto(dst, src)
        best = min(best, time.perf_counter() - t)
    return 2 * src.nbytes / best


def state_bytes_per_unit_step(scen, seed: int) -> tuple[float, int, int]:
    """Bytes of per-replication state one unit-step reads and writes (each array once each way),
    the number of manoeuvre units and the steps of a full campaign."""
    import numpy as np

    from xuefeng.engine import Simulation, compile_scenario

    c = compile_scenario(scen)
    r = 16
    sim = Simulation(c, np.arange(r), seed, keep_series=0)
    per_rep = sum(v.nbytes for v in vars(sim.s).values()
                  if isinstance(v, np.ndarray) and v.ndim >= 1 and v.shape[0] == r) / r
    units = sim.s.cell.shape[1]
    return 2 * per_rep / units, units, c.n_steps


def _timed(fn, *args, **kw) -> tuple[object, float]:
    t = time.perf_counter()
    out = fn(*args, **kw)
    return out, time.perf_counter() - t


def time_only(scenario: str, n: int, seed: int, runs: int) -> None:
    """One side of --versus: warm up, then time `runs` runs of n replications; print JSON."""
    import json

    import xuefeng
    from xuefeng.engine import simulate
    from xuefeng.scenario import load_scenario

    scen = load_scenario(scenario)
    simulate(scen, 50, seed, keep_series=0)
    wall, cpu = [], []
    for _ in range(runs):
        t, c = time.perf_counter(), time.process_time()
        simulate(scen, n, seed, keep_series=0)
        wall.append((time.perf_counter() - t) / n * 1000)
        cpu.append((time.process_time() - c) / n * 1000)
    print(json.dumps({"engine": str(Path(xuefeng.__file__).resolve().parent.parent), "wall": wall, "cpu": cpu}))


def versus(old_src: str, scenario: str, n: int, seed: int, pairs: int, runs: int) -> None:
    """This checkout's engine against the one under old_src, alternating processes."""
    import json
    import subprocess
    from statistics import mean

    new_src = str(Path(__file__).resolve().parent.parent / "src")
    old_src = str(Path(old_src).resolve())
    out: dict[str, dict[str, list[float]]] = {"old": {"wall": [], "cpu": []}, "new": {"wall": [], "cpu": []}}
    print(f"# {scenario}, N={n:,}, seed {seed}, keep_series=0, {runs} run(s) per process after a 50-replication "
          f"warm-up, {pairs} alternating pair(s); ms per replication (wall / CPU)")
    print(f"# old: {old_src}\n# new: {new_src}")
    for i in range(pairs):
        for name, src in (("old", old_src), ("new", new_src)):
            env = dict(os.environ, PYTHONPATH=src + os.pathsep + os.environ.get("PYTHONPATH", ""))
            res = subprocess.run([sys.executable, __file__, "--time-only", "--scenario", scenario, "--n", str(n),
                                  "--seed", str(seed), "--runs", str(runs)],
                                 env=env, capture_output=True, text=True)
            if res.returncode != 0:
                raise SystemExit(f"{name} engine ({src}) failed:\n{res.stderr[-2000:]}")
            r = json.loads(res.stdout.strip().splitlines()[-1])
            if not r["engine"].startswith(src.rstrip("/")):
                raise SystemExit(f"{name}: imported the engine from {r['engine']}, not {src}")
            out[name]["wall"] += r["wall"]
            out[name]["cpu"] += r["cpu"]
            print(f"  pair {i + 1}, {name}: " + ", ".join(f"{w:.2f} / {c:.2f}" for w, c in zip(r["wall"], r["cpu"])),
                  flush=True)
    print()
    print(f"| {'engine':<6} | {'best wall':>9} | {'mean wall':>9} | {'best CPU':>9} | {'mean CPU':>9} |")
    print(f"|{'-' * 8}|{'-' * 11}|{'-' * 11}|{'-' * 11}|{'-' * 11}|")
    for name in ("old", "new"):
        w, c = out[name]["wall"], out[name]["cpu"]
        print(f"| {name:<6} | {min(w):>9.2f} | {mean(w):>9.2f} | {min(c):>9.2f} | {mean(c):>9.2f} |")
    o, nw = out["old"], out["new"]
    print(f"| new/old | {min(nw['wall']) / min(o['wall']):>9.3f} | {mean(nw['wall']) / mean(o['wall']):>9.3f} | "
          f"{min(nw['cpu']) / min(o['cpu']):>9.3f} | {mean(nw['cpu']) / mean(o['cpu']):>9.3f} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="N up to 1,000, small ensembles, 5 Mesa replications")
    ap.add_argument("--scenario", default="west-hunan-1945")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--mesa-n", type=int, default=None, help="Mesa replications (default 20; --quick 5)")
    ap.add_argument("--dask-n", type=int, default=None, help="replications of the Dask ensembles (default 2000)")
    ap.add_argument("--no-dask", action="store_true", help="skip the Dask cluster")
    ap.add_argument("--no-mesa", action="store_true", help="skip the Mesa reference")
    ap.add_argument("--versus", metavar="SRC", help="time this engine against the one under SRC (another "
                    "checkout's src folder), side by side, and nothing else")
    ap.add_argument("--pairs", type=int, default=3, help="--versus: alternating old/new pairs (default 3)")
    ap.add_argument("--runs", type=int, default=2, help="--versus: timed runs per process (default 2)")
    ap.add_argument("--n", type=int, default=1000, help="--versus: replications per run (default 1000)")
    ap.add_argument("--time-only", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.time_only:
        return time_only(args.scenario, args.n, args.seed, args.runs)
    if args.versus:
        return versus(args.versus, args.scenario, args.n, args.seed, args.pairs, args.runs)

    from xuefeng.analysis.ensemble import default_chunk, run_ensemble
    from xuefeng.engine import simulate
    from xuefeng.scenario import load_scenario

    scen = load_scenario(args.scenario)
    print(f"# {scen.meta.title}: {args.scenario}, seed {args.seed}")
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs visible, "
          f"Python {platform.python_version()}")
    _, warm = _timed(simulate, scen, 1, args.seed, keep_series=0)
    print(f"# warm-up (imports, engagement model, Numba kernels): {warm:.2f} s", flush=True)

    rows: list[tuple[str, int, float]] = []

    def row(name: str, n: int, seconds: float) -> None:
        rows.append((name, n, seconds))
        print(f"  {name}, N={n:,}: {seconds:.2f} s ({n / seconds:,.1f}/s)", flush=True)

    big = 1000 if args.quick else 10000
    sizes = [1, 100, 1000] + ([] if args.quick else [10000])
    engine_1000 = None
    for n in sizes:
        res, secs = _timed(simulate, scen, n, args.seed, keep_series=0)
        row("engine, 1 process", n, secs)
        if n == 1000:
            engine_1000 = (res, secs)
    for w in (1, 2):
        _, secs = _timed(run_ensemble, scen, big, args.seed, chunk=default_chunk(big, w), workers=w, keep_series=0)
        row(f"ensemble, {w} local process{'es' if w > 1 else ''}", big, secs)

    if not args.no_dask:
        from dask.distributed import LocalCluster

        n = args.dask_n or (400 if args.quick else 2000)
        for w in (1, 2):
            with LocalCluster(host="127.0.0.1", n_workers=w, threads_per_worker=1, processes=True,
                              dashboard_address=None) as cluster:
                # one tiny run first so that every worker has imported the engine
                run_ensemble(scen, w, args.seed, chunk=1, scheduler=cluster.scheduler_address, keep_series=0)
                _, secs = _timed(run_ensemble, scen, n, args.seed, chunk=default_chunk(n, w),
                                 scheduler=cluster.scheduler_address, keep_series=0)
                row(f"dask LocalCluster, {w} worker{'s' if w > 1 else ''}", n, secs)

    mesa_note = "Mesa reference: skipped (--no-mesa)."
    if not args.no_mesa:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from mesa_reference import agreement, format_agreement, simulate_mesa

        m = args.mesa_n or (5 if args.quick else 20)
        simulate_mesa(scen, 1, args.seed + 1)  # warm-up
        mres, msecs = _timed(simulate_mesa, scen, m, args.seed)
        row("Mesa reference, 1 process", m, msecs)
        eres, esecs = engine_1000
        ratio = (msecs / m) / (esecs / 1000)
        mesa_note = (f"Mesa reference: {msecs / m * 1000:,.0f} ms per replication; engine (N=1,000, 1 process): "
                     f"{esecs:,.2f} ms per replication -> the engine is {ratio:,.0f}x faster "
                     "per replication.\n\nAgreement on the main outcomes (same seed, independent random streams):\n\n"
                     + format_agreement(agreement(eres, mres, scen), 1000, m))

    print()
    print(f"| {'run':<34} | {'N':>7} | {'seconds':>8} | {'replications/s':>14} |")
    print(f"|{'-' * 36}|{'-' * 9}|{'-' * 10}|{'-' * 16}|")
    for name, n, s in rows:
        print(f"| {name:<34} | {n:>7,} | {s:>8.2f} | {n / s:>14,.1f} |")
    print()
    print(mesa_note)
    print()
    bw = copy_bandwidth_bytes_per_s()
    per_unit_step, units, steps = state_bytes_per_unit_step(scen, args.seed)
    n, secs = max(((n, s) for name, n, s in rows if name.startswith("engine")), key=lambda r: r[0])
    measured = secs / (n * units * steps)
    floor = per_unit_step / bw
    print(f"Memory-bandwidth floor: {per_unit_step:,.0f} bytes per unit-step ({units} units, {steps} steps); "
          f"array copy {bw / 1e9:.1f} GB/s -> {floor * 1e9:,.1f} ns per unit-step at best; "
          f"the engine (N={n:,}, 1 process) takes {measured * 1e9:,.0f} ns per unit-step, "
          f"{measured / floor:,.0f}x the floor.")


if __name__ == "__main__":
    main()
