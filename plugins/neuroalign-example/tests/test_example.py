"""neuroalign-example's own tests: a recovery test on synthetic data."""

from __future__ import annotations

import neuroalign
import neuroalign_example.plugin

def test_ground_truth_model_scores_near_ceiling(neuroalign_plugin_manager, neuroalign_synthetic_store):
    neuroalign_plugin_manager.register(neuroalign_example.plugin, name="example",
                                       distribution="neuroalign-example")
    neuroalign_synthetic_store(neuroalign.get_spec("dataset", "Example.toy"), scale=1.0)
    truth = neuroalign.get_model("example:linear")
    other = neuroalign.get_model("example:linear.seed3")
    suite = neuroalign.get_benchmark("Example.neural-mean")
    assert suite(truth).value > 0.85
    assert suite(other).value < 0.6
