"""The offline demo: build the synthetic store, score models on every benchmark, show a leaderboard.

``neuroalign demo`` (and ``bash dev demo``) runs :func:`run`:

1. :func:`build_store` asks every installed dataset plugin's synthetic generator
   (``DatasetSpec.synthetic``) for its files and writes them, with an ``index.json`` (sha256 and
   size of every asset, in the :mod:`neuroalign.index` format), into ``<output>/store``. Nothing
   touches the network; the same seed and scale give the same bytes. An intact store built with
   the same parameters and plugin versions is reused.
2. ``NEUROALIGN_STORE`` points at that store and ``NEUROALIGN_OFFLINE=1`` is set, for this process
   only, so datasets load the synthetic files through the normal, verified data path.
3. The models (default: those plugins offer to the demo through spec metadata ``demo``: the
   ground-truth network ``synthetic:groundtruth``, which generated the data, and two timm
   architectures ``timm:resnet18`` and ``timm:mobilenetv3_small_100``, with
   *random* weights: pretrained weights cannot be downloaded offline) are scored on every
   installed benchmark; results go to ``<output>/results.sqlite``, so a rerun is instant.
   Adversarial (gradient-attack) benchmarks are skipped unless asked for: on a CPU they take
   tens of minutes per ImageNet-size model.
4. A leaderboard (ceiled scores, errors, chosen layers, aggregate) is printed and written to
   ``<output>/leaderboard.html``, and the full report with figures to ``<output>/report.html``.

numpy/scipy BLAS runs single-threaded during scoring (``NEUROALIGN_BLAS_THREADS`` to change):
the metrics' matrices are small, and multi-threaded OpenBLAS is very slow on a busy machine.

Scale: :data:`DEMO_SCALE` (1/8 of the real sizes: e.g. Majaj-Hong 400 public + 320 private
images, 10 trials) keeps the whole demo within a few minutes on 2 CPU cores; ``quick=True``
uses :data:`QUICK_SCALE` and the ground-truth model plus one small timm model.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
import traceback
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from ..errors import NeuroalignError
from .text import plain

__all__ = ["build_store", "store_is_intact", "run", "demo_models", "next_commands", "DEMO_SCALE",
           "QUICK_SCALE", "DEMO_SEED"]

DEMO_SCALE = 0.125
QUICK_SCALE = 0.06
DEMO_SEED = 0
#: benchmark kinds the demo leaves out unless asked (too slow on a CPU for a few-minute demo)
SLOW_KINDS: tuple[str, ...] = ("adversarial",)
_MANIFEST = "build.json"


def demo_models(quick: bool = False) -> list[str]:
    """The models plugins offer to the demo: spec metadata ``demo`` is ``"quick"`` (always) or
    ``"full"`` (not with ``--quick``); ground-truth networks first."""
    from ..plugins.lookup import get_registry

    registry = get_registry()
    wanted = ("quick",) if quick else ("quick", "full")
    specs = [entry.spec for entry in registry.entries("model")
             if entry.spec.metadata.get("demo") in wanted]
    return [spec.id for spec in sorted(specs, key=lambda s: (not s.metadata.get("ground_truth"),
                                                             s.id))]



def _safe(value: object) -> str:
    """Outside data (ids, error messages, paths) for rich markup: shown, never interpreted."""
    from rich.markup import escape

    return escape(plain(value))


# --------------------------------------------------------------------------------- the store


def _dataset_entries(datasets: Sequence[str] | None) -> list[Any]:
    from ..plugins.lookup import get_registry

    entries = [e for e in get_registry().entries("dataset") if e.spec.synthetic]
    if datasets is not None:
        known = {e.spec.id for e in entries}
        unknown = sorted(set(datasets) - known)
        if unknown:
            raise NeuroalignError(
                f"no synthetic generator for dataset(s) {unknown}; datasets with one: "
                f"{sorted(known)}"
            )
        entries = [e for e in entries if e.spec.id in set(datasets)]
    return entries


def _manifest(entries: list[Any], scale: float, seed: int) -> dict[str, Any]:
    return {"scale": scale, "seed": seed,
            "datasets": {e.spec.id: {"version": e.spec.version, "distribution": e.distribution,
                                     "plugin_version": e.version, "generator": e.spec.synthetic}
                         for e in entries}}


def store_is_intact(directory: str | os.PathLike[str], *, check_hashes: bool = True) -> bool:
    """Whether ``directory`` holds an index.json whose every asset exists with its size/sha256."""
    from ..store.index import load_index
    from ..store.assets import sha256_file

    directory = Path(directory)
    if not (directory / "index.json").is_file():
        return False
    try:
        index = load_index(str(directory.resolve()))
    except NeuroalignError:
        return False
    for dataset in index.datasets:
        for asset in dataset.assets:
            path = Path(asset.url)
            if not path.is_file() or (asset.size is not None and path.stat().st_size != asset.size):
                return False
            if check_hashes and asset.sha256 and sha256_file(path) != asset.sha256:
                return False
    return True


def build_store(
    directory: str | os.PathLike[str],
    *,
    scale: float = DEMO_SCALE,
    seed: int = DEMO_SEED,
    datasets: Sequence[str] | None = None,
    force: bool = False,
    log: Any = None,
) -> Path:
    """Build the synthetic store in ``directory`` from every installed generator.

    Parameters
    ----------
    directory : path-like
        Created if needed; holds ``<dataset id>/<files>``, ``index.json`` and ``build.json``.
    scale : float
        Passed to every generator (fraction of the real dataset sizes).
    seed : int
        Passed to every generator.
    datasets : sequence of str, optional
        Only these dataset ids (default: every dataset with a ``synthetic`` generator).
    force : bool
        Rebuild even if an intact store with the same parameters exists.
    log : callable, optional
        ``log(message)`` for progress messages (default: silent).

    Returns
    -------
    pathlib.Path
        The directory (pass it as ``NEUROALIGN_STORE``).
    """
    from datetime import datetime, timezone

    from ..store.index import DatasetEntry, Index
    from ..specs import AssetSpec, resolve_factory
    from ..store.assets import atomic_path, sha256_file

    say = log or (lambda message: None)
    directory = Path(directory).resolve()
    directory.mkdir(parents=True, exist_ok=True)
    entries = _dataset_entries(datasets)
    manifest = _manifest(entries, scale, seed)
    manifest_path = directory / _MANIFEST
    if not force and manifest_path.is_file() and store_is_intact(directory):
        try:
            previous = json.loads(manifest_path.read_text())
        except (OSError, ValueError):
            previous = None
        if previous is not None and {k: previous.get(k) for k in manifest} == manifest:
            say(f"store {directory} is built and intact: reusing it")
            return directory

    dataset_entries, failures = [], {}
    for entry in entries:
        spec = entry.spec
        target = directory / spec.id
        start = time.perf_counter()
        say(f"generating {spec.id} (scale {scale:g}, seed {seed}) with {spec.synthetic}")
        try:
            files = resolve_factory(spec.synthetic)(spec, target, seed=seed, scale=scale)
        except Exception as error:  # noqa: BLE001 - one broken generator must not stop the rest
            failures[spec.id] = f"{type(error).__name__}: {error}"
            say(f"  FAILED: {failures[spec.id]}")
            continue
        formats = {asset.name: asset.format for asset in spec.assets}
        assets = []
        for name, path in sorted(files.items()):
            path = Path(path)
            assets.append(AssetSpec(
                name=name, url=path.resolve().relative_to(directory).as_posix(),
                sha256=sha256_file(path), size=path.stat().st_size,
                format=formats.get(name, _format_of(path)),
            ))
        dataset_entries.append(DatasetEntry(
            id=spec.id, version=spec.version, distribution=entry.distribution, assets=assets,
            description=f"synthetic (seed {seed}, scale {scale:g})"))
        say(f"  {len(assets)} files in {time.perf_counter() - start:.1f} s")
    index = Index(
        generated=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        description=f"neuroalign synthetic demo store (seed {seed}, scale {scale:g}); built "
                    "offline from each dataset plugin's ground-truth generator",
        datasets=dataset_entries,
    )
    with atomic_path(directory / "index.json") as tmp:
        tmp.write_text(index.to_json())
    manifest["failures"] = failures
    with atomic_path(manifest_path) as tmp:
        tmp.write_text(json.dumps(manifest, indent=1, sort_keys=True))
    return directory


def _format_of(path: Path) -> str:
    suffix = path.suffix.lower().lstrip(".")
    return {"nc": "netcdf", "zip": "zip", "csv": "csv", "npz": "npz", "json": "json",
            "pt": "pt"}.get(suffix, "other")


@contextlib.contextmanager
def _environment(**variables: str) -> Iterator[None]:
    """Set environment variables for the block, restoring the previous values afterwards."""
    old = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for name, value in old.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextlib.contextmanager
def _blas_threads() -> Iterator[None]:
    """Limit numpy/scipy BLAS to ``NEUROALIGN_BLAS_THREADS`` threads (default 1) for the block.

    The metrics' matrices are small (hundreds of stimuli): one thread costs little on an idle
    machine, while multi-threaded OpenBLAS on a busy one spins and was measured 10-300x slower
    (a 128 x 768 SVD: 4 s instead of 15 ms on a 2-core machine at load 7).
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - scikit-learn depends on it
        yield
        return
    with threadpool_limits(limits=int(os.environ.get("NEUROALIGN_BLAS_THREADS", "1")),
                           user_api="blas"):
        yield


