"""Registration through the plugin hooks, parameter overrides, and the Attack interface."""

from __future__ import annotations

import pytest
import torch

import neuroalign
from neuroalign.interfaces import Attack, AttackResult
from neuroalign_attacks import AttackInputError


def test_hooks_register_every_attack_and_benchmark(manager):
    assert neuroalign.list_attacks() == ["cw_l2", "cw_l2_fast", "fgsm", "min_eps", "pgd_l2",
                                         "pgd_linf"]
    assert neuroalign.list_benchmarks("PGD.*") == ["PGD.robust_accuracy-l2",
                                                   "PGD.robust_accuracy-linf"]
    spec = neuroalign.get_spec("benchmark", "PGD.robust_accuracy-linf")
    assert spec.kind == "adversarial" and spec.parameters["steps"] == [1, 10, 20]
    assert neuroalign.get_spec("attack", "pgd_l2").norm == "l2"


def test_registration_does_not_import_torch_modules():
    import subprocess
    import sys

    code = ("import sys, neuroalign_attacks.plugin; "
            "print(any(m.startswith('neuroalign_attacks.projected') for m in sys.modules), "
            "'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_get_attack_with_parameter_override(manager, tiny_cnn, images, labels):
    attack = neuroalign.get_attack("pgd_linf", parameters={"eps": 2 / 255, "steps": 3,
                                                           "normalized": False})
    assert isinstance(attack, Attack)
    assert attack.parameters["eps"] == 2 / 255 and attack.spec.parameters["steps"] == 3
    result = attack(tiny_cnn, images, labels=labels)
    assert isinstance(result, AttackResult)
    assert result.gradient_evaluations == 18
    assert float(result.linf.max()) <= 2 / 255 + 1e-6


def test_unknown_parameter_lists_the_valid_ones(manager):
    with pytest.raises(AttackInputError, match=r"no parameter\(s\) \['epsilon'\]; valid .*'eps'"):
        neuroalign.get_attack("pgd_l2", parameters={"epsilon": 1.0})


def test_every_registered_attack_runs_through_the_interface(manager, tiny_cnn, images, labels):
    quick = {"cw_l2": {"steps": 5, "binary_search_steps": 2}, "min_eps": {"tolerance": 0.1}}
    for identifier in neuroalign.list_attacks():
        parameters = {**quick.get(identifier, {}), "normalized": False}
        attack = neuroalign.get_attack(identifier, parameters=parameters)
        result = attack(tiny_cnn, images, labels=labels)
        assert result.adversarial.shape == images.shape, identifier
        assert result.gradient_evaluations > 0, identifier


def test_attack_accepts_a_neuroalign_model(manager, tiny_cnn, images, labels):
    from neuroalign.specs import Preprocessing
    from neuroalign.interfaces import Model

    mean, std = (0.4, 0.5, 0.6), (0.2, 0.25, 0.3)
    model = Model.from_module(tiny_cnn, preprocessing=Preprocessing(input_size=12, mean=mean, std=std))
    via_model = neuroalign.get_attack("fgsm")(model, images, labels=labels)
    explicit = neuroalign_attacks_fgsm(tiny_cnn, images, labels, mean=mean, std=std)
    assert torch.equal(via_model.adversarial, explicit.adversarial)


def neuroalign_attacks_fgsm(*args, **kwargs):
    from neuroalign_attacks import fgsm

    return fgsm(*args, **kwargs)


def test_cw_rejects_an_objective(manager, images):
    with pytest.raises(AttackInputError, match="cw_l2 attacks classifiers only"):
        neuroalign.get_attack("cw_l2")(None, images, objective=lambda x: x.sum((1, 2, 3)))


def test_attacks_pickle(manager):
    import pickle

    attack = neuroalign.get_attack("min_eps", parameters={"steps": 5})
    clone = pickle.loads(pickle.dumps(attack))
    assert clone.parameters == attack.parameters and clone.spec == attack.spec
