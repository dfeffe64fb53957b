"""Benchmarks ``NSD.{FFA,EBA,PPA,VWFA}-{ols,ridge,lasso,mlp,cnn}`` (version 1), paper 002 §2.1-2.2.

Per subject the target is the ROI's voxel- and trial-averaged response to each shared image
(z-scored betas averaged over the ROI's t > 7 voxels, then over the three trials). The 515 images
are split once, seeded, into 400 training and 115 test images (the same split for every subject
and model; ``round(n * 115 / 515)`` test images for a smaller twin). A mapping from model
features to the targets is fit on the training images and scored by Pearson r on the test
images; the raw score is the mean r over subjects, its error the SEM over subjects.

Ceiling: per subject the split-half reliability of the ROI response over the three trials: for
each of the three ways to split them (one trial vs. the mean of the other two) the Pearson r
over the 515 images, averaged, Spearman-Brown corrected (``2r / (1 + r)``); the median over
subjects is the ceiling (paper 002 Fig. 2C). ``value`` is the ceiled score (``raw**2 /
ceiling``, clipped to [0, 1], as for Majaj-Hong 2015; ``parameters["ceiling_mode"]``).

Features: ``layers=`` if given; else the model's commitment for the ROI (``region_layers``
``FFA``, ...), else its ``IT`` commitment; else every candidate layer is scored by inner
``selection_folds``-fold cross-validation on the 400 training images only (never the 115), with
``selection_mapping`` (the benchmark's own mapping for OLS and ridge, ridge for the others), and
the best layer is used. The CNN reads a layer's whole feature map, so its candidates are the
layers with at most ``cnn_max_features`` values per image (the others are listed in
``attrs["cnn_excluded_layers"]``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from neuroalign.errors import SpecError
from neuroalign import Benchmark, Model
from neuroalign import Provenance, Score

from .mappings import LASSO_ALPHAS, choose_lasso_alpha, fit_predict, pearson_columns

__all__ = ["NSDBenchmark", "split_half_ceiling", "roi_targets", "shared_split"]


def split_half_ceiling(trials: np.ndarray) -> float:
    """Spearman-Brown corrected split-half reliability of ``(3, n_images)`` trial responses."""
    trials = np.asarray(trials, dtype=np.float64)
    k = trials.shape[0]
    rs = [pearson_columns(trials[i][:, None],
                          np.delete(trials, i, axis=0).mean(axis=0)[:, None])[0]
          for i in range(k)]
    r = float(np.mean(rs))
    return 2 * r / (1 + r)


def shared_split(n: int, seed: int, n_test_at_515: int = 115) -> tuple[np.ndarray, np.ndarray]:
    """Seeded train/test indices of ``n`` images (400/115 for NSD's 515)."""
    n_test = int(round(n * n_test_at_515 / 515))
    order = np.random.default_rng(seed).permutation(n)
    return np.sort(order[n_test:]), np.sort(order[:n_test])


def roi_targets(assembly, roi: str, stimulus_ids: Sequence[str]) -> np.ndarray:
    """``(repetitions, n_images)`` ROI-mean responses of one subject, images in the given order."""
    mask = np.asarray(assembly["roi"].values).astype(str) == roi
    if not mask.any():
        return np.zeros((0, len(stimulus_ids)))
    mean = np.asarray(assembly.values[:, mask], dtype=np.float64).mean(axis=1)
    ids = np.asarray(assembly["stimulus_id"].values).astype(str)
    repetition = np.asarray(assembly["repetition"].values).astype(int)
    position = {s: i for i, s in enumerate(stimulus_ids)}
    unknown = sorted(set(ids) - set(position))
    if unknown:
        raise SpecError(f"{assembly.attrs.get('identifier', 'assembly')} has stimuli "
                        f"{unknown[:3]} that are not in the stimulus set; prepare them together")
    out = np.full((repetition.max() + 1, len(stimulus_ids)), np.nan)
    out[repetition, [position[s] for s in ids]] = mean
    if np.isnan(out).any():
        raise SpecError(f"{assembly.attrs.get('identifier', 'assembly')}: not every image has "
                        f"{out.shape[0]} repetitions")
    return out


#: layer selections made in this process (cheap to keep; keyed by everything they depend on)
_SELECTIONS: dict[tuple, tuple[str, dict[str, float]]] = {}


def _weights_hash(model: Model) -> str | None:
    weights = getattr(model, "weights_hash", None)
    try:
        return weights() if callable(weights) else None
    except Exception:  # noqa: BLE001 - a model without a hash is keyed by its object
        return None


def _model_key(model: Model) -> str:
    return f"{model.identifier}/{_weights_hash(model) or id(model)}"


class NSDBenchmark(Benchmark):
    """An NSD ROI encoding benchmark (see the module docstring).

    Parameters
    ----------
    spec : BenchmarkSpec
        ``region`` (ROI), ``dataset`` (the stimulus set), ``visual_degrees`` and, in
        ``parameters``: ``mapping``, ``subjects``, ``n_test``, ``split_seed``,
        ``selection_folds``, ``selection_mapping``, ``lasso_alphas``, ``lasso_subject``,
        ``hidden_units``, ``seed``, ``ceiling_mode``, ``reduction``.
    """

    def __init__(self, spec):
        self.spec = spec
        self._data: dict[str, Any] | None = None

    # pickled as its spec only (the data memo is rebuilt on use); shared with the sensitivity
    # benchmarks
    def __getstate__(self) -> dict[str, Any]:
        return {"spec": self.spec}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["spec"])

    @property
    def parameters(self) -> dict[str, Any]:
        """The spec's parameters (a copy)."""
        return dict(self.spec.parameters)

    def data(self) -> dict[str, Any]:
        """Stimuli, per-subject trial responses ``(3, n)`` of the ROI, ceilings, split (cached)."""
        if self._data is None:
            from neuroalign import get_dataset

            stimuli_dataset = get_dataset(self.spec.dataset)
            stimuli = stimuli_dataset.load()
            ids = stimuli.ids
            sha = dict(getattr(stimuli_dataset, "sha256", {}) or {})
            trials, subjects, empty = [], [], []
            for identifier in self.parameters["subjects"]:
                dataset = get_dataset(identifier)
                responses = roi_targets(dataset.load(), self.spec.region, ids)
                sha.update(getattr(dataset, "sha256", {}) or {})
                if responses.shape[0] == 0:
                    empty.append(identifier)
                    continue
                trials.append(responses)
                subjects.append(identifier)
            if not subjects:
                raise SpecError(f"no subject has {self.spec.region} voxels above the threshold; "
                                "prepare the data with a lower --threshold")
            train, test = shared_split(len(ids), int(self.parameters["split_seed"]),
                                       int(self.parameters["n_test"]))
            self._data = {"stimuli": stimuli, "ids": ids, "trials": np.stack(trials),
                          "subjects": subjects, "empty": empty, "sha256": sha,
                          "train": train, "test": test,
                          "ceilings": [split_half_ceiling(t) for t in trials]}
        return self._data

    def _candidates(self, model: Model, layers: Sequence[str] | None) -> tuple[list[str], str]:
        if layers is not None:
            chosen = [str(layer) for layer in layers]
            if not chosen:
                raise SpecError("layers=[] names no layer; give at least one or leave it None")
            return chosen, "given"
        committed = model.region_layers
        if self.spec.region in committed:
            return [committed[self.spec.region]], "committed"
        if "IT" in committed:
            return [committed["IT"]], "committed (IT)"
        if model.layers:
            return list(model.layers), "selected"
        raise SpecError(f"model {model.identifier!r} has no {self.spec.region} or IT commitment "
                        "and no candidate layers; pass layers=[...]")

    def _features(self, model: Model, layers: list[str], reduction: Any,
                  progress: bool | None) -> dict[str, tuple[np.ndarray, tuple | None]]:
        data = self.data()
        acts = model.activations(data["stimuli"], layers, visual_degrees=self.spec.visual_degrees,
                                 reduction=reduction, progress=progress)
        order = {s: i for i, s in enumerate(np.asarray(acts["stimulus_id"].values).astype(str))}
        rows = [order[s] for s in data["ids"]]
        values = np.asarray(acts.transpose("presentation", "neuroid").values)[rows]
        layer_of = np.asarray(acts["layer"].values).astype(str)
        out = {}
        for layer in layers:
            columns = np.flatnonzero(layer_of == layer)
            shape = None
            if "channel_y" in acts.coords:
                cy = np.asarray(acts["channel_y"].values)[columns]
                if (cy >= 0).all():
                    c = np.asarray(acts["channel"].values)[columns]
                    cx = np.asarray(acts["channel_x"].values)[columns]
                    shape = (int(c.max()) + 1, int(cy.max()) + 1, int(cx.max()) + 1)
            out[layer] = (values[:, columns].astype(np.float64), shape)
        return out

    def _cnn_candidates(self, model: Model, candidates: list[str], limit: int,
                        progress: bool | None) -> tuple[list[str], dict[str, int]]:
        """Candidates whose unreduced feature map has at most ``limit`` values per image.

        The CNN reads the whole map, so the map of every image is kept in memory; the sizes come
        from one image's unreduced activations.
        """
        probe = self.data()["stimuli"].subset(self.data()["ids"][:1])
        acts = model.activations(probe, candidates, visual_degrees=self.spec.visual_degrees,
                                 reduction=None, progress=False)
        layer_of = np.asarray(acts["layer"].values).astype(str)
        sizes = {layer: int((layer_of == layer).sum()) for layer in candidates}
        kept = [layer for layer in candidates if sizes[layer] <= limit]
        if not kept:
            raise SpecError(f"every candidate layer of {model.identifier!r} has a feature map "
                            f"larger than cnn_max_features={limit} ({sizes}); pass layers=[...] "
                            "with a smaller layer")
        return kept, {layer: n for layer, n in sizes.items() if n > limit}

    def _select(self, features, y_train, train) -> tuple[str, dict[str, float]]:
        from sklearn.model_selection import KFold

        p = self.parameters
        folds = KFold(int(p["selection_folds"]), shuffle=True, random_state=int(p["seed"]))
        per_layer = {}
        for layer, (x, shape) in features.items():
            xt = x[train]
            rs = []
            for inner_train, inner_test in folds.split(xt):
                predicted, _ = fit_predict(p["selection_mapping"], xt[inner_train],
                                           y_train[inner_train], xt[inner_test],
                                           hidden_units=int(p["hidden_units"]),
                                           seed=int(p["seed"]), feature_shape=shape)
                rs.append(pearson_columns(predicted, y_train[inner_test]))
            per_layer[layer] = float(np.mean(rs))
        return max(per_layer, key=per_layer.get), per_layer

    def __call__(self, model: Model, *, layers: Sequence[str] | None = None,
                 progress: bool | None = None) -> Score:
        """Score ``model``; ``layers`` overrides its commitments (several: inner-CV selection)."""
        import time

        start = time.perf_counter()
        p = self.parameters
        data = self.data()
        train, test = data["train"], data["test"]
        targets = data["trials"].mean(axis=1).T  # images x subjects
        candidates, policy = self._candidates(model, layers)
        mapping = p["mapping"]
        excluded: dict[str, int] = {}
        if mapping == "cnn":
            candidates, excluded = self._cnn_candidates(model, candidates,
                                                        int(p["cnn_max_features"]), progress)
        features = self._features(model, candidates, p.get("reduction", "pca"), progress)
        per_layer = None
        chosen = candidates[0]
        if len(candidates) > 1:
            # the ROI's benchmarks with the same selection mapping share one selection
            key = (_model_key(model), self.spec.region, p["selection_mapping"],
                   tuple(candidates), str(p.get("reduction", "pca")), int(p["split_seed"]),
                   int(p["selection_folds"]), int(p["seed"]),
                   tuple(sorted(data["sha256"].values())))
            if key not in _SELECTIONS:
                _SELECTIONS[key] = self._select(features, targets[train], train)
            chosen, per_layer = _SELECTIONS[key]
            per_layer = dict(per_layer)
        x, shape = features[chosen]
        if mapping == "cnn" and shape is None and p.get("reduction", "pca") is not None:
            x, shape = self._features(model, [chosen], None, progress)[chosen]
        details: dict[str, Any] = {}
        alpha = None
        if mapping == "lasso":
            subjects = data["subjects"]
            which = p["lasso_subject"] if p["lasso_subject"] in subjects else subjects[0]
            column = subjects.index(which)
            alpha, curve = choose_lasso_alpha(x[train], targets[train, column],
                                              p.get("lasso_alphas", LASSO_ALPHAS),
                                              int(p["selection_folds"]), int(p["seed"]))
            details.update({"lasso_alpha_subject": which, "lasso_alpha_cv_r": curve})
        predicted, notes = fit_predict(mapping, x[train], targets[train], x[test],
                                       lasso_alpha=alpha, hidden_units=int(p["hidden_units"]),
                                       seed=int(p["seed"]), feature_shape=shape)
        details.update(notes)
        r = pearson_columns(predicted, targets[test])
        raw_value = float(np.mean(r))
        error = float(np.std(r, ddof=1) / math.sqrt(len(r))) if len(r) > 1 else float("nan")
        ceiling_value = float(np.median(data["ceilings"]))
        from neuroalign_neural import ceiled_score

        raw = Score(value=raw_value, raw=raw_value, error=error, splits=[float(v) for v in r])
        ceiling = Score(value=ceiling_value, raw=ceiling_value)
        result = ceiled_score(raw, ceiling, mode=p.get("ceiling_mode", "explained_variance"))
        attrs = dict(result.attrs)
        attrs.update({
            "roi": self.spec.region, "mapping": mapping, "layer_policy": policy,
            "candidate_layers": candidates, "subjects": dict(zip(data["subjects"],
                                                                 map(float, r))),
            "subject_ceilings": dict(zip(data["subjects"], map(float, data["ceilings"]))),
            "n_train": int(len(train)), "n_test": int(len(test)),
            "split_seed": int(p["split_seed"]), "visual_degrees": self.spec.visual_degrees,
            "reduction": str(p.get("reduction", "pca")), "feature_shape": shape,
            "n_features": int(x.shape[1]), **details,
        })
        if excluded:
            attrs["cnn_excluded_layers"] = excluded
        if data["empty"]:
            attrs["subjects_without_voxels"] = data["empty"]
        if per_layer is not None:
            attrs.update({"selection": f"{p['selection_folds']}-fold CV on the training images",
                          "selection_mapping": p["selection_mapping"]})
        provenance = Provenance.here(
            model_id=model.identifier, model_weights_sha256=_weights_hash(model),
            benchmark_id=self.spec.id,
            benchmark_version=self.spec.version, dataset_sha256=data["sha256"],
            seed=int(p["seed"]), wall_time_s=time.perf_counter() - start)
        return result.model_copy(update={"layer": chosen, "layers": per_layer, "attrs": attrs,
                                         "provenance": provenance,
                                         "splits": [float(v) for v in r]})
