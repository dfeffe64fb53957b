"""``score(model, benchmark)``: run benchmarks, fill provenance, use and fill the results registry.

Also the generic machinery of *neural predictivity* benchmarks (:class:`NeuralBenchmark`): layer
selection on a selection split, a mapping metric and a ceiling on a disjoint reported split. A
dataset plugin only says where its splits come from and how a raw score is normalised by the
ceiling; Majaj-Hong 2015 and NSD-like benchmarks share everything else.

Layer policy (Schrimpf et al. 2018, "Neural predictivity"; paper 004):

1. ``layers=[...]`` given: those candidates (one layer: scored as is, no selection);
2. else the model's region commitment (``ModelSpec.region_layers[region]``), when it has one;
3. else every candidate layer of the model (``ModelSpec.layers``) is scored on the *selection*
   split and the best one (highest ceiled score) is scored on the *reported* split. Every
   per-layer selection score is kept in ``Score.layers``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import NeuroalignError, SpecError
from .interfaces import Benchmark, Model
from .results import DEFAULT_REQUEST
from .scores import Provenance, Score

if TYPE_CHECKING:  # pragma: no cover
    import xarray as xr

    from .results import ResultsRegistry
    from .stimuli import StimulusSet

__all__ = [
    "score",
    "score_many",
    "NeuralSplit",
    "NeuralBenchmark",
    "average_repetitions",
    "resolve_layers",
    "LayerView",
    "progress_enabled",
]


# ------------------------------------------------------------------------------------ helpers


def progress_enabled(progress: bool | None = None) -> bool:
    """Whether to draw progress bars: ``progress`` if given, else ``NEUROALIGN_PROGRESS``, else
    when stderr is a terminal."""
    import os
    import sys

    if progress is not None:
        return bool(progress)
    forced = os.environ.get("NEUROALIGN_PROGRESS", "").strip().lower()
    if forced:
        return forced in {"1", "true", "yes", "on"}
    return sys.stderr.isatty()


def _track(items: Sequence[Any], description: str, enabled: bool) -> Iterable[Any]:
    if not enabled or len(items) < 2:
        return items
    from rich.console import Console
    from rich.progress import track

    return track(items, description=description, console=Console(stderr=True), transient=True)


def average_repetitions(assembly: xr.DataArray, coord: str = "repetition") -> xr.DataArray:
    """Mean over repetitions of each stimulus: ``presentation x neuroid`` -> one row per stimulus.

    Rows are ordered by first appearance of each ``stimulus_id``. Presentation coords that are
    constant within every stimulus (``object_name``, ``variation``, ...) are kept; ``coord`` and
    the other varying ones are dropped. Neuroid coords are kept.
    """
    import pandas as pd
    import xarray as xr

    if "stimulus_id" not in assembly.coords:
        raise SpecError("the assembly has no 'stimulus_id' coordinate to average repetitions over")
    data = assembly.transpose("presentation", "neuroid")
    codes, unique = pd.factorize(np.asarray(data["stimulus_id"].values).astype(str))
    counts = np.bincount(codes, minlength=len(unique)).astype(np.float64)
    sums = np.zeros((len(unique), data.sizes["neuroid"]), dtype=np.float64)
    np.add.at(sums, codes, np.asarray(data.values, dtype=np.float64))
    first = np.unique(codes, return_index=True)[1]
    coords: dict[str, Any] = {"stimulus_id": ("presentation", np.asarray(unique, dtype=object))}
    for name, values in data.coords.items():
        if name in ("stimulus_id", coord, "presentation") or values.dims != ("presentation",):
            continue
        column = np.asarray(values.values)
        if (pd.Series(column).groupby(codes).nunique(dropna=False) <= 1).all():
            coords[str(name)] = ("presentation", column[first])
    for name, values in data.coords.items():
        if values.dims == ("neuroid",):
            coords[str(name)] = ("neuroid", np.asarray(values.values))
    return xr.DataArray(sums / counts[:, None], dims=("presentation", "neuroid"), coords=coords,
                        attrs=dict(assembly.attrs))


def resolve_layers(model: Model, region: str | None,
                   layers: Sequence[str] | None = None) -> tuple[list[str], str]:
    """Candidate layers and the policy that chose them: ``given``, ``committed`` or ``selected``."""
    if layers is not None:
        layers = [str(layer) for layer in layers]
        if not layers:
            raise SpecError("layers=[] names no layer; give at least one or leave layers=None")
        return layers, "given"
    committed = model.region_layers
    if region is not None and region in committed:
        return [committed[region]], "committed"
    if model.layers:
        return list(model.layers), "selected"
    raise SpecError(
        f"model {model.identifier!r} has no candidate layers and no commitment for region "
        f"{region!r}; pass layers=[...] (e.g. neuroalign score {model.identifier} BENCHMARK "
        "--layer NAME) or give its ModelSpec layers / region_layers"
    )


class LayerView(Model):
    """A model seen with other candidate layers and no region commitments (``layers=`` override).

    Everything else (module, weights, preprocessing, activations) is the wrapped model's.
    """

    def __init__(self, model: Model, layers: Sequence[str]):
        self._model = model
        self._layers = tuple(layers)
        self.spec = model.spec.model_copy(update={"layers": self._layers, "region_layers": {}})

    def __getattr__(self, name: str) -> Any:  # batch_size, device, ... of the wrapped model
        if name.startswith("_"):  # never recurse while unpickling (no _model yet)
            raise AttributeError(name)
        return getattr(self._model, name)

    @property
    def preprocessing(self):
        return self._model.preprocessing

    def module(self) -> Any:
        return self._model.module()

    def weights_hash(self) -> str:
        return self._model.weights_hash()

    def activations(self, stimuli, layers, *, visual_degrees=None, reduction="pca", **kwargs):
        return self._model.activations(stimuli, layers, visual_degrees=visual_degrees,
                                       reduction=reduction, **kwargs)

    def logits(self, stimuli, *, visual_degrees=None, **kwargs):
        return self._model.logits(stimuli, visual_degrees=visual_degrees, **kwargs)


# --------------------------------------------------------------------------- neural benchmarks


@dataclass
class NeuralSplit:
    """One split of a neural dataset, restricted to a benchmark's region.

    Attributes
    ----------
    name : str
        Dataset id (e.g. ``MajajHong2015.public``).
    stimuli : StimulusSet
        The images.
    repetitions : xarray.DataArray
        Per-repetition responses ``presentation x neuroid`` (coord ``repetition``).
    sha256 : dict
        File name -> sha256 of the data files behind the split (provenance).
    """

    name: str
    stimuli: StimulusSet
    repetitions: xr.DataArray
    sha256: dict[str, str] = field(default_factory=dict)
    _target: xr.DataArray | None = field(default=None, repr=False)

    @property
    def target(self) -> xr.DataArray:
        """Responses averaged over repetitions (what mapping metrics are fit to)."""
        if self._target is None:
            self._target = average_repetitions(self.repetitions)
        return self._target


class NeuralBenchmark(Benchmark):
    """Neural predictivity: layer selection + mapping metric + ceiling.

    Subclasses implement :meth:`load_split` (``"selection"`` / ``"reported"``) and
    :meth:`normalize` (raw score and ceiling -> ceiled Score). Parameters come from the spec:
    ``metric``, ``metric_parameters``, ``ceiling``, ``region``, ``visual_degrees`` and, in
    ``parameters``, ``reduction`` (default ``"pca"``).
    """

    def __init__(self, spec):
        self.spec = spec
        self._splits: dict[str, NeuralSplit] = {}
        self._ceilings: dict[str, Score] = {}
        self._metric: Callable[[Any, Any], Score] | None = None

    def __getstate__(self) -> dict[str, Any]:  # picklable for distributed runs: rebuild lazily
        return {"spec": self.spec}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["spec"])

    # ---------------------------------------------------------------- for subclasses
    def load_split(self, role: str) -> NeuralSplit:
        """The ``"selection"`` or ``"reported"`` split, restricted to the region."""
        raise NotImplementedError

    def normalize(self, raw: Score, ceiling: Score) -> Score:
        """The ceiled Score of ``raw`` given ``ceiling`` (e.g. explained variance)."""
        raise NotImplementedError

    # ---------------------------------------------------------------- machinery
    def split(self, role: str) -> NeuralSplit:
        """The split ``role`` (``"selection"`` or ``"reported"``), loaded once."""
        if role not in self._splits:
            self._splits[role] = self.load_split(role)
        return self._splits[role]

    @property
    def metric(self) -> Callable[[Any, Any], Score]:
        """The mapping metric (``spec.metric`` with ``spec.metric_parameters``), built once."""
        if self._metric is None:
            from .registry import get_metric

            self._metric = get_metric(self.spec.metric, parameters=self.spec.metric_parameters)
        return self._metric

    def ceiling(self, role: str = "reported") -> Score:
        """The ceiling of a split (cached)."""
        if role not in self._ceilings:
            from .registry import get_ceiling

            self._ceilings[role] = get_ceiling(self.spec.ceiling)(self.split(role).repetitions)
        return self._ceilings[role]

    def dataset_sha256(self) -> dict[str, str]:
        """File -> sha256 of every data file used so far."""
        out: dict[str, str] = {}
        for split in self._splits.values():
            out.update(split.sha256)
        return out

    @property
    def reduction(self) -> Any:
        """How wide layers are reduced (``parameters["reduction"]``, default ``"pca"``)."""
        return self.spec.parameters.get("reduction", "pca")

    def _features(self, model: Model, split: NeuralSplit, layers: list[str],
                  progress: bool | None) -> xr.DataArray:
        # Model.activations need not take ``progress``; ask the signature rather than retry on
        # TypeError, which would hide real errors and extract twice.
        kwargs = {"progress": progress} if _accepts(model.activations, "progress") else {}
        return model.activations(split.stimuli, layers, visual_degrees=self.spec.visual_degrees,
                                 reduction=self.reduction, **kwargs)

    def __call__(self, model: Model, *, layers: Sequence[str] | None = None,
                 progress: bool | None = None) -> Score:
        """Score ``model``; ``layers`` overrides its candidates and commitments."""
        candidates, policy = resolve_layers(model, self.spec.region, layers)
        show = progress_enabled(progress)
        per_layer: dict[str, float] | None = None
        per_layer_raw: dict[str, float] = {}
        chosen = candidates[0]
        if len(candidates) > 1:
            selection = self.split("selection")
            features = self._features(model, selection, candidates, progress)
            layer_of = np.asarray(features["layer"].values).astype(str)
            selection_ceiling = self.ceiling("selection")
            per_layer = {}
            for layer in _track(candidates, f"{model.identifier} layers on {selection.name}", show):
                raw = self.metric(features.isel(neuroid=np.flatnonzero(layer_of == layer)),
                                  selection.target)
                per_layer_raw[layer] = float(raw.value)
                per_layer[layer] = float(self.normalize(raw, selection_ceiling).value)
            # ties (e.g. two layers clipped at 1) go to the higher raw score
            chosen = max(candidates, key=lambda name: (per_layer[name], per_layer_raw[name]))
        reported = self.split("reported")
        # all candidates in one pass: the cache then serves every benchmark on this split
        features = self._features(model, reported, candidates, progress)
        layer_of = np.asarray(features["layer"].values).astype(str)
        chosen_features = features.isel(neuroid=np.flatnonzero(layer_of == chosen))
        raw = self.metric(chosen_features, reported.target)
        result = self.normalize(raw, self.ceiling("reported"))
        attrs = dict(result.attrs)
        attrs.update({
            "layer_policy": policy,
            "candidate_layers": candidates,
            "region": self.spec.region,
            "metric": self.spec.metric,
            "ceiling_method": self.spec.ceiling,
            "reported_split": reported.name,
            "reported_stimuli": len(reported.stimuli),
            "reduction": str(self.reduction),
            "visual_degrees": self.spec.visual_degrees,
        })
        if per_layer is not None:
            attrs.update({"selection_split": self.split("selection").name,
                          "layers_raw": per_layer_raw,
                          "layers_measure": "ceiled score on the selection split"})
        seed = getattr(self.metric, "random_state", None)
        provenance = result.provenance.model_copy(update={
            "seed": seed if isinstance(seed, int) else result.provenance.seed,
            "dataset_sha256": {**result.provenance.dataset_sha256, **self.dataset_sha256()}})
        return result.model_copy(update={"layer": chosen, "layers": per_layer, "attrs": attrs,
                                         "provenance": provenance})


# -------------------------------------------------------------------------------------- score


def _plugins_involved(model: Model, benchmark: Benchmark) -> dict[str, str]:
    """Distribution -> version of every registry entry behind the model and the benchmark."""
    from . import __version__
    from .registry import get_registry

    registry = get_registry()
    wanted: list[tuple[str, str | None]] = [("model", model.identifier)]
    spec = benchmark.spec
    wanted += [("benchmark", spec.id), ("metric", spec.metric), ("metric", spec.ceiling),
               ("dataset", spec.dataset)]
    for value in (spec.parameters or {}).values():
        if isinstance(value, str) and value in registry.ids("dataset"):
            wanted.append(("dataset", value))
    plugins = {"neuroalign": __version__}
    for kind, identifier in wanted:
        if not identifier:
            continue
        try:
            entry = registry.entry(kind, identifier)
        except NeuroalignError:
            continue
        plugins[entry.distribution] = entry.version
    return plugins


def _resolve_model(model: Any, pretrained: bool, layers: Sequence[str] | None) -> Model:
    if isinstance(model, Model):
        return model
    if isinstance(model, str):
        from .registry import get_model

        return get_model(model, pretrained=pretrained)
    if hasattr(model, "named_modules") and hasattr(model, "forward"):  # a torch module
        from .models import model_from_module

        name = type(model).__name__.lower()
        return model_from_module(model, identifier=f"custom:{name}", layers=tuple(layers or ()))
    raise SpecError(
        f"model must be a model id (e.g. 'timm:resnet18'), a neuroalign Model or a torch module; "
        f"found {type(model).__name__}"
    )


def _resolve_benchmark(benchmark: Any) -> Benchmark:
    if isinstance(benchmark, Benchmark):
        return benchmark
    if isinstance(benchmark, str):
        from .registry import get_benchmark

        return get_benchmark(benchmark)
    raise SpecError(
        f"benchmark must be a benchmark id (e.g. 'MajajHong2015.IT-pls'), a Benchmark or a list "
        f"of them; found {type(benchmark).__name__} (list ids with: neuroalign list benchmarks)"
    )


def _results_registry(results: Any) -> ResultsRegistry | None:
    if results is True:
        from .results import ResultsRegistry

        return ResultsRegistry()
    if results in (False, None):
        return None
    if hasattr(results, "put") and hasattr(results, "get"):
        return results
    raise SpecError(f"results must be True, False or a ResultsRegistry; found {results!r}")


def _request_key(layers: Sequence[str] | None) -> str:
    return DEFAULT_REQUEST if layers is None else "layers=" + ",".join(layers)


def _members_unchanged(stored: Score, benchmark: Benchmark) -> bool:
    """A composite's stored result is current only while its members keep their versions."""
    versions = getattr(benchmark, "member_versions", None)
    if not callable(versions):
        return True
    return stored.attrs.get("member_versions") == versions()


