"""Reading ClickMe: the dataset runtime and the builder of a local store from the public release.

:class:`ClickMeDataset` reads its shards through the core store (``store.assets_for`` then
``store.fetch``, sha256-verified), parses every record with our TFRecord reader (both CRC32Cs
verified) and decodes the selected records' JPEGs. :func:`build_release_store` brings the public
shards in: it resolves each GCS URL through the store's mirror rules, refuses in offline mode,
reads anonymously, verifies every record and writes a store ``index.json`` with each shard's
sha256 and size (see :mod:`neuroalign_clickme.specs` for why a store is needed).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from neuroalign import store
from neuroalign.errors import AssetError, OfflineError
from neuroalign import Dataset, DatasetSpec

from .preprocessing import decode_jpeg
from .specs import GCS_BASE, PLACEHOLDER_PREFIX, SHARDS, shard_names
from .tfrecord import TFRecordError, parse_example, read_records

__all__ = ["ClickMeDataset", "ClickMeRecord", "read_shard", "select_records",
           "build_release_store"]


class ClickMeRecord:
    """One parsed record: where it came from, its label and its (still encoded) bytes."""

    __slots__ = ("shard", "index", "label", "image", "heatmap", "synthetic")

    def __init__(self, shard: str, index: int, label: int, image: bytes, heatmap: bytes,
                 synthetic: bool):
        self.shard, self.index, self.label = shard, index, label
        self.image, self.heatmap, self.synthetic = image, heatmap, synthetic

    @property
    def stimulus_id(self) -> str:
        return f"{self.shard}/{self.index}"


def _one(features: dict[str, Any], key: str, kind: type, label: str) -> Any:
    values = features.get(key)
    if not values or len(values) != 1 or not isinstance(values[0], kind):
        raise TFRecordError(
            f"{label}: feature {key!r} must hold one {kind.__name__}; found "
            f"{None if values is None else [type(v).__name__ for v in values]} (features "
            f"present: {sorted(features)})")
    return values[0]


def read_shard(path: str | Path, shard: str) -> list[ClickMeRecord]:
    """Parse every record of one shard (CRCs verified); images are not decoded yet."""
    records = []
    for info, data in read_records(path, name=f"{shard} ({path})"):
        label = f"{shard} record {info.index} (byte {info.offset})"
        features = parse_example(data, label=label)
        synthetic = features.get("synthetic", [0])
        records.append(ClickMeRecord(
            shard, info.index, int(_one(features, "label", int, label)),
            _one(features, "image", bytes, label), _one(features, "heatmap", bytes, label),
            bool(synthetic and synthetic[0])))
    return records


def select_records(records: Sequence[ClickMeRecord], *, per_class: int | None,
                   max_images: int | None) -> list[ClickMeRecord]:
    """The first ``per_class`` records of each label (shard order), at most ``max_images``."""
    chosen, seen = [], {}
    for record in records:
        if per_class is not None:
            if seen.get(record.label, 0) >= per_class:
                continue
            seen[record.label] = seen.get(record.label, 0) + 1
        chosen.append(record)
        if max_images is not None and len(chosen) >= max_images:
            break
    return chosen


class ClickMeDataset(Dataset):
    """A ClickMe split (or paper 003's one-per-class selection) as an ``xarray.Dataset``.

    ``spec.parameters``: ``split`` ("val" / "train"), ``per_class`` (None: every record),
    ``max_images`` (None: all).
    """

    def __init__(self, spec: DatasetSpec):
        self.spec = spec

    def load(self) -> Any:
        """Images and maps of the selected records, decoded (uint8, stored resolution).

        Returns
        -------
        xarray.Dataset
            ``image`` (presentation, y, x, channel) and ``heatmap`` (presentation, y, x), both
            uint8 as decoded from the JPEGs; coords ``stimulus_id`` ("shard/record"), ``label``,
            ``shard``, ``record``; ``attrs["synthetic"]`` (1 for the synthetic twin).
        """
        import xarray as xr

        assets = store.assets_for(self.spec)
        placeholders = [name for name, asset in assets.items()
                        if asset.url.startswith(PLACEHOLDER_PREFIX + "/")]
        if placeholders:
            split = self.spec.parameters.get("split", "val")
            raise AssetError(
                f"dataset {self.spec.id!r}: no store lists its shards (e.g. {placeholders[0]!r}). "
                f"The public ClickMe shards ({GCS_BASE}/{split}/) publish no sha256, so they are "
                "read from a local store built from them: run (with network) `python -c \"from "
                f"neuroalign_clickme.data import build_release_store; build_release_store('DIR', "
                f"['{split}'])\"` and set NEUROALIGN_STORE=DIR; offline, use the synthetic twin "
                "(neuroalign demo's store)")
        records: list[ClickMeRecord] = []
        for name in shard_names(self.spec.parameters.get("split", "val")):
            path = store.fetch(assets[name], dataset=self.spec.id)
            records.extend(read_shard(path, name))
        p = self.spec.parameters
        chosen = select_records(records, per_class=p.get("per_class"),
                                max_images=p.get("max_images"))
        if not chosen:
            raise AssetError(f"dataset {self.spec.id!r}: the shards hold no records")
        images = [decode_jpeg(r.image, 3, label=f"{r.stimulus_id} image") for r in chosen]
        heatmaps = [decode_jpeg(r.heatmap, 1, label=f"{r.stimulus_id} heatmap")[..., 0]
                    for r in chosen]
        shapes = {a.shape[:2] for a in images} | {h.shape for h in heatmaps}
        if len(shapes) != 1:
            raise TFRecordError(f"dataset {self.spec.id!r}: images and heatmaps must share one "
                                f"size; found sizes {sorted(shapes)}")
        synthetic = {r.synthetic for r in chosen}
        if len(synthetic) != 1:
            raise TFRecordError(f"dataset {self.spec.id!r} mixes synthetic and real records")
        coords = {"stimulus_id": ("presentation", [r.stimulus_id for r in chosen]),
                  "label": ("presentation", np.array([r.label for r in chosen], dtype=np.int64)),
                  "shard": ("presentation", [r.shard for r in chosen]),
                  "record": ("presentation", np.array([r.index for r in chosen], dtype=np.int64))}
        return xr.Dataset(
            {"image": (("presentation", "y", "x", "channel"), np.stack(images)),
             "heatmap": (("presentation", "y", "x"), np.stack(heatmaps))},
            coords=coords,
            attrs={"dataset": self.spec.id, "synthetic": int(synthetic.pop()),
                   "records_read": len(records), "classes": len({r.label for r in chosen})})


def build_release_store(directory: str | os.PathLike[str], splits: Sequence[str] = ("val",), *,
                        base_url: str = GCS_BASE) -> Path:
    """Download the public ClickMe shards into ``directory`` and index them as a store.

    Each shard URL (``{base_url}/{split}/{split}-{i}.tfrecords``) goes through the core store's
    mirror rules (``NEUROALIGN_MIRROR``); GCS is read anonymously; ``NEUROALIGN_OFFLINE=1`` raises
    :class:`~neuroalign.errors.OfflineError` before any connection. Every record's CRC32C is
    verified before a shard is kept (written atomically). The ``index.json`` lists
    ``ClickMe.<split>`` (and ``ClickMe.eval1000`` with the val shards) with each shard's sha256
    and size; set ``NEUROALIGN_STORE`` to ``directory`` to read them.

    Returns
    -------
    pathlib.Path
        The store directory.
    """
    import fsspec

    # not in the stable store API (which fetches pinned assets only): URL rewriting and the
    # anonymous-access options, to reach the unpinned public shards the way fetch would
    from neuroalign.index import DatasetEntry, Index
    from neuroalign import AssetSpec
    from neuroalign.store import is_offline, resolve_url, storage_options

    from .specs import dataset_specs

    directory = Path(directory).resolve()
    unknown = sorted(set(splits) - set(SHARDS))
    if unknown:
        raise AssetError(f"unknown ClickMe split(s) {unknown}; valid splits are {sorted(SHARDS)}")
    if is_offline():
        raise OfflineError(f"building the ClickMe store downloads {base_url}/...; "
                           "NEUROALIGN_OFFLINE=1 forbids it: unset it, or point NEUROALIGN_MIRROR "
                           "at a local copy of the shards")
    assets: dict[str, list[AssetSpec]] = {}
    for split in splits:
        assets[split] = []
        for name in shard_names(split):
            url = resolve_url(f"{base_url}/{split}/{name}.tfrecords")
            scheme = url.split("://", 1)[0] if "://" in url else "file"
            target = directory / split / f"{name}.tfrecords"
            target.parent.mkdir(parents=True, exist_ok=True)
            with store.atomic_path(target) as tmp:
                try:
                    with fsspec.open(url, "rb", **storage_options(scheme)) as source, \
                            open(tmp, "wb") as sink:
                        for chunk in iter(lambda: source.read(1 << 20), b""):
                            sink.write(chunk)
                except Exception as error:  # noqa: BLE001 - reported with the URL
                    raise AssetError(f"cannot download ClickMe shard {name!r} from {url!r}: "
                                     f"{type(error).__name__}: {error}") from error
                for _ in read_records(tmp, name=f"{name} ({url})"):
                    pass  # every record's CRCs verified before the shard is kept
            assets[split].append(AssetSpec(
                name=name, url=target.relative_to(directory).as_posix(),
                sha256=store.sha256_file(target), size=target.stat().st_size, format="other"))
    entries = []
    for spec in dataset_specs():
        split = spec.parameters["split"]
        if split in assets:
            entries.append(DatasetEntry(id=spec.id, version=spec.version, distribution="clickme",
                                        assets=assets[split],
                                        description=f"ClickMe release, {split} split, from "
                                                    f"{base_url}"))
    index = Index(description="ClickMe release (Harmonization), built by neuroalign-clickme",
                  datasets=entries)
    with store.atomic_path(directory / "index.json") as tmp:
        Path(tmp).write_text(index.to_json())
    return directory
