"""Synthetic Majaj-Hong 2015 data in Brain-Score's exact file formats.

``generate(spec, directory, seed=0, scale=1.0)`` writes, for the split named by
``spec.parameters["access"]``, the three files Brain-Score publishes (same names, same netCDF
structure, same CSV columns, same zip layout) so :class:`~.data.MajajHong2015Dataset` reads them
with the very loader that reads the real ones:

* ``assy_dicarlo_MajajHong2015_<access>.nc`` - BrainIO assembly, ``neuroid x presentation x
  time_bin`` (one bin, 70-170 ms), flattened coords;
* ``image_dicarlo_hvm-<access>.csv`` and ``image_dicarlo_hvm-<access>.zip`` - the stimulus set.

The responses come from the ground-truth network (``synthetic:groundtruth``, package
``neuroalign-synthetic``): 88 V4 sites read out of its ``v4`` layer and 168 IT sites out of its
``it`` layer (:func:`neuroalign_synthetic.readout.make_sites`, latent dimension 8 in the leading 40
principal components), with Poisson-like trial noise calibrated so the median site reliability
(what the split-half internal-consistency ceiling estimates) is .89 in V4 and .82 in IT, the
paper's ceilings (Schrimpf et al. 2018, Fig. 2). The sites are the *same* in both splits (their
weights depend only on ``seed``), like the real recordings.

Scale
-----
``scale=1`` reproduces the real sizes: public = variation 0 (10 images per object) + variation 3
(40 per object), private = variation 6 (40 per object), 64 objects, 50 trials. Smaller scales
use fewer objects per category (8 at >= .5, 4 at >= .25, else 2, always 8 categories) and fewer
images per object (at least 10 per object at variations 3 and 6, so the 10 % test fold of a
split stratified by object holds every object), and ``min(50, max(10, round(50 * scale)))``
trials. The ceilings do not depend on the scale (the noise is calibrated for the trial count).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd

from neuroalign import DatasetSpec

from .data import BRAINSCORE_FILES

__all__ = ["generate", "layout", "RELIABILITY", "SITES", "GROUND_TRUTH_LAYERS"]

#: region -> median site reliability (= the split-half ceiling the data are tuned to)
RELIABILITY = {"V4": 0.89, "IT": 0.82}
#: region -> number of sites (the real data's)
SITES = {"V4": 88, "IT": 168}
#: region -> ground-truth layer the sites read out
GROUND_TRUTH_LAYERS = {"V4": "v4", "IT": "it"}
_ANIMALS = ("Chabo", "Tito")
_FULL_COUNTS = {0: 10, 3: 40, 6: 40}


def layout(access: str, scale: float) -> dict[str, object]:
    """Sizes of a split at ``scale``: variations, objects per category, images, trials."""
    if access not in ("public", "private"):
        raise ValueError(f"access must be 'public' or 'private'; found {access!r}")
    if not 0 < scale <= 1:
        raise ValueError(f"scale must be in (0, 1]; found {scale}")
    objects = 8 if scale >= 0.5 else 4 if scale >= 0.25 else 2
    variations = (0, 3) if access == "public" else (6,)
    per_object = {}
    for variation in variations:
        wanted = _FULL_COUNTS[variation] * scale * 8 / objects
        per_object[variation] = max(1 if variation == 0 else 10, int(round(wanted)))
    trials = min(50, max(10, int(round(50 * scale))))
    n_images = 8 * objects * sum(per_object.values())
    return {"variations": variations, "objects_per_category": objects,
            "images_per_object": per_object, "trials": trials, "images": n_images}


def _seed(*parts: object) -> int:
    text = "/".join(str(p) for p in ("neuroalign-majaj2015", *parts))
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")


def _neuroid_coords() -> dict[str, tuple[str, np.ndarray]]:
    """BrainIO neuroid metadata for 88 V4 + 168 IT sites over two animals."""
    rows = []
    for region, arrays in (("V4", ("M",)), ("IT", ("P", "A"))):
        count = SITES[region]
        for i in range(count):
            animal = _ANIMALS[i % 2]
            arr = arrays[(i // 2) % len(arrays)]
            col, row = (i // 2) % 10, (i // 20) % 10
            bank = "ABC"[i % 3]
            rows.append({"neuroid_id": f"{animal}_L_{arr}_{row}_{col}", "arr": arr, "col": col,
                         "row": row, "bank": bank, "elec": i % 32, "label": f"elec{i}",
                         "animal": animal, "region": region})
    frame = pd.DataFrame(rows)
    # ids must be unique: suffix the rare collisions the small grid produces
    counts = frame.groupby("neuroid_id").cumcount()
    frame["neuroid_id"] = [n if c == 0 else f"{n}_{c}" for n, c in zip(frame["neuroid_id"], counts)]
    return {name: ("neuroid", frame[name].to_numpy(
        dtype=np.int64 if pd.api.types.is_integer_dtype(frame[name]) else object))
        for name in frame.columns}


def generate(spec: DatasetSpec, directory: str | Path, *, seed: int = 0,
             scale: float = 1.0) -> dict[str, Path]:
    """Write a synthetic split of ``spec`` into ``directory`` in Brain-Score's format.

    Parameters
    ----------
    spec : DatasetSpec
        ``MajajHong2015.public`` or ``MajajHong2015.private`` (``parameters["access"]``).
    directory : path-like
        Created if needed.
    seed : int
        World seed: images, sites and trial noise are deterministic functions of it.
    scale : float
        Fraction of the real size (see the module docstring).

    Returns
    -------
    dict
        ``{"assembly": path, "stimuli_csv": path, "stimuli_zip": path}``.
    """
    import xarray as xr

    from neuroalign_synthetic.images import draw_set
    from neuroalign_synthetic.readout import make_sites, trial_responses
    from neuroalign_synthetic.world import (groundtruth_activations, reference_activations,
                                            to_stimulus_set)

    from .formats import write_assembly, write_stimulus_set

    access = spec.parameters.get("access", "public")
    plan = layout(access, scale)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    files = {name: directory / entry["key"] for name, entry in BRAINSCORE_FILES[access].items()}

    records, images = draw_set(seed=seed, variations=plan["variations"],
                               images_per_object=plan["images_per_object"],
                               objects_per_category=plan["objects_per_category"])
    degrees = float(spec.parameters.get("visual_degrees", 8.0))
    stimuli = to_stimulus_set(spec.id, records, images, degrees=degrees)
    layers = [GROUND_TRUTH_LAYERS[r] for r in ("V4", "IT")]
    activations = groundtruth_activations(stimuli, layers, visual_degrees=degrees)
    reference = reference_activations(layers, seed=seed)

    n_trials = int(plan["trials"])
    blocks = []
    for region in ("V4", "IT"):
        layer = GROUND_TRUTH_LAYERS[region]
        sites = make_sites(reference[layer], SITES[region], layer=layer, seed=_seed(seed, region),
                           reliability=RELIABILITY[region])
        blocks.append(trial_responses(sites, activations[layer], n_trials,
                                      seed=_seed(seed, access, region, "trials")))
    trials = np.concatenate(blocks, axis=-1)  # trials x stimuli x neuroids

    # presentations in a seeded random order, as in an interleaved experiment
    n_stimuli = len(records)
    stimulus_index = np.tile(np.arange(n_stimuli), n_trials)
    repetition = np.repeat(np.arange(n_trials), n_stimuli)
    order = np.random.Generator(np.random.PCG64(_seed(seed, access, "order"))).permutation(
        len(stimulus_index))
    stimulus_index, repetition = stimulus_index[order], repetition[order]
    values = trials[repetition, stimulus_index, :]  # presentation x neuroid
    ids = np.array([r.stimulus_id for r in records], dtype=object)
    assembly = xr.DataArray(
        values.T[:, :, None].astype(np.float32),
        dims=("neuroid", "presentation", "time_bin"),
        coords={
            **_neuroid_coords(),
            "stimulus_id": ("presentation", ids[stimulus_index]),
            "repetition": ("presentation", repetition.astype(np.int64)),
            "stimulus": ("presentation", stimulus_index.astype(np.int64)),
            "time_bin_start": ("time_bin", np.array([70], dtype=np.int64)),
            "time_bin_end": ("time_bin", np.array([170], dtype=np.int64)),
        },
        attrs={"stimulus_set_identifier": f"dicarlo.hvm-{access}",
               "identifier": f"dicarlo.MajajHong2015.{access}",
               "synthetic": f"neuroalign-majaj2015 ground truth, seed {seed}, scale {scale:g}"},
    )
    write_assembly(assembly, files["assembly"])

    metadata = pd.DataFrame({
        "id": np.arange(1, n_stimuli + 1),
        "background_id": [r.background_id for r in records],
        "s": [r.pose.s for r in records],
        "ty": [r.pose.ty for r in records],
        "tz": [r.pose.tz for r in records],
        "rxy": [r.pose.rxy for r in records],
        "rxz": [r.pose.rxz for r in records],
        "ryz": [r.pose.ryz for r in records],
        "rxy_semantic": [r.pose.rxy for r in records],
        "rxz_semantic": [r.pose.rxz for r in records],
        "ryz_semantic": [r.pose.ryz for r in records],
        "size": [256.0 * r.pose.s for r in records],
        "variation": [r.variation for r in records],
        "category_name": [r.category_name for r in records],
        "object_name": [r.object_name for r in records],
        "image_file_name": [_file_name(r) for r in records],
        "stimulus_id": list(ids),
    })
    metadata["filename"] = metadata["stimulus_id"] + ".png"
    write_stimulus_set(files["stimuli_csv"], files["stimuli_zip"], metadata,
                       dict(zip(metadata["filename"], images)))
    return files


def _file_name(record) -> str:
    p = record.pose
    return (f"{record.object_name}_rx{p.rxz:+07.3f}_ry{p.ryz:+07.3f}_rz{p.rxy:+07.3f}"
            f"_tx{p.tz:+07.3f}_ty{p.ty:+07.3f}_s{p.s:+07.3f}_{record.background_id}_256x256.png")
