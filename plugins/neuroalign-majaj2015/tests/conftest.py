"""Fixtures: tiny files in Brain-Score's real formats (BrainIO assembly netCDF, CSV + zip)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from neuroalign_majaj2015.formats import write_assembly, write_stimulus_set

CATEGORIES = ("Animals", "Boats", "Cars", "Chairs")


def sha1(path: Path) -> str:
    return hashlib.sha1(Path(path).read_bytes()).hexdigest()


def brainio_files(directory: Path, *, access: str = "public", n_stimuli: int = 8,
                  repetitions: int = 3, legacy: bool = False, time_bins=((70, 170),),
                  seed: int = 0) -> dict[str, Path]:
    """Write a tiny Majaj-Hong-shaped assembly + stimulus set like Brain-Score publishes them.

    2 V4 + 3 IT sites over two animals, ``n_stimuli`` gray 16x16 PNGs, ``repetitions`` trials,
    presentations interleaved; ``legacy`` uses ``image_id`` instead of ``stimulus_id`` and
    puts the stimulus metadata into the assembly too (as the 2018 files do).
    """
    rng = np.random.default_rng(seed)
    directory.mkdir(parents=True, exist_ok=True)
    ids = np.array([hashlib.sha1(f"{access}{i}".encode()).hexdigest() for i in range(n_stimuli)],
                   dtype=object)
    objects = np.array([f"obj{i % 4}" for i in range(n_stimuli)], dtype=object)
    categories = np.array([CATEGORIES[i % 4] for i in range(n_stimuli)], dtype=object)
    variation = np.array([0 if access == "public" else 6] * n_stimuli, dtype=np.int64)
    stimulus = np.tile(np.arange(n_stimuli), repetitions)
    repetition = np.repeat(np.arange(repetitions), n_stimuli)
    order = rng.permutation(len(stimulus))
    stimulus, repetition = stimulus[order], repetition[order]
    n_bins = len(time_bins)
    values = rng.standard_normal((5, len(stimulus), n_bins)).astype(np.float32)
    id_name = "image_id" if legacy else "stimulus_id"
    coords = {
        "neuroid_id": ("neuroid", np.array(["Chabo_L_M_0_0", "Tito_L_M_0_1", "Chabo_L_A_1_0",
                                            "Tito_L_P_1_1", "Chabo_L_P_2_2"], dtype=object)),
        "arr": ("neuroid", np.array(["M", "M", "A", "P", "P"], dtype=object)),
        "col": ("neuroid", np.array([0, 1, 0, 1, 2])),
        "row": ("neuroid", np.array([0, 0, 1, 1, 2])),
        "animal": ("neuroid", np.array(["Chabo", "Tito", "Chabo", "Tito", "Chabo"], dtype=object)),
        "region": ("neuroid", np.array(["V4", "V4", "IT", "IT", "IT"], dtype=object)),
        id_name: ("presentation", ids[stimulus]),
        "repetition": ("presentation", repetition),
        "stimulus": ("presentation", stimulus),
        "time_bin_start": ("time_bin", np.array([b[0] for b in time_bins])),
        "time_bin_end": ("time_bin", np.array([b[1] for b in time_bins])),
    }
    if legacy:
        coords.update({"object_name": ("presentation", objects[stimulus]),
                       "category_name": ("presentation", categories[stimulus]),
                       "variation": ("presentation", variation[stimulus])})
    assembly = xr.DataArray(values, dims=("neuroid", "presentation", "time_bin"), coords=coords,
                            attrs={"stimulus_set_identifier": f"dicarlo.hvm-{access}"})
    # BrainIO assemblies are MultiIndexed in memory; write_netcdf flattens them
    assembly = assembly.set_index(neuroid=["neuroid_id", "arr", "col", "row", "animal", "region"],
                                  time_bin=["time_bin_start", "time_bin_end"])
    names = {"assembly": f"assy_dicarlo_MajajHong2015_{access}.nc",
             "stimuli_csv": f"image_dicarlo_hvm-{access}.csv",
             "stimuli_zip": f"image_dicarlo_hvm-{access}.zip"}
    write_assembly(assembly, directory / names["assembly"])
    metadata = pd.DataFrame({id_name: ids, "object_name": objects, "category_name": categories,
                             "variation": variation, "background_id": ids,
                             "filename": [f"{i}.png" for i in ids]})
    images = {f"{i}.png": rng.integers(0, 255, (16, 16), dtype=np.uint8) for i in ids}
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
