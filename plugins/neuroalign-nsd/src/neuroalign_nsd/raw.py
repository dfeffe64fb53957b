"""Raw NSD file formats: the experimental design, ROI volumes, colour tables, betas, images.

Pure functions on bytes, arrays and open files (no network): :mod:`neuroalign_nsd.prepare` feeds
them what it reads from the source, and the tests feed them hand-made files.

* **design** ``nsd_expdesign.mat`` (MATLAB v5): ``masterordering`` (1 x 30000), ``subjectim``
  (8 x 10000), ``sharedix`` (1 x 1000), all 1-based. Trial ``t`` (0-based) of subject ``s``
  shows the 73k image ``subjectim[s, masterordering[t] - 1] - 1`` (0-based).
* **ROI labels** ``floc-<category>.nii.gz``: integer volume, ``k > 0`` = label ``k`` (named by
  the ``.mgz.ctab`` colour table: the first two tokens of each line are index and name), ``0``
  unlabelled (NSD also uses ``-1`` for voxels outside the cortex: unlabelled too).
* **t-maps** ``floc_<category>tval.nii.gz``: float volume of the localizer contrast's t values.
* **betas** ``betas_sessionNN.hdf5``: dataset ``betas``, int16 = %BOLD x 300, which h5py sees as
  ``(750, Z, Y, X)``: NIfTI voxel ``(x, y, z)`` is ``betas[:, z, y, x]``.
* **images** ``nsd_stimuli.hdf5``: ``/imgBrick`` ``73000 x 425 x 425 x 3`` uint8.
"""

from __future__ import annotations

import gzip
import io
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .specs import ROIS, SHARED_REPETITIONS

__all__ = ["Design", "read_design", "parse_ctab", "read_nifti", "select_roi_voxels",
           "RoiVoxels", "zscore_session", "read_images", "BETA_SCALE", "RawFormatError"]

#: int16 betas hold %BOLD x 300
BETA_SCALE = 300.0


class RawFormatError(ValueError):
    """A raw NSD file does not have the documented structure (names the file and the field)."""


@dataclass(frozen=True)
class Design:
    """NSD's design, converted to 0-based indices.

    Attributes
    ----------
    masterordering : numpy.ndarray
        ``(n_trials,)`` index into a subject's image list for every trial (0-based).
    subjectim : numpy.ndarray
        ``(n_subjects, n_images_per_subject)`` 73k image ids (0-based).
    sharedix : numpy.ndarray
        ``(n_shared,)`` 73k ids of the shared images (0-based).
    """

    masterordering: np.ndarray
    subjectim: np.ndarray
    sharedix: np.ndarray

    def trial_images(self, subject: int, n_trials: int) -> np.ndarray:
        """73k image id (0-based) of the first ``n_trials`` trials of ``subject`` (1-based)."""
        if not 1 <= subject <= self.subjectim.shape[0]:
            raise RawFormatError(f"subject {subject} is not in the design (it has "
                                 f"{self.subjectim.shape[0]} subjects)")
        if n_trials > self.masterordering.size:
            raise RawFormatError(f"{n_trials} trials asked for; the design has "
                                 f"{self.masterordering.size}")
        return self.subjectim[subject - 1, self.masterordering[:n_trials]]

    def shared(self, sessions: Sequence[int], trials_per_session: int) -> np.ndarray:
        """The shared images every subject saw exactly three times in its completed sessions.

        Parameters
        ----------
        sessions : sequence of int
            Completed sessions of *every* subject of the design, in subject order.
        trials_per_session : int
            Trials per session.

        Returns
        -------
        numpy.ndarray
            Sorted 0-based 73k ids (515 for NSD).
        """
        if len(sessions) != self.subjectim.shape[0]:
            raise RawFormatError(f"sessions lists {len(sessions)} subjects; the design has "
                                 f"{self.subjectim.shape[0]}")
        keep = np.ones(self.sharedix.size, dtype=bool)
        for subject, count in enumerate(sessions, start=1):
            seen = self.trial_images(subject, int(count) * trials_per_session)
            counts = np.bincount(seen, minlength=int(max(seen.max(), self.sharedix.max())) + 1)
            keep &= counts[self.sharedix] == SHARED_REPETITIONS
        return np.sort(self.sharedix[keep])


