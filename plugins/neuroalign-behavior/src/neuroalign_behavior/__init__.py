"""neuroalign-behavior: behavioral consistency metrics and the behavioral benchmark template.

* :mod:`.i2n` / :mod:`.metric` - Brain-Score's I2n (``i2n``) and its split-half ceiling
  (``i2n_split_half``), numerically identical to brainscore-vision 2.4.2 and vectorised;
* :mod:`.readout` - the behavioral read-out (Brain-Score's ``ProbabilitiesMapping``) and the
  optional ``Model.probabilities`` API for models that give their own probabilities;
* :mod:`.benchmark` - :class:`ProbabilitiesBenchmark`, the template a behavioral dataset plugin
  subclasses (it implements only ``load_task``).

Importing this package imports neither numpy nor scikit-learn.
"""

from __future__ import annotations

from neuroalign.lazy import lazy_exports

__version__ = "0.1.0"

_EXPORTS = {
    "I2n": "metric", "I2nSplitHalf": "metric", "i2n_scores": "metric", "i2n_ceilings": "metric",
    "encode_trials": "metric", "TRIAL_COORDS": "metric", "I2nError": "i2n",
    "split_halves": "i2n", "ProbabilitiesReadout": "readout", "model_probabilities": "readout",
    "readout_layers": "readout", "BehavioralTask": "benchmark",
    "ProbabilitiesBenchmark": "benchmark", "ceil_per_split": "benchmark",
}

__all__ = sorted(_EXPORTS) + ["__version__"]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, __all__)
