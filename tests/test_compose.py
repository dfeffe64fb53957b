"""compose(): composite benchmarks from ids or objects, nested by region, returning Score trees."""

from __future__ import annotations

import math
import pickle

import pytest

import neuroalign
from neuroalign import Benchmark, BenchmarkSpec, Score, SpecError
from neuroalign.scoring.composite import CompositeBenchmark

BUILT: list[str] = []
CALLS: list[str] = []


class Constant(Benchmark):
    """Scores every model ``parameters['value']`` (error 0.1); raises when the value is None."""

    def __init__(self, spec):
        self.spec = spec
        BUILT.append(spec.id)

    def __call__(self, model, *, layers=None, progress=None):
        CALLS.append(self.spec.id)
        value = self.spec.parameters["value"]
        if value is None:
            raise RuntimeError(f"{self.spec.id} broke")
        return Score(value=value, error=0.1, provenance={"plugins": {"neuroalign-const": "1"}})


VALUES = {"A.V4-x": 0.4, "B.V4-y": 0.6, "A.IT-x": 0.3, "C.behavior-z": 0.7, "D.IT-broken": None}
REGION = {"V4": "V4", "IT": "IT", "behavior": "behavior"}


class Plugin:
    @neuroalign.hookimpl
    def register_benchmarks(self, register):
        for identifier, value in VALUES.items():
            region = identifier.split(".")[1].split("-")[0]
            register(BenchmarkSpec(id=identifier, factory="test_compose:Constant", region=region,
                                   kind="behavioral" if region == "behavior" else "neural",
                                   parameters={"value": value}))
        register(BenchmarkSpec(id="Suite.brain-mean", factory="neuroalign.scoring.composite:CompositeBenchmark.from_spec",
                               kind="composite", parameters={"children": {"V4": ["A.V4-x"], "IT": ["A.IT-x"]}}))


@pytest.fixture(autouse=True)
def registry(neuroalign_plugin_manager, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "test_compose", sys.modules[__name__])
    neuroalign_plugin_manager.register(Plugin(), name="const", distribution="neuroalign-const")
    BUILT.clear()
    CALLS.clear()


SUITE = {"V4": ["A.V4-x", "B.V4-y"], "IT": ["A.IT-x"], "behavior": ["C.behavior-z"]}


def test_composite_runs_children_lazily_and_returns_a_score_tree():
    suite = neuroalign.compose(SUITE, aggregator="mean", identifier="Lab.brain-mean")
    assert BUILT == []  # ids are built on first call
    score = suite(object())
    assert BUILT == ["A.V4-x", "B.V4-y", "A.IT-x", "C.behavior-z"]
    assert score.value == pytest.approx(((0.5 + 0.3) / 2 + 0.7) / 2)
    assert list(score.children) == ["V4", "IT", "behavior"]
    assert score.children["V4"].value == pytest.approx(0.5)
    assert list(score.children["V4"].children) == ["A.V4-x", "B.V4-y"]
    assert score.children["V4"].children["A.V4-x"].attrs == {"region": "V4", "kind": "neural"}
    assert score.provenance.benchmark_id == "Lab.brain-mean"
    assert score.provenance.plugins == {"neuroalign-const": "1"}
    assert Score.from_json(score.to_json()) == score


def test_a_composite_is_a_benchmark_with_a_composite_spec():
    suite = neuroalign.compose(SUITE)
    assert isinstance(suite, Benchmark) and suite.spec.kind == "composite"
    assert suite.spec.id.startswith("Suite_") and suite.spec.id.endswith(".overall-mean")
    assert suite.spec.parameters["children"] == SUITE
    family = suite.spec.id.split(".")[0]
    assert suite.children["V4"].spec.id == f"{family}.V4-mean" and suite.children["V4"].region == "V4"
    assert neuroalign.compose(SUITE).spec.id == suite.spec.id
    assert neuroalign.compose({"V4": ["A.V4-x"]}).spec.id != suite.spec.id