def _matrix(mat: dict, name: str, source: str) -> np.ndarray:
    if name not in mat:
        found = sorted(k for k in mat if not k.startswith("__"))
        raise RawFormatError(f"{source} has no variable {name!r}; it has {found}")
    value = np.asarray(mat[name])
    if value.dtype.kind not in "iuf" or value.size == 0:
        raise RawFormatError(f"{source}: {name!r} is not a numeric array (dtype {value.dtype})")
    as_int = value.astype(np.int64)
    if not np.array_equal(as_int, value):
        raise RawFormatError(f"{source}: {name!r} holds non-integer values")
    if as_int.min() < 1:
        raise RawFormatError(f"{source}: {name!r} must be 1-based (MATLAB indices); its minimum "
                             f"is {as_int.min()}")
    return as_int


def read_design(data: bytes, source: str = "nsd_expdesign.mat") -> Design:
    """Parse ``nsd_expdesign.mat`` bytes (MATLAB v5) into a 0-based :class:`Design`."""
    from scipy.io import loadmat

    try:
        mat = loadmat(io.BytesIO(data))
    except Exception as error:  # scipy raises several types for a bad file
        raise RawFormatError(f"cannot read {source} as a MATLAB file: {error}") from error
    ordering = _matrix(mat, "masterordering", source).ravel() - 1
    subjectim = _matrix(mat, "subjectim", source) - 1
    shared = _matrix(mat, "sharedix", source).ravel() - 1
    if subjectim.ndim != 2:
        raise RawFormatError(f"{source}: 'subjectim' must be 2-D (subjects x images); found "
                             f"shape {subjectim.shape}")
    if ordering.max() >= subjectim.shape[1]:
        raise RawFormatError(f"{source}: 'masterordering' points at image {ordering.max() + 1} "
                             f"but 'subjectim' lists {subjectim.shape[1]} per subject")
    return Design(ordering, subjectim, shared)


