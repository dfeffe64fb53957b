"""neuroalign-synthetic: the seeded ground-truth world behind every synthetic dataset.

* :mod:`.network` - the fixed-seed CNN registered as ``synthetic:groundtruth`` (V1, V2, V4, IT
  stages and a behavioural read-out; 96 px input, 8 degrees);
* :mod:`.images` - HvM-like grayscale objects on textured backgrounds (8 categories x 8
  objects, variation levels 0/3/6), deterministic per seed;
* :mod:`.readout` - noisy linear read-outs of a layer: sites with per-site reliability and
  Poisson-like trial noise;
* :mod:`.world` - glue: stimulus sets, ground-truth activations through the core extractor.

Importing this package imports neither torch nor the core's heavy modules.
"""

from __future__ import annotations

from neuroalign.lazy import lazy_exports

__version__ = "0.1.0"

_EXPORTS = {
    "CATEGORIES": "images", "OBJECTS": "images", "draw_set": "images", "draw_image": "images",
    "object_shape": "images", "sample_pose": "images", "StimulusRecord": "images",
    "MODEL_ID": "network", "LAYERS": "network", "REGION_LAYERS": "network",
    "build_module": "network", "model_spec": "network",
    "SitePopulation": "readout", "make_sites": "readout", "mean_rates": "readout",
    "trial_responses": "readout", "split_half_reliability": "readout",
    "groundtruth_model": "world", "groundtruth_activations": "world",
    "reference_stimuli": "world", "reference_activations": "world", "to_stimulus_set": "world",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, __all__)
