"""The datasets ``MajajHong2015.public`` and ``MajajHong2015.private``.

Where the files come from
-------------------------
Every file goes through the core store (:func:`neuroalign.store.assets_for` and
:func:`neuroalign.store.fetch`: cache, mirrors, offline mode, locks, checksums):

1. **A store** (``NEUROALIGN_STORE``, e.g. the offline demo store): when its ``index.json``
   lists the dataset, its assets (``assembly``, ``stimuli_csv``, ``stimuli_zip``, each with a
   sha256) replace the declared ones.
2. **Brain-Score's bucket** otherwise: the declared assets are the objects that
   brainscore-vision's ``data/majajhong2015/__init__.py`` loads, as
   ``s3://brainio-brainscore/<key>`` URLs pinned by S3 ``version_id`` and Brain-Score's
   ``sha1`` (:data:`BRAINSCORE_FILES`). Brain-Score publishes **sha1** hashes, not sha256, and we
   do not know the sha256 of these files, so we never invent one: the store verifies the sha1,
   computes the sha256 on arrival and records both in the cache sidecar; the sha256 goes into
   every Score's provenance. A store that re-hosts the files pins their sha256 as usual.

The private split is access-controlled in Brain-Score's bucket: anonymous reads fail (HTTP 403)
and credentials must be configured (``$NEUROALIGN_HOME/config.json``:
``{"storage_options": {"s3": {"anon": false}}}`` with AWS credentials in the environment).

What ``load()`` returns
-----------------------
``presentation x neuroid`` mean firing rates in 70-170 ms with every repetition kept and coords
``stimulus_id``, ``object_name``, ``category_name``, ``variation``, ``repetition`` (presentation)
and ``neuroid_id``, ``region``, ``animal`` (+ array metadata) (neuroid). The real data: 88 V4 and
168 IT sites; the public split 3,200 images (variations 0 and 3), the private split 2,560 images
(variation 6) in 8 categories, ~50 repetitions.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from neuroalign.errors import AssetError, ChecksumMismatchError, OfflineError, SpecError
from neuroalign import AssetSpec, Dataset, DatasetSpec

if TYPE_CHECKING:  # pragma: no cover
    import xarray as xr

    from neuroalign.stimuli import StimulusSet

__all__ = [
    "BUCKET",
    "ASSET_NAMES",
    "BRAINSCORE_FILES",
    "brainscore_assets",
    "dataset_specs",
    "MajajHong2015Dataset",
]

BUCKET = "brainio-brainscore"
ASSET_NAMES = ("assembly", "stimuli_csv", "stimuli_zip")
VISUAL_DEGREES = 8.0
TIME_WINDOW = (70.0, 170.0)

#: brainscore-vision 2.x ``data/majajhong2015/__init__.py`` + ``data_helpers/lookup_legacy.csv``
BRAINSCORE_FILES: dict[str, dict[str, dict[str, str]]] = {
    "public": {
        "assembly": {"key": "assy_dicarlo_MajajHong2015_public.nc", "format": "netcdf",
                     "sha1": "13d28ca0ce88ee550b54db3004374ae19096e9b9",
                     "version_id": "LZWj2qjAwZKdmHdTGftpBPSO6oq.y9Q7"},
        "stimuli_csv": {"key": "image_dicarlo_hvm-public.csv", "format": "csv",
                        "sha1": "5ca7a3da00d8e9c694a9cd725df5ba0ad6d735af",
                        "version_id": "PxkMLFgPqRM7wOe3tBfwsXI3pfB49RPR"},
        "stimuli_zip": {"key": "image_dicarlo_hvm-public.zip", "format": "zip",
                        "sha1": "8aa44e038d7b551efa8077467622f9d48d72e473",
                        "version_id": "UzgkNOtIWMXaMN7vUA0FVemXLTvdtH13"},
    },
    "private": {
        "assembly": {"key": "assy_dicarlo_MajajHong2015_private.nc", "format": "netcdf",
                     "sha1": "7a40d16148d6f82939155f0bd976d310857fb156",
                     "version_id": "te22BOyPgmV_MOnV5l0J3EqjqTIkX3s4"},
        "stimuli_csv": {"key": "image_dicarlo_hvm-private.csv", "format": "csv",
                        "sha1": "6ff4981722fa05feb73a2bd26bbbba8b50dc29a6",
                        "version_id": "AjHL0UBtYui_PwXV0zISNSilWJEWgL4a"},
        "stimuli_zip": {"key": "image_dicarlo_hvm-private.zip", "format": "zip",
                        "sha1": "d7b1ca1876dad87e15b0242b4c82c0203ff3cbd3",
                        "version_id": "0gLBR1UgyfhIuE5wHSK6Ctb4PBPIRUJN"},
    },
}

CITATION = """@article{majajhong2015simple,
  title={Simple learned weighted sums of inferior temporal neuronal firing rates accurately
         predict human core object recognition performance},
  author={Majaj, Najib J and Hong, Ha and Solomon, Ethan A and DiCarlo, James J},
  journal={Journal of Neuroscience}, volume={35}, number={39}, pages={13402--13418},
  year={2015}, doi={10.1523/JNEUROSCI.5181-14.2015}
}"""


def brainscore_assets(
    files: dict[str, dict[str, str]], bucket: str = BUCKET
) -> tuple[AssetSpec, ...]:
    """Assets for Brain-Score objects: ``s3://<bucket>/<key>`` pinned by sha1 and S3 version.

    ``files`` maps asset name -> ``key``, ``format``, ``sha1``, optional ``version_id`` (one
    split of :data:`BRAINSCORE_FILES`). No sha256 is declared: Brain-Score publishes none, and
    :func:`neuroalign.store.fetch` computes it on arrival.
    """
    return tuple(AssetSpec(name=name, url=f"s3://{bucket}/{entry['key']}",
                           sha1=entry["sha1"], version_id=entry.get("version_id"),
                           format=entry["format"])
                 for name, entry in files.items())


def dataset_specs() -> list[DatasetSpec]:
    """The registered specs (cheap: no I/O)."""
    specs = []
    for access, images in (("public", "3,200 images, variations 0 and 3"),
                           ("private", "2,560 images, variation 6")):
        specs.append(DatasetSpec(
            id=f"MajajHong2015.{access}",
            factory="neuroalign_majaj2015.data:MajajHong2015Dataset",
            version=1,
            assets=brainscore_assets(BRAINSCORE_FILES[access]),
            kind="neural",
            license="Brain-Score data terms (public split: open; private split: access on request)",
            citation=CITATION,
            synthetic="neuroalign_majaj2015.synthetic:generate",
            description=f"Majaj, Hong et al. 2015 multi-unit V4 (88) and IT (168) responses, "
                        f"{access} split ({images}), mean rate 70-170 ms, repetitions kept.",
            parameters={
                "access": access,
                "stimulus_set_identifier": f"dicarlo.hvm-{access}",
                "visual_degrees": VISUAL_DEGREES,
                "time_window": list(TIME_WINDOW),
            },
        ))
    return specs


# ----------------------------------------------------------------------------------- fetching


def _recorded_sha256(path: Path) -> str:
    """The sha256 the store recorded in ``path``'s sidecar (computed if there is none)."""
    from neuroalign import store

    sidecar = path.with_name(path.name + ".meta.json")
    try:
        return str(json.loads(sidecar.read_text())["sha256"])
    except (OSError, ValueError, KeyError):
        return store.sha256_file(path)


