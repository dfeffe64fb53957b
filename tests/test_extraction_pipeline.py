"""Extraction speed machinery: layout, prefetch, automatic batch size, AMP option, one PCA pass."""

from __future__ import annotations

import threading

import numpy as np
import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

import importlib

import neuroalign

extract_module = importlib.import_module("neuroalign.extraction.extract")
from neuroalign.extraction.extract import ExtractionError, split_layers
from neuroalign.extraction.pipeline import (
    MAX_BATCH,
    TIMINGS,
    Prefetcher,
    amp_context,
    auto_batch_size,
    choose_layout,
    per_image_bytes,
)
from neuroalign.extraction.reduction import Reduction
from neuroalign.stimuli import StimulusSet

SMALL_PCA = Reduction(method="pca", n_components=8, sketch_dim=64, reference_size=24)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(8, 6, 3, stride=2, padding=1)
        self.pool = nn.AdaptiveAvgPool2d(2)
        self.fc = nn.Linear(24, 5)

    def forward(self, x):
        x = self.conv2(self.relu(self.conv1(x)))
        return self.fc(self.pool(x).flatten(1))


class Mlp(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3 * 16 * 16, 4)

    def forward(self, x):
        return self.fc(x.flatten(1))


@pytest.fixture(autouse=True)
def _home(tmp_path, monkeypatch):
    monkeypatch.setenv("NEUROALIGN_HOME", str(tmp_path / "home"))
    torch.manual_seed(0)


def stimuli(n=9, size=16, seed=1):
    images = np.random.default_rng(seed).integers(0, 256, (n, size, size, 3), dtype=np.uint8)
    return StimulusSet.from_arrays("P.s", [f"s{i}" for i in range(n)], images, 8.0)


def model_of(module=None, **kw):
    model = neuroalign.Model.from_module(module or Net(), preprocessing={"input_size": 16}, **kw)
    model.device, model.batch_size = "cpu", 4
    return model


# ----------------------------------------------------------------------------- layout


def test_auto_layout_is_channels_last_for_conv_nets_on_cpu_only():
    assert choose_layout(Net(), "cpu") == "channels_last"
    assert choose_layout(Mlp(), "cpu") == "contiguous"
    assert choose_layout(Net(), "cpu", "contiguous") == "contiguous"
    assert choose_layout(Net(), "meta") == "contiguous"  # not a CPU: the default layout
    with pytest.raises(ValueError, match="unknown layout 'nhwc'"):
        choose_layout(Net(), "cpu", "nhwc")


def test_channels_last_activations_equal_the_default_layout_within_rounding():
    data = stimuli()
    module = Net()
    reference = model_of(module, identifier="m:a").activations(
        data, ["conv1", "conv2", "fc"], reduction=None, cache=False)
    model = model_of(module, identifier="m:a")
    model.layout = "contiguous"
    standard = model.activations(data, ["conv1", "conv2", "fc"], reduction=None, cache=False)
    model.layout = "channels_last"
    fast = model.activations(data, ["conv1", "conv2", "fc"], reduction=None, cache=False)
    assert reference.attrs["layout"] == "channels_last" == fast.attrs["layout"]
    assert standard.attrs["layout"] == "contiguous"
    np.testing.assert_allclose(fast.values, standard.values, rtol=1e-5, atol=1e-5)
    # the neuroid order is the logical (C, H, W) order in both layouts
    unit = split_layers(fast)["conv2"].isel(neuroid=37)
    c, y, x = int(unit.channel), int(unit.channel_y), int(unit.channel_x)
    with torch.no_grad():
        inputs = model.preprocess(data.images())
        manual = module.conv2(torch.relu(module.conv1(inputs)))[:, c, y, x].numpy()
    np.testing.assert_allclose(unit.values, manual, rtol=1e-5, atol=1e-5)


def test_layout_and_amp_are_part_of_the_cache_key():
    data, model = stimuli(), model_of(identifier="m:key")
    model.layout = "channels_last"
    first = model.activations(data, ["conv2"], reduction=None)
    assert first.attrs["cached_layers"] == []
    assert model.activations(data, ["conv2"], reduction=None).attrs["cached_layers"] == ["conv2"]
    model.layout = "contiguous"
    other = model.activations(data, ["conv2"], reduction=None)
    assert other.attrs["cached_layers"] == []  # another layout: computed, never the other's
    base = extract_module._model_payload(model, "channels_last", None)
    assert base["layout"] == "channels_last" and base["amp"] is None
    assert extract_module._model_payload(model, "contiguous", "bfloat16")["amp"] == "bfloat16"
    model.amp = "bfloat16"
    assert model.activations(data, ["conv2"], reduction=None).attrs["cached_layers"] == []


