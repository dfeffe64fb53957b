"""Adversarial alignment (paper 003 §3): Spearman rho between a perturbation and a ClickMe map.

Per image, as the reference computes it (Adversarial-Alignment notebook: ``mask =
np.abs(np.mean(a - b, axis=1))``, ``spearmanr(mask.flatten(), heatmap.flatten())``): the
perturbation is pooled over colour channels by its *signed* mean, then its absolute value is
ranked against the ClickMe map over all pixels. Ties get average ranks (as ``scipy.stats.
spearmanr``); a constant map (e.g. no perturbation) has no defined rho and gives NaN.

The maps are compared at 224 x 224 (the ClickMe map's preprocessed size); a perturbation found
at another input size is resized to 224 bilinearly first. Harmonization's human ceiling
(``HUMAN_SPEARMAN_CEILING = 0.6575``, the inter-participant Spearman agreement of ClickMe maps)
normalises the score in its second field.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from .specs import HUMAN_CEILING

__all__ = ["perturbation_map", "spearman_rows", "alignment", "pareto_table", "HUMAN_CEILING"]


def perturbation_map(perturbation: Any, size: int | None = None) -> np.ndarray:
    """``|mean over channels of delta|`` as float64 ``(N, H, W)``, resized to ``size`` if given."""
    import torch

    delta = torch.as_tensor(perturbation).detach().float().cpu()
    pooled = delta.mean(dim=1, keepdim=True).abs()
    if size is not None and pooled.shape[-2:] != (size, size):
        from .preprocessing import resize_bilinear

        pooled = resize_bilinear(pooled, size)
    return pooled[:, 0].double().numpy()


def spearman_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Spearman rho between ``a[i]`` and ``b[i]`` (flattened) for every row ``i``."""
    from scipy.stats import rankdata

    a = np.asarray(a, dtype=np.float64).reshape(len(a), -1)
    b = np.asarray(b, dtype=np.float64).reshape(len(b), -1)
    if a.shape != b.shape:
        raise ValueError(f"maps must have the same shape; found {a.shape} and {b.shape}")
    ra = rankdata(a, axis=1) - (a.shape[1] + 1) / 2
    rb = rankdata(b, axis=1) - (b.shape[1] + 1) / 2
    denominator = np.sqrt((ra ** 2).sum(1) * (rb ** 2).sum(1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, (ra * rb).sum(1) / denominator, np.nan)


def alignment(perturbation: Any, heatmaps: Any) -> np.ndarray:
    """Per-image rho between ``|channel mean of perturbation|`` and ``heatmaps (N, H, W)``."""
    heat = np.asarray(heatmaps, dtype=np.float64)
    return spearman_rows(perturbation_map(perturbation, heat.shape[-1]), heat)


def pareto_table(scores: Mapping[str, Mapping[str, Any]]) -> Any:
    """Tolerance vs alignment across models, with the Pareto front marked.

    Parameters
    ----------
    scores : mapping
        ``{model id: {"tolerance": Score or float, "alignment": Score or float}}`` (e.g. from
        ``neuroalign.score(model, ["ClickMe.tolerance-pgd_l2", "ClickMe.alignment-pgd_l2"])``).

    Returns
    -------
    pandas.DataFrame
        One row per model (sorted by tolerance, descending): ``tolerance``, ``alignment``,
        ``alignment_score`` (alignment / human ceiling), ``pareto`` (no other model is at least
        as tolerant *and* as aligned, and better in one), ``dominated_by`` (how many models are).
    """
    import pandas as pd

    def number(value: Any) -> float:
        return float(getattr(value, "value", value))

    rows = []
    for model, pair in scores.items():
        missing = {"tolerance", "alignment"} - set(pair)
        if missing:
            raise ValueError(f"model {model!r}: missing {sorted(missing)} (give both a "
                             "'tolerance' and an 'alignment' score per model)")
        rows.append({"model": model, "tolerance": number(pair["tolerance"]),
                     "alignment": number(pair["alignment"])})
    table = pd.DataFrame(rows).set_index("model")
    t, a = table["tolerance"].to_numpy(), table["alignment"].to_numpy()
    dominated = [int(np.sum((t >= t[i]) & (a >= a[i]) & ((t > t[i]) | (a > a[i]))))
                 for i in range(len(table))]
    table["alignment_score"] = table["alignment"] / HUMAN_CEILING
    table["dominated_by"] = dominated
    table["pareto"] = table["dominated_by"] == 0
    return table.sort_values("tolerance", ascending=False)
