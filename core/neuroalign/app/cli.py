"""The ``neuroalign`` command (click + rich). See ``docs/cli.md`` for every command with examples.

Start-up is kept cheap: only click and the registry are imported up front; rich, pandas,
xarray, fsspec and torch are imported inside the commands that need them, so
``neuroalign --help`` and ``neuroalign list ...`` never import torch. Every command that prints
data has ``--json``. Errors neuroalign raises on purpose print as one red line and exit with
status 2; ``--debug`` (or ``NEUROALIGN_DEBUG=1``) shows the traceback instead.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import sys
import warnings
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import click

from .. import __version__
from ..errors import NeuroalignError, PluginLoadWarning, UnknownIdError, closest

__all__ = ["cli", "main"]

#: ``list`` kinds -> (registry kind, spec fields shown as columns)
LIST_KINDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "models": ("model", ("region_layers", "visual_degrees")),
    "datasets": ("dataset", ("version", "kind", "assets")),
    "metrics": ("metric", ("kind", "description")),
    "ceilings": ("metric", ("description",)),
    "attacks": ("attack", ("norm", "description")),
    "benchmarks": ("benchmark", ("version", "region", "kind", "metric", "ceiling")),
    "aggregators": ("aggregator", ("description",)),
}
KINDS_FOR_SEARCH = ("model", "dataset", "metric", "attack", "benchmark", "aggregator")
INFO_KINDS = ("model", "dataset", "metric", "ceiling", "attack", "benchmark", "aggregator")


# ------------------------------------------------------------------------------ plumbing
def _debug() -> bool:
    ctx = click.get_current_context(silent=True)
    flag = bool(ctx and ctx.find_root().params.get("debug"))
    return flag or os.environ.get("NEUROALIGN_DEBUG", "") not in ("", "0", "false", "no")


class _Group(click.Group):
    """A group that turns :class:`NeuroalignError` into one red line and exit status 2."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except NeuroalignError as error:
            if _debug():
                raise
            click.secho(f"error: {error}", fg="red", err=True)
            ctx.exit(2)


@contextlib.contextmanager
def _warning_printer() -> Iterator[None]:
    """Print each distinct PluginLoadWarning once, as one yellow line on stderr."""
    seen: set[str] = set()
    original = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None):
        if not issubclass(category, PluginLoadWarning):
            return original(message, category, filename, lineno, file, line)
        if str(message) not in seen:
            seen.add(str(message))
            click.secho(f"warning: {message}", fg="yellow", err=True)

    with warnings.catch_warnings():
        warnings.simplefilter("always", PluginLoadWarning)  # dedup is ours, per command
        warnings.showwarning = show
        yield


def _json_default(value: Any) -> Any:
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return str(value)


def _clean(value: Any) -> Any:
    """NaN -> None recursively, so ``--json`` output is strict JSON."""
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if isinstance(value, Mapping):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def _emit_json(data: Any) -> None:
    click.echo(json.dumps(_clean(json.loads(json.dumps(data, default=_json_default))), indent=2))


def _console():
    from rich.console import Console

    # piped output (grep, less, files): wide rows rather than rows folded at 80 columns
    wide = not sys.stdout.isatty() and "COLUMNS" not in os.environ
    return Console(highlight=False, soft_wrap=False, width=200 if wide else None)


def _table(title: str | None, columns: Iterable[str], rows: Iterable[Iterable[Any]]) -> None:
    from rich.table import Table

    table = Table(title=title, title_justify="left", show_edge=False, header_style="bold")
    for position, column in enumerate(columns):
        table.add_column(column, overflow="fold", no_wrap=position == 0)
    for row in rows:
        table.add_row(*(_text(cell) for cell in row))
    _console().print(table)


