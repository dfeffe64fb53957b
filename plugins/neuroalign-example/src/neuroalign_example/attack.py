"""``example_random_sign``: the random-direction control that real gradient attacks beat."""

from __future__ import annotations

import numpy as np

from neuroalign import Attack, AttackResult, AttackSpec


class RandomSignAttack(Attack):
    """Adds ``epsilon * sign(noise)`` to each pixel and clips to [0, 1]; no gradient needed.

    Parameters
    ----------
    spec : AttackSpec
        ``parameters``: ``epsilon`` (L-inf budget in [0, 1] pixel units) and ``seed``.
    """

    def __init__(self, spec: AttackSpec):
        self.spec = spec

    def __call__(self, module, images, *, labels=None, objective=None, targeted=False) -> AttackResult:
        """Perturb ``images`` (``(n, ...)`` in [0, 1], numpy or CPU tensors).

        ``module`` maps images to logits; with ``labels`` the result says which images changed
        class (``targeted``: which reached their label).
        """
        images = np.asarray(images, dtype=float)
        rng = np.random.default_rng(self.spec.parameters.get("seed", 0))
        epsilon = float(self.spec.parameters.get("epsilon", 8 / 255))
        adversarial = np.clip(images + epsilon * np.sign(rng.standard_normal(images.shape)), 0, 1)
        perturbation = adversarial - images
        flat = perturbation.reshape(len(images), -1)
        success = None
        if labels is not None:
            predicted = np.asarray(module(adversarial)).argmax(axis=1)
            success = predicted == np.asarray(labels) if targeted else predicted != np.asarray(labels)
        return AttackResult(adversarial=adversarial, perturbation=perturbation,
                            l2=np.linalg.norm(flat, axis=1), linf=np.abs(flat).max(axis=1),
                            success=success, gradient_evaluations=0)
