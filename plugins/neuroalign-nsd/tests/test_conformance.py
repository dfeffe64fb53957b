"""The conformance kit (neuroalign.testing) run on this plugin (synthetic twin, demo scale)."""

from __future__ import annotations

import neuroalign_nsd.plugin
from neuroalign.testing import parametrize_with_checks


@parametrize_with_checks(neuroalign_nsd.plugin, scale=0.125)
def test_conformance(check, neuroalign_home):
    check()
