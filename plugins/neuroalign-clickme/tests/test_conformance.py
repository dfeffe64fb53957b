"""The conformance kit (neuroalign.testing) run on this plugin."""

from __future__ import annotations

import neuroalign_clickme.plugin
from neuroalign.testing import parametrize_with_checks


@parametrize_with_checks(neuroalign_clickme.plugin, scale=0.05, build_models=True)
def test_conformance(check, neuroalign_home):
    check()
