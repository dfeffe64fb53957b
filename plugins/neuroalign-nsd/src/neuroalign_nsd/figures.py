"""Report figure of the sensitivity benchmarks: sensitivity over epsilon (paper 002 Fig. 3B).

Registered through ``register_figures`` as ``nsd_sensitivity_curve`` (scope ``benchmark``, on
every ``NSD.*-fgsm_sensitivity*`` benchmark): one line per model, mean sensitivity at each
budget with its SEM over subjects, and the shuffled control of the same models as dashed-name
series ("<model> (shuffled)").
"""

from __future__ import annotations

from typing import Any

from neuroalign import Figure, FigureContext, FigureUnavailable, LineChart, Series

__all__ = ["SensitivityCurve"]


class SensitivityCurve(Figure):
    """Sensitivity against epsilon for the models scored on one sensitivity benchmark.

    Parameters (``FigureSpec.parameters``): ``max_series`` (default 6) models, most robust
    first; ``control`` (default True) adds each model's shuffled-noise curve.
    """

    def __init__(self, spec):
        self.spec = spec

    def _param(self, context: FigureContext, name: str, default: Any) -> Any:
        return context.parameters.get(name, self.spec.parameters.get(name, default))

    def __call__(self, context: FigureContext) -> LineChart:
        """The curves on benchmark ``context.subject``."""
        bench = context.subject
        if not bench or bench not in context.board.values.columns:
            raise FigureUnavailable(f"no results for {bench!r}")
        column = context.board.values[bench].dropna().sort_values(kind="stable")
        limit = int(self._param(context, "max_series", 6))
        series = []
        for model in list(column.index)[:limit]:
            score = context.score(str(model), bench)
            attrs = getattr(score, "attrs", {}) or {}
            if "curve" not in attrs or "epsilons" not in attrs:
                continue
            x = [float(e) * 255 for e in attrs["epsilons"]]
            series.append(Series(str(model), x, [float(v) for v in attrs["curve"]],
                                 error=[float(v) for v in attrs.get("curve_sem", [])] or None))
            if self._param(context, "control", True) and "shuffled_curve" in attrs:
                series.append(Series(f"{model} (shuffled)", x,
                                     [float(v) for v in attrs["shuffled_curve"]]))
        if not series:
            raise FigureUnavailable(f"no Score on {bench} holds a sensitivity curve "
                                    "(attrs['curve'])")
        return LineChart(
            title=f"{bench}: sensitivity over epsilon",
            description=(f"Line chart of the mean FGSM sensitivity on {bench} at each budget "
                         "(x: epsilon in 1/255) for the most robust models, with the shuffled "
                         "control of the same perturbation."),
            caption="error bars: SEM over subjects; higher is less robust; '(shuffled)': the "
                    "same perturbation with its pixels shuffled (negative control)",
            series=series, x_label="epsilon (1/255)", y_label="sensitivity",
            x_ticks=[(v, f"{v:g}") for v in series[0].x])
