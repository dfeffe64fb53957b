"""Timing hygiene of the attack benchmark scripts: a passive OpenMP wait policy set before torch
loads, and the spread (min / median / max) of repeated calls reported, not only the median."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[3] / "benchmarks"


def _run(code: str, policy: str | None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    if policy is not None:
        env["OMP_WAIT_POLICY"] = policy
    env["PYTHONPATH"] = os.pathsep.join([str(BENCHMARKS), env.get("PYTHONPATH", "")])
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)


def test_benchmark_helper_sets_a_passive_wait_policy_before_torch():
    out = _run("import omp_wait_policy, os; print(os.environ['OMP_WAIT_POLICY'])", None)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["PASSIVE"]
    kept = _run("import omp_wait_policy, os; print(omp_wait_policy.wait_policy())", "ACTIVE")
    assert kept.stdout.split() == ["ACTIVE"]  # an explicit choice is kept
    # torch already loaded (a stand-in module: importing the real one costs seconds)
    late = _run("import sys, types; sys.modules['torch'] = types.ModuleType('torch'); "
                "import omp_wait_policy", None)
    assert late.returncode != 0 and "imported after torch" in late.stderr


@pytest.fixture
def bench_attacks(monkeypatch):
    monkeypatch.setenv("OMP_WAIT_POLICY", "PASSIVE")  # torch is loaded already in this process
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    spec = importlib.util.spec_from_file_location("bench_attacks", BENCHMARKS / "bench_attacks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_bench_attacks_reports_the_spread_of_its_repeats(bench_attacks, capsys):
    assert bench_attacks.spread([3.0, 1.0, 2.0, 6.0]) == {
        "min": 1.0, "median": 2.5, "max": 6.0, "max_over_min": 6.0}
    runs = bench_attacks.timed({"a": lambda: 1, "b": lambda: 2}, repeats=3)
    walls = {name: run[1] for name, run in runs.items()}
    assert all(len(w) == 3 for w in walls.values())
    spreads = bench_attacks.spreads(walls)
    for name, s in spreads.items():
        assert s["min"] <= s["median"] <= s["max"] and s["min"] == min(walls[name])
    bench_attacks.print_spread("pgd_linf", walls)
    assert "pgd_linf a: min" in capsys.readouterr().out
