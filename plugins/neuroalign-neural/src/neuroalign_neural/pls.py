"""Partial least squares regression, fast and numerically identical to scikit-learn's NIPALS.

scikit-learn's ``PLSRegression(scale=False)`` (what Brain-Score uses) finds each component with a
power iteration on the deflated data: ``x_w <- normalize(X_kᵀ Y_k Y_kᵀ X_k x_w)``, started from
``X_kᵀ y`` for the first non-zero column ``y`` of ``Y_k`` and stopped when two successive weight
vectors differ by less than ``tol`` (squared norm) or after ``max_iter`` steps. Each step costs two
passes over the ``n x p`` data, and all of it is redone for every cross-validation split.

Here the same iteration runs on the small side. With ``C_k = X_kᵀ Y_k`` (``p x q``) and
``M_k = C_kᵀ C_k`` (``q x q``, q = neuroids), the iterate is ``x_w = C_k v / ||C_k v||`` with
``v <- M_k v``; the convergence test ``||x_w - x_w_old||² = 2 - 2 cos`` needs only ``M_k``.
Deflation updates ``C`` and ``M`` by low-rank terms (``C_{k+1} = C_k - (tᵀt) p qᵀ``, exact), so
``X`` is touched twice per component (scores and loadings), and those passes are batched over all
splits as matrix products against one shared, centred float64 copy of ``X``. The cross-products
of every split come from one shared ``XᵀY`` minus the held-out rows. The iterates, the stopping
step and hence the fitted model are those of scikit-learn up to floating-point rounding.

``solver="svd"`` takes the exact dominant singular vector instead (the NIPALS fixed point).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import linalg
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import ThreadpoolController

from .inputs import MetricInputError

__all__ = ["SOLVERS", "FastPLSRegression", "PLSFit", "fit_pls_batch"]

SOLVERS = ("nipals", "svd")
_EPS = np.finfo(np.float64).eps
_THREADPOOLS: ThreadpoolController | None = None
#: power-iteration steps run between two vectorised convergence checks
_CHUNK = 32


#: below this many source entries (stimuli x features) the whole fit runs on one BLAS thread:
#: its largest products take milliseconds, and waking a thread pool for each costs more
SINGLE_THREAD_ENTRIES = 1 << 22


def _one_blas_thread():
    """Context limiting BLAS to one thread (the controller scans libraries once per process)."""
    global _THREADPOOLS
    if _THREADPOOLS is None:
        _THREADPOOLS = ThreadpoolController()
    return _THREADPOOLS.limit(limits=1, user_api="blas")


def blas_threads_for(x0: np.ndarray):
    """Context for a whole fit on ``x0``: one BLAS thread when it is small, else unchanged."""
    from contextlib import nullcontext

    return _one_blas_thread() if x0.size < SINGLE_THREAD_ENTRIES else nullcontext()


@dataclass
class PLSFit:
    """One fitted PLS model, in the coordinates of the shared centred ``X0`` and ``Y0``.

    Predict with ``(X0_rows - x_mean) @ rotations @ y_loadings.T + y_mean``.
    """

    x_mean: np.ndarray
    y_mean: np.ndarray
    rotations: np.ndarray
    y_loadings: np.ndarray
    n_iter: list[int] = field(default_factory=list)
    stopped_early: str | None = None

    @property
    def n_components(self) -> int:
        return self.rotations.shape[1]

    def predict_centred(self, x0_rows: np.ndarray) -> np.ndarray:
        """Predictions for rows of the shared centred ``X0`` (in centred ``Y0`` units)."""
        scores = (x0_rows - self.x_mean) @ self.rotations
        return scores @ self.y_loadings.T + self.y_mean


#: power-iteration steps run between two vectorised convergence checks
_CHUNK = 32


def _power_direction(m: np.ndarray, start: int, max_iter: int, tol: float) -> tuple[np.ndarray, float, int]:
    """scikit-learn's NIPALS power iteration, run on ``M = CᵀC``; returns ``(v, ||Cv||², n_iter)``.

    Iterate ``i`` holds ``v_i = M^i e / ||M^i e||`` (``e``: the start column). scikit-learn stops
    at the first ``i >= 1`` with ``||w_i - w_{i-1}||² = 2 - 2 cos < tol`` (``w_i = C v_i`` unit),
    where ``cos = p(2i) / sqrt(p(2i-1) p(2i+1))`` with the moments ``p(k) = eᵀ M^k e`` up to a
    common scale; when none does it returns ``v_{max_iter-1}`` (its last x-weights).
    """
    return _power_directions([m], [start], max_iter, tol)[0]


def _power_directions(ms: Sequence[np.ndarray], starts: Sequence[int], max_iter: int,
                      tol: float) -> list[tuple[np.ndarray, float, int]]:
    """:func:`_power_direction` of several same-sized ``M`` at once (one per split).

    The unnormalised Krylov vectors ``M^i e`` of every problem are computed ``_CHUNK`` steps at
    a time, one stacked matrix-vector product per step for all problems together (no per-step
    Python arithmetic); the moments of a chunk come from inner products of its vectors, and the
    first step that meets the stopping rule is found in one vectorised test per chunk.
    """
    count, q = len(ms), ms[0].shape[0]
    results: list[tuple[np.ndarray, float, int] | None] = [None] * count
    scales = np.array([float(np.trace(m)) for m in ms])
    todo = []
    for index, (m, start) in enumerate(zip(ms, starts)):
        if not scales[index] > 0:  # M = 0 (nothing left): the caller stops on the zero norm
            v = np.zeros(q)
            v[start] = 1.0
            results[index] = (v, float(m[start, start]), 1)
        else:
            todo.append(index)
    if not todo:
        return results  # type: ignore[return-value]
    # eigenvalues scaled into [0, 1]: a chunk of steps can neither overflow nor underflow much
    stack = np.stack([ms[i] / scales[i] for i in todo])
    krylov = np.zeros((len(todo), _CHUNK + 1, q))
    krylov[np.arange(len(todo)), 0, [starts[i] for i in todo]] = 1.0
    live = np.array(todo)
    base, have = 0, 1  # krylov[:, j] holds M^(base + j) e (up to a positive factor)
    while live.size:
        steps = min(_CHUNK, max_iter - base)  # the check at i needs M^(i+1) e
        for j in range(have - 1, steps):
            np.matmul(stack, krylov[:, j, :, None], out=krylov[:, j + 1, :, None])
        rows = krylov[:, : steps + 1]
        even = np.einsum("sij,sij->si", rows, rows)  # p(2i)
        odd = np.einsum("sij,sij->si", rows[:, :-1], rows[:, 1:])  # p(2i+1)
        with np.errstate(divide="ignore", invalid="ignore"):
            norm2 = odd[:, :steps] / even[:, :steps]
            cosine = even[:, 1:steps] / np.sqrt(odd[:, 1:steps] * odd[:, : steps - 1])
        stop = ~(norm2 > 0.0)
        stop[:, 1:] |= 2.0 - 2.0 * cosine < tol
        if base == 0 and q == 1:
            stop[:, 0] = True
        if base > 0:
            stop[:, 0] = False  # iterate `base` was checked by the previous chunk
        last = base + steps >= max_iter
        keep = []
        for row, index in enumerate(live):
            hits = np.flatnonzero(stop[row])
            if hits.size or last:
                j = int(hits[0]) if hits.size else steps - 1
                v = rows[row, j] / np.sqrt(even[row, j])
                results[index] = (v, float(norm2[row, j]) * scales[index], base + j + 1)
            else:
                keep.append(row)
        if not keep:
            break
        # the next chunk starts from each problem's last two vectors, rescaled by one factor
        factor = 1.0 / np.sqrt(even[keep, steps - 1])
        tail = rows[keep, steps - 1 : steps + 1] * factor[:, None, None]
        stack, live = stack[keep], live[keep]
        krylov = np.zeros((len(keep), _CHUNK + 1, q))
        krylov[:, :2] = tail
        base, have = base + steps - 1, 2
    return results  # type: ignore[return-value]


def _svd_direction(m: np.ndarray) -> tuple[np.ndarray, float, int]:
    """Exact dominant right singular vector of ``C`` (top eigenvector of ``M = CᵀC``)."""
    values, vectors = linalg.eigh(m)
    v = vectors[:, -1]
    return v, float(values[-1]), 1


class _SplitState:
    """The deflation state of one fit, kept in low-rank form.

    ``C_k = C_0 - sum_j (t_jᵀt_j) p_j q_jᵀ`` is never formed; ``M_k = C_kᵀ C_k`` (``q x q``) is
    updated by rank-2 terms; the deflated ``X_k`` and ``Y_k`` are never formed either: products
    with them are products with the centred data minus the components found so far.
    """

    def __init__(self, x0: np.ndarray, y0: np.ndarray, g: np.ndarray, sums: tuple,
                 train: np.ndarray, n_components: int):
        n = x0.shape[0]
        held_out = np.ones(n, dtype=bool)
        held_out[train] = False
        rest = np.flatnonzero(held_out)
        self.train = train
        n_train = len(train)
        x_rest, y_rest = x0[rest], y0[rest]
        self.x_mean = (sums[0] - x_rest.sum(axis=0)) / n_train
        self.y_mean = (sums[1] - y_rest.sum(axis=0)) / n_train
        # X_cᵀ Y_c of the training rows, from the shared product minus the held-out rows
        self.c0 = g - x_rest.T @ y_rest - n_train * np.outer(self.x_mean, self.y_mean)
        self.m = self.c0.T @ self.c0
        # below this ||C_k v||², what is left of the cross-covariance is rounding noise
        self.m_floor = 1e-24 * float(np.trace(self.m))
        # residual sum of squares of every target column, to find exhausted targets
        self.rss = sums[3] - (y_rest * y_rest).sum(axis=0) - n_train * self.y_mean ** 2
        self.x_scale2 = float(sums[2] - (x_rest * x_rest).sum() - n_train * self.x_mean @ self.x_mean)
        p, q = self.c0.shape
        self.w = np.zeros((n_components, p))  # one row per component
        self.p = np.zeros((n_components, p))
        self.q = np.zeros((n_components, q))
        self.t = np.zeros((n_components, n_train))
        self.tt = np.zeros(n_components)
        self.live = np.ones(q, dtype=bool)
        self.k = 0
        self.n_iter: list[int] = []
        self.stopped: str | None = None

    def c_times(self, v: np.ndarray) -> np.ndarray:
        """``C_k v``."""
        k = self.k
        return self.c0 @ v - self.p[:k].T @ (self.tt[:k] * (self.q[:k] @ v))

    def direction_problem(self) -> tuple[np.ndarray, int] | None:
        """``(M_k, start column)`` of the next power iteration, or None (``stopped`` set) when
        every target is exhausted."""
        # as scikit-learn: targets whose residual vanished are set to zero
        exhausted = self.live & (np.sqrt(np.maximum(self.rss, 0.0)) < 10 * _EPS)
        if exhausted.any():
            self.live &= ~exhausted
            self.m[exhausted, :] = 0.0
            self.m[:, exhausted] = 0.0
        if not self.live.any():
            self.stopped = f"target residual is constant after {self.k} components"
            return None
        return self.m, int(np.argmax(self.live))

    def weights_from(self, v: np.ndarray, norm2: float, n_iter: int) -> np.ndarray | None:
        """The next x-weights from the direction ``v`` (``||C_k v||² = norm2``), or None."""
        self.n_iter.append(n_iter)
        if not norm2 > self.m_floor:
            self.stopped = f"no cross-covariance left after {self.k} components"
            return None
        return self.c_times(v * self.live) / np.sqrt(norm2)

    def next_weights(self, solver: str, max_iter: int, tol: float) -> np.ndarray | None:
        """The next x-weights, or None (and ``stopped`` set) when nothing is left to explain."""
        problem = self.direction_problem()
        if problem is None:
            return None
        if solver == "svd":
            return self.weights_from(*_svd_direction(problem[0]))
        return self.weights_from(*_power_direction(problem[0], problem[1], max_iter, tol))

    def deflate(self, w: np.ndarray, t: np.ndarray, xt: np.ndarray, yt: np.ndarray) -> bool:
        """Add the component with weights ``w``, scores ``t``, ``X_cᵀ t`` and ``Y_cᵀ t``."""
        k = self.k
        tt = float(t @ t)
        if not tt > 1e-20 * max(self.x_scale2, np.finfo(float).tiny):
            self.stopped = f"source exhausted (rank {k}) before n_components"
            return False
        overlap = self.t[:k] @ t  # zero in exact arithmetic; kept to mirror explicit deflation
        x_loadings = (xt - self.p[:k].T @ overlap) / tt
        y_loadings = (yt - self.q[:k].T @ overlap) / tt * self.live
        g = self.c0.T @ x_loadings - self.q[:k].T @ (self.tt[:k] * (self.p[:k] @ x_loadings))
        cross = np.outer(g, y_loadings)
        self.m += tt * tt * float(x_loadings @ x_loadings) * np.outer(y_loadings, y_loadings) \
            - tt * (cross + cross.T)
        self.rss -= tt * y_loadings ** 2
        self.w[k], self.p[k], self.q[k], self.t[k], self.tt[k] = w, x_loadings, y_loadings, t, tt
        self.k += 1
        return True

    def result(self) -> PLSFit:
        k = self.k
        w, p = self.w[:k].T, self.p[:k].T
        rotations = w @ linalg.pinv(p.T @ w) if k else np.zeros((w.shape[0], 0))
        return PLSFit(x_mean=self.x_mean, y_mean=self.y_mean, rotations=rotations,
                      y_loadings=self.q[:k].T.copy(), n_iter=list(self.n_iter),
                      stopped_early=self.stopped)


def _next_weights(states: Sequence[_SplitState], solver: str, max_iter: int,
                  tol: float) -> list[np.ndarray | None]:
    """Each state's next x-weights; the NIPALS power iterations of all states run together."""
    if solver == "svd":
        return [s.next_weights(solver, max_iter, tol) for s in states]
    problems = [s.direction_problem() for s in states]
    posed = [(s, p) for s, p in zip(states, problems) if p is not None]
    directions = _power_directions([p[0] for _, p in posed], [p[1] for _, p in posed],
                                   max_iter, tol) if posed else []
    found = {id(s): s.weights_from(*d) for (s, _), d in zip(posed, directions)}
    return [found.get(id(s)) for s in states]


