"""What keeps extraction at the speed of the forward pass: layout, input prefetch, batch size.

* **Layout** (:func:`choose_layout`): on CPU a convolutional network runs in channels-last (NHWC)
  memory layout, where oneDNN's convolutions skip the reorders the default NCHW layout costs
  them (about 1.4x for a ResNet-18 forward pass on 2 cores). Only the layout of tensors changes,
  never their values: activations differ by float rounding (the order of additions inside a
  convolution), so the layout is part of every activation cache key.
* **Prefetch** (:class:`Prefetcher`): the next batch's images are read, decoded, placed, resized
  and normalised by a background thread while the current batch runs through the network
  (torch and PIL release the GIL); on CUDA the uint8 pixels go through pinned memory and are
  copied with ``non_blocking=True``.
* **Batch size** (:func:`auto_batch_size`): chosen from the memory available on the device and
  the per-image size of the network's activations (measured on one probe image), not a
  constant.
* **Precision**: float32 by default; ``amp="bfloat16"`` / ``"float16"`` runs the forward pass
  under ``torch.autocast`` (faster on GPUs, but it changes the scores: opt-in only, and part of
  the cache key).
* **Timings** (:data:`TIMINGS`): seconds spent in each stage, summed per process, for the
  end-to-end benchmark (``benchmarks/bench_score_speed.py``).

torch is imported lazily.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Literal

__all__ = ["AMP_DTYPES", "LAYOUTS", "TIMINGS", "Prefetcher", "Timings", "amp_context",
           "auto_batch_size", "available_memory", "choose_layout", "to_layout"]

Layout = Literal["auto", "channels_last", "contiguous"]
#: accepted values of ``layout``
LAYOUTS: tuple[str, ...] = ("auto", "channels_last", "contiguous")
#: accepted values of ``amp`` (None: float32)
AMP_DTYPES: tuple[str, ...] = ("bfloat16", "float16")
#: largest automatic batch on CPU (larger batches only add memory traffic there) and on GPUs
MAX_BATCH = {"cpu": 64, "cuda": 256}
#: fraction of the available memory one batch's activations may take
MEMORY_FRACTION = 0.25


class Timings:
    """Seconds per stage, summed (thread-safe); ``with TIMINGS.time("forward"): ...``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.seconds: dict[str, float] = defaultdict(float)
        self.counts: dict[str, int] = defaultdict(int)

    def add(self, stage: str, seconds: float) -> None:
        with self._lock:
            self.seconds[stage] += seconds
            self.counts[stage] += 1

    @contextmanager
    def time(self, stage: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.add(stage, time.perf_counter() - start)

    def reset(self) -> None:
        with self._lock:
            self.seconds.clear()
            self.counts.clear()

    def snapshot(self) -> dict[str, float]:
        with self._lock:
            return dict(self.seconds)


#: process-wide stage timings of extraction (forward, hooks, input, PCA fit, cache I/O)
TIMINGS = Timings()


# --------------------------------------------------------------------------- layout


def choose_layout(module: Any, device: Any, layout: str = "auto") -> str:
    """The memory layout extraction runs ``module`` in: ``"channels_last"`` or ``"contiguous"``.

    ``"auto"``: channels-last for a convolutional network (any ``torch.nn.Conv2d``) on a CPU with
    oneDNN, the standard layout elsewhere (GPUs, transformers). The other two force a layout.
    """
    import torch

    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}; valid values are {list(LAYOUTS)}")
    if layout != "auto":
        return layout
    device = torch.device(device)
    if device.type != "cpu" or not torch.backends.mkldnn.is_available():
        return "contiguous"
    convolutional = any(isinstance(m, torch.nn.Conv2d) for m in module.modules())
    return "channels_last" if convolutional else "contiguous"


def to_layout(module: Any, layout: str) -> None:
    """Put the 4-D weights of ``module`` in ``layout`` (in place; values unchanged).

    Channels-last weights and inputs let oneDNN skip per-call reorders; ``"contiguous"`` puts
    them back, so a forward pass in that layout is the standard one. Parameters keep their
    values and the weights hash (computed on contiguous copies) is unchanged.
    """
    import torch

    fmt = torch.channels_last if layout == "channels_last" else torch.contiguous_format
    if any(p.ndim == 4 and not p.is_contiguous(memory_format=fmt)
           for p in module.parameters()):
        module.to(memory_format=fmt)


def amp_context(amp: str | None, device: Any):
    """``torch.autocast`` for ``amp`` (``"bfloat16"`` / ``"float16"``), or a no-op for None."""
    from contextlib import nullcontext

    import torch

    if amp is None:
        return nullcontext()
    if amp not in AMP_DTYPES:
        raise ValueError(f"unknown amp {amp!r}; use None (float32) or one of {list(AMP_DTYPES)}")
    device = torch.device(device)
    return torch.autocast(device_type=device.type, dtype=getattr(torch, amp))


