"""neuroalign-nsd: the Natural Scenes Dataset (NSD) for neuroalign (paper 002).

* ``neuroalign nsd prepare`` / :func:`prepare` - raw NSD (``s3://natural-scenes-dataset``) to a
  neuroalign store holding ``NSD.shared515`` (images) and ``NSD.subj01`` ... ``NSD.subj08``
  (z-scored betas of the FFA, EBA, PPA and VWFA voxels, t > 7);
* :mod:`.synthetic` - an offline twin: a raw NSD tree in the same formats from the ground-truth
  network, prepared by the same code;
* benchmarks ``NSD.{FFA,EBA,PPA,VWFA}-{ols,ridge,lasso,mlp,cnn}`` (predictivity) and
  ``NSD.{FFA,EBA,PPA,VWFA}-fgsm_sensitivity[_{ridge,lasso,mlp,cnn}]`` (FGSM sensitivity, lower
  is better; :mod:`.sensitivity`, :mod:`.adversarial`), with the analyses of :mod:`.analyses`.

NSD's terms ask every user to accept the NSD Data Access Agreement
(https://naturalscenesdataset.org). Importing this package imports nothing heavy.
"""

from __future__ import annotations

from neuroalign.lazy import lazy_exports

__version__ = "0.1.0"

_EXPORTS = {
    "prepare": "pipeline", "parse_subjects": "pipeline",
    "write_raw_tree": "synthetic", "generate": "synthetic",
    "NSDBenchmark": "benchmarks", "NSDStimuli": "data", "NSDSubject": "data",
    "fit_predict": "mappings", "split_half_ceiling": "benchmarks",
    "NSDSensitivityBenchmark": "adversarial", "fgsm_sensitivity": "sensitivity",
    "fit_readout": "sensitivity", "EncodingModel": "sensitivity", "Trunk": "sensitivity",
    "SensitivityError": "sensitivity", "discriminability_table": "analyses",
    "mapping_effect": "analyses", "sparseness": "analyses",
    "normalized_variance": "analyses",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, __all__)
