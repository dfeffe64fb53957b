"""The prepared store's files: the ``NSD.shared515`` stimulus set, ``NSD.subjAA`` assemblies, index.

Layout of a store written by ``neuroalign nsd prepare`` (the contract other tools read)::

    <out>/index.json                               neuroalign store index (sha256 + size)
    <out>/NSD.shared515/v1/stimuli.csv             stimulus_id, nsd_id, shared_index, filename
    <out>/NSD.shared515/v1/stimuli.zip             one PNG per image (425 x 425 RGB for NSD)
    <out>/NSD.subjAA/v1/NSD.subjAA.nc              netCDF, variable ``responses``

An assembly is float32 z-scored %BOLD with dims ``(presentation, neuroid)``; presentation coords
``stimulus_id`` (``nsd-%05d`` of the 0-based 73k id), ``repetition`` (0, 1, 2 in time order) and
``session`` (1-based); neuroid coords ``neuroid_id`` (``subjAA-ROI-x-y-z``), ``roi``,
``subject`` (``subjAA``), ``voxel_x``, ``voxel_y``, ``voxel_z`` (NIfTI indices) and ``tval``.
Every file is written to a temp name and renamed, so a reader never sees a partial file.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .specs import DATASET_VERSION, STIMULUS_ID_FORMAT, STIMULUS_SET_ID, subject_dataset_id

if TYPE_CHECKING:  # pragma: no cover
    import xarray as xr

    from neuroalign.stimuli import StimulusSet

__all__ = ["PRESENTATION_COORDS", "NEUROID_COORDS", "stimulus_files", "assembly_file",
           "write_stimulus_set", "read_stimulus_set", "write_assembly", "read_assembly",
           "update_index", "stimulus_ids"]

PRESENTATION_COORDS = ("stimulus_id", "repetition", "session")
NEUROID_COORDS = ("neuroid_id", "roi", "subject", "voxel_x", "voxel_y", "voxel_z", "tval")
_VARIABLE = "responses"


def stimulus_ids(nsd_ids: np.ndarray) -> np.ndarray:
    """``nsd-%05d`` ids of 0-based 73k ids."""
    return np.array([STIMULUS_ID_FORMAT.format(int(i)) for i in nsd_ids], dtype=object)


def stimulus_files(out: Path) -> dict[str, Path]:
    """``{"stimuli_csv": ..., "stimuli_zip": ...}`` of the stimulus set in store ``out``."""
    folder = Path(out) / STIMULUS_SET_ID / f"v{DATASET_VERSION}"
    return {"stimuli_csv": folder / "stimuli.csv", "stimuli_zip": folder / "stimuli.zip"}


def assembly_file(out: Path, subject: int) -> Path:
    """Path of subject ``subject``'s assembly in store ``out``."""
    identifier = subject_dataset_id(subject)
    return Path(out) / identifier / f"v{DATASET_VERSION}" / f"{identifier}.nc"


def write_stimulus_set(files: dict[str, Path], nsd_ids: np.ndarray, shared_index: np.ndarray,
                       images: np.ndarray) -> None:
    """Write the CSV and the zip of PNGs (atomically, zip first so the CSV marks completion)."""
    from PIL import Image

    from neuroalign.store import atomic_path

    ids = stimulus_ids(nsd_ids)
    names = [f"{i}.png" for i in ids]
    with atomic_path(files["stimuli_zip"]) as tmp:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as archive:
            for name, image in zip(names, images):
                buffer = io.BytesIO()
                Image.fromarray(np.asarray(image, dtype=np.uint8)).save(buffer, format="PNG")
                info = zipfile.ZipInfo(name, date_time=(2022, 1, 1, 0, 0, 0))  # reproducible
                archive.writestr(info, buffer.getvalue())
    frame = pd.DataFrame({"stimulus_id": ids, "nsd_id": np.asarray(nsd_ids, dtype=np.int64),
                          "shared_index": np.asarray(shared_index, dtype=np.int64),
                          "filename": names})
    with atomic_path(files["stimuli_csv"]) as tmp:
        frame.to_csv(tmp, index=False)


