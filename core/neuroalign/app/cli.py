"""The ``neuroalign`` command (click + rich). See ``docs/cli.md`` for every command with examples.

Start-up is kept cheap: only click and the registry are imported up front; rich, pandas,
xarray, fsspec and torch are imported inside the commands that need them, so
``neuroalign --help`` and ``neuroalign list ...`` never import torch. Every command that prints
data has ``--json``. Data from outside (index, asset, plugin and result fields) is always printed
as plain text: never interpreted as rich markup, control characters shown escaped
(:func:`plain`). Errors neuroalign raises on purpose print as one red line and exit with
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
from .text import plain

__all__ = ["cli", "main", "plain"]

#: ``list`` kinds -> (registry kind, spec fields shown as columns)
LIST_KINDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "models": ("model", ("region_layers", "visual_degrees")),
    "datasets": ("dataset", ("version", "kind", "assets")),
    "metrics": ("metric", ("kind", "description")),
    "ceilings": ("metric", ("description",)),
    "attacks": ("attack", ("norm", "description")),
    "benchmarks": ("benchmark", ("version", "region", "kind", "metric", "ceiling")),
    "aggregators": ("aggregator", ("description",)),
    "figures": ("figure", ("scope", "section", "description")),
}
KINDS_FOR_SEARCH = ("model", "dataset", "metric", "attack", "benchmark", "aggregator", "figure")
INFO_KINDS = ("model", "dataset", "metric", "ceiling", "attack", "benchmark", "aggregator",
              "figure")


# ------------------------------------------------------------------------------ plumbing
def _debug() -> bool:
    ctx = click.get_current_context(silent=True)
    flag = bool(ctx and ctx.find_root().params.get("debug"))
    return flag or os.environ.get("NEUROALIGN_DEBUG", "") not in ("", "0", "false", "no")


#: entry-point group through which plugins add commands (``neuroalign nsd prepare``, ...)
COMMAND_GROUP = "neuroalign.cli"


def _plugin_commands() -> dict[str, Any]:
    """Name -> entry point of the commands plugins add (group :data:`COMMAND_GROUP`); nothing
    is imported until one of them runs, so ``neuroalign --help`` stays cheap."""
    from importlib.metadata import entry_points

    return {ep.name: ep for ep in entry_points(group=COMMAND_GROUP)}


class _Group(click.Group):
    """A group that turns :class:`NeuroalignError` into one red line and exit status 2."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except NeuroalignError as error:
            if _debug():
                raise
            click.secho(f"error: {plain(error)}", fg="red", err=True)
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
            click.secho(f"warning: {plain(message)}", fg="yellow", err=True)

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
    """A rich table whose cells are plain text (a :class:`rich.text.Text` cell keeps its style)."""
    from rich.table import Table
    from rich.text import Text

    table = Table(title=None if title is None else Text(plain(title)), title_justify="left",
                  show_edge=False, header_style="bold")
    for position, column in enumerate(columns):
        table.add_column(Text(plain(column)), overflow="fold", no_wrap=position == 0)
    for row in rows:
        table.add_row(*(cell if isinstance(cell, Text) else Text(_text(cell)) for cell in row))
    _console().print(table)


def _styled(text: str, style: str) -> Any:
    from rich.text import Text

    return Text(plain(text), style=style)


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
        return ", ".join(f"{plain(k)}={_text(v)}" for k, v in value.items())
    return plain(value)


