"""A synthetic results database for previews, tests and the report's size benchmark.

:func:`synthetic_results` writes plausible Scores -- ceiled values with errors, per-layer
profiles peaking at a region-dependent depth, provenance with weights and data hashes, plugin
versions and wall times, and PGD robust-accuracy curves -- for ``n_models x n_benchmarks``.
Nothing here is a measurement: it only exercises the report.
"""

from __future__ import annotations

import hashlib
import math
import random
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from ...scores import Score
    from ...scoring.results import ResultsDatabase

__all__ = ["synthetic_scores", "synthetic_results"]

REGIONS = ("V1", "V2", "V4", "IT", "behavior")
EPS = [0.0, 1 / 255, 2 / 255, 4 / 255, 8 / 255, 10 / 255]


def _sha(*parts: object) -> str:
    return hashlib.sha256("/".join(map(str, parts)).encode()).hexdigest()


def synthetic_scores(n_models: int = 6, n_benchmarks: int = 5, *, seed: int = 0,
                     layers: int = 6, missing: float = 0.0, attacks: bool = True
                     ) -> list[Score]:
    """Scores of ``synthetic:mNNN`` models on ``SynthK.Region-pls`` benchmarks (+ PGD).

    ``missing`` is the fraction of (model, benchmark) cells left out (seeded); with
    ``attacks`` every model also gets a ``PGD.robust_accuracy-linf`` Score shaped like the
    attacks plugin's (attrs ``eps``, ``accuracy`` per steps, ``clean_accuracy``).
    """
    from ...scores import Provenance, Score

    rng = random.Random(seed)
    quality = [rng.random() for _ in range(n_models)]
    out = []
    for i in range(n_models):
        model = f"synthetic:m{i:03d}"
        weights = _sha("weights", model)
        names = [f"stage{k}" for k in range(layers)]
        for b in range(n_benchmarks):
            if missing and rng.random() < missing:
                continue
            region = REGIONS[b % len(REGIONS)]
            bench = f"Synth{b // len(REGIONS)}.{region}-pls"
            peak = (REGIONS.index(region) + 1) / (len(REGIONS) + 1) * (layers - 1)
            base = 0.25 + 0.5 * quality[i] + rng.gauss(0, 0.08)
            profile = {n: round(base * math.exp(-((k - peak) / (layers / 2.5)) ** 2)
                                + rng.gauss(0, 0.01), 6) for k, n in enumerate(names)}
            chosen = max(profile, key=profile.get)
            ceiling = 0.8 + 0.01 * (b % 7)
            value = profile[chosen]
            out.append(Score(
                value=value, raw=value * ceiling, ceiling=ceiling, error=abs(rng.gauss(0.02, 0.005)),
                layer=chosen, layers=profile if layers > 1 else None,
                provenance=Provenance(
                    model_id=model, model_weights_sha256=weights, benchmark_id=bench,
                    benchmark_version=1,
                    dataset_sha256={f"Synth{b // len(REGIONS)}.data": _sha("data", bench)},
                    plugins={"neuroalign-synthetic": "0.1.0"}, neuroalign_version="0.1.0",
                    seed=seed, wall_time_s=round(1 + rng.random() * 5, 3),
                    created=f"2024-01-{1 + i % 28:02d}T00:00:00+00:00")))
        if attacks:
            clean = 0.6 + 0.3 * quality[i]
            robust = 0.5 + 2 * quality[i]
            accuracy = {str(s): [round(clean * math.exp(-e * 255 / (robust * (1 + 0.1 * s ** 0.5)
                                                                     ) ** 0.8 * 0.5), 4)
                                 if e else clean for e in EPS] for s in (1, 10, 20)}
            value = sum(sum(a) / len(a) for a in accuracy.values()) / 3 / clean
            out.append(Score(
                value=value, raw=value, error=0.01, attrs={
                    "norm": "linf", "eps": EPS, "steps": [1, 10, 20], "clean_accuracy": clean,
                    "accuracy": accuracy},
                provenance=Provenance(
                    model_id=model, model_weights_sha256=weights,
                    benchmark_id="PGD.robust_accuracy-linf", benchmark_version=1,
                    plugins={"neuroalign-attacks": "0.1.0"}, neuroalign_version="0.1.0",
                    wall_time_s=30.0, created="2024-02-01T00:00:00+00:00")))
    return out


def synthetic_results(results: ResultsDatabase, n_models: int = 6, n_benchmarks: int = 5,
                      **options: object) -> ResultsDatabase:
    """Write :func:`synthetic_scores` into ``results`` (one transaction); return it."""
    results.put_many(synthetic_scores(n_models, n_benchmarks, **options))
    return results
