"""Benchmarks ``NSD.{FFA,EBA,PPA,VWFA}-fgsm_sensitivity[_<mapping>]`` (paper 002 §2.3, Fig. 3).

Per ROI and subject the encoding model is ``g(f(x))``: the model's network ``f`` cut at the
chosen layer (its raw, flattened output: no PCA, so ``f`` and ``g`` form one differentiable
module) and the mapping ``g`` fit, as in ``NSD.<ROI>-<mapping>``, on the 400 training images
(same seeded split, same targets: the ROI's voxel- and trial-averaged response). Each of the 115
held-out images is attacked with FGSM at every budget in ``epsilons`` (1, 2, 3 / 255) and the
sensitivity ``s = g(f(x)) - g(f(x + delta))`` recorded, with the shuffled-perturbation control
(:mod:`neuroalign_nsd.sensitivity`).

Where the attack happens: in the model's input pixel space. The NSD image (8.4 degrees) is first
placed for the model's field of view and resized/cropped to its input size exactly as for
feature extraction (:func:`neuroalign.stimuli.place`, without the normalisation), giving pixels
in [0, 1]; the perturbation is added there, clamped to [0, 1], and the model's mean/std applied
inside the differentiable encoder. An epsilon of 3/255 is therefore 3/255 of the model's input
range, not of the original 425 px NSD image.

Score: the mean sensitivity at ``score_epsilon`` (3/255) over the test images and subjects;
error: SEM over subjects. Higher sensitivity is *less* robust: the spec says
``higher_is_better=False``. ``attrs`` keep the whole curve (targeted and shuffled, per subject),
the targeted/shuffled ratio, the encoding models' predictivity (Pearson r on the 115 images) and
the pass counts.

The four ROIs of one (model, mapping, layer) are attacked together and cached in the process:
one forward pass through ``f`` per batch serves all 4 x 8 objectives.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
from neuroalign import Benchmark, Model, Provenance, Score

from .benchmarks import NSDBenchmark
from .mappings import LASSO_ALPHAS, choose_lasso_alpha, pearson_columns

__all__ = ["NSDSensitivityBenchmark", "model_pixels", "encoding_model"]

#: parameters the predictivity benchmark NSD.<ROI>-<mapping> takes from this one
_SHARED = ("subjects", "n_test", "split_seed", "selection_folds", "selection_mapping",
           "lasso_alphas", "lasso_subject", "hidden_units", "cnn_max_features", "seed")
#: (model key, mapping, layer, rois, parameters) -> results of all ROIs (see __call__)
_RESULTS: dict[tuple, dict[str, Any]] = {}


def model_pixels(model: Model, stimuli, image_degrees: float) -> Any:
    """The stimuli as the model sees them, before normalisation: float pixels in [0, 1]."""
    from neuroalign import Preprocessing
    from neuroalign.stimuli import place

    pre = model.preprocessing
    identity = Preprocessing.model_validate({**pre.model_dump(), "mean": (0.0, 0.0, 0.0),
                                             "std": (1.0, 1.0, 1.0)})
    pixels = place(stimuli.images(), image_degrees=image_degrees,
                   model_degrees=model.visual_degrees, preprocessing=identity, device="cpu")
    return pixels.clamp_(0.0, 1.0)


def _module(model: Model):
    from .sensitivity import SensitivityError

    module = getattr(model, "module", None)
    if not callable(module):
        raise SensitivityError(f"model {model.identifier!r} has no torch module (Model.module());"
                               " the sensitivity benchmarks attack torch models only")
    return module()


def encoding_model(model: Model, layer: str, readout, module: Any = None) -> Any:
    """``EncodingModel`` of ``model`` (or of ``module``, e.g. its batch-norm-folded copy) cut at
    ``layer`` with ``readout``, in pixel space."""
    from .sensitivity import EncodingModel, Trunk

    pre = model.preprocessing
    return EncodingModel(Trunk(_module(model) if module is None else module, layer), readout,
                         pre.mean, pre.std)


def _features(encoder, pixels, batch_size: int) -> tuple[np.ndarray, tuple | None]:
    """Raw features ``(n, F)`` of the encoder's trunk, and the layer's ``(C, H, W)`` if 3-D."""
    import torch

    with torch.no_grad():
        rows = [encoder.features(pixels[i:i + batch_size]).double().numpy()
                for i in range(0, len(pixels), batch_size)]
    shape = encoder.trunk.output_shape
    return np.concatenate(rows), (tuple(shape) if shape is not None and len(shape) == 3
                                  else None)


class _Concat:
    """Read-outs of several ROIs side by side (a torch module built lazily)."""

    @staticmethod
    def build(readouts):
        import torch
        from torch import nn

        class Concat(nn.Module):
            def __init__(self, parts):
                super().__init__()
                self.parts = nn.ModuleList(parts)

            def forward(self, features):
                return torch.cat([p(features) for p in self.parts], dim=1)

        return Concat(readouts)


class NSDSensitivityBenchmark(Benchmark):
    """An NSD FGSM-sensitivity benchmark (see the module docstring).

    Parameters
    ----------
    spec : BenchmarkSpec
        ``region`` (ROI) and, in ``parameters``: ``mapping``, ``rois`` (attacked together),
        ``epsilons``, ``score_epsilon``, ``shuffle_seed``, ``batch_size``, ``gradient``, and the
        predictivity benchmark's ``subjects``, ``n_test``, ``split_seed``, ``lasso_alphas``,
        ``lasso_subject``, ``selection_folds``, ``hidden_units``, ``seed``.
    """

    def __init__(self, spec):
        self.spec = spec
        self._bench: dict[str, Any] = {}

    __getstate__ = NSDBenchmark.__getstate__
    __setstate__ = NSDBenchmark.__setstate__
    parameters = NSDBenchmark.parameters

    def _predictivity(self, roi: str):
        """``NSD.<roi>-<mapping>`` with this benchmark's shared parameters (split, subjects...)."""
        if roi not in self._bench:
            from neuroalign import get_benchmark

            from .benchmarks import NSDBenchmark

            base = get_benchmark(f"NSD.{roi}-{self.parameters['mapping']}").spec
            shared = {k: v for k, v in self.parameters.items() if k in _SHARED}
            self._bench[roi] = NSDBenchmark(base.with_parameters(shared))
        return self._bench[roi]

    def _layer(self, model: Model, layers: Sequence[str] | None, roi: str,
               progress: bool | None) -> tuple[str, str]:
        from .sensitivity import SensitivityError

        if layers is not None and len(layers) == 1:
            return str(layers[0]), "given"
        if layers is None:
            committed = model.region_layers
            if roi in committed:
                return committed[roi], "committed"
            if "IT" in committed:
                return committed["IT"], "committed (IT)"
        if layers is not None and not list(layers):
            raise SensitivityError("layers=[] names no layer; give at least one or leave it None")
        # several candidates: the layer NSD.<ROI>-<mapping> selects (inner CV, training images)
        score = self._predictivity(roi)(model, layers=layers, progress=progress)
        return str(score.layer), "selected by " + self._predictivity(roi).spec.id

    def _run(self, model: Model, layer: str, rois: list[str], progress: bool | None) -> dict:
        import torch

        from .sensitivity import fgsm_sensitivity, fit_readout, fold_batchnorm

        p = self.parameters
        bench = {roi: self._predictivity(roi) for roi in rois}
        data = {roi: b.data() for roi, b in bench.items()}
        first = data[rois[0]]
        stimuli, train, test = first["stimuli"], first["train"], first["test"]
        pixels = model_pixels(model, stimuli, float(self.spec.visual_degrees or stimuli.degrees))
        # the read-outs are fit on, and the attack runs through, the same (folded) network
        network, folded = _module(model), []
        if p.get("fold_batchnorm", True):
            network, folded = fold_batchnorm(network, keep=[layer])
        x, shape = _features(encoding_model(model, layer, torch.nn.Identity(), network), pixels,
                             int(p.get("batch_size", 16)))
        readouts, labels, predictivity, details = [], [], {}, {}
        for roi in rois:
            targets = data[roi]["trials"].mean(axis=1).T  # images x subjects
            subjects = data[roi]["subjects"]
            alpha = None
            if p["mapping"] == "lasso":
                which = p["lasso_subject"] if p["lasso_subject"] in subjects else subjects[0]
                alpha, curve = choose_lasso_alpha(
                    x[train], targets[train, subjects.index(which)],
                    p.get("lasso_alphas", LASSO_ALPHAS), int(p["selection_folds"]),
                    int(p["seed"]))
                details[roi] = {"lasso_alpha_subject": which, "lasso_alpha_cv_r": curve}
            readout, notes = fit_readout(p["mapping"], x[train], targets[train],
                                         lasso_alpha=alpha, hidden_units=int(p["hidden_units"]),
                                         seed=int(p["seed"]), feature_shape=shape)
            details.setdefault(roi, {}).update(notes)
            with torch.no_grad():
                predicted = readout(torch.as_tensor(x[test], dtype=torch.float32)).double()
            predictivity[roi] = dict(zip(subjects, map(float, pearson_columns(
                predicted.numpy(), targets[test]))))
            readouts.append(readout)
            labels += [(roi, s) for s in subjects]
        encoder = encoding_model(model, layer, _Concat.build(readouts), network)
        start = time.perf_counter()
        result = fgsm_sensitivity(encoder, pixels[test], p["epsilons"],
                                  seed=int(p["shuffle_seed"]),
                                  batch_size=int(p.get("batch_size", 16)),
                                  gradient=str(p.get("gradient", "loop")),
                                  memory_format=str(p.get("memory_format", "auto")))
        result.update(labels=labels, predictivity=predictivity, details=details,
                      attack_s=time.perf_counter() - start, n_features=int(x.shape[1]),
                      folded_batchnorm=len(folded),
                      feature_shape=shape, n_train=int(len(train)), n_test=int(len(test)))
        return result

    def __call__(self, model: Model, *, layers: Sequence[str] | None = None,
                 progress: bool | None = None) -> Score:
        """Score ``model`` (the four ROIs are computed together and cached per process)."""
        from .benchmarks import _model_key, _weights_hash

        start = time.perf_counter()
        p = self.parameters
        roi = self.spec.region
        layer, policy = self._layer(model, layers, roi, progress)
        rois = [r for r in p.get("rois", [roi])]
        if roi not in rois:
            rois.append(roi)
        # only ROIs whose layer is the same share the pass; others are attacked on their call
        shared = [r for r in rois if r == roi or (layers is not None and len(layers) == 1)
                  or self._layer(model, layers, r, progress)[0] == layer]
        data = self._predictivity(roi).data()
        import json

        # every parameter is the same across the ROIs of one mapping: they share the results
        key = (_model_key(model), layer, tuple(sorted(shared)),
               json.dumps(p, sort_keys=True, default=str),
               tuple(sorted(data["sha256"].values())))
        if key not in _RESULTS:
            _RESULTS[key] = self._run(model, layer, sorted(shared), progress)
        result = _RESULTS[key]
        columns = [i for i, (r, _) in enumerate(result["labels"]) if r == roi]
        subjects = [result["labels"][i][1] for i in columns]
        eps = [float(e) for e in result["epsilons"]]
        target_eps = float(p["score_epsilon"])
        at = int(np.argmin([abs(e - target_eps) for e in eps]))
        targeted = result["targeted"][:, :, columns].mean(axis=1)  # eps x subjects
        shuffled = result["shuffled"][:, :, columns].mean(axis=1)
        per_subject = targeted[at]
        value = float(per_subject.mean())
        error = (float(per_subject.std(ddof=1) / math.sqrt(len(per_subject)))
                 if len(per_subject) > 1 else float("nan"))
        control = float(shuffled[at].mean())
        ratio = value / control if control > 0 else float("nan")
        r = result["predictivity"][roi]
        attrs: dict[str, Any] = {
            "roi": roi, "mapping": p["mapping"], "layer_policy": policy, "higher_is_better": False,
            "kind": "adversarial", "region": roi,
            "epsilons": eps, "score_epsilon": eps[at],
            "curve": [float(v) for v in targeted.mean(axis=1)],
            "curve_sem": [float(v.std(ddof=1) / math.sqrt(len(v))) if len(v) > 1 else float("nan")
                          for v in targeted],
            "shuffled_curve": [float(v) for v in shuffled.mean(axis=1)],
            "shuffled": control, "targeted_to_shuffled": ratio,
            "subjects": dict(zip(subjects, map(float, per_subject))),
            "subjects_curve": {s: [float(v) for v in targeted[:, i]]
                               for i, s in enumerate(subjects)},
            "subjects_shuffled": dict(zip(subjects, map(float, shuffled[at]))),
            "predictivity": float(np.mean(list(r.values()))), "subjects_predictivity": r,
            "n_train": result["n_train"], "n_test": result["n_test"],
            "n_features": result["n_features"], "feature_shape": result["feature_shape"],
            "shuffle_seed": int(p["shuffle_seed"]), "attack_wall_s": result["attack_s"],
            "attacked_rois": sorted({r_ for r_, _ in result["labels"]}),
            "passes": result["passes"], "memory_format": result["memory_format"],
            "folded_batchnorm": result["folded_batchnorm"],
            **result["details"].get(roi, {}),
        }
        provenance = Provenance.here(
            model_id=model.identifier, model_weights_sha256=_weights_hash(model),
            benchmark_id=self.spec.id, benchmark_version=self.spec.version,
            dataset_sha256=data["sha256"], seed=int(p["seed"]),
            wall_time_s=time.perf_counter() - start)
        return Score(value=value, raw=value, error=error, layer=layer,
                     splits=[float(v) for v in per_subject], attrs=attrs, provenance=provenance)
