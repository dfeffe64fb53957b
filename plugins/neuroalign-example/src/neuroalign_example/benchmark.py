"""``Example.V4-corr`` and ``Example.IT-corr``: dataset + metric + ceiling -> a ceiled Score."""

from __future__ import annotations

from collections.abc import Sequence

import time
from importlib import metadata

import numpy as np
import xarray as xr

from neuroalign import Benchmark, BenchmarkSpec, LayerView, Model
from neuroalign import Provenance, Score


def _trial_average(assembly: xr.DataArray) -> xr.DataArray:
    """``presentation x neuroid`` with one presentation per stimulus (mean over repetitions)."""
    mean = assembly.groupby("stimulus_id").mean()
    return mean.rename({"stimulus_id": "presentation"}).assign_coords(
        stimulus_id=("presentation", mean["stimulus_id"].values))


class ExampleBenchmark(Benchmark):
    """Scores a model's committed layer for the benchmark's region against the toy sites.

    Construction only stores the spec; the dataset, metric and ceiling are resolved through the
    registry when the benchmark is first called (they may come from other plugins).

    Parameters
    ----------
    spec : BenchmarkSpec
        ``dataset``, ``metric`` (+ ``metric_parameters``), ``ceiling`` and ``region``.
    """

    def __init__(self, spec: BenchmarkSpec):
        self.spec = spec

    def __call__(self, model: Model, *, layers: Sequence[str] | None = None,
                 progress: bool | None = None) -> Score:
        """Ceiled score of ``model``'s layer committed to the region (its last layer if none)."""
        if layers is not None:  # this benchmark reads the model's own candidates
            model = LayerView(model, layers)
        import neuroalign

        start = time.perf_counter()
        dataset = neuroalign.get_dataset(self.spec.dataset)
        responses = dataset.load()
        sites = responses.isel(neuroid=np.flatnonzero(responses["region"].values == self.spec.region))
        target = _trial_average(sites)
        layer = model.region_layers.get(self.spec.region) or model.layers[-1]
        source = model.activations(dataset.stimuli(), [layer])
        raw = neuroalign.get_metric(self.spec.metric, parameters=self.spec.metric_parameters)(source, target)
        ceiling = neuroalign.get_ceiling(self.spec.ceiling)(sites)
        return Score(
            value=raw.value / ceiling.value, raw=raw.value, ceiling=ceiling.value,
            error=None if raw.error is None else raw.error / ceiling.value,
            splits=raw.splits, layer=layer, neuroids=raw.neuroids,
            attrs={"region": self.spec.region, "kind": self.spec.kind},
            provenance=Provenance.here(
                model_id=model.identifier, model_weights_sha256=model.weights_hash(),
                benchmark_id=self.spec.id, benchmark_version=self.spec.version,
                plugins={"neuroalign-example": _version()}, seed=self.spec.parameters.get("seed", 0),
                wall_time_s=time.perf_counter() - start,
            ),
        )


def _version() -> str:
    try:
        return metadata.version("neuroalign-example")
    except metadata.PackageNotFoundError:
        return "0"
