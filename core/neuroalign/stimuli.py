"""Stimulus sets: ids, uint8 images, metadata and the visual angle the images span.

A :class:`StimulusSet` wraps an :class:`xarray.Dataset` with

* a ``uint8`` variable ``image`` with dims ``presentation x y x x x channel`` (channel 1 or 3),
* a coordinate ``stimulus_id`` along ``presentation`` (unique, indexed, so
  ``dataset.sel(stimulus_id=...)`` works) plus any metadata coordinates along ``presentation``
  (``object_name``, ``category_name``, ``variation``, ...),
* attributes ``identifier`` and ``degrees`` (the visual angle the image width spans).

It is stored as netCDF4 with one compressed chunk per image, so a set opened from disk is read
lazily, batch by batch. This module imports no torch.

Loaders of published stimulus sets (CSV + ZIP of images, as Brain-Score ships them) decode with
:func:`decode_image`, find each CSV file name in the archive with :func:`match_members` and
stack with :func:`stack_images`; each refuses what it cannot read correctly with a
:class:`StimulusError` naming the file(s), never a silent approximation:

* 8-bit gray (``1``, ``L``, ``LA``: alpha dropped) stays one channel; ``RGB``/``RGBA``/``CMYK``/
  ``YCbCr`` become RGB (alpha dropped, not composited); palette (``P``/``PA``) images are expanded
  through their palette (one channel when the palette is gray);
* damaged files (bad chunk checksums, truncated) are refused, naming the file;
* 16-bit gray (``I;16*``, e.g. 16-bit PNGs) is scaled to 0-255 (``round(v / 257)``), not
  clipped; 32-bit integer (``I``) and float (``F``) images are refused (their range is unknown);
* images of different sizes are refused naming two files of different sizes (resize them
  first: there is no implicit resize rule); gray and colour images in one set become RGB;
* a CSV name found only by base name in several archive members is refused naming both.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import xarray as xr

from .errors import SpecError

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from .specs import Preprocessing

__all__ = ["ENGINE", "StimulusError", "StimulusSet", "decode_image", "match_members",
           "stack_images"]

#: netCDF engine used to read and write stimulus sets (explicit, never guessed)
ENGINE = "netcdf4"
_FORMAT_VERSION = 1
_HASH_CHUNK = 64  # images hashed per read, so a lazily opened set is never loaded at once
#: background of the virtual screen when a model sees more degrees than the stimuli span
GRAY = 128 / 255


class StimulusError(SpecError):
    """A stimulus set breaks a documented rule (dtype, shape, duplicate or unknown ids)."""


def _preview(values: Iterable[Any], n: int = 5) -> str:
    values = list(values)
    shown = ", ".join(repr(v) for v in values[:n])
    return f"[{shown}{', ...' if len(values) > n else ''}] ({len(values)} in all)"


def _check_images(images: Any, stimulus_ids: Sequence[str]) -> np.ndarray:
    """Validate and return ``images`` as one uint8 array ``(n, y, x, channel)``."""
    if isinstance(images, np.ndarray):
        array = images
    else:
        items = list(images)
        shapes = [np.shape(item) for item in items]
        if len(set(shapes)) > 1:
            first = shapes[0]
            odd = [sid for sid, shape in zip(stimulus_ids, shapes) if shape != first]
            raise StimulusError(
                f"images differ in shape: {stimulus_ids[0]!r} is {first} but stimuli "
                f"{_preview(odd)} are not; resize them to one common size before building "
                "the StimulusSet (e.g. with PIL.Image.resize)"
            )
        array = np.asarray(items)
    if array.dtype != np.uint8:
        hint = (
            "(images * 255).round().clip(0, 255).astype(np.uint8) if they are floats in [0, 1]"
            if array.dtype.kind == "f"
            else "images.clip(0, 255).astype(np.uint8)"
        )
        raise StimulusError(
            f"images have dtype {array.dtype} (shape {array.shape}); a StimulusSet stores "
            f"uint8 pixels 0-255: convert with {hint}"
        )
    if array.ndim == 3:
        raise StimulusError(
            f"images have shape {array.shape}, expected (stimulus, y, x, channel); for "
            "gray images add a channel axis with images[..., None]"
        )
    if array.ndim != 4 or array.shape[-1] not in (1, 3):
        fix = "images[..., :3] drops an alpha channel; " if array.ndim == 4 else ""
        raise StimulusError(
            f"images have shape {array.shape}, expected (stimulus, y, x, channel) with 1 (gray) "
            f"or 3 (RGB) channels last; {fix}channels-first arrays need "
            "images.transpose(0, 2, 3, 1)"
        )
    if array.shape[0] != len(stimulus_ids):
        raise StimulusError(
            f"{array.shape[0]} images but {len(stimulus_ids)} stimulus ids; give one id per image"
        )
    if min(array.shape[1:3]) < 1:
        raise StimulusError(f"images have an empty spatial size {array.shape[1:3]}")
    return array


def _check_ids(stimulus_ids: Iterable[Any]) -> list[str]:
    ids = [str(s) for s in stimulus_ids]
    if not ids:
        raise StimulusError("a StimulusSet needs at least one stimulus; got no stimulus ids")
    counts = pd.Series(ids).value_counts()
    duplicates = counts[counts > 1]
    if len(duplicates):
        shown = ", ".join(f"{k!r} x{v}" for k, v in list(duplicates.items())[:5])
        raise StimulusError(
            f"duplicate stimulus ids: {shown}{' ...' if len(duplicates) > 5 else ''} "
            f"({len(duplicates)} ids repeated); every stimulus needs a unique id "
            "(e.g. append the repetition or the file name)"
        )
    return ids


def _check_degrees(degrees: Any) -> float:
    try:
        value = float(degrees)
    except (TypeError, ValueError):
        value = float("nan")
    if not math.isfinite(value) or value <= 0:
        raise StimulusError(
            f"degrees={degrees!r} is not a positive number; give the visual angle (in degrees) "
            "that the image width spanned in the experiment (e.g. 8.0)"
        )
    return value


class StimulusSet:
    """Images with unique ids, metadata and the visual angle they span.

    Build one with :meth:`from_arrays` or :meth:`open`; the constructor validates an existing
    :class:`xarray.Dataset` of the documented layout.

    Parameters
    ----------
    dataset : xarray.Dataset
        ``image`` (uint8, ``presentation x y x x x channel``), coordinate ``stimulus_id`` and
        attributes ``identifier`` and ``degrees``.
    """

    def __init__(self, dataset: xr.Dataset):
        if "image" not in dataset.variables:
            raise StimulusError(
                f"dataset has no 'image' variable (variables: {sorted(map(str, dataset.variables))}); "
                "build stimulus sets with StimulusSet.from_arrays"
            )
        image = dataset["image"]
        if image.dims != ("presentation", "y", "x", "channel"):
            raise StimulusError(
                f"'image' has dims {image.dims}, expected ('presentation', 'y', 'x', 'channel')"
            )
        if image.dtype != np.uint8:
            raise StimulusError(f"'image' has dtype {image.dtype}, expected uint8")
        if image.sizes["channel"] not in (1, 3):
            raise StimulusError(f"'image' has {image.sizes['channel']} channels, expected 1 or 3")
        if "stimulus_id" not in dataset.coords:
            raise StimulusError("dataset has no 'stimulus_id' coordinate along 'presentation'")
        ids = _check_ids(dataset["stimulus_id"].values)
        self._degrees = _check_degrees(dataset.attrs.get("degrees"))
        self._identifier = str(dataset.attrs.get("identifier", "unnamed"))
        self._ids = ids
        if "stimulus_id" not in dataset.indexes:
            dataset = dataset.set_xindex("stimulus_id")
        self._dataset = dataset
        self._sha256: str | None = None
        self._digests: list[str] | None = None

    # ------------------------------------------------------------------ construction and I/O

    @classmethod
    def from_arrays(
        cls,
        identifier: str,
        stimulus_ids: Sequence[Any],
        images: np.ndarray | Sequence[np.ndarray],
        degrees: float,
        **metadata_columns: Sequence[Any],
    ) -> StimulusSet:
        """A stimulus set from in-memory arrays.

        Parameters
        ----------
        identifier : str
            Human-readable name (e.g. ``"MajajHong2015.public"``); the cache uses :attr:`sha256`.
        stimulus_ids : sequence
            One unique id per image (converted to ``str``).
        images : numpy.ndarray or sequence of arrays
            uint8 pixels, shape ``(stimulus, y, x, channel)`` with 1 or 3 channels.
        degrees : float
            Visual angle (degrees) the image width spans.
        **metadata_columns : sequence
            One value per stimulus each, e.g. ``object_name=[...]``.
        """
        ids = _check_ids(stimulus_ids)
        array = _check_images(images, ids)
        coords: dict[str, Any] = {"stimulus_id": ("presentation", np.asarray(ids, dtype=object))}
        for name, values in metadata_columns.items():
            if name in ("stimulus_id", "image", "presentation", "x", "y", "channel"):
                raise StimulusError(f"metadata column {name!r} clashes with a reserved name")
            column = np.asarray(values)
            if column.ndim != 1 or len(column) != len(ids):
                raise StimulusError(
                    f"metadata column {name!r} has shape {column.shape}; it needs one value per "
                    f"stimulus ({len(ids)})"
                )
            if column.dtype.kind in "US":
                column = column.astype(object)
            coords[name] = ("presentation", column)
        dataset = xr.Dataset(
            {"image": (("presentation", "y", "x", "channel"), array)},
            coords=coords,
            attrs={
                "identifier": str(identifier),
                "degrees": _check_degrees(degrees),
                "neuroalign_format": _FORMAT_VERSION,
            },
        )
        return cls(dataset)

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> StimulusSet:
        """Open a stimulus set written by :meth:`to_netcdf`; images are read lazily."""
        path = Path(path)
        if not path.exists():
            raise StimulusError(f"no stimulus set at {str(path)!r}")
        dataset = xr.open_dataset(path, engine=ENGINE, mask_and_scale=False)
        return cls(dataset)

    def to_netcdf(self, path: str | os.PathLike[str]) -> Path:
        """Write the set as netCDF4 (one compressed chunk per image), atomically."""
        from .store.cache import atomic_path

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        y, x, c = self.image_shape
        encoding = {
            "image": {"zlib": True, "complevel": 1, "chunksizes": (1, y, x, c)},
        }
        dataset = self._dataset.drop_indexes("stimulus_id")
        with atomic_path(path) as tmp:
            dataset.to_netcdf(tmp, engine=ENGINE, format="NETCDF4", encoding=encoding)
        return path

    # ------------------------------------------------------------------------ properties

    @property
    def dataset(self) -> xr.Dataset:
        """The underlying :class:`xarray.Dataset` (do not modify it in place)."""
        return self._dataset

    @property
    def identifier(self) -> str:
        return self._identifier

    @property
    def degrees(self) -> float:
        """Visual angle (degrees) that the image width spans."""
        return self._degrees

    @property
    def ids(self) -> list[str]:
        """Stimulus ids, in presentation order."""
        return list(self._ids)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """``(y, x, channel)`` of every image."""
        image = self._dataset["image"]
        return (image.sizes["y"], image.sizes["x"], image.sizes["channel"])

    def __len__(self) -> int:
        return len(self._ids)

    def __repr__(self) -> str:
        y, x, c = self.image_shape
        return (
            f"<StimulusSet {self.identifier!r}: {len(self)} stimuli, {y}x{x}x{c} px, "
            f"{self.degrees:g} deg>"
        )

    @property
    def metadata(self) -> pd.DataFrame:
        """One row per stimulus: ``stimulus_id`` and every metadata coordinate."""
        columns = {"stimulus_id": self._ids}
        for name, coord in self._dataset.coords.items():
            if name != "stimulus_id" and coord.dims == ("presentation",):
                columns[str(name)] = coord.values
        return pd.DataFrame(columns)

    def images(self, indices: slice | Sequence[int] | np.ndarray | None = None) -> np.ndarray:
        """uint8 pixels ``(n, y, x, channel)`` of all stimuli or of positions ``indices``."""
        image = self._dataset["image"]
        if indices is None:
            return np.asarray(image.values)
        return np.asarray(image.isel(presentation=indices).values)

    def subset(self, ids: Iterable[Any]) -> StimulusSet:
        """The stimuli ``ids`` (in that order) as a new set with the same identifier."""
        wanted = _check_ids(ids)
        position = {sid: i for i, sid in enumerate(self._ids)}
        unknown = [sid for sid in wanted if sid not in position]
        if unknown:
            raise StimulusError(
                f"stimulus ids {_preview(unknown)} are not in stimulus set {self.identifier!r}"
            )
        return StimulusSet(self._dataset.isel(presentation=[position[s] for s in wanted]))

    # ------------------------------------------------------------------------ hashing

    @property
    def image_digests(self) -> list[str]:
        """sha256 of each image's pixels (computed once, streaming in chunks)."""
        if self._digests is None:
            digests = []
            for start in range(0, len(self), _HASH_CHUNK):
                block = self.images(slice(start, start + _HASH_CHUNK))
                digests.extend(hashlib.sha256(im.tobytes()).hexdigest() for im in block)
            self._digests = digests
        return self._digests

    @property
    def sha256(self) -> str:
        """Content hash of ids, pixels, image shape, degrees and metadata (computed once).

        The identifier is not part of it: two sets with the same content share activations.
        """
        if self._sha256 is None:
            digest = hashlib.sha256(f"neuroalign-stimuli-v{_FORMAT_VERSION}\n".encode())
            header = {"shape": list(self.image_shape), "degrees": repr(self.degrees)}
            digest.update(json.dumps(header, sort_keys=True).encode())
            digest.update(json.dumps(self._ids).encode())
            for image_digest in self.image_digests:
                digest.update(bytes.fromhex(image_digest))
            metadata = self.metadata.drop(columns="stimulus_id")
            for name in sorted(metadata.columns):
                column = metadata[name]
                digest.update(f"\n{name}:{column.dtype}\n".encode())
                digest.update(json.dumps([str(v) for v in column.tolist()]).encode())
            self._sha256 = digest.hexdigest()
        return self._sha256


