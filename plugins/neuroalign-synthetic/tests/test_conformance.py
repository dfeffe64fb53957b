"""The conformance kit (neuroalign.testing) run on this plugin."""

from __future__ import annotations

import neuroalign_synthetic.plugin
from neuroalign.testing import parametrize_with_checks


@parametrize_with_checks(neuroalign_synthetic.plugin, build_models=True)
def test_conformance(check, neuroalign_home):
    check()
