"""Small synthetic inputs shared by this plugin's tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr

DATA = Path(__file__).parent / "data"


def _array(values, stimulus_ids, objects=None, prefix="n", **extra):
    coords = {"stimulus_id": ("presentation", np.asarray(stimulus_ids)),
              "neuroid_id": ("neuroid", [f"{prefix}{i}" for i in range(values.shape[1])])}
    if objects is not None:
        coords["object_name"] = ("presentation", np.asarray(objects))
    coords.update(extra)
    return xr.DataArray(values, dims=("presentation", "neuroid"), coords=coords)


@pytest.fixture
def make_pair():
    """``make_pair(n, p, q, noise, seed)`` -> (source, target): target = source @ B + noise."""

    def make(n=160, p=30, q=8, noise=0.3, seed=0, objects=4):
        rng = np.random.default_rng(seed)
        source = rng.normal(size=(n, p))
        target = source @ rng.normal(size=(p, q)) / np.sqrt(p) + noise * rng.normal(size=(n, q))
        ids = np.array([f"stim{i:04d}" for i in range(n)])
        names = np.array([f"obj{i % objects}" for i in range(n)]) if objects else None
        return _array(source, ids, names, prefix="f"), _array(target, ids, names)

    return make


@pytest.fixture
def make_trials():
    """``make_trials(n, q, repetitions, noise, seed)`` -> per-repetition assembly."""

    def make(n=80, q=6, repetitions=4, noise=0.5, seed=0):
        rng = np.random.default_rng(seed)
        signal = rng.normal(size=(n, q))
        trials = np.concatenate([signal + noise * rng.normal(size=(n, q))
                                 for _ in range(repetitions)])
        ids = np.tile([f"stim{i:04d}" for i in range(n)], repetitions)
        return _array(trials, ids, repetition=("presentation", np.repeat(np.arange(repetitions), n)))

    return make


@pytest.fixture(scope="session")
def brainscore_fixture():
    """Inputs and brainscore-vision 2.4.2's expected values (see data/make_brainscore_fixture.py)."""
    data = dict(np.load(DATA / "brainscore_fixture.npz"))
    source = _array(data["source"], data["source_stimulus_id"], data["source_object_name"],
                    prefix="f")
    assembly = _array(data["assembly"], data["assembly_stimulus_id"],
                      data["assembly_object_name"],
                      repetition=("presentation", data["assembly_repetition"]))
    assembly = assembly.assign_coords(neuroid_id=("neuroid", data["neuroid_id"]))
    return data, source, assembly
