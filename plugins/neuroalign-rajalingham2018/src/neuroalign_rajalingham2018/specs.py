"""The registered benchmark and aggregator specs (cheap: specs only, no I/O).

Kept apart from :mod:`.benchmarks` so that registering does not import the scoring machinery.
"""

from __future__ import annotations

from neuroalign import AggregatorSpec, BenchmarkSpec

from .data import CITATION

__all__ = ["benchmark_specs", "aggregator_specs", "BENCHMARK_ID", "COMPOSITE_ID",
           "COMPOSITE_CHILDREN", "BRAIN_SCORE_CITATION", "VISUAL_DEGREES"]

BENCHMARK_ID = "Rajalingham2018-i2n"
COMPOSITE_ID = "Brain-Score2018"
VISUAL_DEGREES = 8.0
#: paper 004's Brain-Score: V4, IT and behavior
COMPOSITE_CHILDREN = {"V4": ["MajajHong2015.V4-pls"], "IT": ["MajajHong2015.IT-pls"],
                      "behavior": [BENCHMARK_ID]}
BRAIN_SCORE_CITATION = """@article{schrimpf2018brain,
  title={Brain-Score: Which Artificial Neural Network for Object Recognition is most Brain-Like?},
  author={Schrimpf, Martin and Kubilius, Jonas and Hong, Ha and Majaj, Najib J and Rajalingham,
          Rishi and Issa, Elias B and Kar, Kohitij and Bashivan, Pouya and Prescott-Roy, Jonathan
          and Geiger, Franziska and Schmidt, Kailyn and Yamins, Daniel L K and DiCarlo, James J},
  journal={bioRxiv}, pages={407007}, year={2018}
}"""


def benchmark_specs() -> list[BenchmarkSpec]:
    """``Rajalingham2018-i2n`` and the composite ``Brain-Score2018``."""
    return [
        BenchmarkSpec(
            id=BENCHMARK_ID,
            factory="neuroalign_rajalingham2018.benchmarks:Rajalingham2018Benchmark",
            version=2,  # Brain-Score's version of this benchmark
            dataset="Rajalingham2018.private", metric="i2n", ceiling="i2n_split_half",
            region="behavior", kind="behavioral", visual_degrees=VISUAL_DEGREES,
            number_of_trials=2, citation=CITATION,
            paper_section="Schrimpf et al. 2018 (Brain-Score, paper 004), Methods: Behavioral "
                          "(I2n); Rajalingham et al. 2018",
            description="Human behavioral consistency (I2n) on the objectome: a logistic-"
                        "regression read-out of the model's behavior layer fit on 2,160 public "
                        "images gives choice probabilities on 240 private images; normalised "
                        "image-by-distractor d' correlated with one half of the human trials, "
                        "ceiled per split by the human split-half consistency.",
            parameters={"fitting_dataset": "Rajalingham2018.public", "reduction": "pca"}),
        BenchmarkSpec(
            id=COMPOSITE_ID, factory="neuroalign.scoring.composite:CompositeBenchmark.from_spec",
            kind="composite", version=1, citation=BRAIN_SCORE_CITATION,
            paper_section="Schrimpf et al. 2018 (paper 004), Methods: Brain-Score",
            description="Brain-Score 2018 (paper 004): the plain mean of V4 "
                        "(MajajHong2015.V4-pls), IT (MajajHong2015.IT-pls) and behavior "
                        "(Rajalingham2018-i2n) ceiled scores.",
            parameters={"children": COMPOSITE_CHILDREN, "aggregator": "flat_mean",
                        "aggregator_parameters": {}, "on_error": "raise"}),
    ]


def aggregator_specs() -> list[AggregatorSpec]:
    """``flat_mean``: the plain mean of the children (paper 004's Brain-Score)."""
    return [AggregatorSpec(
        id="flat_mean", factory="neuroalign_rajalingham2018.aggregator:FlatMeanAggregator",
        parameters={"missing": "zero"}, citation=BRAIN_SCORE_CITATION,
        description="Unweighted mean of the children's values (paper 004: Brain-Score = mean of "
                    "V4, IT and behavior), unlike 'mean', which averages regions within kinds "
                    "first. parameters.missing: 'zero' (a missing score counts as 0) or 'skip'.")]
