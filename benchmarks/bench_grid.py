"""Grid executors against the sequential ``score_many`` (docs/grid.md, "Measurements").

Part A: 3 small models x the 4 Majaj-Hong benchmarks on a synthetic Majaj store, interleaved
round by round (the machine is shared; compare ratios within a round):

* ``seq``: ``score_many`` in one process (what the grid replaces), one torch/BLAS thread
  (``OMP_NUM_THREADS=1`` as below); ``seq2``: the same with two threads;
* ``model``: ``grid(..., group="model")`` on ``LocalCluster(2 workers x 1 thread)``;
* ``pair``: ``grid(..., group="pair")`` on the same kind of cluster.

Every run is a fresh process with a fresh ``NEUROALIGN_HOME`` (cold activation cache, as a first
grid is) and a fresh results database. The grid runs report the scoring wall time on an already
started cluster and, separately, the cluster start-up. Each run reports CPU seconds (user +
system) of all its processes (client with scheduler and nannies, workers); ``--verbose`` prints
every grid pair's worker and in-task time. ``--warm``: every process (the sequential one, each
worker) first scores another model on the four benchmarks, so imports and data loads are done
before the timing and only the grid's own work is compared.

Part B: scheduler overhead per task with trivial benchmarks: ``N`` example pairs (``Example.*``,
a few ms each) on one worker x one thread; overhead = (wall - sum of in-task times) / N, against
the same for the local executor.

Usage::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_grid.py --rounds 2 --scale 0.06
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_grid.py --rounds 2 --scale 0.06 \
        --warm --skip-b --verbose
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MODELS = ["synthetic:groundtruth", "example:linear", "example:linear.seed1"]
BENCHMARKS = ["MajajHong2015.V4-pls", "MajajHong2015.IT-pls", "MajajHong2015.V4-ridge",
              "MajajHong2015.IT-ridge"]
PLUGINS = "majaj2015,neural,synthetic,example"
#: scored once on every benchmark by each process before the timing with --warm
WARM_MODEL = "example:linear.seed2"


def _cpu() -> float:
    """CPU seconds (user + system) this process used so far."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _warm_up() -> None:
    """Import and load what the pairs need (torch, the regression code, the Majaj data memo) by
    scoring another model (not in the grid) on every benchmark in this process."""
    from neuroalign.scoring.gridworker import Task, clear_model_cache, run_task

    for benchmark in BENCHMARKS:
        outcome = run_task(Task(WARM_MODEL, benchmark, pretrained=False))
        assert outcome.status == "computed", outcome.error
    clear_model_cache()


def _child(mode: str, store: str, home: str, db: str, warm: str = "cold") -> dict:
    """Run one configuration in this (fresh) process; return timings."""
    os.environ.update(NEUROALIGN_STORE=store, NEUROALIGN_HOME=home, NEUROALIGN_OFFLINE="1",
                      NEUROALIGN_LOAD_PLUGINS=PLUGINS, NEUROALIGN_PROGRESS="0")
    import neuroalign
    from neuroalign.scoring import griddask

    if mode.startswith("seq"):
        if warm == "warm":
            _warm_up()
        cpu = _cpu()
        start = time.perf_counter()
        table = neuroalign.score_many(MODELS, BENCHMARKS, pretrained=False, results=db,
                                      progress=False)
        wall = time.perf_counter() - start
        failed = [f"{m} {b}: {v}" for m, row in table.items() for b, v in row.items()
                  if isinstance(v, Exception)]
        import torch

        return {"wall": wall, "cpu": _cpu() - cpu, "failed": failed,
                "threads": torch.get_num_threads()}
    import distributed

    start = time.perf_counter()
    cluster = griddask.make_cluster(workers=2, threads_per_worker=1, resources=None, devices=[])
    with cluster, distributed.Client(cluster, set_as_default=False) as client:
        client.wait_for_workers(2)
        startup = time.perf_counter() - start
        if warm == "warm":
            client.run(_warm_up)
        before = client.run(_cpu)
        cpu = _cpu()
        start = time.perf_counter()
        result = neuroalign.grid(MODELS, BENCHMARKS, executor=client, group=mode,
                                 pretrained=False, results=db, progress=False)
        wall = time.perf_counter() - start
        cpu = _cpu() - cpu
        workers = {w: c - before[w] for w, c in client.run(_cpu).items()}
    table = result.table()
    return {"wall": wall, "startup": startup, "failed": [o.error for o in result.failed],
            "cpu": cpu + sum(workers.values()), "client_cpu": cpu,
            "tasks": table[["model", "benchmark", "worker", "seconds"]].values.tolist()}


