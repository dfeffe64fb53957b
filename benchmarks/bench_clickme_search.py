"""Paper 003's minimal-eps search: batched (neuroalign-clickme) vs the reference per-image loop.

Both run the same search on identical inputs: eps = 10, then 1, then bisection of [0.001, 1] to
width 0.01 or [1, 10] to width 0.1, each step a 3-iteration L2 PGD (alpha 0.5, no random start,
``--projection``, sphere by default). ``per_image_search`` is the public notebook's loop: one
image at a time, every gradient of every PGD run. ``tolerance_search`` runs all images at once,
reuses the clean-image gradient across runs (it does not depend on eps), lets images leave the
batch as their bracket closes, and runs convolutional models channels-last on CPU.

Models: ``--model resnet18`` (timm, random weights, seed 0, 224 px, ImageNet normalisation)
and/or ``groundtruth`` (the synthetic ground-truth CNN, 96 px). Images: the ClickMe synthetic
twin at the model's input size; labels = the model's own predictions (as on the twin). The two
contenders alternate ``--repeats`` times; the median wall time and every time are reported,
with the load average (the machine is shared), and the per-image eps agreement: outcome equal
and ``|eps_batched - eps_loop| <`` the bracket's width (0.01 below 1, 0.1 above).

Run::

    .venv/bin/python benchmarks/bench_clickme_search.py --model resnet18 --images 16 --threads 2
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import numpy as np
import torch


def _inputs(n: int, size: int) -> torch.Tensor:
    import neuroalign
    from neuroalign_clickme.benchmarks import _resize
    from neuroalign_clickme.preprocessing import preprocess_images
    from neuroalign_clickme.synthetic import generate

    spec = neuroalign.get_spec("dataset", "ClickMe.eval1000")
    directory = Path(os.environ.get("TMPDIR", "/tmp")) / f"bench-clickme-{n}"
    from neuroalign_clickme.data import read_shard
    from neuroalign_clickme.preprocessing import decode_jpeg

    paths = generate(spec, directory, seed=0, scale=min(1.0, n / 160))
    records = [r for name, path in paths.items() for r in read_shard(path, name)][:n]
    images = np.stack([decode_jpeg(r.image, 3) for r in records])
    return _resize(preprocess_images(images), size, "bilinear")


def _model(name: str) -> tuple[torch.nn.Module, tuple, tuple, int]:
    if name == "resnet18":
        import timm

        torch.manual_seed(0)
        return (timm.create_model("resnet18", pretrained=False).eval(),
                (0.485, 0.456, 0.406), (0.229, 0.224, 0.225), 224)
    from neuroalign_synthetic.network import build_module

    return build_module(), (0.5,) * 3, (0.25,) * 3, 96


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", nargs="+", default=["groundtruth", "resnet18"])
    parser.add_argument("--images", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--projection", default="sphere")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    from neuroalign_clickme.search import SUCCESS, per_image_search, tolerance_search

    report = {}
    for name in args.model:
        module, mean, std, size = _model(name)
        x = _inputs(args.images, size)
        with torch.no_grad():
            logits = module((x - torch.tensor(mean)[:, None, None]) / torch.tensor(std)[:, None,
                                                                                     None])
        labels = logits.argmax(1)
        times = {"batched": [], "per_image": []}
        results = {}
        load_before = os.getloadavg()
        for _ in range(args.repeats):
            for contender in ("batched", "per_image"):
                started = time.perf_counter()
                if contender == "batched":
                    result = tolerance_search(module, x, labels, projection=args.projection,
                                              mean=mean, std=std)
                    results[contender] = (result.extras["outcome"], result.extras["eps"],
                                          result.gradient_evaluations)
                else:
                    loop = per_image_search(module, x, labels, projection=args.projection,
                                            mean=mean, std=std)
                    runs = int(loop["pgd_runs"].sum())
                    results[contender] = (loop["outcome"], loop["eps"], 3 * runs)
                times[contender].append(time.perf_counter() - started)
        (ob, eb, gb), (ol, el, gl) = results["batched"], results["per_image"]
        same_outcome = (ob == ol)
        both = (ob == SUCCESS) & (ol == SUCCESS)
        width = torch.where(el < 1, 0.01, 0.1)
        close = (eb - el).abs() < width
        medians = {k: statistics.median(v) for k, v in times.items()}
        report[name] = {
            "input_size": size, "images": args.images, "projection": args.projection,
            "median_s": medians, "all_s": times,
            "speedup": medians["per_image"] / medians["batched"],
            "gradients": {"batched": gb, "per_image": gl},
            "same_outcome": int(same_outcome.sum()),
            "eps_within_width": int((close & both).sum()), "succeeded": int(both.sum()),
            "eps_identical": int(((eb == el) & both).sum()),
            "max_abs_eps_diff": float((eb - el)[both].abs().max()) if both.any() else None,
            "median_eps": {"batched": float(eb[ob == SUCCESS].median()),
                           "per_image": float(el[ol == SUCCESS].median())},
            "loadavg_before_after": [load_before, os.getloadavg()],
        }
        print(json.dumps({name: report[name]}, indent=1), flush=True)


if __name__ == "__main__":
    main()
