"""pytest fixtures for neuroalign and its plugins, plus the synthetic-data helpers they use.

Installed as a pytest plugin (entry point ``pytest11: neuroalign``), so any project with
neuroalign installed can ask for:

``neuroalign_plugin_manager``
    a fresh :class:`~neuroalign.PluginManager` with autoload off (only the built-in plugin),
    installed as the process-wide manager for the test and restored afterwards;
``neuroalign_memory_fs``
    fsspec's ``memory://`` filesystem, emptied before and after the test;
``neuroalign_home``
    a temporary ``NEUROALIGN_HOME`` (cache, results database), so nothing touches ``~``;
``neuroalign_synthetic_store``
    a function ``(*dataset_specs, seed=0, scale=0.25) -> Path`` that writes the datasets'
    synthetic files and points ``NEUROALIGN_STORE`` at them;
``neuroalign_loopback_only``
    any socket connection beyond 127.0.0.1 / ::1 fails the test (tests never reach the network),
    and Hugging Face Hub is put offline.

Importing this module imports neither neuroalign's heavy parts nor torch: pytest loads it in
every session.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from unittest import mock

import pytest

if TYPE_CHECKING:  # pragma: no cover
    import xarray as xr

    from ..specs import DatasetSpec
    from ..plugins.manager import PluginManager

__all__ = ["neuroalign_plugin_manager", "neuroalign_memory_fs", "neuroalign_home",
           "neuroalign_synthetic_store", "synthetic_assembly", "write_synthetic_store",
           "store_env", "neuroalign_loopback_only"]


# ------------------------------------------------------------------------------ helpers


def synthetic_assembly(n_presentations: int = 200, n_neuroids: int = 10, *, seed: int = 0,
                       repetitions: int = 1, noise: float = 0.0) -> xr.DataArray:
    """A ``presentation x neuroid`` DataArray with ``stimulus_id``, ``object_name``, ``repetition``.

    Responses are a rank-6 signal (what a mapping can recover); with ``repetitions > 1`` each
    stimulus appears that many times with independent Gaussian ``noise`` added.
    """
    import numpy as np
    import xarray as xr

    rng = np.random.default_rng(seed)
    signal = rng.standard_normal((n_presentations, 6)) @ rng.standard_normal((6, n_neuroids))
    trials = np.concatenate([signal + noise * rng.standard_normal(signal.shape)
                             for _ in range(repetitions)])
    ids = np.array([f"stim{i:05d}" for i in range(n_presentations)], dtype=object)
    objects = np.array(["apple", "boat", "car", "dog"], dtype=object)[np.arange(n_presentations) % 4]
    return xr.DataArray(
        trials, dims=("presentation", "neuroid"),
        coords={"stimulus_id": ("presentation", np.tile(ids, repetitions)),
                "object_name": ("presentation", np.tile(objects, repetitions)),
                "repetition": ("presentation", np.repeat(np.arange(repetitions), n_presentations)),
                "neuroid_id": ("neuroid", np.array([f"n{i}" for i in range(n_neuroids)], dtype=object))},
    )


def write_synthetic_store(specs: list[DatasetSpec], directory: Path, *, seed: int = 0,
                          scale: float = 0.25) -> Path:
    """Generate each dataset's synthetic files into ``directory`` and index them there.

    Each dataset's ``synthetic`` generator is called as
    ``generate(spec, directory / id / f"v{version}", seed=seed, scale=scale)`` and returns
    ``{asset name: path}``; the store's ``index.json`` lists those files (relative URLs, sha256,
    size). Point ``NEUROALIGN_STORE`` at the returned directory and the datasets load them.
    Datasets without a generator are left out.
    """
    from .. import __version__
    from ..store.index import DatasetEntry, Index
    from ..specs import AssetSpec, resolve_factory
    from ..store.assets import sha256_file

    directory = Path(directory).resolve()
    entries = []
    for spec in specs:
        if spec.synthetic is None:
            continue
        folder = directory / spec.id / f"v{spec.version}"
        paths = resolve_factory(spec.synthetic)(spec, folder, seed=seed, scale=scale)
        formats = {a.name: a.format for a in spec.assets}
        assets = [AssetSpec(name=name, url=Path(path).resolve().relative_to(directory).as_posix(),
                            sha256=sha256_file(path), size=Path(path).stat().st_size,
                            format=formats.get(name, "other"))
                  for name, path in sorted(paths.items())]
        entries.append(DatasetEntry(id=spec.id, version=spec.version, distribution="synthetic",
                                    assets=assets, description=f"synthetic, seed {seed}, scale {scale}"))
    directory.mkdir(parents=True, exist_ok=True)
    index = Index(description=f"synthetic store (neuroalign {__version__})", datasets=entries)
    (directory / "index.json").write_text(index.to_json())
    return directory


@contextlib.contextmanager
def store_env(directory: Path, home: Path | None = None) -> Iterator[None]:
    """Point ``NEUROALIGN_STORE`` at ``directory`` (and ``NEUROALIGN_HOME`` at a folder in it)."""
    env = {"NEUROALIGN_STORE": str(directory), "NEUROALIGN_HOME": str(home or Path(directory) / "_home")}
    with mock.patch.dict(os.environ, env):
        os.environ.pop("NEUROALIGN_MIRROR", None)
        yield


@contextlib.contextmanager
def plugin_registry(plugin: Any, name: str, distribution: str) -> Iterator[Any]:
    """A registry filled by a fresh manager holding only ``plugin`` (no built-ins, no autoload),
    installed process-wide while the block runs; yields the registry."""
    from ..plugins.lookup import use_plugin_manager
    from ..plugins.manager import PluginManager

    manager = PluginManager(autoload=False, builtin=False)
    manager.register(plugin, name=name, distribution=distribution)
    old = use_plugin_manager(manager)
    try:
        yield manager.registry
    finally:
        manager.unregister(name)
        use_plugin_manager(old)


def isolate_model_caches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Empty neuroalign, Hugging Face Hub and torch hub caches under ``tmp_path`` (model plugins'
    tests: nothing downloaded before is found, nothing is left behind)."""
    monkeypatch.setenv("NEUROALIGN_HOME", str(tmp_path / "neuroalign"))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.delenv("NEUROALIGN_OFFLINE", raising=False)
    monkeypatch.delenv("NEUROALIGN_MIRROR", raising=False)


