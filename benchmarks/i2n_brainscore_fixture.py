"""Regenerate the I2n agreement fixture: small inputs and brainscore-vision 2.4.2's outputs on them.

Writes ``plugins/neuroalign-behavior/tests/data/i2n_inputs.nc`` (the inputs, in Brain-Score's
layout) and ``i2n_brainscore.json`` (what brainscore-vision returns on them), which
``tests/test_brainscore_agreement.py`` compares our ``i2n`` / ``i2n_split_half`` against.

brainscore-vision is never a dependency of neuroalign. It needs an old xarray (its
``DataAssembly`` breaks on current xarray), so it runs in a scratch venv; this is how the stored
fixture was made::

    python3 -m venv /tmp/bsvenv
    /tmp/bsvenv/bin/pip install "numpy<2" "scipy<1.14" "scikit-learn==1.5.2" "xarray==2022.3.0" \
        "pandas==1.5.3" netCDF4 psutil result_caching tqdm PyYAML boto3 Pillow
    pip download brainscore-vision==2.4.2 brainscore-core==2.5.0 --no-deps -d /tmp/bsw
    (cd /tmp/bsw && for w in *.whl; do unzip -oq $w -d /tmp/bsref; done)
    PYTHONPATH=/tmp/bsref /tmp/bsvenv/bin/python benchmarks/i2n_brainscore_fixture.py

The inputs (three cases) are synthetic: objects named like the objectome's, images per object,
every (image, distractor) pair offered on several trials, human choices drawn from per-cell
rates (some near 0 and 1, so the d' clipping at +-5 is exercised), model probabilities from a
Dirichlet with some exact zeros off the truth column, presented in a shuffled image order and an
unsorted choice order (both libraries align by stimulus id and choice).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import xarray as xr

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "plugins" / "neuroalign-behavior" / "tests" / "data"
OBJECTS = ("lo_poly_animal_RHINO_2", "MB30758", "calc01", "interior_details_103_4", "zebra",
           "MB27346", "build51", "weimaraner", "interior_details_130_2",
           "lo_poly_animal_CHICKDEE", "kitchen_equipment_knife2", "lo_poly_animal_BEAR_BLK")
CASES = {"small": (4, 3, 16, 11), "medium": (8, 5, 16, 12), "wide": (12, 4, 14, 16)}


def make_case(n_objects: int, per_object: int, repeats: int, seed: int
              ) -> tuple[xr.DataArray, xr.DataArray]:
    """``(probabilities, trials)`` in Brain-Score's layout (plain coords, no MultiIndex)."""
    rng = np.random.default_rng(seed)
    objects = np.array(OBJECTS[:n_objects])
    truth = np.repeat(objects, per_object)
    ids = np.array([f"{rng.integers(16**12):012x}{i:03d}" for i in range(len(truth))])
    rows = []
    rates = np.zeros((len(truth), n_objects))
    for i, obj in enumerate(truth):
        for dist in objects[objects != obj]:
            rate = rng.beta(0.6, 2.0)  # P(choose the distractor): many near 0, a few high
            rates[i, list(objects).index(dist)] = rate
            for _ in range(repeats):
                sample_first = rng.random() < 0.5
                chosen = dist if rng.random() < rate else obj
                rows.append((ids[i], obj, obj, dist, chosen, int(sample_first)))
    order = rng.permutation(len(rows))
    rows = [rows[k] for k in order]
    columns = list(zip(*rows))
    trials = xr.DataArray(
        np.array(columns[4], dtype=object), dims=["presentation"],
        coords={"stimulus_id": ("presentation", np.array(columns[0], dtype=object)),
                "truth": ("presentation", np.array(columns[1], dtype=object)),
                "sample_obj": ("presentation", np.array(columns[2], dtype=object)),
                "dist_obj": ("presentation", np.array(columns[3], dtype=object)),
                "choice": ("presentation", np.array(columns[4], dtype=object)),
                "sample_first": ("presentation", np.array(columns[5]))})
    # the model shares part of the humans' image-level pattern
    probabilities = rng.dirichlet(np.full(n_objects, 0.7), size=len(ids)) + rates
    zeros = rng.random(probabilities.shape) < 0.05
    for i, obj in enumerate(truth):
        zeros[i, list(objects).index(obj)] = False
        probabilities[i, list(objects).index(obj)] += 0.05
    probabilities[zeros] = 0.0
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    shown = rng.permutation(len(ids))
    choice_order = rng.permutation(n_objects)
    source = xr.DataArray(probabilities[np.ix_(shown, choice_order)],
                          dims=["presentation", "choice"],
                          coords={"stimulus_id": ("presentation", ids[shown].astype(object)),
                                  # a second presentation coord, as in Brain-Score's files (one
                                  # alone would become the dim's plain index in old xarray)
                                  "image_label": ("presentation", truth[shown].astype(object)),
                                  "choice": objects[choice_order].astype(object)})
    return source, trials


