"""The five feature-to-brain mappings of paper 002 §2.2, fit for all subjects at once.

Every mapping takes training features ``X (n, F)`` shared by the subjects and targets
``Y (n, S)`` (one column per subject: its ROI's trial- and voxel-averaged response) and predicts
test rows. For ridge, lasso, MLP and CNN features are centred with the training rows' means and
divided by one global scale (:func:`standardize`); OLS uses centred features (its fit does not
depend on feature scale).

* ``ols``   - least squares with intercept; minimum-norm solution (``numpy.linalg.lstsq``)
  when features outnumber training images.
* ``ridge`` - one alpha per subject from :data:`RIDGE_ALPHAS` by efficient leave-one-out
  (scikit-learn ``RidgeCV(alpha_per_target=True)``).
* ``lasso`` - scikit-learn ``Lasso`` with one alpha for every subject (chosen by the caller).
* ``mlp``   - one hidden layer of 128 ReLU units (weights drawn from a seeded generator), one
  independent network per subject (batched in one tensor), full-batch Adam (lr 3e-3, weight decay
  1e-4, 100 epochs) on standardised targets; deterministic on CPU. When features outnumber the
  training images they are first projected (orthonormally) onto the training features' principal
  axes, which keeps every training input and makes the network n_train wide.
* ``cnn``   - a 1x1 convolution to 128 ReLU channels over the layer's feature map (average-pooled
  to at most 4 x 4), then a linear read-out; trained like the MLP. Flat features are a 1 x 1 map.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["RIDGE_ALPHAS", "LASSO_ALPHAS", "fit_predict", "standardize", "pearson_columns",
           "choose_lasso_alpha", "MappingError", "fit_neural", "apply_neural", "neural_forward",
           "cnn_positions"]

RIDGE_ALPHAS: tuple[float, ...] = tuple(float(a) for a in np.logspace(-3, 8, 23))
LASSO_ALPHAS: tuple[float, ...] = (1e-4, 1e-3, 5e-3, 1e-2, 5e-2, 1e-1)
_EPOCHS = 100
_LASSO_ITER = 3000  # coordinate-descent sweeps; non-convergence is counted in the details
_LEARNING_RATE = 3e-3
_WEIGHT_DECAY = 1e-4
_CNN_MAX_SIDE = 4


class MappingError(ValueError):
    """A mapping cannot be fit on the inputs given (says which and why)."""


def standardize(train: np.ndarray, *others: np.ndarray) -> list[np.ndarray]:
    """Centre columns with the training rows' means and divide all by one global scale.

    One scale for every feature (the root mean training variance) keeps the features' relative
    variances: model features carry their signal in high-variance directions, and per-feature
    z-scoring would inflate the many low-variance ones.
    """
    mean = train.mean(axis=0)
    scale = float(np.sqrt(((train - mean) ** 2).mean()))
    scale = scale if scale > 0 else 1.0
    return [(a - mean) / scale for a in (train, *others)]


def pearson_columns(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson r of matching columns (0 where a column is constant)."""
    a = a - a.mean(axis=0)
    b = b - b.mean(axis=0)
    denominator = np.sqrt((a * a).sum(axis=0) * (b * b).sum(axis=0))
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (a * b).sum(axis=0) / denominator
    return np.where(denominator > 0, r, 0.0)


def _ols(x: np.ndarray, y: np.ndarray, test: np.ndarray) -> np.ndarray:
    mx, my = x.mean(axis=0), y.mean(axis=0)
    coef, *_ = np.linalg.lstsq(x - mx, y - my, rcond=None)
    return (test - mx) @ coef + my


def _ridge(x, y, test, alphas) -> tuple[np.ndarray, dict[str, Any]]:
    from sklearn.linear_model import RidgeCV

    xs, ts = standardize(x, test)
    model = RidgeCV(alphas=list(alphas), alpha_per_target=True).fit(xs, y)
    chosen = np.atleast_1d(model.alpha_).astype(float)
    return model.predict(ts).reshape(len(test), -1), {"ridge_alphas": chosen.tolist()}


def _lasso(x, y, test, alpha: float) -> tuple[np.ndarray, dict[str, Any]]:
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import Lasso

    xs, ts = standardize(x, test)
    predictions, kept, unconverged = [], [], 0
    for column in range(y.shape[1]):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            model = Lasso(alpha=alpha, max_iter=_LASSO_ITER, tol=1e-4).fit(xs, y[:, column])
        unconverged += sum(issubclass(w.category, ConvergenceWarning) for w in caught)
        predictions.append(model.predict(ts))
        kept.append(int(np.count_nonzero(model.coef_)))
    details: dict[str, Any] = {"lasso_alpha": alpha, "lasso_nonzero": kept}
    if unconverged:
        details["lasso_not_converged"] = unconverged
    return np.stack(predictions, axis=1), details


