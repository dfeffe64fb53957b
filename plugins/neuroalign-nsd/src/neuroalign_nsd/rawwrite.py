"""Writers of NSD's raw formats (for the synthetic twin and the tests).

The files are what NSD publishes, in the same places of the tree: MATLAB v5 via scipy, NIfTI-1
``.nii.gz`` via nibabel, HDF5 via h5py and FreeSurfer colour-table text.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .raw import BETA_SCALE
from .specs import (DESIGN_PATH, STIMULI_PATH, betas_path, ctab_path, roi_path, tval_path)

__all__ = ["write_design", "write_ctab", "write_nifti", "write_betas", "write_stimuli",
           "write_subject_volumes", "to_int16_betas"]


def _target(root: Path, key: str) -> Path:
    path = Path(root) / key
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def write_design(root: Path, masterordering: np.ndarray, subjectim: np.ndarray,
                 sharedix: np.ndarray) -> Path:
    """``nsd_expdesign.mat`` from 1-based arrays (shapes 1 x T, S x I, 1 x K, like NSD's)."""
    from scipy.io import savemat

    path = _target(root, DESIGN_PATH)
    savemat(path, {"masterordering": np.atleast_2d(masterordering).astype(np.float64),
                   "subjectim": np.asarray(subjectim, dtype=np.float64),
                   "sharedix": np.atleast_2d(sharedix).astype(np.float64),
                   "basiccnt": np.zeros((3, 40))}, format="5", do_compression=False)
    return path


def write_ctab(root: Path, category: str, names: dict[int, str]) -> Path:
    """``floc-<category>.mgz.ctab``: ``index name r g b a`` lines, 0 = Unknown."""
    path = _target(root, ctab_path(category))
    lines = [f"{index:>3d}  {name:<16s}{(37 * index) % 256:>4d}{(91 * index) % 256:>4d}"
             f"{(53 * index) % 256:>4d}   0" for index, name in sorted({0: "Unknown",
                                                                       **names}.items())]
    path.write_text("\n".join(lines) + "\n")
    return path


def write_nifti(path: Path, volume: np.ndarray, voxel_mm: float = 1.8) -> Path:
    """A NIfTI-1 ``.nii.gz`` of ``volume`` ``(X, Y, Z)``."""
    import nibabel as nib

    path.parent.mkdir(parents=True, exist_ok=True)
    affine = np.diag([voxel_mm, voxel_mm, voxel_mm, 1.0])
    nib.save(nib.Nifti1Image(np.asarray(volume), affine), str(path))
    return path


def write_subject_volumes(root: Path, subject: int, labels: dict[str, np.ndarray],
                          tvals: dict[str, np.ndarray]) -> None:
    """A subject's ``roi/floc-<category>.nii.gz`` (int16) and t-maps (float32)."""
    for category, volume in labels.items():
        write_nifti(_target(root, roi_path(subject, category)), volume.astype(np.int16))
    for category, volume in tvals.items():
        write_nifti(_target(root, tval_path(subject, category)), volume.astype(np.float32))


def to_int16_betas(percent_bold: np.ndarray) -> np.ndarray:
    """%BOLD -> NSD's int16 storage (x 300, rounded, clipped)."""
    return np.clip(np.rint(np.asarray(percent_bold) * BETA_SCALE), -32768, 32767).astype(np.int16)


def write_betas(root: Path, subject: int, session: int, betas_xyz: np.ndarray) -> Path:
    """``betas_sessionNN.hdf5`` from int16 betas ``(trials, X, Y, Z)`` (stored as (T, Z, Y, X))."""
    import h5py

    path = _target(root, betas_path(subject, session))
    values = np.ascontiguousarray(np.transpose(np.asarray(betas_xyz, dtype=np.int16),
                                               (0, 3, 2, 1)))
    with h5py.File(path, "w") as h5:
        h5.create_dataset("betas", data=values)
    return path


def write_stimuli(root: Path, images: np.ndarray) -> Path:
    """``nsd_stimuli.hdf5`` with ``/imgBrick`` ``(n, height, width, 3)`` uint8 (contiguous)."""
    import h5py

    path = _target(root, STIMULI_PATH)
    with h5py.File(path, "w") as h5:
        h5.create_dataset("imgBrick", data=np.asarray(images, dtype=np.uint8))
    return path
