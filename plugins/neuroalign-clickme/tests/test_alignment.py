"""Spearman alignment and the tolerance-vs-alignment Pareto table."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.stats import spearmanr

from neuroalign_clickme.alignment import alignment, pareto_table, spearman_rows
from neuroalign_clickme.preprocessing import preprocess_heatmaps
from neuroalign_clickme.specs import HUMAN_CEILING


def _maps(n: int = 3) -> np.ndarray:
    rng = np.random.default_rng(0)
    raw = rng.integers(0, 256, (n, 256, 256)).astype(np.uint8)
    return preprocess_heatmaps(raw).numpy()


def test_perturbation_equal_to_the_human_map_scores_one():
    heat = _maps()
    delta = torch.tensor(heat)[:, None].repeat(1, 3, 1, 1)
    np.testing.assert_allclose(alignment(delta, heat), 1.0, atol=1e-12)
    np.testing.assert_allclose(alignment(-delta, heat), 1.0, atol=1e-12)  # |mean|: sign-free
    reversed_ = torch.tensor(heat.max() - heat)[:, None].repeat(1, 3, 1, 1)
    np.testing.assert_allclose(alignment(reversed_, heat), -1.0, atol=1e-12)


def test_channel_pooling_is_the_signed_mean():
    heat = _maps(1)
    delta = torch.tensor(heat)[:, None].repeat(1, 3, 1, 1)
    delta[:, 1] = -delta[:, 0]  # channels 0 and 1 cancel: the mean is heat / 3
    np.testing.assert_allclose(alignment(delta, heat), 1.0, atol=1e-12)


def test_spearman_rows_match_scipy_with_ties():
    rng = np.random.default_rng(1)
    a = rng.integers(0, 5, (4, 300)).astype(float)  # many ties
    b = a + rng.normal(0, 2, a.shape)
    expected = [spearmanr(x, y).statistic for x, y in zip(a, b)]
    np.testing.assert_allclose(spearman_rows(a, b), expected, atol=1e-12)
    assert np.isnan(spearman_rows(np.zeros((1, 9)), b[:1, :9]))[0]


def test_perturbation_at_another_size_is_compared_at_224():
    heat = _maps(1)
    small = torch.nn.functional.interpolate(torch.tensor(heat)[:, None], size=(96, 96),
                                            mode="bilinear", align_corners=False)
    assert alignment(small.repeat(1, 3, 1, 1), heat)[0] > 0.95


def test_pareto_table():
    table = pareto_table({"a": {"tolerance": 2.0, "alignment": 0.1},
                          "b": {"tolerance": 1.0, "alignment": 0.3},
                          "c": {"tolerance": 0.5, "alignment": 0.2},
                          "d": {"tolerance": 2.0, "alignment": 0.3}})
    assert list(table.index) == ["a", "d", "b", "c"]
    assert table["pareto"].to_dict() == {"a": False, "d": True, "b": False, "c": False}
    assert table.loc["c", "dominated_by"] == 2
    assert table.loc["b", "alignment_score"] == pytest.approx(0.3 / HUMAN_CEILING)
    with pytest.raises(ValueError, match="missing \\['alignment'\\]"):
        pareto_table({"a": {"tolerance": 1.0}})
