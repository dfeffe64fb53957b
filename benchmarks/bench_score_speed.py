"""End-to-end scoring cost against the bare forward passes of the images the run needed.

One process, fresh ``NEUROALIGN_HOME`` (nothing cached), random weights:

1. scores ``--model`` on ``--benchmarks`` on a synthetic store built at ``--scale``
   (``neuroalign.app.demo.build_store``; 1.0 = the real dataset sizes) and times every stage:
   input (read + decode + placement, in the background thread, overlapped), waiting for input,
   forward, hooks and reduction, PCA fit, Gram embedding, metric, layer selection (the metric
   on the selection split), ceiling, data loading, cache I/O, other;
2. then, in the same process, runs bare ``module(x)`` over exactly the distinct images the run
   passed through the network (stimuli of every split plus the PCA reference images, each
   image once), already placed, in the same layout and batch size, under
   ``torch.inference_mode``. The bare passes run the whole network; the scoring run stops each
   pass after its deepest hooked layer (early exit), so its forward time can be lower: the
   report prints both, and ``end-to-end / forward inside the run`` is the overhead alone;
3. prints ``end-to-end / bare forward``.

``--compare BASE`` instead runs this file in fresh subprocesses, alternating the current code
and the code in the checkout ``BASE`` (``PYTHONPATH`` = its core and plugin sources; same
interpreter), ``--runs`` times each, and prints each side's end-to-end seconds and the
speed-up (base / current) per pair: an interleaved A/B on the same machine and store.

Run::

    # resnet50 on V4 + IT at full scale, ratio to the bare forward passes
    .venv/bin/python benchmarks/bench_score_speed.py --model timm:resnet50 --scale 1
    # resnet18 on the demo's Majaj-Hong benchmarks, against the start commit (interleaved)
    git worktree add /tmp/speed-base 0ef4aa2
    .venv/bin/python benchmarks/bench_score_speed.py --model timm:resnet18 --scale 0.125 \\
        --benchmarks MajajHong2015.V4-pls,MajajHong2015.IT-pls --compare /tmp/speed-base
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

DEFAULT_BENCHMARKS = "MajajHong2015.V4-pls,MajajHong2015.IT-pls"


def _store(scale: float, benchmarks: list[str]) -> Path:
    """A synthetic store at ``scale`` holding the benchmarks' datasets (built once, reused)."""
    from neuroalign.app.demo import DEMO_SEED, build_store
    from neuroalign.plugins.lookup import get_spec

    datasets = set()
    for benchmark in benchmarks:
        spec = get_spec("benchmark", benchmark)
        datasets.add(spec.dataset)
        for key, value in (spec.parameters or {}).items():
            if key.endswith("dataset") and isinstance(value, str):
                datasets.add(value)
    datasets.discard(None)
    name = f"neuroalign-bench-store-{scale:g}-" + "-".join(sorted(datasets))
    return build_store(Path(tempfile.gettempdir()) / name, scale=scale, seed=DEMO_SEED,
                       datasets=sorted(datasets))


