"""The specs this plugin registers (cheap: no numpy, scipy or xarray import)."""

from __future__ import annotations

from neuroalign import MetricSpec

__all__ = ["RAJALINGHAM_CITATION", "metric_specs"]

RAJALINGHAM_CITATION = """@article{rajalingham2018large,
  title={Large-scale, high-resolution comparison of the core visual object recognition behavior
         of humans, monkeys, and state-of-the-art deep artificial neural networks},
  author={Rajalingham, Rishi and Issa, Elias B and Bashivan, Pouya and Kar, Kohitij and
          Schmidt, Kailyn and DiCarlo, James J},
  journal={Journal of Neuroscience}, volume={38}, number={33}, pages={7255--7269}, year={2018}
}"""

_PARAMETERS = {"splits": 2, "seed": 0, "normalize": True, "cap": 5.0}


def metric_specs() -> list[MetricSpec]:
    """``i2n`` (behavioral metric) and ``i2n_split_half`` (its ceiling)."""
    return [
        MetricSpec(id="i2n", kind="behavioral", factory="neuroalign_behavior.metric:I2n",
                   parameters=dict(_PARAMETERS), citation=RAJALINGHAM_CITATION,
                   description="Image-level normalised d' consistency (I2n; Rajalingham et al. "
                   "2018, Brain-Score): Pearson r between a model's and one half of the humans' "
                   "(image, distractor) d' matrices, (truth, choice) group means removed; mean "
                   "over 2 split-halves of the trials. Inputs: probabilities (presentation x "
                   "choice) and trials (chosen object per trial)."),
        MetricSpec(id="i2n_split_half", kind="ceiling",
                   factory="neuroalign_behavior.metric:I2nSplitHalf",
                   parameters=dict(_PARAMETERS), citation=RAJALINGHAM_CITATION,
                   description="I2n ceiling: Pearson r between the normalised d' matrices of the "
                   "two halves of the human trials (no Spearman-Brown), mean over the same 2 "
                   "split-halves as i2n."),
    ]