def _hint(error: AssetError, spec: DatasetSpec) -> str:
    """What to add to a store error for this dataset (empty for checksum mismatches)."""
    if isinstance(error, ChecksumMismatchError):
        return ""
    hint = (f" For {spec.id} you can also point NEUROALIGN_STORE at a store that lists it (the "
            "synthetic demo store: neuroalign demo)")
    if not isinstance(error, OfflineError) and spec.parameters.get("access") == "private":
        hint = (" Brain-Score's private split is access-controlled: anonymous reads fail, so "
                "configure credentials ($NEUROALIGN_HOME/config.json "
                '{"storage_options": {"s3": {"anon": false}}} with AWS credentials in the '
                "environment)." + hint)
    return hint


# ------------------------------------------------------------------------------------ dataset

#: (what, dataset id, file sha256s...) -> loaded assembly / stimulus set, shared in a process
#: (content-addressed: different files never share an entry); V4 and IT benchmarks load each
#: split once
_MEMO: dict[tuple[str, ...], Any] = {}
_MEMO_SIZE = 8


def _memo(key: tuple[str, ...], make: Any) -> Any:
    """``make()`` under ``key``, computed once per process while it stays among the last
    :data:`_MEMO_SIZE` entries."""
    if key not in _MEMO:
        while len(_MEMO) >= _MEMO_SIZE:
            _MEMO.pop(next(iter(_MEMO)))
        _MEMO[key] = make()
    return _MEMO[key]


