"""Results for notebooks and files: :func:`to_pandas`, :func:`to_xarray`, :func:`write_table`.

``neuroalign results --format csv|json|parquet`` writes :func:`to_pandas` through
:func:`write_table`; parquet needs pyarrow (``pip install 'neuroalign[parquet]'``).
"""

from __future__ import annotations

import io
import json
import os
from typing import TYPE_CHECKING

from ..errors import NeuroalignError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    import xarray as xr

    from .results import ResultsDatabase

__all__ = ["FORMATS", "to_pandas", "to_xarray", "write_table"]

#: file formats of :func:`write_table`
FORMATS: tuple[str, ...] = ("csv", "json", "parquet")


def _database(results: ResultsDatabase | str | os.PathLike[str] | None) -> ResultsDatabase:
    from .results import ResultsDatabase

    return results if isinstance(results, ResultsDatabase) else ResultsDatabase(results)


def to_pandas(results: ResultsDatabase | str | os.PathLike[str] | None = None, *,
              model: str = "*", benchmark: str = "*", request: str = "default",
              latest: bool = False) -> pd.DataFrame:
    """Stored records as a tidy DataFrame (one row per record; columns as
    :meth:`ResultsDatabase.query <neuroalign.scoring.results.ResultsDatabase.query>`).

    Parameters
    ----------
    results : ResultsDatabase or path, optional
        Default: the default results database.
    model, benchmark, request : str
        fnmatch patterns.
    latest : bool
        Keep one row per (model, weights, benchmark): the highest version, then the latest.
    """
    frame = _database(results).query(model, benchmark, request=request)
    if latest:
        frame = frame.sort_values(["version", "updated"], na_position="first").drop_duplicates(
            ["model", "weights_hash", "benchmark", "request"], keep="last")
        frame = frame.sort_values(["model", "benchmark"]).reset_index(drop=True)
    return frame


def to_xarray(results: ResultsDatabase | str | os.PathLike[str] | None = None, *,
              model: str = "*", benchmark: str = "*") -> xr.Dataset:
    """Default records as a ``model x benchmark`` Dataset with the variables ``value``,
    ``error``, ``raw``, ``ceiling`` (float, NaN where nothing is stored) and ``layer`` (str).

    Several records of one (model, benchmark) pair: the highest version, then the latest.
    """
    import numpy as np
    import xarray as xr

    frame = _database(results).query(model, benchmark)
    frame = frame.sort_values(["version", "updated"], na_position="first").drop_duplicates(
        ["model", "benchmark"], keep="last")
    models = sorted(set(frame["model"]))
    benchmarks = sorted(set(frame["benchmark"]))
    variables = {}
    for name in ("value", "error", "raw", "ceiling", "layer"):
        table = frame.pivot(index="model", columns="benchmark", values=name).reindex(
            index=models, columns=benchmarks)
        data = table.to_numpy(dtype=object if name == "layer" else "float64")
        if name == "layer":
            data = np.where(table.isna().to_numpy(), "", data).astype(str)
        variables[name] = (("model", "benchmark"), data)
    return xr.Dataset(variables, coords={"model": models, "benchmark": benchmarks},
                      attrs={"source": "neuroalign results database"})


def write_table(frame: pd.DataFrame, fmt: str, target: str | os.PathLike[str] | None = None
                ) -> bytes | None:
    """Write ``frame`` as ``fmt`` (csv, json records, parquet) to ``target`` (a path), or
    return the bytes when ``target`` is None.

    Raises
    ------
    NeuroalignError
        For an unknown format, or parquet without pyarrow (naming the extra to install).
    """
    if fmt not in FORMATS:
        raise NeuroalignError(f"unknown format {fmt!r}; use one of {list(FORMATS)}")
    if fmt == "parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError as error:
            raise NeuroalignError(
                "--format parquet needs pyarrow, which is not installed: "
                "pip install 'neuroalign[parquet]' (or: pip install pyarrow)") from error
        buffer = io.BytesIO()
        frame.to_parquet(buffer, index=False)
        data = buffer.getvalue()
    elif fmt == "csv":
        data = frame.to_csv(index=False).encode()
    else:
        records = json.loads(frame.to_json(orient="records"))
        data = (json.dumps(records, indent=2) + "\n").encode()
    if target is None:
        return data
    from ..store.cache import atomic_path

    with atomic_path(target) as temp:
        with open(temp, "wb") as handle:
            handle.write(data)
    return None
