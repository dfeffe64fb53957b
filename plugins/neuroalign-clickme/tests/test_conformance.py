"""The conformance kit (neuroalign.testing) run on this plugin.

Without ``build_models``: the kit's benchmark-determinism check would run every attack (the full
Carlini-Wagner search included) twice; ``test_benchmarks`` checks determinism of the search
with the result cache cleared, and that the twin model pickles.
"""

from __future__ import annotations

import neuroalign_clickme.plugin
from neuroalign.testing import parametrize_with_checks


@parametrize_with_checks(neuroalign_clickme.plugin, scale=0.05)
def test_conformance(check, neuroalign_home):
    check()