def _plain_table(columns: Iterable[str], rows: list[list[Any]]) -> None:
    """Left-aligned columns separated by two spaces, a dashed rule under the header."""
    cells = [list(columns)] + [[_text(cell).replace("\n", " ") for cell in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip()
             for row in cells]
    lines.insert(1, "  ".join("-" * width for width in widths))
    click.echo("\n".join(lines))


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(_text(v) for v in value) if len(value) <= 6 else f"{len(value)} items"
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={_text(v)}" for k, v in value.items())
    return str(value)


def _as_dict(value: Any) -> dict[str, Any]:
    if isinstance(value, Mapping):
        return dict(value)
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if hasattr(value, "as_dict"):
        return value.as_dict()
    if hasattr(value, "__dataclass_fields__"):
        from dataclasses import asdict

        return asdict(value)
    return dict(vars(value))


def _lazy(module: str, name: str) -> Any:
    """``module.name``, imported now, with an error that says which part is missing."""
    import importlib

    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as error:
        raise NeuroalignError(
            f"this command needs {module}.{name}, which cannot be imported "
            f"({type(error).__name__}: {error}); reinstall neuroalign"
        ) from error


# ------------------------------------------------------------------------------ group
@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", "-V", prog_name="neuroalign")
@click.option("--debug", is_flag=True, help="Show tracebacks (also NEUROALIGN_DEBUG=1).")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Score vision models against brain and human data.

    \b
    Examples:
      neuroalign list benchmarks 'MajajHong2015.*'
      neuroalign score timm:resnet18 MajajHong2015.IT-pls
      neuroalign results --json
      neuroalign registry search fmri
    """
    ctx.with_resource(_warning_printer())


# ------------------------------------------------------------------------------ discovery
@cli.command("list")
@click.argument("kind", type=click.Choice(sorted(LIST_KINDS)))
@click.argument("pattern", default="*")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (spec + providing distribution).")
def list_command(kind: str, pattern: str, as_json: bool) -> None:
    """List registered components of KIND whose ids match the fnmatch PATTERN."""
    from ..plugins.lookup import get_registry

    registry_kind, fields = LIST_KINDS[kind]
    registry = get_registry()
    entries = [e for e in registry.entries(registry_kind) if _fnmatch(e.spec.id, pattern)]
    if registry_kind == "metric":
        want_ceiling = kind == "ceilings"
        entries = [e for e in entries if (e.spec.kind == "ceiling") == want_ceiling]
    if as_json:
        _emit_json([_entry_json(kind[:-1], e) for e in entries])
        return
    if not entries:
        click.echo(f"no {kind} match {pattern!r} (installed plugins: neuroalign plugins)", err=True)
        return
    # plain aligned columns (like `pip list`): greppable, and no rich import on the hot path
    _plain_table(("id", *fields, "distribution"),
                 [[e.spec.id, *(_field(e.spec, f) for f in fields), e.distribution]
                  for e in entries])


def _fnmatch(identifier: str, pattern: str) -> bool:
    import fnmatch

    return fnmatch.fnmatchcase(identifier, pattern)


def _field(spec: Any, name: str) -> Any:
    value = getattr(spec, name)
    if name == "assets":
        return len(value)
    if name == "description":
        first = value.strip().split("\n")[0]
        return first if len(first) <= 70 else first[:69] + "…"
    return value


def _entry_json(kind: str, entry: Any) -> dict[str, Any]:
    return {"component": kind, **entry.spec.model_dump(mode="json"),
            "provided_by": {"distribution": entry.distribution, "version": entry.version,
                            "plugin": entry.plugin}}


@cli.command()
@click.argument("identifier", metavar="ID")
@click.option("--kind", type=click.Choice(INFO_KINDS), help="Kind to look in, when ID is ambiguous.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def info(identifier: str, kind: str | None, as_json: bool) -> None:
    """Show the spec of ID (any kind) and the distribution that provides it."""
    from ..plugins.lookup import get_registry

    registry = get_registry()
    found: list[tuple[str, Any]] = []
    for k in [kind] if kind else INFO_KINDS:
        registry_kind = "metric" if k == "ceiling" else k
        try:
            entry = registry.entry(registry_kind, identifier)
        except UnknownIdError:
            if kind:
                raise
            continue
        if registry_kind == "metric" and (entry.spec.kind == "ceiling") != (k == "ceiling"):
            if kind:
                other = "metric" if k == "ceiling" else "ceiling"
                raise NeuroalignError(f"{identifier!r} is a {other}, not a {k}; use --kind {other}")
            continue
        found.append((k, entry))
    if not found:
        known = {i: k for k in KINDS_FOR_SEARCH for i in registry.ids(k)}
        matches = closest(identifier, known)
        named = [f"{m!r} ({known[m]})" for m in matches]
        if len(named) > 1:
            named = [", ".join(named[:-1]), named[-1]]
        hint = f"; did you mean {' or '.join(named)}?" if named else ""
        raise NeuroalignError(
            f"unknown id {identifier!r}{hint} (list the valid ids with: neuroalign list KIND, "
            f"KIND one of {', '.join(sorted(LIST_KINDS))})"
        )
    if len(found) > 1:
        kinds = [k for k, _ in found]
        raise NeuroalignError(
            f"{identifier!r} is registered as several kinds {kinds}; pick one with "
            f"--kind {kinds[0]}"
        )
    k, entry = found[0]
    if as_json:
        _emit_json(_entry_json(k, entry))
        return
    data = entry.spec.model_dump(mode="json")
    rows = [("component", k), *((name, _long(value)) for name, value in data.items()),
            ("provided by", f"{entry.distribution} {entry.version} (plugin {entry.plugin!r})")]
    if k == "benchmark" and entry.spec.parameters.get("reduction") == "pca":
        rows.append(("PCA reference", _pca_reference_hint(entry.spec.parameters)))
    _table(f"{k} {identifier}", ("field", "value"), rows)


def _pca_reference_hint(parameters: dict[str, Any]) -> str:
    """Which images layer selection's PCA basis is fitted on, and how to use ImageNet val."""
    import os

    from ..extraction.reference import ENV

    folder = parameters.get("pca_images") or os.environ.get(ENV)
    if folder:
        return f"{folder} (Brain-Score's rule: the first image of each class)"
    return (f"procedural images (Brain-Score uses 1,000 ImageNet val images); set {ENV}="
            "/path/to/imagenet/val (class folders, or files + labels.csv) for Brain-Score's basis")


def _long(value: Any) -> str:
    if isinstance(value, (dict, list)) and value:
        return json.dumps(value)
    return _text(value)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def plugins(as_json: bool) -> None:
    """List plugins: loaded, failed (with the reason) and disabled."""
    from ..plugins.lookup import get_plugin_manager

    manager = get_plugin_manager()
    _ = manager.registry  # run the hooks, so plugins whose hooks fail are reported as failed
    infos = sorted(manager.plugins.values(), key=lambda i: (i.status != "loaded", i.name))
    if as_json:
        _emit_json([info.as_dict() for info in infos])
        return
    style = {"loaded": "green", "failed": "red", "disabled": "yellow"}
    _table(None, ("plugin", "distribution", "version", "status", "registered", "reason"), (
        [i.name, i.distribution, i.version, f"[{style[i.status]}]{i.status}[/]",
         i.registered if i.status == "loaded" else "", i.error or ""] for i in infos))


# ------------------------------------------------------------------------------ data
@cli.command()
@click.argument("dataset")
@click.option("--json", "as_json", is_flag=True, help="Print JSON: asset name -> local path.")
def fetch(dataset: str, as_json: bool) -> None:
    """Download (and verify) every asset of DATASET into the local cache."""
    from ..plugins.lookup import get_spec

    spec = get_spec("dataset", dataset)
    paths = _lazy("neuroalign.store", "fetch_dataset")(spec)
    if isinstance(paths, Mapping):
        pairs = [(str(k), str(v)) for k, v in paths.items()]
    else:
        pairs = [(a.name, str(p)) for a, p in zip(spec.assets, paths)]
    if as_json:
        _emit_json({"dataset": dataset, "assets": dict(pairs)})
        return
    for name, path in pairs:
        click.echo(f"{name}\t{path}")
    click.secho(f"fetched {len(pairs)} asset(s) of {dataset}", fg="green", err=True)


@cli.group(cls=_Group)
def cache() -> None:
    """Inspect or clear the local cache ($NEUROALIGN_HOME)."""


@cache.command("ls")
@click.option("--kind", help="Only entries of this kind (e.g. assets, activations).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def cache_ls(kind: str | None, as_json: bool) -> None:
    """List cached entries."""
    entries = [_as_dict(e) for e in _lazy("neuroalign.store", "cache_entries")(kind=kind)]
    if as_json:
        _emit_json(entries)
        return
    if not entries:
        click.echo("the cache is empty", err=True)
        return
    columns = [c for c in ("kind", "key", "description", "size", "created", "path")
               if c in entries[0]] or list(entries[0])
    _table(None, columns, ([e.get(c) for c in columns] for e in entries))
    total = sum(e.get("size") or 0 for e in entries if isinstance(e.get("size"), int))
    click.echo(f"{len(entries)} entries, {total / 1e6:.1f} MB", err=True)


@cache.command("clear")
@click.argument("pattern", default="*")
@click.option("--kind", help="Only entries of this kind (e.g. assets, activations).")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def cache_clear(pattern: str, kind: str | None, yes: bool, as_json: bool) -> None:
    """Delete cached entries whose name matches PATTERN."""
    what = f"{kind or 'all'} cache entries matching {pattern!r}"
    if not yes and not click.confirm(f"delete {what}?", err=True):
        raise click.Abort()
    removed = _lazy("neuroalign.store", "clear_cache")(kind=kind, pattern=pattern)
    count = removed if isinstance(removed, int) else len(list(removed or []))
    if as_json:
        _emit_json({"removed": count, "kind": kind, "pattern": pattern})
    else:
        click.echo(f"removed {count} {what}")


# ------------------------------------------------------------------------------ results
def _results_options(function):
    function = click.option("--db", type=click.Path(dir_okay=False),
                            help="Results database (default: $NEUROALIGN_HOME/results.sqlite).")(function)
    function = click.option("--benchmark", "-b", default="*", help="fnmatch pattern of benchmark ids.")(function)
    return click.option("--model", "-m", default="*", help="fnmatch pattern of model ids.")(function)


@cli.command()
@_results_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON records.")
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV.")
@click.option("--request", "-r", default="default", show_default=True,
              help="fnmatch pattern of layer requests: 'default' (the model's own layers), "
                   "'layers=*' (runs with --layer), '*' (all).")
def results(model: str, benchmark: str, db: str | None, as_json: bool, as_csv: bool,
            request: str) -> None:
    """Show stored scores (one row per model x benchmark x weights x version x request)."""
    from ..scoring.results import ResultsDatabase

    frame = ResultsDatabase(db).query(model, benchmark, request=request)
    if as_json:
        _emit_json(json.loads(frame.to_json(orient="records")))
    elif as_csv:
        click.echo(frame.to_csv(index=False), nl=False)
    elif frame.empty:
        click.echo("no stored results match (score something with: neuroalign score MODEL BENCHMARK)",
                   err=True)
    else:
        columns = ["model", "benchmark", "version", "value", "error", "raw", "ceiling", "layer",
                   "created"]
        if request != "default":
            columns.insert(3, "request")
        frame["created"] = frame["created"].str.slice(0, 19)
        _table(None, columns, frame[columns].itertuples(index=False))


@cli.command()
@_results_options
@click.option("--aggregator", "-a", default="mean", show_default=True, help="Aggregator id.")
@click.option("--html", "html_path", type=click.Path(dir_okay=False), help="Also write an HTML report.")
@click.option("--json", "as_json", is_flag=True, help="Print the leaderboard as JSON.")
def report(model: str, benchmark: str, db: str | None, aggregator: str, html_path: str | None,
           as_json: bool) -> None:
    """Leaderboard of stored results: models x benchmarks, plus an aggregate column."""
    from .report import leaderboard, print_leaderboard, write_html
    from ..scoring.results import ResultsDatabase

    board = leaderboard(ResultsDatabase(db).query(model, benchmark), aggregator=aggregator)
    if as_json:
        _emit_json(board.to_dict())
    else:
        print_leaderboard(board, _console())
    if html_path:
        path = write_html(board, html_path)
        click.echo(f"wrote {path}", err=True)


# ------------------------------------------------------------------------------ registry index
@cli.group(cls=_Group)
def registry() -> None:
    """Build or search the benchmark registry index."""


@registry.command("build")
@click.option("--output", "-o", help="File or fsspec URL (default: registry/index.json of the "
              "source checkout, else ./index.json).")
@click.option("--description", default="", help="Free text stored in the index.")
@click.option("--json", "as_json", is_flag=True, help="Print the index JSON to stdout too.")
def registry_build(output: str | None, description: str, as_json: bool) -> None:
    """Write an index of the installed plugins, their benchmarks and datasets."""
    from .index_tools import build_index, write_index

    index = build_index(description=description)
    written = write_index(index, output or _default_index_output())
    if as_json:
        click.echo(index.to_json())
    click.echo(f"wrote {written}: {len(index.plugins)} plugins, {len(index.benchmarks)} "
               f"benchmarks, {len(index.datasets)} datasets", err=True)


def _default_index_output() -> str:
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent.parent
    if (root / "pyproject.toml").is_file() and (root / "registry").is_dir():
        return str(root / "registry" / "index.json")
    return "index.json"


@registry.command("search")
@click.argument("query", nargs=-1)
@click.option("--index", "index_url", help="Index URL (default: $NEUROALIGN_REGISTRY, else the "
              "index shipped with neuroalign).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON hits.")
def registry_search(query: tuple[str, ...], index_url: str | None, as_json: bool) -> None:
    """Find benchmarks in the registry index and the pip command that installs them."""
    from .index_tools import read_index, search_index

    hits = search_index(read_index(index_url), " ".join(query))
    if as_json:
        _emit_json([hit.as_dict() for hit in hits])
        return
    if not hits:
        click.echo(f"no benchmark matches {' '.join(query)!r}", err=True)
        return
    _table(None, ("benchmark", "region", "installed", "install with", "description"), (
        [h.benchmark, h.region, "[green]yes[/]" if h.installed else "no", h.pip,
         h.description.split("\n")[0][:70]] for h in hits))


# ------------------------------------------------------------------------------ scoring
@cli.command()
@click.argument("model")
@click.argument("benchmarks", nargs=-1, required=True)
@click.option("--layer", "-l", help="Score this layer only (no layer selection).")
@click.option("--random-weights", is_flag=True, help="Randomly initialised weights.")
@click.option("--no-cache", is_flag=True, help="Recompute the score even if a result is stored (cached activations are still reused).")
@click.option("--json", "as_json", is_flag=True, help="Print the Scores as JSON.")
def score(model: str, benchmarks: tuple[str, ...], layer: str | None, random_weights: bool,
          no_cache: bool, as_json: bool) -> None:
    """Score MODEL on each BENCHMARK; results go to the results registry."""
    run = _lazy("neuroalign.scoring.engine", "score")
    scores = []
    for benchmark_id in benchmarks:
        result = run(model, benchmark_id, layers=[layer] if layer else None,
                     pretrained=not random_weights, use_cache=not no_cache)
        scores.append((benchmark_id, result))
        if not as_json:
            _print_score(model, benchmark_id, result)
    if as_json:
        _emit_json([json.loads(s.to_json()) for _, s in scores])


def _print_score(model: str, benchmark: str, result: Any) -> None:
    console = _console()
    error = f" ± {result.error:.4f}" if result.error is not None and not math.isnan(result.error) else ""
    console.print(f"[bold]{model}[/] on [bold]{benchmark}[/]: [bold green]{result.value:.4f}[/]{error}")
    details = []
    if result.raw is not None:
        details.append(f"raw {result.raw:.4f}")
    if result.ceiling is not None:
        details.append(f"ceiling {result.ceiling:.4f}")
    if result.layer:
        details.append(f"layer {result.layer}")
    if details:
        console.print("  " + ", ".join(details))
    if result.layers:
        _table(None, ("layer", "score", ""), (
            [name, value, "chosen" if name == result.layer else ""]
            for name, value in result.layers.items()))
    for path, child in list(result.walk())[1:]:
        console.print(f"  {path}: {child.value:.4f}")


@cli.command()
@click.option("--output", "-o", type=click.Path(file_okay=False), help="Directory for the demo "
              "store, results and report (default: chosen by the demo).")
@click.option("--models", "-m", multiple=True, help="Model id to include (repeatable).")
@click.option("--quick", is_flag=True, help="Smallest configuration (for smoke tests).")
def demo(output: str | None, models: tuple[str, ...], quick: bool) -> None:
    """Run the offline demo: build the synthetic store, score models, print a leaderboard."""
    import inspect

    run = _lazy("neuroalign.app.demo", "run")
    kwargs: dict[str, Any] = {}
    accepted = inspect.signature(run).parameters
    if output is not None:
        kwargs["output"] = output
    if models:
        kwargs["models"] = list(models)
    if quick:
        if "quick" not in accepted:
            raise NeuroalignError("this demo has no --quick mode; run it without --quick")
        kwargs["quick"] = True
    run(**kwargs)


# ------------------------------------------------------------------------------ entry point
def main(argv: list[str] | None = None) -> None:
    """Console-script entry point (``neuroalign = neuroalign.cli:main``)."""
    cli.main(args=argv, prog_name="neuroalign")


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1:])
