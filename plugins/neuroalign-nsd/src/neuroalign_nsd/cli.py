"""The ``nsd`` command group: ``neuroalign nsd prepare --source URL --out STORE``.

A click group, so the core CLI can mount it as a subcommand (``cli.add_command(nsd)``); it runs
on its own too (``python -m neuroalign_nsd.cli prepare ...``).
"""

from __future__ import annotations

import click

from .source import AGREEMENT
from .specs import BUCKET, SESSIONS, TRIALS_PER_SESSION, TVAL_THRESHOLD

__all__ = ["nsd", "prepare_command"]


@click.group(name="nsd", context_settings={"help_option_names": ["-h", "--help"]})
def nsd() -> None:
    """Natural Scenes Dataset (NSD) tools. NSD's terms ask every user to accept the NSD Data
    Access Agreement (https://naturalscenesdataset.org) before using the data."""


def _sessions(ctx: click.Context, param: click.Parameter, value: str | None) -> tuple[int, ...]:
    if value is None:
        return SESSIONS
    try:
        numbers = tuple(int(v) for v in value.replace(",", " ").split())
    except ValueError:
        raise click.BadParameter(f"{value!r} is not 8 integers (e.g. '40 40 32 30 40 32 40 30')")
    if len(numbers) != 8 or min(numbers) < 1:
        raise click.BadParameter(f"{value!r}: give the completed sessions of all 8 subjects")
    return numbers


@nsd.command(name="prepare")
@click.option("--source", default=BUCKET, show_default=True, metavar="URL",
              help="Root of a raw NSD tree: the public bucket (anonymous reads), a mirror, or a "
                   "local copy (any fsspec URL or path).")
@click.option("--out", required=True, type=click.Path(file_okay=False), metavar="STORE",
              help="Store directory to write (index.json + files; use it as NEUROALIGN_STORE).")
@click.option("--subjects", default="1-8", show_default=True,
              help="Subjects to prepare: 1-8, 1,3,5 or 2.")
@click.option("--threshold", default=TVAL_THRESHOLD, show_default=True, type=float,
              help="Keep ROI voxels with floc t-value above this.")
@click.option("--sessions", callback=_sessions, default=None, metavar="'N N N N N N N N'",
              help="Completed sessions per subject (default NSD's 40 40 32 30 40 32 40 30); "
                   "only for reduced copies of the tree.")
@click.option("--trials-per-session", default=TRIALS_PER_SESSION, show_default=True, type=int,
              help="Trials per session (NSD: 750); only for reduced copies of the tree.")
@click.option("--quiet", "-q", is_flag=True, help="No progress messages.")
def prepare_command(source: str, out: str, subjects: str, threshold: float,
                    sessions: tuple[int, ...], trials_per_session: int, quiet: bool) -> None:
    """Prepare NSD's shared-515 images and the FFA/EBA/PPA/VWFA betas of each subject.

    Reads the design, the ROI volumes and t-maps, the single-trial betas (streamed session by
    session: at most two 1 GB session files on disk; a killed run resumes where it stopped) and
    only the 515 shared images of nsd_stimuli.hdf5, and writes a neuroalign store: the stimulus
    set NSD.shared515 and one assembly NSD.subjAA per subject, listed in STORE/index.json.
    Score on it with NEUROALIGN_STORE=STORE.

    NSD's terms ask every user to accept the NSD Data Access Agreement
    (https://naturalscenesdataset.org) before using the data.
    """
    from neuroalign.errors import NeuroalignError

    from .pipeline import prepare
    from .raw import RawFormatError

    log = None if quiet else (lambda message: click.echo(message, err=True))
    try:
        written = prepare(source, out, subjects=subjects, threshold=threshold,
                          sessions=sessions, trials_per_session=trials_per_session, log=log)
    except (NeuroalignError, RawFormatError, ValueError) as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"wrote {len(written)} datasets to {out} ({', '.join(sorted(written))}); use "
               f"NEUROALIGN_STORE={out}. {AGREEMENT}")


if __name__ == "__main__":  # pragma: no cover
    nsd()