def test_amp_is_opt_in_and_validated():
    with amp_context(None, "cpu"):
        assert not torch.is_autocast_enabled("cpu")
    with amp_context("bfloat16", "cpu"):
        assert torch.is_autocast_enabled("cpu")
    with pytest.raises(ValueError, match="unknown amp 'fp8'"):
        amp_context("fp8", "cpu")
    with pytest.raises(neuroalign.errors.SpecError, match="amp='half'"):
        neuroalign.Model.from_module(Net()).__class__(
            neuroalign.Model.from_module(Net()).spec, Net(), amp="half")
    model = model_of(identifier="m:amp")
    model.amp = "bfloat16"
    values = model.activations(stimuli(), ["conv2"], reduction=None, cache=False)
    assert values.attrs["amp"] == "bfloat16"
    model.amp = None
    exact = model.activations(stimuli(), ["conv2"], reduction=None, cache=False)
    difference = np.abs(values.values - exact.values).max()
    assert 0 < difference < 0.1  # bfloat16 rounding: close but not equal


# ----------------------------------------------------------------------------- prefetch


def test_prefetcher_yields_the_same_batches_in_order_from_another_thread():
    pixels = np.arange(10 * 2 * 2 * 3, dtype=np.uint8).reshape(10, 2, 2, 3)
    threads = set()

    def load(a, b):
        threads.add(threading.get_ident())
        return pixels[a:b]

    def place(x):
        return torch.as_tensor(np.asarray(x)).permute(0, 3, 1, 2).float()

    got = list(Prefetcher(10, 4, load, place, layout="channels_last"))
    assert [(a, b) for a, b, _ in got] == [(0, 4), (4, 8), (8, 10)]
    for a, b, x in got:
        np.testing.assert_array_equal(x.numpy(), place(pixels[a:b]).numpy())
        assert x.is_contiguous(memory_format=torch.channels_last)
    assert threading.get_ident() not in threads  # prepared in the background thread
    inline = list(extract_module._inline_batches(Prefetcher(10, 4, load, place)))
    assert [(a, b) for a, b, _ in inline] == [(0, 4), (4, 8), (8, 10)]


def test_prefetcher_raises_the_threads_error_at_the_failing_batch_and_stops():
    calls = []

    def load(a, b):
        calls.append(a)
        if a == 4:
            raise OSError("cannot read image 4")
        return np.zeros((b - a, 2, 2, 3), np.uint8)

    seen = []
    with pytest.raises(OSError, match="cannot read image 4"):
        for a, _, _ in Prefetcher(20, 4, load, lambda x: torch.as_tensor(x)):
            seen.append(a)
    assert seen == [0] and calls == [0, 4]  # nothing read after the failure


def test_prefetcher_stops_its_thread_when_the_consumer_stops_early():
    batches = Prefetcher(100, 1, lambda a, b: np.zeros((1, 1, 1, 3), np.uint8), torch.as_tensor)
    for a, _, _ in batches:
        if a == 2:
            break
    assert not batches._thread.is_alive()


# ----------------------------------------------------------------------------- batch size


def test_batch_size_follows_the_available_memory():
    assert auto_batch_size(1000, "cpu", available=40_000) == 10  # a quarter of 40 kB at 1 kB
    assert auto_batch_size(1000, "cpu", available=10**12) == MAX_BATCH["cpu"]
    assert auto_batch_size(10**9, "cpu", available=10**6) == 1
    module = Net()
    counted = per_image_bytes(module, lambda: module(torch.zeros(1, 3, 16, 16)))
    # leaf outputs: conv1 8x16x16, relu (in place, same size), conv2 6x8x8, pool 6x2x2, fc 5
    assert counted == 3 * 4 * (2 * 8 * 16 * 16 + 6 * 8 * 8 + 6 * 2 * 2 + 5)


def test_automatic_batch_size_gives_the_same_activations():
    data = stimuli()
    model = model_of(identifier="m:auto")
    fixed = model.activations(data, ["conv2"], reduction=None, cache=False)
    model.batch_size = None
    automatic = model.activations(data, ["conv2"], reduction=None, cache=False)
    np.testing.assert_allclose(automatic.values, fixed.values, rtol=1e-6, atol=1e-6)


