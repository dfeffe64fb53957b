"""``ClickMe.{tolerance,alignment}-{pgd_l2,pgd_linf,cw_l2}`` (paper 003).

Per image of ``ClickMe.eval1000`` (1,000 images, one per ImageNet class):

* ``pgd_l2``: :func:`~.search.tolerance_search`, the reference minimal-eps search (eps 10, then 1,
  then bisection; 3-step L2 PGD, alpha 0.5, sphere projection by default);
* ``pgd_linf``: ``neuroalign_attacks.min_eps`` with ``norm="linf"`` (paper 003 gives no Linf
  schedule: bisection over [1e-4, 1] to 1e-4, 3 steps of 2.5 eps / 3);
* ``cw_l2``: ``neuroalign_attacks.cw_l2`` (its perturbation is minimal by construction; its
  search over c is the attack's own).

Tolerance: mean L2 (Linf for ``pgd_linf``) of the successful minimal perturbations. Alignment:
mean Spearman rho between ``|channel mean of delta|`` and the ClickMe map at 224 px, over the
same images; ``attrs["alignment_score"]`` = rho / 0.6575 (Harmonization's human ceiling).
Images the model already gets wrong and images no attack fools (failures) are left out of both
means and counted in ``attrs``.

Labels: on real data, the record's ImageNet label against the model's own 1000-way head; on the
synthetic twin (``attrs["synthetic"]``), the model's own clean decision (its read-out), so no
image starts misclassified. The attacked decision is always the module's output argmax.
"""

from __future__ import annotations

import collections
import time
from typing import Any

import numpy as np
import torch

from neuroalign import Benchmark, BenchmarkSpec, Model
from neuroalign import Provenance, Score

from .alignment import alignment
from .preprocessing import IMAGE_SIZE, preprocess_heatmaps, preprocess_images
from .search import FAILURE, MISCLASSIFIED, PROJECTIONS, SUCCESS, tolerance_search
from .specs import ATTACKS, HUMAN_CEILING

__all__ = ["ClickMeBenchmark", "run_attack", "clear_cache"]

#: (model id, weights hash, dataset, attack settings, n_images) -> per-image results; tolerance
#: and alignment of one attack share one search
_CACHE: collections.OrderedDict[tuple, dict[str, Any]] = collections.OrderedDict()
_CACHE_SIZE = 8


def clear_cache() -> None:
    """Forget the per-image attack results kept for the sibling benchmark."""
    _CACHE.clear()


def _resize(images: torch.Tensor, size: int, interpolation: str) -> torch.Tensor:
    if images.shape[-1] == size:
        return images
    mode = interpolation if interpolation in ("bilinear", "bicubic", "nearest") else "bilinear"
    extra = {} if mode == "nearest" else {"align_corners": False}
    out = torch.nn.functional.interpolate(images, size=(size, size), mode=mode, **extra)
    return out.clamp_(0, 1)


def run_attack(module: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor,
               logits: torch.Tensor, *, attack: str, mean: Any, std: Any, projection: str = "sphere",
               batch_size: int = 64, cw: dict[str, Any] | None = None) -> dict[str, np.ndarray]:
    """Minimal perturbations of ``images`` in batches: per-image outcome, eps, l2, linf, delta.

    ``logits``: the model's clean outputs (they say which images start misclassified).
    """
    from neuroalign_attacks import cw_l2, min_eps

    parts: dict[str, list[Any]] = collections.defaultdict(list)
    for start in range(0, len(images), batch_size):
        x, y = images[start:start + batch_size], labels[start:start + batch_size]
        if attack == "pgd_l2":
            result = tolerance_search(module, x, y, projection=projection, mean=mean, std=std)
            outcome, eps = result.extras["outcome"], result.extras["eps"]
        else:
            if attack == "pgd_linf":
                result = min_eps(module, x, y, norm="linf", mean=mean, std=std)
                eps = result.extras["eps"].clone()
            else:
                result = cw_l2(module, x, y, mean=mean, std=std, **(cw or {}))
                eps = result.l2.clone()
            clean_wrong = (logits[start:start + batch_size].argmax(1) != y).cpu()
            outcome = torch.where(clean_wrong, MISCLASSIFIED,
                                  torch.where(result.success.cpu(), SUCCESS, FAILURE))
            eps = torch.where(outcome == SUCCESS, eps.cpu().double(), float("nan"))
        parts["outcome"].append(outcome.cpu().numpy())
        parts["eps"].append(eps.cpu().double().numpy())
        parts["l2"].append(result.l2.cpu().numpy())
        parts["linf"].append(result.linf.cpu().numpy())
        parts["perturbation"].append(result.perturbation.cpu())
        parts["gradients"].append(np.array([result.gradient_evaluations]))
    out = {key: np.concatenate(value) for key, value in parts.items() if key != "perturbation"}
    out["perturbation"] = torch.cat(parts["perturbation"])
    return out


