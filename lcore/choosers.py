"""Choosers: which candidate row a replay evaluates next.

The protocol (what the simulator calls)::

    chooser.needs_features            # bool: does it read the table's unit-cube features?
    chooser.prepare(X_all)            # once per replay (X_all is None when not needed)
    row = chooser.choose(X_seen, y_seen, candidates_mask, rng)

``X_seen`` (n_seen, d) and ``y_seen`` (n_seen,) are the evaluated rows' features and reported
values, ``candidates_mask`` (n_all,) is True for the rows not evaluated yet, ``rng`` is the
repeat's :class:`lcore._rng.PyRng`, and the result is a row index into the table.

Built-ins
---------
``"random"`` (:class:`RandomChooser`)
    ``np.flatnonzero(candidates_mask)[rng.bounded(n_candidates)]``: one draw.
``"rf-ei"`` (:class:`RFEIChooser`)
    With fewer than 2 reported rows it behaves as ``"random"``.  Otherwise it draws
    ``seed64 = rng.next()``, fits the 50-tree forest of :class:`lcore.RandomForest` with that
    seed on the evaluated rows, scores every candidate with EI (incumbent ``best = max(y_seen)``)
    and returns the candidate with the largest EI.  Ties (exactly equal EI): the tied rows are
    counted in increasing row order; with more than one, ONE draw ``k = rng.bounded(count)``
    picks the k-th of them.  The work is one fused C call (``lc_rfei_choose``).
A plain function ``fn(X_seen, y_seen, candidates_mask, rng) -> row`` works too
(:func:`get_chooser` wraps it).
"""

from __future__ import annotations

import abc
import numbers
from typing import Callable

import numpy as np

from lcore.forest import (
    _check_X,
    _check_y,
    _scale_exponent,
    check_forest_params,
    resolve_max_features,
)

__all__ = ["Chooser", "RandomChooser", "RFEIChooser", "FunctionChooser", "get_chooser",
           "rf_ei_step", "CHOOSERS"]

CHOOSERS = ("random", "rf-ei")


def _check_mask(candidates_mask, n_all: int | None = None) -> np.ndarray:
    mask = np.asarray(candidates_mask)
    if mask.ndim != 1:
        raise ValueError(f"candidates_mask must be a 1-D bool array, got shape {mask.shape}")
    if mask.dtype != np.bool_:
        raise ValueError(f"candidates_mask must be a bool array, got dtype {mask.dtype}")
    if n_all is not None and mask.shape[0] != n_all:
        raise ValueError(
            f"candidates_mask must have one entry per table row ({n_all}), "
            f"got {mask.shape[0]}"
        )
    if not mask.any():
        raise ValueError("candidates_mask must have at least one candidate (True), got none")
    return np.ascontiguousarray(mask)


def _check_row(row, mask: np.ndarray, who) -> int:
    n = mask.shape[0]
    if (
        isinstance(row, (bool, np.bool_))
        or not isinstance(row, numbers.Integral)
        or not 0 <= row < n
        or not mask[row]
    ):
        raise ValueError(
            f"chooser {who!r} returned {row!r}, which is not a candidate row "
            f"(an int in [0, {n - 1}] with candidates_mask[row] True)"
        )
    return int(row)


class Chooser(abc.ABC):
    """Base class of choosers (see the module docstring for the protocol)."""

    needs_features: bool = True

    def prepare(self, X_all) -> None:  # noqa: B027 - optional hook, nothing to do by default
        """Called once per replay with the table's features (n_all, d), or None."""

    @abc.abstractmethod
    def choose(self, X_seen, y_seen, candidates_mask, rng) -> int:
        """The row to evaluate next (an index with ``candidates_mask[row]`` True)."""


class RandomChooser(Chooser):
    """Uniformly random candidate: ``flatnonzero(candidates_mask)[rng.bounded(count)]``."""

    needs_features = False

    def __repr__(self) -> str:
        return "RandomChooser()"

    def choose(self, X_seen, y_seen, candidates_mask, rng) -> int:
        mask = _check_mask(candidates_mask)
        idx = np.flatnonzero(mask)
        return int(idx[rng.bounded(idx.shape[0])])


class FunctionChooser(Chooser):
    """Wraps ``fn(X_seen, y_seen, candidates_mask, rng) -> row`` and checks its answer."""

    needs_features = True

    def __init__(self, fn: Callable) -> None:
        if not callable(fn):
            raise ValueError(f"fn must be callable, got {fn!r}")
        self.fn = fn

    def __repr__(self) -> str:
        return f"FunctionChooser({getattr(self.fn, '__name__', self.fn)!r})"

    def choose(self, X_seen, y_seen, candidates_mask, rng) -> int:
        mask = _check_mask(candidates_mask)
        return _check_row(self.fn(X_seen, y_seen, mask.copy(), rng), mask, self.fn)


