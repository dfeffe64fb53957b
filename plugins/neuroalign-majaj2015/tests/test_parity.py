"""Brain-Score parity of the whole Majaj pipeline (full activations, input rule, NaN, clip)."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import neuroalign
from neuroalign_majaj2015.data import dataset_specs


@pytest.fixture
def store(neuroalign_synthetic_store):
    return neuroalign_synthetic_store(*dataset_specs(), scale=0.06)


def _model():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 5, stride=2), torch.nn.ReLU(),
                              torch.nn.Conv2d(8, 16, 3, stride=2), torch.nn.ReLU(),
                              torch.nn.AdaptiveAvgPool2d(2))
    return neuroalign.Model.from_module(
        net, identifier="custom:majaj-parity", layers=("1", "3", "4"),
        preprocessing={"input_size": 32, "crop_pct": 0.875, "interpolation": "bicubic"})


def _benchmark(**parameters):
    benchmark = neuroalign.get_benchmark("MajajHong2015.IT-pls")
    if parameters:
        benchmark.spec = benchmark.spec.model_copy(
            update={"parameters": {**benchmark.spec.parameters, **parameters}})
    return benchmark


def test_reported_score_uses_full_activations_like_brainscore(store):
    model = _model()
    score = _benchmark()(model)
    assert score.attrs["layer_policy"] == "selected" and score.attrs["reported_features"] == "full"
    assert score.attrs["reported_reduction"] == "gram"
    assert score.attrs["preprocessing"]["rule"] == "brainscore"
    assert score.attrs["preprocessing"]["resize"] == "square"
    # the same number from the raw, in-memory full activations of the chosen layer
    benchmark = _benchmark()
    reported = benchmark.split("reported")
    view = model.with_preprocessing(model.preprocessing.model_copy(
        update={"resize": "square", "crop_pct": 1.0, "interpolation": "bilinear"}))
    full = view.activations(reported.stimuli, [score.layer], visual_degrees=8.0,
                            reduction=None, cache=False)
    raw = neuroalign.get_metric("pls")(full, reported.target)
    assert score.raw == pytest.approx(raw.value, abs=1e-6)
    # the old behaviour stays available as options, and differs
    reduced = _benchmark(reported_features="reduced")(model, layers=[score.layer])
    assert reduced.attrs["reported_reduction"] == "pca"
    timm_crop = _benchmark(preprocessing="model")(model, layers=[score.layer])
    assert timm_crop.attrs["preprocessing"]["crop_pct"] == 0.875
    assert timm_crop.raw != pytest.approx(score.raw, abs=1e-9)


def test_ceiled_score_is_not_clipped_unless_asked(store):
    model = _model()
    score = _benchmark(ceiling_mode="ratio")(model, layers=["3"])
    assert score.attrs["clip"] is False and score.value == pytest.approx(score.raw / score.ceiling)
    clipped = _benchmark(ceiling_mode="ratio", clip=True)(model, layers=["3"])
    assert clipped.attrs["clip"] is True and 0.0 <= clipped.value <= 1.0


def test_nan_trials_are_averaged_out_and_counted(store, monkeypatch):
    from neuroalign_neural.benchmark import average_repetitions

    benchmark = _benchmark()
    split = benchmark.split("reported")
    values = split.repetitions.values.copy()
    rng = np.random.default_rng(0)
    values[rng.random(values.shape) < 0.02] = np.nan
    holed = split.repetitions.copy(data=values)
    target = average_repetitions(holed)
    assert target.attrs["nan_trials"] == int(np.isnan(values).sum())
    assert not np.isnan(target.values).any()  # every stimulus keeps finite trials
    ids = holed["stimulus_id"].values
    first = ids[0]
    expected = np.nanmean(values[ids == first].astype(np.float64), axis=0)
    row = list(target["stimulus_id"].values).index(first)
    np.testing.assert_allclose(target.values[row], expected, rtol=1e-12)


def test_v4_and_it_scored_together_read_the_reported_images_once(store, tmp_path, monkeypatch):
    """Scored in one call, V4 and IT select their layers first, then one pass over the private
    images extracts both chosen layers; the scores are those of scoring each alone."""
    from neuroalign.extraction import extract

    ids = ["MajajHong2015.V4-pls", "MajajHong2015.IT-pls"]
    monkeypatch.setenv("NEUROALIGN_HOME", str(tmp_path / "alone"))
    model = "synthetic:groundtruth"  # the store's generator: V4 and IT map to different layers
    alone = {b: neuroalign.score(model, b, results=False) for b in ids}
    passes = []
    original = extract._stream

    def recording(model, module, n, images, stimulus_ids, **kwargs):
        if n > 1:
            passes.append((stimulus_ids(0), n, tuple(kwargs["layers"])))
        return original(model, module, n, images, stimulus_ids, **kwargs)

    monkeypatch.setattr(extract, "_stream", recording)
    monkeypatch.setenv("NEUROALIGN_HOME", str(tmp_path / "together"))
    together = neuroalign.score(model, ids, results=False)
    layers = {b: together[b].layer for b in ids}
    assert layers == {b: alone[b].layer for b in ids}
    assert layers[ids[0]] != layers[ids[1]]  # the case worth sharing
    for b in ids:
        assert together[b].value == pytest.approx(alone[b].value, abs=1e-12)
        assert together[b].layers == pytest.approx(alone[b].layers, abs=1e-12)
    reported = _benchmark().split("reported").stimuli
    over_reported = [p for p in passes if p[1] == len(reported) and p[0] == reported.ids[0]]
    assert over_reported == [(reported.ids[0], len(reported), tuple(sorted(layers.values())))] \
        or over_reported == [(reported.ids[0], len(reported), tuple(layers.values()))]