# --------------------------------------------------------------------------- batch size


def available_memory(device: Any) -> int:
    """Bytes free on ``device``: ``torch.cuda.mem_get_info`` on CUDA, ``MemAvailable`` (Linux)
    or the available physical pages elsewhere."""
    import torch

    device = torch.device(device)
    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        return int(free)
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))


def auto_batch_size(per_image_bytes: int, device: Any, *, available: int | None = None) -> int:
    """Images per forward pass: as many as fit in :data:`MEMORY_FRACTION` of the available
    memory at ``per_image_bytes`` each, at most :data:`MAX_BATCH` for the device type, at
    least 1."""
    import torch

    kind = "cuda" if torch.device(device).type == "cuda" else "cpu"
    free = available_memory(device) if available is None else int(available)
    fits = int(free * MEMORY_FRACTION) // max(1, int(per_image_bytes))
    return max(1, min(MAX_BATCH[kind], fits))


def per_image_bytes(module: Any, probe: Callable[[], Any]) -> int:
    """Bytes of activations one image produces: 3x the sum of every leaf module's output on a
    one-image ``probe()`` forward pass (a bound: inference frees most outputs early, but the
    hooked layers, their reductions and the allocator's slack all take room)."""
    import torch

    total = [0]

    def count(_module: Any, _inputs: Any, output: Any) -> None:
        tensor = output[0] if isinstance(output, (tuple, list)) and output else output
        if torch.is_tensor(tensor):
            total[0] += tensor.numel() * tensor.element_size()

    handles = [m.register_forward_hook(count) for m in module.modules()
               if not any(True for _ in m.children())]
    try:
        probe()
    finally:
        for handle in handles:
            handle.remove()
    return 3 * max(total[0], 1)


# --------------------------------------------------------------------------- prefetch


_DONE = object()


class Prefetcher:
    """Placed input batches from a background thread, one batch ahead of the forward pass.

    Parameters
    ----------
    n, batch_size : int
        Images ``0..n`` in batches of ``batch_size``.
    load : callable
        ``load(start, stop)`` -> uint8 ``(m, y, x, c)`` pixels (reads and decodes).
    place : callable
        ``place(pixels)`` -> the model input tensor on the device (placement, resize, norm).
    device : torch.device
        On CUDA the pixels are pinned before ``place`` so its copy can be non-blocking.
    layout : str
        ``"channels_last"`` returns inputs in that layout.
    depth : int
        Batches prepared ahead (memory: ``depth + 1`` input batches).

    Iterating yields ``(start, stop, x)`` in order; an exception in the thread is raised in
    the consumer at the batch where it happened. :data:`TIMINGS` gets ``input`` (seconds the
    thread spent reading and placing, overlapped with the forward pass).
    """

    def __init__(self, n: int, batch_size: int, load: Callable[[int, int], Any],
                 place: Callable[[Any], Any], *, device: Any = "cpu",
                 layout: str = "contiguous", depth: int = 2):
        import torch

        self.bounds = [(a, min(n, a + batch_size)) for a in range(0, n, batch_size)]
        self._load, self._place = load, place
        self._pin = torch.device(device).type == "cuda"
        self._channels_last = layout == "channels_last"
        self._queue: queue.Queue = queue.Queue(maxsize=max(1, depth))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="neuroalign-prefetch",
                                        daemon=True)

    def _prepare(self, start: int, stop: int) -> Any:
        import numpy as np
        import torch

        pixels = self._load(start, stop)
        if self._pin:
            pixels = torch.from_numpy(np.ascontiguousarray(pixels)).pin_memory()
        x = self._place(pixels)
        if self._channels_last and x.ndim == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        return x

    def _run(self) -> None:
        for start, stop in self.bounds:
            if self._stop.is_set():
                return
            began = time.perf_counter()
            try:
                item: Any = (start, stop, self._prepare(start, stop), None)
            except BaseException as error:  # noqa: BLE001 - re-raised in the consumer
                item = (start, stop, None, error)
            TIMINGS.add("input", time.perf_counter() - began)
            while not self._stop.is_set():
                try:
                    self._queue.put(item, timeout=0.1)
                    break
                except queue.Full:
                    continue
            if item[3] is not None:
                return
        self._queue.put(_DONE)

    def __iter__(self) -> Iterator[tuple[int, int, Any]]:
        self._thread.start()
        try:
            while True:
                began = time.perf_counter()
                item = self._queue.get()
                TIMINGS.add("input_wait", time.perf_counter() - began)
                if item is _DONE:
                    return
                start, stop, x, error = item
                if error is not None:
                    raise error
                yield start, stop, x
        finally:
            self.close()

    def close(self) -> None:
        """Stop the thread (after the batch it is preparing) and wait for it."""
        self._stop.set()
        while self._thread.is_alive():
            try:
                self._queue.get_nowait()
            except queue.Empty:
                pass
            self._thread.join(timeout=0.05)
