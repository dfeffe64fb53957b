"""``grid(models, benchmarks)``: score every model on every benchmark, locally or on dask.

The client plans (ids and patterns -> pairs), skips nothing it cannot prove current, sends one
task per (model, benchmark) pair (:class:`~neuroalign.scoring.gridworker.Task`: ids and the
records it already stores, never a live model), and writes each result into the results
database as it arrives: one writer, idempotent upserts keyed as
:class:`~neuroalign.scoring.results.ResultsDatabase` keys them. A rerun (after a crash, a
``Ctrl-C``, a killed client) sends the pairs again with their stored records; a worker that
rebuilds the model with the same weights returns the stored record without running the
benchmark (:func:`neuroalign.scoring.engine.is_current`, the rule ``score`` uses), so only
missing or outdated pairs are computed.

Executors: ``"local"`` runs the tasks in this process, model by model; ``"dask"`` runs them on a
``dask.distributed`` cluster (see :mod:`neuroalign.scoring.griddask`). See ``docs/grid.md``.
"""

from __future__ import annotations

import fnmatch
import os
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import NeuroalignError, SpecError, closest
from .gridworker import Outcome, Task, clear_model_cache, is_transient, run_task

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ..scores import Score
    from .results import ResultsDatabase

__all__ = ["grid", "GridResult", "expand_benchmarks", "plan", "GROUPS", "EXECUTORS"]

EXECUTORS = ("local", "dask")
#: ``"model"``: a model's pairs go to one worker (chosen by measurement, docs/grid.md);
#: ``"pair"``: the scheduler places every pair freely
GROUPS = ("model", "pair")


# ------------------------------------------------------------------------------ the result


@dataclass
class GridResult:
    """Every pair's :class:`~neuroalign.scoring.gridworker.Outcome`, in plan order.

    ``computed``: scored now; ``stored``: a current stored record was reused; ``failed``: see
    :meth:`failure_table`. ``ok`` is true when nothing failed.
    """

    outcomes: dict[tuple[str, str], Outcome] = field(default_factory=dict)
    wall_s: float = 0.0
    executor: str = "local"

    def _with(self, status: str) -> list[Outcome]:
        return [o for o in self.outcomes.values() if o.status == status]

    @property
    def computed(self) -> list[Outcome]:
        return self._with("computed")

    @property
    def stored(self) -> list[Outcome]:
        return self._with("stored")

    @property
    def failed(self) -> list[Outcome]:
        return self._with("failed")

    @property
    def ok(self) -> bool:
        return not self.failed

    def scores(self) -> dict[str, dict[str, Score | None]]:
        """``{model: {benchmark: Score or None (failed)}}``."""
        table: dict[str, dict[str, Score | None]] = {}
        for (model, benchmark), outcome in self.outcomes.items():
            table.setdefault(model, {})[benchmark] = outcome.score
        return table

    def table(self) -> pd.DataFrame:
        """One row per pair: model, benchmark, status, value, error, layer, worker, seconds."""
        import pandas as pd

        rows = [{"model": o.model, "benchmark": o.benchmark, "status": o.status,
                 "value": None if o.score is None else o.score.value,
                 "error": None if o.score is None else o.score.error,
                 "layer": None if o.score is None else o.score.layer,
                 "failure": o.error, "worker": o.worker, "seconds": o.seconds}
                for o in self.outcomes.values()]
        return pd.DataFrame(rows, columns=["model", "benchmark", "status", "value", "error",
                                           "layer", "failure", "worker", "seconds"])

    def failure_table(self, width: int = 100) -> str:
        """A plain-text table of the failed pairs and why (empty when none failed)."""
        if not self.failed:
            return ""
        rows = [("model", "benchmark", "worker", "error")]
        for o in self.failed:
            message = (o.error or "").strip().splitlines()[0] if o.error else ""
            rows.append((o.model, o.benchmark, o.worker or "-", message[:width]))
        widths = [max(len(r[i]) for r in rows) for i in range(3)]
        lines = ["  ".join(c.ljust(w) for c, w in zip(r[:3], widths)) + "  " + r[3] for r in rows]
        lines.insert(1, "  ".join("-" * w for w in widths) + "  " + "-" * 5)
        return "\n".join(lines)

    def summary(self) -> str:
        return (f"{len(self.outcomes)} pairs: {len(self.computed)} computed, "
                f"{len(self.stored)} stored, {len(self.failed)} failed "
                f"({self.wall_s:.1f} s, executor {self.executor})")