class RFEIChooser(Chooser):
    """SMAC-style random forest + expected improvement, fused in C.

    Parameters
    ----------
    n_trees : int
        Trees of the forest (the paper: 50).
    xi : float
        EI exploration margin (default 0).
    variance : {"tree", "total"}
        Forest variance (see :class:`lcore.RandomForest`).
    min_samples_split, min_samples_leaf, max_depth, max_features, bootstrap
        As in :class:`lcore.RandomForest`.
    n_threads : int
        Threads of one step (default 1): the trees are fitted and scored in parallel and
        the mean / variance are then summed in tree order, so every pick, score and tie draw
        is the same bit for bit for any value.  Worth it when the replay itself runs on one
        core (``simulate(..., n_jobs=1)``) of an otherwise idle machine; with ``n_jobs``
        workers keep ``n_jobs * n_threads`` within the cores.  On Windows the step runs on
        one thread.
    """

    needs_features = True

    def __init__(
        self,
        n_trees: int = 50,
        xi: float = 0.0,
        variance: str = "tree",
        min_samples_split: int = 2,
        min_samples_leaf: int = 1,
        max_depth: int | None = None,
        max_features: float | int | None = 1.0,
        bootstrap: bool = True,
        n_threads: int = 1,
    ) -> None:
        check_forest_params(n_trees, min_samples_split, min_samples_leaf, max_depth, variance,
                            max_features, bootstrap)
        if (isinstance(n_threads, (bool, np.bool_)) or not isinstance(n_threads, numbers.Integral)
                or not 1 <= n_threads <= 64):
            raise ValueError(
                f"n_threads must be an int between 1 and 64, got {n_threads!r}; results are "
                "the same for any value, only the speed differs"
            )
        self.n_threads = int(n_threads)
        if isinstance(xi, (bool, np.bool_)) or not isinstance(xi, numbers.Real) or not (
            np.isfinite(xi)
        ):
            raise ValueError(f"xi must be a finite real number, got {xi!r}")
        self.n_trees = int(n_trees)
        self.xi = float(xi)
        self.variance = variance
        self.min_samples_split = int(min_samples_split)
        self.min_samples_leaf = int(min_samples_leaf)
        self.max_depth = None if max_depth is None else int(max_depth)
        self.max_features = max_features
        self.bootstrap = bool(bootstrap)
        self._X = None
        self._ctx = None
        self._rows = None

    def __repr__(self) -> str:
        return (
            f"RFEIChooser(n_trees={self.n_trees}, xi={self.xi}, variance={self.variance!r}, "
            f"min_samples_split={self.min_samples_split}, "
            f"min_samples_leaf={self.min_samples_leaf}, max_depth={self.max_depth}, "
            f"max_features={self.max_features!r}, bootstrap={self.bootstrap}, "
            f"n_threads={self.n_threads})"
        )

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_ctx"] = None  # C workspace: rebuilt on first use
        state["_rows"] = None
        return state

    def forest(self, seed=None):
        """An unfitted :class:`lcore.RandomForest` with this chooser's settings."""
        from lcore.forest import RandomForest

        return RandomForest(self.n_trees, max_features=self.max_features,
                            min_samples_split=self.min_samples_split,
                            min_samples_leaf=self.min_samples_leaf, max_depth=self.max_depth,
                            bootstrap=self.bootstrap, variance=self.variance, seed=seed)

    def c_params(self, n_features: int | None = None) -> dict:
        """The settings as the C kernels take them (``lc_forest_params`` fields plus
        ``variance_total`` and ``xi``).  ``n_features`` resolves a fractional
        ``max_features``; without it, "all features" is passed as a large count (the C code
        clamps it to d)."""
        if n_features is not None:
            mf = resolve_max_features(self.max_features, int(n_features))
        elif self.max_features is None or (
            not isinstance(self.max_features, numbers.Integral)
            and float(self.max_features) == 1.0
        ):
            mf = 2**30
        elif isinstance(self.max_features, numbers.Integral):
            mf = int(self.max_features)
        else:
            raise ValueError(
                f"max_features={self.max_features!r} is a fraction: pass n_features to "
                "c_params to turn it into a count"
            )
        return {
            "n_trees": self.n_trees,
            "max_depth": 0 if self.max_depth is None else self.max_depth,
            "min_samples_split": self.min_samples_split,
            "min_samples_leaf": self.min_samples_leaf,
            "max_features": mf,
            "bootstrap": int(self.bootstrap),
            "variance_total": int(self.variance == "total"),
            "xi": self.xi,
            "n_threads": self.n_threads,
        }

    # ------------------------------------------------------------------------------------
    def prepare(self, X_all) -> None:
        """Fix the candidate matrix (n_all, d) for a replay; the C context is built lazily."""
        if X_all is None:
            raise ValueError("the rf-ei chooser needs the table's features X_all, got None")
        X = _check_X(X_all, "X_all")
        if X.shape[0] < 1 or X.shape[1] < 1:
            raise ValueError(f"X_all must have at least 1 row and 1 column, got {X.shape}")
        self._X = X
        self._ctx = None
        self._rows = None

    def _context(self):
        if self._X is None:
            raise ValueError("call prepare(X_all) before choose/step")
        if self._ctx is None:
            from lcore._core import _forest

            p = self.c_params(self._X.shape[1])
            self._ctx = _forest.RFEIContext(
                self._X, self._X.shape[0], p["n_trees"], p["max_depth"],
                p["min_samples_split"], p["min_samples_leaf"], p["max_features"],
                bool(p["bootstrap"]), bool(p["variance_total"]), 0, self.n_threads)
        return self._ctx

    def _check_step(self, seen_rows, y_seen, active):
        n_all = self._X.shape[0] if self._X is not None else None
        rows = np.asarray(seen_rows)
        if rows.ndim != 1 or not np.issubdtype(rows.dtype, np.integer):
            raise ValueError(
                f"seen_rows must be a 1-D int array, got shape {rows.shape}, dtype {rows.dtype}"
            )
        if rows.shape[0] < 1 or (n_all is not None and rows.shape[0] > n_all):
            raise ValueError(
                f"seen_rows must hold between 1 and {n_all} rows, got {rows.shape[0]}"
            )
        if n_all is not None and (rows.min() < 0 or rows.max() >= n_all):
            raise ValueError(
                f"seen_rows must lie in [0, {n_all - 1}], got values in "
                f"[{rows.min()}, {rows.max()}]"
            )
        y = _check_y(y_seen, rows.shape[0], "y_seen")
        mask = _check_mask(active, n_all)
        return np.ascontiguousarray(rows, dtype=np.int64), y, mask

    def _scaled(self, y, best):
        """(y, best, xi, e): beyond 2**400 in size, in units of 2**e (exact, same pick)."""
        e = _scale_exponent(max(float(np.max(np.abs(y))), abs(best), abs(self.xi)))
        if not e:
            return y, best, self.xi, 0
        return np.ldexp(y, -e), float(np.ldexp(best, -e)), float(np.ldexp(self.xi, -e)), e

    def step(self, seen_rows, y_seen, active, best: float, seed64: int, rng) -> int:
        """One fused C step (``lc_rfei_choose``) with a given forest seed; ties draw from
        ``rng`` (a :class:`lcore._rng.PyRng`, advanced in place).  ``best`` is the
        incumbent (a finite number)."""
        from lcore.acquisition import _scalar

        best = _scalar(best, "best")
        ctx = self._context()
        rows, y, mask = self._check_step(seen_rows, y_seen, active)
        y, best, xi, _ = self._scaled(y, best)
        state = np.array(rng.s, dtype=np.uint64)
        row = ctx.choose(rows, y, mask.view(np.uint8), best, xi,
                         int(seed64) & (2**64 - 1), state)
        rng.s = [int(v) for v in state]
        return int(row)

    def scores(self, seen_rows, y_seen, active, best: float, seed64: int):
        """The fused C path's (mean, var, ei) by row, NaN for non-candidates (draws nothing);
        ``best`` as in :meth:`step`."""
        from lcore.acquisition import _scalar

        best = _scalar(best, "best")
        ctx = self._context()
        rows, y, mask = self._check_step(seen_rows, y_seen, active)
        y, best, xi, e = self._scaled(y, best)
        mean, var, ei = ctx.score(rows, y, mask.view(np.uint8), best, xi,
                                  int(seed64) & (2**64 - 1))
        if e:
            with np.errstate(over="ignore"):  # beyond 1.8e308: inf, never NaN
                mean, var, ei = np.ldexp(mean, e), np.ldexp(var, 2 * e), np.ldexp(ei, e)
        return mean, var, ei

    def _rows_of(self, X_seen) -> np.ndarray:
        if self._rows is None:
            self._rows = {row.tobytes(): i for i, row in enumerate(self._X)}
        out = np.empty(X_seen.shape[0], dtype=np.int64)
        for k, row in enumerate(X_seen):
            i = self._rows.get(row.tobytes())
            if i is None:
                raise ValueError(
                    f"X_seen row {k} is not a row of the X_all given to prepare; pass seen_rows"
                )
            out[k] = i
        return out

    def choose(self, X_seen, y_seen, candidates_mask, rng, seen_rows=None) -> int:
        """Pick the next row (see the module docstring).  ``seen_rows`` (the table rows of
        ``X_seen``) saves looking the rows up."""
        if self._X is None:
            raise ValueError("call prepare(X_all) before choose")
        mask = _check_mask(candidates_mask, self._X.shape[0])
        y = np.asarray(y_seen, dtype=np.float64)
        if y.ndim != 1:
            raise ValueError(f"y_seen must be a 1-D array, got shape {y.shape}")
        if y.shape[0] < 2:
            idx = np.flatnonzero(mask)
            return int(idx[rng.bounded(idx.shape[0])])
        if seen_rows is None:
            X_seen = _check_X(X_seen, "X_seen", n_features=self._X.shape[1])
            if X_seen.shape[0] != y.shape[0]:
                raise ValueError(
                    f"X_seen must have one row per value of y_seen ({y.shape[0]}), "
                    f"got {X_seen.shape[0]}"
                )
            seen_rows = self._rows_of(X_seen)
        y = _check_y(y, np.asarray(seen_rows).shape[0], "y_seen")
        seed64 = rng.next()
        return self.step(seen_rows, y, mask, float(y.max()), seed64, rng)


