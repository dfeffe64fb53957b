"""Fixtures: tiny Freeman-Ziemba files in Brain-Score's real formats, and the synthetic store."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from unittest import mock

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from neuroalign_majaj2015.formats import write_assembly, write_stimulus_set

DATASETS = ["FreemanZiemba2013.public", "FreemanZiemba2013.private"]


def brainio_files(directory: Path, *, access: str = "public", n_images: int = 6,
                  repetitions: int = 4, bins: range = range(0, 300), legacy: bool = False,
                  seed: int = 0) -> dict[str, Path]:
    """A tiny Freeman-Ziemba-shaped assembly (``neuroid x time_bin x presentation``, 1-ms bins of
    spike counts, 2 V1 + 3 V2 units) and its stimulus set, as Brain-Score publishes them."""
    rng = np.random.default_rng(seed)
    directory.mkdir(parents=True, exist_ok=True)
    ids = np.array([hashlib.sha1(f"{access}{i}".encode()).hexdigest() for i in range(n_images)],
                   dtype=object)
    values = rng.poisson(0.05, (5, len(bins), n_images * repetitions)).astype(np.float64)
    id_name = "image_id" if legacy else "stimulus_id"
    assembly = xr.DataArray(values, dims=("neuroid", "time_bin", "presentation"), coords={
        "neuroid_id": ("neuroid", np.arange(1, 6)),
        "region": ("neuroid", np.array(["V1", "V1", "V2", "V2", "V2"], dtype=object)),
        "time_bin_start": ("time_bin", np.array(list(bins))),
        "time_bin_end": ("time_bin", np.array(list(bins)) + 1),
        id_name: ("presentation", np.repeat(ids, repetitions)),
        "repetition": ("presentation", np.tile(np.arange(repetitions), n_images)),
    }, attrs={"stimulus_set_identifier": f"FreemanZiemba2013.aperture-{access}"})
    # BrainIO assemblies are MultiIndexed in memory; write_netcdf flattens them
    assembly = assembly.set_index(neuroid=["neuroid_id", "region"],
                                  time_bin=["time_bin_start", "time_bin_end"],
                                  presentation=[id_name, "repetition"])
    names = {"assembly": f"assy_movshon_FreemanZiemba2013_{access}.nc",
             "stimuli_csv": f"stimulus_FreemanZiemba2013_aperture-{access}.csv",
             "stimuli_zip": f"stimulus_FreemanZiemba2013_aperture-{access}.zip"}
    write_assembly(assembly, directory / names["assembly"])
    metadata = pd.DataFrame({
        id_name: ids, "texture_family": [13 + i % 3 for i in range(n_images)],
        "texture_type": ["texture" if i % 2 else "noise" for i in range(n_images)],
        "sample": [1 + i // 2 for i in range(n_images)], "resolution": "320x320",
        "filename": [f"{i}.png" for i in ids]})
    images = {f"{i}.png": rng.integers(0, 255, (20, 20), dtype=np.uint8) for i in ids}
    write_stimulus_set(directory / names["stimuli_csv"], directory / names["stimuli_zip"],
                       metadata, images)
    return {name: directory / file for name, file in names.items()}


@pytest.fixture
def tiny_brainio(tmp_path):
    """``make(**options) -> {asset name: path}`` for tiny files in Brain-Score's format."""
    counter = iter(range(1000))

    def make(**options):
        return brainio_files(tmp_path / f"brainio{next(counter)}", **options)

    return make


@pytest.fixture(scope="session")
def fz_home(tmp_path_factory) -> Path:
    """One NEUROALIGN_HOME per session: the ground-truth network's v1/v2 PCA (fitted on 1,024
    reference images) and its activations are computed once, not once per test."""
    return tmp_path_factory.mktemp("fz-home")


@pytest.fixture
def shared_home(fz_home, monkeypatch) -> Path:
    """NEUROALIGN_HOME set to the session's home (results of a test go to its own file)."""
    monkeypatch.setenv("NEUROALIGN_HOME", str(fz_home))
    monkeypatch.delenv("NEUROALIGN_STORE", raising=False)
    return fz_home


@pytest.fixture(scope="session")
def fz_store(tmp_path_factory, fz_home):
    """Both synthetic splits at the demo's scale (1/8), built once per session."""
    from neuroalign.app.demo import build_store

    base = tmp_path_factory.getbasetemp()
    with mock.patch.dict(os.environ, {"NEUROALIGN_HOME": str(fz_home)}):
        return build_store(base / "fz-store-0.125", scale=0.125, datasets=DATASETS)


@pytest.fixture
def in_fz_store(fz_store, shared_home, monkeypatch):
    """The synthetic store as NEUROALIGN_STORE, offline, with the session's caches."""
    monkeypatch.setenv("NEUROALIGN_STORE", str(fz_store))
    monkeypatch.setenv("NEUROALIGN_OFFLINE", "1")
    return fz_store
