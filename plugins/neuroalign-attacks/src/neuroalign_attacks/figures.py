"""Report figure of the robust-accuracy benchmarks: accuracy vs epsilon (paper 000, Figure 5).

Registered through ``register_figures`` (see ``plugin.py``); the report calls it once per
``PGD.robust_accuracy-*`` benchmark with results. It reads what :class:`RobustAccuracy` stores
in each Score's attrs: ``eps``, ``accuracy`` (steps -> accuracy per eps) and ``clean_accuracy``.
"""

from __future__ import annotations

from typing import Any

from neuroalign import Figure, FigureContext, FigureSpec, LineChart
from neuroalign.errors import FigureUnavailable

__all__ = ["RobustAccuracyCurves"]


class RobustAccuracyCurves(Figure):
    """One line chart per number of PGD steps: accuracy vs epsilon of the best models.

    Parameters (``spec.parameters``): ``max_series`` (default 8) models, best first by the
    benchmark's score. Linf budgets are shown in units of 1/255.
    """

    def __init__(self, spec: FigureSpec):
        self.spec = spec

    def __call__(self, context: FigureContext) -> list[LineChart]:
        """The curves of benchmark ``context.subject``."""
        from neuroalign import Series

        bench = context.subject or ""
        limit = int(context.parameters.get("max_series", 8))
        if bench not in context.board.values.columns:
            raise FigureUnavailable(f"no results for {bench!r}")
        column = context.board.values[bench].dropna().sort_values(ascending=False)
        curves: list[tuple[str, Any]] = []
        for model in column.index:
            score = context.score(str(model), bench)
            attrs = score.attrs if score is not None else {}
            if isinstance(attrs.get("accuracy"), dict) and attrs.get("eps"):
                curves.append((str(model), attrs))
        if not curves:
            raise FigureUnavailable(f"no Score on {bench} holds accuracy-per-epsilon attrs")
        total, curves = len(curves), curves[:limit]
        linf = curves[0][1].get("norm", "linf") == "linf"
        steps = sorted({int(s) for _, a in curves for s in a["accuracy"]})
        charts = []
        for step in steps:
            series = []
            for model, attrs in curves:
                accuracy = attrs["accuracy"].get(str(step))
                if accuracy is None:
                    continue
                eps = [float(e) * (255 if linf else 1) for e in attrs["eps"]]
                series.append(Series(model, eps, [float(a) for a in accuracy],
                                     labels=[f"ε={e:.3g}" for e in eps]))
            caption = "accuracy on the benchmark's images under PGD at each budget"
            if total > limit:
                caption = f"the {limit} best of {total} models; " + caption
            charts.append(LineChart(
                title=f"{bench}: accuracy vs ε, {step} PGD step{'s' if step > 1 else ''}",
                description=(f"Line chart of the accuracy of {len(series)} models under "
                             f"{step}-step PGD as the budget ε grows."),
                caption=caption, series=series,
                x_label="ε (×1/255, L∞)" if linf else "ε (L2)", y_label="accuracy"))
        return charts
