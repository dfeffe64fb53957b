"""The behavioral benchmark template: read-out probabilities, a behavioral metric, a ceiling.

:class:`ProbabilitiesBenchmark` is what every probabilities-based behavioral benchmark shares
(Brain-Score's ``_DicarloRajalingham2018``): the model's choice probabilities on the test images
(:func:`~neuroalign_behavior.readout.model_probabilities`, fit on the fitting images), the metric
(``spec.metric``, e.g. ``i2n``) against the human trials, the ceiling (``spec.ceiling``) on the same
trials, and per-split ceiling (:func:`ceil_per_split`). A dataset plugin implements only
:meth:`ProbabilitiesBenchmark.load_task`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from neuroalign import Benchmark, Model
from neuroalign import Score

if TYPE_CHECKING:  # pragma: no cover
    import xarray as xr

    from neuroalign.stimuli import StimulusSet

__all__ = ["BehavioralTask", "ProbabilitiesBenchmark", "ceil_per_split"]


@dataclass
class BehavioralTask:
    """What a probabilities benchmark needs from its datasets.

    Attributes
    ----------
    fitting_stimuli : StimulusSet
        Images the read-out is fit on.
    fitting_labels : sequence of str
        One label (object name) per fitting image.
    stimuli : StimulusSet
        Images the model is scored on.
    trials : xarray.DataArray
        Human trials on ``stimuli`` (the metric's and ceiling's target).
    name : str
        Dataset id of the trials (reported in the Score).
    sha256 : dict
        File -> sha256 of the data files (provenance).
    """

    fitting_stimuli: StimulusSet
    fitting_labels: Sequence[str]
    stimuli: StimulusSet
    trials: xr.DataArray
    name: str
    sha256: dict[str, str] = field(default_factory=dict)


def ceil_per_split(raw: Score, ceiling: Score) -> Score:
    """Brain-Score's behavioral ceiling: ``r_s / sqrt(c_s)`` per split, then mean and std.

    As in brainscore-vision (``_DicarloRajalingham2018.ceil_score`` then ``aggregate``), a split
    whose ceiling is not positive gives NaN and the mean and standard deviation (``ddof=0``) skip
    NaN splits (xarray's default); all NaN gives NaN.
    """
    if len(raw.splits) != len(ceiling.splits) or not raw.splits:
        raise ValueError(f"raw score and ceiling need the same splits; found {len(raw.splits)} "
                         f"and {len(ceiling.splits)}")
    with np.errstate(invalid="ignore"):
        ceiled = np.asarray(raw.splits) / np.sqrt(np.asarray(ceiling.splits))
    finite = ceiled[~np.isnan(ceiled)]
    value = float(finite.mean()) if finite.size else math.nan
    error = float(finite.std()) if finite.size else math.nan
    return Score(value=value, raw=raw.value, ceiling=ceiling.value, error=error,
                 splits=list(raw.splits),
                 attrs={"ceiled_splits": [float(v) for v in ceiled],
                        "ceiling_splits": list(ceiling.splits), "raw_error": raw.error,
                        "ceiling_error": ceiling.error,
                        "ceiling_mode": "per split r / sqrt(ceiling), NaN splits skipped"})


class ProbabilitiesBenchmark(Benchmark):
    """Behavioral consistency of a model's choice probabilities with human trials.

    Subclasses implement :meth:`load_task`. Parameters from the spec: ``metric``,
    ``metric_parameters``, ``ceiling``, ``visual_degrees`` and, in ``parameters``,
    ``reduction`` (default ``"pca"``).
    """

    def __init__(self, spec):
        self.spec = spec
        self._task: BehavioralTask | None = None
        self._ceiling: Score | None = None

    def __getstate__(self) -> dict[str, Any]:  # picklable: data are reloaded in the worker
        return {"spec": self.spec}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["spec"])

    def load_task(self) -> BehavioralTask:
        """Fitting images and labels, test images and the human trials."""
        raise NotImplementedError

    @property
    def task(self) -> BehavioralTask:
        """The task, loaded once."""
        if self._task is None:
            self._task = self.load_task()
        return self._task

    def ceiling(self) -> Score:
        """The ceiling of the human trials (cached)."""
        if self._ceiling is None:
            from neuroalign import get_ceiling

            self._ceiling = get_ceiling(self.spec.ceiling, parameters=self.spec.metric_parameters)(
                self.task.trials)
        return self._ceiling

    def __call__(self, model: Model, *, layers: Sequence[str] | None = None,
                 progress: bool | None = None) -> Score:
        """Score ``model``; ``layers`` overrides its read-out layer (their features are joined)."""
        from neuroalign import get_metric

        task = self.task
        reduction = self.spec.parameters.get("reduction", "pca")
        probabilities, how = _probabilities(model, task, self.spec.visual_degrees, layers,
                                            reduction, progress)
        raw = get_metric(self.spec.metric, parameters=self.spec.metric_parameters)(
            probabilities, task.trials)
        result = ceil_per_split(raw, self.ceiling())
        attrs = {**raw.attrs, **result.attrs, **how,
                 "region": self.spec.region, "metric": self.spec.metric,
                 "ceiling_method": self.spec.ceiling, "reported_split": task.name,
                 "reported_stimuli": len(task.stimuli), "fitting_stimuli": len(task.fitting_stimuli),
                 "reduction": str(reduction), "visual_degrees": self.spec.visual_degrees}
        layer = ",".join(how["layers"]) if how.get("layers") else None
        provenance = result.provenance.model_copy(update={
            "seed": int(raw.attrs.get("splits_seed", 0)),
            "dataset_sha256": dict(task.sha256)})
        return result.model_copy(update={"layer": layer, "attrs": attrs, "provenance": provenance})


def _probabilities(model: Model, task: BehavioralTask, visual_degrees: float | None,
                   layers: Sequence[str] | None, reduction: Any, progress: bool | None
                   ) -> tuple[xr.DataArray, dict[str, Any]]:
    from .readout import model_probabilities

    return model_probabilities(model, task.fitting_stimuli, task.fitting_labels, task.stimuli,
                               visual_degrees=float(visual_degrees or model.visual_degrees),
                               layers=layers, reduction=reduction, progress=progress)
