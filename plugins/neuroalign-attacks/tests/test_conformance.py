"""The core's conformance kit, run on this plugin."""

from __future__ import annotations

import neuroalign_attacks.plugin
from neuroalign.testing import parametrize_with_checks


@parametrize_with_checks(neuroalign_attacks.plugin)
def test_conformance(check):
    check()
