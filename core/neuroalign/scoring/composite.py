"""Composite benchmarks: ``compose({...}, aggregator="mean")`` -> a Benchmark of benchmarks.

A composite is a :class:`~neuroalign.Benchmark` like any other (its spec has
``kind="composite"``), so it can be composed again, registered by a plugin, scored and stored::

    suite = neuroalign.compose({
        "V4": ["MajajHong2015.V4-pls"],
        "IT": ["MajajHong2015.IT-pls"],
        "behavior": ["Rajalingham2018-i2n"],  # the Brain-Score id
    }, aggregator="mean")
    score = suite("timm:resnet50")      # Score tree: overall -> V4/IT/behavior -> benchmarks

Children given by id are built on first call through :func:`neuroalign.get_benchmark`, so
composing is cheap and a composite pickles to a worker without its data.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

from ..errors import SpecError
from ..specs import REGIONS, BenchmarkSpec
from ..interfaces import Aggregator, Benchmark, Model
from ..scores import Score

__all__ = ["compose", "CompositeBenchmark"]

_GROUP = re.compile(r"^[A-Za-z0-9_]+$")
_FACTORY = "neuroalign.composite:CompositeBenchmark.from_spec"

Child = str | Benchmark
OnError = Literal["raise", "missing"]


class CompositeBenchmark(Benchmark):
    """A benchmark that runs child benchmarks and combines their Scores with an aggregator.

    Build it with :func:`compose`, or register a :class:`~neuroalign.BenchmarkSpec` with
    ``factory="neuroalign.composite:CompositeBenchmark.from_spec"`` and ``parameters`` holding
    ``children`` (the tree of ids :func:`compose` accepts) and ``aggregator``.

    Parameters
    ----------
    spec : BenchmarkSpec
        Of ``kind="composite"``; ``parameters`` records the tree of child ids and the aggregator.
    children : mapping of str to Benchmark or str
        Child name (benchmark id or group name) -> benchmark object or id (built lazily).
    aggregator : Aggregator, optional
        Combines the children's Scores; must support ``combine`` (``mean``, not ``zmean``).
        None: built on first call from ``spec.parameters["aggregator"]`` (and
        ``["aggregator_parameters"]``), so constructing a registered composite loads nothing.
    on_error : {"raise", "missing"}
        ``"missing"`` turns a child that raises into a NaN Score (with ``attrs["error"]``) that
        the aggregator's ``missing`` rule handles; ``"raise"`` lets the error through.
    """

    def __init__(self, spec: BenchmarkSpec, children: Mapping[str, Child],
                 aggregator: Aggregator | None = None, on_error: OnError = "raise"):
        if on_error not in ("raise", "missing"):
            raise SpecError(f"Benchmark {spec.id!r}: on_error={on_error!r}; use 'raise' or 'missing'")
        self.spec = spec
        self.children: dict[str, Child] = dict(children)
        #: children given by id: built lazily, and shipped to workers as ids again
        self._lazy = {name for name, child in self.children.items() if isinstance(child, str)}
        self._aggregator = aggregator
        self.on_error = on_error

    @property
    def aggregator(self) -> Aggregator:
        """The aggregator, built from the spec's parameters on first use when not given."""
        if self._aggregator is None:
            from ..plugins.lookup import get_aggregator

            params = self.spec.parameters
            self._aggregator = _aggregator(get_aggregator(
                params.get("aggregator", "mean"), parameters=params.get("aggregator_parameters")))
        return self._aggregator

    @classmethod
    def from_spec(cls, spec: BenchmarkSpec) -> CompositeBenchmark:
        """Factory for registered composite specs (children by id, built lazily)."""
        params = spec.parameters
        if "children" not in params:
            raise SpecError(
                f"Benchmark {spec.id!r} should list its children in parameters['children']. "
                f"Found parameters {sorted(params)}"
            )
        agg = (params.get("aggregator", "mean"), params.get("aggregator_parameters") or {})
        tree = _tree(params["children"], f"parameters['children'] of {spec.id!r}")
        built = _build(tree, tree, agg, spec.id, spec.id.split(".", 1)[0], spec.region,
                       params.get("on_error", "raise"))
        return cls(spec, built.children, None, built.on_error)

    def benchmark(self, name: str) -> Benchmark:
        """The child called ``name``, built (and kept) on first use."""
        child = self.children[name]
        if isinstance(child, str):
            from ..plugins.lookup import get_benchmark

            child = self.children[name] = get_benchmark(child)
        return child

    def __call__(self, model: Model | str, *, layers: Sequence[str] | None = None,
                 progress: bool | None = None,
                 member_score: Callable[..., Score] | None = None) -> Score:
        """Score ``model`` (a Model or a model id, built once) on every child, then combine.

        ``layers`` and ``progress`` are passed on to every child. ``member_score(benchmark,
        model, layers, progress)``, when given, scores each child instead of calling it:
        :func:`neuroalign.score` passes one that looks the child up in the results database
        first (and stores it when computed), so members scored before are not recomputed.
        """
        if self.on_error == "raise":
            self.check_members()
        if isinstance(model, str):
            from ..plugins.lookup import get_model

            model = get_model(model)
        start = time.perf_counter()
        scores: dict[str, Score] = {}
        for name in self.children:
            try:
                bench = self.benchmark(name)
                if member_score is not None:
                    score = member_score(bench, model, layers, progress)
                else:
                    score = bench(model, layers=layers, progress=progress)
            except Exception as error:  # noqa: BLE001 - policy chosen by on_error
                if self.on_error == "raise":
                    raise
                bench, score = None, Score(value=math.nan,
                                           attrs={"error": f"{type(error).__name__}: {error}"})
            scores[name] = _annotate(name, score, bench)
        result = self.aggregator.combine(scores)
        provenance = result.provenance.model_copy(update={
            "model_id": getattr(model, "identifier", None),
            "benchmark_id": self.spec.id,
            "benchmark_version": self.spec.version,
            "wall_time_s": time.perf_counter() - start,
            "member_versions": self.member_versions(),
        })
        attrs = {**result.attrs, "kind": "composite"}
        if self.spec.region:
            attrs["region"] = self.spec.region
        return result.model_copy(update={"provenance": provenance, "attrs": attrs})

    def unregistered_members(self) -> list[str]:
        """Member ids (given by id, at any depth) that no installed plugin registers."""
        from ..errors import NeuroalignError
        from ..plugins.lookup import get_registry

        registry = get_registry()
        missing: list[str] = []
        for child in self.children.values():
            if isinstance(child, str):
                try:
                    registry.spec("benchmark", child)
                except NeuroalignError:
                    missing.append(child)
            elif isinstance(child, CompositeBenchmark):
                missing += [m for m in child.unregistered_members() if m not in missing]
        return missing

    def check_members(self) -> None:
        """Raise before any scoring when a member is not installed (``on_error="raise"``).

        A registered composite may name members that another distribution provides (its spec's
        ``parameters["providers"]``: member id -> pip distribution); registering it needs none
        of them, scoring it needs all of them, so this fails at once, naming what to install,
        instead of after the installed members have been scored.

        Raises
        ------
        neuroalign.UnknownIdError
            For the first missing member (with close matches), listing every missing member
            and the distributions that provide them.
        """
        from ..plugins.lookup import list_benchmarks
        from ..plugins.providers import unknown_id_error

        missing = self.unregistered_members()
        if not missing:
            return
        providers = self.spec.parameters.get("providers") or {}
        named = sorted({providers[m] for m in missing if m in providers})
        install = (f"install {' '.join(named)} (pip install {' '.join(named)})" if named
                   else "install the plugin that registers them")
        error = unknown_id_error("benchmark", missing[0], list_benchmarks())
        error.args = (
            f"{error}. Composite {self.spec.id!r} needs benchmark(s) {missing} that no installed "
            f"plugin registers: {install}, or score the other members with a missing one "
            f"counting as 0: neuroalign.get_benchmark({self.spec.id!r}, "
            "parameters={'on_error': 'missing'})",)
        raise error

    def member_versions(self) -> dict[str, int | None]:
        """Benchmark id -> version of every benchmark below this composite, nested ones included.

        Stored in each result's ``attrs``: the composite's own ``version`` does not change when a
        member's does, so :func:`neuroalign.score` compares these to decide whether a stored
        composite result is still current. A member that cannot be built (``on_error=
        "missing"``) maps to None.
        """
        if self.on_error == "raise":
            self.check_members()
        versions: dict[str, int | None] = {}
        for name in self.children:
            try:
                bench = self.benchmark(name)
            except Exception:  # noqa: BLE001 - the same policy as __call__
                if self.on_error == "raise":
                    raise
                versions[name] = None
                continue
            versions[bench.spec.id] = int(bench.spec.version)
            if isinstance(bench, CompositeBenchmark):
                versions.update(bench.member_versions())
        return versions

    def __getstate__(self) -> dict[str, Any]:
        # children built from ids are rebuilt in the worker rather than shipped with their data
        state = dict(self.__dict__)
        state["children"] = {k: (k if k in self._lazy else v) for k, v in self.children.items()}
        return state

    def __repr__(self) -> str:
        return f"CompositeBenchmark({self.spec.id!r}, children={list(self.children)})"


