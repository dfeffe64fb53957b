"""The conformance kit: named checks any plugin runs on itself (scikit-learn's check_estimator).

Usage, in a plugin's own tests::

    from neuroalign.testing import parametrize_with_checks
    import neuroalign_majaj2015.plugin

    @parametrize_with_checks(neuroalign_majaj2015.plugin)
    def test_conformance(check):
        check()

Each check is named ``<target>-<check>`` (``Example.V4-corr-check_spec_frozen``) and fails with a
:class:`ConformanceError` saying "<Kind> 'id' should ... Found ...". Checks are cheap: hooks are
called once at collection and synthetic datasets are generated at a small ``scale``. Every model
is built with random weights (``pretrained=False``: nothing is downloaded) and run forward on a
few stimuli, checking that every layer it commits to (``region_layers``) or lists as a candidate
(``layers``) exists and yields activations; benchmarks are scored end to end on the plugin's
first model. Opt out explicitly with ``build_models=False`` (e.g. a catalog of a thousand
architectures whose builds are tested elsewhere).
"""

from __future__ import annotations

import builtins
import contextlib
import inspect
import io
import math
import os
import pickle
import socket
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

from ..plugins.hookspecs import PROJECT
from ..specs import DatasetSpec, Spec, resolve_factory
from ..plugins.manager import HOOKS
from ..plugins.registry import KINDS
from .fixtures import store_env, synthetic_assembly, write_synthetic_store

__all__ = ["ConformanceError", "Check", "parametrize_with_checks", "checks_for", "check_plugin",
           "no_io"]

#: modules that registration and construction must not import (checked when not yet imported)
HEAVY_MODULES = ("torch", "timm", "tensorflow", "jax", "boto3", "botocore", "s3fs", "gcsfs")


class ConformanceError(AssertionError):
    """A plugin breaks a documented rule; the message says which and what was found."""


@dataclass
class Check:
    """One named check; call it to run it (raises :class:`ConformanceError` on failure)."""

    name: str
    function: Callable[..., None]
    args: tuple[Any, ...] = ()

    def __call__(self) -> None:
        self.function(*self.args)

    def __repr__(self) -> str:
        return self.name


@dataclass
class _Plugin:
    """A plugin module as seen by calling its hooks once."""

    module: Any
    name: str
    impls: dict[str, Callable[..., Any]] = field(default_factory=dict)
    staged: list[tuple[str, str, Any]] = field(default_factory=list)  # (hook, kind, object)
    returned: dict[str, Any] = field(default_factory=dict)
    error: BaseException | None = None
    build_models: bool = True
    seed: int = 0
    scale: float = 0.25

    def specs(self, kind: str | None = None) -> list[Spec]:
        return [obj for _, k, obj in self.staged
                if isinstance(obj, KINDS[k]) and (kind is None or k == kind)]


def _label(spec: Spec) -> str:
    kind = type(spec).__name__.removesuffix("Spec")
    return "Ceiling" if getattr(spec, "kind", None) == "ceiling" else kind


def _fail(spec_or_name: Any, should: str, found: str) -> ConformanceError:
    who = spec_or_name if isinstance(spec_or_name, str) else f"{_label(spec_or_name)} {spec_or_name.id!r}"
    return ConformanceError(f"{who} should {should}. Found {found}")


def _skip(reason: str) -> None:
    import pytest

    pytest.skip(reason)


# ------------------------------------------------------------------------------ collection


def _inspect(plugin: Any, **options: Any) -> _Plugin:
    name = getattr(plugin, "__name__", type(plugin).__name__)
    info = _Plugin(plugin, f"Plugin {name!r}", **options)
    for attr in dir(plugin):
        obj = getattr(plugin, attr, None)
        if callable(obj) and getattr(obj, f"{PROJECT}_impl", None) is not None:
            info.impls[attr] = obj
    for hook, function in info.impls.items():
        kind = HOOKS.get(hook)
        if kind is None:
            continue
        try:
            info.returned[hook] = function(register=lambda obj, h=hook, k=kind: info.staged.append((h, k, obj)))
        except Exception as error:  # noqa: BLE001 - reported by check_hookimpls_match_specs
            info.error = error
    return info


