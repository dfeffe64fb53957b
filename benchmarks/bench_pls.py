"""Time neuroalign's ``pls`` metric against brainscore-vision's on identical inputs.

Default inputs are Majaj-Hong 2015 sized: 2,560 stimuli (64 objects x 40 images) x 4,000
features x 168 neuroids, 10 splits. brainscore-vision is optional:

* importable in this interpreter: it is timed in-process;
* installed in another environment: pass ``--brainscore-python /path/to/python`` and it is timed
  there, in a subprocess that runs this same file in ``--worker`` mode on the same inputs;
* neither: only neuroalign is timed.

Usage::

    .venv/bin/python benchmarks/bench_pls.py                      # ours only (or in-process)
    .venv/bin/python benchmarks/bench_pls.py --brainscore-python /tmp/bsvenv/bin/python
    .venv/bin/python benchmarks/bench_pls.py --stimuli 640 --features 1000   # smaller
    # first call of each side in a fresh process (imports excluded on both sides), several
    # sizes, runs interleaved (Brain-Score, ours, ours, Brain-Score, ...):
    .venv/bin/python benchmarks/bench_pls.py --fresh --runs 3 \
        --sizes 640x1000x88,1280x2000x120,2560x4000x168 \
        --brainscore-python /tmp/bsvenv/bin/python

Prints both times, the speed-up and the difference of score, error and per-split values.
With ``--fresh`` each timing is the first metric call of a new process: what a fresh
``neuroalign score`` pays (lazy imports inside the call, BLAS thread-pool start, warm-up).
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

import numpy as np


def make_inputs(n_stimuli: int, n_features: int, n_neuroids: int, seed: int = 0) -> dict:
    """Synthetic activations (ReLU-like, float32) and responses that partly depend on them."""
    rng = np.random.default_rng(seed)
    n_objects = 64
    objects = np.array([f"object{i:02d}" for i in range(n_objects)])[np.arange(n_stimuli) % n_objects]
    latent = rng.normal(size=(n_stimuli, 64))
    source = np.maximum(latent @ rng.normal(size=(64, n_features)) / 8
                        + 0.5 * rng.normal(size=(n_stimuli, n_features)), 0).astype(np.float32)
    target = latent[:, :32] @ rng.normal(size=(32, n_neuroids)) / 6 \
        + rng.normal(size=(n_stimuli, n_neuroids))
    ids = np.array([f"stim{i:05d}" for i in range(n_stimuli)])
    return {"source": source, "target": target, "stimulus_id": ids, "object_name": objects}


def run_ours(inputs: dict) -> dict:
    import xarray as xr
    from neuroalign_neural import PLSCorrelation

    coords = {"stimulus_id": ("presentation", inputs["stimulus_id"]),
              "object_name": ("presentation", inputs["object_name"])}
    source = xr.DataArray(inputs["source"], dims=("presentation", "neuroid"), coords=coords)
    target = xr.DataArray(inputs["target"], dims=("presentation", "neuroid"), coords={
        **coords, "neuroid_id": ("neuroid", [f"n{i}" for i in range(inputs["target"].shape[1])])})
    start, cpu = time.perf_counter(), time.process_time()
    score = PLSCorrelation()(source, target)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    return {"seconds": seconds, "cpu_seconds": cpu, "value": score.value, "error": score.error,
            "splits": score.splits}


def run_brainscore(inputs: dict) -> dict:
    from brainscore_core.supported_data_standards.brainio.assemblies import NeuroidAssembly
    from brainscore_vision.metrics.regression_correlation.metric import (
        CrossRegressedCorrelation,
        pearsonr_correlation,
        pls_regression,
    )

    def assembly(values, prefix):
        return NeuroidAssembly(values, dims=["presentation", "neuroid"], coords={
            "stimulus_id": ("presentation", inputs["stimulus_id"]),
            "object_name": ("presentation", inputs["object_name"]),
            "neuroid_id": ("neuroid", [f"{prefix}{i}" for i in range(values.shape[1])]),
            "region": ("neuroid", ["IT"] * values.shape[1])})

    source, target = assembly(inputs["source"], "f"), assembly(inputs["target"], "n")
    metric = CrossRegressedCorrelation(regression=pls_regression(),
                                       correlation=pearsonr_correlation())
    start, cpu = time.perf_counter(), time.process_time()
    score = metric(source, target)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    splits = score.raw.median("neuroid").values.tolist()
    return {"seconds": seconds, "cpu_seconds": cpu, "value": float(score.values),
            "error": float(score.attrs["error"]), "splits": splits}


def brainscore_importable() -> bool:
    try:
        import brainscore_vision  # noqa: F401
    except Exception:  # noqa: BLE001 - a broken install counts as absent
        return False
    return True


def run_brainscore_elsewhere(python: str, inputs: dict) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        data, result = Path(folder) / "inputs.npz", Path(folder) / "result.json"
        np.savez(data, **inputs)
        subprocess.run([python, __file__, "--worker", str(data), str(result)], check=True,
                       stderr=subprocess.DEVNULL)
        return json.loads(result.read_text())


def run_fresh(python: str, side: str, inputs_path: str) -> dict:
    """One side's first call in a new process (``python this_file --worker-<side>``)."""
    with tempfile.TemporaryDirectory() as folder:
        result = Path(folder) / "result.json"
        flag = "--worker" if side == "brainscore" else "--worker-ours"
        subprocess.run([python, __file__, flag, inputs_path, str(result)], check=True,
                       stderr=subprocess.DEVNULL)
        return json.loads(result.read_text())


