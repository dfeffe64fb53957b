"""The core's report figures, registered through ``register_figures`` like any plugin's.

Per benchmark: :class:`BenchmarkBars` (models with error bars and the ceiling) and
:class:`LayerProfile` (score of every candidate layer, the chosen one ringed). Per model:
:class:`RegionScores` (with the rho-hierarchy of paper 000). Across benchmarks (paper 001):
:class:`MetricAgreement` (pairwise Spearman heatmap, Bonferroni-significant cells dotted) and
:class:`RankingComparison` (mean / z-mean / mean-rank). Paper figures as data allows:
:class:`ScoreVsColumn` (score vs a per-model column the user supplies, e.g. ImageNet accuracy)
and :class:`BenchmarkScatter` (one benchmark group against another, optionally with its Pareto
front: paper 002's predictivity vs adversarial sensitivity, paper 003's tolerance vs alignment).
Every figure raises :class:`~neuroalign.errors.FigureUnavailable` with the reason when its data
is absent.
"""

from __future__ import annotations

import fnmatch
import math
from typing import TYPE_CHECKING, Any

from ...errors import FigureUnavailable
from ...interfaces import Figure
from ...specs import FigureSpec
from .charts import (
    Bar,
    BarChart,
    FigureContext,
    Heatmap,
    LineChart,
    Point,
    ScatterChart,
    Series,
    StripChart,
    StripPoint,
)

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["BenchmarkBars", "LayerProfile", "RegionScores", "MetricAgreement",
           "RankingComparison", "ScoreVsColumn", "BenchmarkScatter", "discriminability"]


class _Base(Figure):
    def __init__(self, spec: FigureSpec):
        self.spec = spec

    def _param(self, context: FigureContext, name: str, default: Any) -> Any:
        return context.parameters.get(name, self.spec.parameters.get(name, default))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.spec.id!r})"


def _ordered(context: FigureContext, benchmark: str) -> pd.Series:
    """The benchmark's scored models, best first by its direction."""
    if benchmark not in context.board.values.columns:
        raise FigureUnavailable(f"no results for {benchmark}")
    column = context.board.values[benchmark].dropna()
    return column.sort_values(ascending=not context.higher_is_better(benchmark), kind="stable")


def _subject(context: FigureContext) -> str:
    if not context.subject:
        raise FigureUnavailable("this figure is drawn per benchmark or model; no subject given")
    return context.subject