def brainscore_outputs(source: xr.DataArray, trials: xr.DataArray) -> dict[str, object]:
    """brainscore-vision 2.4.2's I2n score, ceiling and per-split ceiled score on the inputs."""
    from brainscore_core.supported_data_standards.brainio.assemblies import BehavioralAssembly
    from brainscore_vision.benchmarks.rajalingham2018.benchmarks.benchmark import (
        _DicarloRajalingham2018)
    from brainscore_vision.metrics.i1i2.metric import I2n

    metric = I2n()
    probabilities = BehavioralAssembly(source.copy())
    target = BehavioralAssembly(trials.copy())
    score = metric(probabilities, target)
    ceiling = metric.ceiling(target)

    class Stub:  # ceil_score reads only self._metric
        _metric = metric

    ceiled = _DicarloRajalingham2018.ceil_score(Stub(), score, ceiling)
    return {
        "score": float(score.values), "score_error": float(score.attrs["error"].values),
        "score_splits": [float(v) for v in score.raw.values],
        "ceiling": float(ceiling.values), "ceiling_error": float(ceiling.attrs["error"].values),
        "ceiling_splits": [float(v) for v in ceiling.raw.values],
        "ceiled": float(ceiled.values), "ceiled_error": float(ceiled.attrs["error"].values),
    }


def main() -> None:
    import brainscore_vision

    DATA.mkdir(parents=True, exist_ok=True)
    expected, variables = {}, {}
    for name, (n_objects, per_object, repeats, seed) in CASES.items():
        source, trials = make_case(n_objects, per_object, repeats, seed)
        expected[name] = brainscore_outputs(source, trials)
        image_coords = {c: f"{name}_image_{c}" for c in source.coords if c != "choice"}
        variables[f"{name}_probabilities"] = source.rename(image_coords).rename(
            {"presentation": f"{name}_image", "choice": f"{name}_choice"})
        trial_coords = {c: f"{name}_trial_{c}" for c in trials.coords}
        variables[f"{name}_trials"] = trials.rename(presentation=f"{name}_trial").rename(
            trial_coords)
        print(name, expected[name])
    dataset = xr.Dataset(variables)
    # strings as zlib-compressed char arrays: a tenth of the size of netCDF's variable-length ones
    encoding = {k: ({"dtype": "S1", "zlib": True} if dataset[k].dtype.kind == "O" else
                    {"zlib": True}) for k in dataset.variables}
    dataset.to_netcdf(DATA / "i2n_inputs.nc", engine="netcdf4", encoding=encoding)
    meta = {"generator": "benchmarks/i2n_brainscore_fixture.py",
            "brainscore_vision": getattr(brainscore_vision, "__version__", "2.4.2"),
            "python": sys.version.split()[0], "numpy": np.__version__, "xarray": xr.__version__,
            "cases": expected}
    (DATA / "i2n_brainscore.json").write_text(json.dumps(meta, indent=1) + "\n")


if __name__ == "__main__":
    main()
