"""Brain-Score's Rajalingham 2018 files: behavioral assemblies of trials, read and converted.

The assemblies (``assy_dicarlo_Rajalingham2018_{public,private}.nc``) are BrainIO netCDF files of
a 1-D ``BehavioralAssembly`` over ``presentation`` (one element per human trial) whose values are
the chosen object, with the flattened index levels as plain coords: ``image_id`` (legacy) or
``stimulus_id``, ``sample_obj``, ``dist_obj``, ``choice``, ``truth`` (= ``sample_obj``) and the
experiment's bookkeeping (worker, timing...). The stimulus sets (``stimulus_objectome_*.csv`` +
``.zip``) have one row per image with ``image_id``/``stimulus_id``, ``filename`` and the object
shown as ``image_label`` (also ``image_sample_obj``).

Reading the netCDF and the stimulus sets is the Majaj-Hong plugin's BrainIO reader
(:mod:`neuroalign_majaj2015.formats`); this module converts the trials to what the ``i2n``
metric takes (:func:`to_trials`) and names the stimulus set's label column
(:func:`label_column`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from neuroalign.errors import SpecError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    import xarray as xr

__all__ = ["TRIAL_COORDS", "LABEL_COLUMNS", "to_trials", "label_column"]

#: presentation coords of the converted trials (the ``i2n`` metric's inputs)
TRIAL_COORDS = ("stimulus_id", "truth", "sample_obj", "dist_obj")
#: stimulus-set columns holding the object an image shows, in order of preference
LABEL_COLUMNS = ("image_label", "image_sample_obj", "label", "sample_obj", "object_name")


def _coord(assembly: xr.DataArray, *names: str) -> np.ndarray | None:
    dim = assembly.dims[0]
    for name in names:
        if name in assembly.coords and assembly[name].dims == (dim,):
            return np.asarray(assembly[name].values)
    return None


def _text(values: np.ndarray) -> np.ndarray:
    values = np.asarray(values)
    if values.dtype.kind == "S":
        values = np.char.decode(values, "utf-8")
    return values.astype(str).astype(object)


def to_trials(assembly: xr.DataArray, stimulus_ids: np.ndarray | None = None, *,
              source: str = "assembly") -> xr.DataArray:
    """Convert a Rajalingham 2018 assembly to the trials the ``i2n`` metric takes.

    Parameters
    ----------
    assembly : xarray.DataArray
        As read by :func:`neuroalign_majaj2015.formats.read_assembly` (1-D, ``presentation``).
    stimulus_ids : array, optional
        The stimulus set's ids; every trial's image must be among them.
    source : str
        Name used in error messages.

    Returns
    -------
    xarray.DataArray
        ``presentation`` (one per trial) of chosen object names with coords
        :data:`TRIAL_COORDS` (``truth`` = ``sample_obj`` where the file has none) and every other
        per-trial coord of the file.
    """
    import xarray as xr

    if assembly.ndim != 1 or assembly.dims[0] != "presentation":
        raise SpecError(f"{source}: dims {tuple(assembly.dims)} are not a behavioral assembly's "
                        "('presentation',): one element per trial")
    ids = _coord(assembly, "stimulus_id", "image_id")
    sample, distractor = _coord(assembly, "sample_obj"), _coord(assembly, "dist_obj")
    missing = [name for name, value in (("stimulus_id (or legacy image_id)", ids),
                                        ("sample_obj", sample), ("dist_obj", distractor))
               if value is None]
    if missing:
        raise SpecError(f"{source}: no {missing} coord(s) on presentation; found "
                        f"{sorted(map(str, assembly.coords))}")
    truth = _coord(assembly, "truth")
    chosen = np.asarray(assembly.values)
    if chosen.dtype.kind not in "OUS":  # values that are not names: the 'choice' coord is
        chosen = _coord(assembly, "choice")
        if chosen is None:
            raise SpecError(f"{source}: the values are {assembly.dtype}, not object names, and "
                            "there is no 'choice' coord")
    coords = {"stimulus_id": _text(ids), "truth": _text(sample if truth is None else truth),
              "sample_obj": _text(sample), "dist_obj": _text(distractor)}
    if stimulus_ids is not None:
        unknown = sorted(set(coords["stimulus_id"]) - set(map(str, stimulus_ids)))
        if unknown:
            raise SpecError(f"{source}: {len(unknown)} stimulus ids of the trials are not in its "
                            f"stimulus set (e.g. {unknown[:3]}); the assembly and the stimulus "
                            "set do not belong together")
    dim = assembly.dims[0]
    extra = {str(name): ("presentation", np.asarray(coord.values))
             for name, coord in assembly.coords.items()
             if coord.dims == (dim,) and name not in coords and name not in ("image_id", dim)}
    return xr.DataArray(_text(chosen), dims=("presentation",),
                        coords={**{k: ("presentation", v) for k, v in coords.items()}, **extra},
                        attrs={k: v for k, v in assembly.attrs.items()
                               if isinstance(v, (str, int, float))})


def label_column(frame: pd.DataFrame, *, source: str = "stimulus set") -> str:
    """The stimulus-set column naming each image's object (Brain-Score fits on ``image_label``)."""
    for name in LABEL_COLUMNS:
        if name in frame.columns:
            return name
    raise SpecError(f"{source}: no column naming the object an image shows (one of "
                    f"{list(LABEL_COLUMNS)}); columns are {list(frame.columns)}")
