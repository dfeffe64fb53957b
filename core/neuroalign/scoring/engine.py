"""``score(model, benchmark)``: run benchmarks, fill provenance, use and fill the results registry.

The core only orchestrates: resolve the model and the benchmark, look up a stored result,
call the benchmark, fill provenance, store. Domain templates (the neural-predictivity benchmark
with its layer selection) live in their plugins (``neuroalign_neural.benchmark``).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any


from ..errors import NeuroalignError, SpecError
from ..progress import PlainProgress, progress_enabled, progress_mode, track
from ..interfaces import Benchmark, Model
from .results import DEFAULT_REQUEST
from ..scores import Provenance, Score

if TYPE_CHECKING:  # pragma: no cover

    from .results import ResultsDatabase

__all__ = [
    "score",
    "score_many",
    "data_fingerprint",
    "is_current",
    "lookup_current",
    "run_benchmark",
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
    if isinstance(results, (str, os.PathLike)):
        from .results import ResultsDatabase

        return ResultsDatabase(results)
    raise SpecError(f"results must be True, False, a path or a ResultsDatabase; found "
                    f"{results!r}")


def _request_key(layers: Sequence[str] | None) -> str:
    return DEFAULT_REQUEST if layers is None else "layers=" + ",".join(layers)


def _members_unchanged(stored: Score, benchmark: Benchmark) -> bool:
    """A composite's stored result is current only while its members keep their versions."""
    versions = getattr(benchmark, "member_versions", None)
    if not callable(versions):
        return True
    return stored.provenance.member_versions == versions()


def _declared_datasets(benchmark: Benchmark, known: set[str], seen: set[int]) -> list[str]:
    """Ids of the registered datasets ``benchmark`` declares: ``spec.dataset`` and dataset ids
    among its parameters (e.g. ``selection_dataset``), its composite members' too."""
    if id(benchmark) in seen:
        return []
    seen.add(id(benchmark))
    out: list[str] = []
    children = getattr(benchmark, "children", None)
    if isinstance(children, dict) and callable(getattr(benchmark, "benchmark", None)):
        for name in children:
            try:
                child = benchmark.benchmark(name)
            except Exception:  # noqa: BLE001 - the composite's own on_error policy decides
                if getattr(benchmark, "on_error", "raise") == "raise":
                    raise
                continue
            out += _declared_datasets(child, known, seen)
    spec = getattr(benchmark, "spec", None)
    if spec is not None:
        values: list[Any] = [getattr(spec, "dataset", None)]
        for value in (getattr(spec, "parameters", None) or {}).values():
            values += list(value) if isinstance(value, (list, tuple)) else [value]
        out += [v for v in values if isinstance(v, str) and v in known]
    return list(dict.fromkeys(out))


def data_fingerprint(benchmark: Benchmark) -> dict[str, str]:
    """``{"<dataset>/<asset>": sha256}`` of every file of every dataset ``benchmark`` declares.

    Assets are resolved as a run would resolve them (the active ``NEUROALIGN_STORE`` applied)
    and identified by :func:`neuroalign.store.data_sha256`: the pinned sha256 (every read is
    verified against it), else the sha256 of the verified cached copy. Its digest
    (:func:`neuroalign.scoring.results.data_digest`) is part of the results key, so a result
    computed on other data is never served.
    """
    from ..plugins.lookup import get_registry
    from ..store.assets import assets_for, data_sha256

    registry = get_registry()
    known = set(registry.ids("dataset"))
    files: dict[str, str] = {}
    for dataset in _declared_datasets(benchmark, known, set()):
        spec = registry.spec("dataset", dataset)
        for name, asset in sorted(assets_for(spec).items()):
            files[f"{dataset}/{name}"] = data_sha256(asset, dataset=dataset)
    return files