# ------------------------------------------------------------------------------------ the run


def run(
    output: str | os.PathLike[str] | None = None,
    models: Sequence[str] | None = None,
    quick: bool = False,
    *,
    benchmarks: Sequence[str] | None = None,
    scale: float | None = None,
    store: str | os.PathLike[str] | None = None,
    console: Any = None,
) -> Any:
    """Run the offline demo (see the module docstring) and return its leaderboard.

    Parameters
    ----------
    output : path-like, optional
        Directory for the store, the results database and the HTML leaderboard (default
        ``./demo-store``).
    models : sequence of str or Model, optional
        Model ids (default :func:`demo_models`; models are scored with random weights)
        or :class:`~neuroalign.Model` objects.
    quick : bool
        Smallest configuration: :data:`QUICK_SCALE` and ``demo_models(quick=True)``.
    benchmarks : sequence of str, optional
        Benchmark ids or fnmatch patterns (default: every installed benchmark except those of
        the :data:`SLOW_KINDS` kinds, i.e. gradient-attack benchmarks, which take tens of
        minutes per ImageNet-size model on a CPU; ``["*"]`` runs every one).
    scale : float, optional
        Store scale (default :data:`DEMO_SCALE`, or :data:`QUICK_SCALE` when ``quick``).
    store : path-like, optional
        Use this already built store (see :func:`build_store`) instead of ``<output>/store``.
    console : rich.console.Console, optional
        Where to print (default: stdout).

    Returns
    -------
    neuroalign.report.Leaderboard
    """
    import fnmatch

    from rich.console import Console

    from ..plugins.lookup import get_spec, list_benchmarks
    from ..scoring.results import ResultsDatabase
    from ..scoring.engine import _resolve_model, _score_one

    import sys

    # a wide table when the output is not a terminal (a log file, CI)
    console = console or Console(width=None if sys.stdout.isatty() else 160)
    started = time.perf_counter()
    output = Path(output or "demo-store").resolve()
    scale = scale if scale is not None else (QUICK_SCALE if quick else DEMO_SCALE)
    models = list(models or demo_models(quick))
    if not models:
        raise NeuroalignError("no model to score: install a model plugin that offers demo models "
                              "(neuroalign-synthetic, neuroalign-timm) or pass models=[...]")
    console.print(f"[bold]neuroalign demo[/]: output in {_safe(output)}")

    if store is None:
        store = build_store(output / "store", scale=scale, seed=DEMO_SEED,
                            datasets=_datasets_of(benchmarks),
                            log=lambda message: console.print(f"[dim]{_safe(message)}[/]"))
    store = Path(store).resolve()
    manifest = store / _MANIFEST
    failures = json.loads(manifest.read_text()).get("failures", {}) if manifest.is_file() else {}
    installed = list_benchmarks()
    if benchmarks is not None:
        wanted = [b for b in installed if any(fnmatch.fnmatchcase(b, p) for p in benchmarks)]
    else:
        wanted = [b for b in installed if get_spec("benchmark", b).kind not in SLOW_KINDS]
        skipped = sorted(set(installed) - set(wanted))
        if skipped:
            console.print(f"[yellow]skipping {len(skipped)} installed benchmark(s) of kind "
                          f"{'/'.join(SLOW_KINDS)} ({_safe(', '.join(skipped))}): gradient "
                          "attacks on ImageNet-size models take tens of minutes per model on a "
                          "CPU. Run them with neuroalign demo -b '*' or "
                          "neuroalign score.[/]")
    if not wanted:
        raise NeuroalignError("no benchmark to run: install a benchmark plugin (e.g. pip install "
                              "neuroalign-majaj2015) or fix the benchmarks= patterns")
    pretrained = [m for m in models if isinstance(m, str)
                  and get_spec("model", m).parameters.get("pretrained")]
    if pretrained:
        console.print(f"[yellow]offline: pretrained weights cannot be downloaded, so "
                      f"{_safe(', '.join(pretrained))} "
                      f"{'is' if len(pretrained) == 1 else 'are'} scored with random weights "
                      "(pretrained=False)[/]")
    registry = ResultsDatabase(output / "results.sqlite")
    errors: dict[tuple[str, str], str] = {}
    timings: dict[str, float] = {}
    with _environment(NEUROALIGN_STORE=str(store), NEUROALIGN_OFFLINE="1"), _blas_threads():
        for item in models:
            model_start = time.perf_counter()
            model_id = item if isinstance(item, str) else item.identifier
            try:
                model = _resolve_model(item, False, None)
            except Exception as error:  # noqa: BLE001
                for benchmark_id in wanted:
                    errors[(model_id, benchmark_id)] = f"{type(error).__name__}: {error}"
                console.print(f"[red]{_safe(model_id)}: cannot build ({_safe(error)})[/]")
                continue
            for benchmark_id in wanted:
                t0 = time.perf_counter()
                console.print(f"scoring {_safe(model_id)} on {_safe(benchmark_id)} ...",
                              end=" ")
                try:
                    from ..plugins.lookup import get_benchmark

                    # warnings would break the one-line-per-score output: shown after it
                    with warnings.catch_warnings(record=True) as caught:
                        warnings.simplefilter("always")
                        result = _score_one(model, get_benchmark(benchmark_id), None, True,
                                            registry, None, None)
                except Exception as error:  # noqa: BLE001 - the leaderboard shows it
                    errors[(model_id, benchmark_id)] = f"{type(error).__name__}: {error}"
                    console.print(f"[red]failed[/] ({_safe(type(error).__name__)}: "
                                  f"{_safe(str(error)[:200])})")
                    if os.environ.get("NEUROALIGN_DEBUG"):
                        traceback.print_exc()
                    continue
                layer = f", layer {result.layer}" if result.layer else ""
                took = time.perf_counter() - t0
                console.print(f"{result.value:.3f}{_safe(layer)} [dim]({took:.1f} s)[/]")
                for message in sorted({f"{w.category.__name__}: {w.message}" for w in caught}):
                    console.print(f"  [dim]warning: {_safe(message[:200])}[/]")
            timings[model_id] = time.perf_counter() - model_start
    names = [m if isinstance(m, str) else m.identifier for m in models]
    board = _report(console, registry, output, names, wanted, errors, failures, timings, started)
    example_model = next((m for m in names if not _is_ground_truth(m)), names[0])
    example_benchmark = next((b for b in wanted if b.endswith("IT-pls")), wanted[0])
    console.print("\n[bold]next[/] (copy and paste; the store and results this demo built):")
    for comment, command in next_commands(output, store, example_model, example_benchmark):
        console.print(f"  [dim]# {comment}[/]")
        console.print(f"  {command}", markup=False, highlight=False, soft_wrap=True)
    return board


