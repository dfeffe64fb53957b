"""Peak RSS of scoring timm resnet50 (random weights) on MajajHong2015.IT-pls at full scale.

The reported score uses the chosen layer's *full* activations (Brain-Score's rule): for
``layer1`` that is 802,816 features x 2,560 private-split stimuli, 8.2 GB as float32. neuroalign
streams them to a disk-backed block file and scores their exact Gram embedding
(``reduction="gram"``), so memory stays bounded. Target: peak RSS < 4 GB.

The synthetic Majaj-Hong store is built at scale 1 (the real sizes: 2,560 private stimuli,
50 trials, 88 V4 + 168 IT sites) under ``--home``. The measured scoring runs in a fresh child
process whose peak RSS (``getrusage(RUSAGE_SELF).ru_maxrss``: torch, the model, the data, the
forward batches, the Gram matrix, the metric) is printed with the score as JSON.

``--layers layer1`` (default) scores the widest candidate directly (layer policy "given": the
worst case of the reported step); ``--layers act1,layer1,layer2,layer3,layer4,global_pool``
adds layer selection on the public split (PCA(1000) per layer, as Brain-Score).

``--phase after-forward`` measures, at the same full size, everything the reported step does
after the forward pass, without the (slow) network: the benchmark's data and ceiling, a
disk-backed block file of ``--blocks`` feature blocks of random float32 (the Gram phase holds one
block at a time, so its memory does not depend on the layer width), the Gram matrix, its
embedding (``n x rank``) and the metric on it. The forward phase itself holds one batch of
activations plus the network's intermediate tensors (measured by the default phase).

Run::

    .venv/bin/python benchmarks/bench_full_activations_memory.py --home /tmp/na-full
    .venv/bin/python benchmarks/bench_full_activations_memory.py --home /tmp/na-full \
        --phase after-forward
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--home", default="/tmp/na-full-activations")
    p.add_argument("--layers", default="layer1")
    p.add_argument("--benchmark", default="MajajHong2015.IT-pls")
    p.add_argument("--scale", type=float, default=1.0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--reported-features", default="full", choices=["full", "reduced"])
    p.add_argument("--phase", default="all", choices=["all", "after-forward"])
    p.add_argument("--blocks", type=int, default=2, help="after-forward: feature blocks written")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    return p


def child(args: argparse.Namespace) -> None:
    import torch

    torch.set_num_threads(args.threads)
    from neuroalign import get_benchmark, get_model

    model = get_model("timm:resnet50", pretrained=False)
    model.batch_size = args.batch_size
    benchmark = get_benchmark(args.benchmark)
    if args.reported_features != "full":
        benchmark.spec = benchmark.spec.model_copy(update={"parameters": {
            **benchmark.spec.parameters, "reported_features": args.reported_features}})
    started = time.perf_counter()
    score = benchmark(model, layers=args.layers.split(","), progress=False)
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"benchmark": args.benchmark, "layer": score.layer,
                      "score": score.value, "raw": score.raw, "ceiling": score.ceiling,
                      "reported_reduction": score.attrs.get("reported_reduction"),
                      "reported_stimuli": score.attrs.get("reported_stimuli"),
                      "peak_rss_gb": round(peak / 1e9, 3), "seconds": round(seconds, 1)}))


def after_forward(args: argparse.Namespace) -> None:
    """Peak RSS of the reported step without the forward pass (see the module docstring)."""
    import numpy as np
    import xarray as xr

    from neuroalign import get_benchmark
    from neuroalign.extraction.gram import (BLOCK_BYTES, BlockFile, embedding_from_gram,
                                            gram_of_blocks)

    started = time.perf_counter()
    benchmark = get_benchmark(args.benchmark)
    reported = benchmark.split("reported")
    target = reported.target
    ceiling = benchmark.ceiling("reported")
    n = target.sizes["presentation"]
    block = max(1, BLOCK_BYTES // (4 * n))  # as extract_gram
    width = block * args.blocks
    rng = np.random.default_rng(0)
    scratch = Path(os.environ["NEUROALIGN_HOME"]) / "scratch"
    scratch.mkdir(parents=True, exist_ok=True)
    with BlockFile(scratch / "after-forward.f32", n, width, block) as blocks:
        for start in range(0, n, args.batch_size):
            rows = min(args.batch_size, n - start)
            blocks.write(start, rng.standard_normal((rows, width), dtype=np.float32))
        gram = gram_of_blocks(blocks)
    embedding = embedding_from_gram(gram)
    del gram
    coords = {name: ("presentation", target[name].values) for name in target.coords
              if target[name].dims == ("presentation",)}
    features = xr.DataArray(embedding, dims=("presentation", "neuroid"), coords={
        **coords, "neuroid_id": ("neuroid", [f"c{i}" for i in range(embedding.shape[1])]),
        "layer": ("neuroid", ["layer1"] * embedding.shape[1])})
    raw = benchmark.metric(features, target)
    score = benchmark.normalize(raw, ceiling)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"benchmark": args.benchmark, "phase": "after-forward", "stimuli": n,
                      "block_features": block, "features_written": width,
                      "embedding_shape": list(embedding.shape), "score": score.value,
                      "peak_rss_gb": round(peak / 1e9, 3),
                      "seconds": round(time.perf_counter() - started, 1)}))


def main() -> None:
    args = parser().parse_args()
    home = Path(args.home)
    os.environ.update(NEUROALIGN_HOME=str(home / "home"), NEUROALIGN_OFFLINE="1",
                      NEUROALIGN_STORE=str(home / "store"), OMP_NUM_THREADS=str(args.threads))
    if args.child:
        (after_forward if args.phase == "after-forward" else child)(args)
        return
    from neuroalign.app.demo import build_store, store_is_intact

    if not store_is_intact(home / "store", check_hashes=False):
        build_store(home / "store", scale=args.scale, seed=0,
                    datasets=["MajajHong2015.public", "MajajHong2015.private"], log=print)
    command = [sys.executable, __file__, "--child", *sys.argv[1:]]
    result = subprocess.run(command, capture_output=True, text=True, env=os.environ.copy())
    if result.returncode:
        sys.stderr.write(result.stderr)
        raise SystemExit(result.returncode)
    print(result.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
