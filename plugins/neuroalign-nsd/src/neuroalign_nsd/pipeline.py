"""``prepare``: raw NSD -> a neuroalign store with ``NSD.shared515`` and ``NSD.subjAA``.

Procedure (paper 002 §2.1; NSD data paper for the formats):

1. Read the design; the **shared 515** are the ``sharedix`` images that every one of the 8
   subjects saw exactly three times within its completed sessions (always computed over all 8
   subjects, whichever subjects are prepared).
2. Write the stimulus set: only those images are read from ``nsd_stimuli.hdf5`` (h5py on an
   fsspec file: ranged reads, never the 39.6 GB file).
3. Per subject: voxels of FFA (FFA-1 u FFA-2 of floc-faces, facestval > t), EBA, PPA and VWFA
   (VWFA-1 u VWFA-2 of floc-words, wordtval > t); then session by session: download the betas
   file (the next one is fetched while the current one is processed, so at most two session
   files are on disk), divide by 300, z-score every voxel over the session's trials (ddof=0),
   keep the trials of the shared 515, save that session's rows (a small ``.npz``), delete the
   download. Sessions without a shared-515 trial are not downloaded.
4. Assemble the subject's ``(1545, neuroid)`` assembly, write it, update ``index.json``.

Resumable: the per-session rows are kept under ``<out>/.nsd-prepare/<fingerprint>/`` until their
subject's assembly is written, and finished outputs are recorded in ``<out>/.nsd-prepare/
done.json`` with the parameters' fingerprint, so a killed run redoes at most one session and a
rerun skips what is done. Every output is written under a temp name and renamed.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from .outputs import (assembly_file, stimulus_files, stimulus_ids, update_index,
                      write_assembly, write_stimulus_set)
from .raw import RawFormatError, read_design, read_images, select_roi_voxels, zscore_session
from .source import Source, timed
from .specs import (DESIGN_PATH, ROIS, SESSIONS, SHARED_REPETITIONS, STIMULI_PATH,
                    STIMULUS_SET_ID, SUBJECTS, TRIALS_PER_SESSION, TVAL_THRESHOLD, betas_path,
                    ctab_path, roi_path, subject_dataset_id, tval_path)

__all__ = ["prepare", "parse_subjects", "subject_voxels", "FORMAT_VERSION"]

FORMAT_VERSION = 1
_WORK = ".nsd-prepare"


def parse_subjects(text: str | Sequence[int]) -> list[int]:
    """``"1-8"``, ``"1,3,5"``, ``"2"`` or a sequence -> sorted subject numbers (1-8)."""
    if isinstance(text, str):
        numbers: list[int] = []
        for part in text.replace(" ", "").split(","):
            if not part:
                continue
            low, sep, high = part.partition("-")
            try:
                numbers += list(range(int(low), int(high) + 1)) if sep else [int(low)]
            except ValueError as error:
                raise ValueError(f"subjects {text!r}: {part!r} is not N or N-M (e.g. 1-8 or "
                                 "1,3,5)") from error
    else:
        numbers = [int(n) for n in text]
    bad = sorted(n for n in set(numbers) if n not in SUBJECTS)
    if bad or not numbers:
        raise ValueError(f"subjects {text!r}: NSD has subjects 1-8; found {bad or 'none'}")
    return sorted(set(numbers))


def subject_voxels(source: Source, subject: int, threshold: float) -> dict[str, Any]:
    """The ROI voxels of ``subject``: neuroid coords and the volume shape ``(X, Y, Z)``."""
    from .raw import parse_ctab, read_nifti

    rois, shape = [], None
    for roi, (category, _) in ROIS.items():
        names = parse_ctab(source.read_bytes(ctab_path(category)).decode(),
                           ctab_path(category))
        labels, _ = read_nifti(source.read_bytes(roi_path(subject, category)),
                               roi_path(subject, category))
        tval, _ = read_nifti(source.read_bytes(tval_path(subject, category)),
                             tval_path(subject, category))
        if shape is not None and labels.shape != shape:
            raise RawFormatError(f"{roi_path(subject, category)} has shape {labels.shape}; the "
                                 f"other ROI volumes of subject {subject} have {shape}")
        shape = labels.shape
        rois.append(select_roi_voxels(roi, np.rint(labels).astype(np.int64), names,
                                      np.asarray(tval, dtype=np.float64), threshold,
                                      roi_path(subject, category)))
    label = f"subj{subject:02d}"
    xyz = np.concatenate([r.xyz for r in rois])
    roi_names = np.concatenate([[r.roi] * len(r.xyz) for r in rois]).astype(object)
    return {
        "shape": shape, "xyz": xyz, "counts": {r.roi: len(r.xyz) for r in rois},
        "neuroid": {
            "neuroid_id": np.array([f"{label}-{r}-{x}-{y}-{z}"
                                    for r, (x, y, z) in zip(roi_names, xyz)], dtype=object),
            "roi": roi_names,
            "subject": np.array([label] * len(xyz), dtype=object),
            "voxel_x": xyz[:, 0].astype(np.int32), "voxel_y": xyz[:, 1].astype(np.int32),
            "voxel_z": xyz[:, 2].astype(np.int32),
            "tval": np.concatenate([r.tval for r in rois]).astype(np.float32),
        },
    }


def _session_rows(path: Path, key: str, xyz: np.ndarray, shape: tuple[int, ...],
                  trials_per_session: int, keep: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """Z-scored rows ``keep`` of one downloaded session, for voxels ``xyz``."""
    import h5py

    with h5py.File(path, "r") as h5:
        if "betas" not in h5:
            raise RawFormatError(f"{key} has no dataset 'betas'; it has {list(h5)}")
        betas = h5["betas"]
        expected = (trials_per_session,) + tuple(reversed(shape))
        if tuple(betas.shape) != expected:
            raise RawFormatError(f"{key}: 'betas' has shape {tuple(betas.shape)}; expected "
                                 f"{expected} (trials, Z, Y, X of the ROI volumes)")
        if betas.dtype != np.int16:
            raise RawFormatError(f"{key}: 'betas' is {betas.dtype}; NSD stores int16 "
                                 "(%BOLD x 300)")
        if len(xyz) == 0:
            return np.zeros((len(keep), 0)), []
        low, high = xyz.min(axis=0), xyz.max(axis=0) + 1
        # one hyperslab over the ROIs' bounding box, h5py order (trial, z, y, x)
        box = betas[:, low[2]:high[2], low[1]:high[1], low[0]:high[0]]
    rel = xyz - low
    selected = box[:, rel[:, 2], rel[:, 1], rel[:, 0]]
    z, constant = zscore_session(selected, key)
    return z[keep].astype(np.float32), [int(c) for c in constant]


def _fingerprint(source: Source, threshold: float, sessions: Sequence[int],
                 trials_per_session: int) -> str:
    text = json.dumps({"source": source.root, "threshold": float(threshold),
                       "sessions": list(map(int, sessions)),
                       "trials_per_session": int(trials_per_session),
                       "format": FORMAT_VERSION}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class _Done:
    """``<out>/.nsd-prepare/done.json``: dataset id -> fingerprint and sha256 of each file."""

    def __init__(self, out: Path):
        self.path = out / _WORK / "done.json"
        self.records: dict[str, Any] = (json.loads(self.path.read_text())
                                        if self.path.is_file() else {})

    def complete(self, identifier: str, fingerprint: str, files: dict[str, Path]) -> bool:
        from neuroalign.store import sha256_file

        record = self.records.get(identifier)
        if not record or record.get("fingerprint") != fingerprint:
            return False
        return all(Path(p).is_file() and sha256_file(p) == record["sha256"].get(n)
                   for n, p in files.items())

    def mark(self, identifier: str, fingerprint: str, files: dict[str, Path]) -> None:
        from neuroalign.store import atomic_path, sha256_file

        self.records[identifier] = {"fingerprint": fingerprint,
                                    "sha256": {n: sha256_file(p) for n, p in files.items()}}
        with atomic_path(self.path) as tmp:
            tmp.write_text(json.dumps(self.records, indent=1, sort_keys=True))


def prepare(source: str, out: str | Path, *, subjects: str | Sequence[int] = SUBJECTS,
            threshold: float = TVAL_THRESHOLD, sessions: Sequence[int] = SESSIONS,
            trials_per_session: int = TRIALS_PER_SESSION,
            log: Callable[[str], None] | None = None) -> dict[str, dict[str, Path]]:
    """Prepare NSD's shared-515 data from a raw NSD tree into a neuroalign store.

    Parameters
    ----------
    source : str
        Root of the raw NSD tree: ``s3://natural-scenes-dataset`` (anonymous; NSD's Data Access
        Agreement applies), a mirror URL or a local directory.
    out : path-like
        The store directory (created); holds ``index.json`` (usable as ``NEUROALIGN_STORE``).
    subjects : str or sequence of int
        Subjects to prepare (``"1-8"``, ``"1,2"``, ``[1, 2]``).
    threshold : float
        Keep ROI voxels with ``tval > threshold`` (paper 002: 7).
    sessions : sequence of int
        Completed sessions of each of the 8 subjects (NSD: 40 40 32 30 40 32 40 30).
    trials_per_session : int
        Trials per session (NSD: 750).
    log : callable, optional
        ``log(message)`` receives progress messages.

    Returns
    -------
    dict
        Dataset id -> asset name -> path, for every output of this run (done or skipped).
    """
    say = log or (lambda message: None)
    subjects = parse_subjects(subjects)
    if len(sessions) != len(SUBJECTS):
        raise ValueError(f"sessions must list the completed sessions of all 8 subjects; found "
                         f"{list(sessions)}")
    src = Source(source)
    out = Path(out).expanduser().resolve()
    out.mkdir(parents=True, exist_ok=True)
    fingerprint = _fingerprint(src, threshold, sessions, trials_per_session)
    done = _Done(out)
    say(f"reading the design {DESIGN_PATH} from {src.root}")
    design = read_design(src.read_bytes(DESIGN_PATH), DESIGN_PATH)
    shared = design.shared(sessions, trials_per_session)
    if shared.size == 0:
        raise RawFormatError(f"{DESIGN_PATH}: no shared image was seen {SHARED_REPETITIONS} "
                             f"times by every subject within sessions {list(sessions)}")
    say(f"{shared.size} shared images seen {SHARED_REPETITIONS} times by all 8 subjects")
    written: dict[str, dict[str, Path]] = {}

    files = stimulus_files(out)
    if done.complete(STIMULUS_SET_ID, fingerprint, files):
        say(f"{STIMULUS_SET_ID}: done before, kept")
    else:
        with src.open(STIMULI_PATH) as handle:
            images, seconds = timed(lambda: read_images(handle, shared, STIMULI_PATH))
        say(f"{STIMULUS_SET_ID}: read {len(images)} images in {seconds:.1f} s")
        position = {int(v): i for i, v in enumerate(design.sharedix)}
        write_stimulus_set(files, shared, np.array([position[int(i)] for i in shared]), images)
        update_index(out, {STIMULUS_SET_ID: files}, "NSD shared-515 images")
        done.mark(STIMULUS_SET_ID, fingerprint, files)
    written[STIMULUS_SET_ID] = files

    for subject in subjects:
        identifier = subject_dataset_id(subject)
        path = assembly_file(out, subject)
        if done.complete(identifier, fingerprint, {"assembly": path}):
            say(f"{identifier}: done before, kept")
        else:
            _prepare_subject(src, out, subject, design, shared, threshold, sessions,
                             trials_per_session, fingerprint, say)
            update_index(out, {identifier: {"assembly": path}},
                         f"NSD subject {subject}, shared 515, t > {threshold:g}")
            done.mark(identifier, fingerprint, {"assembly": path})
            shutil.rmtree(out / _WORK / fingerprint / f"subj{subject:02d}", ignore_errors=True)
        written[identifier] = {"assembly": path}
    return written


def _prepare_subject(src: Source, out: Path, subject: int, design, shared: np.ndarray,
                     threshold: float, sessions: Sequence[int], trials_per_session: int,
                     fingerprint: str, say: Callable[[str], None]) -> None:
    from neuroalign.store import atomic_path

    identifier = subject_dataset_id(subject)
    voxels = subject_voxels(src, subject, threshold)
    say(f"{identifier}: voxels with t > {threshold:g}: {voxels['counts']}")
    n_sessions = int(sessions[subject - 1])
    images = design.trial_images(subject, n_sessions * trials_per_session)
    kept_mask = np.isin(images, shared)
    work = out / _WORK / fingerprint / f"subj{subject:02d}"
    work.mkdir(parents=True, exist_ok=True)
    pending = []
    for session in range(1, n_sessions + 1):
        rows = slice((session - 1) * trials_per_session, session * trials_per_session)
        if kept_mask[rows].any() and not (work / f"session{session:02d}.npz").is_file():
            pending.append(session)
    downloads = work / "downloads"
    shutil.rmtree(downloads, ignore_errors=True)  # a killed run's prefetch

    def fetch(session: int) -> tuple[Path, str, float]:
        target = downloads / f"betas_session{session:02d}.hdf5"
        say(f"{identifier}: downloading session {session:02d} "
            f"({len(pending) - pending.index(session)} of {len(pending)} left)")
        sha, seconds = timed(lambda: src.download(betas_path(subject, session), target))
        return target, sha, seconds

    with ThreadPoolExecutor(max_workers=1) as pool:
        future = pool.submit(fetch, pending[0]) if pending else None
        for position, session in enumerate(pending):
            assert future is not None
            local, sha, seconds = future.result()
            # prefetch the next session while this one is processed: <= 2 files on disk
            future = pool.submit(fetch, pending[position + 1]) \
                if position + 1 < len(pending) else None
            rows = slice((session - 1) * trials_per_session, session * trials_per_session)
            keep = np.flatnonzero(kept_mask[rows])
            z, constant = _session_rows(local, betas_path(subject, session), voxels["xyz"],
                                        voxels["shape"], trials_per_session, keep)
            with atomic_path(work / f"session{session:02d}.npz") as tmp:
                with open(tmp, "wb") as handle:
                    np.savez(handle, z=z, trials=keep + rows.start, sha256=np.array(sha),
                             constant=np.array(constant, dtype=np.int64))
            local.unlink()
            say(f"{identifier}: session {session:02d}/{n_sessions} done ({len(keep)} trials "
                f"kept, download {seconds:.1f} s){'; constant voxels ' + str(constant) if constant else ''}")
    shutil.rmtree(downloads, ignore_errors=True)
    _assemble(out, subject, work, voxels, images, kept_mask, shared, trials_per_session,
              threshold, src)
    say(f"{identifier}: wrote {assembly_file(out, subject)}")


def _assemble(out: Path, subject: int, work: Path, voxels: dict[str, Any], images: np.ndarray,
              kept_mask: np.ndarray, shared: np.ndarray, trials_per_session: int,
              threshold: float, src: Source) -> None:
    blocks, trials, hashes, constant = [], [], {}, {}
    n_neuroids = len(voxels["xyz"])
    for session in range(1, len(kept_mask) // trials_per_session + 1):
        part = work / f"session{session:02d}.npz"
        if not part.is_file():
            continue
        with np.load(part) as data:
            if data["z"].shape[1] != n_neuroids:
                raise RawFormatError(f"{part} holds {data['z'].shape[1]} voxels, the ROIs have "
                                     f"{n_neuroids}; delete {work} and run prepare again")
            blocks.append(data["z"])
            trials.append(data["trials"])
            hashes[betas_path(subject, session)] = str(data["sha256"])
            if data["constant"].size:
                constant[session] = data["constant"].tolist()
    trial_index = np.concatenate(trials) if trials else np.zeros(0, np.int64)
    if not np.array_equal(trial_index, np.flatnonzero(kept_mask)):
        raise RawFormatError(f"subject {subject}: the saved sessions in {work} do not cover the "
                             "shared-515 trials; delete that folder and run prepare again")
    shown = images[trial_index]
    order = np.argsort(shown, kind="stable")  # stable: time order within each image
    repetition = np.empty(len(shown), dtype=np.int64)
    starts = np.r_[0, np.flatnonzero(np.diff(shown[order])) + 1]
    counts = np.diff(np.r_[starts, len(shown)])
    if len(counts) != len(shared) or (counts != SHARED_REPETITIONS).any():
        raise RawFormatError(f"subject {subject}: expected {SHARED_REPETITIONS} trials of each of "
                             f"the {len(shared)} shared images; found counts {sorted(set(counts))}")
    repetition[order] = np.arange(len(shown)) - np.repeat(starts, counts)
    presentation = {"stimulus_id": stimulus_ids(shown), "repetition": repetition,
                    "session": (trial_index // trials_per_session + 1).astype(np.int64)}
    attrs = {"identifier": subject_dataset_id(subject), "subject": subject,
             "source": src.root, "tval_threshold": float(threshold),
             "units": "z-scored %BOLD (betas / 300, per voxel per session, ddof=0)",
             "betas": "betas_fithrf_GLMdenoise_RR, func1pt8mm",
             "betas_sha256": json.dumps(hashes, sort_keys=True),
             "constant_voxels_per_session": json.dumps(constant, sort_keys=True),
             "prepared_by": f"neuroalign-nsd prepare (format {FORMAT_VERSION})"}
    values = np.concatenate(blocks) if blocks else np.zeros((0, n_neuroids), np.float32)
    write_assembly(assembly_file(out, subject), values, presentation, voxels["neuroid"], attrs)
