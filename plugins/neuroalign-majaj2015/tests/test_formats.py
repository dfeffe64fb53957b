"""Brain-Score's formats: BrainIO assemblies and CSV + zip stimulus sets, read and converted."""

from __future__ import annotations

import zipfile

import netCDF4
import numpy as np
import pytest

from neuroalign.errors import AssetError, SpecError
from neuroalign_majaj2015.formats import (read_assembly, read_stimulus_csv, read_stimulus_set,
                                          to_neuroalign)


def test_assembly_file_has_brainios_flattened_layout(tiny_brainio):
    files = tiny_brainio()
    with netCDF4.Dataset(files["assembly"]) as nc:
        assert set(nc.variables["data"].dimensions) == {"neuroid", "presentation", "time_bin"}
        for name in ("neuroid_id", "region", "animal", "stimulus_id", "repetition",
                     "time_bin_start", "time_bin_end"):
            assert name in nc.variables  # each index level is a plain variable
        assert nc.variables["data"].filters()["zlib"]
    raw = read_assembly(files["assembly"])
    assert raw.dims == ("neuroid", "presentation", "time_bin") and raw.shape == (5, 24, 1)
    assert raw.attrs["stimulus_set_identifier"] == "dicarlo.hvm-public"


def test_conversion_keeps_repetitions_and_the_standard_coords(tiny_brainio):
    files = tiny_brainio(repetitions=4)
    raw = read_assembly(files["assembly"])
    data = to_neuroalign(raw, read_stimulus_csv(files["stimuli_csv"]))
    assert data.dims == ("presentation", "neuroid") and data.shape == (32, 5)
    for name in ("stimulus_id", "object_name", "category_name", "variation", "repetition"):
        assert data[name].dims == ("presentation",)
    for name in ("neuroid_id", "region", "animal", "arr"):
        assert data[name].dims == ("neuroid",)
    assert sorted(set(data["repetition"].values)) == [0, 1, 2, 3]
    assert list(data["region"].values) == ["V4", "V4", "IT", "IT", "IT"]
    np.testing.assert_allclose(data.values, raw.values[:, :, 0].T)
    # metadata came from the CSV, matched by stimulus id
    csv = read_stimulus_csv(files["stimuli_csv"]).set_index("stimulus_id")
    first = data["stimulus_id"].values[0]
    assert data["object_name"].values[0] == csv.loc[first, "object_name"]


def test_legacy_image_id_files_read_the_same(tiny_brainio):
    files = tiny_brainio(legacy=True)
    data = to_neuroalign(read_assembly(files["assembly"]), read_stimulus_csv(files["stimuli_csv"]))
    assert "stimulus_id" in data.coords and data.sizes["presentation"] == 24
    assert read_stimulus_csv(files["stimuli_csv"]).columns[0] == "stimulus_id"


def test_mean_rate_is_taken_over_the_bins_inside_70_170_ms(tiny_brainio):
    files = tiny_brainio(time_bins=((50, 70), (70, 120), (120, 170), (170, 220)))
    raw = read_assembly(files["assembly"])
    data = to_neuroalign(raw, read_stimulus_csv(files["stimuli_csv"]))
    np.testing.assert_allclose(data.values, raw.values[:, :, 1:3].mean(axis=2).T, rtol=1e-6)
    with pytest.raises(SpecError, match="no time bin lies inside"):
        to_neuroalign(raw, read_stimulus_csv(files["stimuli_csv"]), time_window=(300, 400))


def test_bad_assemblies_get_clear_errors(tiny_brainio):
    files = tiny_brainio()
    raw = read_assembly(files["assembly"])
    with pytest.raises(SpecError, match="no 'repetition' coord"):
        to_neuroalign(raw.drop_vars("repetition"), read_stimulus_csv(files["stimuli_csv"]))
    other = tiny_brainio(access="private")
    with pytest.raises(SpecError, match="not in its stimulus set"):
        to_neuroalign(raw, read_stimulus_csv(other["stimuli_csv"]))
    with pytest.raises(SpecError, match="no 'object_name'"):
        to_neuroalign(raw, None)


def test_stimulus_set_reads_gray_pngs_from_the_zip(tiny_brainio):
    files = tiny_brainio()
    stimuli = read_stimulus_set(files["stimuli_csv"], files["stimuli_zip"],
                                identifier="MajajHong2015.public", degrees=8.0)
    assert len(stimuli) == 8 and stimuli.image_shape == (16, 16, 1) and stimuli.degrees == 8.0
    assert set(stimuli.metadata.columns) >= {"stimulus_id", "object_name", "category_name",
                                             "variation"}
    with zipfile.ZipFile(files["stimuli_zip"]) as archive:
        names = archive.namelist()
    assert all("/" not in name for name in names)  # flat layout, as BrainIO packages them


def test_a_zip_missing_images_is_an_error(tiny_brainio, tmp_path):
    files = tiny_brainio()
    broken = tmp_path / "broken.zip"
    with zipfile.ZipFile(files["stimuli_zip"]) as source, zipfile.ZipFile(broken, "w") as target:
        for name in source.namelist()[1:]:
            target.writestr(name, source.read(name))
    with pytest.raises(AssetError, match="lacks 1 files"):
        read_stimulus_set(files["stimuli_csv"], broken, identifier="x", degrees=8.0)


def test_time_bin_average_is_the_nan_aware_weighted_mean_to_the_bit():
    """Several bins of unequal width, NaN bins and all-NaN trials, against the xarray
    expression the numpy code replaced."""
    import xarray as xr

    rng = np.random.default_rng(0)
    n, p, t = 6, 40, 3
    values = rng.normal(size=(n, p, t))
    values[rng.random(values.shape) < 0.2] = np.nan
    values[0, :3, :] = np.nan  # trials whose bins are all NaN stay NaN
    raw = xr.DataArray(values, dims=("neuroid", "presentation", "time_bin"), coords={
        "time_bin_start": ("time_bin", np.array([70, 90, 130])),
        "time_bin_end": ("time_bin", np.array([90, 130, 170])),
        "stimulus_id": ("presentation", np.array([f"s{i % 10}" for i in range(p)])),
        "repetition": ("presentation", np.arange(p) // 10),
        "object_name": ("presentation", np.array(["o"] * p)),
        "category_name": ("presentation", np.array(["c"] * p)),
        "variation": ("presentation", np.zeros(p, dtype=int)),
        "neuroid_id": ("neuroid", np.array([f"A_{i}" for i in range(n)])),
        "region": ("neuroid", np.array(["IT"] * n))})
    weights = xr.DataArray(np.array([20.0, 40.0, 40.0]) / 100.0, dims="time_bin")
    total = (raw.fillna(0.0) * weights).sum("time_bin")
    norm = (raw.notnull() * weights).sum("time_bin")
    expected = (total.where(norm > 0) / norm.where(norm > 0)).transpose("presentation", "neuroid")
    data = to_neuroalign(raw)
    np.testing.assert_array_equal(data.values, expected.values.astype(np.float32))
    assert np.isnan(data.values[:3, 0]).all()
    assert data.attrs["nan_values"] == int(np.isnan(expected.values).sum()) >= 3
