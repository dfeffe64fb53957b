"""Rank correlation of z-mean and mean-rank with Brain-Score's arithmetic mean (paper 001, Fig. 3).

Paper 001 reports, on 88 fully evaluated Brain-Score models, Spearman correlations with the
arithmetic-mean ranking of 0.92 (z-transformed mean) and 0.47 (mean rank), with the overall score
dominated by behavior (95.25 % explained variance vs 33.33 % for the neural score) and "extreme
outliers in the neural scores" (Fig. 2). The Brain-Score table itself is not public, so by
default this script builds a table with the paper's structure and statistics and reports what the
aggregators give on it:

* 88 models x 50 benchmarks: V1 24, V2 1, V4 4, IT 4 (33 neural, the paper's Fig. 7 group of 33)
  and 17 behavioral; ``Sim.<region>-bNN`` ids, so the built-in hierarchy groups them;
* each benchmark = its region's latent quality of the model + benchmark noise; the neural and
  behavioral latents correlate with ``r`` and their spreads have ratio ``k = sd_n / sd_b``,
  both solved so that neural and behavioral scores explain 33.33 % and 95.25 % of the variance
  of their arithmetic mean (the paper's numbers); the realised values are printed;
* ``--outliers`` models (default 3) get neural scores near 0.1 (broken or untrained models),
  the "extreme outliers" of the paper's Fig. 2.

For each seed it prints the Spearman correlation of z-mean and mean-rank with the mean at the
paper's level (``level="kinds"``: neural and behavioral scores), and, for contrast, at the
``regions`` level and flat over benchmark columns (``benchmarks``, what neuroalign did before).

``--db PATH`` instead reads a results database (``neuroalign report``'s) and reports the same
correlations on its complete models.

Run::

    .venv/bin/python benchmarks/bench_aggregation.py --seeds 20
    .venv/bin/python benchmarks/bench_aggregation.py --db results.sqlite
"""

from __future__ import annotations

import argparse
import json
import math

import numpy as np
import pandas as pd

REGIONS = {"V1": 24, "V2": 1, "V4": 4, "IT": 4, "behavior": 17}
#: paper 001, abstract and section 4
TARGET_EV = {"behavioral": 0.9525, "neural": 0.3333}
PAPER = {"zmean": 0.92, "meanrank": 0.47}


def solve_mixture(ev_b: float, ev_n: float) -> tuple[float, float]:
    """``(r, k)`` such that n, b with corr r and sd ratio k give EV(b), EV(n) of (n + b) / 2."""
    cb, cn = math.sqrt(ev_b), math.sqrt(ev_n)
    best = (math.inf, 0.0, 0.0)
    for r in np.linspace(-0.99, 0.99, 397):
        for k in np.linspace(0.01, 3.0, 600):
            d = math.sqrt(1 + k * k + 2 * r * k)
            err = ((1 + r * k) / d - cb) ** 2 + ((k + r) / d - cn) ** 2
            if err < best[0]:
                best = (err, float(r), float(k))
    return best[1], best[2]


def paper_like_table(seed: int, n_models: int = 88, outliers: int = 3) -> pd.DataFrame:
    """A model x benchmark table with paper 001's structure (see the module docstring).

    Neural benchmarks first (latent neural quality + region deviation + benchmark noise, and
    the outliers); then the behavioral score is built to correlate ``r`` with the realised
    neural score and to spread ``1 / k`` times as wide, so that the two explain the paper's
    shares of the variance of their mean; each behavioral benchmark adds its own noise.
    """
    from neuroalign.scoring.standardised import group_scores

    rng = np.random.default_rng(seed)
    r, k = solve_mixture(TARGET_EV["behavioral"], TARGET_EV["neural"])
    latent_n = rng.standard_normal(n_models)
    columns = {}
    for region, count in REGIONS.items():
        if region == "behavior":
            continue
        # V2 scores run lower than V1, V4, IT (paper 001, Fig. 6)
        base = 0.2 if region == "V2" else 0.38
        regional = latent_n + 0.3 * rng.standard_normal(n_models)
        for j in range(count):
            columns[f"Sim.{region}-b{j:02d}"] = base + 0.02 * (
                regional + 0.8 * rng.standard_normal(n_models))
    index = [f"model{i:02d}" for i in range(n_models)]
    table = pd.DataFrame(columns, index=index)
    for i in rng.choice(n_models, size=outliers, replace=False):
        table.iloc[i] = 0.1 + 0.02 * rng.standard_normal(table.shape[1])
    neural = group_scores(table, "kinds")[0]["neural"].to_numpy()
    n_std = (neural - neural.mean()) / neural.std()
    e = rng.standard_normal(n_models)
    e = e - e.mean() - (e @ n_std) / n_models * n_std
    e = e / e.std()
    target = 0.45 + neural.std() / k * (r * n_std + math.sqrt(1 - r * r) * e)
    for j in range(REGIONS["behavior"]):
        table[f"Sim.behavior-b{j:02d}"] = target + 0.3 * neural.std() / k * rng.standard_normal(
            n_models)
    return table


def correlations(table: pd.DataFrame) -> dict[str, float]:
    import neuroalign
    from neuroalign.scoring.aggregate import explained_variance
    from neuroalign.scoring.standardised import group_scores

    mean = neuroalign.rank(table, "mean")
    out: dict[str, float] = {}
    for level in ("kinds", "regions", "benchmarks"):
        for name in ("zmean", "meanrank"):
            other = neuroalign.rank(table, neuroalign.get_aggregator(
                name, parameters={"level": level}))
            keep = other.notna()
            out[f"{name}[{level}]"] = float(other[keep].corr(mean[keep], method="spearman"))
    groups, _, _ = group_scores(table, "kinds")
    overall = groups.mean(axis=1)
    for kind, value in explained_variance(groups, overall).items():
        out[f"EV[{kind}]"] = float(value)
    out["n_models"] = int(neuroalign.rank(table, "zmean").notna().sum())
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=20)
    p.add_argument("--models", type=int, default=88)
    p.add_argument("--outliers", type=int, default=3)
    p.add_argument("--db", help="a results database: report its complete models instead")
    args = p.parse_args()
    if args.db:
        from neuroalign.scoring.results import ResultsDatabase

        tidy = ResultsDatabase(args.db).query()
        table = tidy.pivot_table(index="model", columns="benchmark", values="value",
                                 aggfunc="last")
        print(json.dumps({"db": args.db, **correlations(table)}))
        return
    rows = []
    for seed in range(args.seeds):
        row = {"seed": seed, **correlations(paper_like_table(seed, args.models, args.outliers))}
        rows.append(row)
        print(json.dumps({k: round(v, 3) if isinstance(v, float) else v
                          for k, v in row.items()}))
    frame = pd.DataFrame(rows).drop(columns="seed")
    summary = {k: f"{frame[k].mean():.3f} +- {frame[k].std(ddof=1):.3f}" for k in frame.columns}
    print(json.dumps({"summary over seeds (mean +- sd)": summary, "paper_001": PAPER}))


if __name__ == "__main__":
    main()
