"""Image files that decode wrongly, stimulus archives that match ambiguously, damaged activation
caches (issue 10, items 4 and 10)."""

from __future__ import annotations

import io

import numpy as np
import pytest

import neuroalign
from neuroalign.errors import CacheWarning
from neuroalign.stimuli import StimulusError, decode_image, match_members, stack_images


def _png(array: np.ndarray, mode: str | None = None) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(array, mode=mode).save(buffer, format="PNG") if mode else \
        Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def test_a_16_bit_png_is_scaled_not_saturated():
    wide = (np.arange(64 * 64).reshape(64, 64) * 16).astype(np.uint16)  # 0 .. 65520
    pixels = decode_image(_png(wide), "ramp16.png")
    assert pixels.dtype == np.uint8 and pixels.shape == (64, 64)
    np.testing.assert_array_equal(pixels, np.round(wide / 257.0).astype(np.uint8))
    assert (pixels == 255).mean() < 0.01  # convert('L') made 99.6 % of them 255


def test_a_palette_png_is_expanded_through_its_palette():
    from PIL import Image

    image = Image.new("P", (4, 4))
    image.putpalette([v for c in range(256) for v in (c, 0, 255 - c)])
    image.putdata(list(range(16)))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    pixels = decode_image(buffer.getvalue(), "palette.png")
    assert pixels.shape == (4, 4, 3)
    np.testing.assert_array_equal(pixels[0, :3], [[0, 0, 255], [1, 0, 254], [2, 0, 253]])
    gray = Image.new("P", (2, 2))
    gray.putpalette([v for c in range(256) for v in (255 - c,) * 3])
    gray.putdata([0, 1, 2, 3])
    buffer = io.BytesIO()
    gray.save(buffer, format="PNG")
    np.testing.assert_array_equal(decode_image(buffer.getvalue(), "g.png"), [[255, 254], [253, 252]])


def test_float_and_undecodable_images_are_refused_naming_the_file():
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.ones((4, 4), dtype=np.float32)).save(buffer, format="TIFF")
    with pytest.raises(StimulusError, match=r"image 'float\.tif' has mode 'F'"):
        decode_image(buffer.getvalue(), "float.tif")
    with pytest.raises(StimulusError, match=r"cannot decode image 'broken\.png'"):
        decode_image(_png(np.zeros((4, 4), np.uint8))[:40], "broken.png")


def test_images_of_different_sizes_name_two_files():
    images = {"a.png": np.zeros((8, 8), np.uint8), "b.png": np.zeros((8, 8), np.uint8),
              "c.png": np.zeros((6, 8), np.uint8)}
    with pytest.raises(StimulusError, match=r"'a\.png' is 8x8 px but 'c\.png' is 8x6 px"):
        stack_images(images)
    mixed = stack_images({"g": np.zeros((2, 2), np.uint8), "c": np.ones((2, 2, 3), np.uint8)})
    assert mixed.shape == (2, 2, 2, 3)  # gray and colour together: all RGB


def test_a_base_name_matching_several_members_names_both():
    members = ["set/a/img1.png", "set/b/img1.png", "set/img2.png"]
    assert match_members(["img2.png", "set/a/img1.png"], members) == {
        "img2.png": "set/img2.png", "set/a/img1.png": "set/a/img1.png"}
    with pytest.raises(StimulusError, match=r"'set/a/img1\.png' and 'set/b/img1\.png'"):
        match_members(["img1.png"], members, archive="s.zip")
    with pytest.raises(StimulusError, match=r"'s\.zip' lacks 1 files .*'nope\.png'"):
        match_members(["nope.png"], members, archive="s.zip")


# ---------------------------------------------------------------- damaged activation caches


def test_a_damaged_activation_cache_file_is_discarded_and_recomputed(tmp_path):
    import torch

    from neuroalign.stimuli import StimulusSet
    from neuroalign.store.cache import home

    torch.manual_seed(0)
    module = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, stride=4), torch.nn.ReLU())
    model = neuroalign.Model.from_module(module, identifier="toy:cache", layers=("0", "1"))
    rng = np.random.default_rng(0)
    stimuli = StimulusSet.from_arrays("toy", [f"s{i}" for i in range(6)],
                                      rng.integers(0, 255, (6, 32, 32, 3), dtype=np.uint8), 8.0)
    first = model.activations(stimuli, ["0", "1"], reduction=None)
    files = sorted((home() / "activations").rglob("*.npz"))
    assert len(files) == 2
    files[0].write_bytes(b"PK\x03\x04 not really a zip file")  # BadZipFile
    files[1].write_bytes(files[1].read_bytes()[:100])  # truncated
    with pytest.warns(CacheWarning, match="discarded the damaged activation cache file") as caught:
        again = model.activations(stimuli, ["0", "1"], reduction=None)
    assert len([w for w in caught if w.category is CacheWarning]) == 2
    np.testing.assert_array_equal(again.values, first.values)
    assert all(f.stat().st_size > 1000 for f in files)  # rewritten
