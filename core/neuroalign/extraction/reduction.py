"""Streaming dimensionality reduction of layer activations, and the PCA reference stimulus set.

Two reductions are offered (:class:`Reduction`); layers with ``<= n_components`` features pass
through unchanged under both.

``"pca"`` (default)
    Principal components (1,000 by default) fitted once per (model, weights, preprocessing,
    layer) on a fixed, procedurally generated reference set of 1,024 images that is disjoint from
    every scored stimulus set (:func:`reference_images`). Wide layers are first *sketched*: a
    fixed, seeded very sparse random projection (Li, Hastie & Church 2006; density
    ``1/sqrt(n_features)``, the scikit-learn default) maps them to ``sketch_dim`` (4,096)
    dimensions; PCA is then exact in the sketch, computed from the ``N x N`` Gram matrix of the
    reference rows. Why: a ResNet-50 ``layer1`` output has 802,816 features, so plain
    (incremental) PCA to 1,000 components would hold a 1,000 x 802,816 float64 basis (6.4 GB) and
    need batches of >= 1,000 rows (3.2 GB each). The sketch needs ~30 MB (int32 CSR, shared by
    layers of equal width), the reference rows ``1,024 x 4,096`` float32 (16 MB per layer, only
    while fitting), the fitted basis ``1,000 x 4,096`` (16 MB per layer). A random projection to
    4,096 dims preserves the pairwise geometry of a few thousand points to a few percent
    (Johnson-Lindenstrauss), so the leading components of the sketch match those of the layer.

``"srp"``
    A seeded very sparse random projection straight to ``n_components`` dims: no fit, no
    reference pass; cheaper, but it does not order dimensions by variance.

Both are applied batch by batch inside the forward hook, so the full activation matrix of a
layer is never held in memory.
"""

from __future__ import annotations

import functools
import math
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..errors import SpecError

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from ..stimuli import StimulusSet

__all__ = [
    "REFERENCE_PREFIX",
    "REFERENCE_VERSION",
    "PCAFitter",
    "PCAReducer",
    "ProjectionReducer",
    "Reducer",
    "Reduction",
    "reference_images",
    "reference_stimuli",
    "sparse_projection",
]

#: bump when the reference images or the fitting procedure change (invalidates cached reducers)
REFERENCE_VERSION = 1
#: every reference stimulus id starts with this; scored sets must not contain such ids
REFERENCE_PREFIX = f"neuroalign-reference-v{REFERENCE_VERSION}/"


