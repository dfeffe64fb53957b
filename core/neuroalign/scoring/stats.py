"""Statistics used to judge benchmarks and aggregators (papers 001 and 000).

:func:`agreement` (pairwise Spearman between benchmarks across models, Bonferroni corrected,
paper 001 section 2), :func:`rho_hierarchy` (Spearman of V1, V2, V4, IT scores against their
depth 1..4, paper 000) and :func:`explained_variance` (how much of the overall score each
component explains, paper 001 section 1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import SpecError
from ..scores import Score
from .tables import HIERARCHY, numeric_table, wide_table

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["Agreement", "agreement", "rho_hierarchy", "explained_variance"]


@dataclass(frozen=True)
class Agreement:
    """Pairwise Spearman correlations between benchmarks across models.

    Attributes
    ----------
    rho, pvalue : pandas.DataFrame
        Benchmark x benchmark matrices (diagonal: rho 1, p 0).
    alpha : float
        The family-wise significance level asked for.
    corrected_alpha : float
        ``alpha`` divided by the number of benchmark pairs (Bonferroni).
    n_models : int
        Models used (with ``complete=True``, those with every score).
    """

    rho: pd.DataFrame
    pvalue: pd.DataFrame
    alpha: float
    corrected_alpha: float
    n_models: int

    @property
    def significant(self) -> pd.DataFrame:
        """Whether each pair's p-value is below the corrected threshold (diagonal False)."""
        import numpy as np
        import pandas as pd

        values = (self.pvalue < self.corrected_alpha).to_numpy(copy=True)
        np.fill_diagonal(values, False)
        return pd.DataFrame(values, index=self.pvalue.index, columns=self.pvalue.columns)

    @property
    def mean_rho(self) -> float:
        """Mean correlation over distinct pairs (paper 001 reports 0.198 on Brain-Score)."""
        import numpy as np

        values = self.rho.to_numpy()
        upper = values[np.triu_indices_from(values, k=1)]
        return float(np.nanmean(upper)) if upper.size else math.nan

    def pairs(self) -> pd.DataFrame:
        """Tidy table: one row per pair with ``a, b, rho, pvalue, significant``."""
        import pandas as pd

        names = list(self.rho.columns)
        rows = [
            {"a": a, "b": b, "rho": self.rho.loc[a, b], "pvalue": self.pvalue.loc[a, b],
             "significant": bool(self.pvalue.loc[a, b] < self.corrected_alpha)}
            for i, a in enumerate(names) for b in names[i + 1:]
        ]
        return pd.DataFrame(rows, columns=["a", "b", "rho", "pvalue", "significant"])


def agreement(table: pd.DataFrame, *, alpha: float = 0.05, complete: bool = True) -> Agreement:
    """How aligned are alignment benchmarks? Spearman between every pair of columns.

    Parameters
    ----------
    table : pandas.DataFrame
        Models as rows, benchmarks as columns.
    alpha : float
        Family-wise significance level, Bonferroni-corrected by the number of pairs
        (paper 001: 0.05 / n_pairs).
    complete : bool
        Use only models with every score (paper 001); ``False`` uses, for each pair, the models
        that have both.
    """
    import numpy as np
    import pandas as pd
    from scipy.stats import spearmanr

    table = numeric_table(wide_table(table))
    if complete:
        table = table.dropna(axis=0, how="any")
    names = list(table.columns)
    if len(names) < 2:
        raise SpecError(f"agreement needs at least 2 benchmark columns; found {names}")
    n_pairs = len(names) * (len(names) - 1) // 2
    if len(table) >= 3 and not table.isna().to_numpy().any():
        # every pair uses the same models: Pearson of the ranks, as spearmanr, in one step
        rho, pvalue = _rank_correlations(table)
        return Agreement(rho, pvalue, alpha, alpha / n_pairs, int(len(table)))
    rho = pd.DataFrame(np.eye(len(names)), index=names, columns=names)
    pvalue = pd.DataFrame(np.zeros((len(names),) * 2), index=names, columns=names)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            pair = table[[a, b]].dropna()
            if len(pair) < 3:
                r, p = math.nan, math.nan
            else:
                r, p = spearmanr(pair[a], pair[b])
            rho.loc[a, b] = rho.loc[b, a] = r
            pvalue.loc[a, b] = pvalue.loc[b, a] = p
    return Agreement(rho, pvalue, alpha, alpha / n_pairs, int(len(table)))


