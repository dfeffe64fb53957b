"""Brain-Score parity of extraction: full activations in Gram form, Resize((s, s)) input."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

import neuroalign
from neuroalign.extraction.extract import place
from neuroalign.extraction.gram import BlockFile, embedding_from_gram, gram_of_blocks
from neuroalign.specs import Preprocessing
from neuroalign.stimuli import StimulusSet


def _model():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(),
                        nn.Conv2d(8, 16, 3, stride=2, padding=1), nn.ReLU())
    return neuroalign.Model.from_module(net, identifier="custom:parity",
                                        preprocessing={"input_size": 24})


def _stimuli(n=40, seed=0):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 255, (n, 24, 24, 3), dtype=np.uint8)
    return StimulusSet.from_arrays("parity", [f"s{i:03d}" for i in range(n)], images, 8.0)


def test_block_file_round_trips_and_its_gram_is_exact(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((13, 101)).astype(np.float32)
    with BlockFile(tmp_path / "b.f32", 13, 101, block_features=17) as blocks:
        for start in range(0, 13, 5):
            blocks.write(start, x[start:start + 5])
        assert blocks.n_blocks == 6
        np.testing.assert_array_equal(blocks.read(2), x[:, 34:51])
        gram = gram_of_blocks(blocks)
    xc = x.astype(np.float64) - x.astype(np.float64).mean(axis=0)
    np.testing.assert_allclose(gram, xc @ xc.T, rtol=1e-12, atol=1e-10)
    assert not (tmp_path / "b.f32").exists()  # scratch removed on close
    embedding = embedding_from_gram(gram)
    assert embedding.shape == (13, 12)  # centred: rank n - 1
    np.testing.assert_allclose(embedding @ embedding.T, gram, atol=1e-9)


def test_gram_reduction_preserves_the_full_layer_geometry(neuroalign_home):
    model, stimuli = _model(), _stimuli()
    full = model.activations(stimuli, ["2"], reduction=None, cache=False)
    gram = model.activations(stimuli, ["2"], reduction="gram")
    assert full.shape == (40, 16 * 12 * 12) and gram.shape[0] == 40 and gram.shape[1] <= 40
    assert gram.attrs["reduction"] == "gram" and gram.attrs["full_features"] == {"2": 2304}
    x = full.values.astype(np.float64)
    x -= x.mean(axis=0)
    np.testing.assert_allclose(gram.values @ gram.values.T, x @ x.T, rtol=1e-9, atol=1e-6)
    again = model.activations(stimuli, ["2"], reduction="gram")  # served from the cache
    assert again.attrs["cached_layers"] == ["2"]
    np.testing.assert_array_equal(again.values, gram.values)


@pytest.mark.parametrize("metric", ["pls", "ridge"])
def test_full_activation_score_equals_in_memory_score(metric, neuroalign_home):
    import xarray as xr

    model, stimuli = _model(), _stimuli(n=60)
    full = model.activations(stimuli, ["2"], reduction=None, cache=False)
    gram = model.activations(stimuli, ["2"], reduction="gram", cache=False)
    rng = np.random.default_rng(2)
    x = full.values.astype(np.float64)
    y = (x - x.mean(0)) @ rng.standard_normal((x.shape[1], 5)) / 30 + rng.standard_normal((60, 5))
    target = xr.DataArray(y, dims=("presentation", "neuroid"), coords={
        "stimulus_id": ("presentation", stimuli.ids),
        "object_name": ("presentation", [f"o{i % 3}" for i in range(60)]),
        "neuroid_id": ("neuroid", [f"n{i}" for i in range(5)])})
    scorer = neuroalign.get_metric(metric)
    assert scorer.rotation_invariant
    assert scorer(gram, target).value == pytest.approx(scorer(full, target).value, abs=1e-6)


def test_square_resize_is_brainscores_rule():
    """Resize((s, s)) with no centre crop: a non-square image is squashed, nothing is cut."""
    image = np.zeros((1, 40, 80, 3), dtype=np.uint8)
    image[:, :, :8] = 255  # a white band on the far left
    crop = Preprocessing(input_size=20, crop_pct=0.875, mean=(0, 0, 0), std=(1, 1, 1))
    square = crop.model_copy(update={"resize": "square"})
    kept = place(image, image_degrees=8, model_degrees=8, preprocessing=square)
    cut = place(image, image_degrees=8, model_degrees=8, preprocessing=crop)
    assert kept.shape == cut.shape == (1, 3, 20, 20)
    assert float(kept[0, 0, :, 0].mean()) > 0.9  # the band survives at the left edge
    assert float(cut[0, 0, :, 0].mean()) < 0.1  # timm's crop cut it away
    # square images: Resize((s, s)) equals a resize with crop_pct = 1
    sq = np.random.default_rng(0).integers(0, 255, (2, 48, 48, 3), dtype=np.uint8)
    torch.testing.assert_close(
        place(sq, image_degrees=8, model_degrees=8, preprocessing=square),
        place(sq, image_degrees=8, model_degrees=8,
              preprocessing=crop.model_copy(update={"crop_pct": 1.0})))


def test_with_preprocessing_is_a_view_with_its_own_cache_key():
    model = _model()
    view = model.with_preprocessing(model.preprocessing.model_copy(update={"resize": "square"}))
    assert view.module() is model.module() and view.preprocessing.resize == "square"
    assert model.preprocessing.resize == "shorter_side"
    from neuroalign.extraction.extract import _model_payload

    assert _model_payload(view) != _model_payload(model)