def _annotate(name: str, score: Score, bench: Benchmark | None) -> Score:
    """Record the child's region and kind in its attrs so the aggregator can group it."""
    spec = getattr(bench, "spec", None)
    attrs = dict(score.attrs)
    if spec is not None:
        if spec.region and "region" not in attrs:
            attrs["region"] = spec.region
        if "kind" not in attrs:
            attrs["kind"] = spec.kind
    return score.model_copy(update={"attrs": attrs})


def compose(spec: Any, aggregator: str | Aggregator | Callable[[Any], Any] = "mean", *,
            name: str | None = None, identifier: str | None = None,
            on_error: OnError = "raise") -> CompositeBenchmark:
    """Build a composite benchmark from benchmark ids or objects, nested by region.

    Parameters
    ----------
    spec : mapping, sequence, str or Benchmark
        A mapping group name -> (list of ids/benchmarks, a single one, or a nested mapping), e.g.
        ``{"V4": ["MajajHong2015.V4-pls"], "IT": [...], "behavior": [...]}``; or a flat list of
        ids/benchmarks. Group names must match ``[A-Za-z0-9_]+``; a group named after a region
        (V1, V2, V4, IT, behavior) becomes a composite of that region.
    aggregator : str, Aggregator or callable
        Aggregator id or object used at every level; it must support ``combine`` (``mean``, or
        ``get_aggregator("mean", parameters={"missing": "skip"})``). A plain function
        ``f(table) -> pandas.Series`` works too (see :class:`FunctionAggregator`): it gets a
        model x child table (one row when combining one model) and returns one value per row.
    name : str, optional
        A readable suite name (letters, digits, ``_``): the id becomes
        ``<name>.overall-<aggregator>`` and its groups ``<name>.<group>-<aggregator>``. The
        name is what identifies the suite in the results database, so give different suites
        different names (a stored result is reused only while the member versions match).
    identifier : str, optional
        The composite's full id (``Family.name``), instead of ``name``; default
        ``Suite_<hash>.overall-<aggregator>`` where the hash covers the tree and the aggregator,
        so different unnamed suites never share an id in the results registry. Groups get
        ``<Family>.<group>-<aggregator>``.
    on_error : {"raise", "missing"}
        What a child that raises becomes (see :class:`CompositeBenchmark`).

    Returns
    -------
    CompositeBenchmark
        Called on a model, returns a Score tree whose children are named by benchmark id (leaves)
        and group name (groups).
    """
    agg = _aggregator(aggregator)
    tree = _tree(spec, "spec")
    agg_id = agg.spec.id
    if name is not None:
        if identifier is not None:
            raise SpecError("compose: give name= or identifier=, not both")
        if not isinstance(name, str) or not _GROUP.match(name):
            raise SpecError(f"compose: name={name!r} must match [A-Za-z0-9_]+ (it becomes the "
                            "family of the suite's id), e.g. name='MyLabSuite'")
        identifier = f"{name}.overall-{agg_id}"
    if identifier is None:
        digest = hashlib.sha256(json.dumps([tree, agg_id, agg.spec.parameters], sort_keys=True,
                                           default=str).encode()).hexdigest()[:8]
        identifier = f"Suite_{digest}.overall-{agg_id}"
    family = identifier.split(".", 1)[0]
    return _build(spec, tree, agg, identifier, family, None, on_error)


