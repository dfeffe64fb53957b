"""The conformance kit (neuroalign.testing) run on this plugin."""

from __future__ import annotations

import neuroalign_robust.plugin
from neuroalign.testing import parametrize_with_checks


@parametrize_with_checks(neuroalign_robust.plugin)
def test_conformance(check, neuroalign_home):
    check()
