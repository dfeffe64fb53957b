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
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from ..errors import NeuroalignError
from .gridworker import Outcome, Task, is_transient, run_task, worker_plugins

__all__ = ["connect", "cuda_devices", "gpu_cluster_spec", "make_cluster", "check_workers", "placement", "run"]

#: environment variables a cluster made here passes on to its workers
ENV_PREFIX = "NEUROALIGN_"


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


def _worker_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k.startswith(ENV_PREFIX)}


def gpu_cluster_spec(devices: Sequence[str], *, threads_per_worker: int = 1,
                     resources: Mapping[str, float] | None = None) -> dict[str, Any]:
    """Keyword arguments of a ``distributed.SpecCluster`` with one worker per CUDA device:
    each pinned to its device through ``CUDA_VISIBLE_DEVICES`` and declaring ``GPU=1``."""
    distributed = _import_distributed()
    env = _worker_env()
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
    :func:`cuda_devices`) with ``GPU=1``, else ``workers`` CPU worker processes."""
    distributed = _import_distributed()
    devices = cuda_devices() if devices is None else list(devices)
    if devices:
        if workers is not None:
            devices = devices[: int(workers)]
        return distributed.SpecCluster(**gpu_cluster_spec(
            devices, threads_per_worker=threads_per_worker, resources=resources))
    count = int(workers) if workers else max(1, (os.cpu_count() or 1) // int(threads_per_worker))
    return distributed.LocalCluster(
        n_workers=count, threads_per_worker=int(threads_per_worker), processes=True,
        host="127.0.0.1", dashboard_address=None, silence_logs=logging.ERROR,
        resources=dict(resources) if resources else None, env=_worker_env(),
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


def placement(tasks: Sequence[Task], workers: Sequence[str]) -> dict[str, str]:
    """model id -> worker address, spreading models so each worker gets about as many pairs
    (largest models first onto the least loaded worker)."""
    sizes: dict[str, int] = {}
    for task in tasks:
        sizes[task.model] = sizes.get(task.model, 0) + 1
    load = {worker: 0 for worker in workers}
    out: dict[str, str] = {}
    for model in sorted(sizes, key=lambda m: (-sizes[m], m)):
        worker = min(load, key=lambda w: (load[w], w))
        out[model] = worker
        load[worker] += sizes[model]
    return out


def run(tasks: Sequence[Task], *, client: Any, group: str, retries: int,
        resources: Mapping[str, float] | None, on_outcome: Callable[[Outcome], None],
        check: Callable[[Any], None] | None = None) -> None:
    """Submit ``tasks`` to ``client`` and call ``on_outcome`` for each as it completes (in the
    client's thread: that is where the results database is written)."""
    distributed = _import_distributed()
    if check is not None:
        check(client)
    where: dict[str, str] = {}
    if group == "model":
        where = placement(tasks, sorted(client.scheduler_info()["workers"]))
    futures = {}
    for task in tasks:  # model-major order: submission order is the scheduler's priority
        options: dict[str, Any] = {"retries": int(retries), "pure": False,
                                   "key": f"neuroalign-grid-{task.model}-{task.benchmark}-"
                                          f"{os.urandom(4).hex()}"}
        if resources:
            options["resources"] = dict(resources)
        if task.model in where:
            options.update(workers=[where[task.model]], allow_other_workers=True)
        futures[client.submit(run_task, task, **options)] = task
    for future in distributed.as_completed(list(futures), loop=client.loop):
        task = futures[future]
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
