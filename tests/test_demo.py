"""The offline demo: the synthetic store builder, its checksums, and a small demo run."""

from __future__ import annotations

import json
import os
import shutil
from unittest import mock

import pytest

import neuroalign
from neuroalign.app.demo import build_store, run, store_is_intact
from neuroalign.errors import ChecksumMismatchError
from neuroalign.store.index import load_index

PRIVATE = ["MajajHong2015.private"]
MAJAJ = ["MajajHong2015.public", "MajajHong2015.private"]


@pytest.fixture(scope="module")
def small_store(tmp_path_factory):
    """The Majaj-Hong private split alone at scale 0.06 (160 images): a quick store."""
    base = tmp_path_factory.mktemp("demo-stores")
    with mock.patch.dict(os.environ, {"NEUROALIGN_HOME": str(base / "home")}):
        return build_store(base / "a", scale=0.06, datasets=PRIVATE)


def test_store_is_indexed_deterministic_and_reused(small_store, tmp_path):
    index = load_index(str(small_store))
    (entry,) = index.datasets
    assert entry.id == "MajajHong2015.private" and entry.distribution == "neuroalign-majaj2015"
    assert {a.name for a in entry.assets} == {"assembly", "stimuli_csv", "stimuli_zip"}
    for asset in entry.assets:
        assert len(asset.sha256) == 64 and os.path.getsize(asset.url) == asset.size
    manifest = json.loads((small_store / "build.json").read_text())
    assert manifest["scale"] == 0.06 and manifest["failures"] == {}
    # the same seed and scale give the same bytes
    again = build_store(tmp_path / "b", scale=0.06, datasets=PRIVATE)
    assert [a.sha256 for a in load_index(str(again)).datasets[0].assets] == \
        [a.sha256 for a in entry.assets]
    # an intact store with the same parameters is reused, not regenerated
    messages = []
    build_store(again, scale=0.06, datasets=PRIVATE, log=messages.append)
    assert messages == [f"store {again} is built and intact: reusing it"]


def test_a_corrupted_store_file_is_a_clear_checksum_error(small_store, tmp_path, monkeypatch):
    store = tmp_path / "store"
    shutil.copytree(small_store, store)
    assembly = next(store.rglob("assy_*.nc"))
    data = bytearray(assembly.read_bytes())
    data[-100] ^= 0xFF  # same size, different bytes
    assembly.write_bytes(bytes(data))
    assert not store_is_intact(store)
    monkeypatch.setenv("NEUROALIGN_STORE", str(store))
    with pytest.raises(ChecksumMismatchError) as error:
        neuroalign.get_dataset("MajajHong2015.private").load()
    message = str(error.value)
    assert "checksum mismatch" in message and assembly.name in message
    assert "replace it with the right version or fix the sha256" in message
    # rebuilding repairs it
    build_store(store, scale=0.06, datasets=PRIVATE)
    assert store_is_intact(store)


def _toy_model():
    import torch

    torch.manual_seed(0)
    module = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 5, stride=4), torch.nn.ReLU(),
                                 torch.nn.AdaptiveAvgPool2d(4), torch.nn.Flatten())
    return neuroalign.Model.from_module(module, identifier="toy:randomnet",
                                        preprocessing={"input_size": 64}, layers=["1", "2"])


@pytest.mark.slow
def test_demo_ranks_the_groundtruth_first(tmp_path_factory, tmp_path):
    """A small demo run (two models, the PLS benchmarks) on the session's scale-1/8 store."""
    base = tmp_path_factory.getbasetemp()
    with mock.patch.dict(os.environ, {"NEUROALIGN_HOME": str(base / "store-home")}):
        store = build_store(base / "majaj-store-0.125", scale=0.125, datasets=MAJAJ)
    from rich.console import Console

    console = Console(record=True, width=200)
    board = run(output=tmp_path / "demo", models=["synthetic:groundtruth", _toy_model()],
                benchmarks=["MajajHong2015.*-pls"], store=store, console=console)
    assert list(board.values.columns) == ["MajajHong2015.IT-pls", "MajajHong2015.V4-pls"]
    assert list(board.values.index) == ["synthetic:groundtruth", "toy:randomnet"]
    assert (board.values.loc["synthetic:groundtruth"] > 0.9).all()
    assert board.layers.loc["synthetic:groundtruth", "MajajHong2015.IT-pls"] == "it"
    text = console.export_text()
    assert "top model: synthetic:groundtruth" in text
    assert (tmp_path / "demo" / "leaderboard.html").is_file()
    assert "<svg" in (tmp_path / "demo" / "report.html").read_text()
    assert "NEUROALIGN_STORE" not in os.environ  # set for the run only
    # a rerun reads the stored results
    again = run(output=tmp_path / "demo", models=["synthetic:groundtruth"],
                benchmarks=["MajajHong2015.IT-pls"], store=store, console=Console(record=True))
    assert again.values.iloc[0, 0] == board.values.loc["synthetic:groundtruth",
                                                       "MajajHong2015.IT-pls"]


