"""I2n speed: neuroalign's vectorised ``i2n`` + ``i2n_split_half`` vs brainscore-vision 2.4.2's.

Run from the repository root with our venv; Brain-Score runs in a separate interpreter that has
brainscore-vision 2.4.2 and its old xarray (see ``benchmarks/i2n_brainscore_fixture.py`` for the
scratch install), e.g.::

    BRAINSCORE_PYTHON=/tmp/bsvenv/bin/python BRAINSCORE_PATH=/tmp/bsv/src:/tmp/bscore/src \\
        OMP_NUM_THREADS=1 .venv/bin/python benchmarks/i2n_speed.py [--rounds 2] [--quick]

Each size is measured A/B interleaved (ours, Brain-Score, ours, ...) so load on the machine hits
both alike; each measurement is the wall time of score + ceiling on the same inputs (Brain-Score
times itself inside its interpreter, so its start-up and file reading are not counted). The two
results are also compared (they must agree to 1e-6).

Sizes: ``real`` is Rajalingham 2018's private split (240 images, 24 objects, every (image,
distractor) pair offered ~62 times: 342,240 trials); ``small`` is 24 objects x 3 images x 20.
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
import xarray as xr

SIZES = {"small": (24, 3, 20), "real": (24, 10, 62)}

_BRAINSCORE = r"""
import json, sys, time
import numpy as np, xarray as xr
from brainscore_core.supported_data_standards.brainio.assemblies import BehavioralAssembly
from brainscore_vision.metrics.i1i2.metric import I2n
data = xr.open_dataset(sys.argv[1]).load()
def text(a):
    return a.astype(str).astype(object)
p = data["probabilities"]
source = BehavioralAssembly(p.values, dims=["presentation", "choice"], coords={
    "stimulus_id": ("presentation", text(p["image_stimulus_id"].values)),
    "image_label": ("presentation", text(p["image_label"].values)),
    "choice": text(p["choice"].values)})
t = data["trials"]
target = BehavioralAssembly(text(t.values), dims=["presentation"], coords={
    c: ("presentation", text(t[c].values)) for c in ("stimulus_id", "truth", "sample_obj", "dist_obj")})
start = time.perf_counter()
metric = I2n()
score = metric(source, target)
ceiling = metric.ceiling(target)
elapsed = time.perf_counter() - start
print(json.dumps({"seconds": elapsed, "score": float(score.values), "ceiling": float(ceiling.values)}))
"""


def make_inputs(n_objects: int, per_object: int, repeats: int, seed: int = 0
                ) -> tuple[xr.DataArray, xr.DataArray]:
    """Probabilities and trials of the given size (vectorised generator)."""
    rng = np.random.default_rng(seed)
    objects = np.array([f"object{k:02d}" for k in range(n_objects)])
    n_images = n_objects * per_object
    truth_code = np.repeat(np.arange(n_objects), per_object)
    ids = np.array([f"{i:040x}" for i in rng.integers(0, 2**62, n_images)])
    rates = rng.beta(1.0, 4.0, size=(n_images, n_objects))
    image, distractor = np.nonzero(np.arange(n_objects)[None, :] != truth_code[:, None])
    image, distractor = np.repeat(image, repeats), np.repeat(distractor, repeats)
    chose_distractor = rng.random(len(image)) < rates[image, distractor]
    order = rng.permutation(len(image))
    image, distractor, chose_distractor = image[order], distractor[order], chose_distractor[order]
    truth = objects[truth_code[image]]
    chosen = np.where(chose_distractor, objects[distractor], truth)
    trials = xr.DataArray(chosen.astype(object), dims="presentation", coords={
        "stimulus_id": ("presentation", ids[image].astype(object)),
        "truth": ("presentation", truth.astype(object)),
        "sample_obj": ("presentation", truth.astype(object)),
        "dist_obj": ("presentation", objects[distractor].astype(object))})
    logits = np.log(rates + 0.02) + rng.normal(0, 0.5, rates.shape)
    logits[np.arange(n_images), truth_code] = 2.0
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    probabilities = xr.DataArray(p, dims=("presentation", "choice"), coords={
        "stimulus_id": ("presentation", ids.astype(object)),
        "image_label": ("presentation", objects[truth_code].astype(object)),
        "choice": objects.astype(object)})
    return probabilities, trials


def ours(probabilities: xr.DataArray, trials: xr.DataArray) -> dict[str, float]:
    import neuroalign

    start = time.perf_counter()
    score = neuroalign.get_metric("i2n")(probabilities, trials)
    ceiling = neuroalign.get_ceiling("i2n_split_half")(trials)
    return {"seconds": time.perf_counter() - start, "score": score.value,
            "ceiling": ceiling.value}


def brainscore(path: Path) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": os.environ.get("BRAINSCORE_PATH",
                                                      "/tmp/bsv/src:/tmp/bscore/src")}
    python = os.environ.get("BRAINSCORE_PYTHON", "/tmp/bsvenv/bin/python")
    out = subprocess.run([python, "-c", _BRAINSCORE, str(path)], env=env, check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="only the small size")
    args = parser.parse_args()
    ours(*make_inputs(*SIZES["small"]))  # warm imports
    for name in (["small"] if args.quick else list(SIZES)):
        n_objects, per_object, repeats = SIZES[name]
        probabilities, trials = make_inputs(n_objects, per_object, repeats)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "inputs.nc"
            data = xr.Dataset({
                "probabilities": probabilities.rename(
                    stimulus_id="image_stimulus_id", presentation="image"),
                "trials": trials})
            data.to_netcdf(path, engine="netcdf4")
            a, b = [], []
            for _ in range(args.rounds):
                a.append(ours(probabilities, trials))
                b.append(brainscore(path))
        assert abs(a[0]["score"] - b[0]["score"]) < 1e-6, (a[0], b[0])
        assert abs(a[0]["ceiling"] - b[0]["ceiling"]) < 1e-6, (a[0], b[0])
        ta, tb = (np.median([r["seconds"] for r in rs]) for rs in (a, b))
        print(f"{name}: {probabilities.sizes['presentation']} images x {n_objects} objects, "
              f"{trials.sizes['presentation']:,} trials | neuroalign {ta:.3f} s, brainscore "
              f"{tb:.2f} s (median of {args.rounds}) -> {tb / ta:.0f}x | score {a[0]['score']:.6f}"
              f" = {b[0]['score']:.6f}, ceiling {a[0]['ceiling']:.6f} = {b[0]['ceiling']:.6f}")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
