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

Prints both times, the speed-up and the difference of score, error and per-split values.
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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stimuli", type=int, default=2560)
    parser.add_argument("--features", type=int, default=4000)
    parser.add_argument("--neuroids", type=int, default=168)
    parser.add_argument("--repeat", type=int, default=3, help="runs of ours; the best is reported")
    parser.add_argument("--brainscore-python", help="python of an environment with brainscore")
    parser.add_argument("--worker", nargs=2, metavar=("INPUTS", "RESULT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
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
