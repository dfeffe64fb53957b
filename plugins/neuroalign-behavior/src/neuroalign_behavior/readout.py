"""The behavioral read-out: choice probabilities of a model for a set of objects.

Brain-Score's ``ProbabilitiesMapping`` (brainscore-vision 2.4.2,
``model_helpers/brain_transformation/behavior.py``): features of the model's behavioral read-out
layer(s) for the *fitting* stimuli are standardised (``StandardScaler``) and a multinomial
logistic regression (``LogisticRegression(C=1e-3, solver="newton-cg")``) is fit to their labels;
its ``predict_proba`` on the test stimuli' features are the probabilities, one column per label
in the order the labels first appear in the fitting set.

Models that are not feature extractors (or that want their own read-out) provide the optional
method ``probabilities`` (see :func:`model_probabilities`); it is this plugin's behavioral model
API, not part of the core ``Model`` interface.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from neuroalign.errors import SpecError

if TYPE_CHECKING:  # pragma: no cover
    import xarray as xr

    from neuroalign import Model
    from neuroalign.stimuli import StimulusSet

__all__ = ["ProbabilitiesReadout", "readout_layers", "model_probabilities", "C"]

#: inverse regularisation of the logistic regression (Brain-Score's ``classifier_c``)
C = 1e-3


class ProbabilitiesReadout:
    """StandardScaler + multinomial logistic regression (Brain-Score's ``ProbabilitiesClassifier``).

    Parameters
    ----------
    c : float
        Inverse regularisation strength.
    """

    def __init__(self, c: float = C):
        self.c = c

    def fit(self, features: np.ndarray, labels: Sequence[str]) -> ProbabilitiesReadout:
        """Fit on ``(n, features)`` and one label per row; classes keep first-appearance order."""
        from sklearn.linear_model import LogisticRegression
        from sklearn.preprocessing import StandardScaler

        features = np.asarray(features, dtype=np.float64)
        labels = np.asarray(labels).astype(str)
        if features.ndim != 2 or len(features) != len(labels):
            raise SpecError(f"fit needs (n, features) and n labels; found features "
                            f"{features.shape} and {len(labels)} labels")
        self.labels_ = np.array(list(dict.fromkeys(labels.tolist())))
        if len(self.labels_) < 2:
            raise SpecError(f"the fitting stimuli have one label ({self.labels_.tolist()}); "
                            "a choice needs at least two")
        index = {label: i for i, label in enumerate(self.labels_)}
        self.scaler_ = StandardScaler().fit(features)
        self.classifier_ = LogisticRegression(C=self.c, solver="newton-cg")
        self.classifier_.fit(self.scaler_.transform(features),
                             np.array([index[label] for label in labels]))
        return self

    def predict_proba(self, features: np.ndarray) -> np.ndarray:
        """``(n, labels)`` probabilities, columns in :attr:`labels_` order."""
        return self.classifier_.predict_proba(
            self.scaler_.transform(np.asarray(features, dtype=np.float64)))


def readout_layers(model: Model, layers: Sequence[str] | None = None) -> tuple[list[str], str]:
    """The layers read out and why: ``given``, ``committed`` (``behavior``) or ``last``.

    Brain-Score's rule: the model's behavioral commitment, else its last candidate layer
    (``ModelCommitment``: ``behavioral_readout_layer or layers[-1]``, the penultimate layer
    of the usual candidate lists).
    """
    if layers is not None:
        chosen = [str(layer) for layer in layers]
        if not chosen:
            raise SpecError("layers=[] names no layer; give at least one or leave layers=None")
        return chosen, "given"
    committed = model.region_layers.get("behavior")
    if committed:
        return [committed], "committed"
    if model.layers:
        return [model.layers[-1]], "last"
    raise SpecError(
        f"model {model.identifier!r} has no 'behavior' commitment and no candidate layers; "
        f"pass layers=[...] (neuroalign score {model.identifier} BENCHMARK --layer NAME), give "
        "its ModelSpec region_layers={'behavior': ...}, or give the model a probabilities() "
        "method")


def _features(model: Model, stimuli: StimulusSet, layers: list[str], visual_degrees: float,
              reduction: Any, progress: bool | None) -> xr.DataArray:
    features = model.activations(stimuli, layers, visual_degrees=visual_degrees,
                                 reduction=reduction, progress=progress)
    features = features.transpose("presentation", "neuroid")
    ids = np.asarray(features["stimulus_id"].values).astype(str).tolist()
    if ids != list(stimuli.ids):
        position = {s: i for i, s in enumerate(ids)}
        features = features.isel(presentation=[position[s] for s in stimuli.ids])
    return features


def model_probabilities(model: Model, fitting_stimuli: StimulusSet, fitting_labels: Sequence[str],
                        stimuli: StimulusSet, *, visual_degrees: float,
                        layers: Sequence[str] | None = None, reduction: Any = "pca",
                        progress: bool | None = None) -> tuple[xr.DataArray, dict[str, Any]]:
    """A model's choice probabilities on ``stimuli`` (``presentation x choice``) and how.

    A model with a callable ``probabilities`` attribute provides them itself, called as
    ``model.probabilities(fitting_stimuli, fitting_labels, stimuli, visual_degrees=...)``; it
    must return a DataArray ``presentation x choice`` with ``stimulus_id`` and ``choice`` coords
    (Brain-Score's ``start_task(probabilities, fitting_stimuli)`` then ``look_at(stimuli)``).
    Otherwise the read-out layer(s) (:func:`readout_layers`) are fit with
    :class:`ProbabilitiesReadout`.

    Returns
    -------
    probabilities : xarray.DataArray
    attrs : dict
        ``readout`` (``model`` or ``logistic_regression``), ``layers``, ``layer_policy``.
    """
    import xarray as xr

    own = getattr(model, "probabilities", None)
    if callable(own) and layers is None:
        result = own(fitting_stimuli, list(fitting_labels), stimuli, visual_degrees=visual_degrees)
        if not isinstance(result, xr.DataArray) or "choice" not in result.dims:
            raise SpecError(f"model {model.identifier!r}: probabilities() should return a "
                            "DataArray presentation x choice with 'stimulus_id' and 'choice' "
                            f"coords; found {type(result).__name__}")
        return result, {"readout": "model", "layers": None, "layer_policy": "model"}
    chosen, policy = readout_layers(model, layers)
    fit = _features(model, fitting_stimuli, chosen, visual_degrees, reduction, progress)
    test = _features(model, stimuli, chosen, visual_degrees, reduction, progress)
    readout = ProbabilitiesReadout().fit(fit.values, fitting_labels)
    probabilities = xr.DataArray(
        readout.predict_proba(test.values), dims=("presentation", "choice"),
        coords={"stimulus_id": ("presentation", np.asarray(stimuli.ids, dtype=object)),
                "choice": readout.labels_.astype(object)})
    return probabilities, {"readout": "logistic_regression", "layers": chosen,
                           "layer_policy": policy, "readout_c": C,
                           "features": int(fit.sizes["neuroid"])}