# ------------------------------------------------------------------------------ planning


def expand_benchmarks(patterns: Iterable[str]) -> list[str]:
    """Benchmark ids matching each fnmatch pattern (or exact id), in order, without repeats."""
    from ..plugins.lookup import list_benchmarks

    installed = list_benchmarks()
    out: list[str] = []
    for pattern in patterns:
        hits = [b for b in installed if fnmatch.fnmatchcase(b, pattern)]
        if not hits:
            near = closest(pattern, installed)
            hint = f"; did you mean {', '.join(repr(n) for n in near)}?" if near else ""
            raise NeuroalignError(
                f"no installed benchmark matches {pattern!r}{hint} (list them with: neuroalign "
                "list benchmarks; install plugins for more)")
        out += [b for b in hits if b not in out]
    return out


def _distributions(registry: Any, kind: str, identifier: str) -> dict[str, str]:
    """Distribution -> version behind ``identifier`` and what its spec names (data, metrics,
    member benchmarks of a composite)."""
    entry = registry.entry(kind, identifier)
    found = {entry.distribution: entry.version}
    if kind != "benchmark":
        return found
    spec = entry.spec
    names: list[tuple[str, Any]] = [("dataset", spec.dataset), ("metric", spec.metric),
                                    ("metric", spec.ceiling)]
    for value in (spec.parameters or {}).values():
        for item in _strings(value):
            names += [("dataset", item), ("benchmark", item)]
    for other_kind, other in names:
        if other and other in registry.ids(other_kind):
            if other_kind == "benchmark" and other != identifier:
                found.update(_distributions(registry, "benchmark", other))
            else:
                other_entry = registry.entry(other_kind, other)
                found[other_entry.distribution] = other_entry.version
    return found


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, Mapping):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, (list, tuple)):
        return [s for v in value for s in _strings(v)]
    return []


def plan(models: Sequence[str], benchmarks: Sequence[str], *, pretrained: bool = True,
         database: ResultsDatabase | None = None) -> list[Task]:
    """The tasks of a grid, model-major, each with the pair's stored records (at the benchmark's
    current version) from ``database``."""
    from .. import __version__
    from ..plugins.lookup import get_registry
    from .results import DEFAULT_REQUEST

    registry = get_registry()
    for model in models:
        if not isinstance(model, str):
            raise SpecError(
                f"grid tasks carry model ids, not objects; found {type(model).__name__}. "
                "Register the model in a plugin (docs/plugins.md) or use neuroalign.score()")
        registry.entry("model", model)  # unknown id -> UnknownIdError with the closest ids
    benchmark_ids = expand_benchmarks(benchmarks)
    versions = {b: registry.spec("benchmark", b).version for b in benchmark_ids}
    stored: dict[tuple[str, str], list[Score]] = {}
    if database is not None:
        wanted = set(models)
        for record in database.scores(request=DEFAULT_REQUEST):
            prov = record.provenance
            key = (prov.model_id, prov.benchmark_id)
            if (prov.model_id in wanted and prov.benchmark_id in versions
                    and int(prov.benchmark_version or 0) == int(versions[prov.benchmark_id] or 0)):
                stored.setdefault(key, []).append(record)
    model_dists = {m: _distributions(registry, "model", m) for m in models}
    bench_dists = {b: _distributions(registry, "benchmark", b) for b in benchmark_ids}
    return [Task(model=m, benchmark=b, pretrained=pretrained,
                 stored=tuple(stored.get((m, b), ())),
                 distributions={"neuroalign": __version__, **model_dists[m], **bench_dists[b]})
            for m in dict.fromkeys(models) for b in benchmark_ids]


# ------------------------------------------------------------------------------ progress