def checks_for(plugin: Any, *, build_models: bool = True, seed: int = 0, scale: float = 0.25
               ) -> list[Check]:
    """Every check that applies to ``plugin`` (a module or object with ``@hookimpl`` functions).

    Parameters
    ----------
    plugin : module or object
        What the entry point names, e.g. ``neuroalign_majaj2015.plugin``.
    build_models : bool
        Build every model with random weights and run it forward on a few stimuli
        (:func:`check_model_forward`), and score each benchmark on the plugin's first model
        (default). ``False`` opts out: the checks that need a built model are not yielded.
    seed : int
        Seed passed to synthetic generators.
    scale : float
        ``scale`` passed to synthetic generators (small is fast).
    """
    info = _inspect(plugin, build_models=build_models, seed=seed, scale=scale)
    short = getattr(plugin, "__name__", "plugin").split(".")[0]
    checks = [Check(f"{short}-{fn.__name__}", fn, (info,)) for fn in _PLUGIN_CHECKS]
    for spec in info.specs():
        for fn in _SPEC_CHECKS + _KIND_CHECKS.get(_label(spec), []):
            if _applies(fn, info, spec):
                checks.append(Check(f"{spec.id}-{fn.__name__}", fn, (info, spec)))
    return checks


def _applies(fn: Any, info: _Plugin, spec: Spec) -> bool:
    """Whether ``fn`` applies with these options (like scikit-learn, inapplicable checks are not
    yielded at all rather than reported as skipped)."""
    if fn in (check_runtime_pickles, check_model_forward) and _label(spec) == "Model":
        return info.build_models
    if fn is check_benchmark_deterministic:
        return info.build_models and bool(info.specs("model"))
    return True


def parametrize_with_checks(plugin: Any, *, build_models: bool = True, seed: int = 0,
                            scale: float = 0.25) -> Any:
    """A ``pytest.mark.parametrize("check", ...)`` over :func:`checks_for` ``(plugin, ...)``."""
    import pytest

    checks = checks_for(plugin, build_models=build_models, seed=seed, scale=scale)
    return pytest.mark.parametrize("check", checks, ids=[c.name for c in checks])


def check_plugin(plugin: Any, **options: Any) -> list[str]:
    """Run every check outside pytest; raise the first failure, return the skipped ones."""
    skipped = []
    for check in checks_for(plugin, **options):
        try:
            check()
        except ConformanceError:
            raise
        except BaseException as error:  # pytest.skip raises an exception outside Exception
            if type(error).__name__ != "Skipped":
                raise
            skipped.append(f"{check.name}: {error}")
    return skipped


# ------------------------------------------------------------------------------ I/O guard


