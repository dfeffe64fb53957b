"""The datasets ``NSD.shared515`` (images) and ``NSD.subj01`` ... ``NSD.subj08`` (betas).

NSD publishes raw files only; these datasets are the files ``neuroalign nsd prepare`` writes
into a store (see :mod:`neuroalign_nsd.outputs` for their layout). Point ``NEUROALIGN_STORE`` at
that store: its ``index.json`` lists the files with their sha256, and the core store verifies
them on use. Without such a store, loading explains how to make one.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from neuroalign.errors import AssetError
from neuroalign import Dataset, DatasetSpec

from .source import AGREEMENT
from .specs import BUCKET, STIMULUS_SET_ID, VISUAL_DEGREES

if TYPE_CHECKING:  # pragma: no cover
    import xarray as xr

    from neuroalign.stimuli import StimulusSet

__all__ = ["NSDStimuli", "NSDSubject"]

#: (dataset id, sha256s) -> loaded object, shared within a process (20 benchmarks, 9 datasets)
_MEMO: dict[tuple[str, ...], Any] = {}


def _hint(spec: DatasetSpec) -> str:
    return (f"{spec.id} is made from raw NSD by: neuroalign nsd prepare --source {BUCKET} "
            f"--out STORE, then NEUROALIGN_STORE=STORE (the offline twin: neuroalign demo). "
            f"{AGREEMENT}")


class _Prepared(Dataset):
    """A dataset whose files come from a store written by ``neuroalign nsd prepare``."""

    def __init__(self, spec: DatasetSpec):
        self.spec = spec
        self._paths: dict[str, Path] | None = None
        self._sha256: dict[str, str] = {}

    def __getstate__(self) -> dict[str, Any]:
        return {"spec": self.spec}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["spec"])

    def files(self) -> dict[str, Path]:
        """Local, verified paths of the dataset's files (fetched through the core store)."""
        if self._paths is None:
            from neuroalign import store

            paths = {}
            for name, asset in store.assets_for(self.spec).items():
                try:
                    paths[name] = store.fetch(asset, dataset=self.spec.id)
                except AssetError as error:
                    raise type(error)(f"{error}. {_hint(self.spec)}") from error
                self._sha256[name] = asset.sha256 or store.sha256_file(paths[name])
            self._paths = paths
        return self._paths

    @property
    def sha256(self) -> dict[str, str]:
        """``<dataset id>/<asset name>`` -> sha256 of the files used."""
        self.files()
        return {f"{self.spec.id}/{name}": sha for name, sha in self._sha256.items()}

    def _key(self) -> tuple[str, ...]:
        self.files()
        return (self.spec.id, *sorted(self._sha256.values()))


class NSDStimuli(_Prepared):
    """``NSD.shared515``: the shared images (PNG in a zip + CSV), 8.4 degrees.

    Parameters
    ----------
    spec : DatasetSpec
        Assets ``stimuli_csv`` and ``stimuli_zip``; ``parameters["visual_degrees"]``.
    """

    def load(self) -> StimulusSet:
        """The images as a :class:`~neuroalign.stimuli.StimulusSet` (ids ``nsd-%05d``)."""
        from .outputs import read_stimulus_set

        key = self._key()
        if key not in _MEMO:
            paths = self.files()
            _MEMO[key] = read_stimulus_set(
                paths["stimuli_csv"], paths["stimuli_zip"], identifier=self.spec.id,
                degrees=float(self.spec.parameters.get("visual_degrees", VISUAL_DEGREES)))
        return _MEMO[key]

    def stimuli(self) -> StimulusSet:
        """Same as :meth:`load`."""
        return self.load()


class NSDSubject(_Prepared):
    """``NSD.subjAA``: z-scored single-trial betas of the ROI voxels (presentation x neuroid).

    Parameters
    ----------
    spec : DatasetSpec
        Asset ``assembly``; ``parameters["subject"]`` and ``["stimulus_set"]``.
    """

    def load(self) -> xr.DataArray:
        """The assembly (dims presentation x neuroid; coords as written by prepare)."""
        from .outputs import read_assembly

        key = self._key()
        if key not in _MEMO:
            _MEMO[key] = read_assembly(self.files()["assembly"])
        return _MEMO[key]

    def stimuli(self) -> StimulusSet:
        """The shared images (the ``NSD.shared515`` dataset)."""
        from neuroalign import get_dataset

        return get_dataset(self.spec.parameters.get("stimulus_set", STIMULUS_SET_ID)).load()