def fit_pls_batch(x0: np.ndarray, y0: np.ndarray, trains: Sequence[np.ndarray], *,
                  n_components: int = 25, max_iter: int = 500, tol: float = 1e-6,
                  solver: str = "nipals") -> list[PLSFit]:
    """Fit one PLS model per set of training rows, sharing all passes over ``x0``.

    Parameters
    ----------
    x0, y0 : numpy.ndarray
        float64 ``(n, p)`` and ``(n, q)``, column-centred over all ``n`` rows (any shift works;
        centring keeps the shared products well conditioned).
    trains : sequence of numpy.ndarray
        Row indices of each fit's training set.
    n_components, max_iter, tol
        As scikit-learn's ``PLSRegression`` (``scale=False``).
    solver : {"nipals", "svd"}
        ``"nipals"`` reproduces scikit-learn's power iteration and stopping rule; ``"svd"`` uses
        the exact dominant singular vector of each deflated cross-covariance.

    Returns
    -------
    list of PLSFit
        One per training set, in order.
    """
    if solver not in SOLVERS:
        raise MetricInputError(f"unknown PLS solver {solver!r}; choose one of {list(SOLVERS)}")
    if not isinstance(n_components, int) or n_components < 1:
        raise MetricInputError(f"n_components must be a positive integer; found {n_components!r}")
    if n_components > x0.shape[1]:
        raise MetricInputError(
            f"PLS n_components={n_components} exceeds the source's {x0.shape[1]} features; pass "
            f"parameters={{'n_components': {x0.shape[1]}}} or a source with more features"
        )
    g = x0.T @ y0
    sums = (x0.sum(axis=0), y0.sum(axis=0), float((x0 * x0).sum()), (y0 * y0).sum(axis=0))
    # the per-split work is matrix-vector sized: a BLAS thread pool only adds contention there
    with _one_blas_thread():
        states = [_SplitState(x0, y0, g, sums, np.asarray(tr), n_components) for tr in trains]
    n = x0.shape[0]
    for _ in range(n_components):
        active = [s for s in states if s.stopped is None]
        with _one_blas_thread():
            weights = _next_weights(active, solver, max_iter, tol)
        pairs = [(s, w) for s, w in zip(active, weights) if w is not None]
        if not pairs:
            break
        # scores of every split in one product against the shared X0
        projected = x0 @ np.column_stack([w for _, w in pairs])
        scores = np.zeros((n, len(pairs)))
        for j, (s, w) in enumerate(pairs):
            k = s.k
            t = projected[s.train, j] - s.x_mean @ w - s.t[:k].T @ (s.p[:k] @ w)
            scores[s.train, j] = t
        back = x0.T @ scores  # X0ᵀ t of every split in one product
        back_y = y0.T @ scores
        with _one_blas_thread():
            for j, (s, w) in enumerate(pairs):
                t = scores[s.train, j]
                total = t.sum()
                s.deflate(w, t, back[:, j] - s.x_mean * total, back_y[:, j] - s.y_mean * total)
    if solver == "nipals" and any(max_iter in s.n_iter for s in states):
        warnings.warn(f"PLS power iteration reached max_iter={max_iter} for some component "
                      "(scikit-learn warns the same way)", ConvergenceWarning, stacklevel=2)
    return [s.result() for s in states]


