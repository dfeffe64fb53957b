"""The offline generator of ``Example.toy``: same files, same format as the "real" store.

Called as ``generate(spec, directory, *, seed=0, scale=1.0)`` (the convention every dataset
plugin follows) it writes ``stimuli.nc`` (a :class:`~neuroalign.stimuli.StimulusSet`) and
``responses.nc`` (``presentation x neuroid`` with one presentation per stimulus and repetition)
and returns ``{asset name: path}``. Responses are noisy linear read-outs of ``example:linear``'s
layers, so that model is the ground truth.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from neuroalign import DatasetSpec, ModelSpec
from neuroalign.stimuli import StimulusSet

from .model import CLASSES, LinearModel

REPETITIONS = 4
SITES = 8  # per region
NOISE = 0.5  # per-trial noise sd relative to the signal's sd: split-half ceiling about 0.9


def generate(spec: DatasetSpec, directory: Path, *, seed: int = 0, scale: float = 1.0
             ) -> dict[str, Path]:
    """Write the dataset's assets into ``directory``; ``scale`` scales the number of images.

    Parameters
    ----------
    spec : DatasetSpec
        The dataset (its id names the stimulus set).
    directory : pathlib.Path
        Created if needed.
    seed : int
        Seeds images, read-out weights and noise; the same seed writes the same data.
    scale : float
        1.0 writes 64 images; 0.5 writes 32 (never fewer than 16).
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    n = max(16, int(round(64 * scale)))
    objects = np.array([CLASSES[i % len(CLASSES)] for i in range(n)], dtype=object)
    # each object has a template; images are template + noise, so the object is decodable
    templates = rng.uniform(0, 1, size=(len(CLASSES), 16, 16, 3))
    index = np.array([CLASSES.index(o) for o in objects])
    images = np.clip(templates[index] + 0.35 * rng.standard_normal((n, 16, 16, 3)), 0, 1)
    ids = [f"toy{i:04d}" for i in range(n)]
    stimuli = StimulusSet.from_arrays(spec.id, ids, (images * 255).astype(np.uint8), degrees=8.0,
                                      object_name=objects)
    paths = {"stimuli": stimuli.to_netcdf(directory / "stimuli.nc")}

    truth = LinearModel(ModelSpec(id="example:linear", factory="neuroalign_example.model:LinearModel"))
    layers = truth.forward(stimuli.images())
    signal = np.concatenate([layers["linear"] @ rng.standard_normal((32, SITES)),
                             layers["relu"] @ rng.standard_normal((32, SITES))], axis=1)
    signal = (signal - signal.mean(0)) / signal.std(0)
    trials = signal[None] + NOISE * rng.standard_normal((REPETITIONS, *signal.shape))
    responses = xr.DataArray(
        trials.reshape(REPETITIONS * n, 2 * SITES).astype("float32"),
        dims=("presentation", "neuroid"),
        coords={
            "stimulus_id": ("presentation", np.tile(np.array(ids, dtype=object), REPETITIONS)),
            "repetition": ("presentation", np.repeat(np.arange(REPETITIONS), n)),
            "object_name": ("presentation", np.tile(objects, REPETITIONS)),
            "neuroid_id": ("neuroid", np.array([f"site{i:02d}" for i in range(2 * SITES)], dtype=object)),
            "region": ("neuroid", np.array(["V4"] * SITES + ["IT"] * SITES, dtype=object)),
        },
        name="responses",
        attrs={"dataset": spec.id, "seed": seed},
    )
    paths["responses"] = directory / "responses.nc"
    responses.to_netcdf(paths["responses"], engine="netcdf4")
    return paths
