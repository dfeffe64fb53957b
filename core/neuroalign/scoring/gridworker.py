"""What runs on a grid worker: one (model, benchmark) task, from ids to an outcome.

A task (:class:`Task`) carries ids, flags and the stored records the client already has for the
pair, never a live model or benchmark: the worker rebuilds both from its own plugin registry, so
any worker that has the same distributions installed can run any task (a SLURM node, a process
of a ``LocalCluster``, the client itself for ``executor="local"``).

Each worker process keeps the models it built last (:func:`cached_model`), so the benchmarks of
one model that the client places on the same worker build it once and share its activations
(in memory for the model object, on disk through the activation cache). One model object is used
by one task at a time: forward hooks make a shared torch module unsafe across threads.

Failures are split in two. *Transient* ones (:func:`is_transient`: lost connections, timeouts, a
busy or stale network filesystem) are raised so the executor retries the task; every other error
is a *real* failure of the pair and is returned as an :class:`Outcome` with ``status="failed"``,
its message and traceback, without retrying: a bug or a missing file fails the same way twice.
"""

from __future__ import annotations

import errno
import os
import platform
import threading
import time
import traceback
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from ..errors import UnknownIdError

if TYPE_CHECKING:  # pragma: no cover
    from ..interfaces import Model
    from ..scores import Score

__all__ = ["Task", "Outcome", "run_task", "cached_model", "clear_model_cache", "is_transient",
           "worker_plugins", "tune_process", "TRANSIENT_ERRNOS", "WorkerLookupError"]

#: OSError numbers worth a retry (network filesystems, busy devices, dropped connections)
TRANSIENT_ERRNOS = frozenset({
    errno.EAGAIN, errno.EBUSY, errno.EINTR, errno.EIO, errno.ESTALE, errno.ETIMEDOUT,
    errno.ECONNRESET, errno.ECONNREFUSED, errno.ECONNABORTED, errno.EHOSTUNREACH,
    errno.ENETUNREACH, errno.ENETDOWN, errno.EPIPE,
})


@dataclass(frozen=True)
class Task:
    """One (model, benchmark) pair as it travels to a worker: ids and plain data only.

    Attributes
    ----------
    model, benchmark : str
        Registered ids.
    pretrained : bool
        Build the model with pretrained weights (``False``: random initialisation).
    stored : tuple of Score
        The client's stored records for the pair at the benchmark's version (any weights); the
        worker returns the one that is current for the weights it builds instead of recomputing.
    distributions : mapping
        Distribution -> version the client resolved the ids from (named when a worker lacks them).
    """

    model: str
    benchmark: str
    pretrained: bool = True
    stored: tuple[Score, ...] = ()
    distributions: Mapping[str, str] = field(default_factory=dict)

    @property
    def pair(self) -> tuple[str, str]:
        return (self.model, self.benchmark)


@dataclass
class Outcome:
    """What a task returns: the Score (computed or found stored) or a real failure."""

    model: str
    benchmark: str
    status: Literal["computed", "stored", "failed"]
    score: Score | None = None
    error: str | None = None
    traceback: str | None = None
    worker: str = ""
    seconds: float = 0.0
    attempts: int = 1

    @property
    def pair(self) -> tuple[str, str]:
        return (self.model, self.benchmark)


# ------------------------------------------------------------------------------ transient errors


def is_transient(error: BaseException) -> bool:
    """Whether ``error`` (or an error it was raised from) is worth retrying.

    Transient: :class:`ConnectionError`, :class:`TimeoutError` (``filelock.Timeout`` too), an
    :class:`OSError` whose errno is in :data:`TRANSIENT_ERRNOS`, or any exception with a true
    ``transient`` attribute (how a plugin marks its own).
    """
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if getattr(current, "transient", False) is True:
            return True
        if isinstance(current, (ConnectionError, TimeoutError)):
            return True
        if isinstance(current, OSError) and current.errno in TRANSIENT_ERRNOS:
            return True
        current = current.__cause__ or current.__context__
    return False


# ------------------------------------------------------------------------------ model cache

_MODELS: OrderedDict[tuple[str, bool], tuple[Model, str]] = OrderedDict()
_MODELS_LOCK = threading.Lock()
_KEY_LOCKS: dict[tuple[str, bool], threading.Lock] = {}


def _capacity() -> int:
    """Models kept per process: ``NEUROALIGN_GRID_MODELS``, else the worker's thread count."""
    configured = os.environ.get("NEUROALIGN_GRID_MODELS", "").strip()
    if configured:
        return max(1, int(configured))
    try:
        from distributed import get_worker

        return max(1, int(get_worker().state.nthreads))
    except (ImportError, ValueError, AttributeError):
        return 1


def _key_lock(key: tuple[str, bool]) -> threading.Lock:
    with _MODELS_LOCK:
        return _KEY_LOCKS.setdefault(key, threading.Lock())


def cached_model(model_id: str, pretrained: bool) -> tuple[Model, str, threading.Lock]:
    """``(model, weights sha256, lock)`` for ``model_id``, built once per process and kept while
    recently used. Hold ``lock`` while using the model (one task at a time per model object)."""
    from ..plugins.lookup import get_model

    key = (model_id, bool(pretrained))
    lock = _key_lock(key)
    with lock:
        with _MODELS_LOCK:
            found = _MODELS.get(key)
            if found is not None:
                _MODELS.move_to_end(key)
                return found[0], found[1], lock
        model = get_model(model_id, pretrained=pretrained)
        weights = model.weights_hash()
        with _MODELS_LOCK:
            _MODELS[key] = (model, weights)
            while len(_MODELS) > _capacity():
                _MODELS.popitem(last=False)
    return model, weights, lock


