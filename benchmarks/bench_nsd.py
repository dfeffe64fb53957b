"""Time the NSD benchmarks at NSD's real size, given cached features.

Builds the synthetic NSD twin at scale 1 (515 shared images, 400/115 split, 8 subjects; raw tree
-> the real ``prepare``), then scores a model whose features are already computed (1,000 per
image, as a PCA-reduced layer: the ground-truth network's 384 IT units plus 616 noise features)
on all 4 ROIs x 4 mappings (ols, ridge, lasso, mlp) x 8 subjects, and on the 4 CNN benchmarks
separately (fed the IT feature map 96 x 2 x 2). Prints seconds per benchmark and in total.

    OMP_NUM_THREADS=1 python benchmarks/bench_nsd.py          # 1 BLAS thread
    OMP_NUM_THREADS=2 python benchmarks/bench_nsd.py          # the 2-core target
    BENCH_NSD_DIR=/tmp/bench-nsd python benchmarks/bench_nsd.py  # keep/reuse the twin there
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np


class CachedFeatures:
    """A model whose activations are a fixed array (what an activation-cache hit returns)."""

    def __init__(self, features, identifier="bench:cached"):
        self.features = features
        self.identifier = identifier
        self.region_layers, self.layers = {"IT": "it"}, ("it",)

    def activations(self, stimuli, layers, **options):
        return self.features


def main() -> None:
    import neuroalign
    from neuroalign.plugins.lookup import get_registry
    from neuroalign.testing import store_env, write_synthetic_store

    warnings.filterwarnings("ignore")
    work = Path(os.environ.get("BENCH_NSD_DIR") or tempfile.mkdtemp(prefix="bench-nsd-"))
    home = work / "home"
    os.environ["NEUROALIGN_HOME"] = str(home)
    specs = [e.spec for e in get_registry().entries("dataset") if e.spec.id.startswith("NSD.")]
    if not (work / "store" / "index.json").is_file():
        start = time.perf_counter()
        write_synthetic_store(specs, work / "store", seed=0, scale=1.0)
        print(f"synthetic twin at scale 1 (raw tree + prepare): "
              f"{time.perf_counter() - start:.0f} s")
    with store_env(work / "store", home=home):
        truth = neuroalign.get_model("synthetic:groundtruth")
        stimuli = neuroalign.get_dataset("NSD.shared515").load()
        it = truth.activations(stimuli, ["it"], visual_degrees=8.4)
        rng = np.random.default_rng(0)
        noise = rng.normal(size=(it.sizes["presentation"], 616)) * float(it.std())
        import xarray as xr

        flat = xr.DataArray(
            np.c_[it.values, noise].astype(np.float32), dims=("presentation", "neuroid"),
            coords={"stimulus_id": ("presentation", it["stimulus_id"].values),
                    "layer": ("neuroid", np.array(["it"] * 1000))})
        model = CachedFeatures(flat)
        print(f"n_images={len(stimuli)}, features={flat.sizes['neuroid']}, "
              f"threads={os.environ.get('OMP_NUM_THREADS', 'default')}")
        for roi in ("FFA", "EBA", "PPA", "VWFA"):
            neuroalign.get_benchmark(f"NSD.{roi}-ols").data()  # load once, outside the timing
        total = 0.0
        for mapping in ("ols", "ridge", "lasso", "mlp"):
            for roi in ("FFA", "EBA", "PPA", "VWFA"):
                benchmark = neuroalign.get_benchmark(f"NSD.{roi}-{mapping}")
                t = time.perf_counter()
                score = benchmark(model)
                seconds = time.perf_counter() - t
                total += seconds
                print(f"NSD.{roi}-{mapping:6s} raw r {score.raw:.3f}  ceiling {score.ceiling:.3f}"
                      f"  {seconds:6.1f} s")
        print(f"TOTAL 4 ROIs x 4 mappings x 8 subjects: {total:.1f} s")
        cnn_total = 0.0
        for roi in ("FFA", "EBA", "PPA", "VWFA"):
            t = time.perf_counter()
            score = neuroalign.get_benchmark(f"NSD.{roi}-cnn")(truth)
            cnn_total += time.perf_counter() - t
            print(f"NSD.{roi}-cnn    raw r {score.raw:.3f}  {time.perf_counter() - t:6.1f} s")
        print(f"TOTAL cnn (4 ROIs, 96x2x2 map): {cnn_total:.1f} s")


if __name__ == "__main__":
    sys.exit(main())
