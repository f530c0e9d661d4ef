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

NOT DONE YET (do not read these figures into this script's output):
- the comparison with a Mesa agent-based reference implementation;
- the memory-bandwidth estimate (bytes moved per replication-step against
  the machine's bandwidth).
"""

from __future__ import annotations

import argparse
import os
import platform
import time


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
    print("Not measured here yet: the Mesa reference implementation and the memory-bandwidth estimate.")


if __name__ == "__main__":
    main()