def _overhead(n_models: int, store: str, home: str) -> dict:
    os.environ.update(NEUROALIGN_STORE=store, NEUROALIGN_HOME=home, NEUROALIGN_OFFLINE="1",
                      NEUROALIGN_LOAD_PLUGINS="example", NEUROALIGN_PROGRESS="0")
    import distributed

    import neuroalign
    from neuroalign.scoring import griddask

    models = ["example:linear"] + [f"example:linear.seed{i}" for i in range(1, n_models)]
    pairs = ["Example.V4-corr", "Example.IT-corr"]
    out = {}
    cluster = griddask.make_cluster(workers=1, threads_per_worker=1, resources=None, devices=[])
    with cluster, distributed.Client(cluster, set_as_default=False) as client:
        # warm the worker (imports, first dataset load) so only steady-state cost is measured
        neuroalign.grid(models[:1], pairs, executor=client, results=False, progress=False)
        for name, executor in (("dask", client), ("local", "local"), ("dask2", client)):
            start = time.perf_counter()
            result = neuroalign.grid(models, pairs, executor=executor, results=False,
                                     progress=False)
            wall = time.perf_counter() - start
            inside = sum(o.seconds for o in result.outcomes.values())
            n = len(result.outcomes)
            out[name] = {"pairs": n, "wall": wall, "in_task": inside,
                         "overhead_ms": 1000 * (wall - inside) / n}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--scale", type=float, default=0.06)
    parser.add_argument("--modes", default="seq,model,pair")
    parser.add_argument("--overhead-models", type=int, default=25)
    parser.add_argument("--skip-a", action="store_true", help="skip part A")
    parser.add_argument("--skip-b", action="store_true", help="skip part B (overhead)")
    parser.add_argument("--verbose", action="store_true", help="print every grid task's time")
    parser.add_argument("--warm", action="store_true",
                        help="every process (the sequential one, each worker) first scores "
                             f"{WARM_MODEL} on every benchmark: imports and data loads done, "
                             "only the grid's own work is timed")
    parser.add_argument("--child", nargs=5, metavar=("MODE", "STORE", "HOME", "DB", "WARM"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_child(*args.child)))
        return
    root = Path(tempfile.mkdtemp(prefix="bench-grid-"))
    os.environ.update(NEUROALIGN_LOAD_PLUGINS=PLUGINS, NEUROALIGN_HOME=str(root / "home0"))
    from neuroalign.app.demo import build_store

    store = build_store(root / "store", scale=args.scale,
                        datasets=["MajajHong2015.public", "MajajHong2015.private", "Example.toy"])
    print(f"store {store} (scale {args.scale}, {'warm' if args.warm else 'cold'} processes); "
          f"load {os.getloadavg()[0]:.1f}", flush=True)
    rows: dict[str, list[dict]] = {}
    for r in range(args.rounds if not args.skip_a else 0):
        for mode in args.modes.split(","):
            home, db = root / f"home-{r}-{mode}", root / f"results-{r}-{mode}.sqlite"
            env = dict(os.environ)
            if mode == "seq2":  # the sequential run on both cores (2 torch/BLAS threads)
                env.update(OMP_NUM_THREADS="2", MKL_NUM_THREADS="2", OPENBLAS_NUM_THREADS="2")
            done = subprocess.run([sys.executable, __file__, "--child", mode, str(store),
                                   str(home), str(db), "warm" if args.warm else "cold"],
                                  capture_output=True, text=True, env=env, check=False)
            if done.returncode:
                print(done.stderr[-3000:])
                raise SystemExit(f"{mode} failed")
            row = json.loads(done.stdout.strip().splitlines()[-1])
            rows.setdefault(mode, []).append(row)
            for task in row.get("tasks", []) if args.verbose else []:
                print("    " + "  ".join(str(x) for x in task[:3]) + f"  {task[3]:.2f} s")
            print(f"round {r} {mode:5s} wall {row['wall']:7.1f} s"
                  + (f" ({row['threads']} threads)" if "threads" in row else "")
                  + f" cpu {row['cpu']:.1f} s"
                  + (f" (client {row['client_cpu']:.1f} s)" if "client_cpu" in row else "")
                  + (f" (+ cluster start {row['startup']:.1f} s)" if "startup" in row else "")
                  + (f" FAILED {row['failed']}" if row["failed"] else "")
                  + f"  load {os.getloadavg()[0]:.1f}", flush=True)
        if "seq" in rows and len(rows["seq"]) == r + 1:
            base = rows["seq"][r]["wall"]
            print("  ratios to seq: " + ", ".join(
                f"{m} {rows[m][r]['wall'] / base:.2f}" for m in rows if m != "seq"), flush=True)
    if args.skip_b:
        return
    result = _overhead(args.overhead_models, str(store), str(root / "home-overhead"))
    for name, row in result.items():
        print(f"overhead {name:5s}: {row['pairs']} pairs, wall {row['wall']:.2f} s, in tasks "
              f"{row['in_task']:.2f} s -> {row['overhead_ms']:.1f} ms per task", flush=True)


if __name__ == "__main__":
    main()
