"""neuroalign's conformance kit on the cornet plugin (see test_model.py for the built model)."""

from __future__ import annotations

import neuroalign_cornet.plugin
from neuroalign.testing.checks import parametrize_with_checks


@parametrize_with_checks(neuroalign_cornet.plugin)
def test_conformance(check):
    check()
