"""The Freeman-Ziemba assembly format: 1-ms bins, Brain-Score's 50-200 ms window, metadata."""

from __future__ import annotations

import numpy as np
import pytest

from neuroalign.errors import SpecError
from neuroalign_freemanziemba2013.formats import to_neuroalign
from neuroalign_majaj2015.formats import read_assembly, read_stimulus_csv


def test_mean_over_exactly_the_bins_50_to_199(tiny_brainio):
    files = tiny_brainio(repetitions=3)
    raw = read_assembly(files["assembly"])
    assert set(raw.dims) == {"neuroid", "time_bin", "presentation"}
    data = to_neuroalign(raw, read_stimulus_csv(files["stimuli_csv"]))
    assert data.dims == ("presentation", "neuroid") and data.shape == (18, 5)
    expected = raw.transpose("presentation", "neuroid", "time_bin").values[:, :, 50:200].mean(2)
    np.testing.assert_allclose(data.values, expected, rtol=1e-6)
    # not the whole trace: the window matters
    assert not np.allclose(data.values, raw.transpose("presentation", "neuroid",
                                                      "time_bin").values.mean(2))
    assert list(data["region"].values) == ["V1", "V1", "V2", "V2", "V2"]
    assert sorted(set(data["repetition"].values)) == [0, 1, 2]
    assert set(data["texture_type"].values) == {"noise", "texture"}
    assert data.attrs["time_window_ms"] == "50-200"


def test_missing_bins_are_named(tiny_brainio):
    files = tiny_brainio(bins=range(60, 300))
    with pytest.raises(SpecError, match=r"10 of them are missing \(e.g. \[\(50, 51\)"):
        to_neuroalign(read_assembly(files["assembly"]), read_stimulus_csv(files["stimuli_csv"]))


def test_legacy_image_id_and_foreign_stimuli(tiny_brainio):
    files = tiny_brainio(legacy=True)
    data = to_neuroalign(read_assembly(files["assembly"]), read_stimulus_csv(files["stimuli_csv"]))
    assert "stimulus_id" in data.coords and data.sizes["presentation"] == 24
    other = tiny_brainio(access="private")
    with pytest.raises(SpecError, match="not in the stimulus set"):
        to_neuroalign(read_assembly(files["assembly"]), read_stimulus_csv(other["stimuli_csv"]))
