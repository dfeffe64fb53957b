"""Shared fixtures: one torch thread (the suite runs beside other jobs), a fresh attack cache."""

from __future__ import annotations

import pytest
import torch

torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _fresh_attack_cache():
    from neuroalign_clickme.benchmarks import clear_cache

    clear_cache()
    yield
    clear_cache()