def read_stimulus_set(csv: Path, archive: Path, *, identifier: str = STIMULUS_SET_ID,
                      degrees: float = 8.4) -> StimulusSet:
    """The prepared stimulus set as a core :class:`~neuroalign.stimuli.StimulusSet` (RGB)."""
    from PIL import Image

    from neuroalign.errors import AssetError
    from neuroalign.stimuli import StimulusSet

    frame = pd.read_csv(csv, dtype={"stimulus_id": str, "filename": str})
    wanted = {"stimulus_id", "nsd_id", "shared_index", "filename"}
    if not wanted <= set(frame.columns):
        raise AssetError(f"{csv} lacks column(s) {sorted(wanted - set(frame.columns))}; it has "
                         f"{list(frame.columns)}; rerun neuroalign nsd prepare")
    images = []
    with zipfile.ZipFile(archive) as handle:
        present = set(handle.namelist())
        for name in frame["filename"]:
            if name not in present:
                raise AssetError(f"{archive} has no image {name!r} listed in {csv}; rerun "
                                 "neuroalign nsd prepare")
            with Image.open(io.BytesIO(handle.read(name))) as image:
                images.append(np.asarray(image.convert("RGB"), dtype=np.uint8))
    return StimulusSet.from_arrays(identifier, list(frame["stimulus_id"]), np.stack(images),
                                   degrees, nsd_id=frame["nsd_id"].to_numpy(np.int64),
                                   shared_index=frame["shared_index"].to_numpy(np.int64))


def write_assembly(path: Path, values: np.ndarray, presentation: dict[str, np.ndarray],
                   neuroid: dict[str, np.ndarray], attrs: dict[str, Any]) -> None:
    """Write one subject's assembly (see the module docstring) atomically."""
    import xarray as xr

    from neuroalign.store import atomic_path

    coords = {name: ("presentation", presentation[name]) for name in PRESENTATION_COORDS}
    coords.update({name: ("neuroid", neuroid[name]) for name in NEUROID_COORDS})
    array = xr.DataArray(np.asarray(values, dtype=np.float32), dims=("presentation", "neuroid"),
                         coords=coords, name=_VARIABLE, attrs=attrs)
    encoding = {_VARIABLE: {"zlib": True, "complevel": 4}}
    for name in ("stimulus_id", "neuroid_id", "roi", "subject"):
        array.coords[name] = array.coords[name].astype(str)
    with atomic_path(path) as tmp:
        array.to_netcdf(tmp, engine="netcdf4", encoding=encoding)


def read_assembly(path: Path) -> xr.DataArray:
    """Read a prepared assembly (loaded in memory, string coords as ``str``)."""
    from neuroalign.errors import AssetError
    from neuroalign.store import open_netcdf

    dataset = open_netcdf(Path(path), engine="netcdf4")
    if _VARIABLE not in dataset:
        raise AssetError(f"{path} has no variable {_VARIABLE!r} (it has {list(dataset)}); it "
                         "was not written by neuroalign nsd prepare")
    array = dataset[_VARIABLE]
    missing = [c for c in PRESENTATION_COORDS + NEUROID_COORDS if c not in array.coords]
    if missing or array.dims != ("presentation", "neuroid"):
        raise AssetError(f"{path}: expected dims (presentation, neuroid) and coords "
                         f"{list(PRESENTATION_COORDS + NEUROID_COORDS)}; found dims {array.dims}, "
                         f"missing {missing}; rerun neuroalign nsd prepare")
    return array


def update_index(out: Path, written: dict[str, dict[str, Path]], description: str) -> Path:
    """Add/replace the datasets in ``written`` (id -> asset name -> path) in ``out/index.json``."""
    from datetime import datetime, timezone

    from neuroalign.store.index import DatasetEntry, Index, load_index
    from neuroalign import AssetSpec
    from neuroalign.store import atomic_path, sha256_file

    out = Path(out).resolve()
    formats = {"stimuli_csv": "csv", "stimuli_zip": "zip", "assembly": "netcdf"}
    entries = {}
    if (out / "index.json").is_file():
        previous = load_index(str(out))
        for entry in previous.datasets:  # keep the others; URLs back to relative form
            assets = [asset.model_copy(update={"url": _relative(asset.url, out)})
                      for asset in entry.assets]
            entries[entry.id] = entry.model_copy(update={"assets": assets})
    for identifier, files in written.items():
        assets = [AssetSpec(name=name, url=Path(path).resolve().relative_to(out).as_posix(),
                            sha256=sha256_file(path), size=Path(path).stat().st_size,
                            format=formats[name])  # type: ignore[arg-type]
                  for name, path in sorted(files.items())]
        entries[identifier] = DatasetEntry(id=identifier, version=DATASET_VERSION,
                                           distribution="neuroalign-nsd", assets=assets,
                                           description=description)
    index = Index(generated=datetime.now(timezone.utc).isoformat(timespec="seconds"),
                  description="NSD shared-515 data prepared from raw NSD by neuroalign nsd "
                              "prepare",
                  datasets=[entries[k] for k in sorted(entries)])
    with atomic_path(out / "index.json") as tmp:
        tmp.write_text(index.to_json())
    return out / "index.json"


def _relative(url: str, out: Path) -> str:
    prefix = str(out).rstrip("/") + "/"
    return url[len(prefix):] if url.startswith(prefix) else url
