"""Activations of torch modules through forward hooks: placement, streaming reduction, cache.

One forward pass per stimulus batch captures every requested layer with forward hooks (eval
mode, ``torch.inference_mode``). Each hook flattens its layer's output, checks it is finite,
reduces it right away (:mod:`neuroalign.reduction`) and writes the rows into a preallocated
float32 matrix, so a wide layer's full activations exist only for one batch at a time.

Results are cached per layer under ``$NEUROALIGN_HOME/activations/`` keyed by a sha256 of
(model id, architecture hash, weights hash, stimulus-set sha256, preprocessing, visual degrees,
layer, reduction and its parameters, code version): a changed model, stimulus set or
preprocessing gives a new key and can never hit a stale entry. torch is imported lazily.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import NeuroalignError, SpecError, closest
from .reduction import (
    REFERENCE_PREFIX,
    REFERENCE_VERSION,
    PCAFitter,
    PCAReducer,
    ProjectionReducer,
    Reducer,
    Reduction,
    reference_images,
)
from ..stimuli import GRAY, place
from .pipeline import TIMINGS, auto_batch_size, choose_layout, per_image_bytes, to_layout

if TYPE_CHECKING:  # pragma: no cover
    import torch
    import xarray as xr

    from ..interfaces import Model
    from ..stimuli import StimulusSet

__all__ = [
    "CODE_VERSION",
    "GRAY",
    "ExtractionError",
    "UnknownLayerError",
    "check_layers",
    "extract",
    "logits",
    "place",
    "resolve_device",
    "split_layers",
]

#: bump when extraction changes numerically (part of every cache key)
CODE_VERSION = 2
KIND = "activations"


class ExtractionError(NeuroalignError):
    """Extraction failed: unknown layer, failing forward pass, non-finite activations, ..."""


class UnknownLayerError(ExtractionError, SpecError):
    """A layer name that is not in ``module.named_modules()``."""


def _preview(ids: Sequence[str], n: int = 4) -> str:
    shown = ", ".join(repr(s) for s in ids[:n])
    return f"[{shown}{', ...' if len(ids) > n else ''}]"


def resolve_device(device: Any = None) -> torch.device:
    """``device`` as a torch device; ``None`` -> CUDA when available, else CPU."""
    import torch

    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


# --------------------------------------------------------------------------- layers


def check_layers(module: Any, layers: Sequence[str]) -> list[str]:
    """Validate layer names against ``module.named_modules()``; unique, in the given order."""
    if isinstance(layers, str):
        layers = [layers]
    if not layers:
        raise ExtractionError("no layers requested; pass the names of modules to record")
    known = [name for name, _ in module.named_modules() if name]
    names = set(known)
    for layer in layers:
        if layer not in names:
            hint = closest(layer, known, n=5) or known[:5]
            raise UnknownLayerError(
                f"unknown layer {layer!r} in {type(module).__name__}; closest module names: "
                f"{hint}. Layer names are those of module.named_modules() "
                f"({len(known)} in this model)"
            )
    return list(dict.fromkeys(layers))


def _neuroid_coords(layer: str, feature_shape: tuple[int, ...], reduced: bool, width: int):
    """Per-neuroid coordinate arrays of one layer."""
    minus = np.full(width, -1, dtype=np.int32)
    channel, channel_y, channel_x, component = minus, minus.copy(), minus.copy(), minus.copy()
    if reduced:
        component = np.arange(width, dtype=np.int32)
    elif len(feature_shape) == 3:  # (C, H, W) feature maps
        c, h, w = feature_shape
        channel = np.repeat(np.arange(c, dtype=np.int32), h * w)
        channel_y = np.tile(np.repeat(np.arange(h, dtype=np.int32), w), c)
        channel_x = np.tile(np.arange(w, dtype=np.int32), c * h)
    elif len(feature_shape) == 2:  # (tokens, dim): channel = dim, channel_x = token
        t, d = feature_shape
        channel = np.tile(np.arange(d, dtype=np.int32), t)
        channel_x = np.repeat(np.arange(t, dtype=np.int32), d)
    elif len(feature_shape) >= 1:
        per_channel = width // feature_shape[0]
        channel = np.repeat(np.arange(feature_shape[0], dtype=np.int32), per_channel)
    # fixed-width strings, not objects: xarray deep-copies coords, objects one by one
    ids = np.char.add(f"{layer}:", np.arange(width).astype(str))
    return {"neuroid_id": ids, "layer": np.full(width, layer), "channel": channel,
            "channel_y": channel_y, "channel_x": channel_x, "component": component}


def split_layers(activations: xr.DataArray) -> dict[str, xr.DataArray]:
    """Split a multi-layer ``presentation x neuroid`` array into one array per layer (views)."""
    layers = activations["layer"].values
    out: dict[str, xr.DataArray] = {}
    for layer in dict.fromkeys(layers.tolist()):
        positions = np.flatnonzero(layers == layer)
        contiguous = positions[-1] - positions[0] + 1 == len(positions)
        index = slice(positions[0], positions[-1] + 1) if contiguous else positions
        out[layer] = activations.isel(neuroid=index)
    return out


# --------------------------------------------------------------------------- forward streaming


def _memory_order_rows(tensor: Any) -> tuple[Any, tuple[int, int, int] | None]:
    """``(rows, chw)``: a ``(batch, features)`` view of ``tensor`` with the features in memory
    order (no copy), and the logical ``(C, H, W)`` shape when that order is ``(H, W, C)`` (a
    channels-last 4-D output), else None (the logical order).

    Sinks that take this order (``sink.takes_memory_order = True``: the sparse projections and
    PCA sketches, which permute their columns to match, and the Gram embedding, which only needs
    inner products of rows) are called as ``sink(rows, start, chw)`` and save the copy that
    reordering a channels-last output to ``(C, H, W)`` costs.
    """
    import torch

    if (tensor.dim() == 4 and not tensor.is_contiguous()
            and tensor.is_contiguous(memory_format=torch.channels_last)):
        return (tensor.permute(0, 2, 3, 1).reshape(tensor.shape[0], -1),
                tuple(int(v) for v in tensor.shape[1:]))
    return tensor.reshape(tensor.shape[0], -1), None


class _LayersDone(BaseException):
    """Raised by the last hook of a batch to end the forward pass there (early exit).

    A ``BaseException``, like ``KeyboardInterrupt``: a model's own ``except Exception`` must
    not swallow it and carry on.
    """


class _Pass:
    """Hooks on the requested modules for one streaming pass over a set of images.

    Early exit (``early_exit=True``): once every hooked module has produced its output for a
    batch, the rest of the network is not run. The first batch always runs the whole forward
    pass and counts the hook calls; early exit is armed only if every hooked module ran exactly
    once (a module called twice per forward, e.g. a shared block, keeps the whole pass: its
    *last* output is the one recorded). The recorded activations are the same bytes either way.
    """

    def __init__(self, module: Any, layers: Sequence[str], sinks: dict[str, Callable], ids,
                 *, early_exit: bool = False):
        self.module, self.sinks, self.ids = module, sinks, ids
        self.start, self.stop = 0, 0
        self.shapes: dict[str, tuple[int, ...]] = {}
        modules = dict(module.named_modules())
        by_module: dict[int, list[str]] = {}
        for layer in layers:
            by_module.setdefault(id(modules[layer]), []).append(layer)
        self._targets = [(modules[names[0]], names) for names in by_module.values()]
        self._handles: list[Any] = []
        self.hook_seconds = 0.0
        #: None: not yet decided (first batch runs whole); True: armed; False: never
        self.early_exit: bool | None = None if early_exit else False
        self._calls = [0] * len(self._targets)
        self.exited_batches = 0

    def begin_batch(self) -> None:
        self._calls = [0] * len(self._targets)

    def end_batch(self) -> None:
        """After a whole (not exited) forward pass: arm early exit if every hook ran once."""
        if self.early_exit is None:
            self.early_exit = all(count == 1 for count in self._calls)

    def __enter__(self) -> _Pass:  # noqa: PYI034
        for index, (target, names) in enumerate(self._targets):
            self._handles.append(target.register_forward_hook(self._hook(names, index)))
        return self

    def __exit__(self, *exc: object) -> None:
        for handle in self._handles:
            handle.remove()

    def _hook(self, names: list[str], index: int) -> Callable:
        import torch

        def hook(_module: Any, _inputs: Any, output: Any) -> None:
            began = time.perf_counter()
            tensor = output[0] if isinstance(output, (tuple, list)) and output else output
            if not torch.is_tensor(tensor):
                raise ExtractionError(
                    f"layer {names[0]!r} returned {type(output).__name__}, not a tensor; "
                    "record one of its submodules that returns a tensor instead"
                )
            stored, chw = _memory_order_rows(tensor)
            # one cheap reduction first; locate the bad rows only when something is wrong
            if not torch.isfinite(stored.sum()):
                bad = (~torch.isfinite(stored)).any(dim=1).nonzero().flatten().tolist()
                if bad:
                    ids = [self.ids(self.start + i) for i in bad]
                    raise ExtractionError(
                        f"layer {names[0]!r} has NaN or infinite activations for stimuli "
                        f"{_preview(ids)} ({len(bad)} of this batch); check the model's "
                        "weights and numerics (e.g. float16 overflow) or drop those stimuli"
                    )
            flat = None
            for name in names:
                self.shapes[name] = tuple(tensor.shape[1:])
                sink = self.sinks[name]
                if getattr(sink, "takes_memory_order", False):
                    sink(stored, self.start, chw)
                else:  # features in the logical (C, H, W) order: a copy for channels-last
                    if flat is None:
                        flat = tensor.reshape(tensor.shape[0], -1)
                    sink(flat, self.start)
            self.hook_seconds += time.perf_counter() - began
            self._calls[index] += 1
            if self.early_exit and all(self._calls):
                raise _LayersDone

        return hook


def _stream(
    model: Model,
    module: Any,
    n: int,
    images: Callable[[int, int], np.ndarray],
    ids: Callable[[int], str],
    *,
    layers: Sequence[str],
    sinks: dict[str, Callable],
    image_degrees: float,
    batch_size: int,
    device: Any,
    progress: bool | None,
    label: str,
    outputs: Callable[[Any, int], None] | None = None,
    layout: str = "contiguous",
    amp: str | None = None,
    prefetch: bool = True,
) -> dict[str, tuple[int, ...]]:
    """Run ``module`` over ``n`` images in batches with hooks feeding ``sinks``.

    The next batch is read and placed by a background thread while the current one runs
    (:class:`~neuroalign.extraction.pipeline.Prefetcher`; ``prefetch=False``: inline), in
    ``layout``, under ``amp`` autocast when set.
    """
    import torch
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from ..progress import PlainProgress, progress_mode
    from .pipeline import TIMINGS, Prefetcher, amp_context

    mode = progress_mode(progress)
    columns = ("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
               TimeRemainingColumn())
    # logits need the whole pass; otherwise the network stops after the last hooked layer
    hooks = _Pass(module, layers, sinks, ids, early_exit=outputs is None)
    lines = PlainProgress(f"{label} ({n} images)", n) if mode == "lines" else None

    def placed(pixels: Any) -> Any:
        return place(pixels, image_degrees=image_degrees, model_degrees=model.visual_degrees,
                     preprocessing=model.preprocessing, device=device)

    batches = Prefetcher(n, batch_size, images, placed, device=device, layout=layout)
    if not prefetch:
        batches = _inline_batches(batches)
    with hooks, Progress(*columns, transient=True, disable=mode != "bar") as bar, \
            torch.inference_mode(), amp_context(amp, device):
        task = bar.add_task(label, total=n)
        for start, stop, x in batches:
            hooks.start, hooks.stop = start, stop
            hooked, began = hooks.hook_seconds, time.perf_counter()
            hooks.begin_batch()
            try:
                result = module(x)
                hooks.end_batch()
            except _LayersDone:
                result = None
                hooks.exited_batches += 1
            except ExtractionError:
                raise
            except Exception as error:
                batch_ids = [ids(i) for i in range(start, stop)]
                raise ExtractionError(
                    f"the forward pass of model {model.identifier!r} failed on stimuli "
                    f"{_preview(batch_ids)} (input shape {tuple(x.shape)}, layout {layout}): "
                    f"{type(error).__name__}: {error}. Check that the model accepts "
                    f"{model.preprocessing.input_size} px RGB input (preprocessing.input_size) "
                    "and runs on its own: module(torch.zeros(1, 3, size, size))"
                    + ("; or pass layout='contiguous'" if layout == "channels_last" else "")
                ) from error
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            hook_time = hooks.hook_seconds - hooked
            TIMINGS.add("forward", time.perf_counter() - began - hook_time)
            TIMINGS.add("hooks", hook_time)
            if outputs is not None:
                outputs(result, start)
            bar.advance(task, stop - start)
            if lines is not None:
                lines.advance(stop - start)
    if lines is not None:
        lines.close()
    return hooks.shapes


def _inline_batches(prefetcher: Any):
    """The prefetcher's batches prepared in the calling thread (no overlap)."""
    from .pipeline import TIMINGS

    for start, stop in prefetcher.bounds:
        began = time.perf_counter()
        x = prefetcher._prepare(start, stop)
        TIMINGS.add("input", time.perf_counter() - began)
        yield start, stop, x