def _accepts(function: Callable[..., Any], name: str) -> bool:
    """Whether ``function`` names a parameter ``name`` (``**kwargs`` alone does not count: it
    may forward to something that rejects it)."""
    import inspect

    try:
        parameters = inspect.signature(function).parameters
    except (TypeError, ValueError):  # pragma: no cover - builtins
        return False
    return name in parameters


def _call(benchmark: Benchmark, model: Model, layers: Sequence[str] | None,
          progress: bool | None) -> Score:
    kwargs: dict[str, Any] = {}
    if _accepts(benchmark.__call__, "progress"):
        kwargs["progress"] = progress
    if layers is not None:
        if _accepts(benchmark.__call__, "layers"):
            kwargs["layers"] = list(layers)
        else:  # a benchmark that only reads the model's candidates and commitments
            model = LayerView(model, layers)
    return benchmark(model, **kwargs)


def _score_one(model: Model, benchmark: Benchmark, layers: Sequence[str] | None,
               use_cache: bool, registry: ResultsRegistry | None, seed: int | None,
               progress: bool | None) -> Score:
    weights = model.weights_hash()
    request = _request_key(layers)
    if use_cache and registry is not None:
        # the request is part of the results key; a duck-typed registry may not know it
        by_request = {"request": request} if _accepts(registry.get, "request") else {}
        stored = registry.get(model.identifier, benchmark.identifier, weights_hash=weights,
                              version=benchmark.version, **by_request)
        if (stored is not None and stored.attrs.get("request", DEFAULT_REQUEST) == request
                and _members_unchanged(stored, benchmark)):
            return stored
    start = time.perf_counter()
    result = _call(benchmark, model, layers, progress)
    elapsed = time.perf_counter() - start
    sha = {}
    if hasattr(benchmark, "dataset_sha256"):
        sha = dict(benchmark.dataset_sha256())
    provenance = Provenance.here(
        model_id=model.identifier, model_weights_sha256=weights,
        benchmark_id=benchmark.identifier, benchmark_version=benchmark.version,
        dataset_sha256={**result.provenance.dataset_sha256, **sha},
        plugins={**result.provenance.plugins, **_plugins_involved(model, benchmark)},
        seed=seed if seed is not None else result.provenance.seed, wall_time_s=round(elapsed, 3),
    )
    result = result.model_copy(update={"provenance": provenance,
                                       "attrs": {**result.attrs, "request": request}})
    if registry is not None:
        registry.put(result)
    return result


