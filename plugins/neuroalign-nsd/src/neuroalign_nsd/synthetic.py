"""NSD's offline twin: a raw NSD tree in NSD's formats, generated from the ground-truth network.

:func:`write_raw_tree` writes the design ``.mat``, per-subject floc ROI volumes, t-maps, colour
tables, int16 betas per session and ``nsd_stimuli.hdf5`` (see :mod:`neuroalign_nsd.rawwrite`)
in NSD's folder layout, smaller than NSD: a 14 x 16 x 12 volume, ``round(515 * scale)`` (at
least 100) shared-515 images, a quarter as many subject-specific images per subject, and half
of NSD's sessions (20 20 16 15 20 16 20 15, same proportions), each image shown 3 times.

The design is built so that exactly the wanted number of ``sharedix`` images has all three
repetitions within the first 15 sessions (what the least complete subjects did); the others have
a repetition later, so :func:`neuroalign_nsd.pipeline.prepare` finds exactly those.

Responses are read-outs of the ground-truth network (``synthetic:groundtruth``, layer ``it``,
the layer it commits to IT) on the images at 8.4 degrees, through the core extractor:

* each ROI has its own 4-dimensional subspace of the layer's 40 leading principal components
  (estimated on a fixed reference set): FFA, EBA, PPA and VWFA are driven by different features;
* a voxel reads out the subspace with a subject- and ROI-specific common direction plus its own
  jitter, gain and baseline, and session-specific offsets (removed by the per-session z-score);
* trial noise: voxel-independent noise (a voxel's own split-half reliability ~.4) plus noise
  shared by an ROI's voxels, calibrated per subject and ROI so the reliability of the ROI- and
  three-trial-averaged response is :data:`RELIABILITY` (NSD's ROI-mean reliabilities are high).

:func:`generate` is the datasets' ``synthetic`` generator: it writes the raw tree, runs the real
``prepare`` on it (once per process and ``(seed, scale)``), and returns the prepared files of
the dataset asked for, so the demo exercises the whole real path offline.
"""

from __future__ import annotations

import atexit
import hashlib
import math
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from .specs import ROIS, STIMULUS_ID_FORMAT, STIMULUS_SET_ID, SUBJECTS, VISUAL_DEGREES

__all__ = ["write_raw_tree", "generate", "layout", "RELIABILITY", "SYNTHETIC_SESSIONS",
           "VOLUME", "GROUND_TRUTH_LAYER"]

RELIABILITY = {"FFA": 0.85, "EBA": 0.85, "PPA": 0.8, "VWFA": 0.7}
SYNTHETIC_SESSIONS = (20, 20, 16, 15, 20, 16, 20, 15)
VOLUME = (14, 16, 12)
GROUND_TRUTH_LAYER = "it"
IMAGE_SIZE = 96
_LABELS = {"faces": {1: "OFA", 2: "FFA-1", 3: "FFA-2", 4: "mTL-faces"},
           "bodies": {1: "EBA", 2: "FBA-1", 3: "FBA-2"},
           "places": {1: "OPA", 2: "PPA", 3: "RSC"},
           "words": {1: "OWFA", 2: "VWFA-1", 3: "VWFA-2", 4: "mfs-words"}}
_LATENT = 4
_VOXEL_NOISE = 2.0  # independent noise sd, in units of a voxel's signal sd


def _seed(*parts: object) -> int:
    text = "/".join(str(p) for p in ("neuroalign-nsd", *parts))
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")


def _rng(*parts: object) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(_seed(*parts)))


def layout(scale: float) -> dict[str, int]:
    """Sizes at ``scale``: shared-515 images, shared pool, own images per subject, trials."""
    if not 0 < scale <= 1:
        raise ValueError(f"scale must be in (0, 1]; found {scale}")
    good = max(100, int(round(515 * scale)))
    pool = int(round(good * 1000 / 515))
    own = int(math.ceil(pool / 4))
    own += (-(pool + own)) % 20  # 3 x images per subject divisible into 20 sessions
    trials = 3 * (pool + own) // 20
    return {"shared515": good, "sharedix": pool, "own": own, "trials_per_session": trials,
            "universe": pool + 8 * own}