def clear_model_cache() -> None:
    """Forget every model this process keeps (frees their memory once nothing else holds them)."""
    with _MODELS_LOCK:
        _MODELS.clear()


# ------------------------------------------------------------------------------ the process

_TUNED: list[bool] = []

#: glibc's ``mallopt`` parameters and the values :func:`tune_process` sets
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
MMAP_THRESHOLD = 32 * 2**20
TRIM_THRESHOLD = 64 * 2**20


def tune_process() -> bool:
    """Undo a ``MALLOC_TRIM_THRESHOLD_`` inherited from a dask nanny, once per process.

    dask's nanny starts workers with ``MALLOC_TRIM_THRESHOLD_=65536``; any explicit threshold
    turns off glibc's adaptive mmap threshold, so every array over 128 KiB is mapped and
    unmapped again (measured: ~25x the page faults and 2x the CPU time of the same task in a
    plain process, docs/grid.md). Clusters made by the grid do not set it; for workers started
    elsewhere (``dask worker``, ``SLURMCluster``) this sets the thresholds glibc adapts to on its
    own (mmap above 32 MiB, trim above 64 MiB). Returns whether it changed anything; a no-op
    without the variable, off glibc, or with ``NEUROALIGN_GRID_MALLOC=keep``.
    """
    if _TUNED:
        return False
    _TUNED.append(True)
    if (not os.environ.get("MALLOC_TRIM_THRESHOLD_")
            or os.environ.get("NEUROALIGN_GRID_MALLOC", "").strip().lower() == "keep"
            or not platform.libc_ver()[0] == "glibc"):
        return False
    import ctypes

    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    return bool(libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)
                and libc.mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))


# ------------------------------------------------------------------------------ the task


def _worker_name() -> str:
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):
        return f"{platform.node()}:{os.getpid()}"


def _missing_plugin_hint(error: UnknownIdError, task: Task) -> str:
    needed = ", ".join(f"{name}=={version}" for name, version in sorted(task.distributions.items())
                       if name != "neuroalign")
    return (f"{error} on worker {_worker_name()}: the client resolved it from {needed or 'a plugin'}"
            f"; install the same distributions on every worker (pip install {needed})")


def run_task(task: Task) -> Outcome:
    """Run one task on this process: build (or reuse) the model and the benchmark, return the
    stored record if it is current, else compute the Score with its provenance.

    Transient errors (:func:`is_transient`) are raised for the executor to retry; every other
    error is returned as a failed :class:`Outcome`.
    """
    from ..plugins.lookup import get_benchmark
    from .engine import data_fingerprint, is_current, run_benchmark
    from .results import data_digest

    start = time.perf_counter()
    tune_process()
    worker = _worker_name()
    try:
        try:
            benchmark = get_benchmark(task.benchmark)
            model, weights, lock = cached_model(task.model, task.pretrained)
        except UnknownIdError as error:
            raise WorkerLookupError(_missing_plugin_hint(error, task)) from error
        # the data this worker would read (its store, its cache) is part of the results key
        declared = data_fingerprint(benchmark)
        digest = data_digest(declared)
        for stored in task.stored:
            if is_current(stored, benchmark, weights_hash=weights, data_sha256=digest):
                return Outcome(task.model, task.benchmark, "stored", score=stored, worker=worker,
                               seconds=time.perf_counter() - start)
        with lock:
            score = run_benchmark(model, benchmark, progress=False, weights_hash=weights,
                                  declared=declared)
    except Exception as error:  # noqa: BLE001 - a failed pair is an outcome, not a crash
        if is_transient(error):
            raise
        return Outcome(task.model, task.benchmark, "failed", error=_describe(error),
                       traceback=traceback.format_exc(), worker=worker,
                       seconds=time.perf_counter() - start)
    return Outcome(task.model, task.benchmark, "computed", score=score, worker=worker,
                   seconds=time.perf_counter() - start)


class WorkerLookupError(Exception):
    """A model or benchmark id the client resolved is unknown on the worker (a plugin is
    missing there)."""


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"


# ------------------------------------------------------------------------------ plugin check


def worker_plugins() -> dict[str, Any]:
    """This process's view of the plugins (run on every worker at grid start).

    Returns
    -------
    dict
        ``{"host", "pid", "loaded": {distribution: version}, "failed": {distribution: error}}``.
    """
    from .. import __version__
    from ..plugins.lookup import get_plugin_manager

    manager = get_plugin_manager()
    manager.registry  # noqa: B018 - collect now so a failing hook shows up as failed
    loaded = {"neuroalign": __version__}
    failed: dict[str, str] = {}
    for info in manager.plugins.values():
        if info.status == "loaded":
            loaded[info.distribution] = info.version
        elif info.status == "failed":
            failed[info.distribution] = info.error or "failed"
    return {"host": platform.node(), "pid": os.getpid(), "loaded": loaded, "failed": failed}
