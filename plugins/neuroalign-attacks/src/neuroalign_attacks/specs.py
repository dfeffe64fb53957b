"""The specs this plugin registers. Importing this module is cheap: no torch, no data."""

from __future__ import annotations

from neuroalign import AttackSpec, BenchmarkSpec, FigureSpec

__all__ = ["ATTACK_SPECS", "BENCHMARK_SPECS", "CW_FAST", "FIGURE_SPECS", "attack_spec"]

_MADRY = "Madry et al. (2018). Towards deep learning models resistant to adversarial attacks. ICLR."
_PAPER_000 = """@article{crossvit_brainscore_2022,
  title = {Joint rotational invariance and adversarial training of a dual-stream Transformer
           yields state of the art Brain-Score for Area V4},
  author = {Berrios, William and Deza, Arturo},
  journal = {arXiv:2203.06649},
  year = {2022}
}"""

_ATTACKS = "neuroalign_attacks.attacks"

#: parameters every attack takes: the request and the model's input convention. ``mean``/
#: ``std``/``normalized`` are None: the convention comes from the model (a neuroalign.Model or a
#: NormalizedModel) or from these parameters, never from a silent default
_COMMON = {"targeted": False, "mean": None, "std": None, "normalized": None,
           "memory_format": "auto"}
#: parameters of the gradient-ascent attacks (not Carlini-Wagner, whose loss is fixed)
_ASCENT = {"loss": "ce", "direction": "maximize"}
_PGD = {"steps": 10, "step_size": None, "random_start": False, "seed": 0, "iterate": "last"}
_CW = {"confidence": 0.0, "steps": 100, "lr": 0.01, "binary_search_steps": 9,
       "initial_const": 0.001, "abort_early": True, "warm_start": False, "const_tolerance": 0.0,
       "refine_steps": 0, "stop_at_first_success": False}
#: the fast Carlini-Wagner setting of docs/attacks.md (registered as ``cw_l2_fast``): one Adam
#: update at c = 1, c x10 (then x100) only for images not yet flipped, one line-search pass
CW_FAST = {"steps": 2, "binary_search_steps": 3, "initial_const": 1.0, "lr": 0.01,
           "stop_at_first_success": True, "refine_steps": 1}
_CW_CITATION = ("Carlini & Wagner (2017). Towards evaluating the robustness of neural networks. "
                "IEEE S&P.")

ATTACK_SPECS: tuple[AttackSpec, ...] = (
    AttackSpec(
        id="fgsm", factory=f"{_ATTACKS}:FGSM", norm="linf",
        parameters={"eps": 8 / 255, **_ASCENT, **_COMMON},
        description="Fast gradient sign method: one Linf step of size eps.",
        citation="Goodfellow, Shlens & Szegedy (2015). Explaining and harnessing adversarial "
                 "examples. ICLR.",
    ),
    AttackSpec(
        id="pgd_linf", factory=f"{_ATTACKS}:PGDLinf", norm="linf",
        parameters={"eps": 8 / 255, **_PGD, **_ASCENT, **_COMMON},
        description="Projected gradient descent in the Linf ball; step size 2.5*eps/steps.",
        citation=_MADRY,
    ),
    AttackSpec(
        id="pgd_l2", factory=f"{_ATTACKS}:PGDL2", norm="l2",
        parameters={"eps": 0.5, **_PGD, **_ASCENT, **_COMMON},
        description="Projected gradient descent in the L2 ball; step size 2.5*eps/steps.",
        citation=_MADRY,
    ),
    AttackSpec(
        id="cw_l2", factory=f"{_ATTACKS}:CarliniWagnerL2", norm="l2",
        parameters={**_CW, **_COMMON},
        description="Carlini-Wagner L2: tanh variables, Adam, binary search over c.",
        citation=_CW_CITATION,
    ),
    AttackSpec(
        id="cw_l2_fast", factory=f"{_ATTACKS}:CarliniWagnerL2", norm="l2",
        parameters={**_CW, **CW_FAST, **_COMMON},
        description="Carlini-Wagner L2, fast setting: one Adam step at c = 1, c x10 for images "
                    "not yet flipped, one line-search pass back to the boundary.",
        citation=_CW_CITATION,
    ),
    AttackSpec(
        id="min_eps", factory=f"{_ATTACKS}:MinimalEpsilon", norm="l2",
        parameters={"norm": "l2", "lower": None, "upper": None, "tolerance": None, "steps": 3,
                    "step_size_factor": 2.5, "early_stop": True, **_ASCENT, **_COMMON},
        description="Minimal-epsilon search: per-image bisection over the PGD budget "
                    "(paper 003, Alg. 1).",
        citation="Linsley et al. (2023). Adversarial alignment: breaking the trade-off between "
                 "the strength of an attack and its relevance to human perception.",
    ),
)


def _robust_accuracy(norm: str) -> BenchmarkSpec:
    return BenchmarkSpec(
        id=f"PGD.robust_accuracy-{norm}",
        factory="neuroalign_attacks.robust_accuracy:RobustAccuracy",
        version=2,
        kind="adversarial",
        parameters={"norm": norm, "eps": None, "steps": [1, 10, 20], "n_images": 300,
                    "n_readout_images": 600, "readout": "auto", "seed": 0, "batch_size": 100,
                    "device": None, "iterate": "best_loss", "data": "auto", "imagenet": None},
        description=(
            f"Accuracy under {norm.upper()} PGD for 6 budgets x (1, 10, 20) steps, scoring the "
            "highest-loss iterate (robustness library); ImageNet val through the model's own "
            "head when a folder is configured ($NEUROALIGN_IMAGENET_VAL), else a procedural "
            "shapes set (not comparable with paper 000); score = mean normalised AUC over eps "
            "(1 = fully robust)."
        ),
        citation=_PAPER_000,
        paper_section="3.1 and Appendix C.1.1 (Table 7)",
    )


BENCHMARK_SPECS: tuple[BenchmarkSpec, ...] = (_robust_accuracy("linf"), _robust_accuracy("l2"))

FIGURE_SPECS: tuple[FigureSpec, ...] = (
    FigureSpec(
        id="robust_accuracy_curves", factory="neuroalign_attacks.figures:RobustAccuracyCurves",
        scope="benchmark", benchmarks="PGD.robust_accuracy-*", order=30,
        parameters={"max_series": 8},
        description="Accuracy vs epsilon under 1, 10 and 20 PGD steps, per model.",
        citation=_PAPER_000, paper_section="3.1, Figure 5"),
)


def attack_spec(identifier: str) -> AttackSpec:
    """The registered spec of attack ``identifier``."""
    for spec in ATTACK_SPECS:
        if spec.id == identifier:
            return spec
    raise KeyError(f"unknown attack {identifier!r}; valid ids are {[s.id for s in ATTACK_SPECS]}")
