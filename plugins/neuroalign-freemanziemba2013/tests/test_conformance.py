"""The conformance kit (neuroalign.testing) run on this plugin.

One check is left out, by name, and replaced by tests of what it would assert:
``BrainScore2022.neural-behavioral-check_benchmark_references`` requires every member of the
composite to be installed, and its behavior member ``Rajalingham2018-i2n`` comes from another
distribution (``neuroalign-rajalingham2018``). ``test_composite.py`` checks that every other member
resolves and that scoring without it fails at once, naming what to install.
"""

from __future__ import annotations

import pytest

import neuroalign_freemanziemba2013.plugin
from neuroalign.testing import checks_for

_OPTIONAL_MEMBER_CHECK = "BrainScore2022.neural-behavioral-check_benchmark_references"
_CHECKS = [c for c in checks_for(neuroalign_freemanziemba2013.plugin, scale=0.06)
           if c.name != _OPTIONAL_MEMBER_CHECK]


def test_the_left_out_check_exists():
    names = [c.name for c in checks_for(neuroalign_freemanziemba2013.plugin, scale=0.06)]
    assert _OPTIONAL_MEMBER_CHECK in names


@pytest.mark.parametrize("check", _CHECKS, ids=[c.name for c in _CHECKS])
def test_conformance(check, shared_home):
    check()