def _merge_files(declared: dict[str, str], reported: dict[str, str], benchmark: str) -> dict[str, str]:
    """The files a score was computed on; a file read with other bytes than declared is an error."""
    changed = {name: (declared[name], sha) for name, sha in reported.items()
               if name in declared and declared[name] != sha}
    if changed:
        name, (before, after) = next(iter(changed.items()))
        raise NeuroalignError(
            f"benchmark {benchmark!r} read {name} with sha256 {after}, but before the run it had "
            f"sha256 {before}: the data changed during scoring (a store or cache being rewritten?). "
            "Nothing was stored; score again once the data is stable"
        )
    return {**reported, **declared}



def is_current(stored: Score | None, benchmark: Benchmark, *, weights_hash: str,
               request: str = DEFAULT_REQUEST, data_sha256: str | None = None) -> bool:
    """Whether ``stored`` is a result of the model with ``weights_hash`` on the current version of
    ``benchmark`` for ``request``, computed on the data whose digest is ``data_sha256`` (and, for
    a composite, on its members' current versions).

    This is the rule every executor uses to skip work: :func:`score` (through
    :func:`lookup_current`) and the grid (on the records the client holds).
    """
    if stored is None:
        return False
    prov = stored.provenance
    return ((prov.model_weights_sha256 or "") == (weights_hash or "")
            and int(prov.benchmark_version or 0) == int(benchmark.version or 0)
            and prov.request == request
            and (data_sha256 is None or prov.data_sha256 == data_sha256)
            and _members_unchanged(stored, benchmark))


def lookup_current(registry: ResultsDatabase, model_id: str, benchmark: Benchmark, *,
                   weights_hash: str, request: str = DEFAULT_REQUEST,
                   data_sha256: str | None = None) -> Score | None:
    """The stored result of ``model_id`` on ``benchmark`` that :func:`is_current` accepts, or
    ``None`` (then it must be computed)."""
    stored = registry.get(model_id, benchmark.identifier, weights_hash=weights_hash,
                          version=benchmark.version, request=request, data_sha256=data_sha256)
    return stored if is_current(stored, benchmark, weights_hash=weights_hash, request=request,
                                data_sha256=data_sha256) else None


def _call(benchmark: Benchmark, model: Model, layers: Sequence[str] | None,
          progress: bool | None, member_score: Callable[..., Score] | None = None) -> Score:
    layers = None if layers is None else list(layers)
    from .composite import CompositeBenchmark

    if isinstance(benchmark, CompositeBenchmark) and member_score is not None:
        return benchmark(model, layers=layers, progress=progress, member_score=member_score)
    return benchmark(model, layers=layers, progress=progress)


def run_benchmark(model: Model, benchmark: Benchmark, *, layers: Sequence[str] | None = None,
                  seed: int | None = None, progress: bool | None = None,
                  weights_hash: str | None = None, declared: dict[str, str] | None = None,
                  member_score: Callable[..., Score] | None = None) -> Score:
    """Call ``benchmark`` on ``model`` and return its Score with the full provenance (the results
    key, data sha256, weights and data in words, plugin versions, wall time); stores nothing.

    ``weights_hash`` and ``declared`` (:func:`data_fingerprint` of the benchmark) save
    recomputing them when the caller has them; ``member_score`` scores a composite's members
    (through the results database, in :func:`score`).
    """
    from .results import data_digest

    weights = weights_hash if weights_hash is not None else model.weights_hash()
    declared = data_fingerprint(benchmark) if declared is None else declared
    start = time.perf_counter()
    result = _call(benchmark, model, layers, progress, member_score)
    elapsed = time.perf_counter() - start
    sha = {}
    if hasattr(benchmark, "dataset_sha256"):
        sha = dict(benchmark.dataset_sha256())
    provenance = Provenance.here(
        model_id=model.identifier, model_weights_sha256=weights,
        benchmark_id=benchmark.identifier, benchmark_version=benchmark.version,
        dataset_sha256=_merge_files(declared, {**result.provenance.dataset_sha256, **sha},
                                    benchmark.identifier),
        data_sha256=data_digest(declared),
        plugins={**result.provenance.plugins, **_plugins_involved(model, benchmark)},
        seed=seed if seed is not None else result.provenance.seed, wall_time_s=round(elapsed, 3),
        request=_request_key(layers), member_versions=result.provenance.member_versions,
        weights=weights_label(model, weights), data_source=data_source(benchmark, result),
    )
    return result.model_copy(update={"provenance": provenance})


