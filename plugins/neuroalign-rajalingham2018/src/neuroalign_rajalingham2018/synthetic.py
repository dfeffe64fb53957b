"""Synthetic Rajalingham 2018 data in Brain-Score's exact file formats.

``generate(spec, directory, seed=0, scale=1.0)`` writes, for the split named by
``spec.parameters["access"]``, the three files Brain-Score publishes (same names and formats), so
:class:`~.data.Rajalingham2018Dataset` reads them with the loader that reads the real ones:

* ``assy_dicarlo_Rajalingham2018_<access>.nc`` - BrainIO behavioral assembly, one element per
  trial (the chosen object), flattened coords ``image_id``, ``sample_obj``, ``dist_obj``,
  ``choice``, ``truth``, ``enough_human_data``;
* ``stimulus_objectome_<access>.csv`` / ``.zip`` - the images, ``image_label`` = the object.

**Images**: objectome-like: 24 objects (the objectome's names; drawn as 3 objects of each of the
8 synthetic categories of ``neuroalign-synthetic``) at high variation, disjoint public and private
images. **Trials**: binary choices between the image's object and one distractor, every
(image, distractor) pair offered ``trials`` times (private: 60, ~the real 62; public: 12). The
humans' error rate on a pair comes from the ground-truth network's *decision variable*: the
ground truth is read out exactly as the benchmark reads out any model (features of its
``behavior`` layer for the public images, ``StandardScaler`` + ``LogisticRegression(C=1e-3)``)
and ``x = log p_distractor - log p_truth`` on each image; the humans choose the distractor with
probability ``sigmoid(BIAS + GAIN * z(x) + NOISE * e)`` where ``z`` standardises ``x`` over the
cells and ``e ~ N(0, 1)`` is an image-level idiosyncrasy no model shares. With these constants
the humans are ~85 % correct, the split-half I2n ceiling of the private split is ~.48 (the real
.479) and the ground truth's raw I2n is high; other networks score lower and shuffled
probabilities ~0.

Scale: ``scale=1`` is the real size (public 90 images per object = 2,160, private 10 per object =
240). Smaller scales use ``max(4, round(90 * scale))`` and ``max(4, round(10 * scale))`` images
per object; the trials per pair do not change, so neither does the ceiling.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

import numpy as np
import pandas as pd

from neuroalign import DatasetSpec

from .data import BRAINSCORE_FILES, OBJECTS

__all__ = ["generate", "layout", "decision_variables", "BIAS", "GAIN", "NOISE", "TRIALS"]

#: logit of the distractor-choice rate at the average decision variable (~15 % errors)
BIAS = -2.2
#: weight of the standardised ground-truth decision variable
GAIN = 1.0
#: standard deviation of the image-level idiosyncrasy (logit units)
NOISE = 0.45
#: trials per (image, distractor) pair
TRIALS = {"public": 12, "private": 60}
_PER_OBJECT = {"public": 90, "private": 10}
_INDEX_OFFSET = {"public": 0, "private": 50_000}
_OBJECTS_PER_CATEGORY = 3
#: image side in pixels (the ground truth sees 96 px; smaller than HvM's 256 keeps the demo fast)
IMAGE_SIZE = 128


def layout(access: str, scale: float) -> dict[str, int]:
    """Images per object, images, trials per pair and trials of a split at ``scale``."""
    if access not in _PER_OBJECT:
        raise ValueError(f"access must be 'public' or 'private'; found {access!r}")
    if not 0 < scale <= 1:
        raise ValueError(f"scale must be in (0, 1]; found {scale}")
    per_object = max(4, int(round(_PER_OBJECT[access] * scale)))
    images = per_object * len(OBJECTS)
    return {"images_per_object": per_object, "images": images, "trials_per_pair": TRIALS[access],
            "trials": images * (len(OBJECTS) - 1) * TRIALS[access]}


def _seed(*parts: object) -> int:
    text = "/".join(str(p) for p in ("neuroalign-rajalingham2018", *parts))
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")


def _names() -> dict[str, str]:
    """Synthetic object name -> objectome name (3 objects of each synthetic category)."""
    from neuroalign_synthetic.images import CATEGORIES, OBJECTS as SYNTHETIC

    pairs = [SYNTHETIC[c][k] for c in CATEGORIES for k in range(_OBJECTS_PER_CATEGORY)]
    return dict(zip(pairs, sorted(OBJECTS, key=str.lower)))


@functools.lru_cache(maxsize=4)
def _split(access: str, seed: int, scale: float):
    """``(records, images, labels)`` of a split (deterministic; cached per process)."""
    from neuroalign_synthetic.images import draw_set

    plan = layout(access, scale)
    records, images = draw_set(seed=seed, variations=(6,),
                               images_per_object={6: plan["images_per_object"]},
                               objects_per_category=_OBJECTS_PER_CATEGORY,
                               size=IMAGE_SIZE, index_offset=_INDEX_OFFSET[access])
    names = _names()
    return records, images, [names[r.object_name] for r in records]


@functools.lru_cache(maxsize=4)
def decision_variables(seed: int, scale: float, degrees: float = 8.0
                       ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Ground-truth read-out probabilities per split: ``access -> (probabilities, labels)``.

    The read-out is the benchmark's (:func:`neuroalign_behavior.model_probabilities`) applied to
    ``synthetic:groundtruth``, fit on the public images; columns are in ``labels`` order.
    """
    from neuroalign_behavior.readout import ProbabilitiesReadout, readout_layers
    from neuroalign_synthetic.world import (groundtruth_activations, groundtruth_model,
                                            to_stimulus_set)

    model = groundtruth_model()
    layers, _ = readout_layers(model)
    features = {}
    for access in ("public", "private"):
        records, images, _ = _split(access, seed, scale)
        stimuli = to_stimulus_set(f"Rajalingham2018.{access}", records, images, degrees=degrees)
        acts = groundtruth_activations(stimuli, layers, model=model, visual_degrees=degrees)
        features[access] = np.concatenate([acts[layer] for layer in layers], axis=1)
    readout = ProbabilitiesReadout().fit(features["public"], _split("public", seed, scale)[2])
    return {access: (readout.predict_proba(features[access]), readout.labels_)
            for access in ("public", "private")}


