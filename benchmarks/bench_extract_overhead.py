"""Overhead of extraction vs bare forward passes (target: <= 1.15x).

Extracts 4 layers (``layer1..layer4``) of timm ``resnet18`` (random weights) for 512 stimuli at
224 px and compares with bare ``module(x)`` calls on the same, already preprocessed batches, in
the same process. The two are interleaved ``--repeats`` times and the medians (and minima)
compared, on wall-clock and on process CPU time (less sensitive to other processes sharing
the cores), so machine noise hits both alike. Extraction includes everything a user pays for: reading the
images, placement/resize/normalisation, hooks, finite checks, copying into the output matrix
and building the DataArray; the activation cache is off (``cache=False``).

Run::

    .venv/bin/python benchmarks/bench_extract_overhead.py            # raw activations
    .venv/bin/python benchmarks/bench_extract_overhead.py --reduction srp
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="resnet18")
    parser.add_argument("--layers", default="layer1,layer2,layer3,layer4")
    parser.add_argument("--n", type=int, default=512)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--reduction", default="none", choices=["none", "srp"])
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    os.environ.setdefault("NEUROALIGN_HOME", tempfile.mkdtemp(prefix="neuroalign-bench-"))

    import neuroalign
    import numpy as np
    import timm
    import torch
    from neuroalign.stimuli import StimulusSet

    torch.set_num_threads(args.threads)
    layers = args.layers.split(",")
    module = timm.create_model(args.model, pretrained=False)
    model = neuroalign.Model.from_module(
        module, identifier=f"timm:{args.model}", layers=layers,
        preprocessing={"input_size": args.size})
    model.device, model.batch_size = args.device, args.batch_size
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (args.n, args.size, args.size, 3), dtype=np.uint8)
    stimuli = StimulusSet.from_arrays("bench.overhead", [f"s{i}" for i in range(args.n)],
                                      images, 8.0)
    _ = stimuli.sha256  # hashed once per set and cached on the object; not part of the timing
    batches = [model.preprocess(stimuli.images(slice(a, a + args.batch_size)))
               for a in range(0, args.n, args.batch_size)]
    module.to(args.device).eval()
    sync = torch.cuda.synchronize if args.device.startswith("cuda") else (lambda: None)
    reduction = None if args.reduction == "none" else args.reduction

    def bare() -> tuple[float, float]:
        start, cpu = time.perf_counter(), time.process_time()
        with torch.inference_mode():
            for x in batches:
                module(x)
        sync()
        return time.perf_counter() - start, time.process_time() - cpu

    def extract() -> tuple[float, float]:
        start, cpu = time.perf_counter(), time.process_time()
        out = model.activations(stimuli, layers, reduction=reduction, cache=False,
                                progress=False)
        sync()
        elapsed = time.perf_counter() - start, time.process_time() - cpu
        assert out.shape[0] == args.n
        return elapsed

    with torch.inference_mode():  # warm-up: allocator, kernels, projections
        module(batches[0])
    model.activations(stimuli.subset(stimuli.ids[:8]), layers, reduction=reduction,
                      cache=False, progress=False)
    runs: dict[str, list[tuple[float, float]]] = {"bare": [], "extract": []}
    for _ in range(args.repeats):
        runs["bare"].append(bare())
        runs["extract"].append(extract())
    result: dict[str, object] = {
        "model": args.model, "layers": layers, "n": args.n, "batch_size": args.batch_size,
        "threads": args.threads, "device": args.device, "reduction": args.reduction,
        "load_average": os.getloadavg()[0],
    }
    for clock, index in (("wall", 0), ("cpu", 1)):
        bare_t = [run[index] for run in runs["bare"]]
        extract_t = [run[index] for run in runs["extract"]]
        result[f"bare_{clock}_s"] = [round(t, 2) for t in bare_t]
        result[f"extract_{clock}_s"] = [round(t, 2) for t in extract_t]
        result[f"ratio_{clock}_median"] = round(
            statistics.median(extract_t) / statistics.median(bare_t), 3)
        result[f"ratio_{clock}_min"] = round(min(extract_t) / min(bare_t), 3)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