class Stages:
    """Wall seconds per stage of the scoring path (patched around the stable entry points)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.passes: list[dict] = []

    def wrap(self, owner, name: str, stage: str) -> None:
        original = getattr(owner, name)
        stages = self

        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                stages.seconds[stage] += time.perf_counter() - start

        setattr(owner, name, timed)

    def record_passes(self) -> None:
        """Remember every streaming pass (images, layout, batch size) for the bare baseline."""
        import importlib

        module = importlib.import_module("neuroalign.extraction.extract")
        original = module._stream
        passes = self.passes

        def recording(model, torch_module, n, images, ids, **kwargs):
            if n > 1:  # not the one-image probe
                passes.append({"model": model, "module": torch_module, "n": n, "images": images,
                               "ids": tuple(ids(i) for i in range(n)),
                               "image_degrees": kwargs["image_degrees"],
                               "batch_size": kwargs["batch_size"], "device": kwargs["device"],
                               "layout": kwargs.get("layout", "contiguous")})
            return original(model, torch_module, n, images, ids, **kwargs)

        module._stream = recording


def _metric_stages(stages: Stages) -> None:
    """Metric calls of a benchmark: the last one scores the reported split, the others select
    the layer; the ceiling and data loading are timed separately."""
    from neuroalign_neural import benchmark as neural
    from neuroalign_neural.regression import CrossValidatedCorrelation

    calls: list[float] = []
    original_metric = CrossValidatedCorrelation.__call__

    def metric(self, source, target):
        start = time.perf_counter()
        try:
            return original_metric(self, source, target)
        finally:
            calls.append(time.perf_counter() - start)

    CrossValidatedCorrelation.__call__ = metric
    original_call = neural.NeuralBenchmark.__call__

    def call(self, model, **kwargs):
        calls.clear()
        try:
            return original_call(self, model, **kwargs)
        finally:
            if calls:
                stages.seconds["metric"] += calls[-1]
                stages.seconds["layer selection"] += sum(calls[:-1])

    neural.NeuralBenchmark.__call__ = call
    original_request = getattr(neural.NeuralBenchmark, "reported_request", None)

    def request(self, model, **kwargs):  # selection made ahead for a shared reported pass
        calls.clear()
        try:
            return original_request(self, model, **kwargs)
        finally:
            stages.seconds["layer selection"] += sum(calls)
            calls.clear()

    if original_request is not None:  # an older checkout (the A/B base) has none
        neural.NeuralBenchmark.reported_request = request
    stages.wrap(neural.NeuralBenchmark, "ceiling", "ceiling")
    stages.wrap(neural.NeuralBenchmark, "load_split", "data loading")


def bare_forward(passes: list[dict], threads: int) -> tuple[float, int]:
    """Seconds of bare ``module(x)`` over the distinct images of ``passes`` (placed first)."""
    import torch
    from neuroalign.stimuli import place

    seen, total, images = set(), 0.0, 0
    for item in passes:
        key = (item["ids"], item["image_degrees"], id(item["module"]))
        if key in seen:
            continue
        seen.add(key)
        model, module, n, size = item["model"], item["module"], item["n"], item["batch_size"]
        batches = []
        for start in range(0, n, size):
            x = place(item["images"](start, min(n, start + size)),
                      image_degrees=item["image_degrees"], model_degrees=model.visual_degrees,
                      preprocessing=model.preprocessing, device=item["device"])
            if item["layout"] == "channels_last":
                x = x.contiguous(memory_format=torch.channels_last)
            batches.append(x)
        module.eval()
        with torch.inference_mode():
            started = time.perf_counter()
            for x in batches:
                module(x)
            if torch.device(item["device"]).type == "cuda":
                torch.cuda.synchronize()
            total += time.perf_counter() - started
        images += n
    return total, images


def worker(args: argparse.Namespace) -> dict:
    os.environ["NEUROALIGN_HOME"] = tempfile.mkdtemp(prefix="neuroalign-speed-home-")
    os.environ["NEUROALIGN_OFFLINE"] = "1"
    import torch

    torch.set_num_threads(args.threads)
    benchmarks = args.benchmarks.split(",")
    os.environ["NEUROALIGN_STORE"] = str(_store(args.scale, benchmarks))
    import neuroalign
    from neuroalign.scoring.engine import _resolve_model

    try:
        from neuroalign.extraction.pipeline import TIMINGS
    except ImportError:  # an older checkout (the A/B base): end-to-end time only
        TIMINGS = None
    stages = Stages()
    stages.record_passes()
    _metric_stages(stages)
    torch.manual_seed(0)
    model = _resolve_model(args.model, False, None)
    if args.device:
        model.device = args.device
    if args.batch_size:
        model.batch_size = args.batch_size
    if args.amp:
        model.amp = args.amp
    if TIMINGS is not None:
        TIMINGS.reset()
    started = time.perf_counter()
    # one call for the set, as a user scores several benchmarks (the reported-layer passes of
    # benchmarks sharing stimuli are then made once: neuroalign.scoring.shared_passes)
    together = neuroalign.score(model, benchmarks, pretrained=False, use_cache=False,
                                results=False, progress=False)
    scores = {benchmark: float(together[benchmark].value) for benchmark in benchmarks}
    end_to_end = time.perf_counter() - started
    result = {"end_to_end": end_to_end, "scores": scores, "stages": dict(stages.seconds),
              "load": os.getloadavg()[0], "model": args.model, "scale": args.scale,
              "benchmarks": benchmarks, "threads": args.threads}
    if TIMINGS is not None:
        result["extraction"] = TIMINGS.snapshot()
        result["layouts"] = sorted({p["layout"] for p in stages.passes})
        result["batch_sizes"] = sorted({int(p["batch_size"]) for p in stages.passes})
    if not args.no_bare:
        bare, images = bare_forward(stages.passes, args.threads)
        result.update({"bare_forward": bare, "images": images,
                       "ratio": end_to_end / bare if bare else None})
    return result


def report(result: dict) -> None:
    print(f"model {result['model']} on {', '.join(result['benchmarks'])} at scale "
          f"{result['scale']:g}; torch threads {result['threads']}; load {result['load']:.1f}")
    for benchmark, value in result["scores"].items():
        print(f"  score {benchmark}: {value:.6f}")
    print(f"end-to-end        {result['end_to_end']:9.2f} s")
    if result.get("bare_forward"):
        print(f"bare forward      {result['bare_forward']:9.2f} s over {result['images']} "
              f"distinct images (layout {result.get('layouts')}, batch {result.get('batch_sizes')})")
        print(f"ratio             {result['ratio']:9.3f} x")
        forward = result.get("extraction", {}).get("forward")
        if forward:
            print(f"end-to-end / forward inside the run (overhead alone) "
                  f"{result['end_to_end'] / forward:.3f} x")
    stages = dict(result.get("stages", {}))
    extraction = result.get("extraction", {})
    rows = [("forward", extraction.get("forward")),
            ("hooks + reduction", extraction.get("hooks")),
            ("input wait (not overlapped)", extraction.get("input_wait")),
            ("PCA fit", extraction.get("pca_fit")),
            ("Gram embedding", extraction.get("gram")),
            ("metric (reported)", stages.get("metric")),
            ("layer selection", stages.get("layer selection")),
            ("ceiling", stages.get("ceiling")),
            ("data loading", stages.get("data loading")),
            ("cache I/O", extraction.get("io"))]
    known = sum(v for _, v in rows if v)
    for name, value in rows:
        if value is not None:
            print(f"  {name:28s} {value:9.2f} s")
    if extraction:
        print(f"  {'other':28s} {result['end_to_end'] - known:9.2f} s")
        print(f"  (input read + decode + placement in the background thread: "
              f"{extraction.get('input', 0.0):.2f} s, overlapped with the forward pass)")


def compare(args: argparse.Namespace, argv: list[str]) -> None:
    base = Path(args.compare).resolve()
    paths = [str(base / "core")] + sorted(str(p) for p in (base / "plugins").glob("*/src"))
    forwarded = [a for a in argv if not a.startswith("--compare") and a != str(args.compare)]
    times: dict[str, list[float]] = {"current": [], "base": []}
    for run in range(args.runs):
        for side in (["base", "current"] if run % 2 == 0 else ["current", "base"]):
            env = dict(os.environ)
            if side == "base":
                env["PYTHONPATH"] = os.pathsep.join(paths)
            with tempfile.TemporaryDirectory() as folder:
                out = Path(folder) / "result.json"
                subprocess.run([sys.executable, __file__, *forwarded, "--no-bare", "--json",
                                str(out)], check=True, env=env)
                result = json.loads(out.read_text())
            times[side].append(result["end_to_end"])
            print(f"run {run} {side:8s} {result['end_to_end']:8.2f} s  load "
                  f"{result['load']:.1f}  scores {result['scores']}", flush=True)
    pairs = [b / c for b, c in zip(times["base"], times["current"])]
    print(f"speed-up (base / current) per run: {', '.join(f'{p:.2f}x' for p in pairs)}; "
          f"total {sum(times['base']) / sum(times['current']):.2f}x")


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="timm:resnet50")
    parser.add_argument("--benchmarks", default=DEFAULT_BENCHMARKS)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default=None)
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--amp", default=None, choices=[None, "bfloat16", "float16"])
    parser.add_argument("--no-bare", action="store_true", help="skip the bare forward baseline")
    parser.add_argument("--json", help="write the result here")
    parser.add_argument("--compare", help="A/B against the checkout at this path")
    parser.add_argument("--runs", type=int, default=2, help="with --compare: runs per side")
    args = parser.parse_args(argv)
    if args.compare:
        compare(args, argv)
        return
    result = worker(args)
    if args.json:
        Path(args.json).write_text(json.dumps(result, default=str))
    report(result)


if __name__ == "__main__":
    main()
