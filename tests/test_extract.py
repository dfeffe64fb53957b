"""Extraction: hooks, placement, cache, streaming reduction, reference set, error messages."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

import neuroalign
from neuroalign.extraction.extract import GRAY, ExtractionError, place, split_layers
from neuroalign.specs import Preprocessing
from neuroalign.extraction.reduction import (
    REFERENCE_PREFIX,
    PCAFitter,
    Reduction,
    reference_images,
    reference_stimuli,
    sparse_projection,
)
from neuroalign.stimuli import StimulusSet

SMALL_PCA = Reduction(method="pca", n_components=8, sketch_dim=64, reference_size=24)


class Tiny(nn.Module):
    """conv1 is followed by an in-place ReLU: a hook must copy conv1's output before it."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 4, 3, padding=1)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(4, 6, 3, stride=2, padding=1)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(6, 3)

    def forward(self, x):
        x = self.conv2(self.relu(self.conv1(x)))
        return self.fc(self.pool(x).flatten(1))


class Broken(Tiny):
    def forward(self, x):
        raise RuntimeError("boom")


class NaNForBright(Tiny):
    """Produces NaN in conv2 for images whose mean input is high."""

    def forward(self, x):
        y = self.conv2(self.relu(self.conv1(x)))
        bright = x.mean(dim=(1, 2, 3)) > 1.0
        return self.fc(self.pool(y).flatten(1)) if not bool(bright.any()) else self._nan(y, bright)

    def _nan(self, y, bright):
        y = y.clone()
        y[bright] = float("nan")
        return self.fc(self.pool(self.relu(self.pool(y))).flatten(1))


@pytest.fixture(autouse=True)
def _home(tmp_path, monkeypatch):
    monkeypatch.setenv("NEUROALIGN_HOME", str(tmp_path / "home"))
    torch.manual_seed(0)


def stimuli(n=7, size=16, seed=1, degrees=8.0):
    images = np.random.default_rng(seed).integers(0, 256, (n, size, size, 3), dtype=np.uint8)
    return StimulusSet.from_arrays("T.s", [f"s{i}" for i in range(n)], images, degrees,
                                   category=["a", "b", "c", "d", "e", "f", "g"][:n])


def model_of(module=None, **kw):
    kw.setdefault("preprocessing", {"input_size": 16})
    model = neuroalign.Model.from_module(module or Tiny(), **kw)
    model.device, model.batch_size = "cpu", 3
    return model


def cache_files(tmp_path):
    return sorted(p.name for p in (tmp_path / "home").rglob("*") if p.is_file())


# ----------------------------------------------------------------------------- hooks


