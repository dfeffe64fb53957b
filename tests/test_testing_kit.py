"""The conformance kit on the example plugin, on deliberately broken plugins, and the fixtures."""

from __future__ import annotations

import os
import types

import fsspec
import pytest

import neuroalign
import neuroalign_example.plugin
from neuroalign import AggregatorSpec, BenchmarkSpec, MetricSpec, hookimpl
from neuroalign.testing import ConformanceError, check_plugin, checks_for, parametrize_with_checks


@parametrize_with_checks(neuroalign_example.plugin)
def test_kit_on_the_example_plugin(check):
    check()


def test_checks_are_named_like_scikit_learn():
    names = [c.name for c in checks_for(neuroalign_example.plugin)]
    assert "neuroalign_example-check_hookimpls_match_specs" in names
    assert "Example.V4-corr-check_spec_frozen" in names
    assert "example_corr-check_metric_shuffled_source" in names
    assert "example_split_half-check_ceiling_perfectly_reliable" in names
    assert "Example.toy-check_dataset_synthetic_loads" in names


def plugin(**hooks) -> types.ModuleType:
    """A plugin module whose hooks are the given functions (marked with @hookimpl)."""
    module = types.ModuleType("broken_plugin", "A deliberately broken plugin.")
    for name, function in hooks.items():
        function.__name__ = name
        setattr(module, name, hookimpl(function))
    return module


def run(module, check_name):
    (check,) = [c for c in checks_for(module) if c.name.endswith(check_name)]
    with pytest.raises(ConformanceError) as info:
        check()
    return str(info.value)


class ConstantMetric(neuroalign.Metric):
    """Scores every source 1.0: the shuffled-source check must catch it."""

    def __init__(self, spec):
        self.spec = spec

    def __call__(self, source, target):
        """Always 1."""
        return neuroalign.Score(value=1.0)


def test_a_metric_that_ignores_its_source_fails_the_shuffle_check(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "test_testing_kit", sys.modules[__name__])

    def register_metrics(register):
        """Register a metric."""
        register(MetricSpec(id="constant", factory="test_testing_kit:ConstantMetric"))

    message = run(plugin(register_metrics=register_metrics), "check_metric_shuffled_source")
    assert message == "Metric 'constant' should score a shuffled source about zero (|value| <= 0.2). Found 1.0000"


def test_a_hook_that_reads_a_file_fails_the_no_io_check(tmp_path):
    path = tmp_path / "ids.txt"
    path.write_text("Lab.IT-x")

    def register_benchmarks(register):
        """Register benchmarks listed in a file (not allowed: registration must be cheap)."""
        register(BenchmarkSpec(id=open(path).read(), factory="m:f"))

    message = run(plugin(register_benchmarks=register_benchmarks), "check_registration_no_io")
    assert message.startswith("Plugin 'broken_plugin' (while registering) should do no I/O. "
                              "Found builtins.open(PosixPath(")


def test_wrong_types_return_values_and_unknown_hooks_are_reported():
    def register_models(register):
        """Registers a metric from the model hook."""
        register(MetricSpec(id="pls", factory="m:f"))

    assert run(plugin(register_models=register_models), "check_hookimpls_match_specs") == (
        "Plugin 'broken_plugin' should register ModelSpec objects from 'register_models'. "
        "Found MetricSpec: " + repr(MetricSpec(id="pls", factory="m:f")))

    def register_aggregators(register):
        """Returns instead of registering."""
        return [AggregatorSpec(id="x", factory="m:f")]

    assert "should return None from 'register_aggregators' (call register instead). Found [" in run(
        plugin(register_aggregators=register_aggregators), "check_hookimpls_match_specs")

    def register_model(register):
        """Misspelt."""

    assert run(plugin(register_model=register_model), "check_hookimpls_match_specs").endswith(
        "Found 'register_model' (did you mean 'register_models'?)")


class Undocumented:
    def __init__(self, spec):
        self.spec = spec


