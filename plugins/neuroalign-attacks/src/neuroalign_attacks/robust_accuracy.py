"""``PGD.robust_accuracy-linf`` / ``-l2``: accuracy under PGD as eps and steps grow.

Paper 000, section 3.1 and Appendix C.1.1.

For each number of steps (1, 10, 20) and each eps (Linf: {1, 2, 4, 6, 8, 10}/255), PGD without
random start and with step size ``2.5 * eps / steps`` attacks every image of a labelled set; an
image counts as robust when the model still predicts its label on the attacked image. The score
is the area under the accuracy-vs-eps curve (trapezoid, from eps = 0 where the accuracy is the
clean accuracy, to the largest eps), divided by the largest eps, averaged over the three step
counts: 1.0 means correct on every image at every budget, 0.0 wrong everywhere.

Which iterate is scored (``iterate``): by default, per image, the PGD iterate with the highest
loss (the start, each step and the last), as the robustness library paper 000 used returns by
default (``use_best=True``); ``"last"`` scores the last iterate (torchattacks, Madry et al.).

Data (``data``): ImageNet validation images from a configured folder (``parameters["imagenet"]``
or ``$NEUROALIGN_IMAGENET_VAL``; :mod:`neuroalign_attacks.imagenet`) attacked through the model's
own 1000-way head, as paper 000 does; without one, the fallback is the procedural shapes set of
:mod:`neuroalign_attacks.synthetic`, rendered at the model's input size, whose scores are NOT
comparable with the paper's numbers (``attrs["comparable_with_paper"]`` says which). Shapes
read-out: a model trained on that label space (``spec.metadata["label_space"] ==
LABEL_SPACE``) is scored on its own logits ("native"); any other model gets a multinomial
logistic-regression read-out fitted on its penultimate features of a separate training split
(timm's ``forward_head(..., pre_logits=True)`` when available, else its outputs), and the attack
runs end to end through backbone and read-out ("linear"). ``layers=[...]`` (the benchmark
contract's keyword) reads out from those layers instead: their outputs, flattened and
concatenated, feed the linear read-out, and the forward pass stops after the last of them.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from neuroalign import Benchmark, BenchmarkSpec, Model
from neuroalign import Provenance, Score

from .imagenet import load_labelled_folder, resolve_folder
from .pixel_space import AttackInputError, NormalizedModel, frozen
from .projected_gradient import pgd
from .synthetic import CLASSES, LABEL_SPACE, render_shapes

__all__ = ["RobustAccuracy", "LINF_EPS", "L2_EPS_224", "STEPS", "auc", "eps_grid", "LinearReadout",
           "LayerFeatures"]

#: paper 000, Table 7
LINF_EPS: tuple[float, ...] = tuple(k / 255 for k in (1, 2, 4, 6, 8, 10))
#: L2 radii at 224 px (the robustness library's ImageNet range, 0.25 per Linf step of 1/255);
#: scaled by input_size / 224 so the per-pixel RMS perturbation is resolution independent
L2_EPS_224: tuple[float, ...] = tuple(0.25 * k for k in (1, 2, 4, 6, 8, 10))
STEPS: tuple[int, ...] = (1, 10, 20)
#: the iterate scored by default: the robustness library's ``use_best=True`` (paper 000)
ITERATES: tuple[str, ...] = ("best_loss", "last")
DATA: tuple[str, ...] = ("auto", "imagenet", "shapes")
#: ``provenance.data_source`` of the shapes fallback (the leaderboard's data identity)
SHAPES_SOURCE = "synthetic shapes (not comparable with paper 000)"
EVAL_SEED_OFFSET = 10_000
READOUT_SEED_OFFSET = 20_000


def eps_grid(norm: str, input_size: int, eps: Sequence[float] | None = None) -> list[float]:
    """The eps values attacked for ``norm`` at ``input_size`` (explicit ``eps`` wins)."""
    if eps is not None:
        return [float(e) for e in eps]
    if norm == "linf":
        return list(LINF_EPS)
    return [e * input_size / 224 for e in L2_EPS_224]


def auc(eps: Sequence[float], accuracy: Sequence[float], clean: float) -> float:
    """Normalised trapezoidal area under accuracy(eps) from (0, clean) to the largest eps."""
    x = np.concatenate([[0.0], np.asarray(eps, dtype=float)])
    y = np.concatenate([[clean], np.asarray(accuracy, dtype=float)])
    return float(np.sum((x[1:] - x[:-1]) * (y[1:] + y[:-1]) / 2) / x[-1])


class LinearReadout(nn.Module):
    """``head(standardise(features(x)))``: a frozen backbone with a fitted linear read-out."""

    def __init__(self, features: nn.Module, mean: torch.Tensor, scale: torch.Tensor,
                 head: nn.Linear):
        super().__init__()
        self.features = features
        self.register_buffer("feature_mean", mean)
        self.register_buffer("feature_scale", scale)
        self.head = head

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head((self.features(x).flatten(1) - self.feature_mean) / self.feature_scale)


class _Penultimate(nn.Module):
    """timm's pre-logits features when the module offers them, else the module's outputs."""

    def __init__(self, module: nn.Module):
        super().__init__()
        self.module = module
        self.timm_like = callable(getattr(module, "forward_features", None)) and callable(
            getattr(module, "forward_head", None))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.timm_like:
            return self.module.forward_head(self.module.forward_features(x), pre_logits=True)
        return self.module(x)


def fit_readout(backbone: nn.Module, images: torch.Tensor, labels: torch.Tensor,
                n_classes: int, batch_size: int, seed: int, l2: float = 1e-3) -> LinearReadout:
    """Fit a multinomial logistic regression (L-BFGS, deterministic) on penultimate features."""
    with torch.no_grad():
        feats = torch.cat([backbone(images[i:i + batch_size]).flatten(1)
                           for i in range(0, len(images), batch_size)])
    mean, scale = feats.mean(0), feats.std(0).clamp_min(1e-6)
    z = (feats - mean) / scale
    torch.manual_seed(seed)
    head = nn.Linear(z.shape[1], n_classes).to(z)
    nn.init.zeros_(head.weight)
    nn.init.zeros_(head.bias)
    optimizer = torch.optim.LBFGS(head.parameters(), lr=1, max_iter=200,
                                  line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(head(z), labels) + l2 * head.weight.pow(2).sum()
        loss.backward()
        return loss

    with torch.enable_grad():
        optimizer.step(closure)
    for p in head.parameters():
        p.requires_grad_(False)
        p.grad = None
    return LinearReadout(backbone, mean, scale, head)


class _Stop(Exception):
    """Raised by a forward hook once every requested layer has produced its output."""


class LayerFeatures(nn.Module):
    """The outputs of the named submodules of ``module``, flattened and concatenated.

    The forward pass stops as soon as every layer has run (nothing after them is computed), and
    stays differentiable, so an attack can run through these features and a read-out.
    """

    def __init__(self, module: nn.Module, layers: Sequence[str]):
        super().__init__()
        names = dict(module.named_modules())
        unknown = [name for name in layers if name not in names or name == ""]
        if unknown:
            valid = [name for name in names if name]
            raise AttackInputError(
                f"unknown layer(s) {unknown} for {type(module).__name__}; its layers include "
                f"{valid[:12]}{' ...' if len(valid) > 12 else ''} (module.named_modules())"
            )
        if len(set(layers)) != len(layers):
            raise AttackInputError(f"layers must be distinct; found {list(layers)}")
        self.module = module
        self.layers = tuple(layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outputs: dict[str, torch.Tensor] = {}
        handles = []

        def keep(name: str):
            def hook(_module: nn.Module, _inputs: Any, output: Any) -> None:
                if not isinstance(output, torch.Tensor):
                    raise AttackInputError(
                        f"layer {name!r} returns {type(output).__name__}, not a tensor; read "
                        "out from a layer whose output is one tensor"
                    )
                outputs[name] = output
                if len(outputs) == len(self.layers):
                    raise _Stop

            return hook

        for name in self.layers:
            handles.append(self.module.get_submodule(name).register_forward_hook(keep(name)))
        try:
            self.module(x)
        except _Stop:
            pass
        finally:
            for handle in handles:
                handle.remove()
        missing = [name for name in self.layers if name not in outputs]
        if missing:
            raise AttackInputError(f"layer(s) {missing} never ran in the model's forward pass")
        return torch.cat([outputs[name].flatten(1) for name in self.layers], dim=1)


def _track(items: list[Any], description: str, progress: bool | None) -> Iterable[Any]:
    """The core's progress report: a bar on a terminal, plain periodic lines otherwise (CI logs,
    ``| tee``), nothing with ``progress=False`` or ``NEUROALIGN_PROGRESS=0``."""
    from neuroalign.scoring.engine import track

    return track(items, description, progress)


#: glibc mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_MALLOC_KEPT = False


def keep_freed_memory() -> bool:
    """Let glibc keep freed large blocks for reuse instead of unmapping them (once per process).

    Each PGD step allocates image-batch-sized tensors (a 100 x 3 x 224 x 224 float batch is
    60 MB) and frees them at once. Above glibc's mmap threshold every such block is mmap'ed,
    zero-filled by the kernel page by page and unmapped again, so the system time of an attack
    on a small model can exceed its user time (``benchmarks/bench_pgd_sys_time.py``: on a tiny
    224 px CNN, 3.7x fewer minor page faults and half the system time with this). Raising the
    mmap and trim thresholds to 1 GiB makes freed memory reusable. Linux/glibc only (a no-op
    returning False elsewhere); ``NEUROALIGN_MALLOC_KEEP=0`` turns it off.
    """
    global _MALLOC_KEPT
    if _MALLOC_KEPT:
        return True
    if os.environ.get("NEUROALIGN_MALLOC_KEEP", "1").strip().lower() in {"0", "false", "no",
                                                                           "off"}:
        return False
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    try:
        libc = ctypes.CDLL("libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl and other libcs: nothing to tune
        return False
    ok = mallopt(_M_MMAP_THRESHOLD, 1 << 30) == 1 and mallopt(_M_TRIM_THRESHOLD, 1 << 30) == 1
    _MALLOC_KEPT = ok
    return ok


class RobustAccuracy(Benchmark):
    """Accuracy under PGD over an eps x steps grid, summarised by a normalised AUC.

    Parameters (``spec.parameters``)
    --------------------------------
    norm : {"linf", "l2"}
    eps : list of float, optional
        Overrides the default grid (see :func:`eps_grid`).
    steps : list of int
        PGD step counts (default [1, 10, 20]).
    n_images : int
        Evaluation images (default 300, 50 per class).
    n_readout_images : int
        Training images of the linear read-out (default 600).
    readout : {"auto", "native", "linear"}
        ``layers=`` at call time implies ``"linear"`` (``"native"`` with layers is an error).
        ImageNet data always uses the model's own head (``"native"``).
    iterate : {"best_loss", "last"}
        Which PGD iterate is scored (default ``"best_loss"``, the robustness library's
        ``use_best=True`` that paper 000 used).
    data : {"auto", "imagenet", "shapes"}
        ``"auto"``: ImageNet when a folder is configured, else the shapes fallback.
    imagenet : str, optional
        ImageNet validation folder (default ``$NEUROALIGN_IMAGENET_VAL``).
    seed : int
    batch_size : int
    device : str, optional
        Default: ``cuda`` when available, else ``cpu``.
    """

    def __init__(self, spec: BenchmarkSpec):
        self.spec = spec
        p = dict(spec.parameters)
        self.norm = p.get("norm", "linf")
        if self.norm not in ("linf", "l2"):
            raise AttackInputError(f"norm must be 'linf' or 'l2'; found {self.norm!r}")
        self.eps = p.get("eps")
        self.steps = [int(s) for s in p.get("steps", STEPS)]
        self.n_images = int(p.get("n_images", 300))
        self.n_readout_images = int(p.get("n_readout_images", 600))
        self.readout = p.get("readout", "auto")
        if self.readout not in ("auto", "native", "linear"):
            raise AttackInputError(
                f"readout must be 'auto', 'native' or 'linear'; found {self.readout!r}")
        self.seed = int(p.get("seed", 0))
        self.batch_size = int(p.get("batch_size", 100))
        self.device = p.get("device")
        self.iterate = p.get("iterate", "best_loss")
        if self.iterate not in ITERATES:
            raise AttackInputError(
                f"iterate must be one of {list(ITERATES)}; found {self.iterate!r}")
        self.data = p.get("data", "auto")
        if self.data not in DATA:
            raise AttackInputError(f"data must be one of {list(DATA)}; found {self.data!r}")
        self.imagenet = p.get("imagenet")

    def _imagenet_folder(self, layers: list[str] | None) -> Any:
        """The ImageNet folder to attack on, or None for the shapes fallback."""
        if self.data == "shapes":
            return None
        folder = resolve_folder(self.imagenet)
        if folder is None:
            if self.data == "imagenet":
                raise AttackInputError(
                    "data='imagenet' needs an ImageNet validation folder: set "
                    "parameters['imagenet'] or $NEUROALIGN_IMAGENET_VAL (or data='shapes')")
            return None
        if layers is not None or self.readout == "linear":
            raise AttackInputError(
                "on ImageNet the attack runs through the model's own 1000-way head (paper 000); "
                "a read-out from layers or readout='linear' needs the shapes set: pass "
                "data='shapes'")
        return folder

    def _readout_mode(self, model: Model, layers: list[str] | None) -> str:
        if layers is not None:
            if self.readout == "native":
                raise AttackInputError(
                    f"readout='native' attacks the model's own logits, but layers={layers} "
                    "asks for a read-out from those layers; pass readout='linear' (or 'auto')"
                )
            return "linear"
        if self.readout != "auto":
            return self.readout
        metadata = getattr(getattr(model, "spec", None), "metadata", {}) or {}
        return "native" if metadata.get("label_space") == LABEL_SPACE else "linear"

    def __call__(self, model: Model, *, layers: Sequence[str] | None = None,
                 progress: bool | None = None) -> Score:
        """Score ``model``: accuracy under PGD, summarised by the normalised AUC.

        Parameters
        ----------
        model : neuroalign.Model
        layers : sequence of str, optional
            Read out from these layers (outputs flattened and concatenated) with a fitted
            linear read-out, instead of the model's logits or penultimate features.
        progress : bool, optional
            Progress over the eps x steps grid: a bar on a terminal, a plain line every 10 s
            otherwise (``NEUROALIGN_PROGRESS``, ``NEUROALIGN_PROGRESS_INTERVAL``); False: none.
        """
        started = time.perf_counter()
        keep_freed_memory()
        if layers is not None:
            if isinstance(layers, str) or not all(isinstance(name, str) for name in layers) \
                    or not layers:
                raise AttackInputError(
                    f"layers must be a non-empty list of layer names; found {layers!r}")
            layers = list(layers)
        pre = model.preprocessing
        size = int(pre.input_size)
        module = model.module()
        device = torch.device(self.device or ("cuda" if torch.cuda.is_available() else "cpu"))
        folder = self._imagenet_folder(layers)
        if folder is not None:
            with frozen(module):
                module.to(device)
                probe = NormalizedModel(module, pre.mean, pre.std).to(device)
                with torch.no_grad():
                    n_classes = int(probe(torch.zeros(1, 3, size, size, device=device)).shape[1])
            loaded = load_labelled_folder(folder, self.n_images, n_classes, pre)
            images, labels = loaded.images, loaded.labels
            mode, data_info = "native", {**loaded.info, "n_classes": n_classes}
            source = f"real ImageNet folder {loaded.info['sha256'][:8]}"
        else:
            images, labels = render_shapes(self.n_images, size,
                                           seed=self.seed + EVAL_SEED_OFFSET)
            mode = self._readout_mode(model, layers)
            data_info = {"source": "shapes", "label_space": LABEL_SPACE}
            source = SHAPES_SOURCE
        images, labels = images.to(device), labels.to(device)
        attrs: dict[str, Any] = {
            "readout": mode, "data": data_info["source"], "data_info": data_info,
            "comparable_with_paper": folder is not None, "iterate": self.iterate}
        if mode == "linear":
            attrs["readout_layers"] = layers if layers is not None else "penultimate"
        with frozen(module):
            module.to(device)
            pixel_model: nn.Module = NormalizedModel(module, pre.mean, pre.std).to(device)
            if mode == "linear":
                train_x, train_y = render_shapes(self.n_readout_images, size,
                                                 seed=self.seed + READOUT_SEED_OFFSET)
                features = (_Penultimate(module) if layers is None
                            else LayerFeatures(module, layers))
                backbone = NormalizedModel(features, pre.mean, pre.std).to(device)
                pixel_model = fit_readout(backbone, train_x.to(device), train_y.to(device),
                                          len(CLASSES),
                                          self.batch_size, self.seed)
                attrs["readout_train_accuracy"] = self._accuracy(pixel_model, train_x.to(device),
                                                                 train_y.to(device))
            correct_clean = self._correct(pixel_model, images, labels).cpu()
            eps = eps_grid(self.norm, size, self.eps)
            cells = [(s, e) for s in self.steps for e in eps]
            robust = {cell: self._robust(pixel_model, images, labels, cell[1], cell[0])
                      for cell in _track(cells, f"{self.spec.id}: {len(labels)} images, "
                                         f"{len(cells)} (steps, eps) cells", progress)}
            grid = {s: [robust[(s, e)] for e in eps] for s in self.steps}
        clean = float(correct_clean.float().mean())
        children, per_image = {}, []
        for s, rows in grid.items():
            accuracy = [float(r.float().mean()) for r in rows]
            value = auc(eps, accuracy, clean)
            per_image.append(np.array([auc(eps, [float(r[i]) for r in rows],
                                           float(correct_clean[i])) for i in range(len(labels))]))
            children[f"steps={s}"] = Score(
                value=value, raw=value,
                attrs={"steps": s, "eps": eps, "accuracy": accuracy, "clean_accuracy": clean},
                provenance=Provenance(data_source=source))
        per_image_mean = np.mean(per_image, axis=0)
        value = float(per_image_mean.mean())
        error = float(per_image_mean.std(ddof=1) / np.sqrt(len(per_image_mean)))
        attrs.update({
            "norm": self.norm, "eps": eps, "steps": self.steps, "clean_accuracy": clean,
            "accuracy": {str(s): [float(r.float().mean()) for r in rows]
                         for s, rows in grid.items()},
            "n_images": len(labels), "input_size": size, "step_size": "2.5 * eps / steps",
            "random_start": False, "summary": "mean over steps of AUC(accuracy, eps)/max(eps)",
        })
        provenance = Provenance.here(
            model_id=getattr(getattr(model, "spec", None), "id", None),
            benchmark_id=self.spec.id, benchmark_version=self.spec.version, seed=self.seed,
            wall_time_s=time.perf_counter() - started, plugins={"neuroalign-attacks": _version()},
            data_source=source)
        return Score(value=value, raw=value, error=error, children=children, attrs=attrs,
                     provenance=provenance)

    def _correct(self, model: nn.Module, images: torch.Tensor,
                 labels: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            out = torch.cat([model(images[i:i + self.batch_size])
                             for i in range(0, len(images), self.batch_size)])
        return (out.argmax(1) == labels) & torch.isfinite(out).all(1)

    def _accuracy(self, model: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
        return float(self._correct(model, images, labels).float().mean())

    def _robust(self, model: nn.Module, images: torch.Tensor, labels: torch.Tensor, eps: float,
                steps: int) -> torch.Tensor:
        """Per image: still correct after PGD (NaN/inf outputs count as wrong)."""
        parts = []
        for i in range(0, len(images), self.batch_size):
            # the model takes pixels in [0, 1]: a NormalizedModel or a read-out built on one
            result = pgd(model, images[i:i + self.batch_size], labels[i:i + self.batch_size],
                         eps=eps, norm=self.norm, steps=steps, normalized=False,
                         iterate=self.iterate)
            parts.append(~result.success & ~result.extras["nonfinite"])
        return torch.cat(parts).cpu()


def _version() -> str:
    from importlib import metadata

    try:
        return metadata.version("neuroalign-attacks")
    except metadata.PackageNotFoundError:  # pragma: no cover - source checkout
        return "0"
