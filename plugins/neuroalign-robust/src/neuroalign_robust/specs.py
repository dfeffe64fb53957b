"""The registered checkpoints (cheap: no torch, no I/O).

URLs: the Hugging Face mirror of the checkpoints that Salman et al. (2020) published with
https://github.com/microsoft/robust-models-transfer (``madrylab/robust-imagenet-models``; the
repository's README links the same files on an Azure blob with a time-limited signature). The
authors publish no checksums: ``sha256`` is ``None`` here and the file's sha256 is recorded on
first download and verified on every later use (see :mod:`neuroalign_robust.factory`); pin a
known hash with ``parameters={"sha256": "..."}``. Sizes are not published either (a ResNet-50
checkpoint with optimizer state is a few hundred MB).
"""

from __future__ import annotations

from neuroalign import ModelSpec, Preprocessing

__all__ = ["CHECKPOINTS", "BASE_URL", "model_specs", "CITATION", "L2_EPSILONS", "LINF_EPSILONS"]

BASE_URL = "https://huggingface.co/madrylab/robust-imagenet-models/resolve/main"
#: L2 budgets (pixel space [0, 1], 224 px) and L-infinity budgets (in 1/255) of the release
L2_EPSILONS: tuple[str, ...] = ("0", "0.01", "0.03", "0.05", "0.1", "0.25", "0.5", "1", "3", "5")
LINF_EPSILONS: tuple[str, ...] = ("0.5", "1.0", "2.0", "4.0", "8.0")
CITATION = """@inproceedings{salman2020adversarially,
  title={Do Adversarially Robust ImageNet Models Transfer Better?},
  author={Salman, Hadi and Ilyas, Andrew and Engstrom, Logan and Kapoor, Ashish and Madry,
          Aleksander},
  booktitle={Advances in Neural Information Processing Systems}, year={2020}
}"""
#: the robustness library's ImageNet normalisation and the standard 256 -> 224 centre crop
_PREPROCESSING = Preprocessing(input_size=224, mean=(0.485, 0.456, 0.406),
                               std=(0.229, 0.224, 0.225), interpolation="bilinear",
                               crop_pct=0.875)


def _checkpoints() -> dict[str, dict[str, object]]:
    out: dict[str, dict[str, object]] = {}
    for norm, values in (("l2", L2_EPSILONS), ("linf", LINF_EPSILONS)):
        for eps in values:
            name = f"resnet50_{norm}_eps{eps}"
            out[name] = {"file": f"{name}.ckpt", "url": f"{BASE_URL}/{name}.ckpt",
                         "norm": norm, "eps": float(eps) / (255.0 if norm == "linf" else 1.0),
                         "eps_label": eps + ("/255" if norm == "linf" else ""),
                         "sha256": None, "size": None}
    return out


#: name -> {file, url, norm, eps (pixel units), eps_label, sha256 (None: not published), size}
CHECKPOINTS: dict[str, dict[str, object]] = _checkpoints()


def model_specs() -> list[ModelSpec]:
    """One :class:`~neuroalign.ModelSpec` per checkpoint (``robust:<name>``)."""
    specs = []
    for name, info in CHECKPOINTS.items():
        specs.append(ModelSpec(
            id=f"robust:{name}", factory="neuroalign_robust.factory:build",
            preprocessing=_PREPROCESSING,
            parameters={"architecture": "resnet50", "url": info["url"], "sha256": None,
                        "pretrained": True},
            metadata={"norm": info["norm"], "eps": info["eps"], "eps_label": info["eps_label"],
                      "citation": CITATION, "source": "Salman et al. 2020 (MadryLab robustness)",
                      "weights_sha256_published": False},
            description=f"ResNet-50 adversarially trained on ImageNet, {info['norm'].upper()} "
                        f"eps {info['eps_label']} (Salman et al. 2020)",
        ))
    return specs