def _datasets_of(patterns: Sequence[str] | None) -> list[str] | None:
    """The dataset ids the benchmarks matching ``patterns`` read (their members' too), or None
    (every dataset) when no patterns are given."""
    import fnmatch

    if patterns is None:
        return None
    from ..plugins.lookup import get_benchmark, get_registry, list_benchmarks
    from ..scoring.engine import _declared_datasets

    known = set(get_registry().ids("dataset"))
    found: list[str] = []
    for benchmark_id in list_benchmarks():
        if any(fnmatch.fnmatchcase(benchmark_id, p) for p in patterns):
            found += _declared_datasets(get_benchmark(benchmark_id), known, set())
    return list(dict.fromkeys(found))


def next_commands(output: str | os.PathLike[str], store: str | os.PathLike[str], model: str,
                  benchmark: str) -> list[tuple[str, str]]:
    """``(comment, shell command)`` pairs the demo ends with: score on the demo store offline,
    show its results, and score real data with network.

    Parameters
    ----------
    output, store : path-like
        The demo's output folder (holding ``results.sqlite``) and its store.
    model, benchmark : str
        The model and benchmark the example commands use.
    """
    import shlex

    output, store = Path(output).resolve(), Path(store).resolve()
    results = shlex.quote(str(output / "results.sqlite"))
    env = (f"NEUROALIGN_STORE={shlex.quote(str(store))} NEUROALIGN_OFFLINE=1 "
           f"NEUROALIGN_RESULTS={results}")
    real = "MajajHong2015public.IT-pls"
    return [
        ("score a model on the synthetic demo store (offline; random weights: none are cached)",
         f"{env} neuroalign score {model} {benchmark} --random-weights"),
        ("every score in the demo's results database, with weights and data source",
         f"neuroalign results --db {results}"),
        ("with network: pretrained weights on Brain-Score's public Majaj-Hong data (no "
         "credentials; downloaded once into the cache)",
         f"neuroalign score {model} {real}"),
    ]