def _aggregator(aggregator: Any) -> Aggregator:
    if isinstance(aggregator, str):
        from ..plugins.lookup import get_aggregator

        aggregator = get_aggregator(aggregator)
    elif not isinstance(aggregator, Aggregator) and callable(aggregator):
        from .aggregate import FunctionAggregator

        aggregator = FunctionAggregator(aggregator)
    if not isinstance(aggregator, Aggregator):
        raise SpecError(f"compose needs an aggregator id, an Aggregator or a function "
                        f"f(table) -> Series; found {aggregator!r}")
    if not getattr(aggregator, "combines", True):
        raise SpecError(
            f"compose needs an aggregator that combines one model's scores; "
            f"{aggregator.spec.id!r} only ranks several models (use it with neuroalign.rank). "
            "Use aggregator='mean'"
        )
    return aggregator


def _tree(node: Any, where: str) -> Any:
    """The JSON form of a compose spec: ids for benchmarks, dicts and lists kept."""
    if isinstance(node, str):
        return node
    if isinstance(node, Benchmark):
        return node.spec.id
    if isinstance(node, Mapping):
        if not node:
            raise SpecError(f"compose: {where} is an empty mapping; give at least one group")
        for name in node:
            if not isinstance(name, str) or not _GROUP.match(name):
                raise SpecError(
                    f"compose: group name {name!r} in {where} must match [A-Za-z0-9_]+ "
                    "(it becomes part of a benchmark id), e.g. 'V4' or 'behavior'"
                )
        return {name: _tree(value, f"{where}[{name!r}]") for name, value in node.items()}
    if isinstance(node, Sequence):
        if not node:
            raise SpecError(f"compose: {where} is empty; list at least one benchmark")
        items = [_tree(item, f"{where}[{i}]") for i, item in enumerate(node)]
        if any(isinstance(item, (dict, list)) for item in items):
            raise SpecError(f"compose: {where} mixes lists and groups; nest groups in a mapping")
        return items
    raise SpecError(
        f"compose: {where} should be a benchmark id, a Benchmark, a list of them or a mapping "
        f"of groups. Found {type(node).__name__}: {node!r}"
    )


