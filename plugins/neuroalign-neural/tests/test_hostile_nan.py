"""NaN in neural data: skipped the Brain-Score way, counted and warned, never turned into 0
(issue 10, item 3)."""

from __future__ import annotations

import numpy as np
import pytest

import neuroalign
from neuroalign.errors import DataQualityWarning, SpecError
from neuroalign.testing.fixtures import synthetic_assembly
from neuroalign_neural.benchmark import (NeuralBenchmark, NeuralSplit, average_repetitions,
                                         skip_nan_neuroids)
from neuroalign_neural.ceiling import InternalConsistency


def _with_nan(assembly, fraction=0.1, seed=0):
    values = assembly.values.copy()
    mask = np.random.default_rng(seed).random(values.shape) < fraction
    values[mask] = np.nan
    return assembly.copy(data=values), int(mask.sum())


def test_average_repetitions_skips_nan_trials():
    assembly = synthetic_assembly(20, 3, repetitions=4, noise=0.5)
    values = assembly.values.copy()
    values[0, 0] = np.nan  # stimulus 0, repetition 0, neuroid 0
    for repetition in range(4):  # stimulus 1 has no valid trial for neuroid 1
        values[repetition * 20 + 1, 1] = np.nan
    mean = average_repetitions(assembly.copy(data=values)).values
    with np.errstate(invalid="ignore"), pytest.warns(RuntimeWarning, match="empty slice"):
        expected = np.nanmean(values.reshape(4, 20, 3), axis=0)
    np.testing.assert_allclose(mean[0, 0], np.mean(values[[20, 40, 60], 0]))
    assert np.isnan(mean[1, 1])
    np.testing.assert_allclose(mean[~np.isnan(expected)], expected[~np.isnan(expected)])


def test_the_ceiling_skips_nan_trials_instead_of_failing():
    clean = synthetic_assembly(120, 8, repetitions=6, noise=1.0)
    holey, _ = _with_nan(clean, 0.1)
    ceiling = InternalConsistency(splits=4)
    reference = ceiling(clean).value
    with_nan = ceiling(holey).value
    assert np.isfinite(with_nan) and with_nan == pytest.approx(reference, abs=0.05)


class _Bench(NeuralBenchmark):
    def __init__(self, spec, model, edit):
        super().__init__(spec)
        self._model, self._edit = model, edit

    def load_split(self, role):
        from neuroalign.stimuli import StimulusSet

        rng = np.random.default_rng(1)
        n = 60
        ids = [f"s{i}" for i in range(n)]
        stimuli = StimulusSet.from_arrays(role, ids, rng.integers(0, 255, (n, 16, 16, 3),
                                                                  dtype=np.uint8), 8.0)
        features = self._model.activations(stimuli, ["1"], reduction=None).values
        signal = (features - features.mean(0)) @ np.random.default_rng(5).standard_normal(
            (features.shape[1], 5))
        signal /= signal.std(0)
        assembly = synthetic_assembly(n, 5, repetitions=4)
        trials = np.concatenate([signal + 0.3 * rng.standard_normal(signal.shape)
                                 for _ in range(4)])
        assembly = assembly.copy(data=trials).assign_coords(
            stimulus_id=("presentation", ids * 4))
        return NeuralSplit(role, stimuli, self._edit(assembly), {})

    def normalize(self, raw, ceiling):
        from neuroalign_neural import ceiled_score

        return ceiled_score(raw, ceiling)


@pytest.fixture(scope="module")
def model():
    import torch

    torch.manual_seed(0)
    module = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, stride=2), torch.nn.ReLU(),
                                 torch.nn.AdaptiveAvgPool2d(2), torch.nn.Flatten())
    return neuroalign.Model.from_module(module, identifier="toy:nan",
                                        preprocessing={"input_size": 16}, layers=["1"])


def _score(model, edit):
    spec = neuroalign.BenchmarkSpec(id="Toy.IT-nan", factory="x.y:z", metric="ridge",
                                    ceiling="internal_consistency", region="IT",
                                    visual_degrees=8.0, parameters={"reduction": None})
    return _Bench(spec, model, edit)(model, layers=["1"])


def test_nan_trials_are_counted_warned_and_skipped(model):
    clean = _score(model, lambda a: a)
    assert "nan" not in clean.attrs
    state = {}

    def holey(assembly):
        assembly, state["n"] = _with_nan(assembly, 0.1)
        values = assembly.values.copy()
        values[np.arange(4) * 60 + 7, 2] = np.nan  # neuroid n2 never valid for stimulus s7
        state["n"] = int(np.isnan(values).sum())
        return assembly.copy(data=values)

    with pytest.warns(DataQualityWarning, match=r"1 neuroid\(s\) without a valid trial"):
        result = _score(model, holey)
    counts = result.attrs["nan"]["reported"]
    assert counts["nan_values"] == state["n"] and counts["values"] == 240 * 5
    assert counts["neuroids_skipped"] == 1 and counts["skipped_neuroid_ids"] == ["n2"]
    assert counts["neuroids_kept"] == 4
    assert np.isfinite(result.value) and result.ceiling == pytest.approx(clean.ceiling, abs=0.1)
    assert result.raw == pytest.approx(clean.raw, abs=0.1)


def test_an_all_nan_split_says_so():
    assembly = synthetic_assembly(10, 3, repetitions=2)
    split = NeuralSplit("Toy.data", None, assembly.copy(data=np.full(assembly.shape, np.nan)))
    with pytest.raises(SpecError, match=r"Toy.data: every value of the assembly is NaN \(60"):
        skip_nan_neuroids(split)
    assert skip_nan_neuroids(NeuralSplit("ok", None, assembly))[1] is None  # no NaN: untouched
