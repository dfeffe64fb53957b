"""The specs this plugin registers: ids, kinds, default parameters, citations.

Kept free of scikit-learn and xarray imports so registration stays cheap.
"""

from __future__ import annotations

from neuroalign import MetricSpec

__all__ = ["ADVERSARIAL_MAPPINGS_CITATION", "BRAIN_SCORE_CITATION", "metric_specs"]

BRAIN_SCORE_CITATION = """@article{schrimpf2018brain,
  title={Brain-Score: Which Artificial Neural Network for Object Recognition is most Brain-Like?},
  author={Schrimpf, Martin and Kubilius, Jonas and Hong, Ha and Majaj, Najib J and Rajalingham, Rishi and Issa, Elias B and Kar, Kohitij and Bashivan, Pouya and Prescott-Roy, Jonathan and Geiger, Franziska and Schmidt, Kailyn and Yamins, Daniel L K and DiCarlo, James J},
  journal={bioRxiv},
  pages={407007},
  year={2018}
}"""

ADVERSARIAL_MAPPINGS_CITATION = (
    "Small-scale adversarial perturbations expose differences between predictive encoding "
    "models of human fMRI responses (paper 002, 'Encoding model mapping procedures')"
)

_CROSS_VALIDATION = {"splits": 10, "train_size": 0.9, "random_state": 1,
                     "stratification_coord": "object_name"}
_FACTORIES = "neuroalign_neural.factories"


def _mapping(identifier: str, description: str, citation: str, **parameters) -> MetricSpec:
    return MetricSpec(id=identifier, kind="mapping", factory=f"{_FACTORIES}:make_{identifier}",
                      parameters={**parameters, **_CROSS_VALIDATION}, description=description,
                      citation=citation)


def metric_specs() -> list[MetricSpec]:
    """Every metric and ceiling spec of ``neuroalign-neural``."""
    return [
        _mapping("pls", "Brain-Score neural predictivity: PLS regression (25 components) mapping, "
                 "held-out Pearson r per neuroid, median over neuroids, mean over 10 splits.",
                 BRAIN_SCORE_CITATION, n_components=25, max_iter=500, tol=1e-6, solver="nipals"),
        _mapping("ridge", "Ridge regression with one alpha per neuroid chosen by efficient "
                 "leave-one-out on the training split; same cross-validation as pls.",
                 ADVERSARIAL_MAPPINGS_CITATION),
        _mapping("ols", "Ordinary least squares mapping; same cross-validation as pls.",
                 ADVERSARIAL_MAPPINGS_CITATION),
        _mapping("lasso", "Lasso per neuroid, alpha by 5-fold CV inside the training split; same "
                 "cross-validation as pls.", ADVERSARIAL_MAPPINGS_CITATION,
                 cv=5, n_alphas=20, max_iter=5000),
        _mapping("mlp", "MLP mapping with one hidden layer of 128 ReLU units (standardised "
                 "inputs and targets, early stopping); same cross-validation as pls.",
                 ADVERSARIAL_MAPPINGS_CITATION, hidden_units=128, max_iter=500, alpha=1e-4,
                 learning_rate_init=1e-3, seed=0),
        _mapping("regression", "Any scikit-learn regressor named by parameters['estimator'] "
                 "('module:Class') with parameters['estimator_parameters']; same "
                 "cross-validation as pls.", BRAIN_SCORE_CITATION,
                 estimator="sklearn.linear_model:LinearRegression", estimator_parameters={}),
        MetricSpec(id="rsa", kind="similarity", factory=f"{_FACTORIES}:make_rsa",
                   parameters={"rdm": "correlation", "comparison": "spearman"},
                   description="RDM correlation: Spearman r between the upper triangles of the "
                   "1 - Pearson r dissimilarity matrices of source and target.",
                   citation="Kriegeskorte, Mur & Bandettini (2008), Representational similarity "
                   "analysis. Front. Syst. Neurosci."),
        MetricSpec(id="cka", kind="similarity", factory=f"{_FACTORIES}:make_cka",
                   description="Linear centred kernel alignment between source and target.",
                   citation="Kornblith et al. (2019), Similarity of Neural Network "
                   "Representations Revisited. ICML."),
        MetricSpec(id="internal_consistency", kind="ceiling",
                   factory=f"{_FACTORIES}:make_internal_consistency",
                   parameters={"splits": 10, "train_size": 0.5, "random_state": 1,
                               "repetition_coord": "repetition"},
                   description="Split-half reliability over repetitions, Spearman-Brown "
                   "corrected, median over neuroids, mean over 10 splits (Brain-Score).",
                   citation=BRAIN_SCORE_CITATION),
    ]