def _build(node: Any, tree: Any, agg: Aggregator | tuple[str, dict[str, Any]], identifier: str,
           family: str, region: str | None, on_error: OnError) -> CompositeBenchmark:
    """A composite for ``node``; ``agg`` is an Aggregator, or ``(id, parameters)`` built lazily."""
    agg_id, agg_params = (agg.spec.id, dict(agg.spec.parameters)) if isinstance(agg, Aggregator) else agg
    children: dict[str, Child] = {}
    if isinstance(node, Mapping):
        for name, value in node.items():
            children[name] = _build(value, tree[name], agg, f"{family}.{name}-{agg_id}",
                                    family, name if name in REGIONS else None, on_error)
    else:
        for item in ([node] if isinstance(node, (str, Benchmark)) else node):
            key = item if isinstance(item, str) else item.spec.id
            if key in children:
                raise SpecError(f"compose: benchmark {key!r} is listed twice in {identifier!r}")
            children[key] = item
    try:
        spec = BenchmarkSpec(
            id=identifier, factory=_FACTORY, kind="composite", region=region,
            parameters={"children": tree, "aggregator": agg_id,
                        "aggregator_parameters": agg_params, "on_error": on_error},
            description=f"Composite of {list(children)} combined with {agg_id!r}.",
        )
    except ValueError as error:
        raise SpecError(f"compose: identifier {identifier!r} is not a valid benchmark id: {error}"
                        ) from error
    return CompositeBenchmark(spec, children, agg if isinstance(agg, Aggregator) else None, on_error)
