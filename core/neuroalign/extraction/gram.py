"""Full-width activations in kernel form: an exact, memory-bounded stand-in for the raw matrix.

Brain-Score reports a benchmark score on the *full* activations of the chosen layer (its
``LayerPCA`` hook is attached only while selecting the layer). The full matrix can be large: a
ResNet-50 ``layer1`` output is 802,816 features, 8.2 GB as float32 for 2,560 stimuli. The
mapping metrics of the neural benchmarks (PLS and ridge regression with an intercept, and the
Pearson r of their held-out predictions) are *rotation invariant*: they depend on the feature
matrix ``X`` (``n x p``) only through the inner products of its rows. Any ``X~`` (``n x r``) with
``X~ X~ᵀ = X Xᵀ`` (after centring) gives the same fitted predictions and hence the same score, up
to floating-point rounding. Proof sketch for NIPALS PLS: with ``X = X~ Vᵀ`` and ``Vᵀ V = I``,
every x-weight is ``w = V w~``, every score ``t = X w = X~ w~``, every loading ``p = V p~``, and
the stopping rule compares unit weight vectors, whose distances ``V`` preserves.

:func:`extract_gram` therefore streams the layer once through the network, writes each batch to
a disk-backed, block-major float32 scratch file (never held in memory), accumulates the centred
Gram matrix ``G = Xc Xcᵀ`` block by block in float64 (``dsyrk``), and returns the isometric
embedding ``X~ = U sqrt(L)`` from ``G = U L Uᵀ`` (``n x rank``, float64). Peak memory is one
forward batch, one feature block (``block_bytes``, 128 MB by default) in float32 and float64,
and ``G``; the scratch file is deleted afterwards and only ``X~`` is cached.
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    import xarray as xr

    from ..interfaces import Model
    from ..stimuli import StimulusSet

__all__ = ["BLOCK_BYTES", "BlockFile", "embedding_from_gram", "extract_gram", "gram_of_blocks"]

#: bytes of float32 one feature block of all stimuli may take while the Gram matrix is summed
BLOCK_BYTES = 1 << 27


class BlockFile:
    """A disk-backed float32 ``n_rows x n_features`` matrix stored as column blocks.

    Block ``b`` (features ``bounds[b]:bounds[b+1]``) is one contiguous ``n_rows x width`` array,
    so a row batch is written with one ``pwrite`` per block and a block is read with one read.
    Nothing is memory-mapped: the process never holds more than what it asks to read.
    """

    def __init__(self, path: str | os.PathLike[str], n_rows: int, n_features: int,
                 block_features: int):
        self.path = Path(path)
        self.n_rows, self.n_features = int(n_rows), int(n_features)
        step = max(1, int(block_features))
        self.bounds = list(range(0, self.n_features, step)) + [self.n_features]
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
        os.ftruncate(self._fd, self.n_rows * self.n_features * 4)

    @property
    def n_blocks(self) -> int:
        return len(self.bounds) - 1

    def _offset(self, block: int, row: int) -> int:
        low, high = self.bounds[block], self.bounds[block + 1]
        return 4 * (self.n_rows * low + row * (high - low))

    def write(self, start: int, rows: np.ndarray) -> None:
        """Store ``rows`` (``m x n_features``) as rows ``start:start+m``."""
        rows = np.asarray(rows, dtype=np.float32)
        for block in range(self.n_blocks):
            low, high = self.bounds[block], self.bounds[block + 1]
            view = memoryview(np.ascontiguousarray(rows[:, low:high])).cast("B")
            offset, done = self._offset(block, start), 0
            while done < len(view):
                done += os.pwrite(self._fd, view[done:], offset + done)

    def read(self, block: int) -> np.ndarray:
        """Block ``block`` as a new ``n_rows x width`` float32 array."""
        width = self.bounds[block + 1] - self.bounds[block]
        out = np.empty((self.n_rows, width), dtype=np.float32)
        view, offset, done = memoryview(out).cast("B"), self._offset(block, 0), 0
        while done < len(view):
            got = os.preadv(self._fd, [view[done:]], offset + done)
            if got <= 0:
                raise OSError(f"short read from {self.path} at byte {offset + done}")
            done += got
        return out

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        self.path.unlink(missing_ok=True)

    def __enter__(self) -> BlockFile:  # noqa: PYI034
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def gram_of_blocks(blocks: BlockFile) -> np.ndarray:
    """Column-centred Gram matrix ``Xc Xcᵀ`` (float64) of a :class:`BlockFile`, block by block."""
    from scipy.linalg.blas import dsyrk

    n = blocks.n_rows
    gram = np.zeros((n, n), dtype=np.float64, order="F")
    for block in range(blocks.n_blocks):
        x = blocks.read(block).astype(np.float64)
        x -= x.mean(axis=0)
        # upper triangle of x xᵀ accumulated in place (half the flops of a full product)
        gram = dsyrk(1.0, x.T, beta=1.0, c=gram, trans=1, lower=0, overwrite_c=1)
        del x
    upper = np.triu(gram)
    return upper + np.triu(gram, 1).T


def embedding_from_gram(gram: np.ndarray, rtol: float = 1e-13) -> np.ndarray:
    """``X~`` (``n x rank``) with ``X~ X~ᵀ = gram``: eigenvectors scaled by ``sqrt(eigenvalue)``.

    Eigenvalues below ``rtol * max`` (rounding noise of a rank-deficient Gram) are dropped; the
    columns are ordered by decreasing eigenvalue, signs fixed so each column's largest entry is
    positive (deterministic output).
    """
    from scipy import linalg

    values, vectors = linalg.eigh(gram)
    order = np.argsort(values)[::-1]
    values, vectors = values[order], vectors[:, order]
    keep = values > rtol * max(float(values[0]), np.finfo(float).tiny) if values.size else values > 0
    embedding = vectors[:, keep] * np.sqrt(values[keep])
    if embedding.size:
        signs = np.sign(embedding[np.abs(embedding).argmax(axis=0), np.arange(embedding.shape[1])])
        embedding *= np.where(signs == 0, 1.0, signs)
    if embedding.shape[1] == 0:  # a constant layer: one zero column keeps the shape valid
        embedding = np.zeros((gram.shape[0], 1))
    return embedding


def extract_gram(
    model: Model,
    stimuli: StimulusSet,
    layers: Sequence[str],
    *,
    visual_degrees: float | None = None,
    batch_size: int | None = None,
    device: Any = None,
    cache: bool = True,
    progress: bool | None = None,
    block_bytes: int = BLOCK_BYTES,
    layout: str = "auto",
    amp: str | None = None,
    scratch: str | os.PathLike[str] | None = None,
) -> xr.DataArray:
    """Exact isometric embedding of the full activations of ``layers`` (``reduction="gram"``).

    Returns a float64 ``presentation x neuroid`` DataArray whose rows have the same centred
    inner products as the full layer's rows (see the module docstring); ``neuroid`` coords as
    for reduced layers (``component`` numbers the columns). Rotation-invariant metrics (PLS,
    ridge) give the full-activation score on it. Scratch files go to ``scratch`` (default:
    ``$NEUROALIGN_HOME/cache/scratch``) and are removed when done. ``batch_size`` (default:
    from the available memory), ``layout`` and ``amp`` as for
    :func:`~neuroalign.extraction.extract.extract`.
    """
    import xarray as xr

    from ..store.assets import cache_dir
    from .extract import (
        _auto_batch,
        _layer_key,
        _model_dir,
        _model_payload,
        _neuroid_coords,
        _read_layer,
        _save_npz,
        _stream,
        _write_entry,
        check_layers,
        resolve_device,
    )
    from .pipeline import TIMINGS, choose_layout, to_layout
    from .reduction import Reduction

    module = model.module()
    names = check_layers(module, layers)
    image_degrees = float(visual_degrees or stimuli.degrees)
    device = resolve_device(device)
    n, reduction = len(stimuli), Reduction(method="gram")
    layout = choose_layout(module, device, layout)
    run = {"layout": layout, "amp": amp}
    base = _model_payload(model, layout, amp)
    keys = {layer: _layer_key(base, stimuli, image_degrees, model.visual_degrees, layer,
                              reduction) for layer in names}
    paths = {layer: _model_dir(model) / f"{keys[layer]}.npz" for layer in names}
    with TIMINGS.time("io"):
        found = {layer: _read_layer(paths[layer], n) for layer in names} if cache else {}
    entries = {layer: entry for layer, entry in found.items() if entry is not None}
    missing = [layer for layer in names if layer not in entries]
    if missing:
        ids = stimuli.ids
        was_training = module.training
        module.to(device).eval()
        to_layout(module, layout)
        scratch_dir = Path(scratch) if scratch else cache_dir("scratch")
        scratch_dir.mkdir(parents=True, exist_ok=True)
        files: dict[str, BlockFile] = {}
        try:
            auto, shapes = _auto_batch(model, module, stimuli, image_degrees, device, run,
                                       missing)
            batch_size = auto if batch_size is None else batch_size
            for layer in missing:
                width = math.prod(shapes[layer])
                handle, name = tempfile.mkstemp(prefix="gram-", suffix=".f32", dir=scratch_dir)
                os.close(handle)
                files[layer] = BlockFile(name, n, width, max(1, block_bytes // (4 * n)))

            def sink(layer: str):
                target = files[layer]

                def write(flat: Any, start: int, chw: Any = None) -> None:
                    target.write(start, flat.detach().float().cpu().numpy())

                # the Gram matrix is the same in any feature order: take the rows in memory
                # order (channels-last outputs are not copied into (C, H, W) order first)
                write.takes_memory_order = True
                return write

            _stream(model, module, n, lambda a, b: stimuli.images(slice(a, b)), ids.__getitem__,
                    layers=missing, sinks={layer: sink(layer) for layer in missing},
                    image_degrees=image_degrees, batch_size=int(batch_size), device=device,
                    progress=progress, label=f"{model.identifier}: {stimuli.identifier} (full)",
                    **run)
            for layer in missing:
                with TIMINGS.time("gram"):
                    embedding = embedding_from_gram(gram_of_blocks(files[layer]))
                files[layer].close()
                entries[layer] = (embedding, shapes[layer], True)
                if cache:
                    with TIMINGS.time("io"):
                        _write_entry(paths[layer], f"{model.identifier} {layer} on "
                                     f"{stimuli.identifier} ({n} stimuli, full activations, "
                                     "Gram embedding)", keys[layer], _save_npz(
                                         data=embedding,
                                         feature_shape=np.array(shapes[layer], dtype=np.int64),
                                         reduced=np.array(True)))
        finally:
            for handle in files.values():
                handle.close()
            module.train(was_training)
    coords: dict[str, list[np.ndarray]] = {}
    for layer in names:
        data, shape, _ = entries[layer]
        for name, values in _neuroid_coords(layer, shape, True, data.shape[1]).items():
            coords.setdefault(name, []).append(values)
    neuroid = {name: ("neuroid", np.concatenate(parts)) for name, parts in coords.items()}
    metadata = stimuli.metadata
    presentation = {str(c): ("presentation", metadata[c].to_numpy()) for c in metadata.columns}
    data = np.concatenate([np.asarray(entries[layer][0], dtype=np.float64) for layer in names],
                          axis=1)
    return xr.DataArray(
        data, dims=("presentation", "neuroid"), coords={**presentation, **neuroid},
        attrs={"model": model.identifier, "weights_sha256": base["weights"],
               "stimuli": stimuli.identifier, "stimuli_sha256": stimuli.sha256,
               "visual_degrees": image_degrees, "reduction": "gram",
               "full_features": {layer: int(math.prod(entries[layer][1])) for layer in names},
               "cached_layers": [layer for layer in names if layer not in missing]},
    )
