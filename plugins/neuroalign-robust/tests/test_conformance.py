"""The conformance kit (neuroalign.testing) run on this plugin."""

from __future__ import annotations

import neuroalign_robust.plugin
from neuroalign.testing import parametrize_with_checks


@parametrize_with_checks(neuroalign_robust.plugin, build_models=False)  # built in test_loading
def test_conformance(check, neuroalign_home):
    check()
