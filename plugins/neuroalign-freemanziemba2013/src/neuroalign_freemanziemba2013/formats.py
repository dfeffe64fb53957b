"""Freeman-Ziemba 2013 assemblies (BrainIO, 1-ms time bins) to neuroalign's standard layout.

The published assembly (``movshon.FreemanZiemba2013.{public,private}``, written by
``brainio.packaging.write_netcdf``; read with :func:`neuroalign_majaj2015.formats.read_assembly`)
has dims ``neuroid x time_bin x presentation``:

* presentation: ``stimulus_id`` (``image_id`` in the 2018 packaging) and ``repetition`` (0-19);
  the stimulus metadata (``texture_family``, ``texture_type``, ``sample``, ``resolution``) is in
  the stimulus set's CSV, which Brain-Score merges by stimulus id;
* neuroid: ``neuroid_id`` and ``region`` (``V1``/``V2``);
* time_bin: ``time_bin_start``, ``time_bin_end``: 300 bins of 1 ms (0-1, ..., 299-300), spike
  counts.

Brain-Score's ``load_assembly`` (``benchmarks/freemanziemba2013/benchmarks/benchmark.py``) selects
exactly the bins ``[(t, t + 1) for t in range(50, 200)]`` and averages them;
:func:`to_neuroalign` does the same and refuses a file that lacks any of those bins (as
``.sel`` would).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from neuroalign.errors import SpecError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    import xarray as xr

__all__ = ["PRESENTATION_COORDS", "to_neuroalign"]

#: presentation coords of the converted assembly
PRESENTATION_COORDS = ("stimulus_id", "texture_family", "texture_type", "sample", "resolution",
                       "repetition")


def _coord(assembly: xr.DataArray, dim: str, *names: str) -> np.ndarray | None:
    for name in names:
        if name in assembly.coords and assembly[name].dims == (dim,):
            return np.asarray(assembly[name].values)
    return None


def window_bins(assembly: xr.DataArray, time_window: tuple[int, int], source: str) -> np.ndarray:
    """Indices along ``time_bin`` of the 1-ms bins ``(t, t + 1)`` for ``t`` in ``range(*time_window)``."""
    start = _coord(assembly, "time_bin", "time_bin_start")
    end = _coord(assembly, "time_bin", "time_bin_end")
    if start is None or end is None:
        raise SpecError(f"{source}: dim 'time_bin' lacks the coords time_bin_start/time_bin_end")
    position = {(int(s), int(e)): i for i, (s, e) in enumerate(zip(start, end))}
    wanted = [(t, t + 1) for t in range(*time_window)]
    missing = [b for b in wanted if b not in position]
    if missing:
        have = f"{len(start)} bins from ({int(start[0])}, {int(end[0])}) to " \
               f"({int(start[-1])}, {int(end[-1])})" if len(start) else "no bins"
        raise SpecError(
            f"{source}: Brain-Score averages the 1-ms bins (t, t+1) for t in "
            f"range{tuple(time_window)}; {len(missing)} of them are missing (e.g. {missing[:3]}); "
            f"the file has {have}"
        )
    return np.array([position[b] for b in wanted])


def to_neuroalign(
    assembly: xr.DataArray,
    stimulus_metadata: pd.DataFrame,
    *,
    time_window: tuple[int, int] = (50, 200),
    source: str = "assembly",
) -> xr.DataArray:
    """Mean rate over the window's 1-ms bins, stimulus metadata merged, repetitions kept.

    Parameters
    ----------
    assembly : xarray.DataArray
        As read by :func:`neuroalign_majaj2015.formats.read_assembly`: dims ``neuroid``,
        ``time_bin``, ``presentation`` in any order.
    stimulus_metadata : pandas.DataFrame
        The stimulus set's CSV (``stimulus_id``, ``texture_family``, ``texture_type``,
        ``sample``, ``resolution``).
    time_window : (int, int)
        Bins ``(t, t + 1)`` for ``t`` in ``range(*time_window)`` are averaged (Brain-Score:
        50-200).
    source : str
        Named in error messages.

    Returns
    -------
    xarray.DataArray
        ``presentation x neuroid`` float32 with coords :data:`PRESENTATION_COORDS` and
        ``neuroid_id``, ``region`` (+ any other neuroid coord of the file).
    """
    import xarray as xr

    if set(assembly.dims) != {"presentation", "neuroid", "time_bin"}:
        raise SpecError(f"{source}: dims {tuple(assembly.dims)} are not a Freeman-Ziemba "
                        "assembly's ('neuroid', 'time_bin', 'presentation')")
    bins = window_bins(assembly, time_window, source)
    data = assembly.isel(time_bin=bins).transpose("presentation", "neuroid", "time_bin")
    # float64 accumulation without a float copy of the (possibly integer) spike counts
    values = np.asarray(data.values).mean(axis=2, dtype=np.float64).astype(np.float32)

    ids = _coord(assembly, "presentation", "stimulus_id", "image_id")
    repetition = _coord(assembly, "presentation", "repetition")
    if ids is None:
        raise SpecError(f"{source}: no 'stimulus_id' (or legacy 'image_id') coord on presentation")
    if repetition is None:
        raise SpecError(f"{source}: no 'repetition' coord on presentation; the ceiling needs "
                        "single trials with a repetition number each")
    ids = ids.astype(str)
    id_column = "stimulus_id" if "stimulus_id" in stimulus_metadata else "image_id"
    meta = stimulus_metadata.assign(**{id_column: stimulus_metadata[id_column].astype(str)})
    meta = meta.drop_duplicates(id_column).set_index(id_column)
    unknown = sorted(set(ids) - set(meta.index))
    if unknown:
        raise SpecError(f"{source}: {len(unknown)} stimulus ids are not in the stimulus set "
                        f"(e.g. {unknown[:3]}); the assembly and the stimulus set do not belong "
                        "together")
    coords: dict[str, tuple[str, np.ndarray]] = {
        "stimulus_id": ("presentation", ids.astype(object)),
        "repetition": ("presentation", repetition.astype(np.int64)),
    }
    for name in PRESENTATION_COORDS[1:-1]:
        column = _coord(assembly, "presentation", name)
        if column is None and name in meta.columns:
            column = meta.loc[ids, name].to_numpy()
        if column is None:
            if name == "resolution":  # informative only
                continue
            raise SpecError(f"{source}: no {name!r} for the presentations, neither in the "
                            f"assembly nor in the stimulus CSV (columns {list(meta.columns)})")
        coords[name] = ("presentation", column.astype(str).astype(object))
    neuroid_ids = _coord(assembly, "neuroid", "neuroid_id")
    region = _coord(assembly, "neuroid", "region")
    if neuroid_ids is None or region is None:
        raise SpecError(f"{source}: the neuroid dim needs coords 'neuroid_id' and 'region'")
    coords["neuroid_id"] = ("neuroid", neuroid_ids.astype(str).astype(object))
    coords["region"] = ("neuroid", region.astype(str).astype(object))
    for name, coord in assembly.coords.items():
        if coord.dims == ("neuroid",) and name not in coords and name != "neuroid":
            coords[str(name)] = ("neuroid", np.asarray(coord.values))
    attrs = {k: v for k, v in assembly.attrs.items() if isinstance(v, (str, int, float))}
    attrs["time_window_ms"] = f"{time_window[0]}-{time_window[1]}"
    return xr.DataArray(values, dims=("presentation", "neuroid"), coords=coords, attrs=attrs)