class MajajHong2015Dataset(Dataset):
    """A Majaj-Hong 2015 split (see the module docstring).

    Parameters
    ----------
    spec : DatasetSpec
        ``assets``: ``assembly``, ``stimuli_csv``, ``stimuli_zip`` (fetched through the core
        store); ``parameters``: ``access`` (public/private), ``stimulus_set_identifier``,
        ``visual_degrees``, ``time_window``.
    """

    def __init__(self, spec: DatasetSpec):
        self.spec = spec
        self._paths: dict[str, Path] | None = None
        self._sha256: dict[str, str] = {}
        self._assembly: xr.DataArray | None = None
        self._stimuli: StimulusSet | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {"spec": self.spec}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["spec"])

    # ---------------------------------------------------------------- files
    def files(self) -> dict[str, Path]:
        """Local paths of ``assembly``, ``stimuli_csv`` and ``stimuli_zip`` (fetched once)."""
        if self._paths is not None:
            return self._paths
        from neuroalign import store

        listed = store.assets_for(self.spec)
        missing = [name for name in ASSET_NAMES if name not in listed]
        if missing:
            raise SpecError(f"dataset {self.spec.id!r} declares no asset(s) {missing}; it has "
                            f"{sorted(listed)}")
        paths: dict[str, Path] = {}
        for name in ASSET_NAMES:
            asset = listed[name]
            try:
                paths[name] = store.fetch(asset, dataset=self.spec.id)
            except AssetError as error:
                hint = _hint(error, self.spec)
                if not hint:
                    raise
                raise type(error)(f"{error}.{hint}") from error
            self._sha256[name] = asset.sha256 or _recorded_sha256(paths[name])
        self._paths = paths
        return paths

    @property
    def sha256(self) -> dict[str, str]:
        """Asset name -> sha256 of the files loaded (filled by :meth:`files`)."""
        self.files()
        return {f"{self.spec.id}/{name}": sha for name, sha in self._sha256.items()}

    # ---------------------------------------------------------------- data
    def _memo_key(self, what: str) -> tuple[str, ...]:
        self.files()
        return (what, self.spec.id, *sorted(self._sha256.values()))

    #: defaults of ``parameters["visual_degrees"]`` and the stimulus CSV columns kept as
    #: metadata; other BrainIO datasets (FreemanZiemba2013, Rajalingham2018) set their own
    default_visual_degrees: float = VISUAL_DEGREES
    stimulus_columns: tuple[str, ...] = ("object_name", "category_name", "variation")

    def load(self) -> xr.DataArray:
        """Per-repetition responses ``presentation x neuroid`` (see the module docstring)."""
        if self._assembly is None:
            self._assembly = _memo(self._memo_key("assembly"), self._labelled_assembly)
        return self._assembly

    def _labelled_assembly(self) -> xr.DataArray:
        assembly = self._read_assembly()
        assembly.attrs["identifier"] = self.spec.id
        assembly.attrs["stimulus_set_identifier"] = self.spec.parameters.get(
            "stimulus_set_identifier", "")
        return assembly

    def _read_assembly(self) -> xr.DataArray:
        """The assembly file converted to neuroalign's layout (subclasses: their own format)."""
        from .formats import read_assembly, read_stimulus_csv, to_neuroalign

        paths = self.files()
        window = tuple(self.spec.parameters.get("time_window", TIME_WINDOW))
        return to_neuroalign(read_assembly(paths["assembly"]),
                             read_stimulus_csv(paths["stimuli_csv"]), time_window=window,
                             source=f"{self.spec.id} assembly")

    def stimuli(self) -> StimulusSet:
        """The images with the metadata of :attr:`stimulus_columns`."""
        if self._stimuli is None:
            self._stimuli = _memo(self._memo_key("stimuli"), self._read_stimuli)
        return self._stimuli

    def _read_stimuli(self) -> StimulusSet:
        from .formats import read_stimulus_set

        paths = self.files()
        return read_stimulus_set(
            paths["stimuli_csv"], paths["stimuli_zip"], identifier=self.spec.id,
            degrees=float(self.spec.parameters.get("visual_degrees", self.default_visual_degrees)),
            columns=self.stimulus_columns)
