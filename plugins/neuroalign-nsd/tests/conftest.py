"""A tiny raw NSD tree in the real formats, with the arrays it was written from."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from neuroalign_nsd.rawwrite import (to_int16_betas, write_betas, write_ctab, write_design,
                                     write_stimuli, write_subject_volumes)

#: label names per category; FFA-1/FFA-2 are not labels 1/2, so names must be looked up
CTABS = {"faces": {1: "OFA", 2: "mTL-faces", 3: "FFA-1", 5: "FFA-2"},
         "bodies": {1: "EBA", 2: "FBA-1"},
         "places": {1: "OPA", 2: "PPA", 3: "RSC"},
         "words": {1: "OWFA", 2: "VWFA-1", 3: "VWFA-2", 4: "mfs-words"}}
SHAPE = (5, 6, 4)  # NIfTI (X, Y, Z)
TRIALS = 6  # per session
SESSIONS = (4, 4, 3, 3, 4, 3, 4, 3)


@dataclass
class TinyTree:
    root: Path
    masterordering: np.ndarray  # 1-based
    subjectim: np.ndarray  # 1-based
    sharedix: np.ndarray  # 1-based
    labels: dict = field(default_factory=dict)  # subject -> category -> (X, Y, Z)
    tvals: dict = field(default_factory=dict)
    betas: dict = field(default_factory=dict)  # (subject, session) -> int16 (T, X, Y, Z)
    images: np.ndarray | None = None
    ctabs: dict = field(default_factory=lambda: CTABS)
    sessions: tuple = SESSIONS
    trials: int = TRIALS

    def files(self) -> dict[str, Path]:
        return {p.relative_to(self.root).as_posix(): p for p in self.root.rglob("*")
                if p.is_file()}


def make_tree(root: Path, seed: int = 0) -> TinyTree:
    """8 subjects x 8 images (4 shared) x 3 repetitions, 4 sessions of 6 trials at most."""
    rng = np.random.default_rng(seed)
    n_universe = 30
    sharedix = np.array([3, 7, 11, 19])  # 1-based 73k ids
    subjectim = np.zeros((8, 8), dtype=np.int64)
    for s in range(8):
        own = rng.choice(np.setdiff1d(np.arange(1, n_universe + 1), sharedix), 4, replace=False)
        subjectim[s] = np.r_[sharedix, own]
    masterordering = rng.permutation(np.repeat(np.arange(1, 9), 3))  # 24 trials
    tree = TinyTree(root, masterordering, subjectim, sharedix)
    write_design(root, masterordering, subjectim, sharedix)
    for category, names in CTABS.items():
        write_ctab(root, category, names)
    for subject in range(1, 9):
        labels, tvals = {}, {}
        for category, names in CTABS.items():
            labels[category] = rng.choice([-1, 0] + list(names), size=SHAPE)
            tvals[category] = rng.normal(6.0, 4.0, size=SHAPE)
        write_subject_volumes(root, subject, labels, tvals)
        tree.labels[subject], tree.tvals[subject] = labels, tvals
        for session in range(1, SESSIONS[subject - 1] + 1):
            bold = rng.normal(1.0, 2.0, size=(TRIALS,) + SHAPE) * rng.uniform(0.5, 2, SHAPE)
            tree.betas[subject, session] = to_int16_betas(bold)
            write_betas(root, subject, session, tree.betas[subject, session])
    tree.images = rng.integers(0, 256, size=(n_universe, 12, 10, 3), dtype=np.uint8)
    write_stimuli(root, tree.images)
    return tree


@pytest.fixture
def tiny_tree(tmp_path) -> TinyTree:
    return make_tree(tmp_path / "nsd")


@pytest.fixture(scope="session")
def nsd_twin_store(tmp_path_factory) -> Path:
    """The synthetic NSD store at the demo's scale (raw tree -> prepare), built once a session;
    modules enter it with ``neuroalign.testing.store_env``."""
    from neuroalign.plugins.lookup import get_registry
    from neuroalign.testing import write_synthetic_store

    specs = [e.spec for e in get_registry().entries("dataset") if e.spec.id.startswith("NSD.")]
    directory = tmp_path_factory.mktemp("nsd-store")
    write_synthetic_store(specs, directory, seed=0, scale=0.125)
    return directory
