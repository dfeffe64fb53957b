"""Peak memory and time of extracting every default candidate layer of timm resnet50.

Target: 2,560 stimuli at 224 px, reduction on (``pca``), random weights, peak RSS < 3 GB.

The stimulus set (2,560 procedural images, seed 2024, i.e. not the PCA reference images) is
written once as netCDF under ``--home`` and opened lazily, as a benchmark's stimuli would be.
Each measured extraction runs in a fresh child process, whose peak RSS is read with
``resource.getrusage(RUSAGE_SELF).ru_maxrss`` at its end (so torch, the model, the stimuli,
the PCA reference pass, the reducers and the output all count). The first run fills the
activation cache in ``--home``; ``bench_extract_cache.py`` measures the second.

Default layers are the ``neuroalign-timm`` candidates of resnet50 (``act1``, ``layer1`` ..
``layer4``, ``global_pool``); ``--blocks`` adds every bottleneck block (18 layers, as Brain-Score's
resnet50 commitment does).

Run::

    .venv/bin/python benchmarks/bench_extract_memory.py --home /tmp/na-bench
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DEFAULT_LAYERS = ["act1", "layer1", "layer2", "layer3", "layer4", "global_pool"]
BLOCKS = [f"layer{stage}.{block}" for stage, count in ((1, 3), (2, 4), (3, 6), (4, 3))
          for block in range(count)]


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--home", default=None, help="NEUROALIGN_HOME (default: a new temp dir)")
    p.add_argument("--model", default="resnet50")
    p.add_argument("--n", type=int, default=2560)
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--reduction", default="pca", choices=["pca", "srp"])
    p.add_argument("--blocks", action="store_true", help="also every residual block")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    return p


def layers_for(args: argparse.Namespace) -> list[str]:
    if not args.blocks:
        return DEFAULT_LAYERS
    return ["act1"] + BLOCKS + ["global_pool"]


def stimuli_path(args: argparse.Namespace) -> Path:
    """Write the benchmark's stimulus set once (in chunks, so the parent stays small too)."""
    import numpy as np
    from neuroalign.extraction.reduction import reference_images
    from neuroalign.stimuli import StimulusSet

    path = Path(args.home) / f"bench-stimuli-{args.n}x{args.size}.nc"
    if not path.exists():
        images = np.empty((args.n, args.size, args.size, 3), dtype=np.uint8)
        for start in range(0, args.n, 256):
            stop = min(args.n, start + 256)
            images[start:stop] = reference_images(range(start, stop), size=args.size, seed=2024)
        ids = [f"bench-{i:05d}" for i in range(args.n)]
        StimulusSet.from_arrays("bench.procedural", ids, images, 8.0,
                                kind=[("noise", "plaid", "shapes", "camouflage")[i % 4]
                                      for i in range(args.n)]).to_netcdf(path)
    return path


def child(args: argparse.Namespace) -> None:
    """One measured extraction in this (fresh) process; prints one JSON line."""
    start = time.perf_counter()
    import neuroalign
    import timm
    import torch
    from neuroalign.specs import Preprocessing
    from neuroalign.stimuli import StimulusSet

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)  # the same random weights in every run, or the cache (rightly) misses
    module = timm.create_model(args.model, pretrained=False)
    model = neuroalign.Model.from_module(
        module, identifier=f"timm:{args.model}",
        preprocessing=Preprocessing(input_size=args.size, interpolation="bicubic", crop_pct=0.95))
    model.device, model.batch_size = "cpu", args.batch_size
    stimuli = StimulusSet.open(Path(args.home) / f"bench-stimuli-{args.n}x{args.size}.nc")
    layers = layers_for(args)
    ready = time.perf_counter()
    out = model.activations(stimuli, layers, reduction=args.reduction, progress=False)
    done = time.perf_counter()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({
        "model": args.model, "layers": layers, "n": args.n, "threads": args.threads,
        "batch_size": args.batch_size, "reduction": args.reduction,
        "extract_s": round(done - ready, 2), "process_s": round(done - start, 2),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),  # Linux reports KiB
        "shape": list(out.shape), "cached_layers": len(out.attrs["cached_layers"]),
        "load_average": round(os.getloadavg()[0], 2),
    }))


def run_child(args: argparse.Namespace) -> dict:
    """Run :func:`child` in a fresh interpreter with ``NEUROALIGN_HOME=args.home``."""
    argv = [sys.executable, __file__, "--child", "--home", args.home, "--model", args.model,
            "--n", str(args.n), "--size", str(args.size), "--batch-size", str(args.batch_size),
            "--threads", str(args.threads), "--reduction", args.reduction]
    argv += ["--blocks"] if args.blocks else []
    env = {**os.environ, "NEUROALIGN_HOME": args.home, "OMP_NUM_THREADS": str(args.threads)}
    wall = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"child failed ({done.returncode}):\n{done.stderr[-4000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["child_wall_s"] = round(time.perf_counter() - wall, 2)
    return result


def main() -> None:
    args = parser().parse_args()
    if args.child:
        child(args)
        return
    args.home = args.home or tempfile.mkdtemp(prefix="neuroalign-bench-")
    os.environ["NEUROALIGN_HOME"] = args.home
    stimuli_path(args)
    result = run_child(args)
    Path(args.home, "first_run.json").write_text(json.dumps(result))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
