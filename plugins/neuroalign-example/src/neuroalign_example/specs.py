"""The specs of neuroalign-example, one builder per kind (cheap: specs only, no I/O)."""

from __future__ import annotations

from neuroalign import (
    AggregatorSpec,
    AssetSpec,
    AttackSpec,
    BenchmarkSpec,
    DatasetSpec,
    FigureSpec,
    MetricSpec,
    ModelSpec,
    Preprocessing,
)

__all__ = ["models_specs", "datasets_specs", "metrics_specs", "attacks_specs", "benchmarks_specs", "aggregators_specs", "figures_specs"]

#: where the "real" files live; a real plugin points at https:// or s3:// with a sha256 each
STORE = "memory://neuroalign-example/v1"
CITATION = "@misc{neuroalign_example, title={neuroalign-example}, note={synthetic toy data}}"


def models_specs() -> list[ModelSpec]:
    """``example:linear``: a seeded 2-layer numpy network committed to V4 and IT."""
    specs: list[ModelSpec] = []
    specs.append(ModelSpec(
        id="example:linear",
        factory="neuroalign_example.model:LinearModel",
        parameters={"seed": 0},
        preprocessing=Preprocessing(input_size=8, mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25)),
        visual_degrees=8.0,
        layers=("linear", "relu"),
        region_layers={"V4": "linear", "IT": "relu"},
        accepts_tags=True,  # "example:linear.seed3" builds the same network with another seed
        description="A fixed random linear layer + ReLU on 8x8 grey images; numpy only.",
        metadata={"family": "toy", "params": 8 * 8 * 32 + 32 * 4},
    ))
    return specs


def datasets_specs() -> list[DatasetSpec]:
    """``Example.toy``: stimuli and V4/IT responses, with an offline generator."""
    specs: list[DatasetSpec] = []
    specs.append(DatasetSpec(
        id="Example.toy",
        factory="neuroalign_example.data:ExampleDataset",
        version=1,
        assets=(
            AssetSpec(name="stimuli", url=f"{STORE}/stimuli.nc", format="netcdf"),
            AssetSpec(name="responses", url=f"{STORE}/responses.nc", format="netcdf"),
        ),
        kind="neural",
        license="CC0-1.0",
        citation=CITATION,
        synthetic="neuroalign_example.synthetic:generate",
        description="64 toy images x 4 repetitions; 8 V4 and 8 IT sites read out from example:linear.",
    ))
    return specs


def metrics_specs() -> list[MetricSpec]:
    """A mapping metric and the ceiling the benchmarks divide by."""
    specs: list[MetricSpec] = []
    specs.append(MetricSpec(
        id="example_corr",
        factory="neuroalign_example.metric:CorrelationMetric",
        parameters={"alpha": 1.0, "splits": 2, "seed": 0},
        kind="mapping",
        description="Cross-validated ridge regression, Pearson r per neuroid, median.",
    ))
    specs.append(MetricSpec(
        id="example_split_half",
        factory="neuroalign_example.metric:SplitHalfCeiling",
        kind="ceiling",
        description="Split-half (odd/even repetitions) Pearson r, Spearman-Brown corrected, median.",
    ))
    return specs


def attacks_specs() -> list[AttackSpec]:
    """A random-sign L-inf perturbation: the 'is it the gradient?' control of real attacks."""
    specs: list[AttackSpec] = []
    specs.append(AttackSpec(
        id="example_random_sign",
        factory="neuroalign_example.attack:RandomSignAttack",
        parameters={"epsilon": 8 / 255, "seed": 0},
        norm="linf",
        description="Adds epsilon * random signs, clipped to [0, 1]; needs no gradient.",
    ))
    return specs


def benchmarks_specs() -> list[BenchmarkSpec]:
    """One benchmark per region, and a composite of both."""
    specs: list[BenchmarkSpec] = []
    for region in ("V4", "IT"):
        specs.append(BenchmarkSpec(
            id=f"Example.{region}-corr",
            factory="neuroalign_example.benchmark:ExampleBenchmark",
            version=1,
            dataset="Example.toy",
            metric="example_corr",
            ceiling="example_split_half",
            region=region,
            kind="neural",
            visual_degrees=8.0,
            citation=CITATION,
            description=f"Ridge correlation to the toy {region} sites, ceiled by split-half.",
        ))
    # A composite is a benchmark too: the core's factory builds it from the ids listed here.
    specs.append(BenchmarkSpec(
        id="Example.neural-mean",
        factory="neuroalign.scoring.composite:CompositeBenchmark.from_spec",
        kind="composite",
        parameters={"children": {"V4": ["Example.V4-corr"], "IT": ["Example.IT-corr"]},
                    "aggregator": "mean"},
        description="Mean of the V4 and IT benchmarks (Brain-Score's hierarchy).",
    ))
    return specs


def aggregators_specs() -> list[AggregatorSpec]:
    """A median aggregator: robust to one outlying benchmark."""
    specs: list[AggregatorSpec] = []
    specs.append(AggregatorSpec(
        id="example_median",
        factory="neuroalign_example.aggregator:MedianAggregator",
        description="Median of the children's values; ranks models by their median score.",
    ))
    return specs


def figures_specs() -> list[FigureSpec]:
    """A report figure: each model's V4 score against its IT score (the core's scatter)."""
    return [FigureSpec(
        id="example_v4_vs_it",
        factory="neuroalign.app.report.figures:BenchmarkScatter",
        scope="global",
        section="Example",
        benchmarks="Example.*",
        parameters={"x": "Example.V4-corr", "y": "Example.IT-corr",
                    "x_label": "V4 score", "y_label": "IT score"},
        description="V4 vs IT score of each model on the toy data.",
    )]