def test_undocumented_factory_fails_the_documentation_check(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "test_testing_kit", sys.modules[__name__])

    def register_aggregators(register):
        """Register an undocumented aggregator."""
        register(AggregatorSpec(id="undocumented", factory="test_testing_kit:Undocumented"))

    message = run(plugin(register_aggregators=register_aggregators), "check_factory_documented")
    assert message.startswith("Aggregator 'undocumented' should have a documented factory")


def test_check_plugin_runs_everything_outside_pytest():
    assert check_plugin(neuroalign_example.plugin) == []  # nothing skipped, nothing failed


def test_models_are_built_by_default_and_opting_out_is_explicit():
    model_checks = {"Example.IT-corr-check_benchmark_deterministic",
                    "Example.V4-corr-check_benchmark_deterministic",
                    "Example.neural-mean-check_benchmark_deterministic",
                    "example:linear-check_runtime_pickles",
                    "example:linear-check_model_forward"}
    default = {c.name for c in checks_for(neuroalign_example.plugin)}
    opted_out = {c.name for c in checks_for(neuroalign_example.plugin, build_models=False)}
    assert model_checks <= default
    assert not opted_out & model_checks and default - opted_out == model_checks


def test_a_model_committing_a_layer_that_does_not_exist_fails_by_default():
    torch = pytest.importorskip("torch")
    import sys

    from neuroalign import ModelSpec

    module = types.ModuleType("kit_models", "Models for the forward check.")

    def build(spec):
        """A two-layer network; ``block5`` does not exist."""
        net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.Flatten())
        return neuroalign.Model.from_module(net, identifier=spec.id, layers=list(spec.layers))

    module.build = build
    sys.modules["kit_models"] = module
    try:
        def register_models(register):
            """A model whose IT commitment names a missing layer."""
            register(ModelSpec(id="kit:bad", factory="kit_models:build", layers=("0",),
                               region_layers={"IT": "block5"}, parameters={"pretrained": True}))
            register(ModelSpec(id="kit:good", factory="kit_models:build", layers=("0", "1"),
                               region_layers={"IT": "1"}, parameters={"pretrained": True}))

        broken = plugin(register_models=register_models)
        message = run(broken, "kit:bad-check_model_forward")
        assert message.startswith("Model 'kit:bad' should run forward on 2 stimuli")
        assert "block5" in message
        (good,) = [c for c in checks_for(broken) if c.name == "kit:good-check_model_forward"]
        good()  # built with pretrained=False, all layers present
        assert not [c for c in checks_for(broken, build_models=False) if "forward" in c.name]
    finally:
        del sys.modules["kit_models"]


def test_memory_fs_fixture_starts_and_ends_empty(neuroalign_memory_fs):
    assert neuroalign_memory_fs.ls("/") == []
    with fsspec.open("memory://bucket/file.txt", "w") as handle:
        handle.write("x")
    assert neuroalign_memory_fs.cat("memory://bucket/file.txt") == b"x"


def test_memory_fs_fixture_was_cleaned(neuroalign_memory_fs):
    assert not neuroalign_memory_fs.exists("memory://bucket/file.txt")


def test_home_fixture(neuroalign_home):
    assert os.environ["NEUROALIGN_HOME"] == str(neuroalign_home) and neuroalign_home.is_dir()


def test_synthetic_store_fixture_serves_the_example_dataset(neuroalign_plugin_manager, neuroalign_synthetic_store):
    neuroalign_plugin_manager.register(neuroalign_example.plugin, name="example")
    store = neuroalign_synthetic_store(neuroalign.get_spec("dataset", "Example.toy"))
    assert os.environ["NEUROALIGN_STORE"] == str(store)
    responses = neuroalign.get_dataset("Example.toy").load()
    assert responses.dims == ("presentation", "neuroid")
    assert responses.sizes == {"presentation": 16 * 4, "neuroid": 16}  # scale 0.25 -> 16 images
