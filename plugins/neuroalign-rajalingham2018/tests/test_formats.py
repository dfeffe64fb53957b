"""Brain-Score's Rajalingham 2018 files converted to trials; bad files get clear errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from neuroalign.errors import SpecError
from neuroalign_majaj2015.formats import read_assembly, read_stimulus_csv
from neuroalign_rajalingham2018.formats import label_column, to_trials
from neuroalign_rajalingham2018.synthetic import layout


def test_a_brainio_file_becomes_the_metrics_trials(tiny_brainio):
    files = tiny_brainio()
    raw = read_assembly(files["assembly"])
    assert raw.dims == ("presentation",) and "image_id" in raw.coords  # legacy, flattened
    trials = to_trials(raw, read_stimulus_csv(files["stimuli_csv"])["stimulus_id"].to_numpy())
    assert list(trials.coords)[:4] == ["stimulus_id", "truth", "sample_obj", "dist_obj"]
    assert "image_id" not in trials.coords and "repetition" in trials.coords
    np.testing.assert_array_equal(trials["stimulus_id"].values, raw["image_id"].values)
    np.testing.assert_array_equal(trials.values, raw["choice"].values)


def test_truth_defaults_to_the_sample_object(tiny_brainio):
    raw = read_assembly(tiny_brainio()["assembly"]).drop_vars("truth")
    trials = to_trials(raw)
    np.testing.assert_array_equal(trials["truth"].values, raw["sample_obj"].values)


def test_bad_files_are_named(tiny_brainio):
    files = tiny_brainio()
    raw = read_assembly(files["assembly"])
    with pytest.raises(SpecError, match=r"no \['dist_obj'\] coord"):
        to_trials(raw.drop_vars("dist_obj"), source="x.nc")
    other = tiny_brainio(access="public")
    with pytest.raises(SpecError, match="not in its stimulus set"):
        to_trials(raw, read_stimulus_csv(other["stimuli_csv"])["stimulus_id"].to_numpy())
    with pytest.raises(SpecError, match="not a behavioral assembly"):
        to_trials(raw.expand_dims("neuroid"))
    with pytest.raises(SpecError, match="no column naming the object"):
        label_column(pd.DataFrame({"stimulus_id": ["a"], "filename": ["a.png"]}))


def test_full_scale_layout_is_the_real_datasets():
    assert layout("public", 1.0)["images"] == 2160 and layout("private", 1.0)["images"] == 240
    assert layout("private", 1.0)["trials_per_pair"] == 60
    assert layout("private", 0.06)["images"] == 96
    with pytest.raises(ValueError, match="scale must be in"):
        layout("private", 0.0)
