"""The dask.distributed executor of :func:`neuroalign.scoring.grid.grid`.

Cluster choice: an existing :class:`distributed.Client` (used, never closed), a scheduler
address (``tcp://host:8786``, e.g. of a ``dask_jobqueue.SLURMCluster``), or a cluster made here
on 127.0.0.1: one worker per CUDA device (``CUDA_VISIBLE_DEVICES`` pinned, resource ``GPU=1``)
when CUDA is present, else a ``LocalCluster`` of processes. Workers of a cluster made here get
the client's ``NEUROALIGN_*`` variables (store, home, offline, plugin selection).

Before submitting, :func:`check_workers` asks every worker which distributions it loaded and
stops with one error naming, per worker, each distribution that is missing, failed to import or
has another version. Placement (``group="model"``): the pairs of one model are submitted with a
loose restriction to one worker (models spread so each worker gets about the same number of
pairs), so that worker builds the model once and reuses its activations; an idle worker may
still steal them, and a lost worker's tasks run elsewhere.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from ..errors import NeuroalignError
from .gridworker import Outcome, Task, is_transient, run_task, worker_plugins

__all__ = ["connect", "cuda_devices", "gpu_cluster_spec", "make_cluster", "check_workers",
           "ModelQueue", "run"]

#: environment variables a cluster made here passes on to its workers
ENV_PREFIX = "NEUROALIGN_"

#: dask settings of a cluster made here (measured with benchmarks/bench_grid.py, docs/grid.md
#: "Measurements"). Worker processes start without ``MALLOC_TRIM_THRESHOLD_`` (dask's nanny sets
#: 65536, which turns off glibc's adaptive mmap threshold: every array over 128 KiB is then
#: mapped and unmapped again, and the same task took ~25x the page faults and 2x the CPU) and
#: without the statistical profiler thread (a sample every 10 ms competes for the GIL and the
#: core of a one-thread worker). The scheduler, nannies and workers check their event loop every
#: 1 s instead of 20 ms and sample memory and system use every 1-2 s instead of 0.1-0.5 s: an
#: idle 2-worker cluster then uses ~0.3 s of CPU per 15 s instead of ~1.4 s (what a grid's
#: tasks lose on a busy machine). No work stealing: with ``group="model"`` the client balances
#: (ModelQueue), and a stolen pair recomputed its model's activations on the thief (measured
#: 15 s); with ``group="pair"`` the scheduler's queue hands pairs to free workers. The nanny's
#: thread caps (OMP/MKL/OpenBLAS = 1) stay.
CLUSTER_CONFIG: dict[str, Any] = {
    "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "1s",
    "distributed.admin.system-monitor.interval": "2s",
    "distributed.admin.system-monitor.gil.enabled": False,
    "distributed.worker.memory.monitor-interval": "1s",
    "distributed.scheduler.work-stealing": False,
}


def _import_distributed() -> Any:
    try:
        import distributed
    except ImportError as error:
        raise NeuroalignError(
            "executor='dask' needs dask.distributed, which is not installed: "
            "pip install 'neuroalign[dask]' (or use executor='local')"
        ) from error
    return distributed


def cuda_devices() -> list[str]:
    """CUDA device indices visible here (``[]`` without a GPU; torch imported only if a driver
    is present)."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None and visible.strip() in ("", "-1"):
        return []
    if shutil.which("nvidia-smi") is None and not Path("/dev/nvidia0").exists():
        return []
    try:
        import torch
    except ImportError:
        return []
    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if visible:
        return [d.strip() for d in visible.split(",") if d.strip()][:count]
    return [str(i) for i in range(count)]


#: thread-pool variables a worker made here gets, set to its thread count (a client started with
#: ``OMP_NUM_THREADS=2`` must not give each 1-thread worker 2 BLAS/OpenMP threads)
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def _worker_env(threads_per_worker: int = 1) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k.startswith(ENV_PREFIX)}
    env.update({name: str(int(threads_per_worker)) for name in THREAD_VARIABLES})
    return env