# ------------------------------------------------------------------------------ group
class _RootGroup(_Group):
    """The ``neuroalign`` command: built-in commands, then the ones plugins add (a plugin
    command never replaces a built-in one)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(_plugin_commands()))

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """Built-in commands with their help; plugin commands named with the module that
        provides them, without importing it."""
        built_in = set(super().list_commands(ctx))
        rows = []
        for name in sorted(built_in):
            command = super().get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, command.get_short_help_str(formatter.width - 6 - len(name))))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)
        extra = {name: ep for name, ep in _plugin_commands().items() if name not in built_in}
        if extra:
            with formatter.section("Plugin commands"):
                formatter.write_dl([(name, f"from {ep.value.partition(':')[0]} (see neuroalign "
                                           f"{name} --help)") for name, ep in sorted(extra.items())])

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        command = super().get_command(ctx, name)
        if command is not None:
            return command
        entry = _plugin_commands().get(name)
        if entry is None:
            return None
        try:
            loaded = entry.load()
        except Exception as error:  # noqa: BLE001 - a broken plugin names itself, others run
            raise click.ClickException(
                f"the command {name!r} from {entry.value!r} cannot be loaded: "
                f"{type(error).__name__}: {plain(error)}") from error
        if not isinstance(loaded, click.Command):
            raise click.ClickException(f"entry point {name} = {entry.value!r} in group "
                                       f"{COMMAND_GROUP!r} is not a click command")
        return loaded


@click.group(cls=_RootGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", "-V", prog_name="neuroalign")
@click.option("--debug", is_flag=True, help="Show tracebacks (also NEUROALIGN_DEBUG=1).")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Score vision models against brain and human data.

    \b
    Examples:
      neuroalign list benchmarks 'MajajHong2015.*'
      neuroalign score timm:resnet18 MajajHong2015public.IT-pls
      neuroalign results --json
      neuroalign registry search IT
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
        from ..plugins.providers import hint_for

        providers = hint_for(kind and ("metric" if kind == "ceiling" else kind), identifier)
        if providers:  # not installed, but a configured registry says who provides it
            raise UnknownIdError(providers[0].kind, identifier, known, providers=providers)
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
        [i.name, i.distribution, i.version, _styled(i.status, style[i.status]),
         i.registered if i.status == "loaded" else "", _reason(i)] for i in infos))


def _reason(info: Any) -> str:
    refused = getattr(info, "refused", None) or []
    parts = [info.error] if info.error else []
    parts += [f"refused: {note}" for note in refused]
    return "; ".join(parts)


# ------------------------------------------------------------------------------ data
@cli.command()
@click.argument("dataset")
@click.option("--json", "as_json", is_flag=True, help="Print JSON: asset name -> local path.")
def fetch(dataset: str, as_json: bool) -> None:
    """Download (and verify) every asset of DATASET into the local cache."""
    from ..plugins.lookup import get_spec

    from ..store.assets import fetch_dataset

    spec = get_spec("dataset", dataset)
    pairs = [(name, str(path)) for name, path in fetch_dataset(spec).items()]
    if as_json:
        _emit_json({"dataset": dataset, "assets": dict(pairs)})
        return
    for name, path in pairs:
        click.echo(f"{plain(name)}\t{plain(path)}")
    click.secho(f"fetched {len(pairs)} asset(s) of {plain(dataset)}", fg="green", err=True)


@cli.group(cls=_Group)
def cache() -> None:
    """Inspect or clear the local cache ($NEUROALIGN_HOME)."""


@cache.command("ls")
@click.option("--kind", help="Only entries of this kind (e.g. assets, activations).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def cache_ls(kind: str | None, as_json: bool) -> None:
    """List cached entries."""
    from dataclasses import asdict

    from ..store.cache import cache_entries

    entries = [asdict(entry) for entry in cache_entries(kind=kind)]
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
    from ..store.cache import clear_cache

    count = len(clear_cache(kind=kind, pattern=pattern))
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
@click.option("--json", "as_json", is_flag=True, help="Print JSON records (= --format json).")
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV (= --format csv).")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json", "parquet"]),
              default=None, help="Output format (default: a table; parquet needs pyarrow and "
              "--output).")
@click.option("--output", "-o", type=click.Path(dir_okay=False),
              help="Write to this file (atomically) instead of stdout.")
@click.option("--request", "-r", default="default", show_default=True,
              help="fnmatch pattern of layer requests: 'default' (the model's own layers), "
                   "'layers=*' (runs with --layer), '*' (all).")
def results(model: str, benchmark: str, db: str | None, as_json: bool, as_csv: bool,
            fmt: str | None, output: str | None, request: str) -> None:
    """Show or export stored scores (one row per model x benchmark x weights x version x
    request).

    \b
    weights: pretrained:<tag>, random or weights (neither said), then the sha256 prefix
    data:    real, or synthetic/store <path> (NEUROALIGN_STORE at scoring time)
    """
    if as_json and as_csv:
        raise click.UsageError("--json and --csv are mutually exclusive: pick one")
    from ..scoring.export import to_pandas, write_table

    if sum(bool(x) for x in (as_json, as_csv, fmt)) > 1:
        raise NeuroalignError("give one of --json, --csv and --format")
    fmt = fmt or ("json" if as_json else "csv" if as_csv else "table")
    frame = to_pandas(db, model=model, benchmark=benchmark, request=request)
    if fmt != "table":
        if fmt == "parquet" and output is None:
            raise NeuroalignError("--format parquet is binary: give --output FILE.parquet")
        data = write_table(frame, fmt, output)
        if output is None:
            click.echo(data.decode(), nl=False)
        else:
            click.echo(f"wrote {len(frame)} records to {output}", err=True)
        return
    if output is not None:
        raise NeuroalignError("--output needs --format csv, json or parquet")
    if frame.empty:
        click.echo("no stored results match (score something with: neuroalign score MODEL "
                   "BENCHMARK)", err=True)
    else:
        columns = ["model", "weights", "data", "data_sha256", "benchmark", "version", "value",
                   "error", "raw", "ceiling", "layer", "created"]
        if request != "default":
            columns.insert(4, "request")
        frame["created"] = frame["created"].str.slice(0, 19)
        # which bytes each score came from: the digest's first 12 hex digits (--json: all files)
        frame["data_sha256"] = [str(d)[:12] if isinstance(d, str) and d else "unknown"
                                for d in frame["data_sha256"]]
        _table(None, columns, frame[columns].itertuples(index=False))


@cli.command()
@_results_options
@click.option("--aggregator", "-a", default="mean", show_default=True,
              help="Aggregator the leaderboard is sorted by (the page offers every registered one).")
@click.option("--html", "html_path", type=click.Path(dir_okay=False),
              help="Write the HTML report (one self-contained file) here.")
@click.option("--models-csv", type=click.Path(exists=True, dir_okay=False),
              help="Per-model columns for the figures, e.g. 'model,imagenet_top1'.")
@click.option("--figures", default="*", show_default=True,
              help="fnmatch pattern of figure ids to draw (neuroalign list figures).")
@click.option("--title", default="neuroalign report", show_default=True, help="Page title.")
@click.option("--json", "as_json", is_flag=True, help="Print the leaderboard as JSON.")
def report(model: str, benchmark: str, db: str | None, aggregator: str, html_path: str | None,
           models_csv: str | None, figures: str, title: str, as_json: bool) -> None:
    """Leaderboard of stored results, and (--html) the full HTML report with figures."""
    from ..scoring.results import ResultsDatabase
    from .report import build_report, leaderboard, print_leaderboard, write_report
    from .report.data import read_models_csv

    database = ResultsDatabase(db)
    if html_path:
        extras = read_models_csv(models_csv) if models_csv else None
        built = build_report(database, model=model, benchmark=benchmark, aggregator=aggregator,
                             extras=extras, figures=figures)
        board = built.data.board
    else:
        board = leaderboard(database.query(model, benchmark), aggregator=aggregator)
    if as_json:
        _emit_json(board.to_dict())
    else:
        print_leaderboard(board, _console())
    if html_path:
        path = write_report(html_path, built, title=title)
        shown = len(built.charts)
        click.echo(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB, {shown} figures)",
                   err=True)


# ------------------------------------------------------------------------------ registry index
@cli.group(cls=_Group)
def registry() -> None:
    """Build, search, refresh or publish registry indexes."""


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

    root = Path(__file__).resolve().parents[3]  # <repo>/core/neuroalign/app/cli.py
    if (root / "pyproject.toml").is_file() and (root / "registry").is_dir():
        return str(root / "registry" / "index.json")
    return "index.json"


@registry.command("search")
@click.argument("query", nargs=-1)
@click.option("--index", "index_url", help="Search only this index URL (default: every configured "
              "registry: $NEUROALIGN_REGISTRY, config.json 'registries', else the index shipped "
              "with neuroalign).")
@click.option("--refresh", is_flag=True, help="Fetch the registry indexes again first.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON hits.")
def registry_search(query: tuple[str, ...], index_url: str | None, refresh: bool,
                    as_json: bool) -> None:
    """Find benchmarks in the registry indexes and the command that installs them."""
    from ..store.registries import registry_indexes
    from .index_tools import read_index, search_index

    if index_url:
        hits = search_index(read_index(index_url), " ".join(query))
    else:
        hits, seen = [], set()
        for found in registry_indexes(refresh="always" if refresh else "stale"):
            if found.problem or found.source == "cache":
                note = f"; {found.problem}" if found.problem else ""
                click.secho(plain(f"registry {found.describe()}{note}"), fg="yellow", err=True)
            if found.index is None:
                continue
            for hit in search_index(found.index, " ".join(query)):
                if hit.benchmark not in seen:  # the first registry that lists an id wins
                    seen.add(hit.benchmark)
                    hits.append(hit)
    if as_json:
        _emit_json([hit.as_dict() for hit in hits])
        return
    if not hits:
        click.echo(f"no benchmark matches {plain(' '.join(query))!r}", err=True)
        return
    _table(None, ("benchmark", "region", "installed", "install with", "description"), (
        [h.benchmark, h.region, _styled("yes", "green") if h.installed else "no", h.pip,
         h.description.split("\n")[0][:70]] for h in hits))


# ------------------------------------------------------------------------------ scoring
@cli.command()
@click.argument("model")
@click.argument("benchmarks", nargs=-1, required=True)
@click.option("--layer", "-l", help="Score this layer only (no layer selection).")
@click.option("--random-weights", is_flag=True, help="Randomly initialised weights.")
@click.option("--device", help="Where forward passes run: cpu, cuda, cuda:1, mps (default: CUDA "
              "when available, else CPU).")
@click.option("--batch-size", type=click.IntRange(min=1), help="Images per forward pass "
              "(default: the model's, 64 for torch models).")
@click.option("--param", "params", multiple=True, metavar="KEY=VALUE",
              help="A model or benchmark parameter (repeatable); VALUE is read as JSON when it "
                   "parses (3, 0.5, true, [1,2]), else as text. KEY goes to whichever spec "
                   "declares it; prefix model. or benchmark. when both do.")
@click.option("--no-cache", is_flag=True, help="Recompute the score even if a result is stored (cached activations are still reused).")
@click.option("--json", "as_json", is_flag=True, help="Print the Scores as JSON.")
def score(model: str, benchmarks: tuple[str, ...], layer: str | None, random_weights: bool,
          device: str | None, batch_size: int | None, params: tuple[str, ...], no_cache: bool,
          as_json: bool) -> None:
    """Score MODEL on each BENCHMARK; results go to the results database.

    Every id (and --param) is checked before anything is scored. Offline, point
    NEUROALIGN_STORE at a store (the demo prints the exact command) and set NEUROALIGN_OFFLINE=1.
    """
    from ..plugins.lookup import get_spec

    model_spec = get_spec("model", model)  # unknown ids and tags fail here, before any scoring
    benchmark_specs = [get_spec("benchmark", b) for b in benchmarks]
    model_params, benchmark_params = _split_params(params, model_spec, benchmark_specs)
    extra: dict[str, Any] = {}
    if model_params:
        extra["model_parameters"] = model_params
    if benchmark_params:
        extra["benchmark_parameters"] = benchmark_params
    if device is not None:
        extra["device"] = device
    if batch_size is not None:
        extra["batch_size"] = batch_size
    from ..scoring.engine import score as run
    scores = []
    for benchmark_id in benchmarks:
        result = run(model, benchmark_id, layers=[layer] if layer else None,
                     pretrained=not random_weights, use_cache=not no_cache, **extra)
        scores.append((benchmark_id, result))
        if not as_json:
            _print_score(model, benchmark_id, result)
    if as_json:
        _emit_json([json.loads(s.to_json()) for _, s in scores])


@cli.command("grid")
@click.argument("models", nargs=-1, required=True)
@click.option("--benchmarks", "-b", "patterns", multiple=True, required=True,
              help="Benchmark id or fnmatch pattern (repeatable, or comma-separated).")
@click.option("--executor", type=click.Choice(["local", "dask"]), default="dask",
              show_default=True, help="local: this process; dask: a dask.distributed cluster.")
@click.option("--scheduler", help="Address of a running dask scheduler (default: start a "
              "cluster on this machine).")
@click.option("--workers", type=int, help="Workers of a cluster started here (default: one per "
              "CUDA device, else one per CPU core).")
@click.option("--threads-per-worker", type=int, default=1, show_default=True)
@click.option("--resources", help="Resources each task needs, e.g. GPU=1.")
@click.option("--group", type=click.Choice(["model", "pair"]), default="model",
              show_default=True,
              help="model: a worker keeps to a model's benchmarks (built once); pair: free.")
@click.option("--retries", type=int, default=2, show_default=True,
              help="Extra attempts for transient failures.")
@click.option("--random-weights", is_flag=True, help="Randomly initialised weights.")
@click.option("--no-cache", is_flag=True, help="Recompute pairs that are stored and current.")
@click.option("--results", "results_path", type=click.Path(dir_okay=False),
              help="Results database (default: $NEUROALIGN_RESULTS or "
              "$NEUROALIGN_HOME/results.sqlite).")
@click.option("--json", "as_json", is_flag=True, help="Print every pair's outcome as JSON.")
def grid_command(models: tuple[str, ...], patterns: tuple[str, ...], executor: str,
                 scheduler: str | None, workers: int | None, threads_per_worker: int,
                 resources: str | None, group: str, retries: int, random_weights: bool,
                 no_cache: bool, results_path: str | None, as_json: bool) -> None:
    """Score every MODEL on every benchmark matching --benchmarks; resumable.

    Results are written to the results database as they arrive; a rerun computes only the
    pairs that are missing or outdated. Failed pairs do not stop the others: they are listed
    at the end and the command exits with status 1.

    \b
    Examples:
      neuroalign grid timm:resnet18 timm:resnet50 -b 'MajajHong2015.*'
      neuroalign grid cornet:z -b 'MajajHong2015.*' --scheduler tcp://10.0.0.5:8786
      neuroalign grid timm:resnet50 -b 'NSD.*' --resources GPU=1
    """
    from ..scoring.grid import grid

    benchmarks = [p.strip() for item in patterns for p in item.split(",") if p.strip()]
    result = grid(list(models), benchmarks, executor=executor, scheduler=scheduler,
                  workers=workers, threads_per_worker=threads_per_worker, resources=resources,
                  group=group, retries=retries, pretrained=not random_weights,
                  use_cache=not no_cache, results=results_path or True)
    if as_json:
        _emit_json([{"model": o.model, "benchmark": o.benchmark, "status": o.status,
                     "value": None if o.score is None else o.score.value,
                     "error": None if o.score is None else o.score.error,
                     "layer": None if o.score is None else o.score.layer,
                     "failure": o.error, "worker": o.worker, "seconds": o.seconds}
                    for o in result.outcomes.values()])
    else:
        _plain_table(("model", "benchmark", "status", "score", "error", "layer"), [
            [o.model, o.benchmark, o.status, None if o.score is None else o.score.value,
             None if o.score is None else o.score.error,
             None if o.score is None else o.score.layer]
            for o in result.outcomes.values()])
    click.echo(result.summary(), err=True)
    if not result.ok:
        click.secho(f"{len(result.failed)} pair(s) failed:", fg="red", err=True)
        click.echo(result.failure_table(), err=True)
        sys.exit(1)


def _parse_value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def _split_params(params: Iterable[str], model_spec: Any,
                  benchmark_specs: list[Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``KEY=VALUE`` strings -> (model parameters, benchmark parameters).

    A key goes to the spec that declares it (``model.KEY`` / ``benchmark.KEY`` force one); a key
    neither declares, or both do without a prefix, is an error naming the valid keys.
    """
    model_keys = set(model_spec.parameters)
    bench_keys = set().union(*(spec.parameters for spec in benchmark_specs))
    model_params: dict[str, Any] = {}
    bench_params: dict[str, Any] = {}
    for item in params:
        key, equals, text = item.partition("=")
        key = key.strip()
        if not equals or not key:
            raise click.UsageError(f"--param {item!r}: expected KEY=VALUE, e.g. --param "
                                   "pretrained=false or --param benchmark.n_splits=5")
        value = _parse_value(text)
        target, _, bare = key.partition(".") if key.startswith(("model.", "benchmark.")) \
            else ("", "", key)
        if target == "model" or (not target and bare in model_keys and bare not in bench_keys):
            model_params[bare] = value
        elif target == "benchmark" or (not target and bare in bench_keys
                                       and bare not in model_keys):
            bench_params[bare] = value
        elif not target and bare in model_keys and bare in bench_keys:
            raise click.UsageError(f"--param {bare}: both the model and a benchmark declare "
                                   f"{bare!r}; write model.{bare}=... or benchmark.{bare}=...")
        else:
            raise click.UsageError(
                f"--param {bare}: neither model {model_spec.id!r} (parameters: "
                f"{sorted(model_keys) or 'none'}) nor the benchmarks (parameters: "
                f"{sorted(bench_keys) or 'none'}) declare {bare!r}; prefix model. or benchmark. "
                "to pass an undeclared one"
            )
    return model_params, bench_params


