"""The conformance kit (neuroalign.testing) run on this plugin."""

from __future__ import annotations

import neuroalign_rajalingham2018.plugin
from neuroalign.testing import parametrize_with_checks


@parametrize_with_checks(neuroalign_rajalingham2018.plugin, scale=0.06)
def test_conformance(check, neuroalign_home):
    check()