def _rank_correlations(table: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Spearman rho and two-sided p of every column pair of a complete table, as
    ``scipy.stats.spearmanr`` computes them (average ranks; t-distribution p-value)."""
    import numpy as np
    import pandas as pd
    from scipy.stats import t as student

    names = list(table.columns)
    ranks = table.rank(axis=0, method="average").to_numpy(dtype="float64")
    n = ranks.shape[0]
    centred = ranks - ranks.mean(axis=0)
    norms = np.sqrt((centred ** 2).sum(axis=0))
    with np.errstate(divide="ignore", invalid="ignore"):
        rho = (centred.T @ centred) / np.outer(norms, norms)
        rho = np.clip(rho, -1.0, 1.0)
        t = rho * np.sqrt((n - 2) / ((1.0 + rho) * (1.0 - rho)))
    p = 2 * student.sf(np.abs(t), n - 2)
    np.fill_diagonal(rho, 1.0)
    np.fill_diagonal(p, 0.0)
    return (pd.DataFrame(rho, index=names, columns=names),
            pd.DataFrame(p, index=names, columns=names))


def rho_hierarchy(scores: Any) -> Any:
    """Spearman correlation of region scores with their depth V1=1, V2=2, V4=3, IT=4 (paper 000).

    Positive: the model matches later areas better, as a good model of the ventral stream
    should not necessarily; Brain-Score 2022's winner has -0.2, CrossViT-18 (adv + rot) +0.8.
    All four regions are required: with fewer the statistic is degenerate (two regions always
    give +-1). Paper 000's region values are Brain-Score *leaderboard* region scores, i.e. each
    the mean over several benchmarks of that region (e.g. V1: the FreemanZiemba2013 and
    Marques2020 benchmarks), not one benchmark per region; a table with one benchmark per
    region gives a different statistic.

    Parameters
    ----------
    scores : mapping, pandas.Series, Score or pandas.DataFrame
        Region -> score (a Score uses its ``attrs["regions"]`` from :class:`MeanAggregator` or
        its children named by region); a DataFrame gives one value per row. Regions other than
        V1, V2, V4 and IT are ignored; all four must be present (error otherwise).

    Returns
    -------
    float or pandas.Series
        NaN for a DataFrame row missing any of the four regions.
    """
    import pandas as pd
    from scipy.stats import spearmanr

    if isinstance(scores, pd.DataFrame):
        return scores.apply(lambda row: _rho_or_nan(row), axis=1).rename("rho_hierarchy")
    if isinstance(scores, Score):
        scores = scores.attrs.get("regions") or {k: c.value for k, c in scores.children.items()}
    values = {r: float(scores[r]) for r in HIERARCHY
              if r in scores and scores[r] is not None and not math.isnan(float(scores[r]))}
    if len(values) < len(HIERARCHY):
        missing = [r for r in HIERARCHY if r not in values]
        raise SpecError(
            f"rho_hierarchy needs scores of all four regions {list(HIERARCHY)} (paper 000); "
            f"missing {missing} in {sorted(map(str, scores))}. Score benchmarks of those regions "
            "(e.g. compose them per region) or leave the statistic out"
        )
    depth = [HIERARCHY.index(r) + 1 for r in values]
    return float(spearmanr(list(values.values()), depth)[0])


def _rho_or_nan(row: Any) -> float:
    try:
        return rho_hierarchy(row.to_dict())
    except SpecError:
        return math.nan


def explained_variance(components: pd.DataFrame, overall: pd.Series) -> pd.Series:
    """Squared Pearson correlation of each component column with the overall score.

    Paper 001: Brain-Score's overall score is dominated by behavior (95% explained variance)
    while neural predictivity explains 33%.
    """
    components = numeric_table(components)
    return components.apply(lambda column: column.corr(overall) ** 2).rename("explained_variance")
