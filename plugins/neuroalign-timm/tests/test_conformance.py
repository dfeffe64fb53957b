"""neuroalign's conformance kit on the timm plugin (models are built in test_build.py).

The kit yields ~8,200 named checks (six per registered spec). Running each as its own pytest
item costs about a minute of pytest overhead for under a second of checking, so the plugin-level
checks and a few representative specs run as named items, and :func:`check_plugin` runs every
check on every spec in one test.
"""

from __future__ import annotations

import neuroalign_timm.plugin
import pytest
from neuroalign.testing.checks import check_plugin, checks_for

REPRESENTATIVE = ("timm:resnet50", "timm:crossvit_18_dagger_240", "timm:vit_base_patch16_224",
                  "timm:coatnet_0_224")
# build_models=False: building and running all ~1,370 architectures takes hours; the factory is
# tested on representative builds in test_build.py instead
NAMED = [c for c in checks_for(neuroalign_timm.plugin, build_models=False)
         if c.name.startswith("neuroalign_timm-")
         or c.name.rsplit("-check_", 1)[0] in REPRESENTATIVE]


@pytest.mark.parametrize("check", NAMED, ids=[c.name for c in NAMED])
def test_conformance(check):
    check()


def test_conformance_every_spec():
    # raises the first failure; model-building checks are not yielded with build_models=False
    assert check_plugin(neuroalign_timm.plugin, build_models=False) == []
