"""``neuroalign registry publish STORE PLUGIN...``: wheels, data and ``index.json`` on a store.

For each selected plugin (a source folder, or the name of an installed distribution whose
source folder pip recorded), :func:`publish`

1. builds its wheel (``pip wheel --no-deps --no-build-isolation``, offline, from a clean copy of
   the folder, with a fixed ``SOURCE_DATE_EPOCH`` so the same source gives the same bytes);
2. fetches each asset of its datasets through the core store (``NEUROALIGN_STORE``, mirrors and
   the cache apply; every file is sha256-verified) — or, with ``data=False``, keeps the
   datasets' own remote URLs, which must carry a sha256;
3. uploads wheels to ``wheels/`` and data to ``data/<dataset>/v<version>/`` under a temporary
   name, then moves each into place; a file already published under that name is kept when
   its bytes are identical and is **never** overwritten with different bytes (publish a new
   version instead);
4. writes ``index.json`` last (temporary name, then moved): the store's existing entries of
   other distributions are kept, the published distributions' entries replaced. Readers
   therefore never see an index that points at files not yet uploaded.

The plugin must be installed here at the version its source builds, because its index entries
(benchmarks with kind/region/paper, datasets with licence and size) come from what it registers.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import AssetError, NeuroalignError
from ..specs import REMOTE_SCHEMES, AssetSpec
from ..store.index import INDEX_FORMAT, normalize_name, parse_index

__all__ = ["PublishResult", "build_wheel", "plugin_source", "publish"]

#: zip timestamps of built wheels (1980-01-01): the same source gives the same bytes
SOURCE_DATE_EPOCH = "315532800"
_IGNORE = shutil.ignore_patterns("build", "dist", "*.egg-info", "__pycache__", ".pytest_cache",
                                 ".venv", "*.pyc")


@dataclass
class PublishResult:
    """What :func:`publish` wrote: the index URL and each file, uploaded or already there."""

    index: str
    uploaded: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    distributions: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"index": self.index, "uploaded": self.uploaded, "unchanged": self.unchanged,
                "distributions": self.distributions}


# ------------------------------------------------------------------------------- wheels
def plugin_source(plugin: str | os.PathLike[str]) -> Path:
    """The source folder of ``plugin``: a folder with a ``pyproject.toml``, or an installed
    distribution whose folder pip recorded (``direct_url.json``, e.g. editable installs)."""
    from importlib import metadata

    path = Path(plugin).expanduser()
    if (path / "pyproject.toml").is_file():
        return path.resolve()
    try:
        direct = metadata.distribution(str(plugin)).read_text("direct_url.json")
    except metadata.PackageNotFoundError:
        direct = None
    if direct:
        url = json.loads(direct).get("url", "")
        if url.startswith("file://") and (Path(url[7:]) / "pyproject.toml").is_file():
            return Path(url[7:])
    raise NeuroalignError(
        f"{str(plugin)!r} is neither a plugin folder (with a pyproject.toml) nor an installed "
        "distribution with a recorded source folder; pass the plugin's folder, e.g. "
        "neuroalign registry publish s3://mylab plugins/neuroalign-mylab")


def build_wheel(source: Path, output: Path) -> Path:
    """Build the wheel of the project in ``source`` into ``output`` (offline, reproducible)."""
    with tempfile.TemporaryDirectory(prefix="neuroalign-wheel-") as tmp:
        copy = Path(tmp) / source.name
        shutil.copytree(source, copy, ignore=_IGNORE)
        before = set(output.glob("*.whl"))
        env = {**os.environ, "SOURCE_DATE_EPOCH": SOURCE_DATE_EPOCH,
               "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
        done = subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
             "--no-index", "-w", str(output), str(copy)],
            capture_output=True, text=True, env=env, cwd=tmp, check=False)
    if done.returncode != 0:
        tail = " | ".join((done.stderr or done.stdout).strip().splitlines()[-6:])
        raise NeuroalignError(f"building the wheel of {str(source)!r} failed: {tail}")
    built = sorted(set(output.glob("*.whl")) - before) or sorted(output.glob("*.whl"))
    if len(built) != 1:
        raise NeuroalignError(f"building {str(source)!r} gave {len(built)} wheels, expected 1")
    return built[0]


# ------------------------------------------------------------------------------- uploads
class _Store:
    """An fsspec store written with temporary names and never-overwrite-different rules."""

    def __init__(self, url: str, storage_options: dict[str, Any] | None):
        import fsspec

        from ..store.assets import storage_options as reading_options

        scheme = url.split("://", 1)[0].lower() if "://" in url else "file"
        if storage_options is None:  # reading defaults are anonymous; writing needs credentials
            storage_options = {k: v for k, v in reading_options(scheme).items()
                               if (k, v) not in (("anon", True), ("token", "anon"))}
        self.url = url.rstrip("/")
        self.fs, self.root = fsspec.core.url_to_fs(self.url, **storage_options)
        self.root = self.root.rstrip("/")
        self.result = PublishResult(index=f"{self.url}/index.json")

    def _path(self, key: str) -> str:
        return f"{self.root}/{key}"

    def _sha256(self, path: str) -> str:
        digest = hashlib.sha256()
        with self.fs.open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
        return digest.hexdigest()

    def put(self, local: Path, key: str, sha256: str) -> None:
        """Upload ``local`` as ``key`` unless identical bytes are there; refuse different ones."""
        final = self._path(key)
        if self.fs.exists(final):
            if self._sha256(final) == sha256:
                self.result.unchanged.append(key)
                return
            raise AssetError(
                f"{self.url}/{key} is already published with different bytes (sha256 "
                f"{self._sha256(final)}, new {sha256}); a published version is never "
                "overwritten: bump the plugin's version (or the dataset's) and publish again")
        self._move_into_place(lambda tmp: self.fs.put_file(str(local), tmp), final)
        self.result.uploaded.append(key)

    def put_text(self, text: str, key: str) -> None:
        def write(tmp: str) -> None:
            with self.fs.open(tmp, "wb") as handle:
                handle.write(text.encode("utf-8"))

        self._move_into_place(write, self._path(key))
        self.result.uploaded.append(key)

    def _move_into_place(self, write: Callable[[str], None], final: str) -> None:
        parent, _, name = final.rpartition("/")
        tmp = f"{parent}/.{name}.tmp-{uuid.uuid4().hex[:12]}"
        if hasattr(self.fs, "makedirs"):
            self.fs.makedirs(parent, exist_ok=True)
        try:
            write(tmp)
            self.fs.mv(tmp, final)
        finally:
            if self.fs.exists(tmp):
                self.fs.rm(tmp)

    def existing_index(self) -> dict[str, Any] | None:
        path = self._path("index.json")
        if not self.fs.exists(path):
            return None
        try:
            data = json.loads(self.fs.cat_file(path).decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as error:
            raise AssetError(f"the store's index {self.url}/index.json is not UTF-8 JSON "
                             f"({error}); fix or remove it before publishing") from None
        parse_index(data, f"{self.url}/index.json")  # the same checks readers apply
        return data


# ------------------------------------------------------------------------------- publish
def publish(store: str, plugins: Iterable[str | os.PathLike[str]], *, data: bool = True,
            description: str = "", storage_options: dict[str, Any] | None = None,
            show: Callable[[str], None] | None = None) -> PublishResult:
    """Publish ``plugins`` (folders or installed distributions) to the fsspec ``store``.

    Parameters
    ----------
    store : str
        Directory URL (``s3://bucket/prefix``, ``gs://...``, a local folder, ``memory://``).
    plugins : iterable of str or path
        Plugin source folders or installed distribution names.
    data : bool
        Upload the datasets' assets (fetched through the core store). False: keep their own
        URLs, which must then be remote with a sha256.
    description : str
        Stored in the index (who publishes it).
    storage_options : dict, optional
        fsspec options for writing (default: the reading defaults minus anonymous access, so
        the environment's credentials are used).

    Returns
    -------
    PublishResult
    """
    from datetime import datetime, timezone

    from ..plugins.lookup import get_plugin_manager
    from .index_tools import build_index

    say = show or (lambda line: print(line, file=sys.stderr))
    selected = [plugin_source(p) for p in plugins]
    if not selected:
        raise NeuroalignError("name the plugins to publish (folders or distribution names)")
    target = _Store(store, storage_options)
    installed = build_index(get_plugin_manager())
    plugins_out, benchmarks_out, datasets_out = [], [], []
    with tempfile.TemporaryDirectory(prefix="neuroalign-publish-") as tmp:
        for source in selected:
            wheel = build_wheel(source, Path(tmp))
            name, version = wheel.name.split("-")[:2]
            plugin = installed.plugin(name)
            if plugin is None or plugin.version != version:
                here = f"version {plugin.version}" if plugin else "not installed"
                raise NeuroalignError(
                    f"{source} builds {name} {version} but that plugin is {here} in this "
                    "environment (its index entries come from what it registers); install it "
                    f"first: pip install -e {source}")
            say(f"built {wheel.name}")
            sha = _sha256_file(wheel)
            target.put(wheel, f"wheels/{wheel.name}", sha)
            entry = plugin.model_dump(mode="json")
            entry["wheel"] = AssetSpec(name="wheel", url=f"wheels/{wheel.name}", sha256=sha,
                                       size=wheel.stat().st_size,
                                       format="other").model_dump(mode="json", exclude_none=True)
            entry["requirement"] = f"{plugin.distribution}=={plugin.version}"
            entry["pip"] = f"neuroalign install {plugin.distribution}"
            plugins_out.append(entry)
            benchmarks_out += [b.model_dump(mode="json") for b in installed.benchmarks
                               if normalize_name(b.distribution) == normalize_name(name)]
            for dataset in installed.datasets:
                if normalize_name(dataset.distribution) != normalize_name(name):
                    continue
                datasets_out.append(_publish_dataset(target, dataset.id, dataset.version,
                                                     data, say))
            target.result.distributions.append(plugin.distribution)
    index = _merged(target.existing_index(), plugins_out, benchmarks_out, datasets_out,
                    description, datetime.now(timezone.utc).isoformat(timespec="seconds"))
    parse_index(index, f"{target.url}/index.json")  # what readers will check, checked first
    target.put_text(json.dumps(index, indent=2) + "\n", "index.json")
    say(f"published {', '.join(target.result.distributions)} to {target.url} "
        f"({len(target.result.uploaded)} file(s) uploaded, {len(target.result.unchanged)} "
        "already there)")
    return target.result


def _publish_dataset(target: _Store, identifier: str, version: int, data: bool,
                     say: Callable[[str], None]) -> dict[str, Any]:
    from ..plugins.lookup import get_registry
    from ..store.assets import assets_for, fetch

    spec = get_registry().spec("dataset", identifier)
    entry = next(d for d in _installed_datasets() if d.id == identifier).model_dump(mode="json")
    assets = []
    for name, asset in sorted(assets_for(spec).items()):
        if not data:
            scheme = asset.url.split("://", 1)[0].lower() if "://" in asset.url else "file"
            if scheme not in REMOTE_SCHEMES or not (asset.sha256 or asset.sha1):
                raise NeuroalignError(
                    f"dataset {identifier!r} asset {name!r} is at {asset.url!r}, which a "
                    "published index cannot point at (local, or no hash); publish its data "
                    "(drop --no-data) or give the asset a remote URL with a sha256")
            assets.append(asset.model_dump(mode="json", exclude_none=True))
            continue
        path = fetch(asset, progress=False, dataset=identifier)
        sha = _sha256_file(path)
        key = f"data/{identifier}/v{version}/{Path(path).name}"
        target.put(Path(path), key, sha)
        say(f"  {identifier} {name}: {key}")
        assets.append(AssetSpec(name=name, url=key, sha256=sha, size=Path(path).stat().st_size,
                                format=asset.format).model_dump(mode="json", exclude_none=True))
    entry["assets"] = assets
    sizes = [a.get("size") for a in assets]
    entry["size"] = sum(sizes) if sizes and None not in sizes else None
    return entry


def _installed_datasets() -> list[Any]:
    from ..plugins.lookup import get_plugin_manager
    from .index_tools import build_index

    return build_index(get_plugin_manager()).datasets


def _merged(existing: dict[str, Any] | None, plugins: list[dict[str, Any]],
            benchmarks: list[dict[str, Any]], datasets: list[dict[str, Any]], description: str,
            generated: str) -> dict[str, Any]:
    """The store's index with the published distributions' entries replaced."""
    old = existing or {}
    ours = {normalize_name(p["distribution"]) for p in plugins}

    def kept(section: str) -> list[dict[str, Any]]:
        return [e for e in old.get(section, [])
                if normalize_name(str(e.get("distribution", ""))) not in ours]

    return {
        "format": INDEX_FORMAT, "generated": generated,
        "description": description or old.get("description", ""),
        "plugins": sorted(kept("plugins") + plugins,
                          key=lambda e: normalize_name(e["distribution"])),
        "benchmarks": sorted(kept("benchmarks") + benchmarks,
                             key=lambda e: (e["id"], e["version"])),
        "datasets": sorted(kept("datasets") + datasets, key=lambda e: (e["id"], e["version"])),
    }


def _sha256_file(path: Path) -> str:
    from ..store.cache import sha256_file

    return sha256_file(path)

