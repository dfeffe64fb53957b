"""Specs are frozen, strict and JSON round-trippable; Scores round-trip losslessly."""

from __future__ import annotations

import math

import pytest
from pydantic import ValidationError

from neuroalign import (AggregatorSpec, AssetSpec, BenchmarkSpec, DatasetSpec, ModelSpec, Score,
                        SpecError)
from neuroalign.specs import resolve_factory


def test_specs_are_frozen_and_reject_unknown_fields():
    spec = BenchmarkSpec(id="Fam.IT-pls", factory="pkg.mod:Bench")
    with pytest.raises(ValidationError, match="frozen"):
        spec.version = 2
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        BenchmarkSpec(id="Fam.IT-pls", factory="pkg.mod:Bench", colour="red")


@pytest.mark.parametrize("cls, bad, form", [
    (BenchmarkSpec, "MajajHong2015_IT", "Family.Region-metric"),
    (ModelSpec, "resnet50", "source:name"),
    (DatasetSpec, "majaj", "Family.name"),
    (AggregatorSpec, "Mean", "lower_snake_case"),
])
def test_ids_must_have_the_documented_form(cls, bad, form):
    with pytest.raises(ValidationError) as info:
        cls(id=bad, factory="pkg.mod:Thing")
    assert repr(bad) in str(info.value) and form in str(info.value)


def test_factory_must_be_an_import_path_and_names_itself_when_missing():
    with pytest.raises(ValidationError, match="must be an import path"):
        AggregatorSpec(id="x", factory="not a path")
    with pytest.raises(SpecError, match=r"factory 'no_such_module:thing' cannot be imported"):
        resolve_factory("no_such_module:thing")


def test_remote_assets_need_a_sha256_and_an_allowed_scheme():
    with pytest.raises(ValidationError, match="is remote and needs a sha256"):
        AssetSpec(name="a", url="https://example.org/a.nc")
    with pytest.raises(ValidationError, match="scheme 'ftp'"):
        AssetSpec(name="a", url="ftp://example.org/a.nc", sha256="0" * 64)
    assert AssetSpec(name="a", url="memory://x/a.nc").sha256 is None


def test_model_regions_are_checked_and_parameters_overridden():
    with pytest.raises(ValidationError, match=r"unknown region\(s\) \['V3'\]"):
        ModelSpec(id="lab:net", factory="m:f", region_layers={"V3": "layer1"})
    spec = ModelSpec(id="lab:net", factory="m:f", parameters={"a": 1})
    assert spec.with_parameters({"b": 2}).parameters == {"a": 1, "b": 2}
    assert spec.parameters == {"a": 1}


def test_spec_json_roundtrip():
    spec = DatasetSpec(id="Fam.data", factory="m:f", assets=(AssetSpec(name="a", url="memory://a.nc"),),
                       synthetic="m:generate")
    assert DatasetSpec.model_validate_json(spec.model_dump_json()) == spec


def test_score_json_roundtrip_is_lossless_with_nan_and_infinity():
    score = Score(value=0.5, raw=math.nan, ceiling=math.inf, error=0.01, splits=[0.4, 0.6],
                  layers={"a": 0.1}, children={"x": Score(value=-math.inf)}, attrs={"k": [1, 2]})
    again = Score.from_json(score.to_json())
    assert math.isnan(again.raw) and again.ceiling == math.inf
    assert again.children["x"].value == -math.inf
    assert again.splits == [0.4, 0.6] and again.attrs == {"k": [1, 2]}
    assert [path for path, _ in score.walk()] == ["", "x"]


@pytest.mark.parametrize("identifier", ["MajajHong2015.IT-pls", "Fam.IT", "Rajalingham2018-i2n",
                                        "Brain-Score2018", "Brain-Score2018.V4-mean"])
def test_benchmark_ids_include_brainscores_dotless_form(identifier):
    assert BenchmarkSpec(id=identifier, factory="pkg.mod:Bench").id == identifier


@pytest.mark.parametrize("identifier", ["MajajHong2015_IT", "Foo", "A-b-c", "a.b.c", "-x.y"])
def test_benchmark_ids_need_a_dot_or_one_dash(identifier):
    with pytest.raises(ValidationError, match="Family.Region-metric"):
        BenchmarkSpec(id=identifier, factory="pkg.mod:Bench")