def _print_score(model: str, benchmark: str, result: Any) -> None:
    from rich.text import Text

    console = _console()
    error = f" ± {result.error:.4f}" if result.error is not None and not math.isnan(result.error) else ""
    console.print(Text.assemble((plain(model), "bold"), " on ", (plain(benchmark), "bold"), ": ",
                                (f"{result.value:.4f}", "bold green"), error))
    details = []
    if result.raw is not None:
        details.append(f"raw {result.raw:.4f}")
    if result.ceiling is not None:
        details.append(f"ceiling {result.ceiling:.4f}")
    if result.layer:
        details.append(f"layer {plain(result.layer)}")
    if details:
        console.print(Text("  " + ", ".join(details)))
    if result.layers:
        _table(None, ("layer", "score", ""), (
            [name, value, "chosen" if name == result.layer else ""]
            for name, value in result.layers.items()))
    for path, child in list(result.walk())[1:]:
        console.print(Text(f"  {plain(path)}: {child.value:.4f}"))


@cli.command()
@click.option("--output", "-o", type=click.Path(file_okay=False), help="Directory for the demo "
              "store, results and report (default: chosen by the demo).")
@click.option("--models", "-m", multiple=True, help="Model id to include (repeatable).")
@click.option("--quick", is_flag=True, help="Smallest configuration (for smoke tests).")
@click.option("--benchmarks", "-b", multiple=True, help="Benchmark id or fnmatch pattern "
              "(repeatable; default: every installed benchmark but the adversarial ones). The "
              "store then holds only the datasets these benchmarks read.")