def get_chooser(spec: str | Chooser | Callable, **params) -> Chooser:
    """Turn ``"random"``, ``"rf-ei"`` (with its keyword settings), a :class:`Chooser` or a
    function ``fn(X_seen, y_seen, candidates_mask, rng) -> row`` into a Chooser."""
    if isinstance(spec, str):
        if spec == "random":
            if params:
                raise ValueError(
                    f"the 'random' chooser takes no parameters, got {sorted(params)}"
                )
            return RandomChooser()
        if spec == "rf-ei":
            known = ("n_trees", "xi", "variance", "min_samples_split", "min_samples_leaf",
                     "max_depth", "max_features", "bootstrap", "n_threads")
            unknown = sorted(set(params) - set(known))
            if unknown:
                raise ValueError(
                    f"unknown rf-ei parameter(s) {unknown}; known: {list(known)}"
                )
            return RFEIChooser(**params)
        raise ValueError(f"unknown chooser {spec!r}; known: {list(CHOOSERS)}")
    if params:
        raise ValueError(
            f"parameters {sorted(params)} only go with a named chooser ({list(CHOOSERS)})"
        )
    if isinstance(spec, Chooser) or (callable(getattr(spec, "choose", None))
                                     and not isinstance(spec, (np.generic, np.ndarray))):
        return spec  # a Chooser, or any object following the protocol (duck typing)
    if callable(spec):
        return FunctionChooser(spec)
    raise ValueError(
        f"chooser must be one of {list(CHOOSERS)}, a Chooser or a function "
        f"fn(X_seen, y_seen, candidates_mask, rng) -> row, got {spec!r}"
    )