@contextlib.contextmanager
def no_io(what: str) -> Iterator[list[str]]:
    """Fail if the block opens a file, a socket, or imports a heavy module (torch, cloud SDKs).

    The block sees an error on its first I/O call, and the guard raises a
    :class:`ConformanceError` on exit even if the block swallowed it.
    """
    calls: list[str] = []

    def refuse(name: str, original: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            if name.endswith("open") and args and _is_import_machinery(args[0]):
                return original(*args, **kwargs)  # imports (pytest's rewriter, metadata) may read
            shown = repr(args[0]) if args and not isinstance(args[0], socket.socket) else (
                repr(args[1]) if len(args) > 1 else "")
            calls.append(f"{name}({shown})")
            raise ConformanceError(f"{what} should do no I/O. Found a call to {calls[-1]}")
        return call

    before = set(sys.modules)
    targets = [(builtins, "open"), (io, "open"), (os, "open"), (socket, "create_connection"),
               (socket, "getaddrinfo"), (socket.socket, "connect")]
    with contextlib.ExitStack() as stack:
        for owner, attr in targets:
            label = f"{getattr(owner, '__name__', owner)}.{attr}"
            stack.enter_context(mock.patch.object(owner, attr, refuse(label, getattr(owner, attr))))
        yield calls
    heavy = sorted(m for m in set(sys.modules) - before if m.split(".")[0] in HEAVY_MODULES
                   and "." not in m)
    if calls:
        raise ConformanceError(f"{what} should do no I/O. Found {', '.join(calls)}")
    if heavy:
        raise ConformanceError(f"{what} should not import heavy modules (import them lazily "
                               f"inside the factory). Found imports of {heavy}")


def _is_import_machinery(path: Any) -> bool:
    text = os.fspath(path) if isinstance(path, (str, os.PathLike)) else ""
    return text.endswith((".py", ".pyc", ".pth")) or "__pycache__" in text or (
        ".dist-info" in text or ".egg-info" in text)


# ------------------------------------------------------------------------------ plugin checks


def check_hookimpls_match_specs(info: _Plugin) -> None:
    """Hooks exist in neuroalign.hookspecs, take known arguments, return None, register specs."""
    import difflib

    from ..plugins import hookspecs

    if not info.impls:
        raise _fail(info.name, "implement at least one neuroalign hook (@hookimpl)", "none")
    for hook, function in info.impls.items():
        if hook not in HOOKS:
            near = difflib.get_close_matches(hook, list(HOOKS), n=1)
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            raise _fail(info.name, f"only implement hooks of neuroalign.hookspecs {sorted(HOOKS)}",
                        f"{hook!r}{hint}")
        allowed = set(inspect.signature(getattr(hookspecs, hook)).parameters)
        extra = set(inspect.signature(function).parameters) - allowed
        if extra:
            raise _fail(info.name, f"give hook {hook!r} only the arguments {sorted(allowed)}",
                        f"{sorted(extra)}")
    if info.error is not None:
        raise _fail(info.name, "register its components without raising",
                    f"{type(info.error).__name__}: {info.error}")
    for hook, value in info.returned.items():
        if value is not None:
            raise _fail(info.name, f"return None from {hook!r} (call register instead)",
                        f"{value!r}")
    for hook, kind, obj in info.staged:
        if not isinstance(obj, KINDS[kind]):
            raise _fail(info.name, f"register {KINDS[kind].__name__} objects from {hook!r}",
                        f"{type(obj).__name__}: {obj!r}")


def check_registration_no_io(info: _Plugin) -> None:
    """Calling every hook opens no file or socket and imports no heavy module."""
    with no_io(f"{info.name} (while registering)"):
        for hook, function in info.impls.items():
            if hook in HOOKS:
                # other errors are check_hookimpls_match_specs' business; I/O is recorded anyway
                with contextlib.suppress(Exception):
                    function(register=lambda obj: None)


def check_ids_unique(info: _Plugin) -> None:
    """No id is registered twice by the plugin."""
    seen: set[tuple[str, str]] = set()
    for _, kind, obj in info.staged:
        key = (kind, getattr(obj, "id", repr(obj)))
        if key in seen:
            raise _fail(info.name, "register each id once", f"{kind} {key[1]!r} twice")
        seen.add(key)


def check_plugin_documented(info: _Plugin) -> None:
    """The plugin module and every hook implementation have docstrings."""
    if not inspect.getdoc(info.module):
        raise _fail(info.name, "have a module docstring", "none")
    for hook, function in info.impls.items():
        if not inspect.getdoc(function):
            raise _fail(info.name, f"document hook implementation {hook!r}", "no docstring")


_PLUGIN_CHECKS = [check_hookimpls_match_specs, check_registration_no_io, check_ids_unique,
                  check_plugin_documented]


# ------------------------------------------------------------------------------ spec checks


def check_id_form(info: _Plugin, spec: Spec) -> None:
    """The id has the documented form of its kind (``Family.Region-metric``, ``source:name``...)."""
    if not type(spec).id_pattern.match(spec.id):
        raise _fail(spec, f"have an id of the form {type(spec).id_form}", repr(spec.id))


def check_spec_json_roundtrip(info: _Plugin, spec: Spec) -> None:
    """``model_validate_json(model_dump_json())`` gives an equal spec."""
    try:
        again = type(spec).model_validate_json(spec.model_dump_json())
    except Exception as error:  # noqa: BLE001
        raise _fail(spec, "round-trip through JSON", f"{type(error).__name__}: {error}") from error
    if again != spec:
        raise _fail(spec, "round-trip through JSON unchanged",
                    f"{again.model_dump()} != {spec.model_dump()}")


def check_spec_frozen(info: _Plugin, spec: Spec) -> None:
    """Assigning a field raises; unknown fields are rejected."""
    try:
        spec.description = "changed"  # type: ignore[misc]
    except Exception:  # noqa: BLE001 - pydantic's ValidationError or TypeError
        pass
    else:
        raise _fail(spec, "be frozen (assigning a field must raise)", "the assignment succeeded")
    try:
        type(spec).model_validate({**spec.model_dump(), "unknown_field_": 1})
    except Exception:  # noqa: BLE001
        return
    raise _fail(spec, "reject unknown fields (extra='forbid')", "'unknown_field_' accepted")


def check_spec_construction_no_io(info: _Plugin, spec: Spec) -> None:
    """Constructing the spec again from its fields does no I/O."""
    data = spec.model_dump()
    with no_io(f"{_label(spec)} {spec.id!r} (constructing its spec)"):
        type(spec).model_validate(data)


def check_factory_documented(info: _Plugin, spec: Spec) -> None:
    """The factory imports, and it and the public methods of the class it builds are documented."""
    try:
        factory = resolve_factory(spec.factory)
    except Exception as error:  # noqa: BLE001
        raise _fail(spec, f"have an importable factory {spec.factory!r}", str(error)) from error
    if not inspect.getdoc(factory):
        raise _fail(spec, f"have a documented factory {spec.factory!r}", "no docstring")
    if inspect.isclass(factory):
        for name, member in inspect.getmembers(factory, inspect.isfunction):
            if not name.startswith("_") and not inspect.getdoc(member):
                raise _fail(spec, f"document the public method {factory.__name__}.{name}",
                            "no docstring")


def check_runtime_pickles(info: _Plugin, spec: Spec) -> None:
    """Building the runtime object does no I/O and the object pickles (for distributed runs)."""
    if _label(spec) == "Model" and not info.build_models:
        _skip("models are built only with build_models=True")
    if _label(spec) == "Model":
        spec = _random_weights(spec)
    factory = resolve_factory(spec.factory)  # importing is allowed; constructing must be cheap
    guard = no_io(f"{_label(spec)} {spec.id!r} (building its runtime object)")
    with (guard if _label(spec) != "Model" else contextlib.nullcontext()):
        obj = factory(spec)
    try:
        pickle.loads(pickle.dumps(obj))
    except Exception as error:  # noqa: BLE001
        raise _fail(spec, "build a runtime object that pickles",
                    f"{type(error).__name__}: {error}") from error


def _random_weights(spec: Spec) -> Spec:
    """``spec`` with ``pretrained=False`` when it has that parameter (nothing is downloaded)."""
    if "pretrained" in spec.parameters:
        return spec.with_parameters({"pretrained": False})
    return spec


#: stimuli the forward check uses: few and small (the model resizes them)
FORWARD_STIMULI = 2


def check_model_forward(info: _Plugin, spec: Spec) -> None:
    """Built with random weights, the model runs forward on a few stimuli and every layer it
    commits to (``region_layers``) or lists as a candidate (``layers``) yields activations."""
    import numpy as np

    from ..stimuli import StimulusSet

    model = resolve_factory(spec.factory)(_random_weights(spec))
    committed = list(dict.fromkeys(spec.region_layers.values()))
    layers = list(dict.fromkeys([*committed, *spec.layers, *getattr(model, "layers", ())]))
    if not layers:
        raise _fail(spec, "commit to a layer for a region (region_layers) or list candidate "
                    "layers (layers)", "neither")
    rng = np.random.default_rng(info.seed)
    images = rng.integers(0, 256, size=(FORWARD_STIMULI, 64, 64, 3), dtype=np.uint8)
    stimuli = StimulusSet.from_arrays("conformance.forward", [f"s{i}" for i in
                                                              range(FORWARD_STIMULI)], images, 8.0)
    import tempfile

    try:
        # a private NEUROALIGN_HOME: the activation cache of this check is thrown away
        with tempfile.TemporaryDirectory() as home, mock.patch.dict(os.environ,
                                                                    {"NEUROALIGN_HOME": home}):
            found = model.activations(stimuli, layers, reduction=None, progress=False)
    except Exception as error:  # noqa: BLE001 - the message names the layer when one is missing
        missing = [name for name in committed if name not in layers]
        raise _fail(spec, f"run forward on {FORWARD_STIMULI} stimuli and yield its layers "
                    f"{layers[:8]}{' ...' if len(layers) > 8 else ''}",
                    f"{type(error).__name__}: {error}" + (f" (missing: {missing})" if missing
                                                          else "")) from error
    names = set(map(str, found["layer"].values)) if "layer" in found.coords else set()
    absent = [name for name in layers if name not in names]
    if absent:
        raise _fail(spec, "yield activations for every committed and candidate layer",
                    f"no activations for {absent} (got layers {sorted(names)[:8]})")
    if found.sizes.get("presentation") != FORWARD_STIMULI:
        raise _fail(spec, f"yield one row per stimulus ({FORWARD_STIMULI})",
                    f"{found.sizes.get('presentation')} rows")


_SPEC_CHECKS = [check_id_form, check_spec_json_roundtrip, check_spec_frozen,
                check_spec_construction_no_io, check_factory_documented, check_runtime_pickles]


# ------------------------------------------------------------------------------ datasets


def _load_synthetic(info: _Plugin, spec: DatasetSpec, directory: Path, seed: int) -> Any:
    write_synthetic_store([spec], directory, seed=seed, scale=info.scale)
    with store_env(directory):
        return resolve_factory(spec.factory)(spec).load()


def _xarray(data: Any) -> Any:
    from ..stimuli import StimulusSet

    return data.dataset if isinstance(data, StimulusSet) else data  # it wraps an xarray.Dataset


def check_dataset_synthetic_loads(info: _Plugin, spec: DatasetSpec) -> None:
    """The synthetic generator writes every asset, and load() gives the documented dims/coords."""
    import tempfile

    import xarray as xr

    if spec.synthetic is None:
        _skip(f"dataset {spec.id!r} has no synthetic generator")
    with tempfile.TemporaryDirectory() as tmp:
        paths = resolve_factory(spec.synthetic)(spec, Path(tmp) / "gen", seed=info.seed,
                                                scale=info.scale)
        if not isinstance(paths, dict) or set(paths) != {a.name for a in spec.assets}:
            raise _fail(spec, "have a synthetic generator returning {asset name: path} for the "
                        f"assets {sorted(a.name for a in spec.assets)}", repr(paths))
        data = _load_synthetic(info, spec, Path(tmp) / "store", info.seed)
    data = _xarray(data)
    if not isinstance(data, (xr.DataArray, xr.Dataset)):
        raise _fail(spec, "load() an xarray DataArray or Dataset", type(data).__name__)
    dims, coords = set(map(str, data.dims)), set(map(str, data.coords))
    if not dims & {"presentation", "stimulus"}:
        raise _fail(spec, "load data with a 'presentation' (or 'stimulus') dim", f"dims {sorted(dims)}")
    wanted = {"stimulus_id"} | ({"neuroid_id"} if spec.kind == "neural" else set())
    if spec.kind == "neural" and "neuroid" not in dims:
        raise _fail(spec, "load neural data with a 'neuroid' dim", f"dims {sorted(dims)}")
    if not wanted <= coords:
        raise _fail(spec, f"load data with the coords {sorted(wanted)}", f"coords {sorted(coords)}")


def check_dataset_synthetic_deterministic(info: _Plugin, spec: DatasetSpec) -> None:
    """The synthetic generator writes the same data for the same seed."""
    import tempfile

    import xarray as xr

    if spec.synthetic is None:
        _skip(f"dataset {spec.id!r} has no synthetic generator")
    with tempfile.TemporaryDirectory() as tmp:
        first = _load_synthetic(info, spec, Path(tmp) / "a", info.seed)
        second = _load_synthetic(info, spec, Path(tmp) / "b", info.seed)
    try:
        xr.testing.assert_identical(_xarray(first), _xarray(second))
    except AssertionError as error:
        raise _fail(spec, f"generate identical synthetic data for seed {info.seed}",
                    str(error)[:300]) from error


# ------------------------------------------------------------------------------ metrics


def _metric(spec: Spec) -> Any:
    if spec.kind == "behavioral":
        _skip(f"metric {spec.id!r} is behavioral: it compares choices, not presentation x neuroid")
    return resolve_factory(spec.factory)(spec)


def check_metric_perfect_source(info: _Plugin, spec: Spec) -> None:
    """A source identical to the target scores at the top (>= 0.9)."""
    target = synthetic_assembly(seed=info.seed)
    value = float(_metric(spec)(target.copy(deep=True), target).value)
    if not value >= 0.9:
        raise _fail(spec, "score a source identical to the target near its maximum (>= 0.9)", f"{value:.4f}")


def check_metric_shuffled_source(info: _Plugin, spec: Spec) -> None:
    """A source whose presentations are shuffled scores about zero (|value| <= 0.2)."""
    import numpy as np

    target = synthetic_assembly(seed=info.seed)
    order = np.random.default_rng(info.seed + 1).permutation(target.sizes["presentation"])
    value = float(_metric(spec)(target.copy(data=target.values[order]), target).value)
    if not abs(value) <= 0.2:
        raise _fail(spec, "score a shuffled source about zero (|value| <= 0.2)", f"{value:.4f}")


def check_metric_deterministic(info: _Plugin, spec: Spec) -> None:
    """Two runs on the same inputs (fresh objects, same seed) give the same value."""
    target = synthetic_assembly(seed=info.seed, repetitions=2, noise=0.5)
    if spec.kind == "ceiling":
        values = [resolve_factory(spec.factory)(spec)(target).value for _ in range(2)]
    else:
        source = synthetic_assembly(seed=info.seed + 7).isel(presentation=slice(0, target.sizes["presentation"]))
        target = target.isel(presentation=target["repetition"].values == 0)
        source = source.assign_coords(stimulus_id=("presentation", target["stimulus_id"].values))
        values = [_metric(spec)(source, target).value for _ in range(2)]
    if not (values[0] == values[1] or all(math.isnan(v) for v in values)):
        raise _fail(spec, "be deterministic for a fixed seed", f"{values[0]!r} then {values[1]!r}")


def check_metric_inputs_not_mutated(info: _Plugin, spec: Spec) -> None:
    """The metric leaves its inputs (values and coords) unchanged."""
    import xarray as xr

    target = synthetic_assembly(seed=info.seed, repetitions=2, noise=0.5)
    inputs = [target] if spec.kind == "ceiling" else [target.copy(deep=True), target]
    saved = [x.copy(deep=True) for x in inputs]
    obj = resolve_factory(spec.factory)(spec) if spec.kind == "ceiling" else _metric(spec)
    obj(*inputs)
    for before, after in zip(saved, inputs):
        try:
            xr.testing.assert_identical(before, after)
        except AssertionError as error:
            raise _fail(spec, "leave its inputs unchanged", str(error)[:300]) from error


def check_ceiling_perfectly_reliable(info: _Plugin, spec: Spec) -> None:
    """A ceiling of an assembly whose repetitions agree (noise 1e-3) is near 1 (>= 0.95)."""
    assembly = synthetic_assembly(seed=info.seed, repetitions=4, noise=1e-3)
    value = float(resolve_factory(spec.factory)(spec)(assembly).value)
    if not value >= 0.95:
        raise _fail(spec, "give a perfectly reliable assembly a ceiling near 1 (>= 0.95)", f"{value:.4f}")


# ------------------------------------------------------------------------------ aggregators


def check_aggregator_rank(info: _Plugin, spec: Spec) -> None:
    """rank() gives one value per model, the best model on every benchmark first; no mutation."""
    import pandas as pd

    table = pd.DataFrame({"A.V4-x": [0.6, 0.4, 0.2], "A.IT-x": [0.5, 0.3, 0.1],
                          "B.behavior-y": [0.9, 0.5, 0.4]}, index=["best", "middle", "worst"])
    saved = table.copy()
    ranking = resolve_factory(spec.factory)(spec).rank(table)
    if not isinstance(ranking, pd.Series) or list(ranking.index) != list(table.index):
        raise _fail(spec, "rank a table into a Series indexed by its rows (models)", repr(ranking))
    if list(ranking.sort_values(ascending=False).index) != ["best", "middle", "worst"]:
        raise _fail(spec, "rank a model that is best on every benchmark first (higher is better)",
                    ranking.to_dict())
    if not table.equals(saved):
        raise _fail(spec, "leave the table unchanged", table.to_dict())


def check_aggregator_combine(info: _Plugin, spec: Spec) -> None:
    """combine() keeps the children and gives a value between their min and max."""
    from ..scores import Score

    aggregator = resolve_factory(spec.factory)(spec)
    if not getattr(aggregator, "combines", True):
        _skip(f"aggregator {spec.id!r} only ranks several models")
    children = {"A.V4-x": Score(value=0.2), "A.IT-x": Score(value=0.4)}
    result = aggregator.combine(children)
    if set(result.children) != set(children):
        raise _fail(spec, "keep the children in the combined Score", sorted(result.children))
    if not 0.2 <= result.value <= 0.4:
        raise _fail(spec, "combine 0.2 and 0.4 into a value between them", f"{result.value!r}")


# ------------------------------------------------------------------------------ benchmarks


def _manager_with(info: _Plugin) -> Any:
    """A manager holding this plugin and every other installed plugin (not this one twice)."""
    import warnings
    from importlib import metadata

    from ..plugins.manager import ENTRY_POINT_GROUP, PluginManager

    manager = PluginManager(autoload=False)
    manager.register(info.module, name="plugin-under-test")
    with warnings.catch_warnings():
        # other plugins' problems are not this plugin's (`neuroalign plugins` reports them)
        warnings.simplefilter("ignore")
        for entry_point in metadata.entry_points(group=ENTRY_POINT_GROUP):
            if entry_point.value == getattr(info.module, "__name__", None):
                continue
            try:
                manager.register(entry_point.load(), name=entry_point.name)
            except Exception:  # noqa: BLE001
                continue
        manager.registry  # noqa: B018 - collect now, while warnings are silenced
    return manager


def check_benchmark_references(info: _Plugin, spec: Spec) -> None:
    """The dataset, metric, ceiling and children it names are registered (here or installed)."""
    from ..errors import NeuroalignError

    registry = _manager_with(info).registry
    wanted = [("dataset", spec.dataset), ("metric", spec.metric), ("metric", spec.ceiling)]
    children = spec.parameters.get("children") if spec.kind == "composite" else None
    wanted += [("benchmark", child) for child in _leaves(children)]
    for kind, identifier in wanted:
        if identifier is None:
            continue
        try:
            registry.spec(kind, identifier)
        except NeuroalignError as error:
            raise _fail(spec, f"reference a registered {kind}", f"{identifier!r}: {error}") from error


def _leaves(tree: Any) -> list[str]:
    if isinstance(tree, str):
        return [tree]
    if isinstance(tree, dict):
        return [leaf for value in tree.values() for leaf in _leaves(value)]
    if isinstance(tree, (list, tuple)):
        return [leaf for value in tree for leaf in _leaves(value)]
    return []


def _datasets_of(registry: Any, spec: Spec) -> list[str]:
    """Dataset ids a benchmark reads: its dataset, dataset-valued parameters, and those of the
    members of a composite (so only these are generated, not every installed plugin's)."""
    known = set(registry.ids("dataset"))
    found = [spec.dataset] if getattr(spec, "dataset", None) else []
    found += [v for v in spec.parameters.values() if isinstance(v, str) and v in known]
    if spec.kind == "composite":
        for child in _leaves(spec.parameters.get("children")):
            found += _datasets_of(registry, registry.spec("benchmark", child))
    return list(dict.fromkeys(found))


def check_benchmark_deterministic(info: _Plugin, spec: Spec) -> None:
    """Scoring the plugin's first model twice on synthetic data gives the same value."""
    import tempfile

    from ..plugins.lookup import use_plugin_manager

    models = info.specs("model")
    if not info.build_models or not models:
        _skip("needs build_models=True and a model registered by the plugin")
    manager = _manager_with(info)
    registry = manager.registry
    old = use_plugin_manager(manager)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            datasets = [registry.spec("dataset", d) for d in _datasets_of(registry, spec)]
            write_synthetic_store(datasets, Path(tmp), seed=info.seed, scale=info.scale)
            with store_env(Path(tmp)):
                model = _random_weights(models[0]).build()
                values = [registry.build("benchmark", spec.id)(model).value for _ in range(2)]
    finally:
        use_plugin_manager(old)
    if not (values[0] == values[1] or all(math.isnan(v) for v in values)):
        raise _fail(spec, f"score {models[0].id!r} deterministically", f"{values[0]!r} then {values[1]!r}")


# ------------------------------------------------------------------------------ figures


def check_figure_explains_missing_data(info: _Plugin, spec: Spec) -> None:
    """Called without any results, the figure raises FigureUnavailable with a reason."""
    import pandas as pd

    from ..app.report.charts import FigureContext
    from ..app.report.leaderboard import leaderboard
    from ..errors import FigureUnavailable

    empty = pd.DataFrame(columns=["model", "benchmark", "value"])
    board = leaderboard(empty, aggregator=None)
    subject = {"benchmark": "Absent.IT-none", "model": "absent:model"}.get(spec.scope)
    context = FigureContext(results=empty, board=board, subject=subject,
                            parameters=dict(spec.parameters))
    figure = resolve_factory(spec.factory)(spec)
    try:
        figure(context)
    except FigureUnavailable as error:
        if not str(error).strip():
            raise _fail(spec, "say why it cannot be drawn", "an empty FigureUnavailable") from error
        return
    except Exception as error:  # noqa: BLE001
        raise _fail(spec, "raise FigureUnavailable when its data is absent",
                    f"{type(error).__name__}: {error}") from error
    raise _fail(spec, "raise FigureUnavailable when its data is absent", "charts from no data")


_KIND_CHECKS: dict[str, list[Callable[..., None]]] = {
    "Model": [check_model_forward],
    "Dataset": [check_dataset_synthetic_loads, check_dataset_synthetic_deterministic],
    "Metric": [check_metric_perfect_source, check_metric_shuffled_source,
               check_metric_deterministic, check_metric_inputs_not_mutated],
    "Ceiling": [check_ceiling_perfectly_reliable, check_metric_deterministic,
                check_metric_inputs_not_mutated],
    "Aggregator": [check_aggregator_rank, check_aggregator_combine],
    "Benchmark": [check_benchmark_references, check_benchmark_deterministic],
    "Figure": [check_figure_explains_missing_data],
}
