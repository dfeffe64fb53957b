"""Labelled ImageNet validation images from a local folder, for the paper's robustness evaluation.

Paper 000 (Appendix C.1.1) attacks ImageNet validation images through the model's own 1000-way
head. ImageNet cannot be downloaded here; point the benchmark at a copy with
``parameters["imagenet"]`` or ``$NEUROALIGN_IMAGENET_VAL``. The folder is read with the core's
PCA-reference reader rules (:mod:`neuroalign.extraction.reference`), with labels made class
indices of the model's head:

* class folders (``val/n01440764/ILSVRC2012_val_00000293.JPEG``, ...): a folder's class index is
  its position among *all* subfolders sorted by name (the torchvision/timm order of the 1000
  synsets), so the folder must hold one subfolder per class of the head (empty ones allowed);
  or subfolders named by their class index (``0`` .. ``999``), which may be a subset;
* flat files plus ``labels.csv`` / ``labels.txt`` (``filename,label`` per line, or one label per
  line in sorted file-name order) whose labels are 0-based class indices of the head. The
  devkit's ``ILSVRC2012_validation_ground_truth.txt`` holds 1-based ILSVRC2012 ids in another
  order: convert it to the model's indices first.

``n`` images are chosen deterministically: with ``n`` at most the number of classes, the first
image (by name) of ``n`` evenly spaced classes; otherwise Brain-Score's per-class rule. Each image
is resized and centre-cropped as the model's preprocessing says (timm's eval transform: shorter
side to ``input_size / crop_pct``, centre crop; or a square resize), pixels in [0, 1].
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .pixel_space import AttackInputError

__all__ = ["ENV", "LabelledImages", "load_labelled_folder", "resolve_folder"]

#: environment variable naming the ImageNet validation folder
ENV = "NEUROALIGN_IMAGENET_VAL"


class LabelledImages:
    """Images ``(N, 3, size, size)`` in [0, 1], labels ``(N,)`` and a description."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, info: dict[str, Any]):
        self.images, self.labels, self.info = images, labels, info


def resolve_folder(folder: str | os.PathLike[str] | None) -> Path | None:
    """The configured folder (argument, else ``$NEUROALIGN_IMAGENET_VAL``), or None."""
    folder = folder or os.environ.get(ENV) or None
    if folder is None:
        return None
    root = Path(folder).expanduser()
    if not root.is_dir():
        raise AttackInputError(
            f"ImageNet folder {str(root)!r} (from parameters['imagenet'] or ${ENV}) is not a "
            "directory; point it at ImageNet val (class folders, or flat files plus labels.csv)")
    return root


def _by_class(root: Path, n_classes: int) -> tuple[dict[int, list[Path]], str]:
    from neuroalign.extraction.reference import _images_in, _labels

    subfolders = sorted(p for p in root.iterdir() if p.is_dir())
    if subfolders:
        if all(p.name.isdigit() for p in subfolders):
            index = {p: int(p.name) for p in subfolders}
            layout = "class folders named by class index"
        elif len(subfolders) == n_classes:
            index = {p: i for i, p in enumerate(subfolders)}
            layout = f"{n_classes} class folders, index = sorted position"
        else:
            raise AttackInputError(
                f"ImageNet folder {str(root)!r} has {len(subfolders)} class folders but the "
                f"model's head has {n_classes} classes: a folder's class index is its position "
                f"among all {n_classes} sorted class folders (keep empty ones), or name the "
                "folders by their class index (0, 1, ...)")
        groups = {index[p]: _images_in(p) for p in subfolders}
    else:
        files = _images_in(root)
        named = _labels(root, files)
        if named is None:
            raise AttackInputError(
                f"ImageNet folder {str(root)!r} has neither class folders nor labels.csv / "
                "labels.txt; the attack needs each image's class")
        groups = {}
        for label, members in named.items():
            if not label.lstrip("-").isdigit():
                raise AttackInputError(
                    f"{root}/labels: label {label!r} is not a class index; labels must be 0-based "
                    "indices of the model's head (convert the devkit's 1-based ILSVRC ids)")
            groups[int(label)] = members
        layout = "flat files with a labels file"
    bad = sorted(c for c in groups if not 0 <= c < n_classes)
    if bad:
        raise AttackInputError(
            f"ImageNet folder {str(root)!r}: class indices {bad[:5]} are outside the model's "
            f"{n_classes} classes")
    return {c: files for c, files in sorted(groups.items()) if files}, layout


def _choose(groups: dict[int, list[Path]], n: int) -> list[tuple[Path, int]]:
    classes = sorted(groups)
    if n <= len(classes):
        picked = [classes[(i * len(classes)) // n] for i in range(n)]
        return [(groups[c][0], c) for c in picked]
    from neuroalign.extraction.reference import pick_per_class

    label_of = {path: c for c, files in groups.items() for path in files}
    chosen = pick_per_class({f"{c:06d}": files for c, files in groups.items()}, n)
    return [(path, label_of[path]) for path in chosen]


def _load(path: Path, size: int, crop_pct: float, resize: str, interpolation: str) -> np.ndarray:
    from PIL import Image

    method = {"bilinear": Image.BILINEAR, "bicubic": Image.BICUBIC,
              "nearest": Image.NEAREST}[interpolation]
    with Image.open(path) as image:
        rgb = image.convert("RGB")
        if resize == "square":
            rgb = rgb.resize((size, size), method)
        else:
            scale = int(size / crop_pct) / min(rgb.size)
            w, h = max(size, round(rgb.width * scale)), max(size, round(rgb.height * scale))
            rgb = rgb.resize((w, h), method)
            left, top = (w - size) // 2, (h - size) // 2
            rgb = rgb.crop((left, top, left + size, top + size))
        return np.asarray(rgb, dtype=np.uint8)


def load_labelled_folder(root: Path, n: int, n_classes: int, preprocessing: Any
                         ) -> LabelledImages:
    """``n`` labelled images of ``root`` at the model's input size (see the module docstring)."""
    groups, layout = _by_class(root, n_classes)
    if not groups:
        raise AttackInputError(f"ImageNet folder {str(root)!r} holds no images")
    chosen = _choose(groups, n)
    size = int(preprocessing.input_size)
    arrays = [_load(path, size, float(preprocessing.crop_pct), preprocessing.resize,
                    preprocessing.interpolation) for path, _ in chosen]
    images = torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).float().div_(255)
    labels = torch.tensor([c for _, c in chosen], dtype=torch.long)
    digest = hashlib.sha256(b"neuroalign-attacks-imagenet-v1\n")
    for path, label in chosen:
        digest.update(f"{path.relative_to(root).as_posix()}\0{label}\0".encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    info = {"source": "imagenet", "path": str(root.resolve()), "layout": layout,
            "n_images": len(chosen), "n_classes_present": len(groups),
            "sha256": digest.hexdigest()}
    return LabelledImages(images.contiguous(), labels, info)