#: what the demo's leaderboard must show (issue 22): V1, V2, V4, IT, behavior and the composite
HIERARCHY_BENCHMARKS = ["FreemanZiemba2013.V1-pls", "FreemanZiemba2013.V2-pls",
                        "MajajHong2015.V4-pls", "MajajHong2015.IT-pls", "Rajalingham2018-i2n",
                        "BrainScore2022.neural-behavioral"]
HIERARCHY_DATASETS = [*MAJAJ, "FreemanZiemba2013.public", "FreemanZiemba2013.private",
                      "Rajalingham2018.public", "Rajalingham2018.private"]


@pytest.mark.slow
def test_demo_leaderboard_shows_every_region_the_composite_and_the_rho_hierarchy(
        tmp_path_factory, tmp_path):
    """The demo at the quick scale: V1, V2, V4, IT, behavior, paper 000's composite and the
    rho-hierarchy column, all from one store (one data source, so one leaderboard row)."""
    from rich.console import Console

    from neuroalign.app.demo import QUICK_SCALE
    from neuroalign.scoring.aggregate import region_means
    from neuroalign.scoring.stats import rho_hierarchy

    base = tmp_path_factory.getbasetemp()
    with mock.patch.dict(os.environ, {"NEUROALIGN_HOME": str(base / "store-home")}):
        store = build_store(base / "hierarchy-store", scale=QUICK_SCALE,
                            datasets=HIERARCHY_DATASETS)
    console = Console(record=True, width=400)
    board = run(output=tmp_path / "demo", models=["synthetic:groundtruth"],
                benchmarks=HIERARCHY_BENCHMARKS, store=store, console=console)
    assert sorted(board.values.columns) == sorted(HIERARCHY_BENCHMARKS)
    row = board.values.loc["synthetic:groundtruth"]
    assert row.notna().all(), row
    # the composite is paper 000's five-part mean: V1, V2, V4, IT (one benchmark each), behavior
    parts = row.drop("BrainScore2022.neural-behavioral")
    assert row["BrainScore2022.neural-behavioral"] == pytest.approx(parts.mean(), abs=1e-9)
    # the rho-hierarchy: Spearman of the V1..IT region means with depth
    regions = region_means(board.values)
    assert set(regions.columns) >= {"V1", "V2", "V4", "IT"}
    assert board.rho_hierarchy is not None
    rho = board.rho_hierarchy["synthetic:groundtruth"]
    assert rho == pytest.approx(float(rho_hierarchy(regions).iloc[0]))
    assert -1.0 <= rho <= 1.0
    text = console.export_text()
    header = next(line for line in text.splitlines() if "ρ-hierarchy" in line and "#" in line)
    for column in ("ρ-hierarchy", *HIERARCHY_BENCHMARKS):
        assert column in header, (column, header)
    assert f"{rho:+.2f}" in text
    assert "ρ-hierarchy: Spearman r of the V1, V2, V4, IT region means" in text
    # the installed demo prints dozens of benchmarks: in a narrow console the leaderboard turns
    # to one row per benchmark, so every score and the rho-hierarchy stay readable
    from neuroalign.app.report import print_leaderboard

    narrow = Console(record=True, width=70)
    print_leaderboard(board, narrow)
    rows = {line.split()[0]: line for line in narrow.export_text().splitlines() if line.strip()}
    assert f"{rho:+.2f}" in rows["ρ-hierarchy"]
    for benchmark in HIERARCHY_BENCHMARKS:
        assert f"{board.values.at['synthetic:groundtruth', benchmark]:.3f}" in rows[benchmark]