# --------------------------------------------------------------------------- cache


def _digest(payload: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def _model_dir(model: Model) -> Path:
    from ..store.assets import cache_dir

    return cache_dir(KIND) / re.sub(r"[^\w.\-]+", "_", model.identifier)


def _model_payload(model: Model, layout: str = "contiguous",
                   amp: str | None = None) -> dict[str, Any]:
    """The model's part of every cache key: id, weights, preprocessing, and how the forward
    pass ran (memory layout and autocast dtype change activations by rounding)."""
    payload = {"code": CODE_VERSION, "model": model.identifier, "weights": model.weights_hash(),
               "preprocessing": model.preprocessing.model_dump(mode="json"),
               "layout": layout, "amp": amp}
    architecture = getattr(model, "architecture_hash", None)
    if architecture is not None:
        payload["architecture"] = architecture()
    return payload


def _reference_id(reduction: Reduction | None, folder: Any) -> Any:
    """What the PCA basis was fitted on, for cache keys: the folder's content hash or the
    procedural set's version (None for other reductions)."""
    if reduction is None or reduction.method != "pca":
        return None
    return folder.sha256 if folder is not None else REFERENCE_VERSION


def _reducer_key(base: dict[str, Any], layer: str, reduction: Reduction,
                 reference: Any = REFERENCE_VERSION) -> str:
    dump = {k: v for k, v in reduction.model_dump().items() if k != "reference"}
    return _digest({**base, "layer": layer, "reduction": dump,
                    "reference": reference, "kind": "pca-reducer"})


def _layer_key(base: dict[str, Any], stimuli: StimulusSet, image_degrees: float,
               model_degrees: float, layer: str, reduction: Reduction | None,
               reference: Any = None) -> str:
    from .. import __version__

    dump = ({k: v for k, v in reduction.model_dump().items() if k != "reference"}
            if reduction else None)
    if reference is None and reduction is not None and reduction.method == "pca":
        reference = REFERENCE_VERSION
    return _digest({**base, "neuroalign": __version__, "stimuli": stimuli.sha256,
                    "image_degrees": repr(float(image_degrees)),
                    "model_degrees": repr(float(model_degrees)), "layer": layer,
                    "reduction": dump,
                    "reference": reference if reduction else None})


def _write_entry(path: Path, description: str, key: str, write: Callable[[Path], None]) -> None:
    """Write a cache item atomically with ``write(tmp_path)``, then its meta sidecar."""
    from ..store.assets import atomic_path, write_meta

    with atomic_path(path) as tmp:
        write(tmp)
    write_meta(path, kind=KIND, key=key, description=description)


def _save_npz(**arrays: Any) -> Callable[[Path], None]:
    def write(tmp: Path) -> None:
        with open(tmp, "wb") as handle:  # a file object: np.savez would append ".npz" to a name
            np.savez(handle, **arrays)

    return write


def _discard(path: Path, what: str, error: BaseException) -> None:
    """Delete a damaged cache file (and its sidecar) and say so; the caller recomputes it."""
    import warnings

    from ..errors import CacheWarning

    path.unlink(missing_ok=True)
    path.with_name(path.name + ".meta.json").unlink(missing_ok=True)
    warnings.warn(f"discarded the damaged {what} {str(path)!r} ({type(error).__name__}: "
                  f"{error}); it is recomputed", CacheWarning, stacklevel=3)


def _read_layer(path: Path, n: int) -> tuple[np.ndarray, tuple[int, ...], bool] | None:
    """A cached layer, or None when absent or damaged (then it is discarded and recomputed)."""
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            values, shape = data["data"], tuple(int(s) for s in data["feature_shape"])
            reduced = bool(data["reduced"])
        if values.ndim != 2 or values.shape[0] != n:
            raise ValueError(f"holds shape {values.shape}, expected ({n}, features)")
    except Exception as error:  # noqa: BLE001 - BadZipFile, zlib.error, ...: any damage
        _discard(path, "activation cache file", error)
        return None
    return values, shape, reduced


# --------------------------------------------------------------------------- extraction


def _auto_batch(model: Model, module: Any, stimuli: StimulusSet, image_degrees: float,
                device: Any, run: dict[str, Any], layers: Sequence[str] = ()) -> tuple[int, dict]:
    """(automatic batch size, layer shapes) from a one-image probe pass over ``layers``."""
    shapes: dict[str, tuple[int, ...]] = {}
    ids = stimuli.ids

    def probe() -> None:
        shapes.update(_stream(model, module, 1, lambda a, b: stimuli.images(slice(a, b)),
                              ids.__getitem__, layers=list(layers),
                              sinks={layer: (lambda flat, start: None) for layer in layers},
                              image_degrees=image_degrees, batch_size=1, device=device,
                              progress=False, label="probe", prefetch=False, **run))

    return auto_batch_size(per_image_bytes(module, probe), device), shapes


def _candidate_layers(model: Model, module: Any) -> list[str]:
    """The model's candidate and committed layers that exist in ``module`` (in order)."""
    names = {name for name, _ in module.named_modules() if name}
    spec = getattr(model, "spec", None)
    layers = list(getattr(spec, "layers", ()) or ())
    layers += [layer for _, layer in sorted((getattr(spec, "region_layers", {}) or {}).items())]
    return [layer for layer in dict.fromkeys(layers) if layer in names]


def _check_disjoint(stimuli: StimulusSet) -> None:
    clashing = [s for s in stimuli.ids if s.startswith(REFERENCE_PREFIX)]
    if clashing:
        raise ExtractionError(
            f"stimulus set {stimuli.identifier!r} contains PCA reference stimuli "
            f"{_preview(clashing)}; the PCA basis must be fitted on images disjoint from the "
            "scored ones: use reduction='srp' or None for these stimuli"
        )


def _fitter_sink(fitter: PCAFitter) -> Callable:
    def write(flat: Any, start: int, chw: tuple[int, int, int] | None = None) -> None:
        fitter.partial(flat, start, chw)

    write.takes_memory_order = fitter.takes_memory_order  # type: ignore[attr-defined]
    return write


def _make_reducers(model, module, plans, reduction, base, device, batch_size, cache, progress,
                   folder=None, run=None, extra=None):
    """layer -> Reducer (or None for pass-through) for layers whose shapes are known.

    ``extra`` (layer -> width): other layers whose PCA reducers are fitted in the same reference
    pass when one is needed anyway (and cached; they are not returned).
    """
    reference = _reference_id(reduction, folder)
    reducers: dict[str, Reducer | None] = {}
    to_fit: dict[str, PCAFitter] = {}
    rows = (len(folder.files) if folder is not None else reduction.reference_size) \
        if reduction is not None and reduction.method == "pca" else 0
    also: dict[str, PCAFitter] = {}
    for layer, n_features in (extra or {}).items():
        if layer in plans or n_features <= reduction.n_components:
            continue
        key = _reducer_key(base, layer, reduction, reference)
        if not (_model_dir(model) / "reducers" / f"{key}.npz").exists():
            also[layer] = PCAFitter(n_features, reduction, rows, device)
    for layer, n_features in plans.items():
        if reduction is None or n_features <= reduction.n_components:
            reducers[layer] = None
        elif reduction.method == "srp":
            reducers[layer] = ProjectionReducer(n_features, reduction.n_components,
                                                reduction.seed, device)
        else:
            path = (_model_dir(model) / "reducers"
                    / f"{_reducer_key(base, layer, reduction, reference)}.npz")
            if cache and path.exists():
                try:
                    reducers[layer] = PCAReducer.load(path, device)
                    continue
                except Exception as error:  # noqa: BLE001 - any damage: discard, refit
                    _discard(path, "PCA reducer cache file", error)
            to_fit[layer] = PCAFitter(n_features, reduction, rows, device)
    if to_fit:
        to_fit.update(also)
        size, seed = model.preprocessing.input_size, reduction.reference_seed
        if folder is not None:
            count, images = len(folder.files), (lambda a, b: folder.images(a, b, size))
            name_of = folder.files.__getitem__
        else:
            count = reduction.reference_size
            images = (lambda a, b: reference_images(range(a, b), size=size, seed=seed))
            name_of = (lambda i: f"{REFERENCE_PREFIX}{seed}/{i:05d}")
        _stream(model, module, count, images, name_of,
                layers=list(to_fit), sinks={k: _fitter_sink(f) for k, f in to_fit.items()},
                image_degrees=model.visual_degrees, batch_size=batch_size, device=device,
                progress=progress, label=f"{model.identifier}: PCA reference", **(run or {}))
        for layer, fitter in to_fit.items():
            with TIMINGS.time("pca_fit"):
                reducer = fitter.fit(device)
            if layer in plans:
                reducers[layer] = reducer
            if cache:
                key = _reducer_key(base, layer, reduction, reference)
                path = _model_dir(model) / "reducers" / f"{key}.npz"
                _write_entry(path, f"PCA reducer {model.identifier} {layer} "
                             f"({reducer.n_features} -> {reducer.n_components})", key,
                             reducer.save)
    return reducers


def extract(
    model: Model,
    stimuli: StimulusSet,
    layers: Sequence[str],
    *,
    visual_degrees: float | None = None,
    reduction: str | Reduction | None = "pca",
    batch_size: int | None = None,
    device: Any = None,
    cache: bool = True,
    progress: bool | None = None,
    layout: str = "auto",
    amp: str | None = None,
) -> xr.DataArray:
    """Activations ``presentation x neuroid`` of ``layers`` of ``model`` for every stimulus.

    Parameters
    ----------
    model : Model
        A torch-backed model (:class:`~neuroalign.models.TorchModel`).
    stimuli : StimulusSet
        The images; placed at ``visual_degrees`` (default: ``stimuli.degrees``).
    layers : sequence of str
        Module names (``module.named_modules()``); all are recorded in one pass per batch.
    reduction : {"pca", "srp", "gram", None} or Reduction
        Streaming reduction of layers wider than ``n_components`` (default 1,000); ``"gram"``:
        the full activations as an exact, memory-bounded Gram embedding
        (:func:`neuroalign.extraction.gram.extract_gram`).
    batch_size : int, optional
        Stimuli per forward pass; default: from the memory available on the device
        (:func:`~neuroalign.extraction.pipeline.auto_batch_size`).
    device : str or torch.device, optional
        Default CUDA when available, else CPU.
    cache : bool
        Read and write the per-layer activation cache (and the fitted PCA reducers). With the
        cache on, a PCA reference pass fits the reducers of *every* candidate layer of the
        model (``model.layers`` and its region commitments) at once, so later calls for other
        layers or benchmarks never run the reference images through the network again.
    progress : bool, optional
        Progress report (:func:`neuroalign.progress.progress_mode`): a bar on a terminal,
        plain lines every 10 s otherwise; False: none.
    layout : {"auto", "channels_last", "contiguous"}
        Memory layout of the forward pass (:func:`~neuroalign.extraction.pipeline.choose_layout`:
        channels-last for convolutional networks on CPU). Activations differ between layouts by
        float rounding only; the layout is part of the cache key.
    amp : {None, "bfloat16", "float16"}
        Run the forward pass under ``torch.autocast`` in that dtype. Faster on GPUs but it
        changes activations beyond rounding (and hence scores): opt-in, part of the cache key.

    Returns
    -------
    xarray.DataArray
        float32 ``presentation x neuroid``; presentation coords ``stimulus_id`` + metadata;
        neuroid coords ``neuroid_id``, ``layer``, ``channel``, ``channel_y``, ``channel_x``
        (-1 where not applicable) and ``component`` (for reduced layers). ``attrs`` holds the
        model id, weights hash, stimulus sha256, reduction and ``cached_layers``.
    """
    import xarray as xr

    module = model.module()
    names = check_layers(module, layers)
    reduction = Reduction.coerce(reduction)
    if reduction is not None and reduction.method == "gram":
        raise ValueError("reduction 'gram' is extract_gram's (neuroalign.extraction.gram); "
                         "Model.activations dispatches to it")
    if reduction is not None and reduction.method == "pca":
        _check_disjoint(stimuli)
    if batch_size is not None and int(batch_size) < 1:
        raise ExtractionError(f"batch_size={batch_size!r} must be a positive integer")
    image_degrees = float(visual_degrees or stimuli.degrees)
    device = resolve_device(device)
    n = len(stimuli)
    layout = choose_layout(module, device, layout)
    base = _model_payload(model, layout, amp)
    run = {"layout": layout, "amp": amp}
    folder = None
    if reduction is not None and reduction.method == "pca":
        from .reference import resolve_reference

        folder = resolve_reference(reduction.reference, reduction.n_components)
    reference = _reference_id(reduction, folder)
    keys = {layer: _layer_key(base, stimuli, image_degrees, model.visual_degrees, layer,
                              reduction, reference) for layer in names}
    paths = {layer: _model_dir(model) / f"{keys[layer]}.npz" for layer in names}
    with TIMINGS.time("io"):
        found = {layer: _read_layer(paths[layer], n) for layer in names} if cache else {}
    cached = {layer: entry for layer, entry in found.items() if entry is not None}
    missing = [layer for layer in names if layer not in cached]

    shapes: dict[str, tuple[int, ...]] = {}
    reducers: dict[str, Reducer | None] = {}
    was_training = module.training
    if missing:
        module.to(device).eval()
        to_layout(module, layout)
    try:
        if missing:  # probe one stimulus for the output shapes (and the per-image memory)
            ids = stimuli.ids
            # with the cache on, PCA reducers of every candidate layer are fitted in one pass
            extra = ([layer for layer in _candidate_layers(model, module) if layer not in missing]
                     if cache and reduction is not None and reduction.method == "pca" else [])
            probed = missing + extra
            per_image = [0]

            def probe() -> None:
                shapes.update(_stream(
                    model, module, 1, lambda a, b: stimuli.images(slice(a, b)),
                    ids.__getitem__, layers=probed,
                    sinks={layer: (lambda flat, start: None) for layer in probed},
                    image_degrees=image_degrees, batch_size=1, device=device,
                    progress=False, label="probe", prefetch=False, **run))

            if batch_size is None:
                per_image[0] = per_image_bytes(module, probe)
                batch_size = auto_batch_size(per_image[0], device)
            else:
                probe()
            widths = {layer: math.prod(shapes[layer]) for layer in probed}
            reducers = _make_reducers(
                model, module, {layer: widths[layer] for layer in missing}, reduction, base,
                device, int(batch_size), cache, progress, folder, run,
                extra={layer: widths[layer] for layer in extra})
        out_width = {layer: entry[0].shape[1] for layer, entry in cached.items()}
        for layer in missing:
            reducer = reducers[layer]
            out_width[layer] = reducer.n_components if reducer else math.prod(shapes[layer])
        offsets = np.cumsum([0] + [out_width[layer] for layer in names])
        data = np.empty((n, int(offsets[-1])), dtype=np.float32)
        column = {layer: data[:, offsets[i] : offsets[i + 1]] for i, layer in enumerate(names)}
        for layer, entry in cached.items():
            column[layer][...] = entry[0]
        cached_info = {layer: (entry[1], entry[2]) for layer, entry in cached.items()}
        del found, cached

        def sink(layer: str) -> Callable:
            target, reducer = column[layer], reducers[layer]

            def write(flat: Any, start: int, chw: tuple[int, int, int] | None = None) -> None:
                values = reducer.transform(flat, chw) if reducer is not None else flat
                target[start : start + values.shape[0]] = values.detach().float().cpu().numpy()

            # raw layers are stored in the logical (C, H, W) order
            write.takes_memory_order = reducer is not None and reducer.takes_memory_order
            return write

        if missing:
            ids = stimuli.ids
            _stream(model, module, n, lambda a, b: stimuli.images(slice(a, b)),
                    ids.__getitem__, layers=missing,
                    sinks={layer: sink(layer) for layer in missing},
                    image_degrees=image_degrees, batch_size=int(batch_size), device=device,
                    progress=progress, label=f"{model.identifier}: {stimuli.identifier}", **run)
    finally:
        module.train(was_training)

    info = dict(cached_info)
    for layer in missing:
        info[layer] = (shapes[layer], reducers[layer] is not None)
        if cache:
            with TIMINGS.time("io"):
                _write_entry(paths[layer], f"{model.identifier} {layer} on {stimuli.identifier} "
                         f"({n} stimuli, {reduction.method if reduction else 'raw'})",
                         keys[layer], _save_npz(
                             data=column[layer],
                             feature_shape=np.array(shapes[layer], dtype=np.int64),
                             reduced=np.array(reducers[layer] is not None)))
    coords: dict[str, list[np.ndarray]] = {}
    for layer in names:
        for name, values in _neuroid_coords(layer, info[layer][0], info[layer][1],
                                            out_width[layer]).items():
            coords.setdefault(name, []).append(values)
    neuroid = {name: ("neuroid", np.concatenate(parts)) for name, parts in coords.items()}
    metadata = stimuli.metadata
    presentation = {str(c): ("presentation", metadata[c].to_numpy()) for c in metadata.columns}
    return xr.DataArray(
        data, dims=("presentation", "neuroid"), coords={**presentation, **neuroid},
        attrs={"model": model.identifier, "weights_sha256": base["weights"],
               "stimuli": stimuli.identifier, "stimuli_sha256": stimuli.sha256,
               "visual_degrees": image_degrees, "layout": layout, "amp": str(amp),
               "reduction": json.dumps(reduction.model_dump() if reduction else None),
               "pca_reference": _reference_attrs(reduction, folder),
               "cached_layers": [layer for layer in names if layer in cached_info]},
    )


def _reference_attrs(reduction: Reduction | None, folder: Any) -> str | None:
    """JSON description of the PCA reference set (None when no PCA is involved)."""
    if reduction is None or reduction.method != "pca":
        return None
    if folder is not None:
        return json.dumps(folder.describe())
    return json.dumps({
        "source": "procedural", "n_images": reduction.reference_size,
        "seed": reduction.reference_seed, "version": REFERENCE_VERSION,
        "note": "procedural images, not ImageNet val as Brain-Score: set NEUROALIGN_PCA_IMAGES "
                "to an ImageNet validation folder for Brain-Score's PCA basis"})


def logits(
    model: Model,
    stimuli: StimulusSet,
    *,
    visual_degrees: float | None = None,
    batch_size: int | None = None,
    device: Any = None,
    progress: bool | None = None,
    layout: str = "auto",
    amp: str | None = None,
) -> xr.DataArray:
    """The module's output ``presentation x choice`` for every stimulus (not cached).

    ``batch_size`` (default: from the available memory), ``layout`` and ``amp`` as for
    :func:`extract`.
    """
    import torch
    import xarray as xr

    module = model.module()
    device = resolve_device(device)
    n, chunks = len(stimuli), []

    def collect(result: Any, start: int) -> None:
        tensor = result[0] if isinstance(result, (tuple, list)) else result
        if not torch.is_tensor(tensor) or tensor.ndim != 2:
            raise ExtractionError(
                f"model {model.identifier!r} returned {type(result).__name__} "
                f"{getattr(tensor, 'shape', '')}, expected a (batch, classes) tensor of logits"
            )
        chunks.append(tensor.detach().float().cpu().numpy())

    was_training = module.training
    module.to(device).eval()
    layout = choose_layout(module, device, layout)
    to_layout(module, layout)
    run = {"layout": layout, "amp": amp}
    ids = stimuli.ids
    image_degrees = float(visual_degrees or stimuli.degrees)
    try:
        if batch_size is None:
            batch_size, _ = _auto_batch(model, module, stimuli, image_degrees, device, run)
        _stream(model, module, n, lambda a, b: stimuli.images(slice(a, b)), ids.__getitem__,
                layers=[], sinks={}, image_degrees=image_degrees,
                batch_size=int(batch_size), device=device, progress=progress,
                label=f"{model.identifier}: logits", outputs=collect, **run)
    finally:
        module.train(was_training)
    values = np.concatenate(chunks)
    if not np.isfinite(values).all():
        bad = [ids[i] for i in np.flatnonzero(~np.isfinite(values).all(axis=1))]
        raise ExtractionError(f"model {model.identifier!r} has NaN or infinite logits for "
                              f"stimuli {_preview(bad)}; check its weights and numerics")
    metadata = stimuli.metadata
    coords = {str(c): ("presentation", metadata[c].to_numpy()) for c in metadata.columns}
    coords["choice"] = ("choice", np.arange(values.shape[1]))
    return xr.DataArray(values, dims=("presentation", "choice"), coords=coords,
                        attrs={"model": model.identifier})
