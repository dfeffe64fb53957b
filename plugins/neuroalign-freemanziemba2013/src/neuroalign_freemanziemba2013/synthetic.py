"""Synthetic Freeman-Ziemba 2013 data in Brain-Score's exact file formats.

``generate(spec, directory, seed=0, scale=1.0)`` writes, for the split named by
``spec.parameters["access"]``, the three files Brain-Score publishes (same names and layout:
:data:`~neuroalign_freemanziemba2013.data.BRAINSCORE_FILES`), read by the very loader that reads
the real ones:

* ``assy_movshon_FreemanZiemba2013_<access>.nc`` - BrainIO assembly ``neuroid x time_bin x
  presentation``: spike counts in 300 1-ms bins (0-300 ms), each image's 20 repetitions in a
  row, flattened coords (``stimulus_id``, ``repetition``; ``neuroid_id`` 1..205, ``region``;
  ``time_bin_start``, ``time_bin_end``);
* ``stimulus_FreemanZiemba2013_aperture-<access>.csv`` / ``.zip`` - the stimulus set
  (``texture_family``, ``texture_type``, ``sample``, ``resolution``, ``filename``).

Images (:mod:`.textures`): 15 families x {texture, spectrally matched noise} x samples, 320 px,
4 degrees, circular aperture. The responses come from the ground-truth network
(``synthetic:groundtruth``): 102 V1 units read out of its ``v1`` stage and 103 V2 units out of
its ``v2`` stage (:func:`neuroalign_synthetic.readout.make_sites` on the features the core
extractor gives those layers for images placed at 4 degrees, i.e. exactly what scoring sees;
read-out subspaces estimated on a disjoint set of synthetic textures). Each unit's rate on a trial
is its read-out plus Gaussian trial-to-trial variability; spikes are then drawn as a Poisson
process in 1-ms bins, with a transient-then-sustained time course inside 50-200 ms and a
stimulus-independent spontaneous rate outside. The Gaussian part is calibrated so that, Poisson
noise included, each unit's trial-averaged reliability is its target (median .873 in V1 and .825
in V2, Brain-Score's ceilings); where Poisson noise alone would exceed the target, the unit's
rates are scaled up first.

Scale
-----
``scale=1``: 15 samples per family and type (450 images; private 315, public 135, a seeded
random split of the images as in the real data), 20 repetitions. Smaller scales use
``max(5, round(15 * scale))`` samples and ``min(20, max(10, round(20 * scale)))`` repetitions (the
demo, 1/8: 150 images, 105 private / 45 public, 10 repetitions). The reliabilities do not depend
on the scale.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

import numpy as np

from neuroalign import DatasetSpec

from .data import BRAINSCORE_FILES, VISUAL_DEGREES

__all__ = ["generate", "layout", "spike_counts", "RELIABILITY", "UNITS", "GROUND_TRUTH_LAYERS",
           "N_BINS", "RESPONSE_WINDOW"]

#: region -> median unit reliability (Brain-Score's ceilings: V1 .873, V2 .825)
RELIABILITY = {"V1": 0.873, "V2": 0.825}
#: region -> number of units (the real data's)
UNITS = {"V1": 102, "V2": 103}
#: region -> ground-truth layer the units read out
GROUND_TRUTH_LAYERS = {"V1": "v1", "V2": "v2"}
N_BINS = 300
#: the evoked response: bins 50..199 (what Brain-Score averages)
RESPONSE_WINDOW = (50, 200)
_PRIVATE_FRACTION = 315 / 450
_REFERENCE_SAMPLES = range(1000, 1004)


def layout(access: str, scale: float, seed: int = 0) -> dict[str, object]:
    """Samples, the split's images (indices into the full set) and repetitions at ``scale``."""
    from .textures import FAMILIES, TEXTURE_TYPES

    if access not in ("public", "private"):
        raise ValueError(f"access must be 'public' or 'private'; found {access!r}")
    if not 0 < scale <= 1:
        raise ValueError(f"scale must be in (0, 1]; found {scale}")
    samples = max(5, int(round(15 * scale)))
    total = len(FAMILIES) * len(TEXTURE_TYPES) * samples
    order = _rng(seed, "split", samples).permutation(total)
    n_private = int(round(total * _PRIVATE_FRACTION))
    chosen = np.sort(order[:n_private] if access == "private" else order[n_private:])
    trials = min(20, max(10, int(round(20 * scale))))
    return {"samples": samples, "images": chosen, "trials": trials, "total": total}


