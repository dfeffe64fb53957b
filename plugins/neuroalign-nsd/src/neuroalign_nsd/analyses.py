"""Paper 002's analyses of sensitivity and predictivity across encoding models (§2.4, §3.3, §3.5).

* :func:`sparseness` and :func:`normalized_variance` - the two spreads of §2.4;
* :func:`discriminability_table` - per model the mean sensitivity and mean predictivity over
  subjects and ROIs, and the sparseness and normalised variance of both distributions across
  models (Fig. 3D);
* :func:`mapping_effect` - sensitivity of one mapping against another (lasso vs OLS by default)
  per network, paired over (subject, ROI) encoding models: mean difference, paired t statistic
  and p-value (Fig. 5B).

The inputs are the benchmarks' :class:`~neuroalign.Score` objects (or plain numbers), so the
analyses run on whatever models were scored.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

__all__ = ["sparseness", "normalized_variance", "discriminability_table", "mapping_effect",
           "per_subject_values"]


def sparseness(values: Sequence[float]) -> float:
    """``S = 1 - E[r]^2 / E[r^2]`` (paper 002 §2.4; Vinje & Gallant 2000).

    0 when every value is the same, approaching 1 when one value dominates.
    """
    r = np.asarray(values, dtype=np.float64)
    if r.size == 0 or not np.isfinite(r).all():
        raise ValueError(f"sparseness needs finite values; found {r.tolist()}")
    second = float(np.mean(r * r))
    if second == 0:
        raise ValueError("sparseness is undefined when every value is 0")
    return 1.0 - float(np.mean(r)) ** 2 / second


def normalized_variance(values: Sequence[float]) -> float:
    """Variance of the values divided by their maximum (paper 002 §2.4, population variance)."""
    r = np.asarray(values, dtype=np.float64)
    if r.size == 0 or not np.isfinite(r).all():
        raise ValueError(f"normalized_variance needs finite values; found {r.tolist()}")
    top = float(r.max())
    if top <= 0:
        raise ValueError(f"normalized_variance needs a positive maximum; found {top}")
    return float(np.var(r / top))


def _value(score: Any) -> float:
    return float(getattr(score, "value", score))


def discriminability_table(sensitivity: Mapping[str, Mapping[str, Any]],
                           predictivity: Mapping[str, Mapping[str, Any]]):
    """Per-model means and the spread of both metrics across models (paper 002 Fig. 3D).

    Parameters
    ----------
    sensitivity, predictivity : mapping
        ``model -> benchmark id -> Score`` (or number): e.g. the four
        ``NSD.<ROI>-fgsm_sensitivity`` scores (each already a mean over subjects) and the four
        ``NSD.<ROI>-ols`` raw scores. A model's entry is the mean over its benchmarks. Use the
        predictivity's *raw* r (``Score.raw``) if the ceiled value is not wanted; plain numbers
        are used as given.

    Returns
    -------
    models : pandas.DataFrame
        Index: models (those in both mappings); columns ``sensitivity``, ``predictivity``.
    spread : pandas.DataFrame
        Index ``sensitivity``, ``predictivity``; columns ``sparseness``, ``normalized_variance``,
        ``n_models``.
    """
    import pandas as pd

    models = [m for m in sensitivity if m in predictivity]
    if len(models) < 2:
        raise ValueError(f"discriminability needs at least 2 models scored on both metrics; "
                         f"found {models}")
    rows = {m: {"sensitivity": float(np.mean([_value(s) for s in sensitivity[m].values()])),
                "predictivity": float(np.mean([_value(s) for s in predictivity[m].values()]))}
            for m in models}
    table = pd.DataFrame.from_dict(rows, orient="index")
    spread = pd.DataFrame({
        metric: {"sparseness": sparseness(table[metric]),
                 "normalized_variance": normalized_variance(table[metric]),
                 "n_models": len(table)}
        for metric in ("sensitivity", "predictivity")}).T
    return table, spread


def per_subject_values(scores: Mapping[str, Any]) -> dict[tuple[str, str], float]:
    """``(benchmark's ROI, subject) -> sensitivity`` from sensitivity Scores' ``attrs``."""
    out = {}
    for name, score in scores.items():
        attrs = getattr(score, "attrs", {})
        roi = attrs.get("roi", name)
        for subject, value in dict(attrs.get("subjects", {})).items():
            out[(str(roi), str(subject))] = float(value)
    return out


def mapping_effect(first: Mapping[str, Mapping[str, Any]],
                   second: Mapping[str, Mapping[str, Any]], *,
                   labels: tuple[str, str] = ("lasso", "ols")):
    """Paired comparison of two mappings' sensitivities per network (paper 002 §3.5, Fig. 5B).

    Parameters
    ----------
    first, second : mapping
        ``model -> benchmark id -> Score`` of the sensitivity benchmarks with each mapping (e.g.
        ``NSD.<ROI>-fgsm_sensitivity_lasso`` and ``NSD.<ROI>-fgsm_sensitivity``). The pairs are
        the (ROI, subject) encoding models both have (``Score.attrs["subjects"]``).
    labels : (str, str)
        Column names of the two mappings.

    Returns
    -------
    pandas.DataFrame
        One row per model: the mean sensitivity under each mapping, ``difference`` (first -
        second), ``n_pairs``, the paired t ``statistic`` and two-sided ``p_value``
        (``scipy.stats.ttest_rel``), and ``lower_first`` (the first mapping is significantly
        more robust at ``p < 0.001``, the paper's threshold).
    """
    import pandas as pd
    from scipy.stats import ttest_rel

    rows = {}
    for model in [m for m in first if m in second]:
        a, b = per_subject_values(first[model]), per_subject_values(second[model])
        pairs = sorted(set(a) & set(b))
        if len(pairs) < 2:
            raise ValueError(f"model {model!r}: fewer than 2 (ROI, subject) encoding models "
                             f"scored under both mappings ({pairs})")
        x = np.array([a[k] for k in pairs])
        y = np.array([b[k] for k in pairs])
        if np.allclose(x, y):
            statistic, p_value = 0.0, 1.0
        else:
            test = ttest_rel(x, y)
            statistic, p_value = float(test.statistic), float(test.pvalue)
        rows[model] = {labels[0]: float(x.mean()), labels[1]: float(y.mean()),
                       "difference": float((x - y).mean()), "n_pairs": len(pairs),
                       "statistic": statistic, "p_value": p_value,
                       "lower_first": bool(statistic < 0 and p_value < 1e-3
                                           and not math.isnan(p_value))}
    if not rows:
        raise ValueError("no model is scored under both mappings")
    return pd.DataFrame.from_dict(rows, orient="index")
