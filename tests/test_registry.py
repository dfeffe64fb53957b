"""The registry API: lookups, errors with closest matches, fnmatch listing, model tags."""

from __future__ import annotations

import pytest

import neuroalign
from neuroalign import (BenchmarkSpec, DatasetSpec, DuplicateIdError, MetricSpec, ModelSpec,
                        SpecError, UnknownIdError)
from neuroalign.plugins.registry import Registry


class Plugin:
    @neuroalign.hookimpl
    def register_models(self, register):
        register(ModelSpec(id="lab:net", factory="m:f", accepts_tags=True, parameters={"depth": 2}))
        register(ModelSpec(id="lab:fixed", factory="m:f"))

    @neuroalign.hookimpl
    def register_metrics(self, register):
        register(MetricSpec(id="pls", factory="m:f"))
        register(MetricSpec(id="split_half", factory="m:f", kind="ceiling"))

    @neuroalign.hookimpl
    def register_benchmarks(self, register):
        for region in ("V4", "IT"):
            register(BenchmarkSpec(id=f"MajajHong2015.{region}-pls", factory="m:f", region=region))
        register(BenchmarkSpec(id="Rajalingham2018.behavior-i2n", factory="m:f", region="behavior"))


@pytest.fixture
def manager(neuroalign_plugin_manager):
    neuroalign_plugin_manager.register(Plugin(), name="lab", distribution="neuroalign-lab", version="2.0")
    return neuroalign_plugin_manager


def test_unknown_id_lists_closest_matches_and_the_list_command(manager):
    with pytest.raises(UnknownIdError) as info:
        neuroalign.get_benchmark("MajajHong2015.IT-pl")
    assert str(info.value) == (
        "unknown benchmark 'MajajHong2015.IT-pl'; did you mean 'MajajHong2015.IT-pls' or "
        "'MajajHong2015.V4-pls'? (list the valid ids with: neuroalign list benchmarks)")
    assert info.value.matches == ["MajajHong2015.IT-pls", "MajajHong2015.V4-pls"]
    with pytest.raises(UnknownIdError, match=r"^unknown model 'zzz:qqq' \(list the valid ids"):
        neuroalign.get_model("zzz:qqq")


def test_list_functions_take_fnmatch_patterns(manager):
    assert neuroalign.list_benchmarks("MajajHong2015.*") == ["MajajHong2015.IT-pls", "MajajHong2015.V4-pls"]
    assert neuroalign.list_benchmarks("*-i2n") == ["Rajalingham2018.behavior-i2n"]
    assert neuroalign.list_benchmarks("majaj*") == []  # case-sensitive, like timm
    assert neuroalign.list_metrics() == ["pls"]
    assert neuroalign.list_ceilings("split*") == ["split_half"]
    assert neuroalign.list_aggregators() == ["mean", "meanrank", "zmean"]


def test_model_tags_resolve_only_when_the_spec_accepts_them(manager):
    tagged = manager.registry.entry("model", "lab:net.a1_in1k")
    assert tagged.spec.id == "lab:net.a1_in1k"
    assert tagged.spec.parameters == {"depth": 2, "tag": "a1_in1k"}
    assert tagged.distribution == "neuroalign-lab"
    with pytest.raises(UnknownIdError, match="unknown model 'lab:fixed.v2'"):
        manager.registry.entry("model", "lab:fixed.v2")


def test_entries_record_distribution_and_version(manager):
    entry = manager.registry.entry("metric", "pls")
    assert (entry.distribution, entry.version, entry.plugin) == ("neuroalign-lab", "2.0", "lab")


def test_metric_and_ceiling_getters_refuse_each_other(manager):
    with pytest.raises(SpecError, match=r"'split_half' is a ceiling; use neuroalign.get_ceiling\('split_half'\)"):
        neuroalign.get_metric("split_half")
    with pytest.raises(SpecError, match=r"use neuroalign.get_metric\('pls'\) instead of get_ceiling"):
        neuroalign.get_ceiling("pls")


def test_registry_add_checks_type_and_duplicates():
    registry = Registry()
    with pytest.raises(SpecError, match="a benchmark needs a BenchmarkSpec; found DatasetSpec"):
        registry.add("benchmark", DatasetSpec(id="A.b", factory="m:f"), distribution="d")
    registry.add("dataset", DatasetSpec(id="A.b", factory="m:f"), distribution="neuroalign-one")
    with pytest.raises(DuplicateIdError, match="'A.b' is registered by both 'neuroalign-one' and 'neuroalign-two'"):
        registry.add("dataset", DatasetSpec(id="A.b", factory="m:f"), distribution="neuroalign-two")
    with pytest.raises(SpecError, match=r"unknown registry kind 'widget'; valid kinds are \['model'"):
        registry.ids("widget")


def test_duplicate_within_one_plugin_is_refused(neuroalign_plugin_manager):
    class Twice:
        @neuroalign.hookimpl
        def register_metrics(self, register):
            register(MetricSpec(id="pls", factory="m:f"))
            register(MetricSpec(id="pls", factory="m:g"))

    neuroalign_plugin_manager.register(Twice(), name="twice", distribution="neuroalign-twice")
    with pytest.warns(neuroalign.PluginLoadWarning, match="metric 'pls' is registered twice by 'neuroalign-twice'"):
        assert neuroalign.list_metrics() == []


def test_build_sets_the_spec_and_applies_parameter_overrides(neuroalign_plugin_manager):
    aggregator = neuroalign.get_aggregator("mean", parameters={"missing": "skip"})
    assert aggregator.spec.parameters == {"missing": "skip"}
    assert aggregator.missing == "skip"