def test_composites_compose_again_and_take_benchmark_objects():
    inner = neuroalign.compose({"V4": ["A.V4-x"], "IT": ["A.IT-x"]}, identifier="Lab.neural-mean")
    behavior = neuroalign.get_benchmark("C.behavior-z")
    outer = neuroalign.compose([inner, behavior], identifier="Lab.all-mean")
    score = outer(object())
    assert list(score.children) == ["Lab.neural-mean", "C.behavior-z"]
    assert score.value == pytest.approx((0.35 + 0.7) / 2)  # inner is neural, behavior behavioral


def test_a_registered_composite_is_built_from_its_spec():
    suite = neuroalign.get_benchmark("Suite.brain-mean")
    assert isinstance(suite, CompositeBenchmark)
    assert suite(object()).value == pytest.approx(0.35)


def test_failing_child_raises_or_becomes_missing():
    with pytest.raises(RuntimeError, match="D.IT-broken broke"):
        neuroalign.compose(["A.IT-x", "D.IT-broken"])(object())
    score = neuroalign.compose(["A.IT-x", "D.IT-broken"], on_error="missing")(object())
    assert score.value == pytest.approx(0.15)  # Brain-Score: missing counts as zero
    assert score.children["D.IT-broken"].attrs["error"] == "RuntimeError: D.IT-broken broke"
    skip = neuroalign.get_aggregator("mean", parameters={"missing": "skip"})
    assert neuroalign.compose(["A.IT-x", "D.IT-broken"], skip, on_error="missing")(object()).value == 0.3
    assert math.isnan(score.children["D.IT-broken"].value)


def test_composite_pickles_with_ids_not_built_children():
    suite = neuroalign.compose(SUITE)
    suite(object())
    copy = pickle.loads(pickle.dumps(suite))
    assert copy.children["V4"].children == {"A.V4-x": "A.V4-x", "B.V4-y": "B.V4-y"}
    assert copy(object()).value == suite(object()).value


def test_compose_errors_name_the_problem():
    with pytest.raises(SpecError, match="'zmean' only ranks several models"):
        neuroalign.compose(SUITE, aggregator="zmean")
    with pytest.raises(SpecError, match=r"group name 'V 4' in spec must match \[A-Za-z0-9_\]\+"):
        neuroalign.compose({"V 4": ["A.V4-x"]})
    with pytest.raises(SpecError, match=r"benchmark 'A.V4-x' is listed twice"):
        neuroalign.compose(["A.V4-x", "A.V4-x"])
    with pytest.raises(SpecError, match=r"spec\['IT'\] is empty"):
        neuroalign.compose({"IT": []})
    with pytest.raises(SpecError, match="should be a benchmark id, a Benchmark"):
        neuroalign.compose({"IT": [3]})
    with pytest.raises(SpecError, match="identifier 'nodot' is not a valid benchmark id"):
        neuroalign.compose(["A.V4-x"], identifier="nodot")
    with pytest.raises(neuroalign.UnknownIdError, match="did you mean 'A.V4-x'"):
        neuroalign.compose(["A.V4-z"])(object())


def test_public_api_names_are_the_functions_not_their_modules():
    import neuroalign.scoring.composite
    import neuroalign.scores
    import neuroalign.scoring.engine

    # importing the submodules must not shadow the functions of the same public name
    assert neuroalign.compose is neuroalign.scoring.composite.compose
    assert neuroalign.score is neuroalign.scoring.engine.score
    assert neuroalign.Score is neuroalign.scores.Score
    assert neuroalign.compose(["A.V4-x"]).spec.id.endswith("-mean")


