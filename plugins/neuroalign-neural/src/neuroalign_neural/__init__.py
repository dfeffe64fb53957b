"""neuroalign-neural: neural predictivity metrics and ceilings for neuroalign.

Use them through the registry (``neuroalign.get_metric("pls")(source, target)``,
``neuroalign.get_ceiling("internal_consistency")(assembly)``) or directly through the classes
re-exported here. Importing this package does not import scikit-learn until a metric is built.
"""

from __future__ import annotations

from neuroalign.lazy import lazy_exports

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    "PLSCorrelation": "regression",
    "RegressionCorrelation": "regression",
    "CrossValidatedCorrelation": "regression",
    "FastPLSRegression": "pls",
    "RSA": "similarity",
    "LinearCKA": "similarity",
    "InternalConsistency": "ceiling",
    "ceiled_score": "ceiling",
    "spearman_brown": "ceiling",
    "MetricInputError": "inputs",
}

__all__ = [
    "RSA",
    "CrossValidatedCorrelation",
    "FastPLSRegression",
    "InternalConsistency",
    "LinearCKA",
    "MetricInputError",
    "PLSCorrelation",
    "RegressionCorrelation",
    "__version__",
    "ceiled_score",
    "spearman_brown",
]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, __all__)
