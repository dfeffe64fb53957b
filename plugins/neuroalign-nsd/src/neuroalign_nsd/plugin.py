"""Hooks of ``neuroalign-nsd``: the prepared NSD datasets and the ROI encoding benchmarks."""

from __future__ import annotations

from collections.abc import Callable

from neuroalign import BenchmarkSpec, DatasetSpec, FigureSpec, hookimpl


@hookimpl
def register_datasets(register: Callable[[DatasetSpec], None]) -> None:
    """Register ``NSD.shared515`` and ``NSD.subj01`` ... ``NSD.subj08``."""
    from .specs import dataset_specs

    for spec in dataset_specs():
        register(spec)


@hookimpl
def register_benchmarks(register: Callable[[BenchmarkSpec], None]) -> None:
    """Register ``NSD.{FFA,EBA,PPA,VWFA}-{ols,ridge,lasso,mlp,cnn}`` and the FGSM-sensitivity
    benchmarks ``NSD.{FFA,EBA,PPA,VWFA}-fgsm_sensitivity[_{ridge,lasso,mlp,cnn}]``."""
    from .specs import benchmark_specs, sensitivity_specs

    for spec in benchmark_specs() + sensitivity_specs():
        register(spec)


@hookimpl
def register_figures(register: Callable[[FigureSpec], None]) -> None:
    """Register ``nsd_sensitivity_curve``: sensitivity over epsilon on each sensitivity
    benchmark, with the shuffled control (paper 002 Fig. 3B)."""
    from .specs import figure_specs

    for spec in figure_specs():
        register(spec)