# ----------------------------------------------------------------------------- one PCA pass


def test_one_reference_pass_fits_every_candidate_layer(monkeypatch):
    passes = []
    original = extract_module._stream

    def counting(model, module, n, *args, **kwargs):
        passes.append((kwargs["label"], tuple(kwargs["layers"])))
        return original(model, module, n, *args, **kwargs)

    monkeypatch.setattr(extract_module, "_stream", counting)
    model = model_of(identifier="m:pca", layers=["conv1", "conv2", "fc"])
    data = stimuli()
    TIMINGS.reset()
    first = model.activations(data, ["conv1"], reduction=SMALL_PCA)
    reference = [p for p in passes if "PCA reference" in p[0]]
    assert len(reference) == 1 and set(reference[0][1]) == {"conv1", "conv2"}  # fc: 5 <= 8
    assert TIMINGS.snapshot()["pca_fit"] > 0
    passes.clear()
    second = model.activations(data, ["conv2"], reduction=SMALL_PCA)
    assert not [p for p in passes if "PCA reference" in p[0]]  # conv2's reducer was cached
    # and it equals a reducer fitted on its own
    alone = model_of(module=model.module(), identifier="m:pca-alone").activations(
        data, ["conv2"], reduction=SMALL_PCA, cache=False)
    np.testing.assert_allclose(second.values, alone.values, rtol=1e-4, atol=1e-4)
    assert first.shape == (9, 8)


def test_no_reference_pass_when_the_requested_reducers_are_cached(monkeypatch):
    model = model_of(identifier="m:pca2", layers=["conv1", "conv2"])
    data = stimuli()
    model.activations(data, ["conv1", "conv2"], reduction=SMALL_PCA)
    passes = []
    original = extract_module._stream
    monkeypatch.setattr(extract_module, "_stream", lambda *a, **k: (
        passes.append(k["label"]), original(*a, **k))[1])
    other = StimulusSet.from_arrays("P.t", ["t0", "t1"], np.zeros((2, 16, 16, 3), np.uint8), 8.0)
    model.activations(other, ["conv2"], reduction=SMALL_PCA)
    assert not [label for label in passes if "PCA reference" in label]


def test_a_model_that_rejects_channels_last_names_the_fix():
    class ViewsInput(Net):
        def forward(self, x):  # .view() of the input needs the standard layout
            flat = x.view(x.shape[0], -1)
            return flat[:, :5] + self.fc(self.pool(self.conv2(self.conv1(x))).flatten(1))

    model = model_of(ViewsInput(), identifier="m:view")
    model.layout = "channels_last"
    with pytest.raises(ExtractionError, match="layout='contiguous'"):
        model.activations(stimuli(), ["conv2"], reduction=None, cache=False)
    model.layout = "contiguous"
    assert model.activations(stimuli(), ["conv2"], reduction=None, cache=False).shape[0] == 9