def _design(plan: dict[str, int], seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """1-based masterordering, subjectim, sharedix with exactly ``shared515`` good images."""
    rng = _rng(seed, "design")
    pool, own, good = plan["sharedix"], plan["own"], plan["shared515"]
    n_trials = 20 * plan["trials_per_session"]
    first = min(SYNTHETIC_SESSIONS) * plan["trials_per_session"]
    shared_positions = rng.permutation(pool)
    bad = shared_positions[good:]
    early = list(np.repeat(shared_positions[:good], 3)) + list(np.repeat(bad, 2))
    late = list(bad)
    unique = rng.permutation(np.repeat(np.arange(pool, pool + own), 3))
    n_early = first - len(early)
    if n_early < 0 or n_early > len(unique):
        raise ValueError(f"cannot lay out the design for {plan}")
    early += list(unique[:n_early])
    late += list(unique[n_early:])
    ordering = np.r_[rng.permutation(early), rng.permutation(late)].astype(np.int64)
    assert len(ordering) == n_trials
    ids = rng.permutation(plan["universe"])  # 73k-style ids, shared ones scattered
    sharedix = ids[:pool]
    subjectim = np.stack([np.r_[sharedix, ids[pool + s * own: pool + (s + 1) * own]]
                          for s in range(8)])
    return ordering + 1, subjectim + 1, sharedix + 1


def _images(plan: dict[str, int], seed: int) -> np.ndarray:
    from neuroalign_synthetic.images import draw_set

    per_object = int(math.ceil(plan["universe"] / 64))
    _, gray = draw_set(seed=seed, variations=(6,), images_per_object={6: per_object},
                       size=IMAGE_SIZE)
    order = _rng(seed, "images").permutation(len(gray))[:plan["universe"]]
    return np.repeat(gray[order][..., None], 3, axis=-1)  # RGB, as NSD's brick


def _activations(images: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    from neuroalign.stimuli import StimulusSet
    from neuroalign_synthetic.world import groundtruth_activations, reference_activations

    ids = [STIMULUS_ID_FORMAT.format(i) for i in range(len(images))]
    stimuli = StimulusSet.from_arrays(f"synthetic-nsd-{seed}", ids, images, VISUAL_DEGREES)
    layer = GROUND_TRUTH_LAYER
    acts = groundtruth_activations(stimuli, [layer], visual_degrees=VISUAL_DEGREES)[layer]
    return acts, reference_activations([layer], seed=seed)[layer]


def _basis(reference: np.ndarray, keep: int = 40) -> tuple[np.ndarray, np.ndarray]:
    from threadpoolctl import threadpool_limits

    center = reference.mean(axis=0)
    with threadpool_limits(limits=1, user_api="blas"):
        _, singular, vt = np.linalg.svd(reference - center, full_matrices=False)
    keep = int(min(keep, np.sum(singular > singular[0] * 1e-6)))
    scale = np.sqrt(reference.shape[0] - 1) / singular[:keep]
    return center, vt[:keep].T * scale  # standardised PC scores = (a - center) @ basis


def _volumes(subject: int, seed: int) -> tuple[dict, dict, dict]:
    """Label volumes, t-maps and ``{roi: voxel mask}`` (labelled, any t) of one subject."""
    rng = _rng(seed, "volumes", subject)
    labels = {c: np.zeros(VOLUME, np.int16) for c in _LABELS}
    tvals = {c: rng.normal(0.0, 2.0, VOLUME).astype(np.float32) for c in _LABELS}
    labels_any = {}
    corner = 0
    for category, names in _LABELS.items():
        for index in names:
            x0 = corner % 4 * 3 + int(rng.integers(0, 2))
            y0 = corner // 4 * 4 + int(rng.integers(0, 2))
            z0 = int(rng.integers(0, VOLUME[2] - 3))
            corner += 1
            box = (slice(x0, x0 + 3), slice(y0, y0 + 3), slice(z0, z0 + 3))
            labels[category][box] = index
            tvals[category][box] = rng.uniform(4.0, 16.0, (3, 3, 3))
    for roi, (category, wanted) in ROIS.items():
        indices = [k for k, name in _LABELS[category].items() if name in wanted]
        labels_any[roi] = np.isin(labels[category], indices)
    return labels, tvals, labels_any


def write_raw_tree(root: str | Path, *, seed: int = 0, scale: float = 1.0) -> dict[str, Any]:
    """Write a synthetic raw NSD tree under ``root`` (see the module docstring).

    Returns
    -------
    dict
        ``sessions`` and ``trials_per_session`` (pass them to ``prepare``), the layout, and
        ``truth``: ``{(subject, roi): noise-free ROI-mean signal per 73k image}``.
    """
    from .rawwrite import (to_int16_betas, write_betas, write_ctab, write_design, write_stimuli,
                           write_subject_volumes)

    root = Path(root)
    plan = layout(scale)
    ordering, subjectim, sharedix = _design(plan, seed)
    write_design(root, ordering, subjectim, sharedix)
    for category, names in _LABELS.items():
        write_ctab(root, category, names)
    images = _images(plan, seed)
    write_stimuli(root, images)
    activations, reference = _activations(images, seed)
    center, basis = _basis(reference)
    scores = (activations - center) @ basis  # universe x 40
    latent = {roi: _rng(seed, "latent", roi).standard_normal((basis.shape[1], _LATENT))
              for roi in ROIS}
    tps = plan["trials_per_session"]
    truth = {}
    n_voxels = int(np.prod(VOLUME))
    for subject in SUBJECTS:
        rng = _rng(seed, "subject", subject)
        labels, tvals, masks = _volumes(subject, seed)
        write_subject_volumes(root, subject, labels, tvals)
        signal = np.zeros((plan["universe"], n_voxels))
        shared_sd = np.zeros(n_voxels)
        shared_of = np.full(n_voxels, -1)
        for r, roi in enumerate(ROIS):
            members = np.flatnonzero(masks[roi].ravel())
            common = rng.standard_normal(_LATENT)
            mixing = common[:, None] + 0.4 * rng.standard_normal((_LATENT, len(members)))
            z = scores @ (latent[roi] @ mixing)
            z = (z - z.mean(axis=0)) / z.std(axis=0)
            signal[:, members] = z
            mean_signal = z.mean(axis=1)
            truth[subject, roi] = mean_signal
            # calibrate the ROI-shared noise so the 3-trial ROI mean has the wanted reliability
            rho = RELIABILITY[roi]
            var = float(mean_signal.var())
            shared_sd[members] = math.sqrt(max(0.0, 3 * var * (1 - rho) / rho
                                               - _VOXEL_NOISE ** 2 / len(members)))
            shared_of[members] = r
        gain = rng.uniform(0.5, 1.5, n_voxels)
        baseline = rng.normal(1.0, 1.0, n_voxels)
        shown = subjectim[subject - 1, ordering - 1] - 1  # 73k id per trial
        for session in range(1, SYNTHETIC_SESSIONS[subject - 1] + 1):
            noise_rng = _rng(seed, "trials", subject, session)
            trials = shown[(session - 1) * tps: session * tps]
            shared_noise = noise_rng.standard_normal((tps, len(ROIS)))
            own_noise = noise_rng.standard_normal((tps, n_voxels))
            shared_part = np.where(shared_of >= 0, shared_noise[:, shared_of] * shared_sd, 0.0)
            offset = noise_rng.normal(0.0, 0.5, n_voxels)
            bold = baseline + offset + gain * (signal[trials] + shared_part
                                               + _VOXEL_NOISE * own_noise)
            write_betas(root, subject, session,
                        to_int16_betas(bold).reshape((tps,) + VOLUME))
    return {"sessions": SYNTHETIC_SESSIONS, "trials_per_session": tps, "layout": plan,
            "truth": truth}


_PREPARED: dict[tuple[int, ...], Path] = {}


def _prepared_store(seed: int, scale: float) -> Path:
    """A store prepared from a fresh synthetic raw tree (once per process and parameters)."""
    key = (int(seed), *layout(scale).values())  # scales with one layout share one store
    if key not in _PREPARED or not (_PREPARED[key] / "index.json").is_file():
        from .pipeline import prepare

        folder = Path(tempfile.mkdtemp(prefix="neuroalign-nsd-synthetic-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        tree = write_raw_tree(folder / "raw", seed=seed, scale=scale)
        prepare(str(folder / "raw"), folder / "store", sessions=tree["sessions"],
                trials_per_session=tree["trials_per_session"])
        shutil.rmtree(folder / "raw", ignore_errors=True)
        _PREPARED[key] = folder / "store"
    return _PREPARED[key]


def generate(spec, directory: str | Path, *, seed: int = 0, scale: float = 1.0) -> dict[str, Path]:
    """The ``synthetic`` generator of every NSD dataset: prepared files from the twin.

    Parameters
    ----------
    spec : DatasetSpec
        ``NSD.shared515`` or ``NSD.subjAA``.
    directory : path-like
        Where the dataset's files are copied (created).
    seed, scale : int, float
        World seed and size (see :func:`layout`).

    Returns
    -------
    dict
        Asset name -> path, for every asset of ``spec``.
    """
    from .outputs import assembly_file, stimulus_files

    store = _prepared_store(seed, scale)
    if spec.id == STIMULUS_SET_ID:
        sources = stimulus_files(store)
    else:
        sources = {"assembly": assembly_file(store, int(spec.parameters["subject"]))}
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    out = {}
    for name, path in sources.items():
        out[name] = directory / path.name
        shutil.copyfile(path, out[name])
    return out