def _choice_rates(probabilities: np.ndarray, labels: np.ndarray, truth: list[str],
                  rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(image, distractor column, P(choose distractor))`` for every pair."""
    column = {label: j for j, label in enumerate(labels)}
    truth_col = np.array([column[t] for t in truth])
    image, distractor = np.nonzero(np.arange(len(labels))[None, :] != truth_col[:, None])
    logp = np.log(probabilities)
    x = logp[image, distractor] - logp[image, truth_col[image]]
    z = (x - x.mean()) / x.std()
    logit = BIAS + GAIN * z + NOISE * rng.standard_normal(len(z))
    return image, distractor, 1.0 / (1.0 + np.exp(-logit))


def generate(spec: DatasetSpec, directory: str | Path, *, seed: int = 0,
             scale: float = 1.0) -> dict[str, Path]:
    """Write a synthetic split of ``spec`` into ``directory`` in Brain-Score's format.

    Parameters
    ----------
    spec : DatasetSpec
        ``Rajalingham2018.public`` or ``.private`` (``parameters["access"]``).
    directory : path-like
        Created if needed.
    seed : int
        World seed: images, decision variables, idiosyncrasies and choices follow from it.
    scale : float
        Fraction of the real size (see the module docstring).

    Returns
    -------
    dict
        ``{"assembly": path, "stimuli_csv": path, "stimuli_zip": path}``.
    """
    import xarray as xr

    from neuroalign_majaj2015.formats import write_assembly, write_stimulus_set

    access = spec.parameters.get("access", "public")
    plan = layout(access, scale)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    files = {name: directory / entry["key"] for name, entry in BRAINSCORE_FILES[access].items()}
    records, images, truth = _split(access, seed, scale)
    probabilities, labels = decision_variables(seed, scale,
                                               float(spec.parameters.get("visual_degrees", 8.0)))[
        access]
    rng = np.random.Generator(np.random.PCG64(_seed(seed, access, "humans")))
    image, distractor, rate = _choice_rates(probabilities, labels, truth, rng)
    repeats = plan["trials_per_pair"]
    image, distractor, rate = (np.repeat(a, repeats) for a in (image, distractor, rate))
    wrong = rng.random(len(rate)) < rate
    order = rng.permutation(len(rate))
    image, distractor, wrong = image[order], distractor[order], wrong[order]
    ids = np.array([r.stimulus_id for r in records], dtype=object)
    truth_names = np.asarray(truth, dtype=object)[image]
    distractor_names = np.asarray(labels, dtype=object)[distractor]
    chosen = np.where(wrong, distractor_names, truth_names)
    assembly = xr.DataArray(
        chosen, dims=("presentation",),
        coords={"image_id": ("presentation", ids[image]),
                "sample_obj": ("presentation", truth_names),
                "dist_obj": ("presentation", distractor_names),
                "choice": ("presentation", chosen),
                "truth": ("presentation", truth_names),
                "enough_human_data": ("presentation", np.full(len(chosen), access == "private"))},
        attrs={"stimulus_set_identifier": f"objectome.{access}",
               "identifier": f"dicarlo.Rajalingham2018.{access}",
               "synthetic": f"neuroalign-rajalingham2018 ground truth, seed {seed}, "
                            f"scale {scale:g}"})
    write_assembly(assembly, files["assembly"])
    metadata = pd.DataFrame({"image_id": ids, "image_sample_obj": truth, "image_label": truth})
    metadata["filename"] = metadata["image_id"] + ".png"
    write_stimulus_set(files["stimuli_csv"], files["stimuli_zip"], metadata,
                       dict(zip(metadata["filename"], images)))
    return files
