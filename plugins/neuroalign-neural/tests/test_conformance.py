"""neuroalign's conformance kit on this plugin: every registered metric and the ceiling."""

import neuroalign_neural.plugin
from neuroalign.testing import parametrize_with_checks


@parametrize_with_checks(neuroalign_neural.plugin)
def test_conformance(check):
    check()
