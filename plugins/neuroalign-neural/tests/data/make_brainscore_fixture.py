"""Generate ``brainscore_fixture.npz``: small inputs and brainscore-vision 2.4.2's scores on them.

Not run in CI: it needs brainscore-vision, which neuroalign does not depend on. How it was run::

    python3 -m venv /tmp/bsvenv
    /tmp/bsvenv/bin/pip install "numpy<2" "scipy<1.14" "scikit-learn==1.5.2" "xarray==2022.3.0" \\
        "pandas==1.5.3" tqdm netCDF4 PyYAML Pillow boto3 requests psutil result_caching
    /tmp/bsvenv/bin/pip install --no-deps brainscore-vision==2.4.2 brainscore-core==2.5.0
    /tmp/bsvenv/bin/python plugins/neuroalign-neural/tests/data/make_brainscore_fixture.py

The inputs are synthetic: 200 stimuli in 8 objects, a 50-feature source, and 20 neuroids that are
noisy linear read-outs of the source, recorded over 5 repetitions (an odd count, so the two
halves of the ceiling differ in size as in Brain-Score). Values are stored as float32 and both
libraries compute from the stored values. The target of ``pls`` is the repetition average, the
source is stored in a shuffled stimulus order (both libraries align by ``stimulus_id``).
Expected values are those brainscore-vision returns: ``CrossRegressedCorrelation(
pls_regression(), pearsonr_correlation())`` (its ``pls`` metric) and ``InternalConsistency()``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

OUT = Path(__file__).with_name("brainscore_fixture.npz")
N_STIMULI, N_FEATURES, N_NEUROIDS, N_REPETITIONS, N_OBJECTS = 200, 50, 20, 5, 8


def make_inputs(seed: int = 2024) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    objects = np.array([f"obj{i}" for i in range(N_OBJECTS)])[np.arange(N_STIMULI) % N_OBJECTS]
    stimulus_ids = np.array([f"im{i:04d}" for i in rng.permutation(N_STIMULI)])
    # source: correlated features with an object-dependent mean
    mixing = rng.normal(size=(N_FEATURES, N_FEATURES)) / np.sqrt(N_FEATURES)
    object_means = rng.normal(size=(N_OBJECTS, N_FEATURES))
    codes = np.searchsorted(np.unique(objects), objects)
    source = rng.normal(size=(N_STIMULI, N_FEATURES)) @ mixing + 0.7 * object_means[codes] + 3.0
    readout = rng.normal(size=(N_FEATURES, N_NEUROIDS)) * (rng.random((N_FEATURES, N_NEUROIDS)) < 0.3)
    signal = source @ readout + rng.normal(size=(N_STIMULI, N_NEUROIDS)) * 2.0
    signal = (signal - signal.mean(0)) / signal.std(0)
    noise = rng.normal(size=(N_REPETITIONS, N_STIMULI, N_NEUROIDS)) * rng.uniform(0.8, 2.0, N_NEUROIDS)
    trials = (signal[None] + noise).reshape(-1, N_NEUROIDS)  # repetition-major rows
    order = rng.permutation(N_STIMULI)  # the source comes in another stimulus order
    return {
        "source": source[order].astype(np.float32),
        "source_stimulus_id": stimulus_ids[order],
        "source_object_name": objects[order],
        "assembly": trials.astype(np.float32),
        "assembly_stimulus_id": np.tile(stimulus_ids, N_REPETITIONS),
        "assembly_object_name": np.tile(objects, N_REPETITIONS),
        "assembly_repetition": np.repeat(np.arange(N_REPETITIONS), N_STIMULI),
        "neuroid_id": np.array([f"site{i:02d}" for i in range(N_NEUROIDS)]),
    }


def brainscore_expected(inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    from brainscore_core.supported_data_standards.brainio.assemblies import NeuroidAssembly
    from brainscore_vision.benchmark_helpers.neural_common import average_repetition
    from brainscore_vision.metrics.internal_consistency.ceiling import InternalConsistency
    from brainscore_vision.metrics.regression_correlation.metric import (
        CrossRegressedCorrelation,
        pearsonr_correlation,
        pls_regression,
    )

    source = NeuroidAssembly(
        inputs["source"].astype(np.float64),
        coords={"stimulus_id": ("presentation", inputs["source_stimulus_id"]),
                "object_name": ("presentation", inputs["source_object_name"]),
                "neuroid_id": ("neuroid", [f"f{i}" for i in range(inputs["source"].shape[1])]),
                "layer": ("neuroid", ["features"] * inputs["source"].shape[1])},
        dims=["presentation", "neuroid"])
    assembly = NeuroidAssembly(
        inputs["assembly"].astype(np.float64),
        coords={"stimulus_id": ("presentation", inputs["assembly_stimulus_id"]),
                "object_name": ("presentation", inputs["assembly_object_name"]),
                "repetition": ("presentation", inputs["assembly_repetition"]),
                "neuroid_id": ("neuroid", inputs["neuroid_id"]),
                "region": ("neuroid", ["IT"] * len(inputs["neuroid_id"]))},
        dims=["presentation", "neuroid"])
    target = average_repetition(assembly)
    pls = CrossRegressedCorrelation(regression=pls_regression(), correlation=pearsonr_correlation())
    score = pls(source, target)
    raw = score.raw.transpose("split", "neuroid").sortby("neuroid_id")
    ceiling = InternalConsistency()(assembly)
    ceiling_raw = ceiling.raw.transpose("split", "neuroid").sortby("neuroid_id")
    return {
        "pls_value": np.float64(score.values),
        "pls_error": np.float64(score.attrs["error"]),
        "pls_splits": raw.median("neuroid").values,
        "pls_per_split_neuroid": raw.values,
        "pls_neuroid_id": raw["neuroid_id"].values.astype(str),
        "target_stimulus_order": target["stimulus_id"].values.astype(str),
        "ceiling_value": np.float64(ceiling.values),
        "ceiling_error": np.float64(ceiling.attrs["error"]),
        "ceiling_splits": ceiling_raw.median("neuroid").values,
        "ceiling_per_split_neuroid": ceiling_raw.values,
    }


def main() -> None:
    inputs = make_inputs()
    expected = {f"expected_{k}": v for k, v in brainscore_expected(inputs).items()}
    np.savez_compressed(OUT, **inputs, **expected)
    print(f"wrote {OUT} ({OUT.stat().st_size / 1024:.0f} KiB): pls "
          f"{expected['expected_pls_value']:.6f} +- {expected['expected_pls_error']:.6f}, ceiling "
          f"{expected['expected_ceiling_value']:.6f} +- {expected['expected_ceiling_error']:.6f}")


if __name__ == "__main__":
    main()