class Reduction(BaseModel):
    """How activations of wide layers are reduced; part of every activation cache key.

    Parameters
    ----------
    method : {"pca", "srp", "gram"}
        PCA fitted on the reference set, a sparse random projection, or ``"gram"``: the *full*
        activations as an exact isometric embedding of their rows (``n x rank``, see
        :mod:`neuroalign.extraction.gram`; the other fields are ignored).
    n_components : int
        Output dims; layers with at most this many features pass through unchanged.
    sketch_dim : int
        PCA only: wider layers are first sparsely projected to this many dims.
    seed : int
        Seed of the random projections.
    reference_size, reference_seed : int
        PCA only: number and seed of the procedural reference images.
    reference : str, optional
        PCA only: a folder of reference images (ImageNet val, see
        :mod:`neuroalign.extraction.reference`); default ``$NEUROALIGN_PCA_IMAGES``, else the
        procedural set. ``n_components`` images are chosen by Brain-Score's per-class rule.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    method: Literal["pca", "srp", "gram"] = "pca"
    n_components: int = Field(1000, gt=0)
    sketch_dim: int = Field(4096, gt=0)
    seed: int = Field(0, ge=0)
    reference_size: int = Field(1024, gt=1)
    reference_seed: int = Field(0, ge=0)
    reference: str | None = None

    @model_validator(mode="after")
    def _check(self) -> Reduction:
        if self.method == "pca" and self.reference is None:
            if self.reference_size <= self.n_components:
                raise ValueError(
                    f"PCA to n_components={self.n_components} needs reference_size > "
                    f"n_components (got {self.reference_size}); raise reference_size"
                )
            if self.sketch_dim < self.n_components:
                raise ValueError(
                    f"sketch_dim={self.sketch_dim} must be >= n_components={self.n_components}"
                )
        return self

    @classmethod
    def coerce(cls, value: str | Reduction | None) -> Reduction | None:
        """``None``/``"none"`` -> no reduction; ``"pca"``/``"srp"`` -> defaults; a Reduction as is."""
        if value is None or isinstance(value, Reduction):
            return value
        if isinstance(value, str):
            name = value.lower()
            if name in ("none", "raw"):
                return None
            if name in ("pca", "srp", "gram"):
                return cls(method=name)
        raise SpecError(
            f"unknown reduction {value!r}; use 'pca' (default), 'srp' (sparse random projection), "
            "'gram' (full activations as an exact Gram embedding), None (raw activations) or a "
            "neuroalign.reduction.Reduction(...)"
        )

    def output_dim(self, n_features: int) -> int:
        """Number of output dims for a layer with ``n_features`` features."""
        return min(n_features, self.n_components)


# --------------------------------------------------------------------------- projections


@functools.lru_cache(maxsize=16)
def _projection_arrays(
    n_features: int, n_components: int, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CSR arrays (crow, col, values) of a very sparse random projection ``k x d``."""
    density = 1.0 / math.sqrt(n_features)
    rng = np.random.default_rng([seed, n_features, n_components])
    total = n_features * n_components
    nnz = int(rng.binomial(total, density)) if total < 2**62 else int(total * density)
    # flat positions drawn with replacement, sorted, the rare repeats dropped: np.unique's result,
    # but np.unique (numpy 2's hash-based path) took 2.3 s for a 802,816-wide layer's 3.7 M
    # positions against 0.3 s for a sort
    flat = np.sort(rng.integers(0, total, size=nnz, dtype=np.int64))
    if flat.size:
        flat = flat[np.concatenate(([True], flat[1:] != flat[:-1]))]
    rows, cols = np.divmod(flat, n_features)
    scale = np.float32(math.sqrt(1.0 / (density * n_components)))
    values = np.where(rng.random(flat.size) < 0.5, -scale, scale).astype(np.float32)
    crow = np.zeros(n_components + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n_components), out=crow[1:])
    index_dtype = np.int32 if max(n_features, flat.size) < 2**31 else np.int64
    return crow.astype(index_dtype), cols.astype(index_dtype), values


def sparse_projection(n_features: int, n_components: int, seed: int, device: Any = "cpu") -> Any:
    """The seeded very sparse random projection ``n_components x n_features`` (torch CSR).

    Entries are ``+-sqrt(sqrt(d) / k)`` with probability ``1 / (2 sqrt(d))`` each and 0
    otherwise, so squared norms are preserved in expectation. The same ``(d, k, seed)`` always
    gives the same matrix (numpy PCG64), on every platform.
    """
    import torch

    crow, col, values = _projection_arrays(n_features, n_components, seed)
    with warnings.catch_warnings():  # "sparse CSR support is in beta": it is what we need
        warnings.filterwarnings("ignore", message=".*[Ss]parse CSR tensor support", category=UserWarning)
        return torch.sparse_csr_tensor(
            torch.from_numpy(crow), torch.from_numpy(col), torch.from_numpy(values),
            size=(n_components, n_features), device=device, check_invariants=False,
        )


def _scipy_transposed(matrix: Any, chw: tuple[int, int, int] | None) -> Any:
    """The transposed CSR ``matrix`` in scipy form, rows permuted to ``(H, W, C)`` when ``chw``.

    Built once per matrix and feature order and kept on the matrix.
    """
    cache = getattr(matrix, "_neuroalign_scipy_t", None)
    if cache is None:
        cache = {}
        matrix._neuroalign_scipy_t = cache
    if None not in cache:
        import scipy.sparse

        k, d = matrix.shape
        forward = scipy.sparse.csr_matrix(
            (matrix.values().numpy(), matrix.col_indices().numpy(),
             matrix.crow_indices().numpy()), shape=(k, d))
        cache[None] = forward.T.tocsr()
    if chw is not None and chw not in cache:
        channels, height, width = chw
        if channels * height * width != matrix.shape[1]:
            raise ValueError(f"a (C, H, W) shape {chw} does not match a projection of "
                             f"{matrix.shape[1]} features")
        # the logical (C, H, W) feature index at each (H, W, C) memory position
        logical = np.arange(matrix.shape[1]).reshape(chw).transpose(1, 2, 0).ravel()
        cache[chw] = cache[None][logical]
    return cache[chw]