def _is_ground_truth(model_id: str) -> bool:
    from ..plugins.lookup import get_registry

    try:
        return bool(get_registry().spec("model", model_id).metadata.get("ground_truth"))
    except (NeuroalignError, KeyError):
        return False


def _report(console, registry, output, models, benchmarks, errors, failures, timings, started):
    from .report import leaderboard, print_leaderboard, write_html

    table = registry.query()
    if not table.empty:
        table = table[table["model"].isin(models) & table["benchmark"].isin(benchmarks)]
    board = leaderboard(table, aggregator="mean")
    console.print()
    print_leaderboard(board, console)
    path = write_html(board, output / "leaderboard.html", title="neuroalign demo leaderboard")
    report = _html_report(registry, output, errors, console)
    if failures:
        console.print(f"[red]dataset generators that failed: {_safe(failures)}[/]")
    if errors:
        console.print(f"[red]{len(errors)} model x benchmark pairs failed:[/]")
        for (model, benchmark), message in sorted(errors.items()):
            console.print(f"  [red]{_safe(model)} on {_safe(benchmark)}[/]: {_safe(message[:300])}")
    if not board.values.empty:
        top = str(board.values.index[0])
        console.print(f"top model: [bold]{_safe(top)}[/]" + (
            " (the ground-truth network that generated the data, as it should be)"
            if _is_ground_truth(top) else ""))
    times = ", ".join(f"{m} {t:.0f} s" for m, t in timings.items())
    console.print(f"[dim]wall time {time.perf_counter() - started:.0f} s ({_safe(times)}); HTML "
                  f"leaderboard: {_safe(path)}; report with figures: {_safe(report)}[/]")
    return board


def _html_report(results, output, errors, console):
    """The full HTML report (``neuroalign report --html``) of the demo's results database."""
    from .report import write_report

    try:
        return write_report(output / "report.html", results, failures=dict(errors),
                            title="neuroalign demo report")
    except Exception as error:  # noqa: BLE001 - the leaderboard above is the demo's result
        console.print(f"[red]the HTML report failed: {type(error).__name__}: {error}[/]")
        return None
