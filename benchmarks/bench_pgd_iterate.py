"""PGD.robust_accuracy with the best-loss iterate (version 2's default) and the last iterate.

Scores the bundled shapes classifier on ``PGD.robust_accuracy-linf`` and ``-l2`` with default
parameters, once per ``iterate`` value, and prints one JSON line per run (score, error, clean
accuracy, per-step AUCs and the accuracy table). With ``$NEUROALIGN_IMAGENET_VAL`` set (and a
model with an ImageNet head given by ``--model``) the same comparison runs on ImageNet val.

Run::

    OMP_NUM_THREADS=1 NEUROALIGN_DISABLE_PLUGINS=example .venv/bin/python benchmarks/bench_pgd_iterate.py
"""

from __future__ import annotations

import argparse
import json


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default=None, help="a model id (default: the shapes classifier)")
    p.add_argument("--n-images", type=int, default=300)
    args = p.parse_args()
    import neuroalign
    from neuroalign_attacks import shapes_classifier_model

    model = shapes_classifier_model() if args.model is None else neuroalign.get_model(args.model)
    for benchmark_id in ("PGD.robust_accuracy-linf", "PGD.robust_accuracy-l2"):
        for iterate in ("best_loss", "last"):
            score = neuroalign.get_benchmark(benchmark_id, parameters={
                "iterate": iterate, "n_images": args.n_images})(model, progress=False)
            print(json.dumps({
                "benchmark": benchmark_id, "iterate": iterate, "data": score.attrs["data"],
                "value": round(score.value, 4), "error": round(score.error, 4),
                "clean": round(score.attrs["clean_accuracy"], 4),
                "auc": {k: round(c.value, 4) for k, c in score.children.items()},
                "accuracy": {k: [round(a, 4) for a in v]
                             for k, v in score.attrs["accuracy"].items()},
                "eps": [round(e, 4) for e in score.attrs["eps"]],
                "wall_s": round(score.provenance.wall_time_s, 1)}), flush=True)


if __name__ == "__main__":
    main()