# --------------------------------------------------------------------------- decoding files

_GRAY_MODES = ("1", "L", "LA", "La")
_RGB_MODES = ("RGB", "RGBA", "RGBa", "RGBX", "CMYK", "YCbCr", "LAB", "HSV")
_SIXTEEN_BIT = ("I;16", "I;16L", "I;16B", "I;16N")


def decode_image(data: bytes, name: str) -> np.ndarray:
    """Decode encoded image bytes to uint8 pixels: ``(y, x)`` gray or ``(y, x, 3)`` RGB.

    See the module docstring for the modes handled; 16-bit gray is scaled to 0-255.

    Parameters
    ----------
    data : bytes
        The file's bytes (PNG, JPEG, TIFF, ... as Pillow reads them).
    name : str
        The file's name, for error messages.

    Raises
    ------
    StimulusError
        The bytes are not a readable image, or a mode whose 0-255 scaling is unknown.
    """
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as image:
            image.verify()  # chunk checksums and truncation (load() accepts a truncated PNG)
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            mode = image.mode
            if mode in _GRAY_MODES:
                return np.asarray(image.convert("L"), dtype=np.uint8)
            if mode in _SIXTEEN_BIT:
                wide = np.asarray(image).astype(np.float64)
                return np.round(wide / 257.0).clip(0, 255).astype(np.uint8)
            if mode in ("P", "PA"):
                rgb = np.asarray(image.convert("RGB"), dtype=np.uint8)
                gray = (rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all()
                return np.ascontiguousarray(rgb[..., 0]) if gray else rgb
            if mode in _RGB_MODES:
                return np.asarray(image.convert("RGB"), dtype=np.uint8)
    except StimulusError:
        raise
    except Exception as error:  # noqa: BLE001 - Pillow raises many types for bad bytes
        raise StimulusError(
            f"cannot decode image {name!r} ({type(error).__name__}: {error}); the file is damaged "
            "or not an image: replace it"
        ) from None
    raise StimulusError(
        f"image {name!r} has mode {mode!r} (32-bit integer or float pixels), whose 0-255 scaling "
        "is unknown; convert it to an 8-bit (or 16-bit) gray or RGB PNG first"
    )


def match_members(filenames: Iterable[str], members: Iterable[str], *, archive: str = "archive",
                  listing: str = "the CSV") -> dict[str, str]:
    """Map each file name of a stimulus CSV to its archive member.

    A name matches the member with the same path, else the one member with the same base name
    (archives often add a top-level folder).

    Raises
    ------
    StimulusError
        Names missing from the archive (a few are shown), or a base name shared by several
        members (both are named: picking one could score the wrong image).
    """
    from pathlib import PurePosixPath

    files = [name for name in members if not name.endswith("/")]
    exact = set(files)
    by_base: dict[str, list[str]] = {}
    for member in files:
        by_base.setdefault(PurePosixPath(member).name, []).append(member)
    found: dict[str, str] = {}
    missing = []
    for filename in filenames:
        filename = str(filename)
        if filename in exact:
            found[filename] = filename
            continue
        candidates = by_base.get(PurePosixPath(filename).name, [])
        if len(candidates) > 1:
            raise StimulusError(
                f"{listing} names {filename!r}, which is not a path in {archive!r} but matches "
                f"several members by base name: {candidates[0]!r} and {candidates[1]!r}"
                f"{' (and more)' if len(candidates) > 2 else ''}; write the full member path in "
                f"{listing}"
            )
        if candidates:
            found[filename] = candidates[0]
        else:
            missing.append(filename)
    if missing:
        raise StimulusError(
            f"{archive!r} lacks {len(missing)} files listed in {listing} (e.g. {missing[:3]}); "
            f"{listing} and the archive do not belong together"
        )
    return found


def stack_images(images: Mapping[str, np.ndarray]) -> np.ndarray:
    """Stack decoded images (file name -> ``(y, x)`` or ``(y, x, 3)`` uint8) to
    ``(n, y, x, channel)``: one channel if all are gray, else RGB.

    Raises
    ------
    StimulusError
        Images of different sizes (two files of different sizes are named); there is no
        implicit resize.
    """
    names = list(images)
    if not names:
        raise StimulusError("no images to stack")
    first = names[0]
    size = images[first].shape[:2]
    for name in names[1:]:
        if images[name].shape[:2] != size:
            raise StimulusError(
                f"images differ in size: {first!r} is {size[1]}x{size[0]} px but {name!r} is "
                f"{images[name].shape[1]}x{images[name].shape[0]} px; a stimulus set needs one "
                "size: resize the images first (there is no implicit resize rule)"
            )
    arrays = [images[name] for name in names]
    if any(array.ndim == 3 for array in arrays):  # mixed gray and colour: all RGB
        arrays = [np.repeat(a[..., None], 3, -1) if a.ndim == 2 else a for a in arrays]
    stacked = np.stack(arrays)
    return stacked[..., None] if stacked.ndim == 3 else stacked


# --------------------------------------------------------------------------- placement


def place(
    images: np.ndarray,
    *,
    image_degrees: float,
    model_degrees: float,
    preprocessing: Preprocessing,
    device: Any = "cpu",
) -> torch.Tensor:
    """uint8 images ``(n, y, x, c)`` (array or tensor) -> normalised input ``(n, 3, size, size)``.

    1. Placement (Brain-Score's rule): the images span ``image_degrees``, the model sees
       ``model_degrees``. If the model sees more, the image is centred on a gray (128) canvas
       ``model_degrees / image_degrees`` times larger; if it sees fewer, the central
       ``model_degrees / image_degrees`` fraction is cropped.
    2. ``preprocessing.resize == "shorter_side"``: resize the shorter side to
       ``floor(input_size / crop_pct)`` with the model's interpolation (antialiased, like PIL),
       then centre-crop ``input_size`` (timm's eval transform). ``"square"``: resize to
       ``input_size x input_size`` with no crop (Brain-Score's ``Resize((s, s))``).
    3. Scale to [0, 1] and normalise with the model's mean and std.
    """
    import torch
    import torch.nn.functional as F

    # a uint8 tensor is taken as is (pinned memory: the copy to a GPU is then non-blocking)
    x = images if torch.is_tensor(images) else torch.from_numpy(np.ascontiguousarray(images))
    x = x.to(device, non_blocking=True)
    x = x.permute(0, 3, 1, 2)
    if x.shape[1] == 1:
        x = x.expand(-1, 3, -1, -1)
    mean = torch.tensor(preprocessing.mean, device=x.device).view(1, 3, 1, 1)
    std = torch.tensor(preprocessing.std, device=x.device).view(1, 3, 1, 1)
    size = preprocessing.input_size
    square = preprocessing.resize == "square"
    scale = size if square else math.floor(size / preprocessing.crop_pct)
    ratio = model_degrees / image_degrees
    height, width = x.shape[-2:]
    new_h, new_w = max(1, round(height * ratio)), max(1, round(width * ratio))
    if (new_h, new_w) == (height, width) == (size, size) and scale == size:
        # fast path (nothing to place or resize): one pass to float NCHW, one fused affine
        x = x.to(torch.float32, memory_format=torch.contiguous_format)
        return x.mul_(1.0 / (255.0 * std)).sub_(mean / std)
    x = x.float().div_(255.0)
    if ratio > 1 and (new_h, new_w) != (height, width):
        top, left = (new_h - height) // 2, (new_w - width) // 2
        pad = (left, new_w - width - left, top, new_h - height - top)
        x = F.pad(x, pad, value=GRAY)
    elif ratio < 1 and (new_h, new_w) != (height, width):
        top, left = (height - new_h) // 2, (width - new_w) // 2
        x = x[..., top : top + new_h, left : left + new_w]
    height, width = x.shape[-2:]
    if (height, width) != (size, size) or scale != size:
        factor = scale / min(height, width)
        target = (size, size) if square else (max(size, round(height * factor)),
                                               max(size, round(width * factor)))
        mode = preprocessing.interpolation
        if mode == "nearest":
            x = F.interpolate(x, size=target, mode="nearest-exact")
        else:
            x = F.interpolate(x, size=target, mode=mode, align_corners=False, antialias=True)
            x = x.clamp_(0.0, 1.0) if mode == "bicubic" else x
        top, left = (target[0] - size) // 2, (target[1] - size) // 2
        x = x[..., top : top + size, left : left + size]
    return ((x - mean) / std).contiguous()
