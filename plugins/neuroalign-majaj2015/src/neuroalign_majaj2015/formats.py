"""Brain-Score's published file formats (BrainIO), read and written.

**Assemblies** are netCDF4 files written by ``brainio.packaging.write_netcdf``: the DataArray's
MultiIndexes are flattened (``reset_index``) so every index level is a plain coordinate along its
dimension, and the array is stored as the variable ``data`` (zlib level 1). Majaj-Hong 2015
assemblies have dims ``neuroid x presentation x time_bin`` with

* presentation coords ``stimulus_id`` (``image_id`` in legacy files), ``repetition``, and in some
  files stimulus metadata (``object_name``, ``category_name``, ``variation``, ...);
* neuroid coords ``neuroid_id``, ``arr``, ``col``, ``row``, ``bank``, ``elec``, ``label``,
  ``animal``, ``region``;
* time_bin coords ``time_bin_start``, ``time_bin_end`` (one bin, 70-170 ms, in the
  non-temporal files);
* attribute ``stimulus_set_identifier``.

**Stimulus sets** are a CSV of metadata (one row per stimulus, ``stimulus_id`` or legacy
``image_id``, and ``filename``: the image's path inside the unzipped directory) and a ZIP of the
image files.

:func:`read_assembly` / :func:`read_stimulus_set` read these; :func:`write_assembly` /
:func:`write_stimulus_set` write them exactly as BrainIO does (the synthetic generator uses them,
so one reader serves the real and the synthetic data). :func:`to_neuroalign` converts an
assembly to neuroalign's standard (``presentation x neuroid``, mean rate in a time window,
repetitions kept).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import xarray as xr

from neuroalign.errors import AssetError, SpecError

if TYPE_CHECKING:  # pragma: no cover
    from neuroalign.stimuli import StimulusSet

__all__ = [
    "PRESENTATION_COORDS",
    "NEUROID_COORDS",
    "read_assembly",
    "write_assembly",
    "read_stimulus_csv",
    "read_stimulus_set",
    "write_stimulus_set",
    "to_neuroalign",
]

#: presentation coords of the converted assembly
PRESENTATION_COORDS = ("stimulus_id", "object_name", "category_name", "variation", "repetition")
#: neuroid coords of the converted assembly (more are kept when the file has them)
NEUROID_COORDS = ("neuroid_id", "region", "animal")


# ---------------------------------------------------------------------------------- assemblies


def read_assembly(path: str | Path) -> xr.DataArray:
    """Read a BrainIO assembly file into a DataArray with plain (flattened) coords.

    Parameters
    ----------
    path : path-like
        A netCDF4 file written by ``brainio.packaging.write_netcdf``.

    Returns
    -------
    xarray.DataArray
        Loaded in memory, dims as stored, every index level as a plain coordinate.
    """
    from neuroalign.store import open_netcdf

    dataset = open_netcdf(Path(path), engine="netcdf4")
    names = list(dataset.data_vars)
    if "data" in names:
        name = "data"
    elif len(names) == 1:
        name = names[0]
    else:
        raise AssetError(
            f"{str(path)!r} is not a BrainIO assembly: expected one data variable (BrainIO "
            f"writes 'data'), found {names}"
        )
    array = dataset[name]
    array.attrs = {**dataset.attrs, **array.attrs}
    return array


def write_assembly(assembly: xr.DataArray, path: str | Path) -> Path:
    """Write ``assembly`` as BrainIO does: flattened indexes, variable ``data``, zlib level 1."""
    from neuroalign.store import atomic_path

    flat = assembly.reset_index(list(assembly.indexes)) if assembly.indexes else assembly
    dataset = flat.to_dataset(name="data")
    encoding = {var: {"zlib": True, "complevel": 1} for var in dataset.variables
                if dataset[var].dtype.kind in "fiub"}
    path = Path(path)
    with atomic_path(path) as tmp:
        dataset.to_netcdf(tmp, engine="netcdf4", format="NETCDF4", encoding=encoding)
    return path


def _coord(assembly: xr.DataArray, dim: str, *names: str) -> np.ndarray | None:
    for name in names:
        if name in assembly.coords and assembly[name].dims == (dim,):
            return np.asarray(assembly[name].values)
    return None


def to_neuroalign(
    assembly: xr.DataArray,
    stimulus_metadata: pd.DataFrame | None = None,
    *,
    time_window: tuple[float, float] = (70.0, 170.0),
    source: str = "assembly",
) -> xr.DataArray:
    """Convert a BrainIO neural assembly to neuroalign's standard layout.

    Parameters
    ----------
    assembly : xarray.DataArray
        As read by :func:`read_assembly` (dims ``presentation``, ``neuroid`` and optionally
        ``time_bin``).
    stimulus_metadata : pandas.DataFrame, optional
        The stimulus set's CSV (``stimulus_id`` column); fills ``object_name``,
        ``category_name`` and ``variation`` when the assembly lacks them.
    time_window : (float, float)
        Mean firing rate over the time bins inside ``[start, end]`` ms (Majaj-Hong: 70-170).
    source : str
        Name used in error messages.

    Returns
    -------
    xarray.DataArray
        ``presentation x neuroid`` float32 with coords :data:`PRESENTATION_COORDS` on
        presentation and :data:`NEUROID_COORDS` (+ any other neuroid metadata) on neuroid;
        every repetition kept. NaN trials stay NaN (never 0); attrs ``nan_values`` counts them.

    Raises
    ------
    SpecError
        Every value in the time window is NaN.
    """
    dims = set(assembly.dims)
    if not {"presentation", "neuroid"} <= dims or dims - {"presentation", "neuroid", "time_bin"}:
        raise SpecError(
            f"{source}: dims {tuple(assembly.dims)} are not a neural assembly's "
            "('presentation', 'neuroid'[, 'time_bin'])"
        )
    data = assembly
    if "time_bin" in dims:
        start = _coord(assembly, "time_bin", "time_bin_start")
        end = _coord(assembly, "time_bin", "time_bin_end")
        if start is None or end is None:
            raise SpecError(
                f"{source}: dim 'time_bin' lacks the coords time_bin_start/time_bin_end")
        low, high = time_window
        inside = (start >= low) & (end <= high)
        if not inside.any():
            bins = [(int(s), int(e)) for s, e in zip(start, end)][:10]
            raise SpecError(
                f"{source}: no time bin lies inside {time_window} ms; the file has bins {bins}"
            )
        width = (end - start)[inside].astype(np.float64)
        weights = width / width.sum()
        window = np.asarray(assembly.isel(time_bin=np.flatnonzero(inside)).transpose(
            "presentation", "neuroid", "time_bin").values)
        # a NaN-aware weighted mean over the bins: NaN bins are skipped and a trial whose bins are
        # all NaN stays NaN (a plain weighted .sum() would turn it into a 0 firing rate). In
        # numpy, the same operations in the same order as the xarray expression it replaced
        # (equal to the bit in the tests), ~3x faster: 12.8 s of the full-scale first load
        valid = ~np.isnan(window)
        total = (np.where(valid, window, 0.0) * weights).sum(axis=-1)
        norm = (valid * weights).sum(axis=-1)
        with np.errstate(invalid="ignore", divide="ignore"):
            averaged = np.where(norm > 0, total / np.where(norm > 0, norm, 1.0), np.nan)
        values = averaged.astype(np.float32)  # the files' precision; half the memory
    else:
        values = np.asarray(data.transpose("presentation", "neuroid").values, dtype=np.float32)
    missing = int(np.isnan(values).sum())
    if values.size and missing == values.size:
        raise SpecError(f"{source}: every value in the {time_window} ms window is NaN "
                        f"({values.size} values); the file is broken or the wrong one")

    ids = _coord(assembly, "presentation", "stimulus_id", "image_id")
    repetition = _coord(assembly, "presentation", "repetition")
    if ids is None:
        raise SpecError(f"{source}: no 'stimulus_id' (or legacy 'image_id') coord on presentation")
    if repetition is None:
        raise SpecError(
            f"{source}: no 'repetition' coord on presentation; the ceiling needs single-trial "
            "data with a repetition number per presentation"
        )
    ids = ids.astype(str)
    coords: dict[str, tuple[str, np.ndarray]] = {
        "stimulus_id": ("presentation", ids.astype(object)),
        "repetition": ("presentation", repetition.astype(np.int64)),
    }
    meta = None
    if stimulus_metadata is not None:
        id_column = "stimulus_id" if "stimulus_id" in stimulus_metadata else "image_id"
        meta = stimulus_metadata.assign(**{id_column: stimulus_metadata[id_column].astype(str)})
        meta = meta.drop_duplicates(id_column).set_index(id_column)
        unknown = sorted(set(ids) - set(meta.index))
        if unknown:
            raise SpecError(
                f"{source}: {len(unknown)} stimulus ids of the assembly are not in its stimulus "
                f"set (e.g. {unknown[:3]}); the assembly and the stimulus set do not belong "
                "together"
            )
    for name in ("object_name", "category_name", "variation"):
        column = _coord(assembly, "presentation", name)
        if column is None and meta is not None and name in meta.columns:
            column = meta.loc[ids, name].to_numpy()
        if column is None:
            raise SpecError(
                f"{source}: no {name!r} for the presentations, neither in the assembly nor in "
                "the stimulus set CSV"
            )
        coords[name] = ("presentation", column.astype(np.int64) if name == "variation"
                        else column.astype(str).astype(object))

    neuroid_ids = _coord(assembly, "neuroid", "neuroid_id")
    region = _coord(assembly, "neuroid", "region")
    if neuroid_ids is None or region is None:
        raise SpecError(f"{source}: the neuroid dim needs coords 'neuroid_id' and 'region'")
    animal = _coord(assembly, "neuroid", "animal")
    if animal is None:  # Majaj-Hong ids start with the animal's name: 'Chabo_L_M_5_9'
        animal = np.array([str(n).split("_")[0] for n in neuroid_ids])
    coords["neuroid_id"] = ("neuroid", neuroid_ids.astype(str).astype(object))
    coords["region"] = ("neuroid", region.astype(str).astype(object))
    coords["animal"] = ("neuroid", animal.astype(str).astype(object))
    for name, coord in assembly.coords.items():
        if coord.dims == ("neuroid",) and name not in coords and name != "neuroid":
            coords[str(name)] = ("neuroid", np.asarray(coord.values))
    attrs = {k: v for k, v in assembly.attrs.items() if isinstance(v, (str, int, float))}
    attrs["time_window_ms"] = f"{time_window[0]:g}-{time_window[1]:g}"
    attrs["nan_values"] = missing
    return xr.DataArray(values, dims=("presentation", "neuroid"), coords=coords, attrs=attrs)


# ------------------------------------------------------------------------------ stimulus sets


def read_stimulus_csv(path: str | Path) -> pd.DataFrame:
    """The stimulus set CSV, with legacy ``image_id`` renamed to ``stimulus_id``."""
    frame = pd.read_csv(path)
    if "stimulus_id" not in frame.columns:
        if "image_id" not in frame.columns:
            raise SpecError(
                f"stimulus set CSV {str(path)!r} has no 'stimulus_id' (or legacy 'image_id') "
                f"column; columns are {list(frame.columns)}"
            )
        frame = frame.rename(columns={"image_id": "stimulus_id"})
    if "filename" not in frame.columns:
        raise SpecError(
            f"stimulus set CSV {str(path)!r} has no 'filename' column (the image's path inside "
            f"the zip); columns are {list(frame.columns)}"
        )
    frame["stimulus_id"] = frame["stimulus_id"].astype(str)
    return frame


def read_stimulus_set(
    csv_path: str | Path, zip_path: str | Path, *, identifier: str, degrees: float,
    columns: Sequence[str] = ("object_name", "category_name", "variation"),
) -> StimulusSet:
    """Read a BrainIO stimulus set (CSV + ZIP) into a core :class:`StimulusSet`.

    Images are decoded straight from the zip (nothing is extracted) with
    :func:`neuroalign.stimuli.decode_image` (16-bit and palette images scaled correctly, unknown
    modes refused); grayscale images (HvM's) keep one channel, colour images are RGB. Every CSV
    ``filename`` must be in the zip, matched by path, or by base name when the zip has a
    top-level folder (a base name shared by several members is an error naming both); images
    of different sizes are an error naming two of them.
    """
    from neuroalign.stimuli import (StimulusError, StimulusSet, decode_image, match_members,
                                    stack_images)

    frame = read_stimulus_csv(csv_path)
    filenames = frame["filename"].astype(str).tolist()
    try:
        with zipfile.ZipFile(zip_path) as archive:
            members = match_members(filenames, archive.namelist(), archive=str(zip_path),
                                    listing=f"stimulus set CSV {str(csv_path)!r}")
            decoded = {name: decode_image(archive.read(members[name]),
                                          f"{zip_path}:{members[name]}")
                       for name in dict.fromkeys(filenames)}
    except StimulusError as error:  # the files do not make a stimulus set: a data error
        raise AssetError(str(error)) from None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, RuntimeError) as error:
        raise AssetError(f"cannot read the stimulus zip {str(zip_path)!r} ({type(error).__name__}: "
                         f"{error}); fetch it again (neuroalign cache clear, then fetch)") from None
    if len(decoded) != len(filenames):
        raise SpecError(f"stimulus set CSV {str(csv_path)!r} lists some file names more than once; "
                        "each stimulus needs its own image file")
    try:
        stacked = stack_images(decoded)
    except StimulusError as error:
        raise AssetError(str(error)) from None
    metadata = {}
    for name in columns:
        if name in frame.columns:
            values = frame[name].to_numpy()
            metadata[name] = values.astype(np.int64) if name == "variation" else values.astype(str)
    return StimulusSet.from_arrays(identifier, frame["stimulus_id"].tolist(), stacked, degrees,
                                   **metadata)


def write_stimulus_set(
    csv_path: str | Path, zip_path: str | Path, metadata: pd.DataFrame,
    images: Mapping[str, np.ndarray],
) -> tuple[Path, Path]:
    """Write a BrainIO stimulus set: PNGs in a flat zip + a CSV with a ``filename`` column.

    Parameters
    ----------
    metadata : pandas.DataFrame
        One row per stimulus with ``stimulus_id`` and ``filename`` (the zip member name).
    images : mapping
        ``filename -> uint8 array`` (``(y, x)`` gray or ``(y, x, 3)``).
    """
    from PIL import Image

    from neuroalign.store import atomic_path

    csv_path, zip_path = Path(csv_path), Path(zip_path)
    with atomic_path(zip_path) as tmp:
        # fixed timestamps, so the zip's bytes (and sha256) are deterministic
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as archive:
            for filename in metadata["filename"]:
                buffer = io.BytesIO()
                # fast zlib level: PNG stays lossless, writing is 3x faster than the default
                Image.fromarray(images[filename]).save(buffer, format="PNG", compress_level=1)
                info = zipfile.ZipInfo(str(filename), date_time=(2015, 9, 30, 0, 0, 0))
                archive.writestr(info, buffer.getvalue())
    with atomic_path(csv_path) as tmp:
        metadata.to_csv(tmp, index=False)
    return csv_path, zip_path
