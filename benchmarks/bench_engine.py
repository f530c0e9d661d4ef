"""Throughput of the campaign engine on the full West Hunan scenario, and the
scaling of an ensemble on a local Dask cluster.

Run:  python benchmarks/bench_engine.py          (N = 1, 100, 1000; Dask: 400 replications in chunks of 100)
      python benchmarks/bench_engine.py --full   (adds N = 10000; Dask: 2000 replications)
Options: --scenario NAME, --seed S, --dask-n N, --chunk C, --no-dask.

Prints a table of replications per second:
- engine: one `simulate(scenario, N, seed, keep_series=0)` call in this
  process (a warm-up call first, so imports and the engagement model's
  loading are not counted; the scenario is compiled inside every call);
- dask: the same ensemble through `xuefeng.analysis.ensemble.run_ensemble`
  on a `dask.distributed.LocalCluster` on 127.0.0.1 with 1 and 2 worker
  processes (one thread each), cluster start-up not counted;
- processes: the same ensemble on a local process pool of 1 and 2 workers.

- memory-bandwidth floor: the bytes of state one unit-step must at least
  read and write (every per-replication array of the engine's `State`, read
  once and written once per step, divided by the units), against this
  machine's measured array-copy bandwidth (numpy copy of a 256 MB array, best
  of 5, read + write counted); the ratio says how far the engine is from
  being limited by memory rather than by interpreter and per-call overhead.

NOT DONE YET (do not read these figures into this script's output):
- the comparison with a Mesa agent-based reference implementation.
"""

from __future__ import annotations

import argparse
import os
import platform
import time


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


def _rate(n: int, seconds: float) -> str:
    return f"{n / seconds:,.1f}" if seconds > 0 else "inf"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--full", action="store_true", help="add N = 10000 and a larger Dask ensemble")
    ap.add_argument("--scenario", default="west-hunan-1945")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--dask-n", type=int, default=None, help="replications of the scaling ensemble")
    ap.add_argument("--chunk", type=int, default=100, help="chunk size of the scaling ensemble")
    ap.add_argument("--no-dask", action="store_true", help="skip the scaling part")
    args = ap.parse_args()

    from xuefeng.analysis.ensemble import run_ensemble
    from xuefeng.engine import simulate
    from xuefeng.scenario import load_scenario

    scen = load_scenario(args.scenario)
    print(f"# {scen.meta.title}: {args.scenario}, seed {args.seed}")
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs visible, "
          f"Python {platform.python_version()}")
    t = time.perf_counter()
    simulate(scen, 1, args.seed, keep_series=0)
    print(f"# warm-up (imports, engagement model, first compile): {time.perf_counter() - t:.2f} s")

    rows: list[tuple[str, int, float]] = []
    sizes = [1, 100, 1000] + ([10000] if args.full else [])
    for n in sizes:
        t = time.perf_counter()
        simulate(scen, n, args.seed, keep_series=0)
        rows.append(("engine (1 process)", n, time.perf_counter() - t))
        print(f"  engine N={n}: {rows[-1][2]:.2f} s", flush=True)

    if not args.no_dask:
        from dask.distributed import LocalCluster

        n = args.dask_n or (2000 if args.full else 400)
        for w in (1, 2):
            with LocalCluster(host="127.0.0.1", n_workers=w, threads_per_worker=1, processes=True,
                              dashboard_address=None) as cluster:
                # one tiny run first so that every worker has imported the engine
                run_ensemble(scen, w, args.seed, chunk=1, scheduler=cluster.scheduler_address, keep_series=0)
                t = time.perf_counter()
                run_ensemble(scen, n, args.seed, chunk=args.chunk, scheduler=cluster.scheduler_address,
                             keep_series=0)
                rows.append((f"dask LocalCluster, {w} worker{'s' if w > 1 else ''}", n, time.perf_counter() - t))
                print(f"  dask {w} workers N={n}: {rows[-1][2]:.2f} s", flush=True)
        for w in (1, 2):
            t = time.perf_counter()
            run_ensemble(scen, n, args.seed, chunk=args.chunk, workers=w, keep_series=0)
            rows.append((f"process pool, {w} worker{'s' if w > 1 else ''}", n, time.perf_counter() - t))
            print(f"  processes {w} N={n}: {rows[-1][2]:.2f} s", flush=True)

    print()
    print(f"| {'backend':<28} | {'N':>6} | {'seconds':>8} | {'replications/s':>14} |")
    print(f"|{'-' * 30}|{'-' * 8}|{'-' * 10}|{'-' * 16}|")
    for name, n, s in rows:
        print(f"| {name:<28} | {n:>6} | {s:>8.2f} | {_rate(n, s):>14} |")
    print()
    bw = copy_bandwidth_bytes_per_s()
    per_unit_step, units, steps = state_bytes_per_unit_step(scen, args.seed)
    name, n, secs = max((r for r in rows if r[0].startswith("engine")), key=lambda r: r[1])
    measured = secs / (n * units * steps)
    floor = per_unit_step / bw
    print(f"Memory-bandwidth floor: {per_unit_step:,.0f} bytes per unit-step ({units} units, {steps} steps); "
          f"array copy {bw / 1e9:.1f} GB/s -> {floor * 1e9:,.1f} ns per unit-step at best; "
          f"the engine (N={n}) takes {measured * 1e9:,.0f} ns per unit-step, {measured / floor:,.0f}x the floor.")
    print("Not measured here yet: the Mesa reference implementation.")


if __name__ == "__main__":
    main()
