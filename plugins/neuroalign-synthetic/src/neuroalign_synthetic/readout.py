"""Noisy linear read-outs of a layer: synthetic recording sites with known reliability.

A site's mean firing rate is a linear read-out of a network layer's activations::

    z_i(x)    = w_i . (a(x) - a_ref_mean)           standardised on a reference image set
    rate_i(x) = gain_i * (baseline_i + z_i(x))      spikes / s

The read-out weights live in a low-dimensional *latent* subspace of the layer's leading principal
components (estimated on a fixed reference image set), like real populations whose responses
share a few dominant dimensions. That keeps the ground truth recoverable by a 25-component PLS
and makes different sites correlated, as in the real data.

Single trials add Poisson-like noise (variance proportional to the rate, a per-site Fano factor)::

    r_i,t(x) = rate_i(x) + sqrt(fano_i * max(rate_i(x), floor_i)) * eps,   eps ~ N(0, 1)

Each site draws a target *reliability* rho_i (the squared correlation between its trial-averaged
response and its true rate), logit-normal around a median; the Fano factor is then set from the
number of trials so that the reliability of the n-trial mean is rho_i whatever n is::

    noise variance per trial = var(rate_i) * n * (1 - rho_i) / rho_i

Brain-Score's split-half internal consistency with Spearman-Brown correction estimates exactly
this reliability, so a population with median rho = .89 gives a ceiling near .89.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["SitePopulation", "make_sites", "mean_rates", "trial_responses",
           "split_half_reliability"]


@dataclass(frozen=True)
class SitePopulation:
    """Read-out sites of one layer (arrays are per feature or per site)."""

    layer: str
    center: np.ndarray  #: (features,) reference mean of the activations
    weights: np.ndarray  #: (features, sites) read-out weights, z = (a - center) @ weights
    baseline: np.ndarray  #: (sites,) offset in z units, keeps rates positive
    gain: np.ndarray  #: (sites,) spikes/s per z unit
    reliability: np.ndarray  #: (sites,) target reliability of the trial-averaged response
    rate_mean: np.ndarray  #: (sites,) mean rate on the reference set
    rate_var: np.ndarray  #: (sites,) rate variance on the reference set

    @property
    def n_sites(self) -> int:
        return int(self.weights.shape[1])


def make_sites(
    reference: np.ndarray,
    n_sites: int,
    *,
    layer: str,
    seed: int,
    latent_dim: int = 8,
    n_components: int = 40,
    reliability: float = 0.85,
    spread: float = 0.6,
    decay: float = 0.0,
) -> SitePopulation:
    """Draw ``n_sites`` read-out sites of a layer.

    Parameters
    ----------
    reference : numpy.ndarray
        ``(n_images, features)`` activations of the layer on a fixed reference image set.
    n_sites : int
        Number of sites.
    layer : str
        Layer name (recorded).
    seed : int
        Seeds the read-out weights, gains, baselines and reliabilities.
    latent_dim : int
        Dimension of the subspace the read-outs span.
    n_components : int
        Leading principal components of ``reference`` the latent subspace lives in.
    reliability : float
        Median target reliability of the sites (split-half ceiling after Spearman-Brown).
    spread : float
        Standard deviation of the site reliabilities on the logit scale.
    decay : float
        Standardised principal component ``k`` (1-based) is weighted by ``k ** -decay``: 0
        weighs the leading components equally, larger values favour the first ones (which
        every network shares, e.g. global luminance and contrast).

    Returns
    -------
    SitePopulation
    """
    reference = np.asarray(reference, dtype=np.float64)
    if reference.ndim != 2 or reference.shape[0] < 3:
        raise ValueError(
            f"reference must be (n_images >= 3, features); found shape {reference.shape}")
    if not 0.0 < reliability < 1.0:
        raise ValueError(f"reliability must be in (0, 1); found {reliability}")
    rng = np.random.Generator(np.random.PCG64(seed))
    center = reference.mean(axis=0)
    centred = reference - center
    # a small SVD: one BLAS thread (multi-threaded OpenBLAS can be 100x slower on a busy machine)
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        _, singular, vt = np.linalg.svd(centred, full_matrices=False)
    keep = int(min(n_components, np.sum(singular > singular[0] * 1e-6)))
    if keep < 1:
        raise ValueError(f"layer {layer!r} has constant activations on the reference set")
    # standardised PC scores, gently down-weighted with rank so leading PCs dominate
    scale = np.sqrt(reference.shape[0] - 1) / singular[:keep] * (np.arange(keep) + 1.0) ** -decay
    to_scores = vt[:keep].T * scale  # features x keep
    latent = rng.standard_normal((keep, min(latent_dim, keep)))
    mixing = rng.standard_normal((latent.shape[1], n_sites))
    weights = to_scores @ (latent @ mixing)
    z = centred @ weights
    weights = weights / z.std(axis=0, ddof=1)
    baseline = rng.uniform(2.5, 4.0, size=n_sites)
    gain = rng.uniform(5.0, 20.0, size=n_sites)
    logit = np.log(reliability / (1 - reliability)) + spread * rng.standard_normal(n_sites)
    rho = np.clip(1.0 / (1.0 + np.exp(-logit)), 0.05, 0.995)
    rates = gain * (baseline + centred @ weights)
    return SitePopulation(
        layer=layer, center=center, weights=weights, baseline=baseline, gain=gain,
        reliability=rho, rate_mean=rates.mean(axis=0), rate_var=rates.var(axis=0, ddof=1),
    )


def mean_rates(population: SitePopulation, activations: np.ndarray) -> np.ndarray:
    """Noise-free rates ``(n_images, sites)`` of the sites for ``activations`` of their layer."""
    activations = np.asarray(activations, dtype=np.float64)
    if activations.shape[-1] != population.center.shape[0]:
        raise ValueError(
            f"activations of layer {population.layer!r} have {activations.shape[-1]} features; "
            f"the sites were drawn on {population.center.shape[0]}"
        )
    z = (activations - population.center) @ population.weights
    return population.gain * (population.baseline + z)


def trial_responses(
    population: SitePopulation, activations: np.ndarray, n_trials: int, *, seed: int
) -> np.ndarray:
    """Single-trial responses ``(n_trials, n_images, sites)`` with Poisson-like noise.

    The noise is calibrated so the reliability of the ``n_trials`` mean is the population's
    target reliability (see the module docstring).
    """
    if n_trials < 2:
        raise ValueError(f"need at least 2 trials for a split-half ceiling; found {n_trials}")
    rng = np.random.Generator(np.random.PCG64(seed))
    rates = mean_rates(population, activations)
    rho = population.reliability
    noise_var = population.rate_var * n_trials * (1 - rho) / rho
    fano = noise_var / population.rate_mean
    floor = 0.05 * population.rate_mean
    sd = np.sqrt(fano * np.maximum(rates, floor))
    noise = rng.standard_normal((n_trials,) + rates.shape)
    return (rates[None] + sd[None] * noise).astype(np.float32)


def split_half_reliability(trials: np.ndarray, *, seed: int = 0) -> np.ndarray:
    """Spearman-Brown corrected split-half reliability per site of ``(n_trials, n, sites)``.

    A quick check of the calibration (the benchmark's ceiling is computed by the neural
    plugin's ``internal_consistency``).
    """
    rng = np.random.Generator(np.random.PCG64(seed))
    order = rng.permutation(trials.shape[0])
    half = trials.shape[0] // 2
    a = trials[order[:half]].mean(axis=0)
    b = trials[order[half:2 * half]].mean(axis=0)
    a = (a - a.mean(0)) / a.std(0)
    b = (b - b.mean(0)) / b.std(0)
    r = (a * b).mean(axis=0)
    return 2 * r / (1 + r)
