"""Meta-tests (datasette style): every hook is documented with its exact signature and tested.

Each ``test_hook_<name>`` registers the example plugin on a fresh manager and asserts what that
hook registered.
"""

from __future__ import annotations

import inspect
import re
import sys
from pathlib import Path

import pytest

import neuroalign
import neuroalign_example.plugin
from neuroalign.plugins.manager import hookspecs
from neuroalign.plugins.manager import HOOKS

DOCS = Path(__file__).resolve().parents[1] / "docs" / "hooks.md"
SPECS = sorted(name for name in hookspecs.__all__ if name.startswith("register_"))


def signature(name: str) -> str:
    """``name(arg: Annotation) -> Return`` as written in the source (annotations are strings)."""
    sig = inspect.signature(getattr(hookspecs, name))
    args = ", ".join(f"{p.name}: {p.annotation}" for p in sig.parameters.values())
    return f"{name}({args}) -> {sig.return_annotation}"


def test_hookspecs_are_the_registry_hooks():
    assert SPECS == sorted(HOOKS)


@pytest.mark.parametrize("name", SPECS)
def test_hook_is_documented_with_its_exact_signature(name):
    headings = re.findall(r"^## `(.+)`$", DOCS.read_text(), flags=re.M)
    assert signature(name) in headings, f"docs/hooks.md lacks '## `{signature(name)}`'"


@pytest.mark.parametrize("name", SPECS)
def test_every_hook_has_a_test(name):
    assert callable(getattr(sys.modules[__name__], f"test_hook_{name}", None))


@pytest.fixture
def example(neuroalign_plugin_manager):
    neuroalign_plugin_manager.register(neuroalign_example.plugin, name="example",
                                       distribution="neuroalign-example")
    return neuroalign_plugin_manager.registry


def test_hook_register_models(example):
    spec = example.spec("model", "example:linear")
    assert isinstance(spec, neuroalign.ModelSpec)
    assert spec.region_layers == {"V4": "linear", "IT": "relu"}
    assert example.entry("model", "example:linear").distribution == "neuroalign-example"


def test_hook_register_datasets(example):
    spec = example.spec("dataset", "Example.toy")
    assert [a.name for a in spec.assets] == ["stimuli", "responses"]
    assert spec.synthetic == "neuroalign_example.synthetic:generate"


def test_hook_register_metrics(example):
    assert neuroalign.list_metrics("example_*") == ["example_corr"]
    assert neuroalign.list_ceilings("example_*") == ["example_split_half"]
    assert example.spec("metric", "example_corr").parameters == {"alpha": 1.0, "splits": 2, "seed": 0}


def test_hook_register_attacks(example):
    spec = example.spec("attack", "example_random_sign")
    assert (spec.norm, spec.parameters["epsilon"]) == ("linf", 8 / 255)


def test_hook_register_benchmarks(example):
    assert neuroalign.list_benchmarks("Example.*") == ["Example.IT-corr", "Example.V4-corr",
                                                       "Example.neural-mean"]
    spec = example.spec("benchmark", "Example.IT-corr")
    assert (spec.dataset, spec.metric, spec.ceiling, spec.region) == (
        "Example.toy", "example_corr", "example_split_half", "IT")
    assert example.spec("benchmark", "Example.neural-mean").kind == "composite"


def test_hook_register_aggregators(example):
    assert neuroalign.list_aggregators() == ["example_median", "mean", "meanrank", "zmean"]
    assert example.entry("aggregator", "mean").distribution == "neuroalign"
    assert example.entry("aggregator", "example_median").distribution == "neuroalign-example"


def test_hook_register_figures(example):
    spec = example.spec("figure", "example_v4_vs_it")
    assert isinstance(spec, neuroalign.FigureSpec)
    assert (spec.scope, spec.section, spec.benchmarks) == ("global", "Example", "Example.*")
    assert example.entry("figure", "example_v4_vs_it").distribution == "neuroalign-example"
    # the core's own figures come through the same hook
    assert example.entry("figure", "benchmark_bars").distribution == "neuroalign"
    assert {"benchmark_bars", "layer_profile", "region_scores", "metric_agreement",
            "ranking_comparison", "score_vs_imagenet"} <= set(example.ids("figure"))