def _project(matrix: Any, x: Any, chw: tuple[int, int, int] | None = None) -> Any:
    """``x @ matrix.T`` for a CSR ``matrix`` and dense ``x`` of shape (batch, features).

    ``chw``: the layer's ``(C, H, W)`` shape when the features of ``x`` are in ``(H, W, C)``
    order (a channels-last output taken as it lies in memory); the matrix's columns are then
    permuted to match instead of copying ``x`` into ``(C, H, W)`` order. Same sums, in another
    order (float rounding).

    On CPU the product runs in scipy against the transposed matrix in CSR form (built once per
    matrix and kept on it): the same sums in the same order as ``torch.sparse.mm(matrix, x.T)``
    (equal to the bit in tests) and about 6x faster, since torch's CSR kernel reads ``x.T``
    column-wise.
    """
    import torch

    if x.device.type != "cpu":
        if chw is not None:
            channels, height, width = chw
            x = x.reshape(x.shape[0], height, width, channels).permute(0, 3, 1, 2) \
                .reshape(x.shape[0], -1)
        return torch.sparse.mm(matrix, x.T).T
    transposed = _scipy_transposed(matrix, tuple(chw) if chw is not None else None)
    dense = np.ascontiguousarray(x.detach().numpy(), dtype=np.float32)
    return torch.from_numpy(np.asarray(dense @ transposed, dtype=np.float32))


def _sketched(sketch: Any, x: Any, chw: tuple[int, int, int] | None) -> Any:
    """``x`` through the PCA sketch (``sketch`` None: a narrow layer, ``x`` itself)."""
    if sketch is not None:
        return _project(sketch, x.float(), chw)
    if chw is not None:
        raise ValueError("an unsketched PCA needs its features in (C, H, W) order")
    return x.float()


class Reducer:
    """A fitted reduction of one layer: ``transform(x (batch, n_features)) -> (batch, n_out)``."""

    n_features: int
    n_components: int

    #: whether :meth:`transform` takes features in ``(H, W, C)`` order (``chw`` given)
    takes_memory_order = False

    def transform(self, x: torch.Tensor, chw: tuple[int, int, int] | None = None
                  ) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def to(self, device: Any) -> Reducer:  # pragma: no cover - abstract
        raise NotImplementedError


class ProjectionReducer(Reducer):
    """Sparse random projection of ``n_features`` to ``n_components`` dims (no fit)."""

    def __init__(self, n_features: int, n_components: int, seed: int, device: Any = "cpu"):
        self.n_features, self.n_components, self.seed = n_features, n_components, seed
        self.device = device
        self._matrix = sparse_projection(n_features, n_components, seed, device)

    takes_memory_order = True

    def transform(self, x: torch.Tensor, chw: tuple[int, int, int] | None = None) -> torch.Tensor:
        return _project(self._matrix, x.float(), chw)

    def to(self, device: Any) -> ProjectionReducer:
        return ProjectionReducer(self.n_features, self.n_components, self.seed, device)


class PCAReducer(Reducer):
    """``(sketch(x) - mean) @ components.T``; ``sketch`` is the identity for narrow layers."""

    def __init__(
        self,
        n_features: int,
        mean: np.ndarray,
        components: np.ndarray,
        explained_variance: np.ndarray,
        *,
        sketch_dim: int | None,
        seed: int,
        device: Any = "cpu",
    ):
        import torch

        self.n_features = n_features
        self.n_components = components.shape[0]
        self.sketch_dim, self.seed, self.device = sketch_dim, seed, device
        self.mean = np.asarray(mean, dtype=np.float32)
        self.components = np.asarray(components, dtype=np.float32)
        self.explained_variance = np.asarray(explained_variance, dtype=np.float64)
        self._sketch = (
            sparse_projection(n_features, sketch_dim, seed, device) if sketch_dim else None
        )
        self._basis_t = torch.from_numpy(self.components).T.contiguous().to(device)
        self._offset = torch.from_numpy(self.mean @ self.components.T).to(device)

    @property
    def takes_memory_order(self) -> bool:  # type: ignore[override]
        return self._sketch is not None  # a narrow layer's PCA needs the logical order

    def transform(self, x: torch.Tensor, chw: tuple[int, int, int] | None = None) -> torch.Tensor:
        import torch

        z = _sketched(self._sketch, x, chw)
        return torch.addmm(self._offset, z, self._basis_t, beta=-1.0)

    def to(self, device: Any) -> PCAReducer:
        return PCAReducer(
            self.n_features, self.mean, self.components, self.explained_variance,
            sketch_dim=self.sketch_dim, seed=self.seed, device=device,
        )

    def save(self, path: str | Path) -> None:
        """Write to ``path`` (an open binary file or a path) as an uncompressed ``.npz``."""
        arrays = {
            "mean": self.mean, "components": self.components,
            "explained_variance": self.explained_variance,
            "params": np.array([self.n_features, self.sketch_dim or 0, self.seed], dtype=np.int64),
        }
        with open(path, "wb") as handle:
            np.savez(handle, **arrays)

    @classmethod
    def load(cls, path: str | Path, device: Any = "cpu") -> PCAReducer:
        """Read a reducer written by :meth:`save` (never unpickles)."""
        with np.load(path, allow_pickle=False) as data:
            n_features, sketch_dim, seed = (int(v) for v in data["params"])
            return cls(
                n_features, data["mean"], data["components"], data["explained_variance"],
                sketch_dim=sketch_dim or None, seed=seed, device=device,
            )


