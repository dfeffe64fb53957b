"""neuroalign-neural: neural predictivity metrics and ceilings for neuroalign.

Use them through the registry (``neuroalign.get_metric("pls")(source, target)``,
``neuroalign.get_ceiling("internal_consistency")(assembly)``) or directly through the classes
re-exported here. Importing this package does not import scikit-learn until a metric is built.
"""

from __future__ import annotations

import importlib
from typing import Any

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


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'neuroalign_neural' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
