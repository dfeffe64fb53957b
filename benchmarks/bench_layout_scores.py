"""How much do scores move when extraction runs channels-last instead of the standard layout?

Channels-last changes activations by float rounding only (the order of additions in a
convolution, and the feature order in which wide outputs are sketched). This script scores
each ``--models`` entry (default: the demo's models) on ``--benchmarks`` on the synthetic store
at ``--scale``, once with ``model.layout = "contiguous"`` and once with ``"channels_last"``,
each in a fresh ``NEUROALIGN_HOME`` (nothing cached, so no layout can serve the other), random
weights, and prints every score pair and the largest absolute difference::

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/bench_layout_scores.py --scale 0.125
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

DEFAULT_BENCHMARKS = ("MajajHong2015.V4-pls,MajajHong2015.IT-pls,FreemanZiemba2013.V1-pls,"
                      "FreemanZiemba2013.V2-pls,Rajalingham2018-i2n")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", help="comma-separated model ids (default: the demo's)")
    parser.add_argument("--benchmarks", default=DEFAULT_BENCHMARKS)
    parser.add_argument("--scale", type=float, default=0.125)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)

    os.environ["NEUROALIGN_OFFLINE"] = "1"
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import torch
    from bench_score_speed import _store

    torch.set_num_threads(args.threads)
    benchmarks = args.benchmarks.split(",")
    os.environ["NEUROALIGN_STORE"] = str(_store(args.scale, benchmarks))
    import neuroalign
    from neuroalign.app.demo import demo_models
    from neuroalign.scoring.engine import _resolve_model

    models = args.models.split(",") if args.models else demo_models()
    largest = 0.0
    for model_id in models:
        scores: dict[str, dict[str, float]] = {}
        for layout in ("contiguous", "channels_last"):
            os.environ["NEUROALIGN_HOME"] = tempfile.mkdtemp(prefix="neuroalign-layout-home-")
            torch.manual_seed(0)
            model = _resolve_model(model_id, False, None)
            model.layout = layout
            began = time.perf_counter()
            result = neuroalign.score(model, benchmarks, pretrained=False, use_cache=False,
                                      results=False, progress=False)
            scores[layout] = {b: float(result[b].value) for b in benchmarks}
            print(f"{model_id} {layout}: {time.perf_counter() - began:.1f} s", flush=True)
        for benchmark in benchmarks:
            a, b = scores["contiguous"][benchmark], scores["channels_last"][benchmark]
            largest = max(largest, abs(a - b))
            print(f"  {benchmark:32s} contiguous {a:.10f}  channels-last {b:.10f}  "
                  f"|diff| {abs(a - b):.2e}", flush=True)
    print(f"largest |score difference| over {len(models)} models x {len(benchmarks)} "
          f"benchmarks: {largest:.2e}")


if __name__ == "__main__":
    main(sys.argv[1:])
