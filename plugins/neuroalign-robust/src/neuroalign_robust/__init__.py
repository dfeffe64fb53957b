"""neuroalign-robust: adversarially trained ImageNet ResNet-50s as neuroalign models.

The public checkpoints of Salman et al. (2020), "Do Adversarially Robust ImageNet Models Transfer
Better?" (trained with the MadryLab ``robustness`` library): ``robust:resnet50_l2_eps<eps>`` for
L2 budgets 0-5 and ``robust:resnet50_linf_eps<eps>`` for L-infinity budgets 0.5/255-8/255. The
checkpoint is downloaded from its public URL on first use, its ``module.model.`` weights are
extracted into a plain state dict, and the network is built through neuroalign-timm's
pretrained-file path (timm's ``resnet50`` has the same parameter names). ``--random-weights``
(``pretrained=False``) builds the architecture without downloading anything.

Importing this package imports nothing heavy.
"""

from __future__ import annotations

from neuroalign.lazy import lazy_exports

__version__ = "0.1.0"

_EXPORTS = {
    "CHECKPOINTS": "specs", "model_specs": "specs", "build": "factory",
    "checkpoint_path": "factory", "extract_state_dict": "factory",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, __all__)