def rf_ei_step(X_all, seen_rows, y_seen, active, best: float, xi: float, seed64: int,
               tie_state: np.ndarray, **forest_params) -> int:
    """Exactly one ``lc_rfei_choose`` on ``X_all`` (prepared for this call).

    Parameters
    ----------
    X_all : array_like (n_all, d)
    seen_rows : int array (n_seen,), y_seen : float array (n_seen,)
    active : bool array (n_all,)
        Candidates.
    best, xi : float
        Incumbent and EI margin.
    seed64 : int
        The forest seed.
    tie_state : numpy uint64 array (4,)
        State of the tie-breaking generator (xoshiro256**), advanced in place.
    **forest_params
        ``n_trees``, ``variance``, ``min_samples_split``, ... as for :class:`RFEIChooser`.

    Returns
    -------
    int
        The chosen row.
    """
    from lcore._rng import PyRng

    if not (isinstance(tie_state, np.ndarray) and tie_state.dtype == np.uint64
            and tie_state.shape == (4,)):
        raise ValueError(
            f"tie_state must be a numpy uint64 array of shape (4,), got {tie_state!r}"
        )
    chooser = RFEIChooser(xi=xi, **forest_params)
    chooser.prepare(X_all)
    rng = PyRng(tie_state)
    row = chooser.step(seen_rows, y_seen, active, best, seed64, rng)
    tie_state[:] = np.array(rng.s, dtype=np.uint64)
    return row