def choose_lasso_alpha(x: np.ndarray, y: np.ndarray, alphas=LASSO_ALPHAS, folds: int = 5,
                       seed: int = 0) -> tuple[float, dict[str, float]]:
    """The alpha with the best mean held-out Pearson r in ``folds``-fold CV on ``(x, y)``."""
    from sklearn.linear_model import lasso_path
    from sklearn.model_selection import KFold

    grid = sorted(float(a) for a in alphas)[::-1]  # path: strongest first, warm starts
    scores = np.zeros((folds, len(grid)))
    for f, (train, test) in enumerate(KFold(folds, shuffle=True, random_state=seed).split(x)):
        xs, ts = standardize(x[train], x[test])
        ym = y[train].mean()
        _, coefs, _ = lasso_path(xs, y[train] - ym, alphas=grid, max_iter=_LASSO_ITER, tol=1e-4)
        predictions = ts @ coefs + ym  # test x alphas
        scores[f] = pearson_columns(predictions, np.repeat(y[test][:, None], len(grid), 1))
    mean = scores.mean(axis=0)
    best = grid[int(np.argmax(mean))]
    return best, {f"{a:g}": float(m) for a, m in zip(grid, mean)}


def _train(network, parameters, x, y) -> None:
    """Full-batch Adam for a fixed number of epochs (no early stopping: NSD's 400 training
    images leave too few for a stable validation set; the ground-truth twin confirms it)."""
    import torch

    optimizer = torch.optim.Adam(parameters, lr=_LEARNING_RATE, weight_decay=_WEIGHT_DECAY)
    for _ in range(_EPOCHS):
        optimizer.zero_grad()
        # subjects are independent networks: the summed loss gives each its own gradient
        ((network(x) - y) ** 2).mean(dim=0).sum().backward()
        optimizer.step()


def fit_neural(kind: str, x, y, hidden: int, seed: int,
               feature_shape: tuple[int, ...] | None) -> dict[str, Any]:
    """Train the MLP (``kind="mlp"``) or CNN (``"cnn"``) read-out; return its parameters.

    The returned dict holds everything needed to apply the trained networks to new raw features
    (:func:`apply_neural`, or a torch module built from it): the standardisation (``mean``,
    ``scale``), the optional principal-axes projection ``vt`` (MLP), the target scaling (``ym``,
    ``ysd``), the weights ``w1, b1, w2, b2`` (one network per target column), the CNN's feature
    shape and pooled side, and ``details``.
    """
    import torch

    mean = x.mean(axis=0)
    scale = float(np.sqrt(((x - mean) ** 2).mean()))
    scale = scale if scale > 0 else 1.0
    xs = (x - mean) / scale
    ym, ysd = y.mean(axis=0), y.std(axis=0)
    ysd = np.where(ysd > 0, ysd, 1.0)
    n_subjects = y.shape[1]
    generator = torch.Generator().manual_seed(int(seed))
    details: dict[str, Any] = {"hidden_units": hidden, "seed": seed, "epochs": _EPOCHS,
                               "learning_rate": _LEARNING_RATE, "weight_decay": _WEIGHT_DECAY}
    fit: dict[str, Any] = {"kind": kind, "mean": mean, "scale": scale, "vt": None, "ym": ym,
                           "ysd": ysd, "hidden": hidden, "details": details}
    if kind == "cnn":
        shape = tuple(feature_shape) if feature_shape is not None else (x.shape[1], 1, 1)
        if int(np.prod(shape)) != x.shape[1]:
            raise MappingError(f"cnn: feature shape {shape} does not hold {x.shape[1]} features")
        side = (min(shape[1], _CNN_MAX_SIDE), min(shape[2], _CNN_MAX_SIDE))
        c, h, w = shape[0], side[0], side[1]
        details["cnn_input"] = [int(c), int(h), int(w)]
        fit.update(shape=tuple(int(v) for v in shape), side=side)
        xt = cnn_positions(torch.as_tensor(xs, dtype=torch.float32), fit["shape"], side)
        bound1, bound2 = 1 / np.sqrt(c), 1 / np.sqrt(hidden * h * w)
        w1 = ((torch.rand(n_subjects, c, hidden, generator=generator) * 2 - 1) * bound1)
        w2 = ((torch.rand(n_subjects, h * w * hidden, generator=generator) * 2 - 1) * bound2)
    else:
        if xs.shape[1] > xs.shape[0]:
            # the training rows span at most n_train directions: an orthonormal projection onto
            # them keeps every training input intact and makes the first layer n_train wide
            _, _, vt = np.linalg.svd(xs, full_matrices=False)
            xs = xs @ vt.T
            fit["vt"] = vt
            details["mlp_input"] = f"{vt.shape[0]} principal axes of the training features"
        xt = torch.as_tensor(xs, dtype=torch.float32)
        f = xt.shape[1]
        bound1, bound2 = 1 / np.sqrt(max(f, 1)), 1 / np.sqrt(hidden)
        w1 = (torch.rand(n_subjects, f, hidden, generator=generator) * 2 - 1) * bound1
        w2 = (torch.rand(n_subjects, hidden, generator=generator) * 2 - 1) * bound2
    b1 = torch.zeros(n_subjects, hidden)
    b2 = torch.zeros(n_subjects)
    parameters = [w1.requires_grad_(), b1.requires_grad_(), w2.requires_grad_(),
                  b2.requires_grad_()]
    fit.update(w1=w1, b1=b1, w2=w2, b2=b2)
    target = torch.as_tensor((y - ym) / ysd, dtype=torch.float32)
    _train(lambda inputs: neural_forward(fit, inputs), parameters, xt, target)
    for key in ("w1", "b1", "w2", "b2"):
        fit[key] = fit[key].detach()
    return fit


