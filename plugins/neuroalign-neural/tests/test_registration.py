"""The plugin registers its metrics through the hook, and the registry builds them."""

import neuroalign
import neuroalign_neural.plugin
import pytest
from neuroalign.errors import SpecError
from neuroalign.plugins.manager import PluginManager
from neuroalign.plugins.lookup import use_plugin_manager

METRICS = ["cka", "lasso", "mlp", "ols", "pls", "regression", "ridge", "rsa"]


@pytest.fixture
def manager():
    manager = PluginManager(autoload=False)
    manager.register(neuroalign_neural.plugin, name="neural", distribution="neuroalign-neural")
    old = use_plugin_manager(manager)
    yield manager
    use_plugin_manager(old)


def test_registered_ids_and_kinds(manager):
    assert [m for m in neuroalign.list_metrics() if m in METRICS] == METRICS
    assert "internal_consistency" in neuroalign.list_ceilings()
    kinds = {i: neuroalign.get_spec("metric", i).kind for i in METRICS}
    assert kinds["pls"] == "mapping" and kinds["rsa"] == "similarity" and kinds["cka"] == "similarity"
    assert neuroalign.get_spec("metric", "internal_consistency").kind == "ceiling"


def test_get_metric_and_get_ceiling(manager, make_pair, make_trials):
    source, target = make_pair()
    score = neuroalign.get_metric("pls", parameters={"splits": 3})(source, target)
    assert len(score.splits) == 3 and score.value > 0.9
    ceiling = neuroalign.get_ceiling("internal_consistency")(make_trials())
    assert 0.5 < ceiling.value < 1


def test_ceiling_through_get_metric_is_refused(manager):
    with pytest.raises(SpecError, match="use neuroalign.get_ceiling"):
        neuroalign.get_metric("internal_consistency")


def test_registration_does_not_import_sklearn():
    import subprocess
    import sys

    code = ("import sys, neuroalign_neural.plugin as p; from neuroalign_neural.specs import "
            "metric_specs; metric_specs(); print('sklearn' in sys.modules, 'xarray' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
