"""The datasets ``MajajHong2015.public`` and ``MajajHong2015.private``.

Where the files come from
-------------------------
1. **A store** (``NEUROALIGN_STORE``, e.g. the offline demo store): when its ``index.json``
   lists the dataset, its assets (``assembly``, ``stimuli_csv``, ``stimuli_zip``, each with a
   sha256) are fetched and verified by :func:`neuroalign.store.fetch`.
2. **Brain-Score's bucket** otherwise: the objects that brainscore-vision's
   ``data/majajhong2015/__init__.py`` loads from ``s3://brainio-brainscore`` (keys, S3 version
   ids and sha1 below). Brain-Score publishes **sha1** hashes, not sha256, and we do not know
   the sha256 of these files, so we never invent one: the download is verified against
   Brain-Score's sha1, its sha256 is computed on arrival and recorded in the cache sidecar and in
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

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from neuroalign.errors import AssetError, ChecksumMismatchError, OfflineError, SpecError
from neuroalign.interfaces import AssetSpec, Dataset, DatasetSpec

if TYPE_CHECKING:  # pragma: no cover
    import xarray as xr

    from neuroalign.stimuli import StimulusSet

__all__ = [
    "BUCKET",
    "ASSET_NAMES",
    "BRAINSCORE_FILES",
    "dataset_specs",
    "MajajHong2015Dataset",
    "fetch_brainscore",
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


def _declared_assets(access: str) -> tuple[AssetSpec, ...]:
    """The three assets, named and typed; their URL is Brain-Score's object key, *relative*.

    A relative URL carries no sha256 and is never fetched as is: a store (``NEUROALIGN_STORE``)
    or registry index provides each file with its sha256, and without one
    :class:`MajajHong2015Dataset` reads Brain-Score's bucket verified by sha1 (we know no sha256
    of Brain-Score's files and do not invent one).
    """
    return tuple(AssetSpec(name=name, url=entry["key"], format=entry["format"])
                 for name, entry in BRAINSCORE_FILES[access].items())


def dataset_specs() -> list[DatasetSpec]:
    """The registered specs (cheap: no I/O)."""
    specs = []
    for access, images in (("public", "3,200 images, variations 0 and 3"),
                           ("private", "2,560 images, variation 6")):
        specs.append(DatasetSpec(
            id=f"MajajHong2015.{access}",
            factory="neuroalign_majaj2015.data:MajajHong2015Dataset",
            version=1,
            assets=_declared_assets(access),
            kind="neural",
            license="Brain-Score data terms (public split: open; private split: access on request)",
            citation=CITATION,
            synthetic="neuroalign_majaj2015.synthetic:generate",
            description=f"Majaj, Hong et al. 2015 multi-unit V4 (88) and IT (168) responses, "
                        f"{access} split ({images}), mean rate 70-170 ms, repetitions kept.",
            parameters={
                "access": access,
                "bucket": BUCKET,
                "brainscore": BRAINSCORE_FILES[access],
                "stimulus_set_identifier": f"dicarlo.hvm-{access}",
                "visual_degrees": VISUAL_DEGREES,
                "time_window": list(TIME_WINDOW),
            },
        ))
    return specs


# ----------------------------------------------------------------------------------- fetching


def _sha1(path: Path) -> str:
    digest = hashlib.sha1()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def fetch_brainscore(bucket: str, entry: dict[str, str], *, dataset: str = "") -> tuple[Path, str]:
    """Download one of Brain-Score's objects into the cache, verified against its sha1.

    Parameters
    ----------
    bucket : str
        S3 bucket (``brainio-brainscore``).
    entry : dict
        ``key``, ``sha1``, optional ``version_id`` (the S3 object version to read).
    dataset : str
        Dataset id, for messages.

    Returns
    -------
    (pathlib.Path, str)
        The cached file and its sha256 (computed here; Brain-Score publishes only sha1).
    """
    import fsspec

    from neuroalign import store

    key, sha1, version = entry["key"], entry["sha1"], entry.get("version_id")
    url = store.resolve_url(f"s3://{bucket}/{key}")
    dest = store.home() / "assets" / f"brainscore-sha1-{sha1}" / key.rsplit("/", 1)[-1]
    if dest.is_file():
        return dest, _recorded_sha256(dest)
    if store.is_offline():
        raise OfflineError(
            f"{dataset or 'dataset'}: {key!r} (s3://{bucket}/{key}, sha1 {sha1}) is not cached and "
            f"NEUROALIGN_OFFLINE=1 forbids downloading it; copy it to {str(dest)!r}, or point "
            "NEUROALIGN_STORE at a store that has it (e.g. the demo store: neuroalign demo)"
        )
    scheme = url.split("://", 1)[0] if "://" in url else "file"
    options: dict[str, Any] = store.storage_options(scheme)
    with store.file_lock(dest):
        if dest.is_file():
            return dest, _recorded_sha256(dest)
        with store.atomic_path(dest) as tmp:
            try:
                if scheme == "s3" and version:
                    fs = fsspec.filesystem("s3", version_aware=True, **options)
                    fs.get_file(url[len("s3://"):], str(tmp), version_id=version)
                else:
                    fs, path = fsspec.core.url_to_fs(url, **options)
                    fs.get_file(path, str(tmp))
            except Exception as error:
                raise AssetError(
                    f"{dataset or 'dataset'}: cannot download {url!r}"
                    f"{f' (version {version})' if version else ''}: {type(error).__name__}: "
                    f"{error}. The private split needs Brain-Score credentials "
                    "(config.json storage_options.s3.anon=false); without network use a store "
                    "(NEUROALIGN_STORE) or the synthetic demo store (neuroalign demo)"
                ) from error
            actual = _sha1(tmp)
            if actual != sha1:
                raise ChecksumMismatchError(
                    f"checksum mismatch for {url!r}: Brain-Score publishes sha1 {sha1}, the "
                    f"download has sha1 {actual}; the download was discarded. If Brain-Score "
                    "re-uploaded the file, update BRAINSCORE_FILES in neuroalign_majaj2015.data"
                )
        sha256 = store.sha256_file(dest)
        store.write_meta(dest, kind="assets", key=f"s3://{bucket}/{key}",
                         description=f"Brain-Score {key}", url=url, sha1=sha1, sha256=sha256,
                         version_id=version)
    return dest, sha256


def _recorded_sha256(path: Path) -> str:
    import json

    from neuroalign import store

    sidecar = path.with_name(path.name + ".meta.json")
    try:
        return str(json.loads(sidecar.read_text())["sha256"])
    except (OSError, ValueError, KeyError):
        return store.sha256_file(path)


# ------------------------------------------------------------------------------------ dataset

#: (what, dataset id, file sha256s...) -> loaded assembly / stimulus set, shared in a process
#: (content-addressed: different files never share an entry); V4 and IT benchmarks load each
#: split once
_MEMO: dict[tuple[str, ...], Any] = {}
_MEMO_SIZE = 8


def _remember(key: tuple[str, ...], value: Any) -> Any:
    while len(_MEMO) >= _MEMO_SIZE:
        _MEMO.pop(next(iter(_MEMO)))
    _MEMO[key] = value
    return value


class MajajHong2015Dataset(Dataset):
    """A Majaj-Hong 2015 split (see the module docstring).

    Parameters
    ----------
    spec : DatasetSpec
        ``parameters``: ``access`` (public/private), ``bucket``, ``brainscore`` (asset name ->
        key/sha1/version_id), ``stimulus_set_identifier``, ``visual_degrees``, ``time_window``.
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
        paths: dict[str, Path] = {}
        declared = {asset.name: asset for asset in self.spec.assets}
        if listed != declared:  # a store (NEUROALIGN_STORE) lists this dataset
            missing = [name for name in ASSET_NAMES if name not in listed]
            if missing:
                raise AssetError(
                    f"the store lists {self.spec.id!r} without the asset(s) {missing} (it has "
                    f"{sorted(listed)}); rebuild it (neuroalign demo, or "
                    "registry/build_demo_store.py)"
                )
            for name in ASSET_NAMES:
                paths[name] = store.fetch(listed[name], dataset=self.spec.id)
                self._sha256[name] = listed[name].sha256 or store.sha256_file(paths[name])
        else:
            sources = self.spec.parameters.get("brainscore") or {}
            bucket = self.spec.parameters.get("bucket", BUCKET)
            for name in ASSET_NAMES:
                if name not in sources:
                    raise SpecError(
                        f"dataset {self.spec.id!r} has no Brain-Score source for {name!r}")
                paths[name], self._sha256[name] = fetch_brainscore(bucket, sources[name],
                                                                   dataset=self.spec.id)
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

    def load(self) -> xr.DataArray:
        """Per-repetition responses ``presentation x neuroid`` (see the module docstring)."""
        if self._assembly is None:
            key = self._memo_key("assembly")
            if key in _MEMO:
                self._assembly = _MEMO[key]
                return self._assembly
            from .formats import read_assembly, read_stimulus_csv, to_neuroalign

            paths = self.files()
            raw = read_assembly(paths["assembly"])
            window = tuple(self.spec.parameters.get("time_window", TIME_WINDOW))
            assembly = to_neuroalign(raw, read_stimulus_csv(paths["stimuli_csv"]),
                                     time_window=window, source=f"{self.spec.id} assembly")
            assembly.attrs["identifier"] = self.spec.id
            assembly.attrs["stimulus_set_identifier"] = self.spec.parameters.get(
                "stimulus_set_identifier", "")
            self._assembly = _remember(key, assembly)
        return self._assembly

    def stimuli(self) -> StimulusSet:
        """The images (RGB from the grayscale PNGs) with object/category/variation metadata."""
        if self._stimuli is None:
            from .formats import read_stimulus_set

            key = self._memo_key("stimuli")
            if key in _MEMO:
                self._stimuli = _MEMO[key]
                return self._stimuli
            paths = self.files()
            self._stimuli = read_stimulus_set(
                paths["stimuli_csv"], paths["stimuli_zip"],
                identifier=self.spec.id,
                degrees=float(self.spec.parameters.get("visual_degrees", VISUAL_DEGREES)),
            )
            _remember(key, self._stimuli)
        return self._stimuli