def demo(output: str | None, models: tuple[str, ...], quick: bool,
         benchmarks: tuple[str, ...]) -> None:
    """Run the offline demo: build the synthetic store, score models, print a leaderboard."""
    from .demo import run

    run(output=output, models=list(models) or None, quick=quick,
        benchmarks=list(benchmarks) or None)


@cli.command("new-plugin")
@click.argument("name")
@click.option("--kind", type=click.Choice(["model", "benchmark", "metric", "dataset"]),
              default="model", show_default=True, help="What the package starts with (a "
              "benchmark comes with its dataset).")
@click.option("--directory", "-d", type=click.Path(file_okay=False), default=".",
              show_default=True, help="Where the folder neuroalign-NAME is created.")
@click.option("--overwrite", is_flag=True, help="Replace an existing folder of that name.")
def new_plugin(name: str, kind: str, directory: str, overwrite: bool) -> None:
    """Create a plugin package neuroalign-NAME that installs and passes its tests as is.

    \b
    Example (a lab publishing its model):
      neuroalign new-plugin mylab --kind model
      pip install -e neuroalign-mylab && pytest neuroalign-mylab/tests
    """
    from .scaffold import new_plugin as scaffold

    target = scaffold(name, kind, directory, overwrite=overwrite)
    click.echo(str(target))
    click.echo(f"next: pip install -e {target} && pytest {target / 'tests'}", err=True)


# ------------------------------------------------------------------------------ entry point
#: OpenMP wait policy the command runs torch with unless the environment sets one: idle OpenMP
#: threads sleep instead of spinning, which on a machine shared with other jobs kept repeated
#: calls within ~10 % where spinning varied 7x (docs/attacks.md, "Timing hygiene")
OMP_WAIT_POLICY = "PASSIVE"


def _add_remote_commands() -> None:
    from .remote_cli import install_command, publish_command, refresh_command

    cli.add_command(install_command)
    registry.add_command(publish_command)
    registry.add_command(refresh_command)


_add_remote_commands()


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point (``neuroalign = neuroalign.app.cli:main``).

    Sets ``OMP_WAIT_POLICY=PASSIVE`` unless the environment sets it; this must happen before
    torch loads its OpenMP runtime, which the commands import lazily.
    """
    os.environ.setdefault("OMP_WAIT_POLICY", OMP_WAIT_POLICY)
    cli.main(args=argv, prog_name="neuroalign")


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1:])