class ClickMeBenchmark(Benchmark):
    """Perturbation tolerance or adversarial alignment under one attack (paper 003).

    Parameters (``spec.parameters``)
    --------------------------------
    measure : {"tolerance", "alignment"}
    attack : {"pgd_l2", "pgd_linf", "cw_l2"}
    projection : {"sphere", "ball", "notebook"}
        ``pgd_l2`` only (see :mod:`.search`); default "sphere".
    batch_size : int
        Images attacked together (default 64).
    device : str, optional
        Default ``cuda`` when available, else ``cpu``.
    n_images : int, optional
        Use only the first ``n_images`` of the dataset (default: all).
    cw : dict
        ``cw_l2`` parameters (default: the attack's full search, 9 x 100 steps).
    """

    def __init__(self, spec: BenchmarkSpec):
        self.spec = spec
        p = dict(spec.parameters)
        self.measure = p.get("measure", "tolerance")
        self.attack = p.get("attack", "pgd_l2")
        self.projection = p.get("projection", "sphere")
        for name, value, valid in (("measure", self.measure, ("tolerance", "alignment")),
                                   ("attack", self.attack, ATTACKS),
                                   ("projection", self.projection, PROJECTIONS)):
            if value not in valid:
                raise ValueError(f"benchmark {spec.id!r}: {name} must be one of {list(valid)}; "
                                 f"found {value!r}")
        self.batch_size = int(p.get("batch_size", 64))
        self.device = p.get("device")
        self.n_images = p.get("n_images")
        self.cw = dict(p.get("cw") or {})

    def _results(self, model: Model) -> dict[str, Any]:
        from neuroalign import get_dataset

        data = get_dataset(self.spec.dataset).load()
        if self.n_images is not None:
            data = data.isel(presentation=slice(0, int(self.n_images)))
        weights = model.weights_hash() if hasattr(model, "weights_hash") else str(id(model))
        key = (getattr(model, "identifier", None), weights, self.spec.dataset,
               tuple(map(str, data["stimulus_id"].values)), self.attack, self.projection,
               repr(sorted(self.cw.items())), self.batch_size)
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
        pre = model.preprocessing
        device = torch.device(self.device or ("cuda" if torch.cuda.is_available() else "cpu"))
        images = _resize(preprocess_images(data["image"].values, IMAGE_SIZE),
                         int(pre.input_size), pre.interpolation).to(device)
        heatmaps = preprocess_heatmaps(data["heatmap"].values, IMAGE_SIZE).numpy()
        module = model.module().to(device)
        synthetic = bool(data.attrs.get("synthetic", 0))
        from neuroalign_attacks.pixel_space import as_pixel_model, frozen

        forward, _ = as_pixel_model(module, pre.mean, pre.std)
        with frozen(module), torch.no_grad():
            logits = torch.cat([forward(images[i:i + self.batch_size])
                                for i in range(0, len(images), self.batch_size)])
        if synthetic:
            labels = logits.argmax(1)
        else:
            labels = torch.as_tensor(data["label"].values, device=device)
            if int(labels.max()) >= logits.shape[1]:
                raise ValueError(
                    f"{self.spec.id}: ImageNet labels up to {int(labels.max())} but the model "
                    f"has {logits.shape[1]} outputs; score a model with a 1000-way ImageNet head")
        started = time.perf_counter()
        out = run_attack(module, images, labels, logits, attack=self.attack, mean=pre.mean, std=pre.std,
                         projection=self.projection, batch_size=self.batch_size, cw=self.cw)
        out["seconds"] = time.perf_counter() - started
        out["rho"] = alignment(out.pop("perturbation"), heatmaps)
        out["rho"][out["outcome"] != SUCCESS] = np.nan
        out["stimulus_id"] = [str(s) for s in data["stimulus_id"].values]
        out["synthetic"] = synthetic
        out["input_size"] = int(pre.input_size)
        _CACHE[key] = out
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
        return out

    def __call__(self, model: Model, *, layers: Any = None, progress: Any = None) -> Score:
        """Score ``model`` (``layers`` is accepted and unused: the whole network is attacked)."""
        started = time.perf_counter()
        out = self._results(model)
        ok = out["outcome"] == SUCCESS
        if self.measure == "tolerance":
            per_image = out["linf" if self.attack == "pgd_linf" else "l2"][ok]
        else:
            per_image = out["rho"][ok]
            per_image = per_image[np.isfinite(per_image)]
        value = float(np.mean(per_image)) if len(per_image) else float("nan")
        error = float(np.std(per_image, ddof=1) / np.sqrt(len(per_image))) \
            if len(per_image) > 1 else float("nan")
        attrs: dict[str, Any] = {
            "measure": self.measure, "attack": self.attack,
            "unit": ("Linf" if self.attack == "pgd_linf" else "L2") + " of [0, 1] pixels at "
                    f"{out['input_size']} px" if self.measure == "tolerance" else "Spearman rho",
            "n_images": int(len(ok)), "n_success": int(ok.sum()),
            "n_failures": int((out["outcome"] == FAILURE).sum()),
            "n_misclassified": int((out["outcome"] == MISCLASSIFIED).sum()),
            "median": float(np.median(per_image)) if len(per_image) else float("nan"),
            "labels": "model's own clean decision (synthetic twin)" if out["synthetic"]
                      else "dataset ImageNet labels",
            "attack_seconds": out["seconds"], "gradient_evaluations": int(out["gradients"].sum()),
            "per_image": {"stimulus_id": out["stimulus_id"],
                          "outcome": [int(o) for o in out["outcome"]],
                          "eps": [float(e) for e in out["eps"]],
                          "l2": [float(v) for v in out["l2"]],
                          "linf": [float(v) for v in out["linf"]],
                          "rho": [float(r) for r in out["rho"]]},
        }
        if self.attack == "pgd_l2":
            attrs["projection"] = self.projection
        ceiling = None
        if self.measure == "alignment":
            ceiling = HUMAN_CEILING
            attrs["alignment_score"] = value / HUMAN_CEILING
        provenance = Provenance.here(
            model_id=getattr(model, "identifier", None), benchmark_id=self.spec.id,
            benchmark_version=self.spec.version, wall_time_s=time.perf_counter() - started)
        return Score(value=value, raw=value, ceiling=ceiling, error=error, attrs=attrs,
                     provenance=provenance)
