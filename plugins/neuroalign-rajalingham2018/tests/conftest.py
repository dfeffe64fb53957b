"""Fixtures: tiny files in Brain-Score's Rajalingham 2018 formats, and a shared synthetic store."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from neuroalign_majaj2015.formats import write_assembly, write_stimulus_set

SCALE = 0.06


def brainio_files(directory: Path, *, access: str = "private", seed: int = 0) -> dict[str, Path]:
    """A tiny Rajalingham-2018-shaped assembly + stimulus set as Brain-Score publishes them.

    4 objects x 2 gray 16x16 images, every (image, distractor) pair offered twice; legacy
    ``image_id`` coord, the values the chosen objects, MultiIndexed in memory and flattened on
    write (BrainIO's ``write_netcdf``); CSV with ``image_id``, ``image_label``, ``filename``.
    """
    rng = np.random.default_rng(seed)
    directory.mkdir(parents=True, exist_ok=True)
    objects = np.array(["zebra", "calc01", "breed_pug", "MB30758"], dtype=object)
    truth = np.repeat(objects, 2)
    ids = np.array([hashlib.sha1(f"{access}{i}".encode()).hexdigest() for i in range(8)],
                   dtype=object)
    rows = [(i, d) for i in range(8) for d in objects if d != truth[i] for _ in range(2)]
    image = np.array([r[0] for r in rows])
    dist = np.array([r[1] for r in rows], dtype=object)
    chosen = np.where(rng.random(len(rows)) < 0.2, dist, truth[image]).astype(object)
    assembly = xr.DataArray(chosen, dims=["presentation"], coords={
        "image_id": ("presentation", ids[image]), "sample_obj": ("presentation", truth[image]),
        "dist_obj": ("presentation", dist), "choice": ("presentation", chosen),
        "truth": ("presentation", truth[image]), "repetition": ("presentation", np.zeros(len(rows), int))},
        attrs={"stimulus_set_identifier": f"objectome.{access}"})
    assembly = assembly.set_index(presentation=["image_id", "sample_obj", "dist_obj", "choice",
                                                "truth", "repetition"])
    names = {"assembly": f"assy_dicarlo_Rajalingham2018_{access}.nc",
             "stimuli_csv": f"stimulus_objectome_{access}.csv",
             "stimuli_zip": f"stimulus_objectome_{access}.zip"}
    write_assembly(assembly, directory / names["assembly"])
    metadata = pd.DataFrame({"image_id": ids, "image_sample_obj": truth, "image_label": truth,
                             "filename": [f"{i}.png" for i in ids]})
    write_stimulus_set(directory / names["stimuli_csv"], directory / names["stimuli_zip"],
                       metadata, {f"{i}.png": rng.integers(0, 255, (16, 16), dtype=np.uint8)
                                  for i in ids})
    return {name: directory / file for name, file in names.items()}


@pytest.fixture
def tiny_brainio(tmp_path):
    """``make(**options) -> {asset name: path}`` for tiny files in Brain-Score's format."""
    counter = iter(range(1000))
    return lambda **options: brainio_files(tmp_path / f"brainio{next(counter)}", **options)


@pytest.fixture(scope="module")
def synthetic_store(tmp_path_factory):
    """Both Rajalingham 2018 splits at a small scale, set as NEUROALIGN_STORE (module-wide)."""
    from neuroalign.testing import write_synthetic_store
    from neuroalign_rajalingham2018.data import dataset_specs

    directory = write_synthetic_store(dataset_specs(), tmp_path_factory.mktemp("store"), seed=0,
                                      scale=SCALE)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NEUROALIGN_STORE", str(directory))
        patch.setenv("NEUROALIGN_HOME", str(tmp_path_factory.mktemp("home")))
        yield directory