class PCAFitter:
    """Collects (sketched) reference rows batch by batch, then fits a :class:`PCAReducer`."""

    def __init__(self, n_features: int, reduction: Reduction, n_rows: int, device: Any = "cpu"):
        self.n_features, self.reduction = n_features, reduction
        self.sketch_dim = reduction.sketch_dim if n_features > reduction.sketch_dim else None
        self._sketch = (
            sparse_projection(n_features, self.sketch_dim, reduction.seed, device)
            if self.sketch_dim
            else None
        )
        self.rows = np.zeros((n_rows, self.sketch_dim or n_features), dtype=np.float32)

    @property
    def takes_memory_order(self) -> bool:
        return self._sketch is not None

    def partial(self, x: torch.Tensor, start: int, chw: tuple[int, int, int] | None = None
                ) -> None:
        """Store the rows of batch ``x`` (batch, n_features) at ``start`` (``chw``: as for
        :func:`_project`; sketched layers only)."""
        z = _sketched(self._sketch, x, chw)
        self.rows[start : start + z.shape[0]] = z.detach().cpu().numpy()

    def fit(self, device: Any = "cpu") -> PCAReducer:
        """Exact PCA of the collected rows through the ``N x N`` Gram matrix (float64)."""
        rows = self.rows.astype(np.float64)
        mean = rows.mean(axis=0)
        rows -= mean
        n_components = min(self.reduction.n_components, rows.shape[0] - 1, rows.shape[1])
        eigenvalues, vectors = np.linalg.eigh(rows @ rows.T)
        order = np.argsort(eigenvalues)[::-1][:n_components]
        eigenvalues = np.clip(eigenvalues[order], 0.0, None)
        singular = np.sqrt(eigenvalues)
        keep = singular > singular.max(initial=0.0) * 1e-7
        components = np.zeros((n_components, rows.shape[1]))
        components[keep] = ((rows.T @ vectors[:, order[keep]]) / singular[keep]).T
        # deterministic signs: the largest loading of every component is positive
        signs = np.sign(components[np.arange(n_components), np.abs(components).argmax(axis=1)])
        components *= np.where(signs == 0, 1.0, signs)[:, None]
        self.rows = np.zeros((0, 0), dtype=np.float32)  # free the reference rows
        return PCAReducer(
            self.n_features, mean, components, eigenvalues / (rows.shape[0] - 1),
            sketch_dim=self.sketch_dim, seed=self.reduction.seed, device=device,
        )


# --------------------------------------------------------------------------- reference images


