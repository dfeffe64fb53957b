"""Effect of each Brain-Score-parity option on MajajHong2015 scores on the synthetic store.

Scores one model on ``MajajHong2015.{V4,IT}-pls`` with the defaults (Brain-Score's behaviour) and
with each option switched back to neuroalign <= 0.1's behaviour, one at a time:
``reported_features="reduced"`` (PCA on the reported score), ``preprocessing="model"`` (timm's
``crop_pct`` centre crop) and ``clip=True``. Prints one JSON line per (benchmark, variant).

Run::

    .venv/bin/python benchmarks/bench_parity_options.py --store /tmp/na-small/store
"""

from __future__ import annotations

import argparse
import json
import os


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--store", required=True, help="a synthetic store with both Majaj splits")
    p.add_argument("--model", default="timm:resnet18")
    p.add_argument("--layers", default="layer1,layer2,layer3,layer4")
    args = p.parse_args()
    os.environ.update(NEUROALIGN_STORE=args.store, NEUROALIGN_OFFLINE="1")
    import neuroalign

    model = neuroalign.get_model(args.model, pretrained=False)
    variants = {"default (Brain-Score)": {}, "reported_features=reduced":
                {"reported_features": "reduced"}, "preprocessing=model": {"preprocessing": "model"},
                "clip=True": {"clip": True}}
    for benchmark_id in ("MajajHong2015.V4-pls", "MajajHong2015.IT-pls"):
        for name, update in variants.items():
            benchmark = neuroalign.get_benchmark(benchmark_id)
            benchmark.spec = benchmark.spec.model_copy(
                update={"parameters": {**benchmark.spec.parameters, **update}})
            score = benchmark(model, layers=args.layers.split(","), progress=False)
            print(json.dumps({"benchmark": benchmark_id, "variant": name, "layer": score.layer,
                              "score": round(score.value, 4), "raw": round(score.raw, 4),
                              "layers": {k: round(v, 4) for k, v in (score.layers or {}).items()}}),
                  flush=True)


if __name__ == "__main__":
    main()