def parse_ctab(text: str, source: str = "ctab") -> dict[int, str]:
    """Label index -> name from a FreeSurfer colour table (first two tokens of each line)."""
    names: dict[int, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        tokens = line.split()
        if not tokens or tokens[0].startswith("#"):
            continue
        if len(tokens) < 2:
            raise RawFormatError(f"{source} line {number}: {line!r} has no label name")
        try:
            index = int(tokens[0])
        except ValueError as error:
            raise RawFormatError(f"{source} line {number}: {tokens[0]!r} is not a label "
                                 "index") from error
        names[index] = tokens[1]
    return names


def read_nifti(data: bytes, source: str = "nifti") -> tuple[np.ndarray, np.ndarray]:
    """Volume ``(X, Y, Z)`` and affine of NIfTI bytes (gzipped ``.nii.gz`` or plain ``.nii``)."""
    import nibabel as nib

    raw = gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data
    try:
        image = nib.Nifti1Image.from_bytes(raw)
    except Exception as error:  # nibabel's errors vary with the damage
        raise RawFormatError(f"cannot read {source} as NIfTI-1: {error}") from error
    volume = np.asanyarray(image.dataobj)
    if volume.ndim == 4 and volume.shape[3] == 1:
        volume = volume[..., 0]
    if volume.ndim != 3:
        raise RawFormatError(f"{source} is not a 3-D volume: shape {volume.shape}")
    return np.asarray(volume), image.affine


@dataclass(frozen=True)
class RoiVoxels:
    """Voxels of one ROI: NIfTI indices ``(n, 3)`` (x, y, z) sorted, and their t values."""

    roi: str
    xyz: np.ndarray
    tval: np.ndarray


def select_roi_voxels(roi: str, labels: np.ndarray, names: dict[int, str], tval: np.ndarray,
                      threshold: float, source: str = "") -> RoiVoxels:
    """The voxels of ``roi`` (its label names in :data:`~neuroalign_nsd.specs.ROIS`) with t > threshold.

    Parameters
    ----------
    roi : str
        ``FFA``, ``EBA``, ``PPA`` or ``VWFA``.
    labels : numpy.ndarray
        The category's label volume ``(X, Y, Z)``.
    names : dict
        Label index -> name (from the colour table).
    tval : numpy.ndarray
        The category's t-map, same shape.
    threshold : float
        Keep voxels with ``tval > threshold`` (strictly).
    """
    wanted = ROIS[roi][1]
    by_name = {name: index for index, name in names.items()}
    missing = [name for name in wanted if name not in by_name]
    if missing:
        raise RawFormatError(f"{source}: the colour table names no {missing} (needed for {roi}); "
                             f"it has {sorted(by_name)}")
    if labels.shape != tval.shape:
        raise RawFormatError(f"{source}: label volume {labels.shape} and t-map {tval.shape} "
                             "differ in shape")
    mask = np.isin(labels, [by_name[name] for name in wanted]) & (tval > threshold)
    xyz = np.argwhere(mask)  # C order: sorted by x, then y, then z
    return RoiVoxels(roi, xyz.astype(np.int64), tval[mask].astype(np.float32))


def zscore_session(betas: np.ndarray, source: str = "") -> tuple[np.ndarray, np.ndarray]:
    """%BOLD z-scored per voxel over a session's trials (ddof=0).

    Parameters
    ----------
    betas : numpy.ndarray
        ``(trials, voxels)`` int16 betas as stored (%BOLD x 300).

    Returns
    -------
    z : numpy.ndarray
        ``(trials, voxels)`` float64 z-scores of ``betas / 300``.
    constant : numpy.ndarray
        Indices of voxels constant over the session (their z is set to 0, and the caller
        records them).
    """
    values = np.asarray(betas, dtype=np.float64) / BETA_SCALE
    mean = values.mean(axis=0)
    std = values.std(axis=0)  # ddof=0
    constant = np.flatnonzero(std == 0)
    safe = np.where(std == 0, 1.0, std)
    z = (values - mean) / safe
    z[:, constant] = 0.0
    return z, constant


def read_images(handle, indices: Sequence[int], source: str = "nsd_stimuli.hdf5",
                dataset: str = "imgBrick") -> np.ndarray:
    """Images ``indices`` (0-based, any order) of ``/imgBrick`` from an open (remote) file.

    Only the rows asked for are read (h5py's hyperslab reads on a file object become ranged
    reads), never the whole brick.
    """
    import h5py

    try:
        with h5py.File(handle, "r") as h5:
            if dataset not in h5:
                raise RawFormatError(f"{source} has no dataset {dataset!r}; it has {list(h5)}")
            brick = h5[dataset]
            if brick.ndim != 4 or brick.shape[3] != 3 or brick.dtype != np.uint8:
                raise RawFormatError(f"{source}:/{dataset} should be (n, height, width, 3) "
                                     f"uint8; found {brick.shape} {brick.dtype}")
            order = np.asarray(indices, dtype=np.int64)
            if order.size and (order.min() < 0 or order.max() >= brick.shape[0]):
                raise RawFormatError(f"{source}:/{dataset} has {brick.shape[0]} images; asked "
                                     f"for index {int(order.max())}")
            out = np.empty((order.size,) + tuple(brick.shape[1:]), dtype=np.uint8)
            for position in np.argsort(order, kind="stable"):  # ascending offsets
                out[position] = brick[int(order[position])]
            return out
    except OSError as error:
        raise RawFormatError(f"cannot read {source} as HDF5: {error}") from error
