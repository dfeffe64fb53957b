"""The conformance kit on every component neuroalign-example registers."""

from __future__ import annotations

import neuroalign_example.plugin
from neuroalign.testing import parametrize_with_checks


@parametrize_with_checks(neuroalign_example.plugin, build_models=True)
def test_conformance(check):
    check()