def _rng(*parts: object) -> np.random.Generator:
    text = "/".join(str(p) for p in ("neuroalign-freemanziemba2013", *parts))
    return np.random.Generator(np.random.PCG64(
        int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")))


def _seed(*parts: object) -> int:
    text = "/".join(str(p) for p in ("neuroalign-freemanziemba2013", *parts))
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")


def spike_counts(population, activations: np.ndarray, n_trials: int, *, seed: int,
                 n_bins: int = N_BINS, window: tuple[int, int] = RESPONSE_WINDOW) -> np.ndarray:
    """Spike counts ``(sites, n_bins, n_images * n_trials)`` (uint8), trials of an image in a row.

    See the module docstring: Gaussian trial variability + Poisson spikes, calibrated so that the
    reliability of the ``n_trials`` mean of the window's rate is the population's target.
    """
    from neuroalign_synthetic.readout import mean_rates

    rng = np.random.Generator(np.random.PCG64(seed))
    duration = (window[1] - window[0]) / 1000.0  # s
    rho = population.reliability
    rates = mean_rates(population, activations)  # images x sites, spikes/s
    # calibrated on these images' rates: a read-out's variance on a small stimulus set can be
    # far from its variance on the reference set the read-out was drawn on
    rate_mean, rate_var = rates.mean(axis=0), rates.var(axis=0, ddof=1)
    # scale a unit's rates up where Poisson noise alone would already exceed its noise budget
    needed = rate_mean * rho / (duration * n_trials * (1 - rho) * rate_var)
    k = np.maximum(1.0, 1.25 * needed)
    budget = k ** 2 * rate_var * n_trials * (1 - rho) / rho  # per-trial variance
    gaussian_sd = np.sqrt(np.maximum(budget - k * rate_mean / duration, 0.0))
    n_images, n_sites = rates.shape
    trial_rates = (k * rates)[:, None, :] + gaussian_sd * rng.standard_normal(
        (n_images, n_trials, n_sites))
    expected = np.maximum(trial_rates, 0.0) * duration  # spikes in the window
    counts = rng.poisson(expected).reshape(n_images * n_trials, n_sites)
    n_presentations = n_images * n_trials
    # time course inside the window: a transient at onset on a sustained response
    t = np.arange(window[0], window[1])
    profile = np.cumsum(1.0 + 2.0 * np.exp(-(t - window[0]) / 25.0))
    presentation, site = np.nonzero(counts)
    repeats = counts[presentation, site]
    presentation, site = np.repeat(presentation, repeats), np.repeat(site, repeats)
    bins = t[np.searchsorted(profile / profile[-1], rng.random(len(site)))]
    flat = [(site * n_bins + bins) * n_presentations + presentation]
    # spontaneous, stimulus-independent firing outside the window
    outside = np.setdiff1d(np.arange(n_bins), t)
    spontaneous = 0.15 * k * rate_mean / 1000.0 * len(outside)  # spikes per presentation
    extra = rng.poisson(np.broadcast_to(spontaneous[:, None], (n_sites, n_presentations)))
    site, presentation = np.nonzero(extra)
    repeats = extra[site, presentation]
    site, presentation = np.repeat(site, repeats), np.repeat(presentation, repeats)
    bins = outside[rng.integers(0, len(outside), len(site))]
    flat.append((site * n_bins + bins) * n_presentations + presentation)
    # sparse spikes -> dense counts: unique cells and their counts (no per-spike scatter)
    cells, per_cell = np.unique(np.concatenate(flat), return_counts=True)
    out = np.zeros((n_sites, n_bins, n_presentations), dtype=np.uint8)
    out.reshape(-1)[cells] = np.minimum(per_cell, 255)
    return out


@functools.lru_cache(maxsize=2)
def _reference_activations(seed: int, degrees: float) -> dict[str, np.ndarray]:
    """Ground-truth ``v1``/``v2`` features of the reference textures (disjoint samples)."""
    from neuroalign.stimuli import StimulusSet
    from neuroalign_synthetic.world import groundtruth_activations

    from .textures import draw_set

    records, images = draw_set(seed, _REFERENCE_SAMPLES)
    stimuli = StimulusSet.from_arrays(f"synthetic-fz2013-reference-{seed}",
                                      [r.stimulus_id for r in records], images[..., None], degrees)
    return groundtruth_activations(stimuli, list(GROUND_TRUTH_LAYERS.values()),
                                   visual_degrees=degrees)


def generate(spec: DatasetSpec, directory: str | Path, *, seed: int = 0,
             scale: float = 1.0) -> dict[str, Path]:
    """Write a synthetic split of ``spec`` into ``directory`` in Brain-Score's format.

    Parameters
    ----------
    spec : DatasetSpec
        ``FreemanZiemba2013.public`` or ``.private`` (``parameters["access"]``).
    directory : path-like
        Created if needed.
    seed : int
        World seed: images, units and spikes are deterministic functions of it.
    scale : float
        Fraction of the real size (see the module docstring).

    Returns
    -------
    dict
        ``{"assembly": path, "stimuli_csv": path, "stimuli_zip": path}``.
    """
    import pandas as pd
    import xarray as xr

    from neuroalign.stimuli import StimulusSet
    from neuroalign_majaj2015.formats import write_assembly, write_stimulus_set
    from neuroalign_synthetic.readout import make_sites
    from neuroalign_synthetic.world import groundtruth_activations

    from .textures import IMAGE_SIZE, draw_set

    access = spec.parameters.get("access", "public")
    plan = layout(access, scale, seed)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    files = {name: directory / Path(entry["key"]).name
             for name, entry in BRAINSCORE_FILES[access].items()}
    degrees = float(spec.parameters.get("visual_degrees", VISUAL_DEGREES))

    records, images = draw_set(seed, range(1, int(plan["samples"]) + 1))
    chosen = np.asarray(plan["images"])
    records, images = [records[i] for i in chosen], images[chosen]
    ids = [r.stimulus_id for r in records]
    stimuli = StimulusSet.from_arrays(spec.id, ids, images[..., None], degrees)
    layers = [GROUND_TRUTH_LAYERS[r] for r in ("V1", "V2")]
    activations = groundtruth_activations(stimuli, layers, visual_degrees=degrees)
    reference = _reference_activations(seed, degrees)

    n_trials = int(plan["trials"])
    blocks = []
    for region in ("V1", "V2"):
        layer = GROUND_TRUTH_LAYERS[region]
        sites = make_sites(reference[layer], UNITS[region], layer=layer,
                           seed=_seed(seed, region), reliability=RELIABILITY[region])
        blocks.append(spike_counts(sites, activations[layer], n_trials,
                                   seed=_seed(seed, access, region, "spikes")))
    counts = np.concatenate(blocks, axis=0)  # neuroid x time_bin x presentation
    n_units = counts.shape[0]
    assembly = xr.DataArray(
        counts, dims=("neuroid", "time_bin", "presentation"),
        coords={
            "neuroid_id": ("neuroid", np.arange(1, n_units + 1, dtype=np.int64)),
            "region": ("neuroid", np.array(["V1"] * UNITS["V1"] + ["V2"] * UNITS["V2"],
                                           dtype=object)),
            "time_bin_start": ("time_bin", np.arange(N_BINS, dtype=np.int64)),
            "time_bin_end": ("time_bin", np.arange(1, N_BINS + 1, dtype=np.int64)),
            "stimulus_id": ("presentation", np.repeat(np.array(ids, dtype=object), n_trials)),
            "repetition": ("presentation", np.tile(np.arange(n_trials, dtype=np.int64),
                                                   len(ids))),
        },
        attrs={"stimulus_set_identifier": spec.parameters.get("stimulus_set_identifier", ""),
               "identifier": spec.parameters.get("assembly_identifier", spec.id),
               "synthetic": f"neuroalign-freemanziemba2013 ground truth, seed {seed}, "
                            f"scale {scale:g}"},
    )
    write_assembly(assembly, files["assembly"])

    metadata = pd.DataFrame({
        "stimulus_id": ids,
        "texture_family": [r.texture_family for r in records],
        "texture_type": [r.texture_type for r in records],
        "sample": [r.sample for r in records],
        "resolution": f"{IMAGE_SIZE}x{IMAGE_SIZE}",
        "image_file_name": [f"{'tex' if r.texture_type == 'texture' else 'noise'}-"
                            f"{IMAGE_SIZE}x{IMAGE_SIZE}-im{r.texture_family}-smp{r.sample}.png"
                            for r in records],
    })
    metadata["filename"] = metadata["stimulus_id"] + ".png"
    write_stimulus_set(files["stimuli_csv"], files["stimuli_zip"], metadata,
                       dict(zip(metadata["filename"], images)))
    return files