def _leaves(benchmark: Benchmark) -> list[Benchmark]:
    """``benchmark``, or the leaf members of a composite (built on first use)."""
    from .composite import CompositeBenchmark

    if not isinstance(benchmark, CompositeBenchmark):
        return [benchmark]
    out: list[Benchmark] = []
    for name in benchmark.children:
        try:
            out += _leaves(benchmark.benchmark(name))
        except Exception:  # noqa: BLE001 - the composite reports a member it cannot build
            continue
    return out


def _share_passes(model: Model, benchmarks: Sequence[Benchmark], layers: Sequence[str] | None,
                  use_cache: bool, registry: ResultsDatabase | None,
                  progress: bool | None) -> None:
    """One reported-layer pass per stimulus set for the benchmarks (composite members
    included) that will be computed, not read from the results database
    (:mod:`neuroalign.scoring.shared_passes`)."""
    from .results import data_digest
    from .shared_passes import share_reported_passes

    if not getattr(model, "caches_activations", False):
        return
    pending: list[Benchmark] = []
    weights = request = None
    for benchmark in benchmarks:
        for leaf in _leaves(benchmark):
            if use_cache and registry is not None:
                if weights is None:
                    weights, request = model.weights_hash(), _request_key(layers)
                if lookup_current(registry, model.identifier, leaf, weights_hash=weights,
                                  request=request,
                                  data_sha256=data_digest(data_fingerprint(leaf))) is not None:
                    continue
            pending.append(leaf)
    if len(pending) > 1:
        share_reported_passes(model, pending, layers=layers, progress=progress)


def _score_one(model: Model, benchmark: Benchmark, layers: Sequence[str] | None,
               use_cache: bool, registry: ResultsDatabase | None, seed: int | None,
               progress: bool | None, share: bool = True) -> Score:
    """Score one pair through the results database; a composite's members go through it too,
    so members already stored are reused and fresh ones are stored. ``share``: plan the shared
    reported passes of a composite's members (callers that planned already pass False)."""
    from .results import data_digest

    weights = model.weights_hash()
    request = _request_key(layers)
    declared = data_fingerprint(benchmark)
    if use_cache and registry is not None:
        stored = lookup_current(registry, model.identifier, benchmark, weights_hash=weights,
                                request=request, data_sha256=data_digest(declared))
        if stored is not None:
            return stored

    def member_score(child: Benchmark, child_model: Model, child_layers: Sequence[str] | None,
                     child_progress: bool | None) -> Score:
        return _score_one(child_model, child, child_layers, use_cache, registry, seed,
                          child_progress, share=False)  # planned with the composite

    from .composite import CompositeBenchmark

    if share and isinstance(benchmark, CompositeBenchmark):
        _share_passes(model, [benchmark], layers, use_cache, registry, progress)
    result = run_benchmark(model, benchmark, layers=layers, seed=seed, progress=progress,
                           weights_hash=weights, declared=declared, member_score=member_score)
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
        ``layers`` request, data sha256: see :func:`data_fingerprint`) instead of recomputing; activations come from the
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
        _share_passes(model, benchmarks, layers, use_cache, registry, progress)
        out: dict[str, Score] = {}
        for item in track(benchmarks, f"scoring {model.identifier}", show):
            out[item.identifier] = _score_one(model, item, layers, use_cache, registry, None,
                                              progress, share=False)
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
        _share_passes(model, benchmarks, None, use_cache, registry, progress)
        for benchmark in benchmarks:
            try:
                row[benchmark.identifier] = _score_one(model, benchmark, None, use_cache,
                                                       registry, None, progress, share=False)
            except Exception as error:  # noqa: BLE001 - reported by the caller
                row[benchmark.identifier] = error
    return table