class _Progress:
    """Counts and ETA on stderr: a rich bar on a terminal, else a plain line every
    ``interval`` seconds (and one at the end)."""

    def __init__(self, total: int, enabled: bool, interval: float = 10.0):
        self.total, self.enabled, self.interval = total, enabled and total > 0, interval
        self.counts = {"computed": 0, "stored": 0, "failed": 0}
        self.start = self.last = time.monotonic()
        self._bar = self._task = None
        if self.enabled and sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                                       TimeElapsedColumn, TimeRemainingColumn)

            self._bar = Progress(TextColumn("grid"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("{task.fields[counts]}"), TimeElapsedColumn(),
                                 TextColumn("ETA"), TimeRemainingColumn(),
                                 console=Console(stderr=True), transient=False)
            self._bar.start()
            self._task = self._bar.add_task("grid", total=total, counts=self._text())

    def _text(self) -> str:
        c = self.counts
        return f"{c['computed']} computed, {c['stored']} stored, {c['failed']} failed"

    def eta(self) -> float | None:
        """Seconds left, from the pace of the computed and failed pairs so far."""
        done = sum(self.counts.values())
        worked = self.counts["computed"] + self.counts["failed"]
        if not worked or done >= self.total:
            return None if done < self.total else 0.0
        return (time.monotonic() - self.start) / worked * (self.total - done)

    def update(self, outcome: Outcome) -> None:
        self.counts[outcome.status] += 1
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.update(self._task, advance=1, counts=self._text())
            return
        now = time.monotonic()
        if now - self.last >= self.interval:
            self.last = now
            self._line()

    def _line(self) -> None:
        done = sum(self.counts.values())
        eta = self.eta()
        left = "" if eta is None else f", ETA {eta:.0f} s"
        print(f"grid: {done}/{self.total} pairs ({self._text()}), "
              f"{time.monotonic() - self.start:.0f} s{left}", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
        elif self.enabled:
            self._line()


# ------------------------------------------------------------------------------ the grid


def _local(tasks: Sequence[Task], retries: int, on_outcome: Callable[[Outcome], None]) -> None:
    try:
        for task in tasks:
            for attempt in range(int(retries) + 1):
                try:
                    outcome = run_task(task)
                    break
                except Exception as error:  # noqa: BLE001 - run_task raises transient ones only
                    if attempt == int(retries) or not is_transient(error):
                        outcome = Outcome(task.model, task.benchmark, "failed",
                                          error=f"{type(error).__name__}: {error} (transient "
                                                f"error, after {attempt + 1} attempt(s))",
                                          attempts=attempt + 1)
                        break
                    time.sleep(min(2.0 ** attempt, 30.0))
            outcome.attempts = max(outcome.attempts, attempt + 1)
            on_outcome(outcome)
    finally:
        clear_model_cache()


def _parse_resources(resources: Mapping[str, float] | str | None) -> dict[str, float] | None:
    if resources is None or isinstance(resources, Mapping):
        return dict(resources) if resources else None
    out: dict[str, float] = {}
    for item in str(resources).replace(",", " ").split():
        name, sep, amount = item.partition("=")
        try:
            out[name.strip()] = float(amount)
        except ValueError:
            sep = ""
        if not sep or not name.strip():
            raise SpecError(f"resources must look like 'GPU=1' or 'GPU=1,MEMORY=16e9'; found "
                            f"{item!r}")
    return out


def grid(
    models: Sequence[str],
    benchmarks: Sequence[str],
    *,
    executor: Any = "dask",
    scheduler: str | None = None,
    workers: int | None = None,
    threads_per_worker: int = 1,
    resources: Mapping[str, float] | str | None = None,
    group: str = "model",
    retries: int = 2,
    pretrained: bool = True,
    use_cache: bool = True,
    results: Any = True,
    progress: bool | None = None,
    on_result: Callable[[Outcome], None] | None = None,
) -> GridResult:
    """Score every model on every benchmark; store each result as it arrives.

    Parameters
    ----------
    models : sequence of str
        Registered model ids (tasks carry ids: workers rebuild the models).
    benchmarks : sequence of str
        Benchmark ids or fnmatch patterns (``"MajajHong2015.*"``).
    executor : {"dask", "local"} or distributed.Client or str
        ``"local"``: this process, model by model. ``"dask"``: a dask.distributed cluster
        (``scheduler`` if given, else one made here on 127.0.0.1). A ``Client`` is used as is; a
        ``tcp://`` address is the same as ``scheduler=``.
    scheduler : str, optional
        Address of a running dask scheduler (e.g. ``cluster.scheduler_address`` of a
        ``dask_jobqueue.SLURMCluster``).
    workers, threads_per_worker : int
        Size of a cluster made here (default: one worker per CUDA device, else per CPU core).
    resources : mapping or str, optional
        Resources each task needs (``{"GPU": 1}`` or ``"GPU=1"``); workers of a cluster made here
        declare them. GPU workers made here always declare ``GPU=1``.
    group : {"model", "pair"}
        ``"model"`` places each model's pairs on one worker so they build it once and share its
        activations; ``"pair"`` lets the scheduler place every pair (docs/grid.md measures both).
    retries : int
        Extra attempts for a task that fails transiently (connection lost, timeout, busy
        network filesystem) or whose worker dies. Other errors are not retried.
    pretrained : bool
        ``False`` scores randomly initialised weights.
    use_cache : bool
        Reuse stored results that are current; ``False`` recomputes every pair.
    results : bool, path or ResultsDatabase
        The results database (True: the default one; False: none, nothing is skipped).
    progress : bool, optional
        Counts and ETA on stderr (default on, unless ``NEUROALIGN_PROGRESS=0``: a bar on a
        terminal, else a line every 10 s).
    on_result : callable, optional
        Called on the client with each pair's outcome as it arrives, after it is stored.

    Returns
    -------
    GridResult
        Every pair's outcome; ``result.ok`` is false when a pair failed (see
        ``result.failure_table()``). Failed pairs never stop the others.
    """
    from .engine import _results_database

    if group not in GROUPS:
        raise SpecError(f"group must be one of {GROUPS}; found {group!r}")
    if int(retries) < 0:
        raise SpecError(f"retries must be >= 0; found {retries!r}")
    name = executor if isinstance(executor, str) and "://" not in executor else "dask"
    if name not in EXECUTORS:
        raise SpecError(f"executor must be one of {EXECUTORS}, a distributed.Client or a "
                        f"scheduler address; found {executor!r}")
    if name == "local" and scheduler:
        raise SpecError("scheduler= needs executor='dask'")
    need = _parse_resources(resources)
    database = _results_database(results)
    tasks = plan(list(models), list(benchmarks), pretrained=pretrained,
                 database=database if use_cache else None)
    outcome_of: dict[tuple[str, str], Outcome] = {}
    if progress is None:  # default on (a bar or plain lines); NEUROALIGN_PROGRESS=0 turns it off
        forced = os.environ.get("NEUROALIGN_PROGRESS", "").strip().lower()
        progress = forced not in {"0", "false", "no", "off"}
    bar = _Progress(len(tasks), bool(progress))
    start = time.perf_counter()

    def record(outcome: Outcome) -> None:
        if outcome.status == "computed" and database is not None and outcome.score is not None:
            database.put(outcome.score)  # one writer: the client
        outcome_of[outcome.pair] = outcome
        bar.update(outcome)
        if on_result is not None:
            on_result(outcome)

    try:
        if name == "local":
            _local(tasks, retries, record)
        else:
            from . import griddask

            needed: dict[str, str] = {}
            for task in tasks:
                needed.update(task.distributions)
            with griddask.connect(executor, scheduler, workers=workers,
                                  threads_per_worker=threads_per_worker,
                                  resources=need) as (client, made_here):
                gpu = made_here and bool(griddask.cuda_devices())
                griddask.run(tasks, client=client, group=group, retries=retries,
                             resources={**(need or {}), "GPU": 1} if gpu else need,
                             on_outcome=record,
                             check=lambda c: griddask.check_workers(c, needed))
    finally:
        bar.close()
    ordered = {t.pair: outcome_of[t.pair] for t in tasks if t.pair in outcome_of}
    return GridResult(outcomes=ordered, wall_s=time.perf_counter() - start, executor=name)