def test_hooks_capture_the_same_tensors_as_a_manual_forward():
    model, data = model_of(), stimuli()
    out = model.activations(data, ["conv1", "conv2", "fc"], reduction=None)
    x = model.preprocess(data.images())
    with torch.no_grad():
        conv1 = model.module().conv1(x)
        conv2 = model.module().conv2(torch.relu(conv1))
        fc = model.module()(x)
    parts = split_layers(out)
    assert list(parts) == ["conv1", "conv2", "fc"]
    assert out.shape == (7, 4 * 16 * 16 + 6 * 8 * 8 + 3)
    np.testing.assert_allclose(parts["conv1"].values, conv1.flatten(1).numpy(), rtol=1e-5, atol=1e-6)
    assert (parts["conv1"].values < 0).any()  # captured before the in-place ReLU
    np.testing.assert_allclose(parts["conv2"].values, conv2.flatten(1).numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(parts["fc"].values, fc.numpy(), rtol=1e-5, atol=1e-6)
    # coordinates point at the right unit
    unit = parts["conv2"].isel(neuroid=200)
    c, yy, xx = int(unit.channel), int(unit.channel_y), int(unit.channel_x)
    np.testing.assert_allclose(unit.values, conv2[:, c, yy, xx].numpy(), rtol=1e-5, atol=1e-6)
    assert (c, yy, xx) == (200 // 64, (200 % 64) // 8, 200 % 8)
    assert out["stimulus_id"].values.tolist() == data.ids
    assert out["category"].values.tolist() == list("abcdefg")
    assert out["neuroid_id"].values[0] == "conv1:0"
    assert parts["fc"]["channel"].values.tolist() == [0, 1, 2]
    assert set(parts["fc"]["channel_x"].values) == {-1}


def test_batch_size_does_not_change_the_values():
    model, data = model_of(), stimuli()
    a = model.activations(data, ["conv2"], reduction=None, cache=False)
    model.batch_size = 5
    b = model.activations(data, ["conv2"], reduction=None, cache=False)
    np.testing.assert_allclose(a.values, b.values, rtol=1e-5, atol=1e-6)


def test_token_layouts_get_channel_and_token_coords():
    class Tokens(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Conv2d(3, 5, 8, stride=8)
            self.norm = nn.LayerNorm(5)

        def forward(self, x):
            return self.norm(self.embed(x).flatten(2).transpose(1, 2))

    out = model_of(Tokens()).activations(stimuli(), ["norm"], reduction=None)
    assert out.shape == (7, 4 * 5)
    assert out["channel"].values.tolist() == list(range(5)) * 4
    assert out["channel_x"].values.tolist() == [t for t in range(4) for _ in range(5)]


# ----------------------------------------------------------------------------- placement


def _identity(size, interpolation="nearest", crop_pct=1.0):
    return Preprocessing(input_size=size, mean=(0, 0, 0), std=(1, 1, 1),
                         interpolation=interpolation, crop_pct=crop_pct)


def test_placement_pads_with_gray_when_the_model_sees_more_degrees():
    white = np.full((1, 4, 4, 3), 255, dtype=np.uint8)
    x = place(white, image_degrees=4.0, model_degrees=8.0, preprocessing=_identity(8))
    assert x.shape == (1, 3, 8, 8)
    expected = torch.full((8, 8), GRAY)
    expected[2:6, 2:6] = 1.0
    for channel in range(3):
        torch.testing.assert_close(x[0, channel], expected)


def test_placement_crops_the_centre_when_the_model_sees_fewer_degrees():
    image = np.arange(8 * 8 * 3, dtype=np.uint8).reshape(1, 8, 8, 3)
    x = place(image, image_degrees=8.0, model_degrees=4.0, preprocessing=_identity(4))
    expected = torch.from_numpy(image[0, 2:6, 2:6].astype(np.float32) / 255).permute(2, 0, 1)
    torch.testing.assert_close(x[0], expected)


def test_same_degrees_resize_crop_pct_normalise_and_gray_to_rgb():
    image = np.arange(64, dtype=np.uint8).reshape(1, 8, 8, 1)
    pre = Preprocessing(input_size=4, crop_pct=0.5, interpolation="nearest",
                        mean=(0.5, 0.5, 0.5), std=(0.25, 0.5, 1.0))
    x = place(image, image_degrees=8.0, model_degrees=8.0, preprocessing=pre)
    centre = torch.from_numpy(image[0, 2:6, 2:6, 0].astype(np.float32) / 255)
    for channel, std in enumerate((0.25, 0.5, 1.0)):
        torch.testing.assert_close(x[0, channel], (centre - 0.5) / std)
    halved = place(np.full((2, 8, 8, 3), 200, np.uint8), image_degrees=8.0, model_degrees=8.0,
                   preprocessing=_identity(4, "bilinear"))
    assert halved.shape == (2, 3, 4, 4)
    torch.testing.assert_close(halved, torch.full((2, 3, 4, 4), 200 / 255))


def test_benchmark_degrees_change_the_activations():
    model, data = model_of(), stimuli()
    own = model.activations(data, ["conv1"], reduction=None)
    smaller = model.activations(data, ["conv1"], reduction=None, visual_degrees=4.0)
    assert own.attrs["visual_degrees"] == 8.0 and smaller.attrs["visual_degrees"] == 4.0
    expected_input = place(data.images(), image_degrees=4.0, model_degrees=8.0,
                           preprocessing=model.preprocessing)
    with torch.no_grad():
        expected = model.module().conv1(expected_input).flatten(1).numpy()
    np.testing.assert_allclose(smaller.values, expected, rtol=1e-5, atol=1e-6)


# ----------------------------------------------------------------------------- cache


def test_cache_hits_per_layer_and_invalidates_on_every_input(tmp_path):
    module = Tiny()
    model, data = model_of(module), stimuli()
    first = model.activations(data, ["conv1", "conv2"], reduction=None)
    assert first.attrs["cached_layers"] == []
    files = cache_files(tmp_path)
    assert len([f for f in files if f.endswith(".npz")]) == 2
    assert len([f for f in files if f.endswith(".npz.meta.json")]) == 2
    assert not [f for f in files if ".tmp-" in f]

    again = model.activations(data, ["conv1", "conv2"], reduction=None)
    assert again.attrs["cached_layers"] == ["conv1", "conv2"]
    np.testing.assert_array_equal(again.values, first.values)
    assert again["channel_y"].values.tolist() == first["channel_y"].values.tolist()

    more = model.activations(data, ["fc", "conv2"], reduction=None)  # only fc is computed
    assert more.attrs["cached_layers"] == ["conv2"]
    assert list(split_layers(more)) == ["fc", "conv2"]

    with torch.no_grad():
        module.conv1.weight.add_(0.5)
    changed = model.activations(data, ["conv1"], reduction=None)
    assert changed.attrs["cached_layers"] == []
    assert not np.allclose(changed.values, split_layers(first)["conv1"].values)

    images = data.images().copy()
    images[0, 0, 0, 0] ^= 1
    edited = StimulusSet.from_arrays("T.s", data.ids, images, 8.0,
                                     category=list("abcdefg"))
    assert model.activations(edited, ["conv1"], reduction=None).attrs["cached_layers"] == []

    other_pre = model_of(module, preprocessing={"input_size": 16, "mean": (0.5, 0.5, 0.5)})
    assert other_pre.activations(data, ["conv1"], reduction=None).attrs["cached_layers"] == []
    assert model.activations(data, ["conv1"], reduction=None,
                             visual_degrees=6.0).attrs["cached_layers"] == []
    assert model.activations(data, ["conv1"], reduction="srp").attrs["cached_layers"] == []
    renamed = model_of(module, identifier="lab:renamed")
    assert renamed.activations(data, ["conv1"], reduction=None).attrs["cached_layers"] == []


def test_cache_entries_are_listed_and_cleared():
    from neuroalign.store import cache_entries, clear_cache

    model_of().activations(stimuli(), ["conv2"], reduction=None)
    entries = cache_entries("activations")
    assert len(entries) == 1
    assert entries[0].description == "custom:model conv2 on T.s (7 stimuli, raw)"
    assert clear_cache("activations") and cache_entries("activations") == []


def test_cache_false_writes_nothing(tmp_path):
    model_of().activations(stimuli(), ["conv2"], reduction=None, cache=False)
    assert cache_files(tmp_path) == []


def test_corrupt_cache_entry_is_recomputed(tmp_path):
    model, data = model_of(), stimuli()
    first = model.activations(data, ["conv2"], reduction=None)
    entry = next((tmp_path / "home").rglob("*.npz"))
    entry.write_bytes(b"not a zip")
    again = model.activations(data, ["conv2"], reduction=None)
    assert again.attrs["cached_layers"] == []
    np.testing.assert_allclose(again.values, first.values)


# ----------------------------------------------------------------------------- reduction


def test_srp_reduces_wide_layers_and_passes_narrow_ones_through():
    model, data = model_of(), stimuli()
    reduction = Reduction(method="srp", n_components=100)
    out = model.activations(data, ["conv1", "fc"], reduction=reduction, cache=False)
    parts = split_layers(out)
    assert parts["conv1"].shape == (7, 100) and parts["fc"].shape == (7, 3)
    assert parts["conv1"]["component"].values.tolist() == list(range(100))
    raw = model.activations(data, ["conv1", "fc"], reduction=None, cache=False)
    np.testing.assert_allclose(parts["fc"].values, split_layers(raw)["fc"].values, rtol=1e-6)
    again = model.activations(data, ["conv1"], reduction=reduction, cache=False)
    np.testing.assert_array_equal(again.values, parts["conv1"].values)  # seeded
    matrix = sparse_projection(1024, 100, 0).to_dense().numpy()
    np.testing.assert_allclose(parts["conv1"].values, split_layers(raw)["conv1"].values @ matrix.T,
                               rtol=1e-4, atol=1e-4)


def test_sparse_projection_is_seeded_sparse_and_norm_preserving():
    a = sparse_projection(20_000, 500, seed=3).to_dense()
    assert torch.equal(a, sparse_projection(20_000, 500, seed=3).to_dense())
    assert not torch.equal(a, sparse_projection(20_000, 500, seed=4).to_dense())
    density = (a != 0).float().mean().item()
    assert density == pytest.approx(1 / np.sqrt(20_000), rel=0.05)
    x = torch.randn(50, 20_000)
    ratio = (x @ a.T).norm(dim=1) ** 2 / x.norm(dim=1) ** 2
    assert ratio.mean().item() == pytest.approx(1.0, abs=0.05)
    assert ratio.min().item() > 0.75 and ratio.max().item() < 1.25


def test_sparse_projection_bytes_are_pinned():
    """The matrix is part of every cached PCA/SRP activation: a change must be deliberate (bump
    REFERENCE_VERSION). Pinned on the np.unique-based construction it replaced."""
    import hashlib

    from neuroalign.extraction.reduction import _projection_arrays

    digest = hashlib.sha256()
    for array in _projection_arrays(20_000, 500, 3):
        digest.update(array.tobytes())
    assert digest.hexdigest() == ("84358f2475510fde6d1cdd5b76bc4b9f"
                                  "52ed2414b1a85d07660c998ae62eac7b")


def test_pca_shapes_determinism_and_cached_reducers(tmp_path):
    model, data = model_of(), stimuli()
    out = model.activations(data, ["conv1", "conv2", "fc"], reduction=SMALL_PCA)
    parts = split_layers(out)
    assert {k: v.shape for k, v in parts.items()} == {
        "conv1": (7, 8), "conv2": (7, 8), "fc": (7, 3)}
    reducers = sorted((tmp_path / "home").rglob("reducers/*.npz"))
    assert len(reducers) == 2
    fresh = model_of(model.module()).activations(data, ["conv1", "conv2"], reduction=SMALL_PCA,
                                                 cache=False)
    np.testing.assert_allclose(fresh.values, out.values[:, :16], rtol=1e-4, atol=1e-4)
    # a new stimulus set reuses the fitted reducers instead of refitting
    before = [p.stat().st_mtime_ns for p in reducers]
    model.activations(stimuli(seed=9), ["conv1"], reduction=SMALL_PCA)
    assert [p.stat().st_mtime_ns for p in sorted(reducers)] == before
    assert len(sorted((tmp_path / "home").rglob("reducers/*.npz"))) == 2


def test_pca_fitter_finds_orthonormal_components_sorted_by_variance():
    rng = np.random.default_rng(0)
    scales = np.array([10.0, 5.0, 2.0] + [0.1] * 97)
    rows = torch.from_numpy((rng.standard_normal((60, 100)) * scales).astype(np.float32))
    fitter = PCAFitter(100, Reduction(n_components=5, sketch_dim=200, reference_size=60), 60)
    fitter.partial(rows[:40], 0)
    fitter.partial(rows[40:], 40)
    reducer = fitter.fit()
    comps = reducer.components
    np.testing.assert_allclose(comps @ comps.T, np.eye(5), atol=1e-5)
    assert np.all(np.diff(reducer.explained_variance) <= 0)
    assert np.abs(comps[0]).argmax() == 0 and comps[0, 0] > 0  # leading axis, positive sign
    projected = reducer.transform(rows).numpy()
    assert projected.shape == (60, 5)
    np.testing.assert_allclose(projected.mean(axis=0), 0, atol=1e-4)


def test_sketched_pca_recovers_the_leading_components_of_a_wide_layer():
    rng = np.random.default_rng(1)
    n, d = 80, 6000
    basis = np.linalg.qr(rng.standard_normal((d, 3)))[0].T
    x = (rng.standard_normal((n, 3)) * [10.0, 6.0, 3.0]) @ basis
    x = torch.from_numpy((x + 0.05 * rng.standard_normal((n, d))).astype(np.float32))
    fitter = PCAFitter(d, Reduction(n_components=3, sketch_dim=512, reference_size=n), n)
    assert fitter.sketch_dim == 512
    fitter.partial(x, 0)
    scores = fitter.fit().transform(x).numpy()
    centred = x.numpy() - x.numpy().mean(axis=0)
    u, s, _ = np.linalg.svd(centred, full_matrices=False)
    for k in range(3):
        r = np.corrcoef(scores[:, k], u[:, k] * s[k])[0, 1]
        assert abs(r) > 0.98, (k, r)


def test_reference_set_is_deterministic_varied_and_disjoint():
    first = reference_images(range(8), size=32)
    np.testing.assert_array_equal(first, reference_images(range(8), size=32))
    assert first.shape == (8, 32, 32, 3) and first.dtype == np.uint8
    assert Reduction().reference_size >= 1000
    ref = reference_stimuli(n=16, size=32)
    assert len(set(ref.image_digests)) == 16  # no two reference images alike
    assert all(s.startswith(REFERENCE_PREFIX) for s in ref.ids)
    scored = stimuli(size=32)
    assert not set(ref.image_digests) & set(scored.image_digests)
    assert not set(ref.ids) & set(scored.ids)


def test_pca_refuses_to_score_the_reference_set():
    model = model_of()
    ref = reference_stimuli(n=4, size=16)
    with pytest.raises(ExtractionError, match=r"contains PCA reference stimuli.*reduction='srp'"):
        model.activations(ref, ["conv1"], reduction=SMALL_PCA)
    assert model.activations(ref, ["conv1"], reduction="srp").shape == (4, 1000)


# ----------------------------------------------------------------------------- errors


def test_unknown_layer_error_lists_closest_names():
    with pytest.raises(ExtractionError, match=r"unknown layer 'conv3'.*\['conv2', 'conv1'"):
        model_of().activations(stimuli(), ["conv1", "conv3"], reduction=None)


def test_failing_forward_names_the_stimuli_of_the_batch():
    with pytest.raises(ExtractionError, match=r"forward pass of model 'custom:model' failed on "
                       r"stimuli \['s0'\].*RuntimeError: boom"):
        model_of(Broken()).activations(stimuli(), ["conv1"], reduction=None)
    with pytest.raises(ExtractionError, match=r"failed on stimuli \['s0', 's1', 's2'\]"):
        model_of(Broken()).logits(stimuli())


def test_wrong_input_size_is_reported_with_the_fix():
    model = model_of(nn.Sequential(nn.Flatten(), nn.Linear(10, 2)))
    with pytest.raises(ExtractionError, match=r"input shape \(1, 3, 16, 16\).*preprocessing"):
        model.activations(stimuli(), ["1"], reduction=None)


def test_nan_activations_name_layer_and_stimuli():
    images = np.zeros((5, 16, 16, 3), dtype=np.uint8)
    images[3] = 255  # the only "bright" image
    data = StimulusSet.from_arrays("T.nan", [f"im{i}" for i in range(5)], images, 8.0)
    model = model_of(NaNForBright())
    with pytest.raises(ExtractionError, match=r"layer 'pool' has NaN or infinite activations "
                       r"for stimuli \['im3'\]"):
        model.activations(data, ["conv2", "pool"], reduction=None)


def test_bad_reduction_and_batch_size():
    with pytest.raises(neuroalign.SpecError, match=r"unknown reduction 'pcaa'.*'srp'"):
        model_of().activations(stimuli(), ["conv1"], reduction="pcaa")
    with pytest.raises(ValueError, match="needs reference_size > n_components"):
        Reduction(n_components=10, reference_size=10)