# ------------------------------------------------------------------------------ fixtures


@pytest.fixture
def neuroalign_plugin_manager() -> Iterator[PluginManager]:
    """A fresh plugin manager (autoload off) installed process-wide for the test."""
    from ..plugins.manager import PluginManager
    from ..plugins.lookup import use_plugin_manager

    manager = PluginManager(autoload=False)
    old = use_plugin_manager(manager)
    try:
        yield manager
    finally:
        use_plugin_manager(old)


@pytest.fixture
def neuroalign_memory_fs() -> Iterator[Any]:
    """fsspec's ``memory://`` filesystem, empty at the start and emptied at the end."""
    import fsspec
    from fsspec.implementations.memory import MemoryFileSystem

    def clear() -> None:
        MemoryFileSystem.store.clear()
        MemoryFileSystem.pseudo_dirs[:] = [""]

    clear()
    try:
        yield fsspec.filesystem("memory")
    finally:
        clear()


@pytest.fixture
def neuroalign_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A temporary ``NEUROALIGN_HOME`` (created), set for the duration of the test."""
    home = tmp_path / "neuroalign-home"
    home.mkdir()
    monkeypatch.setenv("NEUROALIGN_HOME", str(home))
    return home


@pytest.fixture
def neuroalign_synthetic_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                               neuroalign_home: Path) -> Any:
    """``make(*specs, seed=0, scale=0.25) -> Path``: a synthetic store, set as NEUROALIGN_STORE."""

    def make(*specs: DatasetSpec, seed: int = 0, scale: float = 0.25) -> Path:
        directory = write_synthetic_store(list(specs), tmp_path / "synthetic-store", seed=seed,
                                          scale=scale)
        monkeypatch.setenv("NEUROALIGN_STORE", str(directory))
        return directory

    return make


@pytest.fixture
def neuroalign_loopback_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """Refuse (and then fail the test on) any connection that leaves 127.0.0.1 / ::1.

    Yields the list of refused addresses. Unix sockets are allowed. ``HF_HUB_OFFLINE=1`` is set
    so model hubs fail fast instead of trying the network.
    """
    import socket

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    refused: list[Any] = []
    real_connect = socket.socket.connect

    def connect(self: socket.socket, address: Any) -> Any:
        host = address[0] if isinstance(address, tuple) else None
        if host is not None and host not in ("127.0.0.1", "::1", "localhost"):
            refused.append(address)
            raise OSError(f"test tried to reach {address!r}: only 127.0.0.1 is allowed")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    yield refused
    assert not refused, f"tests must not send traffic beyond 127.0.0.1; tried {refused}"