def fresh_comparison(args: argparse.Namespace) -> None:
    """First calls in fresh processes, sizes x runs, the two sides interleaved."""
    import statistics

    sizes = [tuple(int(v) for v in size.split("x")) for size in args.sizes.split(",")]
    rows: dict[tuple, list[tuple[float, float]]] = {size: [] for size in sizes}
    with tempfile.TemporaryDirectory() as folder:
        for run in range(args.runs):
            for size in sizes:
                if run >= (args.runs if size[0] < 2560 else args.large_runs):
                    continue
                path = str(Path(folder) / f"{'x'.join(map(str, size))}.npz")
                if not Path(path).exists():
                    np.savez(path, **make_inputs(*size))
                order = ["brainscore", "ours"] if run % 2 == 0 else ["ours", "brainscore"]
                got = {side: run_fresh(args.brainscore_python if side == "brainscore"
                                       else sys.executable, side, path) for side in order}
                theirs, ours = got["brainscore"], got["ours"]
                rows[size].append((theirs["seconds"], ours["seconds"]))
                print(f"run {run} {size[0]:5d} x {size[1]:5d} x {size[2]:3d}: brainscore "
                      f"{theirs['seconds']:7.2f} s  ours {ours['seconds']:6.3f} s  ratio "
                      f"{theirs['seconds'] / ours['seconds']:6.1f}x  |score diff| "
                      f"{abs(theirs['value'] - ours['value']):.1e}  load "
                      f"{os.getloadavg()[0]:.1f}", flush=True)
    for size, pairs in rows.items():
        if pairs:
            ratios = [a / b for a, b in pairs]
            print(f"{size}: speed-up min {min(ratios):.1f}x median "
                  f"{statistics.median(ratios):.1f}x over {len(pairs)} interleaved runs")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stimuli", type=int, default=2560)
    parser.add_argument("--features", type=int, default=4000)
    parser.add_argument("--neuroids", type=int, default=168)
    parser.add_argument("--repeat", type=int, default=3, help="runs of ours; the best is reported")
    parser.add_argument("--brainscore-python", help="python of an environment with brainscore")
    parser.add_argument("--fresh", action="store_true",
                        help="time first calls in fresh processes (needs --brainscore-python)")
    parser.add_argument("--sizes", default="640x1000x88,1280x2000x120,2560x4000x168",
                        help="with --fresh: stimuli x features x neuroids, comma-separated")
    parser.add_argument("--runs", type=int, default=3, help="with --fresh: runs per size")
    parser.add_argument("--large-runs", type=int, default=1,
                        help="with --fresh: runs at sizes of 2,560 stimuli or more (slow)")
    parser.add_argument("--worker", nargs=2, metavar=("INPUTS", "RESULT"), help=argparse.SUPPRESS)
    parser.add_argument("--worker-ours", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker_ours:
        import neuroalign_neural  # noqa: F401
        import xarray  # noqa: F401 - imports are excluded from the timing, as for Brain-Score

        inputs = dict(np.load(args.worker_ours[0]))
        Path(args.worker_ours[1]).write_text(json.dumps(run_ours(inputs)))
        return
    if args.fresh:
        if not args.brainscore_python:
            parser.error("--fresh needs --brainscore-python")
        fresh_comparison(args)
        return
    if args.worker:
        inputs = dict(np.load(args.worker[0]))
        Path(args.worker[1]).write_text(json.dumps(run_brainscore(inputs)))
        return

    inputs = make_inputs(args.stimuli, args.features, args.neuroids)
    print(f"inputs: {args.stimuli} stimuli x {args.features} features x {args.neuroids} "
          "neuroids, 10 splits")
    ours = min((run_ours(inputs) for _ in range(args.repeat)), key=lambda r: r["seconds"])
    print(f"load average   : {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"neuroalign pls : {ours['seconds']:8.2f} s wall {ours['cpu_seconds']:8.2f} s cpu  "
          f"score {ours['value']:.6f} +- {ours['error']:.6f}")
    if brainscore_importable():
        theirs = run_brainscore(inputs)
    elif args.brainscore_python:
        theirs = run_brainscore_elsewhere(args.brainscore_python, inputs)
    else:
        print("brainscore-vision not importable (see --brainscore-python); timed ours only")
        return
    print(f"brainscore pls : {theirs['seconds']:8.2f} s wall {theirs['cpu_seconds']:8.2f} s cpu  "
          f"score {theirs['value']:.6f} +- {theirs['error']:.6f}")
    split_difference = np.max(np.abs(np.subtract(ours["splits"], theirs["splits"])))
    print(f"speed-up       : {theirs['seconds'] / ours['seconds']:8.1f} x wall "
          f"{theirs['cpu_seconds'] / ours['cpu_seconds']:8.1f} x cpu")
    print(f"|score diff|   : {abs(ours['value'] - theirs['value']):.2e}   |error diff| "
          f"{abs(ours['error'] - theirs['error']):.2e}   max |split diff| {split_difference:.2e}")


if __name__ == "__main__":
    main(sys.argv[1:])
