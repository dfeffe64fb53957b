"""The Majaj loader never turns NaN into 0 and never mis-reads images (issue 10, items 3, 4)."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pandas as pd
import pytest

from neuroalign.errors import AssetError, SpecError
from neuroalign_majaj2015.formats import (read_assembly, read_stimulus_csv, read_stimulus_set,
                                          to_neuroalign)


def test_nan_trials_stay_nan_not_zero(tiny_brainio):
    files = tiny_brainio(time_bins=((70, 120), (120, 170)))
    meta = read_stimulus_csv(files["stimuli_csv"])
    raw = read_assembly(files["assembly"])
    values = raw.values.copy()
    values[0, :4, :] = np.nan  # neuroid 0, presentations 0-3: both bins NaN
    values[1, :4, 0] = np.nan  # neuroid 1, presentations 0-3: one bin NaN
    converted = to_neuroalign(raw.copy(data=values), meta)
    data = converted.transpose("presentation", "neuroid").values
    assert converted.attrs["nan_values"] == 4
    assert np.isnan(data[:4, 0]).all() and (data[:4, 0] != 0).all()
    # one NaN bin: the mean of the valid bin (bins of equal width)
    np.testing.assert_allclose(data[:4, 1], values[1, :4, 1], rtol=1e-6)
    assert np.isfinite(data[4:]).all()
    with pytest.raises(SpecError, match=r"every value in the \(70.0, 170.0\) ms window is NaN"):
        to_neuroalign(raw.copy(data=np.full(values.shape, np.nan)), meta)


def _rewrite_zip(files, tmp_path, images):
    frame = pd.read_csv(files["stimuli_csv"])
    target = tmp_path / "hostile.zip"
    with zipfile.ZipFile(target, "w") as archive:
        for name in frame["filename"]:
            archive.writestr(f"top/{name}", images(name))
    return frame, target


def _png(array):
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def test_16_bit_pngs_are_scaled(tiny_brainio, tmp_path):
    files = tiny_brainio()
    wide = (np.arange(16 * 16).reshape(16, 16) * 250).astype(np.uint16)
    frame, archive = _rewrite_zip(files, tmp_path, lambda name: _png(wide))
    stimuli = read_stimulus_set(files["stimuli_csv"], archive, identifier="x", degrees=8.0)
    pixels = stimuli.images()
    assert pixels.shape == (len(frame), 16, 16, 1)
    np.testing.assert_array_equal(pixels[0, ..., 0], np.round(wide / 257.0).astype(np.uint8))


def test_mixed_sizes_and_ambiguous_names_are_errors_naming_files(tiny_brainio, tmp_path):
    files = tiny_brainio()
    frame = pd.read_csv(files["stimuli_csv"])
    first, second = frame["filename"][0], frame["filename"][1]
    sizes = {first: 16, second: 12}
    _, archive = _rewrite_zip(files, tmp_path, lambda n: _png(np.zeros((sizes.get(n, 16),) * 2,
                                                                        np.uint8)))
    with pytest.raises(AssetError, match=f"{first!r} is 16x16 px but {second!r} is 12x12 px"):
        read_stimulus_set(files["stimuli_csv"], archive, identifier="x", degrees=8.0)
    ambiguous = tmp_path / "ambiguous.zip"
    with zipfile.ZipFile(ambiguous, "w") as target:
        for name in frame["filename"]:
            target.writestr(f"a/{name}", _png(np.zeros((16, 16), np.uint8)))
        target.writestr(f"b/{first}", _png(np.full((16, 16), 255, np.uint8)))
    with pytest.raises(AssetError, match=f"'a/{first}' and 'b/{first}'"):
        read_stimulus_set(files["stimuli_csv"], ambiguous, identifier="x", degrees=8.0)
