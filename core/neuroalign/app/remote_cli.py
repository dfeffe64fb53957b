"""The commands that reach plugins in remote registries: ``install``, ``registry publish`` and
``registry refresh`` (added to the ``neuroalign`` group by :mod:`neuroalign.app.cli`).

Every line built from index data is printed through :func:`~neuroalign.app.text.plain`.
"""

from __future__ import annotations

import json

import click

from .text import plain

__all__ = ["install_command", "publish_command", "refresh_command"]

_REFRESH = click.option("--refresh", is_flag=True,
                        help="Fetch every registry index again, even when its cached copy is "
                             "recent.")


def _say(line: str) -> None:
    click.echo(plain(line), err=True)


@click.command("install")
@click.argument("names", nargs=-1, required=True, metavar="DIST-OR-ID...")
@click.option("--registry", "registries", multiple=True,
              help="Registry URL to resolve through (repeatable; default: NEUROALIGN_REGISTRY / "
                   "config.json 'registries' / the project's index).")
@click.option("--yes", "-y", is_flag=True, help="Do not ask before running pip.")
@click.option("--dry-run", is_flag=True, help="Show what would run; install nothing.")
@_REFRESH
@click.option("--json", "as_json", is_flag=True, help="Print the steps and result as JSON.")
def install_command(names: tuple[str, ...], registries: tuple[str, ...], yes: bool,
                    dry_run: bool, refresh: bool, as_json: bool) -> None:
    """Install the plugins that provide DIST-OR-ID (distributions or ids) with pip.

    Shows the exact pip command and asks first (unless --yes). A wheel hosted on the store is
    downloaded through the core store and sha256-verified before pip sees it.
    """
    from ..plugins.install import install

    def confirm(steps) -> bool:
        return click.confirm(f"install {len(steps)} distribution(s) with pip?", default=False,
                             err=True)

    result = install(list(names), yes=yes, registries=list(registries) or None,
                     refresh="always" if refresh else "stale", confirm=confirm, show=_say,
                     dry_run=dry_run)
    if as_json:
        click.echo(json.dumps(result.as_dict(), indent=2))
        return
    if not result.installed:
        return
    for step in result.steps:
        _say(f"installed {step.distribution} {step.version}")
    for identifier, kind in result.resolved.items():
        _say(f"{kind} {identifier} is now available")


@click.command("publish")
@click.argument("store")
@click.argument("plugins", nargs=-1, required=True, metavar="PLUGIN...")
@click.option("--no-data", is_flag=True, help="Do not upload dataset assets; keep their own "
              "(remote, hashed) URLs.")
@click.option("--description", default="", help="Free text stored in the index.")
@click.option("--json", "as_json", is_flag=True, help="Print what was written as JSON.")
def publish_command(store: str, plugins: tuple[str, ...], no_data: bool, description: str,
                    as_json: bool) -> None:
    """Build the wheels of PLUGIN... (folders or installed distributions) and publish them,
    their data and index.json to STORE (any fsspec URL), index last."""
    from .publish import publish

    result = publish(store, list(plugins), data=not no_data, description=description,
                     show=_say)
    if as_json:
        click.echo(json.dumps(result.as_dict(), indent=2))


@click.command("refresh")
@click.option("--registry", "registries", multiple=True, help="Registry URL (repeatable; "
              "default: the configured ones).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def refresh_command(registries: tuple[str, ...], as_json: bool) -> None:
    """Fetch the configured registry indexes again and show where each stands."""
    from ..errors import NeuroalignError
    from ..store.registries import describe_age, registry_indexes

    found = registry_indexes(list(registries) or None, refresh="always")
    rows = [{"registry": r.url, "source": r.source, "age_seconds": r.age,
             "plugins": len(r.index.plugins) if r.index else None, "problem": r.problem}
            for r in found]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
    else:
        for r in found:
            state = (f"{len(r.index.plugins)} plugin(s), {len(r.index.benchmarks)} benchmark(s)"
                     if r.index else "unreadable")
            age = f" (cached copy from {describe_age(r.age)} ago)" if r.source == "cache" else ""
            _say(f"{r.url}: {r.source}{age}, {state}" + (f"; {r.problem}" if r.problem else ""))
    if any(r.index is None for r in found):
        raise NeuroalignError("some registries could not be read (see above)")