def _pink_noise(rng: np.random.Generator, size: int, channels: int) -> np.ndarray:
    """Noise with a ``1/f**alpha`` amplitude spectrum (natural images: alpha ~ 1), unit range."""
    fy = np.fft.fftfreq(size)[:, None]
    fx = np.fft.rfftfreq(size)[None, :]
    radius = np.sqrt(fx**2 + fy**2)
    radius[0, 0] = 1.0
    alpha = rng.uniform(0.8, 2.2)
    spectrum = rng.standard_normal((channels, size, size // 2 + 1)) + 1j * rng.standard_normal(
        (channels, size, size // 2 + 1)
    )
    field = np.fft.irfft2(spectrum / radius**alpha, s=(size, size), axes=(1, 2))
    field -= field.min(axis=(1, 2), keepdims=True)
    field /= field.max(axis=(1, 2), keepdims=True) + 1e-12
    return np.moveaxis(field, 0, -1)


def _colorize(rng: np.random.Generator, gray: np.ndarray) -> np.ndarray:
    """Map a (size, size, c) field to RGB with a random colour mixing matrix."""
    mix = rng.uniform(0.0, 1.0, size=(gray.shape[-1], 3))
    mix /= mix.sum(axis=0, keepdims=True) + 1e-12
    return gray @ mix


def _reference_image(index: int, size: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng([seed, REFERENCE_VERSION, index])
    yy, xx = np.mgrid[0:size, 0:size] / size - 0.5
    kind = index % 4
    if kind == 0:  # coloured 1/f noise ("natural" second-order statistics)
        image = _colorize(rng, _pink_noise(rng, size, 3))
    elif kind == 1:  # plaids: 1-3 coloured gratings, optionally in a Gaussian window
        image = np.full((size, size, 3), 0.5)
        for _ in range(rng.integers(1, 4)):
            theta, freq = rng.uniform(0, np.pi), np.exp(rng.uniform(0.0, np.log(30.0)))
            phase = rng.uniform(0, 2 * np.pi)
            wave = np.sin(2 * np.pi * freq * (xx * np.cos(theta) + yy * np.sin(theta)) + phase)
            image += 0.35 * wave[..., None] * rng.uniform(-1, 1, size=3)
        if rng.random() < 0.5:
            sigma = rng.uniform(0.1, 0.4)
            window = np.exp(-(xx**2 + yy**2) / (2 * sigma**2))[..., None]
            image = 0.5 + (image - 0.5) * window
    elif kind == 2:  # object-like shapes with edges over a low-contrast noise background
        image = 0.3 + 0.4 * _colorize(rng, _pink_noise(rng, size, 2))
        for _ in range(rng.integers(2, 10)):
            cy, cx = rng.uniform(-0.45, 0.45, size=2)
            ry, rx = rng.uniform(0.03, 0.3, size=2)
            angle = rng.uniform(0, np.pi)
            u = (xx - cx) * np.cos(angle) + (yy - cy) * np.sin(angle)
            v = -(xx - cx) * np.sin(angle) + (yy - cy) * np.cos(angle)
            if rng.random() < 0.5:
                mask = (u / rx) ** 2 + (v / ry) ** 2 <= 1.0
            else:
                mask = (np.abs(u) <= rx) & (np.abs(v) <= ry)
            image[mask] = rng.uniform(0, 1, size=3)
    else:  # camouflage textures: 1/f noise quantised into 2-5 coloured patches
        field = _pink_noise(rng, size, 1)[..., 0]
        levels = rng.integers(2, 6)
        edges = np.quantile(field, np.linspace(0, 1, levels + 1)[1:-1])
        palette = rng.uniform(0, 1, size=(levels, 3))
        image = palette[np.digitize(field, edges)]
    return (np.clip(image, 0.0, 1.0) * 255).round().astype(np.uint8)


def reference_images(indices: range | list[int], size: int = 224, seed: int = 0) -> np.ndarray:
    """uint8 RGB images ``(len(indices), size, size, 3)`` of the procedural reference set.

    Image ``i`` is drawn from ``numpy.random.default_rng([seed, REFERENCE_VERSION, i])`` and is
    one of four kinds (``i % 4``): coloured 1/f noise, coloured plaids (optionally windowed),
    random ellipses/rectangles over noise, and quantised 1/f "camouflage" textures. They mimic
    the power spectrum and edge content of natural images without any download.
    """
    return np.stack([_reference_image(int(i), size, seed) for i in indices])


def reference_stimuli(n: int = 1024, size: int = 224, seed: int = 0, degrees: float = 8.0) -> StimulusSet:
    """The first ``n`` reference images as a :class:`~neuroalign.stimuli.StimulusSet`.

    Ids are ``f"{REFERENCE_PREFIX}{seed}/{i:05d}"``. The extractor refuses to score a set that
    contains such ids with ``reduction="pca"``, so the PCA basis is never fitted on the scored data.
    """
    from ..stimuli import StimulusSet

    ids = [f"{REFERENCE_PREFIX}{seed}/{i:05d}" for i in range(n)]
    return StimulusSet.from_arrays(
        f"neuroalign.reference-v{REFERENCE_VERSION}", ids, reference_images(range(n), size, seed),
        degrees, kind=np.array(["noise", "plaid", "shapes", "camouflage"] * (n // 4 + 1))[:n],
    )

