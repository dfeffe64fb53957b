"""``score(model, benchmark)``: run benchmarks, fill provenance, use and fill the results registry.

The core only orchestrates: resolve the model and the benchmark, look up a stored result,
call the benchmark, fill provenance, store. Domain templates (the neural-predictivity benchmark
with its layer selection) live in their plugins (``neuroalign_neural.benchmark``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import NeuroalignError, SpecError
from ..progress import PlainProgress, progress_enabled, progress_interval, progress_mode, track
from ..interfaces import Benchmark, Model
from .results import DEFAULT_REQUEST
from ..scores import Provenance, Score

if TYPE_CHECKING:  # pragma: no cover
    import xarray as xr

    from .results import ResultsDatabase
    from ..stimuli import StimulusSet

__all__ = [
    "score",
    "score_many",
    "progress_enabled",
    "progress_mode",
    "PlainProgress",
    "track",
    "weights_label",
    "data_source",
]


# ------------------------------------------------------------------- what was scored, in words


def weights_label(model: Model, weights_hash: str | None = None) -> str:
    """Which weights a model ran with, in words, with the first 8 hex digits of their sha256.

    ``"pretrained:<tag> 1a2b3c4d"`` (the tag timm resolved, or the one asked for),
    ``"pretrained 1a2b3c4d"`` (no tag known), ``"random 1a2b3c4d"`` (``pretrained=False``), or
    ``"weights 1a2b3c4d"`` for a model whose spec says nothing about pretraining (a custom module,
    a ground-truth network): the hash prefix is then the only identity there is.
    """
    digest = (weights_hash if weights_hash is not None else model.weights_hash()) or ""
    prefix = f" {digest[:8]}" if digest else ""
    spec = getattr(model, "spec", None)
    parameters = dict(getattr(spec, "parameters", None) or {})
    if "pretrained" not in parameters:
        return f"weights{prefix}"
    if not parameters["pretrained"]:
        return f"random{prefix}"
    metadata = dict(getattr(spec, "metadata", None) or {})
    tag = metadata.get("resolved_tag") or parameters.get("tag")
    return f"pretrained:{tag}{prefix}" if tag else f"pretrained{prefix}"


def _benchmark_datasets(benchmark: Benchmark) -> list[str]:
    """Dataset ids a (non-composite) benchmark reads: ``spec.dataset`` and dataset-valued
    parameters."""
    from ..plugins.lookup import get_registry

    spec = getattr(benchmark, "spec", None)
    if spec is None:
        return []
    known = set(get_registry().ids("dataset"))
    found = [spec.dataset] if getattr(spec, "dataset", None) else []
    for value in (spec.parameters or {}).values():
        if isinstance(value, str) and value in known and value not in found:
            found.append(value)
    return found


def data_source(benchmark: Benchmark, result: Score | None = None) -> str | None:
    """Where a benchmark's data came from, in words: ``"real"``, ``"synthetic <store>"`` or
    ``"store <store>"``.

    A dataset is *synthetic* when the active store (``NEUROALIGN_STORE``) lists it with a
    description starting with "synthetic" (what :func:`neuroalign.app.demo.build_store` writes),
    *store* when the store lists it otherwise, and *real* (the spec's own assets) when no store
    lists it. A composite takes its members' sources; mixed sources are joined with " + ".
    None when the benchmark reads no registered dataset.
    """
    if result is not None and result.children:
        sources = sorted({child.provenance.data_source for child in result.children.values()
                          if child.provenance.data_source})
        return " + ".join(sources) if sources else None
    datasets = _benchmark_datasets(benchmark)
    if not datasets:
        return None
    from ..plugins.lookup import get_spec
    from ..store.assets import _store_index, active_store

    store = active_store()
    sources = set()
    for dataset in datasets:
        entry = None
        if store is not None:
            spec = get_spec("dataset", dataset)
            entry = _store_index(store).dataset(spec.id, spec.version)
        if entry is None:
            sources.add("real")
        elif (entry.description or "").lower().startswith("synthetic"):
            sources.add(f"synthetic {store}")
        else:
            sources.add(f"store {store}")
    return " + ".join(sorted(sources))


# -------------------------------------------------------------------------------------- score


def _plugins_involved(model: Model, benchmark: Benchmark) -> dict[str, str]:
    """Distribution -> version of every registry entry behind the model and the benchmark."""
    from .. import __version__
    from ..plugins.lookup import get_registry

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


def _resolve_model(model: Any, pretrained: bool, layers: Sequence[str] | None,
                   parameters: Mapping[str, Any] | None = None, device: Any = None,
                   batch_size: int | None = None) -> Model:
    resolved = _build_model(model, pretrained, layers, parameters)
    if device is not None or batch_size is not None:
        _set_runtime(resolved, device=device, batch_size=batch_size)
    return resolved


def _set_runtime(model: Model, *, device: Any = None, batch_size: int | None = None) -> None:
    """Set where and in what batches ``model`` runs; a model without the attribute is an error."""
    for name, value in (("device", device), ("batch_size", batch_size)):
        if value is None:
            continue
        if not hasattr(model, name):
            raise SpecError(
                f"model {model.identifier!r} ({type(model).__name__}) has no {name!r} to set; "
                f"drop {name}= (only torch models built by neuroalign have one)"
            )
        if name == "batch_size" and (not isinstance(value, int) or value < 1):
            raise SpecError(f"batch_size={value!r} must be a positive integer")
        setattr(model, name, value)


def _build_model(model: Any, pretrained: bool, layers: Sequence[str] | None,
                 parameters: Mapping[str, Any] | None) -> Model:
    if parameters and not isinstance(model, str):
        raise SpecError("model parameters apply to a model id only (e.g. 'timm:resnet18'); "
                        f"found a {type(model).__name__}: build it with those parameters instead")
    if isinstance(model, Model):
        return model
    if isinstance(model, str):
        from ..plugins.lookup import get_model

        return get_model(model, pretrained=pretrained, parameters=parameters)
    if hasattr(model, "named_modules") and hasattr(model, "forward"):  # a torch module
        from ..extraction.torch_model import model_from_module

        name = type(model).__name__.lower()
        return model_from_module(model, identifier=f"custom:{name}", layers=tuple(layers or ()))
    raise SpecError(
        f"model must be a model id (e.g. 'timm:resnet18'), a neuroalign Model or a torch module; "
        f"found {type(model).__name__}"
    )


def _resolve_benchmark(benchmark: Any, parameters: Mapping[str, Any] | None = None) -> Benchmark:
    if isinstance(benchmark, Benchmark):
        if parameters:
            raise SpecError(f"benchmark parameters apply to a benchmark id only; found "
                            f"{benchmark!r}: build it with those parameters instead")
        return benchmark
    if isinstance(benchmark, str):
        from ..plugins.lookup import get_benchmark

        return get_benchmark(benchmark, parameters=parameters)
    raise SpecError(
        f"benchmark must be a benchmark id (e.g. 'MajajHong2015.IT-pls'), a Benchmark or a list "
        f"of them; found {type(benchmark).__name__} (list ids with: neuroalign list benchmarks)"
    )


def _results_database(results: Any) -> ResultsDatabase | None:
    if results is True:
        from .results import ResultsDatabase

        return ResultsDatabase()
    if results in (False, None):
        return None
    if hasattr(results, "put") and hasattr(results, "get"):
        return results
    raise SpecError(f"results must be True, False or a ResultsDatabase; found {results!r}")


def _request_key(layers: Sequence[str] | None) -> str:
    return DEFAULT_REQUEST if layers is None else "layers=" + ",".join(layers)


def _members_unchanged(stored: Score, benchmark: Benchmark) -> bool:
    """A composite's stored result is current only while its members keep their versions."""
    versions = getattr(benchmark, "member_versions", None)
    if not callable(versions):
        return True
    return stored.provenance.member_versions == versions()


def _call(benchmark: Benchmark, model: Model, layers: Sequence[str] | None,
          progress: bool | None, member_score: Callable[..., Score] | None = None) -> Score:
    layers = None if layers is None else list(layers)
    from .composite import CompositeBenchmark

    if isinstance(benchmark, CompositeBenchmark) and member_score is not None:
        return benchmark(model, layers=layers, progress=progress, member_score=member_score)
    return benchmark(model, layers=layers, progress=progress)


def _score_one(model: Model, benchmark: Benchmark, layers: Sequence[str] | None,
               use_cache: bool, registry: ResultsDatabase | None, seed: int | None,
               progress: bool | None) -> Score:
    """Score one pair through the results database; a composite's members go through it too,
    so members already stored are reused and fresh ones are stored."""
    weights = model.weights_hash()
    request = _request_key(layers)
    if use_cache and registry is not None:
        stored = registry.get(model.identifier, benchmark.identifier, weights_hash=weights,
                              version=benchmark.version, request=request)
        if (stored is not None and stored.provenance.request == request
                and _members_unchanged(stored, benchmark)):
            return stored
    start = time.perf_counter()

    def member_score(child: Benchmark, child_model: Model, child_layers: Sequence[str] | None,
                     child_progress: bool | None) -> Score:
        return _score_one(child_model, child, child_layers, use_cache, registry, seed,
                          child_progress)

    result = _call(benchmark, model, layers, progress, member_score)
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
        request=request, member_versions=result.provenance.member_versions,
        weights=weights_label(model, weights), data_source=data_source(benchmark, result),
    )
    result = result.model_copy(update={"provenance": provenance})
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
    model_parameters: Mapping[str, Any] | None = None,
    benchmark_parameters: Mapping[str, Any] | None = None,
    device: Any = None,
    batch_size: int | None = None,
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
    results : bool or ResultsDatabase
        Where results are read from and written to: True = the default registry
        (``$NEUROALIGN_HOME/results.sqlite``), False = nowhere.
    progress : bool, optional
        Progress bars on a terminal, plain periodic lines otherwise (see
        :func:`progress_enabled`); default: a bar when stderr is a terminal, plain lines
        otherwise.
    model_parameters : mapping, optional
        Overrides of the model spec's ``parameters`` (model ids only).
    benchmark_parameters : mapping, optional
        Overrides of the benchmark spec's ``parameters`` (benchmark ids only).
    device : str or torch.device, optional
        Where the model's forward passes run (``"cpu"``, ``"cuda:0"``); default: CUDA if
        available, else CPU.
    batch_size : int, optional
        Images per forward pass (default: the model's, 64 for torch models).

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
    if isinstance(benchmark, (list, tuple)):  # every id is checked before anything is scored
        benchmarks = [_resolve_benchmark(b, benchmark_parameters) for b in benchmark]
    else:
        benchmarks = [_resolve_benchmark(benchmark, benchmark_parameters)]
    model = _resolve_model(model, pretrained, layers, model_parameters, device, batch_size)
    registry = _results_database(results)
    if isinstance(benchmark, (list, tuple)):
        show = progress_enabled(progress)
        out: dict[str, Score] = {}
        for item in track(benchmarks, f"scoring {model.identifier}", show):
            out[item.identifier] = _score_one(model, item, layers, use_cache, registry, None,
                                              progress)
        return out
    return _score_one(model, benchmarks[0], layers, use_cache, registry, None, progress)


def score_many(models: Iterable[Any], benchmarks: Iterable[Any], *, pretrained: bool = True,
               use_cache: bool = True, results: Any = True,
               progress: bool | None = None) -> dict[str, dict[str, Score | Exception]]:
    """Score every model on every benchmark; a failure is kept (as the exception), not raised.

    Returns ``{model id: {benchmark id: Score or Exception}}``.
    """
    benchmarks = [_resolve_benchmark(b) for b in benchmarks]
    registry = _results_database(results)
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