def score(
    model: Any,
    benchmark: Any,
    *,
    layers: Sequence[str] | None = None,
    pretrained: bool = True,
    use_cache: bool = True,
    results: Any = True,
    progress: bool | None = None,
) -> Score | dict[str, Score]:
    """Score a model on one benchmark (-> Score) or several (-> ``{benchmark id: Score}``).

    Parameters
    ----------
    model : str, Model or torch.nn.Module
        A registered model id (``"timm:resnet18"``), a :class:`~neuroalign.Model` (e.g. from
        :meth:`~neuroalign.Model.from_module`) or a bare torch module (then give ``layers``).
    benchmark : str, Benchmark, or a list of them
        Benchmark id(s) (``"MajajHong2015.IT-pls"``) or objects.
    layers : sequence of str, optional
        Candidate layers; overrides the model's region commitment. One layer: no selection.
    pretrained : bool
        For model ids: ``False`` scores randomly initialised weights.
    use_cache : bool
        Return a stored result with the same key (model, weights sha256, benchmark, version,
        ``layers`` request) instead of recomputing; activations come from the
        activation cache either way. ``False`` recomputes (and overwrites the stored result).
    results : bool or ResultsRegistry
        Where results are read from and written to: True = the default registry
        (``$NEUROALIGN_HOME/results.sqlite``), False = nowhere.
    progress : bool, optional
        Progress bars (default: when stderr is a terminal).

    Returns
    -------
    Score or dict of str to Score
        Ceiled value, raw, ceiling, error, chosen layer and per-layer scores, provenance (model
        id and weights sha256, benchmark id and version, data sha256, plugin versions, seed,
        wall time, host).

    Examples
    --------
    >>> score("timm:resnet18", "MajajHong2015.IT-pls", pretrained=False)  # doctest: +SKIP
    Score(value=0.41, error=0.01, raw=0.58, ceiling=0.82, layer='layer3')
    """
    model = _resolve_model(model, pretrained, layers)
    registry = _results_registry(results)
    if isinstance(benchmark, (list, tuple)):
        benchmarks = [_resolve_benchmark(b) for b in benchmark]
        show = progress_enabled(progress)
        out: dict[str, Score] = {}
        for item in _track(benchmarks, f"scoring {model.identifier}", show):
            out[item.identifier] = _score_one(model, item, layers, use_cache, registry, None,
                                              progress)
        return out
    return _score_one(model, _resolve_benchmark(benchmark), layers, use_cache, registry, None,
                      progress)


def score_many(models: Iterable[Any], benchmarks: Iterable[Any], *, pretrained: bool = True,
               use_cache: bool = True, results: Any = True,
               progress: bool | None = None) -> dict[str, dict[str, Score | Exception]]:
    """Score every model on every benchmark; a failure is kept (as the exception), not raised.

    Returns ``{model id: {benchmark id: Score or Exception}}``.
    """
    benchmarks = [_resolve_benchmark(b) for b in benchmarks]
    registry = _results_registry(results)
    table: dict[str, dict[str, Score | Exception]] = {}
    for item in models:
        model = _resolve_model(item, pretrained, None)
        row = table.setdefault(model.identifier, {})
        for benchmark in benchmarks:
            try:
                row[benchmark.identifier] = _score_one(model, benchmark, None, use_cache,
                                                       registry, None, progress)
            except Exception as error:  # noqa: BLE001 - reported by the caller
                row[benchmark.identifier] = error
    return table

