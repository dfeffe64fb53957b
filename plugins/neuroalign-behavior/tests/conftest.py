"""Fixtures: the stored Brain-Score agreement inputs, and small synthetic trials."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

DATA = Path(__file__).parent / "data"


def _strings(array: xr.DataArray) -> xr.DataArray:
    """netCDF char arrays come back as bytes: decode values and coords to str."""
    def decode(values):
        values = np.asarray(values)
        return values.astype(str).astype(object) if values.dtype.kind in "SO" else values

    coords = {name: (coord.dims, decode(coord.values)) for name, coord in array.coords.items()}
    return xr.DataArray(decode(array.values), dims=array.dims, coords=coords)


def load_case(name: str) -> tuple[xr.DataArray, xr.DataArray, dict]:
    """``(probabilities, trials, brainscore_outputs)`` of a stored case."""
    expected = json.loads((DATA / "i2n_brainscore.json").read_text())["cases"][name]
    with xr.open_dataset(DATA / "i2n_inputs.nc", engine="netcdf4") as dataset:
        dataset = dataset.load()
    probabilities = dataset[f"{name}_probabilities"]
    probabilities = probabilities.rename({c: c.removeprefix(f"{name}_image_")
                                          for c in probabilities.coords if c.startswith(
                                              f"{name}_image_")})
    probabilities = probabilities.rename({f"{name}_image": "presentation",
                                          f"{name}_choice": "choice"})
    trials = dataset[f"{name}_trials"]
    trials = trials.rename({c: c.removeprefix(f"{name}_trial_") for c in trials.coords})
    trials = trials.rename({f"{name}_trial": "presentation"})
    return _strings(probabilities), _strings(trials), expected


@pytest.fixture(params=["small", "medium", "wide"])
def brainscore_case(request):
    return load_case(request.param)


def make_trials(n_objects=6, per_object=5, repeats=12, seed=0, consistency=1.0):
    """Trials whose per-(image, distractor) error rates come from a latent d' pattern.

    Returns ``(trials, latent)`` where ``latent`` is ``(images, objects)`` of the distractor
    choice rates (NaN on the truth), so a model with probabilities following it scores high.
    """
    rng = np.random.default_rng(seed)
    objects = np.array([f"obj{k}" for k in range(n_objects)])
    truth = np.repeat(objects, per_object)
    ids = np.array([f"im{i:03d}" for i in range(len(truth))])
    logits = rng.normal(-1.5, 1.0, size=(len(truth), n_objects))
    rates = 1 / (1 + np.exp(-logits))
    rows = []
    for i, obj in enumerate(truth):
        for k, dist in enumerate(objects):
            if dist == obj:
                continue
            noisy = rates[i, k] if consistency >= 1 else 1 / (1 + np.exp(-(
                logits[i, k] * consistency + rng.normal(0, 1 - consistency))))
            for _ in range(repeats):
                rows.append((ids[i], obj, dist, dist if rng.random() < noisy else obj))
    rows = [rows[j] for j in rng.permutation(len(rows))]
    sid, tru, dist, chosen = (np.array(c, dtype=object) for c in zip(*rows))
    trials = xr.DataArray(chosen, dims="presentation",
                          coords={"stimulus_id": ("presentation", sid), "truth": ("presentation", tru),
                                  "sample_obj": ("presentation", tru),
                                  "dist_obj": ("presentation", dist)})
    for i, obj in enumerate(truth):
        rates[i, list(objects).index(obj)] = np.nan
    return trials, rates, ids, objects, truth


def probabilities_from(rates, ids, objects, truth, noise=0.0, seed=1):
    """Model probabilities whose p_c / (p_c + p_truth) equals ``rates`` (plus noise)."""
    rng = np.random.default_rng(seed)
    odds = rates / (1 - rates) * np.exp(rng.normal(0, noise, rates.shape)) if noise else \
        rates / (1 - rates)
    p = np.where(np.isnan(odds), 1.0, odds)  # p_truth = 1, p_c = odds, then normalise
    p = p / p.sum(axis=1, keepdims=True)
    return xr.DataArray(p, dims=("presentation", "choice"),
                        coords={"stimulus_id": ("presentation", ids.astype(object)),
                                "choice": objects.astype(object)})


@pytest.fixture
def case_loader():
    """``load_case`` (stored Brain-Score cases by name)."""
    return load_case


@pytest.fixture
def synthetic_trials():
    """``(make_trials, probabilities_from)``."""
    return make_trials, probabilities_from
