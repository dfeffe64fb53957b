"""Benchmark specs, synthetic layout and the generator's Brain-Score format."""

from __future__ import annotations

import pandas as pd
import pytest

from neuroalign_majaj2015.benchmarks import MajajHong2015Benchmark, benchmark_specs
from neuroalign_majaj2015.data import dataset_specs
from neuroalign_majaj2015.synthetic import layout


def test_benchmark_specs_match_brainscore():
    specs = {s.id: s for s in benchmark_specs()}
    assert sorted(specs) == ["MajajHong2015.IT-pls", "MajajHong2015.IT-ridge",
                             "MajajHong2015.V4-pls", "MajajHong2015.V4-ridge",
                             "MajajHong2015public.IT-pls", "MajajHong2015public.V4-pls"]
    public = {i: specs.pop(i) for i in list(specs) if i.startswith("MajajHong2015public.")}
    for spec in public.values():  # Brain-Score's public benchmarks: open data, no credentials
        assert spec.dataset == "MajajHong2015.public" and spec.metric == "pls"
        assert spec.parameters["selection_dataset"] == "MajajHong2015.public"
        assert spec.parameters["aggregate"] is False  # not part of region means
        assert spec.ceiling == "internal_consistency" and spec.visual_degrees == 8.0
        # version 2: the parity defaults changed the scores of version 1
        assert spec.version == 2 and spec.parameters["reported_features"] == "full"
        assert spec.parameters["preprocessing"] == "brainscore" and spec.parameters["clip"] is False
    assert public["MajajHong2015public.V4-pls"].region == "V4"
    for spec in specs.values():
        assert spec.version == 2 and spec.visual_degrees == 8.0 and spec.number_of_trials == 50
        assert spec.dataset == "MajajHong2015.private" and spec.ceiling == "internal_consistency"
        assert spec.parameters["selection_dataset"] == "MajajHong2015.public"
        assert spec.parameters["ceiling_mode"] == "explained_variance"
        # Brain-Score's defaults: full activations reported, Resize((s, s)), no clip
        assert spec.parameters["reported_features"] == "full"
        assert spec.parameters["preprocessing"] == "brainscore"
        assert spec.parameters["clip"] is False and spec.parameters["reduction"] == "pca"
    assert specs["MajajHong2015.IT-pls"].region == "IT"
    assert specs["MajajHong2015.V4-ridge"].metric == "ridge"


def test_full_scale_layout_is_the_real_datasets():
    public, private = layout("public", 1.0), layout("private", 1.0)
    assert public["images"] == 3200 and public["variations"] == (0, 3)
    assert private["images"] == 2560 and private["variations"] == (6,)
    assert public["trials"] == private["trials"] == 50
    small = layout("private", 0.06)
    # the 10 % test fold of a split stratified by object must hold every object
    assert small["images"] * 0.1 >= 8 * small["objects_per_category"]
    assert small["trials"] == 10
    with pytest.raises(ValueError, match="scale must be in"):
        layout("public", 2.0)


def test_generator_writes_brainscores_file_set(tmp_path, neuroalign_home):
    from neuroalign_majaj2015.formats import read_assembly, read_stimulus_csv
    from neuroalign_majaj2015.synthetic import generate

    spec = next(s for s in dataset_specs() if s.id == "MajajHong2015.private")
    files = generate(spec, tmp_path, seed=0, scale=0.06)
    assert {p.name for p in files.values()} == {
        "assy_dicarlo_MajajHong2015_private.nc", "image_dicarlo_hvm-private.csv",
        "image_dicarlo_hvm-private.zip"}
    raw = read_assembly(files["assembly"])
    assert raw.dims == ("neuroid", "presentation", "time_bin")
    assert raw.sizes["neuroid"] == 256 and raw.sizes["presentation"] == 160 * 10
    assert list(raw["time_bin_start"].values) == [70] and list(raw["time_bin_end"].values) == [170]
    regions = pd.Series(raw["region"].values).value_counts()
    assert regions["V4"] == 88 and regions["IT"] == 168
    csv = read_stimulus_csv(files["stimuli_csv"])
    assert {"stimulus_id", "object_name", "category_name", "variation", "filename", "ty", "tz",
            "s", "rxy", "rxz", "ryz", "background_id"} <= set(csv.columns)
    assert set(csv["variation"]) == {6} and csv["category_name"].nunique() == 8


def test_a_missing_region_is_named(monkeypatch):
    spec = next(s for s in benchmark_specs() if s.id == "MajajHong2015.IT-pls")
    benchmark = MajajHong2015Benchmark(spec.model_copy(update={"region": "V1"}))

    class Fake:
        sha256 = {}

        def load(self):
            import numpy as np
            import xarray as xr

            return xr.DataArray(np.zeros((2, 1)), dims=("presentation", "neuroid"),
                                coords={"region": ("neuroid", ["IT"])})

    monkeypatch.setattr("neuroalign.get_dataset", lambda identifier: Fake())
    with pytest.raises(ValueError, match="no 'V1' sites; its regions are \\['IT'\\]"):
        benchmark.load_split("reported")
