"""Tests of the ground-truth world: images, network, read-outs."""

from __future__ import annotations

import numpy as np
import pytest

from neuroalign_synthetic.images import CATEGORIES, OBJECTS, draw_set, object_shape, sample_pose
from neuroalign_synthetic.readout import (make_sites, mean_rates, split_half_reliability,
                                          trial_responses)


@pytest.fixture(autouse=True)
def _home(neuroalign_home):
    """Activation caches go to a temporary NEUROALIGN_HOME."""


def test_images_are_deterministic_and_independent_of_the_rest_of_the_set():
    records, images = draw_set(seed=3, variations=(0, 6), images_per_object={0: 1, 6: 2},
                               objects_per_category=2, size=64)
    again_records, again = draw_set(seed=3, variations=(6,), images_per_object={6: 2},
                                    objects_per_category=2, size=64)
    assert images.shape == (8 * 2 * 3, 64, 64) and images.dtype == np.uint8
    assert len(records) == 48
    variation6 = [i for i, r in enumerate(records) if r.variation == 6]
    np.testing.assert_array_equal(images[variation6], again)
    assert [records[i].stimulus_id for i in variation6] == [r.stimulus_id for r in again_records]
    _, other_seed = draw_set(seed=4, variations=(6,), images_per_object={6: 2},
                             objects_per_category=2, size=64)
    assert np.abs(other_seed.astype(int) - again.astype(int)).mean() > 5


def test_metadata_follows_hvm():
    records, images = draw_set(seed=0, variations=(0, 3), images_per_object={0: 1, 3: 1},
                               objects_per_category=8, size=32)
    assert len(records) == 128 and len({r.stimulus_id for r in records}) == 128
    assert {r.category_name for r in records} == set(CATEGORIES)
    assert {r.object_name for r in records} == {o for names in OBJECTS.values() for o in names}
    for record in records:
        if record.variation == 0:
            assert (record.pose.ty, record.pose.tz, record.pose.s, record.pose.rxy) == (0, 0, 1, 0)
        else:
            assert abs(record.pose.ty) <= 0.3 and 0.75 <= record.pose.s <= 1.25
    # objects are visible: the image differs from the background alone in the centre
    assert images[:, 12:20, 12:20].std() > 10


def test_bad_parameters_say_what_is_valid():
    with pytest.raises(ValueError, match="valid categories"):
        object_shape(0, "Dogs", 0)
    with pytest.raises(ValueError, match="valid levels"):
        sample_pose(np.random.default_rng(0), 4)
    with pytest.raises(ValueError, match="objects_per_category"):
        draw_set(objects_per_category=9)


def test_groundtruth_network_is_fixed_and_registered():
    import neuroalign
    from neuroalign_synthetic import plugin
    from neuroalign_synthetic.network import MODEL_ID, REGION_LAYERS, build_module
    from neuroalign.extraction.torch_model import state_dict_sha256

    manager = neuroalign.PluginManager(autoload=False)
    manager.register(plugin, name="synthetic", distribution="neuroalign-synthetic")
    spec = manager.registry.spec("model", MODEL_ID)
    assert spec.region_layers == REGION_LAYERS and spec.preprocessing.input_size == 96
    assert state_dict_sha256(build_module()) == state_dict_sha256(build_module())
    assert state_dict_sha256(build_module()) != state_dict_sha256(build_module(seed=1))
    import torch

    module = build_module()
    x = torch.zeros(2, 3, 96, 96)
    sizes = {}
    for name, child in module.named_children():
        x = child(x)
        sizes[name] = x[0].numel()
    assert sizes == {"v1": 36864, "v2": 18432, "v4": 768, "it": 384, "readout": 8}
    assert sum(p.numel() for p in module.parameters()) == spec.metadata["params"]


def test_groundtruth_activations_are_the_core_extractors():
    from neuroalign_synthetic.world import (groundtruth_activations, groundtruth_model,
                                            to_stimulus_set)

    records, images = draw_set(seed=0, variations=(3,), images_per_object={3: 1},
                               objects_per_category=1, size=64)
    stimuli = to_stimulus_set("tiny", records, images)
    acts = groundtruth_activations(stimuli, ["v4", "it"])
    direct = groundtruth_model().activations(stimuli, ["v4", "it"], visual_degrees=8.0)
    assert acts["v4"].shape == (8, 768) and acts["it"].shape == (8, 384)
    np.testing.assert_array_equal(acts["it"], direct.values[:, direct["layer"].values == "it"])


@pytest.mark.parametrize("n_trials", [10, 50])
def test_site_reliability_is_calibrated_whatever_the_trial_count(n_trials):
    rng = np.random.default_rng(0)
    latent = rng.standard_normal((600, 6))
    noise = 0.3 * rng.standard_normal((600, 60))
    features = np.maximum(latent @ rng.standard_normal((6, 60)) + noise, 0)
    sites = make_sites(features[:300], 120, layer="x", seed=1, reliability=0.82, spread=0.3)
    trials = trial_responses(sites, features[300:], n_trials, seed=2)
    assert trials.shape == (n_trials, 300, 120)
    reliability = np.median(split_half_reliability(trials))
    assert reliability == pytest.approx(0.82, abs=0.04)
    # Poisson-like: the trial variance grows with the rate
    rates = mean_rates(sites, features[300:])
    variance = trials.var(axis=0)
    site = int(np.argmax(np.ptp(rates, axis=0)))
    median = np.median(rates[:, site])
    high, low = rates[:, site] > median, rates[:, site] <= median
    assert variance[high, site].mean() > variance[low, site].mean()


def test_readout_errors_name_the_problem():
    with pytest.raises(ValueError, match="reliability must be in"):
        make_sites(np.ones((10, 4)) + np.arange(4), 3, layer="x", seed=0, reliability=1.5)
    with pytest.raises(ValueError, match="constant activations"):
        make_sites(np.ones((10, 4)), 3, layer="x", seed=0)
    sites = make_sites(np.random.default_rng(0).standard_normal((20, 5)), 3, layer="x", seed=0)
    with pytest.raises(ValueError, match="the sites were drawn on 5"):
        mean_rates(sites, np.zeros((4, 6)))
    with pytest.raises(ValueError, match="at least 2 trials"):
        trial_responses(sites, np.zeros((4, 5)), 1, seed=0)
