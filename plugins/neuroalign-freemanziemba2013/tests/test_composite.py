"""The paper-000 composite ``BrainScore2022.neural-behavioral`` and the rho-hierarchy."""

from __future__ import annotations

import math

import pytest

import neuroalign
from neuroalign.errors import UnknownIdError
from neuroalign.specs import BenchmarkSpec
from neuroalign.plugins.lookup import list_benchmarks
from neuroalign.scores import Score
from neuroalign.scoring.aggregate import rho_hierarchy
from neuroalign_freemanziemba2013.specs import COMPOSITE_ID, COMPOSITE_MEMBERS, composite_specs


def test_members_other_than_behavior_are_installed():
    installed = set(list_benchmarks())
    members = [m for ids in COMPOSITE_MEMBERS.values() for m in ids]
    assert set(members) - installed <= {"Rajalingham2018-i2n"}
    assert {"FreemanZiemba2013.V1-pls", "MajajHong2015.IT-pls"} <= installed
    assert COMPOSITE_ID in installed


def test_missing_behavior_member_fails_before_scoring(neuroalign_plugin_manager):
    """Without neuroalign-rajalingham2018 (a manager that does not load it, whatever is
    installed), the composite names the missing member and the distribution to install."""
    import neuroalign_freemanziemba2013.plugin
    import neuroalign_majaj2015.plugin

    neuroalign_plugin_manager.register(neuroalign_freemanziemba2013.plugin, name="fz",
                                       distribution="neuroalign-freemanziemba2013")
    neuroalign_plugin_manager.register(neuroalign_majaj2015.plugin, name="majaj",
                                       distribution="neuroalign-majaj2015")
    assert "Rajalingham2018-i2n" not in list_benchmarks()
    suite = neuroalign.get_benchmark(COMPOSITE_ID)
    with pytest.raises(UnknownIdError, match=r"needs benchmark\(s\) \['Rajalingham2018-i2n'\].*"
                                             r"pip install neuroalign-rajalingham2018"):
        suite("no model is built: the check comes first")


class _Fixed(neuroalign.Benchmark):
    """A stand-in member with a fixed score (no data)."""

    def __init__(self, identifier, region, value):
        kind = "behavioral" if region == "behavior" else "neural"
        self.spec = BenchmarkSpec(id=identifier, factory="builtins:object", region=region,
                                  kind=kind)
        self.value = value

    def __call__(self, model, *, layers=None, progress=None):
        return Score(value=self.value, error=0.0)


def test_five_part_average_as_paper_000():
    # paper 000, Table 1, row 2 (CrossViT-18 dagger): V1 .493, V2 .342, V4 .514, IT .531,
    # behavior .562 -> Avg .488, rho-hierarchy +0.8
    values = {"V1": 0.493, "V2": 0.342, "V4": 0.514, "IT": 0.531, "behavior": 0.562}
    suite = neuroalign.get_benchmark(COMPOSITE_ID)
    for region, group in suite.children.items():  # the registered tree, members stood in
        (member,) = COMPOSITE_MEMBERS[region]
        group.children[member] = _Fixed(member, region, values[region])
    result = suite(object())
    assert result.value == pytest.approx(0.488, abs=5e-4)
    # Brain-Score's leaderboard mean (neural and behavioral halves) would give .566 instead
    neural = (0.493 + 0.342 + 0.514 + 0.531) / 4
    assert not math.isclose(result.value, (neural + 0.562) / 2, abs_tol=1e-3)
    assert result.attrs["levels"] == "regions"
    assert rho_hierarchy(result) == pytest.approx(0.8)
    assert set(result.children) == {"V1", "V2", "V4", "IT", "behavior"}
