"""Progress reports: a live bar on a terminal, plain periodic lines elsewhere (CI logs, ``| tee``,
notebooks), nothing when asked. Used by extraction, layer selection and any long loop
(:func:`track`); re-exported by :mod:`neuroalign.scoring.engine`.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import Any

from .errors import SpecError

__all__ = ["PlainProgress", "progress_enabled", "progress_interval", "progress_mode", "track"]


def progress_mode(progress: bool | None = None) -> str:
    """How to report progress: ``"bar"`` (a live bar on a terminal), ``"lines"`` (a plain line
    every :func:`progress_interval` seconds, for CI logs, ``| tee`` and notebooks) or ``"off"``.

    ``progress=False`` is off; ``True`` or None (the default) is a bar when stderr is a terminal,
    else lines. ``NEUROALIGN_PROGRESS`` overrides the default: ``0``/``off`` (off), ``1``/``on``
    (a bar or lines, as for True), ``bar``, ``lines``.
    """
    import os
    import sys

    if progress is False:
        return "off"
    forced = os.environ.get("NEUROALIGN_PROGRESS", "").strip().lower()
    if progress is None and forced:
        if forced in {"0", "false", "no", "off"}:
            return "off"
        if forced in {"bar", "lines"}:
            return forced
    return "bar" if sys.stderr.isatty() else "lines"


def progress_enabled(progress: bool | None = None) -> bool:
    """Whether to report progress at all (:func:`progress_mode` is not ``"off"``)."""
    return progress_mode(progress) != "off"


def progress_interval() -> float:
    """Seconds between plain progress lines: ``NEUROALIGN_PROGRESS_INTERVAL``, default 10."""
    import os

    text = os.environ.get("NEUROALIGN_PROGRESS_INTERVAL", "").strip()
    try:
        return max(0.0, float(text)) if text else 10.0
    except ValueError:
        raise SpecError(f"NEUROALIGN_PROGRESS_INTERVAL={text!r} should be a number of seconds"
                        ) from None


class PlainProgress:
    """Plain progress lines on stderr, at most one every ``interval`` seconds.

    Nothing is printed for work that ends within the first interval; a long run prints
    ``"<label>: 40/160 (25%), 31 s elapsed, ~93 s left"`` lines and a final ``done`` line.

    Parameters
    ----------
    label : str
        What is running.
    total : int or None
        Number of units (None: unknown).
    interval : float, optional
        Seconds between lines (default :func:`progress_interval`).
    stream : file-like, optional
        Where to write (default: ``sys.stderr``).
    """

    def __init__(self, label: str, total: int | None, *, interval: float | None = None,
                 stream: Any = None):
        self.label, self.total = label, total
        self.interval = progress_interval() if interval is None else float(interval)
        self.stream = stream
        self.done = 0
        self.start = self.last = time.perf_counter()
        self.printed = False

    def _write(self, text: str) -> None:
        import sys

        stream = self.stream or sys.stderr
        print(text, file=stream, flush=True)
        self.printed = True

    def advance(self, n: int = 1) -> None:
        """Count ``n`` more units; print a line when the interval has passed."""
        self.done += n
        now = time.perf_counter()
        if now - self.last < self.interval:
            return
        self.last = now
        elapsed = now - self.start
        if self.total:
            share = self.done / self.total
            left = elapsed / share - elapsed if share > 0 else float("nan")
            eta = f", ~{left:.0f} s left" if left == left else ""
            self._write(f"{self.label}: {self.done}/{self.total} ({100 * share:.0f}%), "
                        f"{elapsed:.0f} s elapsed{eta}")
        else:
            self._write(f"{self.label}: {self.done} done, {elapsed:.0f} s elapsed")

    def close(self) -> None:
        """A final line, if any line was printed."""
        if self.printed:
            self._write(f"{self.label}: done ({self.done} in "
                        f"{time.perf_counter() - self.start:.0f} s)")

    def __enter__(self) -> PlainProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        if exc[0] is None:
            self.close()


def _plain_track(items: Sequence[Any], description: str) -> Iterable[Any]:
    with PlainProgress(description, len(items)) as lines:
        for item in items:
            yield item
            lines.advance()


def track(items: Sequence[Any], description: str, enabled: bool | None) -> Iterable[Any]:
    """Iterate ``items`` with a progress report: a transient bar on a terminal, plain periodic
    lines otherwise (:func:`progress_mode`); ``enabled=False`` reports nothing."""
    mode = progress_mode(None if enabled is None or enabled is True else False)
    if enabled is True and mode == "off":  # asked for explicitly: NEUROALIGN_PROGRESS=0 loses
        mode = progress_mode(True)
    if mode == "off" or len(items) < 2:
        return items
    if mode == "lines":
        return _plain_track(items, description)
    from rich.console import Console
    from rich.progress import track

    return track(items, description=description, console=Console(stderr=True), transient=True)