def cnn_positions(maps_flat, shape: tuple[int, int, int], side: tuple[int, int]):
    """``(n, C*H*W)`` standardised features -> pooled ``(n, h*w, C)`` rows (torch)."""
    import torch

    maps = maps_flat.reshape(len(maps_flat), *shape)
    pooled = torch.nn.functional.adaptive_avg_pool2d(maps, side)
    return pooled.flatten(2).transpose(1, 2).contiguous()


def neural_forward(fit: dict[str, Any], inputs):
    """Outputs ``(n, S)`` (standardised targets) of the networks in ``fit`` on prepared inputs
    (projected features for the MLP, :func:`cnn_positions` rows for the CNN); differentiable."""
    import torch

    w1, b1, w2, b2 = fit["w1"], fit["b1"], fit["w2"], fit["b2"]
    if fit["kind"] == "cnn":
        n, c = inputs.shape[0], w1.shape[1]
        # a 1x1 convolution is one matrix product over all (image, position) rows
        hid = torch.relu(torch.einsum("pc,sck->spk", inputs.reshape(-1, c), w1)
                         + b1[:, None, :])
        return torch.einsum("snf,sf->ns", hid.reshape(w1.shape[0], n, -1), w2) + b2
    hid = torch.relu(torch.einsum("nf,sfk->snk", inputs, w1) + b1[:, None, :])
    return torch.einsum("snk,sk->ns", hid, w2) + b2


def apply_neural(fit: dict[str, Any], x: np.ndarray) -> np.ndarray:
    """Predictions ``(m, S)`` of a :func:`fit_neural` read-out on raw features ``x``."""
    import torch

    xs = (np.asarray(x, dtype=np.float64) - fit["mean"]) / fit["scale"]
    if fit["kind"] == "cnn":
        inputs = cnn_positions(torch.as_tensor(xs, dtype=torch.float32), fit["shape"],
                               fit["side"])
    else:
        if fit["vt"] is not None:
            xs = xs @ fit["vt"].T
        inputs = torch.as_tensor(xs, dtype=torch.float32)
    with torch.no_grad():
        predicted = neural_forward(fit, inputs).numpy().astype(np.float64)
    return predicted * fit["ysd"] + fit["ym"]


def _neural(kind: str, x, y, test, hidden: int, seed: int,
            feature_shape: tuple[int, ...] | None) -> tuple[np.ndarray, dict[str, Any]]:
    fit = fit_neural(kind, x, y, hidden, seed, feature_shape)
    return apply_neural(fit, test), dict(fit["details"])


def fit_predict(mapping: str, x: np.ndarray, y: np.ndarray, test: np.ndarray, *,
                lasso_alpha: float | None = None, hidden_units: int = 128, seed: int = 0,
                feature_shape: tuple[int, ...] | None = None,
                ridge_alphas=RIDGE_ALPHAS) -> tuple[np.ndarray, dict[str, Any]]:
    """Fit ``mapping`` on ``(x, y)`` and predict ``test``.

    Parameters
    ----------
    mapping : {"ols", "ridge", "lasso", "mlp", "cnn"}
    x, y : numpy.ndarray
        ``(n, F)`` features and ``(n, S)`` targets of the training images.
    test : numpy.ndarray
        ``(m, F)`` features of the images to predict.
    lasso_alpha : float
        Required for ``lasso``.
    hidden_units, seed : int
        MLP/CNN width and seed.
    feature_shape : tuple, optional
        ``(C, H, W)`` of the features, for ``cnn``.

    Returns
    -------
    predictions : numpy.ndarray
        ``(m, S)``.
    details : dict
        Chosen hyper-parameters and notes.
    """
    x = np.asarray(x, dtype=np.float64)
    test = np.asarray(test, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64).reshape(len(x), -1)
    if x.ndim != 2 or test.ndim != 2 or x.shape[1] != test.shape[1]:
        raise MappingError(f"features must be (n, F) and (m, F); found {x.shape} and "
                           f"{test.shape}")
    if not (np.isfinite(x).all() and np.isfinite(y).all() and np.isfinite(test).all()):
        raise MappingError("features or targets hold NaN or infinite values")
    if mapping == "ols":
        return _ols(x, y, test), {}
    if mapping == "ridge":
        return _ridge(x, y, test, ridge_alphas)
    if mapping == "lasso":
        if lasso_alpha is None:
            raise MappingError("lasso needs lasso_alpha (choose it with choose_lasso_alpha)")
        return _lasso(x, y, test, float(lasso_alpha))
    if mapping in ("mlp", "cnn"):
        return _neural(mapping, x, y, test, int(hidden_units), int(seed), feature_shape)
    raise MappingError(f"unknown mapping {mapping!r}; choose one of ols, ridge, lasso, mlp, cnn")
