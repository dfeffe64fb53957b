"""Effect of each Brain-Score-parity option on the neural benchmarks' scores, on a synthetic store.

Scores each model on each benchmark with the defaults (Brain-Score's behaviour) and with each
option switched, one at a time:

* ``reported_features="reduced"``: the selection reduction (PCA(1000)) also for the reported
  score (neuroalign <= 0.1) instead of the chosen layer's full activations;
* ``preprocessing="model"``: the model's own input transform (timm's ``crop_pct`` centre crop)
  instead of Brain-Score's square ``Resize((s, s))``;
* ``reduction="srp"``: a seeded sparse random projection for layer selection instead of PCA;
* ``clip=True``: ceiled scores clipped to [0, 1];
* ``pca_images=FOLDER``: the PCA basis fitted on a folder of images instead of the procedural
  reference set. Offline there is no ImageNet val, so ``--pca-folder`` (default: written on first
  use) holds 1,024 HvM-like object images of another world seed (disjoint from every dataset
  image), 8 class folders; Brain-Score's per-class rule picks 1,000 of them;
* ``ceiling_mode="ratio"`` (raw / ceiling, the 2018-2024 convention) and ``"none"`` (raw r).

The options that change only the normalisation (``clip``, ``ceiling_mode``) are applied to the
default run's measured raw scores and ceilings with the benchmark's own ``ceiled_score`` and
selection rule (``"derived": true`` in the row): exact, without refitting the metric; when the
selected layer would change, that variant is scored in full instead.

Prints one JSON line per (model, benchmark, variant) and, at the end, one Markdown table per
benchmark: score, change vs the default, selected layer and whether it flips. ``--resume LOG``
skips the rows a previous run printed to LOG.

Run::

    .venv/bin/python benchmarks/bench_parity_options.py --store /tmp/na-small/store \\
        --home /tmp/na-small/home

``--store`` is built (demo scale 1/8, seed 0, the Majaj-Hong and Freeman-Ziemba datasets) when it
is not an intact store. The activation cache under ``--home`` serves repeated extractions.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

BENCHMARKS = (
    "MajajHong2015.V4-pls", "MajajHong2015.IT-pls",
    "MajajHong2015public.V4-pls", "MajajHong2015public.IT-pls",
    "FreemanZiemba2013.V1-pls", "FreemanZiemba2013.V2-pls",
    "FreemanZiemba2013public.V1-pls", "FreemanZiemba2013public.V2-pls",
)
DATASETS = ("MajajHong2015.public", "MajajHong2015.private",
            "FreemanZiemba2013.public", "FreemanZiemba2013.private")
#: model -> candidate layers ("" = the model spec's candidates)
MODELS = {"synthetic:groundtruth": "v1,v2,v4,it", "timm:resnet18": "layer1,layer2,layer3,layer4",
          "timm:mobilenetv3_small_100": ""}


def variants(pca_folder: str) -> dict[str, dict]:
    return {
        "default": {},
        "reported_features=reduced": {"reported_features": "reduced"},
        "preprocessing=model": {"preprocessing": "model"},
        "reduction=srp": {"reduction": "srp"},
        "clip=True": {"clip": True},
        "pca_images=folder": {"pca_images": pca_folder},
        "ceiling_mode=ratio": {"ceiling_mode": "ratio"},
        "ceiling_mode=none": {"ceiling_mode": "none"},
    }


def write_pca_folder(folder: Path, seed: int = 7) -> Path:
    """1,024 HvM-like images (another world seed, disjoint indices) in 8 class folders."""
    if (folder / "done").is_file():
        return folder
    from PIL import Image

    from neuroalign_synthetic.images import draw_set

    records, images = draw_set(seed=seed, variations=(3, 6), images_per_object={3: 8, 6: 8},
                               size=256, index_offset=10**6)
    for index, (record, image) in enumerate(zip(records, images)):
        target = folder / record.category_name / f"{index:05d}.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(target)
    (folder / "done").write_text(str(len(records)))
    return folder


def markdown(rows: list[dict]) -> str:
    out = []
    for (model, benchmark) in dict.fromkeys((r["model"], r["benchmark"]) for r in rows):
        group = [r for r in rows if r["model"] == model and r["benchmark"] == benchmark]
        base = next(r for r in group if r["variant"] == "default")
        out += [f"\n{model} on {benchmark}\n",
                "| variant | score | change | layer | flips |", "|---|---|---|---|---|"]
        for r in group:
            change = r["score"] - base["score"]
            flips = "yes" if r["layer"] != base["layer"] else "no"
            out.append(f"| {r['variant']} | {r['score']:.3f} | {change:+.3f} | {r['layer']} | "
                       f"{flips if r is not base else ''} |")
    return "\n".join(out)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--store", required=True, help="synthetic store (built here if missing)")
    p.add_argument("--home", required=True, help="NEUROALIGN_HOME (activation cache)")
    p.add_argument("--scale", type=float, default=0.125)
    p.add_argument("--models", default=",".join(MODELS), help="comma list of " + str(list(MODELS)))
    p.add_argument("--benchmarks", default=",".join(BENCHMARKS))
    p.add_argument("--pca-folder", default=None, help="default: <home>/pca-folder")
    p.add_argument("--resume", default=None, help="a previous run's output: skip its rows")
    args = p.parse_args()
    os.environ.update(NEUROALIGN_STORE=args.store, NEUROALIGN_HOME=args.home,
                      NEUROALIGN_OFFLINE="1")
    import neuroalign
    from neuroalign.app.demo import build_store, store_is_intact

    if not store_is_intact(Path(args.store), check_hashes=False):
        build_store(args.store, scale=args.scale, seed=0, datasets=list(DATASETS), log=print)
    folder = str(write_pca_folder(Path(args.pca_folder or Path(args.home) / "pca-folder")))
    rows = []
    if args.resume and Path(args.resume).is_file():
        rows = [json.loads(line) for line in Path(args.resume).read_text().splitlines()
                if line.startswith("{")]
    done = {(r["model"], r["benchmark"], r["variant"]) for r in rows}
    for model_id in args.models.split(","):
        model = neuroalign.get_model(  # random weights for timm models
            model_id, pretrained=False if model_id.startswith("timm:") else None)
        layers = MODELS[model_id].split(",") if MODELS[model_id] else None
        for benchmark_id in args.benchmarks.split(","):
            default: dict = {}
            for name, update in variants(folder).items():
                if (model_id, benchmark_id, name) in done:
                    continue
                started = time.perf_counter()
                row = None
                if set(update) <= NORMALISATION and name != "default":
                    row = derived(benchmark_id, update, default, model_id, layers)
                if row is None:
                    benchmark = neuroalign.get_benchmark(benchmark_id, parameters=update)
                    score = benchmark(model, layers=layers, progress=False)
                    row = {"layer": score.layer, "score": float(score.value),
                           "raw": float(score.raw), "ceiling": float(score.ceiling),
                           "layers": dict(score.layers or {}),
                           "layers_raw": dict(score.attrs.get("layers_raw") or {})}
                    if name == "default":
                        default.update(row, benchmark=benchmark)
                row = {"model": model_id, "benchmark": benchmark_id, "variant": name, **{
                    k: (round(v, 4) if isinstance(v, float) else
                        {a: round(b, 4) for a, b in v.items()} if isinstance(v, dict) else v)
                    for k, v in row.items()}, "seconds": round(time.perf_counter() - started, 1)}
                rows.append(row)
                print(json.dumps(row), flush=True)
    print(markdown(rows))


#: options that change only how a raw score is normalised
NORMALISATION = {"clip", "ceiling_mode"}


def derived(benchmark_id: str, update: dict, default: dict, model_id: str,
            layers: list[str] | None) -> dict | None:
    """The row of a normalisation-only variant from the default run's raw scores and ceilings
    (the benchmark's ``ceiled_score`` and selection rule), or None when the layer would change
    (or the default was not run in this process): then the caller scores it in full."""
    from neuroalign_neural.ceiling import ceiled_score

    if not default:
        return None
    base = default["benchmark"]
    spec = base.spec.with_parameters(update)
    mode = spec.parameters.get("ceiling_mode", "explained_variance")
    clip = bool(spec.parameters.get("clip", False))
    per_layer = {}
    if default["layers_raw"]:
        selection_ceiling = base.ceiling("selection")
        per_layer = {layer: float(ceiled_score(raw, selection_ceiling, mode, clip=clip).value)
                     for layer, raw in default["layers_raw"].items()}
        chosen = max(per_layer, key=lambda name: (per_layer[name], default["layers_raw"][name]))
        if chosen != default["layer"]:
            return None
    value = ceiled_score(default["raw"], base.ceiling("reported"), mode, clip=clip).value
    return {"layer": default["layer"], "score": float(value), "raw": default["raw"],
            "ceiling": default["ceiling"], "layers": per_layer,
            "layers_raw": default["layers_raw"], "derived": True}


if __name__ == "__main__":
    main()