class BenchmarkBars(_Base):
    """Bar chart of one benchmark: ceiled score ± error of each model, best first.

    Parameters (``spec.parameters``): ``max_bars`` (default 40): more models are cut to the
    best ``max_bars``, said in the caption (every value is in the leaderboard and its CSV).
    """

    def __call__(self, context: FigureContext) -> BarChart:
        """The bars of benchmark ``context.subject``."""
        bench = _subject(context)
        column = _ordered(context, bench)
        if column.empty:
            raise FigureUnavailable(f"no model has a score on {bench}")
        limit = int(self._param(context, "max_bars", 40))
        shown = column.iloc[:limit]
        errors = context.board.errors[bench]
        bars = [Bar(str(m), float(v), _float(errors.get(m))) for m, v in shown.items()]
        ceilings = [s.ceiling for m in shown.index
                    if (s := context.score(str(m), bench)) is not None and s.ceiling is not None]
        caption = "error bars: each Score's error"
        if len(column) > limit:
            caption = f"showing the {limit} best of {len(column)} models; " + caption
        ceiling = None
        label = "ceiling"
        if ceilings and all(c is not None and math.isfinite(c) for c in ceilings):
            ceiling = 1.0  # ceiled scores: 1 is the data's own reliability
            raw = sorted(ceilings)[len(ceilings) // 2]
            label = f"ceiling (raw {raw:.3g})"
            caption += "; dashed line: the ceiling (ceiled score 1)"
        higher = context.higher_is_better(bench)
        return BarChart(
            title=f"{bench}: score of each model",
            description=(f"Bar chart of {len(bars)} models' ceiled scores on {bench}, "
                         f"{'highest' if higher else 'lowest'} first, with error bars"
                         + (" and the ceiling as a dashed line." if ceiling else ".")),
            caption=caption, bars=bars, y_label="ceiled score" if ceiling else "score",
            ceiling=ceiling, ceiling_label=label, higher_is_better=higher)


def _float(value: Any) -> float | None:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(value) else value


class LayerProfile(_Base):
    """Score of every candidate layer for the best models on one benchmark (``Score.layers``).

    Shows why each layer was chosen: the chosen layer is ringed. Parameters: ``max_series``
    (default 8) models, best first. When the models' layer lists differ, x is relative depth.
    """

    def __call__(self, context: FigureContext) -> LineChart:
        """The per-layer profiles on benchmark ``context.subject``."""
        bench = _subject(context)
        limit = int(self._param(context, "max_series", 8))
        profiles = []
        for model in _ordered(context, bench).index:
            score = context.score(str(model), bench)
            if score is not None and score.layers and len(score.layers) >= 2:
                profiles.append((str(model), score))
        if not profiles:
            raise FigureUnavailable(
                f"no Score on {bench} holds per-layer values (Score.layers): the benchmark "
                "scored committed layers without selection")
        total = len(profiles)
        profiles = profiles[:limit]
        layer_lists = {tuple(s.layers) for _, s in profiles}
        same = len(layer_lists) == 1
        series = []
        for model, score in profiles:
            names = list(score.layers)
            n = len(names)
            x = [float(i) if same else i / (n - 1) for i in range(n)]
            chosen = names.index(score.layer) if score.layer in names else None
            series.append(Series(model, x, [float(v) for v in score.layers.values()],
                                 labels=names, highlight=chosen))
        names = list(next(iter(layer_lists)))
        ticks = [(float(i), n) for i, n in enumerate(names)] if same and len(names) <= 12 else None
        caption = "ringed: the layer the benchmark chose"
        if total > limit:
            caption = f"the {limit} best of {total} models with layer scores; " + caption
        return LineChart(
            title=f"{bench}: score per candidate layer",
            description=(f"Line chart of the score of each candidate layer on {bench} for "
                         f"{len(series)} models; the chosen layer of each is ringed."),
            caption=caption, series=series,
            x_label="layer" if same else "relative depth (layer index / last index)",
            y_label="ceiled score per layer", x_ticks=ticks)


class RegionScores(_Base):
    """Mean ceiled score per region (V1, V2, V4, IT, behavior, ...) of one model.

    The caption gives the rho-hierarchy (paper 000): Spearman of the V1..IT scores against depth,
    when all four of those regions were scored (:func:`~neuroalign.scoring.stats.rho_hierarchy`
    refuses fewer; the bars are drawn either way).
    """

    def __call__(self, context: FigureContext) -> BarChart:
        """The region bars of model ``context.subject``."""
        from ...scoring.stats import rho_hierarchy
        from ...scoring.tables import HIERARCHY

        model = _subject(context)
        values = context.board.values
        if model not in values.index:
            raise FigureUnavailable(f"no results for {model}")
        groups = context.groups()
        row = values.loc[model]
        regions: dict[str, list[float]] = {}
        for bench, value in row.items():
            region = groups[bench][0]
            if not math.isnan(value) and context.higher_is_better(str(bench)) and (
                    region in HIERARCHY or region == "behavior"):
                regions.setdefault(region, []).append(float(value))
        if not regions:
            raise FigureUnavailable(f"{model} has no score on a V1/V2/V4/IT/behavior benchmark")
        order = [r for r in (*HIERARCHY, "behavior") if r in regions]
        means = {r: sum(regions[r]) / len(regions[r]) for r in order}
        caption = "mean ceiled score of the region's benchmarks"
        depth = {r: means[r] for r in HIERARCHY if r in means}
        if len(depth) == len(HIERARCHY):
            if len(set(depth.values())) == 1:
                shown = "undefined (equal scores)"
            else:
                shown = f"{rho_hierarchy(depth):.2f}"
            caption += f"; ρ-hierarchy (Spearman vs depth over {', '.join(depth)}) = {shown}"
        return BarChart(
            title=f"{model}: score per region",
            description=f"Bar chart of {model}'s mean score in {', '.join(order)}.",
            caption=caption, bars=[Bar(r, means[r]) for r in order], y_label="mean ceiled score")


class MetricAgreement(_Base):
    """Pairwise Spearman between benchmarks across models, Bonferroni-significant cells dotted.

    Paper 001 (Fig. 1): only models with every score (``complete``, default True). Columns of
    lower-is-better benchmarks are negated first, so a positive rho always means "the two rank
    models alike". Parameters: ``alpha`` (0.05), ``complete`` (True), ``full_matrix_up_to``
    (30: with more benchmarks only the lower triangle of the symmetric matrix is drawn).
    """

    def __call__(self, context: FigureContext) -> Heatmap:
        """The agreement heatmap of every benchmark with scores."""
        from ...scoring.stats import agreement

        values = context.board.values
        columns = [b for b in values.columns if values[b].notna().sum() >= 3]
        if len(columns) < 2:
            raise FigureUnavailable(
                "needs at least 2 benchmarks scored on at least 3 models each; found "
                f"{len(columns)}")
        table = values[columns].copy()
        for column in columns:
            if not context.higher_is_better(column):
                table[column] = -table[column]
        complete = bool(self._param(context, "complete", True))
        if complete and len(table.dropna()) < 3:
            raise FigureUnavailable(
                f"only {len(table.dropna())} models have every one of the {len(columns)} "
                "benchmarks (paper 001 uses complete rows); score more models, or set the "
                "figure parameter complete=False for pairwise-complete correlations")
        result = agreement(table, alpha=float(self._param(context, "alpha", 0.05)),
                           complete=complete)
        names = [str(c) for c in result.rho.columns]
        marked = result.significant.to_numpy().tolist()
        return Heatmap(
            title="Agreement between benchmarks (Spearman ρ across models)",
            description=(f"Heatmap of pairwise Spearman correlations between {len(names)} "
                         f"benchmarks over {result.n_models} models; dotted cells are "
                         f"significant after Bonferroni correction (α = "
                         f"{result.corrected_alpha:.2g})."),
            caption=(f"{result.n_models} models with every score; mean ρ over pairs "
                     f"{result.mean_rho:.2f}; dot: p < {result.alpha:g}/{len(result.pairs())} "
                     "(Bonferroni)"),
            rows=names, columns=names, values=result.rho.to_numpy().tolist(), marked=marked,
            value_label="rho", mark_label="significant",
            triangle=len(names) > int(self._param(context, "full_matrix_up_to", 30)))


class RankingComparison(_Base):
    """Models placed by each aggregator's score, min-max normalised (paper 001, Fig. 3).

    Points are shaded by the position under the first aggregator; rank changes of more than
    ``shift`` positions (default 10, as the paper) relative to it are ringed. Parameters:
    ``aggregators`` (default ``["mean", "zmean", "meanrank"]``), ``shift``.
    """

    def __call__(self, context: FigureContext) -> StripChart:
        """The ranking rows of the registered aggregators."""
        from scipy.stats import spearmanr

        wanted = list(self._param(context, "aggregators", ["mean", "zmean", "meanrank"]))
        present = [a for a in wanted if a in context.aggregates]
        if len(present) < 2:
            raise FigureUnavailable(f"needs at least two of the aggregators {wanted}; "
                                    f"found {present}")
        frames = {a: context.aggregates[a].dropna() for a in present}
        models = sorted(set.intersection(*(set(f.index) for f in frames.values())), key=str)
        if len(models) < 2:
            raise FigureUnavailable("needs at least two models with an aggregate")
        shift = int(self._param(context, "shift", 10))
        reference = frames[present[0]].loc[models]
        ref_rank = reference.rank(ascending=False, method="min")
        n = len(models)
        points, notes = [], []
        for name in present:
            series = frames[name].loc[models]
            low, high = float(series.min()), float(series.max())
            span = (high - low) or 1.0
            rank = series.rank(ascending=False, method="min")
            for m in models:
                moved = abs(float(rank[m]) - float(ref_rank[m])) > shift
                points.append(StripPoint(name, (float(series[m]) - low) / span, str(m),
                                         shade=1 - (float(ref_rank[m]) - 1) / max(n - 1, 1),
                                         highlight=moved))
            if name != present[0]:
                constant = reference.nunique() < 2 or series.nunique() < 2
                rho = "undefined" if constant else f"{spearmanr(reference, series)[0]:.2f}"
                notes.append(f"ρ({present[0]}, {name}) = {rho}")
        return StripChart(
            title="Ranking under each aggregator",
            description=(f"{n} models placed by their min-max normalised score under "
                         f"{', '.join(present)}; darker points rank higher under "
                         f"{present[0]}; ringed points move more than {shift} places."),
            caption="; ".join(notes) + f"; ringed: moved more than {shift} places vs "
                    f"{present[0]}", rows=present, points=points,
            x_label="normalised score (min-max)", shade_label=f"rank under {present[0]}",
            highlight_label=f"moved more than {shift} places")


class ScoreVsColumn(_Base):
    """Aggregate score against a per-model column the user supplies (e.g. ImageNet top-1).

    Parameters: ``column`` (default ``imagenet_top1``), ``aggregator`` (default ``mean``).
    """

    def __call__(self, context: FigureContext) -> ScatterChart:
        """The scatter of the column against the aggregate."""
        from scipy.stats import spearmanr

        column = str(self._param(context, "column", "imagenet_top1"))
        name = str(self._param(context, "aggregator", "mean"))
        extra = context.extra(column)
        if extra is None:
            raise FigureUnavailable(
                f"no per-model column {column!r}: pass --models-csv FILE with the columns "
                f"model,{column}")
        if name not in context.aggregates:
            raise FigureUnavailable(f"no {name!r} aggregate in this report")
        score = context.aggregates[name]
        points = [Point(str(m), float(extra[m]), float(score[m])) for m in score.index
                  if m in extra.index and not math.isnan(extra[m]) and not math.isnan(score[m])]
        if len(points) < 2:
            raise FigureUnavailable(f"fewer than 2 models have both {column!r} and a score")
        caption = f"{len(points)} models"
        if len(points) >= 3:
            rho, p = spearmanr([q.x for q in points], [q.y for q in points])
            caption += f"; Spearman ρ = {rho:.2f} (p = {p:.2g})"
        return ScatterChart(
            title=f"{name} score vs {column}",
            description=f"Scatter of each model's {column} (x) against its {name} score (y).",
            caption=caption, points=points, x_label=column, y_label=f"{name} score")


def discriminability(values: list[float]) -> tuple[float, float]:
    """``(sparseness, normalised variance)`` of a distribution across models (paper 002, 2.4).

    Sparseness ``S = 1 - E[r]^2 / E[r^2]``; normalised variance: the variance of the values
    divided by their maximum (absolute) value.
    """
    import numpy as np

    array = np.asarray(values, dtype=float)
    array = array[np.isfinite(array)]
    if array.size == 0:
        return math.nan, math.nan
    second = float(np.mean(array ** 2))
    sparseness = 1 - float(np.mean(array)) ** 2 / second if second > 0 else math.nan
    top = float(np.max(np.abs(array)))
    return sparseness, float(np.var(array / top)) if top > 0 else math.nan


class BenchmarkScatter(_Base):
    """Each model's mean over one group of benchmarks (x) against another group (y).

    Parameters: ``x`` and ``y`` (fnmatch patterns of benchmark ids), ``x_exclude`` /
    ``y_exclude`` (patterns left out), ``x_label`` / ``y_label``, ``front`` (draw the Pareto
    front maximising both), ``discriminability`` (give sparseness and normalised variance of
    both distributions in the caption, paper 002).
    """

    def _group(self, context: FigureContext, axis: str) -> tuple[list[str], pd.Series, Any]:
        pattern = str(self._param(context, axis, "*"))
        exclude = self._param(context, f"{axis}_exclude", None)
        names = [b for b in context.benchmark_ids(pattern)
                 if not (exclude and fnmatch.fnmatchcase(b, str(exclude)))]
        if not names:
            raise FigureUnavailable(f"no results for benchmarks matching {pattern!r}"
                                    + (f" (excluding {exclude!r})" if exclude else ""))
        mean = context.board.values[names].mean(axis=1, skipna=True)
        errors = context.board.errors[names[0]] if len(names) == 1 else None
        return names, mean, errors

    def __call__(self, context: FigureContext) -> ScatterChart:
        """The scatter of the two benchmark groups."""
        x_names, x, x_err = self._group(context, "x")
        y_names, y, y_err = self._group(context, "y")
        points = [Point(str(m), float(x[m]), float(y[m]),
                        _float(x_err[m]) if x_err is not None else None,
                        _float(y_err[m]) if y_err is not None else None)
                  for m in x.index if not math.isnan(x[m]) and not math.isnan(y[m])]
        if len(points) < 2:
            raise FigureUnavailable(f"fewer than 2 models have scores on both {x_names} "
                                    f"and {y_names}")
        x_label = str(self._param(context, "x_label", ", ".join(x_names)))
        y_label = str(self._param(context, "y_label", ", ".join(y_names)))
        caption = f"{len(points)} models; x: mean of {len(x_names)}, y: mean of {len(y_names)} " \
                  "benchmark(s)"
        if self._param(context, "discriminability", False):
            for label, values in ((x_label, [p.x for p in points]), (y_label, [p.y for p in points])):
                s, v = discriminability(values)
                caption += f"; {label}: sparseness {s:.3f}, normalised variance {v:.3g}"
        front = bool(self._param(context, "front", False))
        if front:
            caption += "; line: Pareto front (higher is better on both axes)"
        return ScatterChart(
            title=self.spec.description.split(".")[0] or f"{y_label} vs {x_label}",
            description=f"Scatter of each model's {x_label} (x) against its {y_label} (y).",
            caption=caption, points=points, x_label=x_label, y_label=y_label, front=front)