class FastPLSRegression:
    """scikit-learn-style PLS regression (``scale=False``) computed by :func:`fit_pls_batch`.

    Equal to ``sklearn.cross_decomposition.PLSRegression(n_components, scale=False)`` up to
    floating-point rounding with ``solver="nipals"``, several times faster on wide data.

    Parameters
    ----------
    n_components : int
        Number of PLS components.
    max_iter, tol : int, float
        Power-iteration limits, as scikit-learn's.
    solver : {"nipals", "svd"}
        See :func:`fit_pls_batch`.
    """

    def __init__(self, n_components: int = 25, *, max_iter: int = 500, tol: float = 1e-6,
                 solver: str = "nipals"):
        self.n_components = n_components
        self.max_iter = max_iter
        self.tol = tol
        self.solver = solver

    def get_params(self, deep: bool = True) -> dict:
        return {"n_components": self.n_components, "max_iter": self.max_iter, "tol": self.tol,
                "solver": self.solver}

    def set_params(self, **params) -> FastPLSRegression:
        for name, value in params.items():
            setattr(self, name, value)
        return self

    def fit(self, X, y) -> FastPLSRegression:
        x = np.asarray(X, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        self._1d = y.ndim == 1
        y = y.reshape(len(y), -1)
        self.x_mean_ = x.mean(axis=0)
        self.y_mean_ = y.mean(axis=0)
        (fit,) = fit_pls_batch(x - self.x_mean_, y - self.y_mean_, [np.arange(len(x))],
                               n_components=self.n_components, max_iter=self.max_iter,
                               tol=self.tol, solver=self.solver)
        self.fit_ = fit
        self.coef_ = (fit.rotations @ fit.y_loadings.T).T
        self.intercept_ = self.y_mean_ + fit.y_mean
        self.n_iter_ = fit.n_iter
        return self

    def predict(self, X) -> np.ndarray:
        x0 = np.asarray(X, dtype=np.float64) - self.x_mean_
        prediction = self.fit_.predict_centred(x0) + self.y_mean_
        return prediction.ravel() if self._1d else prediction