def test_cpu_sparse_projection_equals_torch_sparse_mm():
    from neuroalign.extraction.reduction import _project, sparse_projection

    matrix = sparse_projection(5000, 300, 3)
    x = torch.randn(6, 5000)
    expected = torch.sparse.mm(matrix, x.T).T
    with torch.inference_mode():
        first, again = _project(matrix, x), _project(matrix, x)  # again: the cached transpose
    assert first.dtype == torch.float32 and first.shape == (6, 300)
    np.testing.assert_allclose(first.numpy(), expected.numpy(), rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(first.numpy(), again.numpy())


def test_projection_of_channels_last_rows_in_memory_order_equals_the_logical_order():
    from neuroalign.extraction.reduction import _project, sparse_projection

    chw = (6, 5, 7)
    matrix = sparse_projection(6 * 5 * 7, 40, 2)
    x = torch.randn(3, *chw).contiguous(memory_format=torch.channels_last)
    logical = _project(matrix, x.reshape(3, -1))
    memory = x.permute(0, 2, 3, 1).reshape(3, -1)  # (H, W, C) order: no copy
    assert memory.data_ptr() == x.data_ptr()
    np.testing.assert_allclose(_project(matrix, memory, chw).numpy(), logical.numpy(),
                               rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match=r"\(C, H, W\) shape \(6, 5, 8\) does not match"):
        _project(matrix, memory, (6, 5, 8))
    # a narrow layer is not sketched: its PCA needs the logical order, never the memory order
    from neuroalign.extraction.reduction import PCAFitter

    narrow = PCAFitter(6 * 5 * 7, Reduction(n_components=8, sketch_dim=512, reference_size=24), 3)
    assert not narrow.takes_memory_order
    with pytest.raises(ValueError, match=r"unsketched PCA needs its features in \(C, H, W\)"):
        narrow.partial(memory, 0, chw)


def test_pca_of_a_wide_layer_in_channels_last_equals_the_default_layout_within_rounding():
    data = stimuli(n=12)
    module = Net()
    model = model_of(module, identifier="m:pca-layout")
    model.layout = "contiguous"
    standard = model.activations(data, ["conv1", "conv2"], reduction=SMALL_PCA, cache=False)
    model.layout = "channels_last"
    fast = model.activations(data, ["conv1", "conv2"], reduction=SMALL_PCA, cache=False)
    assert fast.shape == standard.shape == (12, 16)  # both layers sketched (2,048 and 384 wide)
    scale = np.abs(standard.values).max()
    np.testing.assert_allclose(fast.values, standard.values, rtol=0, atol=1e-5 * scale)


# ----------------------------------------------------------------------------- early exit


class CountingNet(Net):
    """Net that counts how often its head runs."""

    def __init__(self):
        super().__init__()
        self.head_calls = 0

    def forward(self, x):
        x = self.conv2(self.relu(self.conv1(x)))
        self.head_calls += 1
        return self.fc(self.pool(x).flatten(1))


class SharedNet(nn.Module):
    """conv runs twice per forward: the recorded output must be its last one."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 3, padding=1)
        self.fc = nn.Linear(3 * 16 * 16, 2)

    def forward(self, x):
        return self.fc(self.conv(torch.tanh(self.conv(x))).flatten(1))


def _run_whole(monkeypatch):
    """Disable early exit (the reference: every forward runs to the end)."""
    original = extract_module._Pass.__init__

    def whole(self, *args, **kwargs):
        kwargs["early_exit"] = False
        original(self, *args, **kwargs)

    monkeypatch.setattr(extract_module._Pass, "__init__", whole)


def test_the_forward_pass_stops_after_the_last_hooked_layer_with_the_same_bytes(monkeypatch):
    data = stimuli(n=13)
    module = CountingNet()
    model = model_of(module, identifier="m:exit")
    fast = model.activations(data, ["conv1", "conv2"], reduction=None, cache=False)
    # batches of 4: the first batch runs whole (it checks every hook fires once), the other
    # three stop after conv2, so the head runs for the first batch only (and the probe)
    assert module.head_calls == 2
    with monkeypatch.context() as patch:
        _run_whole(patch)
        module.head_calls = 0
        whole = model_of(module, identifier="m:exit").activations(
            data, ["conv1", "conv2"], reduction=None, cache=False)
        assert module.head_calls == 5
    np.testing.assert_array_equal(fast.values, whole.values)


def _direct(module, data, identifier, layer, function):
    """``layer``'s activations through ``extract`` and ``function(inputs)`` computed directly."""
    got = model_of(module, identifier=identifier).activations(
        data, [layer], reduction=None, cache=False)
    with torch.no_grad():
        inputs = model_of(module, identifier=identifier).preprocess(data.images())
        expected = function(inputs).flatten(1).numpy()
    return got.values, expected


def test_no_early_exit_when_a_hooked_module_runs_twice_per_forward():
    module = SharedNet()
    got, second = _direct(module, stimuli(n=9), "m:shared", "conv",
                          lambda x: module.conv(torch.tanh(module.conv(x))))
    np.testing.assert_allclose(got, second, rtol=1e-5, atol=1e-6)


def test_a_model_that_swallows_exceptions_cannot_swallow_the_early_exit():
    class Swallowing(Net):
        def forward(self, x):
            hidden = self.relu(self.conv1(x))
            try:
                x = self.conv2(hidden)
            except Exception:  # noqa: BLE001 - what careless model code does: a fallback
                x = self.conv2(torch.zeros_like(hidden))  # would overwrite the recorded rows
            return self.fc(self.pool(x).flatten(1))

    module = Swallowing()
    got, expected = _direct(module, stimuli(n=9), "m:swallow", "conv2",
                            lambda x: module.conv2(module.relu(module.conv1(x))))
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
