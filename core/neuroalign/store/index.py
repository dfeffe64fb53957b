"""The registry index: a JSON file listing plugins, their benchmarks and datasets, and assets.

The same format serves two purposes:

* the public benchmark registry (``registry/index.json``, ``NEUROALIGN_REGISTRY``), read by
  ``neuroalign registry search`` to tell users what to ``pip install``;
* a *store*: a directory (any fsspec URL) holding data files next to an ``index.json`` whose
  dataset assets override the URLs/hashes built into the dataset specs (``NEUROALIGN_STORE``).
  The offline demo store is one. Relative asset URLs resolve against the index's location.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ..specs import AssetSpec

__all__ = ["INDEX_FORMAT", "PluginEntry", "BenchmarkEntry", "DatasetEntry", "Index",
           "load_index", "resolve_relative"]

INDEX_FORMAT = "neuroalign-index/1"


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PluginEntry(_Entry):
    distribution: str
    version: str
    entry_point: str = ""
    pip: str = Field("", description="The command that installs it, e.g. 'pip install neuroalign-majaj2015'.")
    benchmarks: list[str] = Field(default_factory=list)
    datasets: list[str] = Field(default_factory=list)
    models: list[str] = Field(default_factory=list)
    description: str = ""


class BenchmarkEntry(_Entry):
    id: str
    version: int
    distribution: str
    kind: str = "neural"
    region: str | None = None
    dataset: str | None = None
    metric: str | None = None
    description: str = ""
    citation: str = ""


class DatasetEntry(_Entry):
    id: str
    version: int
    distribution: str
    assets: list[AssetSpec] = Field(default_factory=list)
    description: str = ""


class Index(_Entry):
    format: str = INDEX_FORMAT
    generated: str = ""
    description: str = ""
    plugins: list[PluginEntry] = Field(default_factory=list)
    benchmarks: list[BenchmarkEntry] = Field(default_factory=list)
    datasets: list[DatasetEntry] = Field(default_factory=list)

    def dataset(self, identifier: str, version: int | None = None) -> DatasetEntry | None:
        for entry in self.datasets:
            if entry.id == identifier and (version is None or entry.version == version):
                return entry
        return None

    def to_json(self) -> str:
        return self.model_dump_json(indent=2)


def resolve_relative(url: str, base: str) -> str:
    """Resolve an asset URL written relative to the index at ``base`` (a directory URL)."""
    if "://" in url or url.startswith("/"):
        return url
    return base.rstrip("/") + "/" + url


def load_index(url: str, storage_options: dict[str, Any] | None = None) -> Index:
    """Read an index from any fsspec URL (a file or a directory holding ``index.json``).

    Relative asset URLs are resolved against the index's directory.
    """
    import fsspec

    from ..errors import AssetError

    target = url if url.endswith(".json") else url.rstrip("/") + "/index.json"
    try:
        with fsspec.open(target, "rt", **(storage_options or {})) as handle:
            data = json.load(handle)
    except FileNotFoundError as error:
        raise AssetError(f"no registry index at {target!r}; build one with: neuroalign registry build") from error
    except json.JSONDecodeError as error:
        raise AssetError(f"registry index {target!r} is not valid JSON: {error}") from error
    if data.get("format") != INDEX_FORMAT:
        raise AssetError(
            f"registry index {target!r} has format {data.get('format')!r}; expected {INDEX_FORMAT!r}"
        )
    base = target.rsplit("/", 1)[0]
    for dataset in data.get("datasets", []):
        for asset in dataset.get("assets", []):
            asset["url"] = resolve_relative(asset["url"], base)
    return Index.model_validate(data)
