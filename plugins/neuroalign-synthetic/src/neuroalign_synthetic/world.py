"""The ground-truth world: images, the ground-truth network, and its activations.

Dataset plugins build their synthetic generators from these pieces::

    records, images = draw_set(seed=seed, variations=(6,), images_per_object={6: 40})
    stimuli = to_stimulus_set("MajajHong2015.private", records, images, degrees=8.0)
    acts = groundtruth_activations(stimuli, ["v4", "it"])          # core extractor
    ref = reference_activations(["v4", "it"], seed=seed)          # fixed reference set
    sites = make_sites(ref["it"], 168, layer="it", seed=..., reliability=0.82)
    trials = trial_responses(sites, acts["it"], n_trials=50, seed=...)

Activations always come from the core extractor (:meth:`neuroalign.extraction.torch_model.TorchModel.activations`),
with the same visual degrees and default reduction as scoring, so the ground truth the data are
generated from is exactly what a benchmark sees when it scores ``synthetic:groundtruth``.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from .images import StimulusRecord, draw_set

if TYPE_CHECKING:  # pragma: no cover
    from neuroalign import Model
    from neuroalign.stimuli import StimulusSet

__all__ = [
    "groundtruth_model",
    "to_stimulus_set",
    "groundtruth_activations",
    "reference_stimuli",
    "reference_activations",
    "REFERENCE_INDEX_OFFSET",
]

#: reference images use indices from here on, so they never coincide with dataset images
REFERENCE_INDEX_OFFSET = 100_000


@functools.lru_cache(maxsize=2)
def groundtruth_model(seed: int | None = None) -> Model:
    """The ground-truth network as a core model (cached per process)."""
    from .network import DEFAULT_SEED, build_model, model_spec

    spec = model_spec()
    if seed is not None and seed != DEFAULT_SEED:
        spec = spec.with_parameters({"seed": seed})
    return build_model(spec)


def to_stimulus_set(
    identifier: str, records: Sequence[StimulusRecord], images: np.ndarray, *, degrees: float = 8.0
) -> StimulusSet:
    """A core :class:`~neuroalign.stimuli.StimulusSet` of drawn gray images (one channel)."""
    from neuroalign.stimuli import StimulusSet

    if images.ndim == 3:
        images = images[..., None]
    return StimulusSet.from_arrays(
        identifier,
        [r.stimulus_id for r in records],
        images,
        degrees,
        object_name=[r.object_name for r in records],
        category_name=[r.category_name for r in records],
        variation=np.array([r.variation for r in records], dtype=np.int64),
    )


def groundtruth_activations(
    stimuli: StimulusSet, layers: Sequence[str], *, model: Model | None = None,
    visual_degrees: float | None = None,
) -> dict[str, np.ndarray]:
    """Activations ``(n_stimuli, features)`` per layer, through the core extractor.

    Parameters
    ----------
    stimuli : StimulusSet
        The images (placed at ``visual_degrees``, default their own ``degrees``).
    layers : sequence of str
        Layers of the ground-truth network (``v1``, ``v2``, ``v4``, ``it``, ``readout``).
    model : Model, optional
        Default :func:`groundtruth_model`.
    visual_degrees : float, optional
        Degrees the stimuli span on screen (the benchmark's value).
    """
    model = model or groundtruth_model()
    degrees = stimuli.degrees if visual_degrees is None else visual_degrees
    assembly = model.activations(stimuli, list(layers), visual_degrees=degrees)
    ids = [str(s) for s in assembly["stimulus_id"].values]
    if ids != stimuli.ids:  # keep stimulus order whatever the extractor did
        assembly = assembly.isel(presentation=[ids.index(s) for s in stimuli.ids])
    layer_of = np.asarray(assembly["layer"].values).astype(str)
    values = np.asarray(assembly.transpose("presentation", "neuroid").values, dtype=np.float64)
    return {layer: values[:, layer_of == layer] for layer in layers}


@functools.lru_cache(maxsize=4)
def reference_stimuli(seed: int = 0, images_per_object: int = 1, size: int = 256) -> StimulusSet:
    """A fixed image set the read-out subspaces are estimated on (variations 3 and 6).

    Disjoint from every dataset image (indices start at :data:`REFERENCE_INDEX_OFFSET`).
    """
    records, images = draw_set(
        seed=seed, variations=(3, 6),
        images_per_object={3: images_per_object, 6: images_per_object},
        size=size, index_offset=REFERENCE_INDEX_OFFSET,
    )
    return to_stimulus_set(f"synthetic-reference-{seed}", records, images, degrees=8.0)


def reference_activations(layers: Sequence[str], *, seed: int = 0) -> dict[str, np.ndarray]:
    """Ground-truth activations of ``layers`` on :func:`reference_stimuli` (``seed``)."""
    return groundtruth_activations(reference_stimuli(seed), layers)
