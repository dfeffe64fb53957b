"""``Example.toy`` at run time: fetch the assets through the store, open them as netCDF."""

from __future__ import annotations

import xarray as xr

from neuroalign import Dataset, DatasetSpec
from neuroalign.stimuli import StimulusSet


class ExampleDataset(Dataset):
    """Loads ``responses.nc`` (``presentation x neuroid``) and ``stimuli.nc``.

    Constructing it does no I/O; :meth:`load` and :meth:`stimuli` fetch through
    :mod:`neuroalign.store` (store override, mirrors, cache, sha256 checks).

    Parameters
    ----------
    spec : DatasetSpec
        The registered spec.
    """

    def __init__(self, spec: DatasetSpec):
        self.spec = spec

    def _path(self, name: str):
        from neuroalign import store

        return store.fetch(store.assets_for(self.spec)[name], dataset=self.spec.id)

    def load(self) -> xr.DataArray:
        """Responses with dims ``presentation x neuroid`` and coords ``stimulus_id``,
        ``repetition``, ``object_name``, ``neuroid_id`` and ``region``."""
        from neuroalign import store

        return store.open_netcdf(self._path("responses"), engine="netcdf4")["responses"]

    def stimuli(self) -> StimulusSet:
        """The stimulus set the responses were recorded on."""
        return StimulusSet.open(self._path("stimuli"))
