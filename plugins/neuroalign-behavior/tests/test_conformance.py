"""The conformance kit (neuroalign.testing) run on this plugin.

The kit's metric checks feed ``presentation x neuroid`` assemblies; ``i2n`` takes probabilities
and human trials instead (the kit itself skips behavioral metrics), and ``i2n_split_half`` takes
trials. Those checks are left out here and their behavioral equivalents are in
``test_i2n.py``: a perfect source near the ceiling and a shuffled one near zero
(``test_the_generating_pattern_...``), perfectly reliable trials (``test_perfectly_reliable_...``),
determinism and untouched inputs (``test_deterministic_and_inputs_untouched``).
"""

from __future__ import annotations

import pytest

import neuroalign_behavior.plugin
from neuroalign.testing import checks_for

NEURAL_ONLY = ("check_metric_perfect_source", "check_metric_shuffled_source",
               "check_metric_deterministic", "check_metric_inputs_not_mutated",
               "check_ceiling_perfectly_reliable")
CHECKS = [c for c in checks_for(neuroalign_behavior.plugin)
          if not c.name.endswith(NEURAL_ONLY)]


@pytest.mark.parametrize("check", CHECKS, ids=[c.name for c in CHECKS])
def test_conformance(check):
    check()


def test_only_the_neural_assembly_checks_are_left_out():
    names = {c.name for c in checks_for(neuroalign_behavior.plugin)} - {c.name for c in CHECKS}
    assert names == {f"i2n-{n}" for n in NEURAL_ONLY[:4]} | {
        f"i2n_split_half-{n}" for n in NEURAL_ONLY[2:]}
