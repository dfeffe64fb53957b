"""The registered specs of ``neuroalign-clickme`` (cheap: pydantic specs only, no I/O).

Sources
-------
* Harmonization's ClickMe release (Fel, Linsley et al. 2022): TFRecord shards on the public GCS
  bucket ``serrelab``, ``prj_harmonization/dataset/click-me/val/val-{0..16}.tfrecords`` (17
  shards) and ``train/train-{0..317}.tfrecords`` (318 shards); each record is a
  ``tf.train.Example`` with ``image`` (256 px RGB JPEG), ``heatmap`` (256 px grayscale JPEG) and
  ``label`` (int64 ImageNet class). Shard counts and URLs from
  ``harmonization/common/clickme_dataset.py``.
* Paper 003's evaluation set: 1,000 ImageNet validation images with ClickMe maps, one per class.
  Its file (``clickme_test_1000.tfrecords``) is not published at a public URL; we build the set
  from the val split, one image per class (the first record of each label in shard order).

The shards have no published sha256, which the core store requires of remote assets, so the
dataset specs name each shard by a *relative* placeholder path and the data are read from a store:
:func:`neuroalign_clickme.data.build_release_store` downloads the public shards (anonymous GCS,
mirrors and offline mode of the core store), checks every record's CRC32C and writes a local store
(``index.json`` with sha256 and size) that ``NEUROALIGN_STORE`` points at; from then on every
read is verified by the store.
"""

from __future__ import annotations

from neuroalign import AssetSpec, BenchmarkSpec, DatasetSpec, ModelSpec, Preprocessing

__all__ = ["GCS_BASE", "SHARDS", "PLACEHOLDER_PREFIX", "HUMAN_CEILING", "CITATION",
           "HARMONIZATION_CITATION", "shard_names", "dataset_specs", "benchmark_specs",
           "model_specs", "ATTACKS", "TWIN_MODEL_ID"]

GCS_BASE = "gs://serrelab/prj_harmonization/dataset/click-me"
#: split -> number of shards (Harmonization's NB_VAL_SHARDS, NB_TRAIN_SHARDS)
SHARDS = {"val": 17, "train": 318}
PLACEHOLDER_PREFIX = "clickme-release"
#: Harmonization's HUMAN_SPEARMAN_CEILING (harmonization/evaluation/click_me.py)
HUMAN_CEILING = 0.6575315343478081
ATTACKS = ("pgd_l2", "pgd_linf", "cw_l2")
TWIN_MODEL_ID = "clickme:groundtruth-harmonized"

CITATION = """@article{linsley2023adversarial,
  title={Adversarial Alignment: Breaking the Trade-off between the Strength of an Attack and its Relevance to Human Perception},
  author={Linsley, Drew and Feng, Pinyuan and Boissin, Thibaut and Ashok, Alekh Karkada and Fel, Thomas and Olaiya, Stephanie and Serre, Thomas},
  journal={arXiv preprint arXiv:2306.03229},
  year={2023}
}"""
HARMONIZATION_CITATION = """@inproceedings{fel2022harmonizing,
  title={Harmonizing the object recognition strategies of deep neural networks with humans},
  author={Fel, Thomas and Felipe, Ivan and Linsley, Drew and Serre, Thomas},
  booktitle={Advances in Neural Information Processing Systems (NeurIPS)},
  year={2022}
}"""


def shard_names(split: str) -> list[str]:
    """Asset names of a split's shards, ``{split}-{i}`` (the release's file stems)."""
    return [f"{split}-{i}" for i in range(SHARDS[split])]


def _assets(split: str) -> tuple[AssetSpec, ...]:
    return tuple(AssetSpec(name=name, url=f"{PLACEHOLDER_PREFIX}/{split}/{name}.tfrecords",
                           format="other") for name in shard_names(split))


def dataset_specs() -> list[DatasetSpec]:
    """``ClickMe.val``, ``ClickMe.train`` (the release splits) and ``ClickMe.eval1000``."""
    common = dict(kind="behavioral", license="see the Harmonization / ClickMe release",
                  synthetic="neuroalign_clickme.synthetic:generate",
                  factory="neuroalign_clickme.data:ClickMeDataset")
    specs = [DatasetSpec(
        id=f"ClickMe.{split}", version=1, assets=_assets(split), citation=HARMONIZATION_CITATION,
        parameters={"split": split, "per_class": None, "max_images": None},
        description=f"ClickMe human feature-importance maps, Harmonization release, {split} "
                    f"split ({SHARDS[split]} TFRecord shards of 256 px JPEG image + heatmap + "
                    "ImageNet label).", **common) for split in SHARDS]
    specs.append(DatasetSpec(
        id="ClickMe.eval1000", version=1, assets=_assets("val"), citation=CITATION,
        parameters={"split": "val", "per_class": 1, "max_images": 1000},
        description="Paper 003's evaluation set: 1,000 ClickMe images, one per ImageNet class "
                    "(first record of each label in the val split's shard order).", **common))
    return specs


_SECTIONS = {"pgd_l2": "§2 'Adversarial attacks', §3 (Figs. 2-4), Appendix C (Alg. 1)",
             "pgd_linf": "Appendix C 'Results of l-inf PGD Attack' (Fig. S3)",
             "cw_l2": "Appendix C 'l2 Carlini-Wagner & l2 PGD Attacks' (Figs. S4, S5)"}


def benchmark_specs() -> list[BenchmarkSpec]:
    """``ClickMe.{tolerance,alignment}-{pgd_l2,pgd_linf,cw_l2}``."""
    specs = []
    for attack in ATTACKS:
        parameters = {"attack": attack, "projection": "sphere", "batch_size": 64,
                      "device": None, "n_images": None}
        if attack == "cw_l2":
            parameters["cw"] = {"steps": 100, "binary_search_steps": 9, "initial_const": 1e-3,
                                "lr": 0.01, "confidence": 0.0}
        for measure in ("tolerance", "alignment"):
            what = ("mean L2 (Linf for pgd_linf) of the minimal successful perturbation"
                    if measure == "tolerance" else
                    "mean Spearman rho between |channel-mean perturbation| and the ClickMe map "
                    "(second field: rho / human ceiling 0.6575)")
            specs.append(BenchmarkSpec(
                id=f"ClickMe.{measure}-{attack}", version=1,
                factory="neuroalign_clickme.benchmarks:ClickMeBenchmark",
                dataset="ClickMe.eval1000", kind="adversarial", region="behavior",
                citation=CITATION, paper_section=_SECTIONS[attack],
                parameters={"measure": measure, **parameters},
                description=f"Adversarial {measure} on paper 003's 1,000 ClickMe images under "
                            f"{attack}: {what}."))
    return specs


def model_specs() -> list[ModelSpec]:
    """``clickme:groundtruth-harmonized``: the synthetic twin's aligned ground-truth network."""
    return [ModelSpec(
        id=TWIN_MODEL_ID, factory="neuroalign_clickme.twin:build_model",
        parameters={"seed": 2015},
        preprocessing=Preprocessing(input_size=96, mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25),
                                    interpolation="bilinear", crop_pct=1.0),
        visual_degrees=8.0, layers=("v1", "v2", "v4", "it"),
        region_layers={"V1": "v1", "V2": "v2", "V4": "v4", "IT": "it", "behavior": "readout"},
        description="The synthetic ground-truth network behind a fixed colour gate: it sees only "
                    "the coloured objects of the ClickMe synthetic twin, so its gradients (and "
                    "attacks) fall on the objects, as a harmonized network's do.",
        metadata={"family": "synthetic", "harmonized": True, "trained": False},
    )]
