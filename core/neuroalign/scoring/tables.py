"""Model x benchmark tables shared by the aggregators and the statistics."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import SpecError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["HIERARCHY", "numeric_table", "wide_table"]

#: the ventral-stream regions of the rho-hierarchy, in order (paper 000)
HIERARCHY: tuple[str, ...] = ("V1", "V2", "V4", "IT")


def numeric_table(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` as floats; a clear error when it is not a DataFrame."""
    import pandas as pd

    if not isinstance(table, pd.DataFrame):
        raise SpecError(
            f"rank needs a pandas DataFrame (models as rows, benchmarks as columns); "
            f"found {type(table).__name__}"
        )
    return table.astype(float)



def wide_table(table: pd.DataFrame) -> pd.DataFrame:
    """Pivot a tidy results table (model, benchmark, value columns) to model x benchmark."""
    for model, bench in (("model_id", "benchmark_id"), ("model", "benchmark")):
        if {model, bench, "value"} <= set(table.columns):
            return table.pivot_table(index=model, columns=bench, values="value", aggfunc="last")
    return table
