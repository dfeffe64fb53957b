"""FGSM sensitivity: exact on a linear encoding model, the shuffled control, read-outs, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from neuroalign_nsd.mappings import fit_predict
from neuroalign_nsd.sensitivity import (EncodingModel, LinearReadout, SensitivityError, Trunk,
                                        _shuffle, fgsm_sensitivity, fit_readout)

EPS = [1 / 255, 2 / 255, 3 / 255]


class Flatten(nn.Module):
    def forward(self, x):
        return x.flatten(1)


def linear_encoder(weight: torch.Tensor, bias: torch.Tensor | None = None) -> EncodingModel:
    """f = identity on the pixels (flattened), g linear: an encoding model with known gradient."""
    k = weight.shape[1]
    bias = torch.zeros(k) if bias is None else bias
    return EncodingModel(Trunk(nn.Sequential(Flatten()), "0"),
                         LinearReadout(weight.numpy(), bias.numpy()))


@pytest.mark.parametrize("gradient", ["batched", "loop"])
def test_linear_model_sensitivity_is_eps_times_l1_norm(gradient):
    generator = torch.Generator().manual_seed(0)
    weight = torch.randn(3 * 5 * 4, 3, generator=generator)
    pixels = 0.1 + 0.8 * torch.rand(7, 3, 5, 4, generator=generator)  # no clamping
    result = fgsm_sensitivity(linear_encoder(weight), pixels, EPS, batch_size=3,
                              gradient=gradient)
    expected = np.array(EPS)[:, None, None] * weight.abs().sum(0).double().numpy()[None, None]
    assert result["targeted"].shape == (3, 7, 3)
    np.testing.assert_allclose(result["targeted"], np.broadcast_to(expected, (3, 7, 3)),
                               rtol=2e-5)
    np.testing.assert_allclose(result["grad_l1"], np.broadcast_to(
        weight.abs().sum(0).numpy(), (7, 3)), rtol=1e-6)
    assert result["passes"] == {"forward_images": 7, "gradient_images": 21,
                                "perturbed_forward_images": 126}


def test_clamping_and_the_shuffled_control_use_the_same_delta():
    generator = torch.Generator().manual_seed(1)
    weight = torch.randn(3 * 4 * 4, 2, generator=generator)
    pixels = torch.rand(5, 3, 4, 4, generator=generator)
    pixels[:, :, 0, :] = 1.0  # on the bound: clamping matters
    pixels[:, :, 1, :] = 0.0
    result = fgsm_sensitivity(linear_encoder(weight), pixels, EPS, seed=3, batch_size=5)
    # rebuild both perturbations: same signs, same generator, same order of draws
    replay = torch.Generator().manual_seed(3)
    sign = torch.sign(weight.T).reshape(2, 1, 3, 4, 4).expand(2, 5, 3, 4, 4)
    for e, eps in enumerate(EPS):
        delta = -eps * sign
        control = torch.stack([_shuffle(delta[j], replay) for j in range(2)])
        for j in range(2):
            for step, key in ((delta[j], "targeted"), (control[j], "shuffled")):
                moved = (pixels + step).clamp(0, 1)
                expected = (pixels.flatten(1) - moved.flatten(1)) @ weight[:, j]
                np.testing.assert_allclose(result[key][e, :, j], expected.numpy(), atol=2e-5)
        # the control holds the same values as the targeted perturbation, moved around
        assert torch.equal(control.flatten(2).sort(-1).values, delta.flatten(2).sort(-1).values)
        assert not torch.equal(control, delta)
    # clamping only removes movement: never more than eps * ||w||_1
    bound = np.array(EPS)[:, None, None] * weight.abs().sum(0).numpy()
    assert (result["targeted"] <= bound + 1e-6).all()
    assert (result["targeted"] < bound - 1e-4).all()


def test_shuffle_keeps_each_pixels_channels_together():
    delta = torch.arange(2 * 3 * 4 * 5, dtype=torch.float32).reshape(2, 3, 4, 5)
    moved = _shuffle(delta, torch.Generator().manual_seed(0))
    # channel c of pixel p is 20 * c + p within an image: the offsets move together
    flat = moved.reshape(2, 3, 20)
    assert torch.equal(flat[:, 1] - flat[:, 0], torch.full((2, 20), 20.0))


@pytest.mark.parametrize("mapping", ["ols", "ridge", "lasso", "mlp", "cnn"])
def test_readout_modules_predict_as_fit_predict(mapping):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 2 * 3 * 3))
    y = x[:, :3] @ rng.normal(size=(3, 2)) + 0.1 * rng.normal(size=(40, 2))
    test = rng.normal(size=(9, 18))
    options = {"lasso_alpha": 0.01, "feature_shape": (2, 3, 3), "hidden_units": 16}
    expected, _ = fit_predict(mapping, x, y, test, **options)
    module, _ = fit_readout(mapping, x, y, **options)
    with torch.no_grad():
        got = module(torch.as_tensor(test, dtype=torch.float32)).double().numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-3, atol=1e-4)


def test_trunk_stops_at_the_layer():
    network = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 2))
    trunk = Trunk(network, "1")
    out = trunk(torch.rand(2, 3, 8, 8))
    assert out.shape == (2, 4 * 6 * 6) and trunk.output_shape == (4, 6, 6)
    with pytest.raises(SensitivityError, match="not a submodule"):
        Trunk(network, "layer9")


def test_bad_inputs_have_clear_errors():
    weight = torch.randn(12, 2)
    pixels = torch.rand(3, 3, 2, 2)
    for bad in (0.0, -1 / 255, float("nan")):
        with pytest.raises(SensitivityError, match="epsilon must be a finite number > 0"):
            fgsm_sensitivity(linear_encoder(weight), pixels, [1 / 255, bad])
    with pytest.raises(SensitivityError, match="at least one epsilon"):
        fgsm_sensitivity(linear_encoder(weight), pixels, [])
    dead = weight.clone()
    dead[:, 1] = 0.0
    with pytest.raises(SensitivityError, match="objective 1 has a zero gradient on image 0"):
        fgsm_sensitivity(linear_encoder(dead), pixels, EPS)

    class NumpyReadout(nn.Module):  # a mapping computed outside torch: no graph
        def forward(self, features):
            values = features.detach().numpy() @ weight.numpy()
            return torch.as_tensor(values)

    encoder = EncodingModel(Trunk(nn.Sequential(Flatten()), "0"), NumpyReadout())
    with pytest.raises(SensitivityError, match="does not depend differentiably"):
        fgsm_sensitivity(encoder, pixels, EPS)
    with pytest.raises(SensitivityError, match=r"\[0, 1\]"):
        fgsm_sensitivity(linear_encoder(weight), pixels * 2 + 0.5, EPS)


def test_channels_last_changes_only_rounding_and_restores_the_weights():
    torch.manual_seed(0)
    network = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                            nn.Conv2d(8, 8, 3, stride=2), nn.ReLU())
    network.eval()
    trunk = Trunk(network, "4")
    features = trunk(torch.rand(1, 3, 12, 12)).shape[1]
    encoder = EncodingModel(trunk, LinearReadout(np.random.default_rng(0).normal(
        size=(features, 4)), np.zeros(4)), [0.5, 0.4, 0.3], [0.2, 0.25, 0.3])
    pixels = torch.rand(6, 3, 12, 12, generator=torch.Generator().manual_seed(2))
    runs = {layout: fgsm_sensitivity(encoder, pixels, EPS, batch_size=4, memory_format=layout)
            for layout in ("channels_last", "contiguous", "auto")}
    assert runs["channels_last"]["memory_format"] == "channels_last"
    assert runs["contiguous"]["memory_format"] == "contiguous"
    assert runs["auto"]["memory_format"] == ("channels_last" if torch.backends.mkldnn.is_available()
                                             else "contiguous")
    for kind in ("targeted", "shuffled", "clean"):
        np.testing.assert_allclose(runs["channels_last"][kind], runs["contiguous"][kind],
                                   rtol=1e-4, atol=1e-6)
    # the network's weights are back in the standard layout, their values untouched
    assert all(p.is_contiguous() for p in network.parameters())
    with pytest.raises(SensitivityError, match="memory_format"):
        fgsm_sensitivity(encoder, pixels, EPS, memory_format="nhwc")


def test_batchnorm_folding_keeps_the_function_and_the_layer_names():
    from neuroalign_nsd.sensitivity import fold_batchnorm

    torch.manual_seed(0)
    network = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                            nn.Conv2d(8, 8, 3), nn.BatchNorm2d(8), nn.ReLU())
    for norm in (network[1], network[4]):  # non-trivial running statistics and affine terms
        norm.running_mean.uniform_(-1, 1)
        norm.running_var.uniform_(0.5, 2)
        norm.weight.data.uniform_(0.5, 2)
        norm.bias.data.uniform_(-1, 1)
    network.eval()
    folded, names = fold_batchnorm(network)
    assert names == ["1", "4"] and isinstance(folded[1], nn.Identity)
    assert isinstance(network[1], nn.BatchNorm2d)  # the original is untouched
    x = torch.rand(4, 3, 10, 10)
    with torch.no_grad():
        torch.testing.assert_close(folded(x), network(x), rtol=1e-5, atol=1e-5)
        # a layer read by name (here "3", the second conv) keeps its own output
        kept, kept_names = fold_batchnorm(network, keep=["3"])
        assert kept_names == ["1"]
        torch.testing.assert_close(Trunk(kept, "3")(x), Trunk(network, "3")(x), rtol=1e-5,
                                   atol=1e-5)
    # the attack through the folded network: the same sensitivities up to rounding
    features = Trunk(network, "5")(x).shape[1]
    readout = LinearReadout(np.random.default_rng(0).normal(size=(features, 3)), np.zeros(3))
    results = [fgsm_sensitivity(EncodingModel(Trunk(net, "5"), readout), x, EPS, batch_size=4)
               for net in (network, folded)]
    np.testing.assert_allclose(results[1]["targeted"], results[0]["targeted"], rtol=1e-3,
                               atol=1e-6)
    # a module torch.fx cannot trace is returned as it is

    class Branchy(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv, self.norm = nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4)

        def forward(self, x):
            if x.sum() > 0:  # data-dependent control flow
                return self.norm(self.conv(x))
            return self.conv(x)

    branchy = Branchy().eval()
    assert fold_batchnorm(branchy) == (branchy, [])