def test_stored_composite_result_goes_stale_when_a_member_changes_version(tmp_path):
    torch = pytest.importorskip("torch")
    from neuroalign.scoring.results import ResultsDatabase

    model = neuroalign.Model.from_module(torch.nn.Sequential(torch.nn.Linear(2, 2)),
                                         identifier="toy:linear", layers=["0"])
    registry = ResultsDatabase(tmp_path / "results.sqlite")
    member = neuroalign.get_benchmark("A.V4-x")
    suite = neuroalign.compose({"V4": [member], "IT": ["A.IT-x"]}, identifier="Lab.pair-mean")
    first = neuroalign.score(model, suite, results=registry)
    assert first.provenance.member_versions == {"Lab.V4-mean": 1, "A.V4-x": 1, "Lab.IT-mean": 1,
                                              "A.IT-x": 1}
    assert CALLS == ["A.V4-x", "A.IT-x"]
    again = neuroalign.score(model, suite, results=registry)
    assert again.to_json() == first.to_json() and len(CALLS) == 2  # served from the registry
    member.spec = member.spec.model_copy(update={"version": 2})  # the member is revised
    fresh = neuroalign.score(model, suite, results=registry)
    # the revised member is recomputed, not the stale record; the unchanged one is reused
    assert CALLS == ["A.V4-x", "A.IT-x", "A.V4-x"]
    assert fresh.provenance.member_versions["A.V4-x"] == 2
    assert registry.get("toy:linear", "Lab.pair-mean").provenance.member_versions["A.V4-x"] == 2
    # members and groups are stored as results of their own (A.V4-x at versions 1 and 2)
    stored = sorted((r["benchmark"], r["version"]) for _, r in registry.query().iterrows())
    assert stored == [("A.IT-x", 1), ("A.V4-x", 1), ("A.V4-x", 2), ("Lab.IT-mean", 1),
                      ("Lab.V4-mean", 1), ("Lab.pair-mean", 1)]


def test_score_of_a_suite_reuses_member_results_scored_before(tmp_path):
    torch = pytest.importorskip("torch")
    from neuroalign.scoring.results import ResultsDatabase

    model = neuroalign.Model.from_module(torch.nn.Sequential(torch.nn.Linear(2, 2)),
                                         identifier="toy:linear", layers=["0"])
    registry = ResultsDatabase(tmp_path / "results.sqlite")
    single = neuroalign.score(model, "A.V4-x", results=registry)
    assert CALLS == ["A.V4-x"]
    suite = neuroalign.compose(["A.V4-x", "A.IT-x"], name="MyLab")
    assert suite.spec.id == "MyLab.overall-mean"
    result = neuroalign.score(model, suite, results=registry)
    assert CALLS == ["A.V4-x", "A.IT-x"]  # the stored V4 score was reused
    assert result.children["A.V4-x"].value == single.value
    assert result.provenance.weights.startswith("weights ")


def test_a_plain_function_is_an_aggregator():
    import pandas as pd

    def best(table):
        return table.max(axis=1)

    suite = neuroalign.compose(["A.V4-x", "A.IT-x"], aggregator=best, name="Best")
    assert suite.spec.id == "Best.overall-fn_best"
    children = {"A.V4-x": Score(value=0.2), "A.IT-x": Score(value=0.7)}
    combined = suite.aggregator.combine(children)
    assert combined.value == 0.7 and set(combined.children) == {"A.V4-x", "A.IT-x"}
    table = pd.DataFrame({"A.V4-x": [0.2, 0.5], "A.IT-x": [0.7, 0.1]}, index=["m1", "m2"])
    assert neuroalign.rank(table, best).tolist() == [0.7, 0.5]
    assert neuroalign.rank(table, lambda t: t.mean(axis=1)).name == "fn_lambda"
    with pytest.raises(neuroalign.errors.SpecError, match="expected one per row"):
        neuroalign.rank(table, lambda t: t.mean(axis=0))
    with pytest.raises(neuroalign.errors.SpecError, match="name= or identifier="):
        neuroalign.compose(["A.V4-x"], name="X", identifier="X.y-mean")
    with pytest.raises(neuroalign.errors.SpecError, match=r"\[A-Za-z0-9_\]\+"):
        neuroalign.compose(["A.V4-x"], name="my suite")