def gpu_cluster_spec(devices: Sequence[str], *, threads_per_worker: int = 1,
                     resources: Mapping[str, float] | None = None) -> dict[str, Any]:
    """Keyword arguments of a ``distributed.SpecCluster`` with one worker per CUDA device:
    each pinned to its device through ``CUDA_VISIBLE_DEVICES`` and declaring ``GPU=1``."""
    distributed = _import_distributed()
    env = _worker_env(threads_per_worker)
    workers = {
        f"gpu-{device}": {"cls": distributed.Nanny, "options": {
            "nthreads": int(threads_per_worker), "host": "127.0.0.1",
            "dashboard_address": None, "silence_logs": logging.ERROR,
            "resources": {**(resources or {}), "GPU": 1},
            "env": {**env, "CUDA_VISIBLE_DEVICES": str(device)}}}
        for device in devices
    }
    scheduler = {"cls": distributed.Scheduler,
                 "options": {"host": "127.0.0.1", "dashboard_address": None}}
    return {"workers": workers, "scheduler": scheduler, "silence_logs": logging.ERROR,
            "name": "neuroalign-gpu"}


def make_cluster(*, workers: int | None, threads_per_worker: int,
                 resources: Mapping[str, float] | None, devices: Sequence[str] | None = None
                 ) -> Any:
    """A cluster on 127.0.0.1: one worker per device in ``devices`` (default
    :func:`cuda_devices`) with ``GPU=1``, else ``workers`` CPU worker processes; worker
    processes run with :data:`CLUSTER_CONFIG`."""
    distributed = _import_distributed()
    import dask

    devices = cuda_devices() if devices is None else list(devices)
    # the scheduler and nannies read the settings when they are made (nannies keep them for the
    # workers they restart)
    with dask.config.set(CLUSTER_CONFIG):
        if devices:
            if workers is not None:
                devices = devices[: int(workers)]
            return distributed.SpecCluster(**gpu_cluster_spec(
                devices, threads_per_worker=threads_per_worker, resources=resources))
        count = (int(workers) if workers
                 else max(1, (os.cpu_count() or 1) // int(threads_per_worker)))
        return distributed.LocalCluster(
            n_workers=count, threads_per_worker=int(threads_per_worker), processes=True,
            host="127.0.0.1", dashboard_address=None, silence_logs=logging.ERROR,
            resources=dict(resources) if resources else None,
            env=_worker_env(threads_per_worker),
        )


@contextlib.contextmanager
def connect(executor: Any, scheduler: str | None, *, workers: int | None,
            threads_per_worker: int, resources: Mapping[str, float] | None
            ) -> Iterator[tuple[Any, bool]]:
    """Yield ``(client, made_here)``; a client or cluster made here is closed afterwards."""
    distributed = _import_distributed()
    if isinstance(executor, distributed.Client):
        yield executor, False
        return
    address = scheduler or (executor if isinstance(executor, str) and "://" in executor
                            else None)
    if address:
        with distributed.Client(address, set_as_default=False) as client:
            yield client, False
        return
    cluster = make_cluster(workers=workers, threads_per_worker=threads_per_worker,
                           resources=resources)
    try:
        with distributed.Client(cluster, set_as_default=False) as client:
            yield client, True
    finally:
        cluster.close()


def check_workers(client: Any, needed: Mapping[str, str], *, timeout: float = 120.0) -> int:
    """Check every worker loads the ``needed`` distributions at the same versions; return how
    many workers there are. Waits up to ``timeout`` s for a first worker (adaptive clusters)."""
    if not client.scheduler_info()["workers"]:
        try:
            client.wait_for_workers(1, timeout=timeout)
        except TimeoutError as error:
            raise NeuroalignError(
                f"no dask worker joined the scheduler {client.scheduler.address} within "
                f"{timeout:.0f} s; start workers (dask worker ADDR, or cluster.scale(n))"
            ) from error
    reports = client.run(worker_plugins)
    problems = []
    for address, report in sorted(reports.items()):
        issues = []
        for name, version in sorted(needed.items()):
            if name in report["failed"]:
                issues.append(f"{name} failed to import ({report['failed'][name]})")
            elif name not in report["loaded"]:
                issues.append(f"{name} is missing (pip install {name}=={version})")
            elif report["loaded"][name] != version:
                issues.append(f"{name} is version {report['loaded'][name]}, the client has "
                              f"{version}")
        if issues:
            problems.append(f"  worker {address} (host {report['host']}): " + "; ".join(issues))
    if problems:
        raise NeuroalignError(
            "the dask workers cannot run this grid; every worker needs the distributions that "
            "provide the models and benchmarks, at the client's versions (and the same "
            "NEUROALIGN_LOAD_PLUGINS / NEUROALIGN_DISABLE_PLUGINS):\n" + "\n".join(problems))
    return len(reports)


#: seconds between two reads of the scheduler's worker list while pairs are handed out
WORKERS_REFRESH_S = 1.0


class ModelQueue:
    """Which pair a free worker runs next when pairs are grouped by model (``group="model"``).

    A worker keeps to the model it started while that model has pairs left (it built the model
    and its activations are in the cache); a worker without one starts the next model nobody has
    started (plan order); when every model is started, it helps with the model that has the most
    pairs left among those whose first pair has finished (their activations are cached by then),
    and otherwise waits: a pair of a model whose first pair is still running would compute the
    same activations again, on a core the first pair needs. Helping rebuilds the model on the
    helper, so it helps only where that pays: when the model's unassigned pairs, at the time its
    later pairs took, cost more than its first pair did (model build and activations); without
    times (``done`` without ``seconds``) it always helps. Measured on 2 idle cores: a worker that
    helped with a model's last pair spent 3.5 s rebuilding it for a pair its owner ran in 0.5 s,
    and that pair was the grid's critical path. Pure bookkeeping: :func:`run` calls it as
    workers free up (a pair finishing is what gives a waiting worker a pair).
    """

    def __init__(self, tasks: Sequence[Task]):
        self.pending: dict[str, list[Task]] = {}
        for task in tasks:
            self.pending.setdefault(task.model, []).append(task)
        self.started: set[str] = set()
        self.finished_one: set[str] = set()
        self.current: dict[str, str] = {}  # worker -> model it keeps to
        self.first_seconds: dict[str, float] = {}  # model -> its first finished pair's time
        self.later_seconds: dict[str, list[float]] = {}  # model -> its later pairs' times

    def __len__(self) -> int:
        return sum(len(v) for v in self.pending.values())

    def next_for(self, worker: str) -> Task | None:
        """The next task for ``worker`` (None when nothing is left)."""
        model = self.current.get(worker)
        if not (model and self.pending.get(model)):
            fresh = [m for m, left in self.pending.items() if left and m not in self.started]
            if fresh:
                model = fresh[0]
            else:
                left = [m for m, rest in self.pending.items()
                        if rest and m in self.finished_one and self._worth_helping(m)]
                if not left:
                    self.current.pop(worker, None)
                    return None
                model = max(left, key=lambda m: len(self.pending[m]))
            self.current[worker] = model
            self.started.add(model)
        return self.pending[model].pop(0)

    def _worth_helping(self, model: str) -> bool:
        """Whether a second worker should build ``model`` for its unassigned pairs."""
        first = self.first_seconds.get(model)
        if first is None:
            return True
        later = self.later_seconds.get(model) or [first]
        return len(self.pending[model]) * (sum(later) / len(later)) > first

    def done(self, task: Task, seconds: float | None = None) -> None:
        """Record that ``task`` finished, in ``seconds`` when known."""
        model = task.model
        self.finished_one.add(model)
        if seconds is None:
            return
        if model not in self.first_seconds:
            self.first_seconds[model] = float(seconds)
        else:
            self.later_seconds.setdefault(model, []).append(float(seconds))


def _slots(client: Any, resources: Mapping[str, float] | None, extra: int) -> dict[str, int]:
    """worker address -> tasks it may hold (threads + ``extra``), for workers that have
    ``resources``."""
    out = {}
    for address, info in client.scheduler_info(n_workers=-1)["workers"].items():
        have = info.get("resources") or {}
        if all(have.get(name, 0) >= amount for name, amount in (resources or {}).items()):
            out[address] = int(info.get("nthreads", 1)) + extra
    return out


def run(tasks: Sequence[Task], *, client: Any, group: str, retries: int,
        resources: Mapping[str, float] | None, on_outcome: Callable[[Outcome], None],
        check: Callable[[Any], None] | None = None, prefetch: int = 1,
        worker_timeout: float = 120.0) -> None:
    """Submit ``tasks`` to ``client`` and call ``on_outcome`` for each as it completes (in the
    client's thread: that is where the results database is written).

    ``group="pair"`` submits every task at once and lets the scheduler place them.
    ``group="model"`` hands pairs to workers as they free up (:class:`ModelQueue`; each worker
    holds at most its threads + ``prefetch`` tasks: without a queued pair a worker idles for a
    round trip per pair, measured 38-51 ms against 12-19 ms under load; a queued pair can be
    stolen by an idle worker, which then recomputes the model's activations, so clusters made
    here turn work stealing off, :data:`CLUSTER_CONFIG`), each pinned loosely to its worker: if the
    worker dies, the scheduler runs its tasks elsewhere. With pairs left and, for
    ``worker_timeout`` seconds, no worker that has ``resources``, it raises NeuroalignError.
    """
    distributed = _import_distributed()
    if check is not None:
        check(client)

    def submit(task: Task, worker: str | None) -> Any:
        options: dict[str, Any] = {"retries": int(retries), "pure": False,
                                   "key": f"neuroalign-grid-{task.model}-{task.benchmark}-"
                                          f"{os.urandom(4).hex()}"}
        if resources:
            options["resources"] = dict(resources)
        if worker is not None:
            options.update(workers=[worker], allow_other_workers=True)
        return client.submit(run_task, task, **options)

    def finish(future: Any, task: Task) -> Outcome:
        try:
            outcome = future.result()
        except Exception as error:  # noqa: BLE001 - retries exhausted or the worker kept dying
            kind = "transient error" if is_transient(error) else "error"
            outcome = Outcome(task.model, task.benchmark, "failed",
                              error=f"{type(error).__name__}: {error} ({kind}, after "
                                    f"{int(retries) + 1} attempt(s))",
                              attempts=int(retries) + 1)
        on_outcome(outcome)
        future.release()
        return outcome

    if group != "model":
        # model-major order: submission order is the scheduler's priority
        futures = {submit(task, None): task for task in tasks}
        for future in distributed.as_completed(list(futures), loop=client.loop):
            finish(future, futures[future])
        return
    queue = ModelQueue(tasks)
    running: dict[Any, tuple[Task, str]] = {}
    held: dict[str, int] = {}
    flow = distributed.as_completed(loop=client.loop)
    workers: dict[str, Any] = {"slots": {}, "at": -1.0}

    def fill() -> None:
        now = time.monotonic()
        if now - workers["at"] > WORKERS_REFRESH_S or not workers["slots"]:
            # the scheduler's worker list, asked at most every WORKERS_REFRESH_S (a round trip)
            workers.update(slots=_slots(client, resources, prefetch), at=now)
        for worker, slots in workers["slots"].items():
            while held.get(worker, 0) < slots and len(queue):
                task = queue.next_for(worker)
                if task is None:
                    break
                future = submit(task, worker)
                running[future] = (task, worker)
                held[worker] = held.get(worker, 0) + 1
                flow.add(future)

    idle_since: float | None = None
    while len(queue) or running:
        fill()
        if not running:  # pairs left but no worker can take them: wait for one that can
            idle_since = idle_since or time.monotonic()
            if time.monotonic() - idle_since > worker_timeout:
                raise NeuroalignError(
                    f"no dask worker of {client.scheduler.address} can take the grid's pairs "
                    f"for {worker_timeout:.0f} s (each needs the resources {dict(resources or {})}"
                    "); start workers that declare them (dask worker ADDR --resources GPU=1) or "
                    "drop resources=")
            time.sleep(0.2)
            workers["at"] = -1.0
            continue
        idle_since = None
        future = next(flow)
        task, worker = running.pop(future)
        held[worker] -= 1
        outcome = finish(future, task)
        queue.done(task, outcome.seconds if outcome.status == "computed" else None)
