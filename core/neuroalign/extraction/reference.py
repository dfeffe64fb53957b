"""The image set a PCA basis is fitted on: a configured folder (ImageNet val) or the procedural set.

Brain-Score fits ``LayerPCA(1000)`` on 1,000 ImageNet validation images, the first image of each
class (``model_helpers/activations/pca.py``, ``_get_imagenet_val``). Point neuroalign at a copy of
ImageNet val with ``NEUROALIGN_PCA_IMAGES=/path/to/val`` (or ``Reduction(reference=...)``, or a
benchmark's ``parameters["pca_images"]``). Two layouts are read:

* class folders (``val/n01440764/ILSVRC2012_val_00000293.JPEG``, ...): classes sorted by name,
  files sorted within a class;
* flat files plus a labels file in the folder, ``labels.csv`` / ``labels.txt``: either
  ``filename,label`` (or whitespace separated) per line, or one label per line in the order of
  the sorted file names (the layout of ``ILSVRC2012_validation_ground_truth.txt``).

With classes known, Brain-Score's rule picks ``n`` images: ``(n - 1) // C`` per class, plus one
more for the first ``(n - 1) % C + 1`` classes (for ``n = C = 1000``: the first image of every
class). Without labels, the first ``n`` files by name. The sha256 of the chosen files (names and
bytes) enters the activation-cache key and every Score's provenance. Without a folder the
procedural set (:func:`neuroalign.extraction.reduction.reference_images`) is used, and the
Score says so (``attrs["pca_reference"]["source"] == "procedural"``).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import SpecError

__all__ = ["ENV", "IMAGE_SUFFIXES", "ReferenceFolder", "resolve_reference", "pick_per_class"]

#: environment variable naming the reference image folder
ENV = "NEUROALIGN_PCA_IMAGES"
IMAGE_SUFFIXES = frozenset({".jpeg", ".jpg", ".png", ".bmp", ".webp", ".tif", ".tiff"})
_LABEL_FILES = ("labels.csv", "labels.txt")


def pick_per_class(files_by_class: dict[str, list[Path]], n: int) -> list[Path]:
    """Brain-Score's choice of ``n`` images from classes (sorted), files in the given order."""
    classes = sorted(files_by_class)
    if not classes:
        return []
    per_class, extra = (n - 1) // len(classes), (n - 1) % len(classes) + 1
    chosen: list[Path] = []
    for index, name in enumerate(classes):
        take = per_class + (1 if index < extra else 0)
        chosen.extend(files_by_class[name][:take])
    return chosen


def _images_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def _labels(folder: Path, files: list[Path]) -> dict[str, list[Path]] | None:
    for name in _LABEL_FILES:
        path = folder / name
        if not path.is_file():
            continue
        lines = [line.strip() for line in path.read_text().splitlines() if line.strip()]
        by_name = {p.name: p for p in files}
        groups: dict[str, list[Path]] = {}
        if all(len(line.replace(",", " ").split()) == 1 for line in lines):
            if len(lines) != len(files):
                raise SpecError(f"{path}: {len(lines)} labels for {len(files)} images; a one-column "
                                "labels file needs one label per image, in sorted file-name order")
            for file, label in zip(files, lines):
                groups.setdefault(label, []).append(file)
            return groups
        for number, line in enumerate(lines, 1):
            parts = line.replace(",", " ").split()
            if len(parts) != 2:
                raise SpecError(f"{path}, line {number}: {line!r} is not 'filename,label'")
            if parts[0] not in by_name:
                if number == 1:  # a header line
                    continue
                raise SpecError(f"{path}, line {number}: no image {parts[0]!r} in {folder}")
            groups.setdefault(parts[1], []).append(by_name[parts[0]])
        return {label: sorted(group) for label, group in groups.items()}
    return None


@dataclass(frozen=True)
class ReferenceFolder:
    """The chosen reference images of a folder, with their content hash."""

    path: str
    files: tuple[str, ...]
    rule: str
    sha256: str

    def images(self, start: int, stop: int, size: int) -> np.ndarray:
        """uint8 RGB ``(stop - start, size, size, 3)``: each file resized to ``size x size``
        (bilinear, as Brain-Score's ``Resize((s, s))``)."""
        from PIL import Image

        out = np.empty((stop - start, size, size, 3), dtype=np.uint8)
        for row, name in enumerate(self.files[start:stop]):
            with Image.open(Path(self.path) / name) as image:
                rgb = image.convert("RGB").resize((size, size), Image.BILINEAR)
                out[row] = np.asarray(rgb)
        return out

    def describe(self) -> dict[str, Any]:
        return {"source": "folder", "path": self.path, "n_images": len(self.files),
                "rule": self.rule, "sha256": self.sha256}


def resolve_reference(folder: str | os.PathLike[str] | None, n: int) -> ReferenceFolder | None:
    """The configured reference folder (argument, else ``$NEUROALIGN_PCA_IMAGES``), or None."""
    folder = folder or os.environ.get(ENV) or None
    if folder is None:
        return None
    root = Path(folder).expanduser()
    if not root.is_dir():
        raise SpecError(f"PCA reference folder {str(root)!r} (from {ENV} or reduction.reference) "
                        "is not a directory; point it at ImageNet val (class folders, or flat "
                        "files plus labels.csv)")
    subfolders = sorted(p for p in root.iterdir() if p.is_dir())
    classes = {p.name: _images_in(p) for p in subfolders}
    classes = {name: files for name, files in classes.items() if files}
    if classes:
        chosen, rule = pick_per_class(classes, n), f"Brain-Score per-class rule over {len(classes)} class folders"
    else:
        files = _images_in(root)
        groups = _labels(root, files)
        if groups:
            chosen = pick_per_class(groups, n)
            rule = f"Brain-Score per-class rule over {len(groups)} labelled classes"
        else:
            chosen, rule = files[:n], "first files by name (no classes known)"
    if len(chosen) < 2:
        raise SpecError(f"PCA reference folder {str(root)!r} holds {len(chosen)} usable image(s) "
                        f"({', '.join(sorted(IMAGE_SUFFIXES))}); it needs at least 2")
    digest = hashlib.sha256(b"neuroalign-pca-reference-v1\n")
    for path in chosen:
        digest.update(f"{path.relative_to(root).as_posix()}\0".encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return ReferenceFolder(path=str(root.resolve()),
                           files=tuple(p.relative_to(root).as_posix() for p in chosen),
                           rule=rule, sha256=digest.hexdigest())
