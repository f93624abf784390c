"""SMAC-style random forest surrogate: fit, predict mean and variance (C kernels).

The forest is the one of SPEC.md ("Random forest and EI"): ``n_trees`` regression trees, each
on a bootstrap sample of the rows, all features tried at every split by default, squared-error
splits with thresholds halfway between neighbouring values, grown until pure (or until
``min_samples_split`` / ``min_samples_leaf`` / ``max_depth`` stop them).  The predicted mean is
the average of the trees' predictions, the variance the variance across trees (ddof 0), plus
the mean of the leaves' own variances with ``variance="total"``.

Exact rules (also in ``csrc/lc_forest.h``): tree ``t`` draws from its own generator seeded with
``seed64 + t``; among exactly equal split gains the lowest threshold of the lowest feature index
wins (scikit-learn visits features in a random order instead); ``min_samples_*`` count distinct
rows, as scikit-learn does with bootstrap weights.
"""

from __future__ import annotations

import numbers
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from lcore._rng import SeedLike, as_seed_sequence

__all__ = ["RandomForest"]

_NODE_FIELDS = ("feature", "left", "right", "threshold", "value", "leaf_var")


def _check_X(X, name: str = "X", n_features: int | None = None) -> np.ndarray:
    arr = np.asarray(X)
    if arr.ndim != 2:
        raise ValueError(
            f"{name} must be a 2-D array (n_rows, n_features), got shape {arr.shape}"
        )
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
        raise ValueError(f"{name} must hold numbers, got dtype {arr.dtype}")
    if n_features is not None and arr.shape[1] != n_features:
        raise ValueError(
            f"{name} must have {n_features} columns (the forest was fitted on "
            f"{n_features} features), got {arr.shape[1]}"
        )
    arr = np.ascontiguousarray(arr, dtype=np.float64)
    if arr.size and not np.isfinite(arr).all():
        bad = np.argwhere(~np.isfinite(arr))[0]
        raise ValueError(
            f"{name} must be finite, got {arr[tuple(bad)]} at row {bad[0]}, column {bad[1]}"
        )
    return arr


def _check_y(y, n_rows: int, name: str = "y") -> np.ndarray:
    arr = np.asarray(y)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array, got shape {arr.shape}")
    if arr.shape[0] != n_rows:
        raise ValueError(
            f"{name} must have one value per row of X ({n_rows}), got {arr.shape[0]}"
        )
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
        raise ValueError(f"{name} must hold numbers, got dtype {arr.dtype}")
    arr = np.ascontiguousarray(arr, dtype=np.float64)
    if not np.isfinite(arr).all():
        i = int(np.flatnonzero(~np.isfinite(arr))[0])
        raise ValueError(f"{name} must be finite, got {arr[i]} at index {i}")
    return arr


def _check_int(value, name: str, lo: int, hi: int | None = None) -> int:
    ok = isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))
    if not ok or value < lo or (hi is not None and value > hi):
        rng = f"[{lo}, {hi}]" if hi is not None else f">= {lo}"
        raise ValueError(f"{name} must be an int {rng}, got {value!r}")
    return int(value)


def resolve_max_features(max_features, n_features: int) -> int:
    """Features tried per split: a fraction in (0, 1] of ``n_features`` (at least 1), an int
    in [1, n_features], or None (all)."""
    if max_features is None:
        return n_features
    if isinstance(max_features, numbers.Integral) and not isinstance(max_features, bool):
        return _check_int(max_features, "max_features", 1, n_features)
    if isinstance(max_features, numbers.Real) and 0.0 < float(max_features) <= 1.0:
        return max(1, int(float(max_features) * n_features))
    raise ValueError(
        "max_features must be a float in (0, 1], an int in "
        f"[1, {n_features}] or None, got {max_features!r}"
    )


_INT32_MAX = 2**31 - 1


def check_forest_params(n_trees, min_samples_split, min_samples_leaf, max_depth, variance,
                        max_features, bootstrap=True) -> None:
    """Validate the forest settings shared by :class:`RandomForest` and the rf-ei chooser.

    This is the one place that bounds them: every count the C kernels take is a 32-bit int,
    so each is checked against its range here (a larger value than rows exist simply makes
    every node a leaf, or every feature tried)."""
    _check_int(n_trees, "n_trees", 1, 1 << 20)
    _check_int(min_samples_split, "min_samples_split", 2, _INT32_MAX)
    _check_int(min_samples_leaf, "min_samples_leaf", 1, _INT32_MAX)
    if max_depth is not None:
        _check_int(max_depth, "max_depth", 1, _INT32_MAX)
    if variance not in ("tree", "total"):
        raise ValueError(f"variance must be 'tree' or 'total', got {variance!r}")
    if max_features is not None and not (
        (isinstance(max_features, numbers.Integral) and not isinstance(max_features, bool)
         and 1 <= max_features <= _INT32_MAX)
        or (isinstance(max_features, numbers.Real) and not isinstance(max_features, bool)
            and 0.0 < float(max_features) <= 1.0)
    ):
        raise ValueError(
            f"max_features must be a float in (0, 1], an int in [1, {_INT32_MAX}] or None, "
            f"got {max_features!r}"
        )
    if not isinstance(bootstrap, (bool, np.bool_)):
        raise ValueError(f"bootstrap must be True or False, got {bootstrap!r}")


# |y| (and |node value|) above this is computed in units of a power of two (exact), so that
# the split search's squared sums and the variance sums stay finite for any finite y.
_BIG = 2.0**400
# trees fitted per call of the kernel (bounds the scratch node arrays of one call)
_FIT_CHUNK = 64


def _scale_exponent(amax: float) -> int:
    """0 when amax <= 2**400, else e with amax * 2**-e in [0.5, 1)."""
    if not amax > _BIG:
        return 0
    return int(np.frexp(amax)[1])


_NODE_DTYPES = {"feature": np.int32, "left": np.int32, "right": np.int32,
                "threshold": np.float64, "value": np.float64, "leaf_var": np.float64,
                "offset": np.int64}
_WHAT = {1: "feature", 2: "left", 3: "right", 4: "threshold", 5: "offset"}
_WHY = {1: "an int in [0, n_features - 1] at an internal node, -1 at a leaf",
        2: "an index after the node within its tree", 3: "an index after the node within its tree",
        4: "a number that is not NaN", 5: "0 for the first tree, then strictly increasing "
        "and below the node count"}


def check_nodes(nodes, n_features: int) -> dict:
    """Check a forest's node arrays (``RandomForest.nodes_``) before the kernels walk them.

    The arrays are public and may have been edited or replaced: their dtypes, shapes and
    structure (features in range, children after their node inside its tree, offsets) are
    checked, so that no edit can make a prediction read outside them.

    Returns
    -------
    dict
        The arrays, C-contiguous with the kernels' dtypes.
    """
    from lcore._core import _forest

    if not isinstance(nodes, dict):
        raise ValueError(f"nodes_ must be a dict of numpy arrays, got {type(nodes).__name__}")
    out = {}
    for name, dt in _NODE_DTYPES.items():
        arr = nodes.get(name)
        if not isinstance(arr, np.ndarray) or arr.ndim != 1 or arr.dtype != dt:
            got = (f"shape {arr.shape}, dtype {arr.dtype}" if isinstance(arr, np.ndarray)
                   else repr(type(arr).__name__))
            raise ValueError(
                f"nodes_[{name!r}] must be a 1-D numpy array of dtype {np.dtype(dt).name}, "
                f"got {got}"
            )
        out[name] = np.ascontiguousarray(arr)
    n_total = out["feature"].shape[0]
    for name in _NODE_FIELDS:
        if out[name].shape[0] != n_total:
            raise ValueError(
                f"nodes_[{name!r}] must have one entry per node ({n_total}, as "
                f"nodes_['feature']), got {out[name].shape[0]}"
            )
    if out["offset"].shape[0] < 1:
        raise ValueError("nodes_['offset'] must hold one entry per tree, got none")
    bad, what = _forest.check_nodes(out, int(n_features))
    if bad >= 0:
        field = _WHAT.get(what, "offset")
        if what == 5:
            raise ValueError(
                f"nodes_['offset'] must be {_WHY[5]} ({n_total}), got a bad offset at tree "
                f"{bad}: {out['offset'].tolist()[:8]}..."
            )
        raise ValueError(
            f"nodes_[{field!r}][{bad}] must be {_WHY[what]}, got {out[field][bad]!r} "
            f"(node {bad} is not a sound node of a forest on {n_features} features)"
        )
    return out


class RandomForest:
    """Regression forest with mean and variance predictions (SMAC style, C kernels).

    Parameters
    ----------
    n_trees : int
        Number of trees (the paper: 50).
    max_features : float, int or None
        Features tried at every split: a fraction of them (1.0 = all, the default), a count,
        or None (all).  Features are then drawn per node from the tree's generator.
    min_samples_split, min_samples_leaf : int
        Distinct rows a node needs to be split / a leaf needs to keep (2 and 1).
    max_depth : int or None
        Depth limit (None: grow until pure).
    bootstrap : bool
        Fit each tree on a bootstrap sample (True) or on every row once.
    variance : {"tree", "total"}
        ``"tree"``: variance of the trees' predictions (ddof 0); ``"total"``: plus the mean of
        the leaves' own variances (law of total variance).
    seed : int, numpy SeedSequence or Generator, optional
        Turned into one 64-bit forest seed per :meth:`fit` (an int or SeedSequence gives the
        same forest every time; a Generator advances).
    n_jobs : int
        Threads that fit disjoint groups of trees; the forest is the same for any value.

    Attributes
    ----------
    nodes_ : dict of numpy arrays
        The fitted trees, all trees' nodes concatenated: ``feature`` (int32, -1 at leaves),
        ``left``, ``right`` (int32, relative to the tree's first node), ``threshold``,
        ``value``, ``leaf_var`` (float64), and ``offset`` (int64, each tree's first node).
    n_nodes_, depth_ : numpy arrays (n_trees,)
        Node count and depth of each tree.
    seed64_ : int
        The 64-bit seed of the last fit.
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np, lcore
    >>> X = np.random.default_rng(0).random((50, 3)); y = X[:, 0] ** 2
    >>> rf = lcore.RandomForest(n_trees=50, seed=0).fit(X, y)
    >>> mean, var = rf.predict(X[:5], return_var=True)
    """

    def __init__(
        self,
        n_trees: int = 50,
        *,
        max_features: float | int | None = 1.0,
        min_samples_split: int = 2,
        min_samples_leaf: int = 1,
        max_depth: int | None = None,
        bootstrap: bool = True,
        variance: str = "tree",
        seed: SeedLike = None,
        n_jobs: int = 1,
    ) -> None:
        check_forest_params(n_trees, min_samples_split, min_samples_leaf, max_depth, variance,
                            max_features, bootstrap)
        _check_int(n_jobs, "n_jobs", 1, 1024)
        self.n_trees = int(n_trees)
        self.max_features = max_features
        self.min_samples_split = int(min_samples_split)
        self.min_samples_leaf = int(min_samples_leaf)
        self.max_depth = None if max_depth is None else int(max_depth)
        self.bootstrap = bool(bootstrap)
        self.variance = variance
        self.seed = seed
        self.n_jobs = int(n_jobs)

    def __repr__(self) -> str:
        return (
            f"RandomForest(n_trees={self.n_trees}, max_features={self.max_features!r}, "
            f"min_samples_split={self.min_samples_split}, "
            f"min_samples_leaf={self.min_samples_leaf}, max_depth={self.max_depth}, "
            f"bootstrap={self.bootstrap}, variance={self.variance!r})"
        )

    # ------------------------------------------------------------------------------------
    def fit(self, X, y, *, seed64: int | None = None) -> RandomForest:
        """Fit the forest.

        Parameters
        ----------
        X : array_like, shape (n_rows, n_features)
            Finite features, n_rows >= 2.
        y : array_like, shape (n_rows,)
            Finite targets.
        seed64 : int, optional
            A raw 64-bit forest seed (tree t uses ``lc_rng_seed64(seed64 + t)``) instead of
            one drawn from ``seed``.  The rf-ei chooser fits with ``seed64 = rng.next()``, so
            ``fit(X_all[seen_rows], y_seen, seed64=s).predict(X_all, return_var=True)`` is
            bit-identical to the mean and variance the chooser used.

        Returns
        -------
        self
        """
        from lcore._core import _forest

        X = _check_X(X)
        if X.shape[0] < 2:
            raise ValueError(f"X must have at least 2 rows to fit a forest, got {X.shape[0]}")
        if X.shape[1] < 1:
            raise ValueError("X must have at least 1 feature column, got 0")
        y = _check_y(y, X.shape[0])
        if seed64 is None:
            ss = as_seed_sequence(self.seed)
            seed64 = int(ss.generate_state(1, dtype=np.uint64)[0])
        elif (
            isinstance(seed64, (bool, np.bool_))
            or not isinstance(seed64, numbers.Integral)
            or not 0 <= seed64 < 2**64
        ):
            raise ValueError(f"seed64 must be an int in [0, 2**64 - 1], got {seed64!r}")
        d = X.shape[1]
        mf = resolve_max_features(self.max_features, d)
        args = (self.n_trees, 0 if self.max_depth is None else self.max_depth,
                self.min_samples_split, self.min_samples_leaf, mf, self.bootstrap, int(seed64))
        # huge |y|: fit in units of 2**e (exact scaling, the same splits), values scaled back
        e = _scale_exponent(float(np.max(np.abs(y))))
        if e:
            y = np.ldexp(y, -e)
        # groups of at most _FIT_CHUNK trees (each call's scratch holds 2 n - 1 nodes a tree)
        bounds = list(range(0, self.n_trees, _FIT_CHUNK)) + [self.n_trees]
        if self.n_jobs > 1:
            per = -(-self.n_trees // min(self.n_jobs, self.n_trees))
            step = min(per, _FIT_CHUNK)
            bounds = list(range(0, self.n_trees, step)) + [self.n_trees]
        ranges = list(zip(bounds[:-1], bounds[1:]))
        n_jobs = min(self.n_jobs, len(ranges))
        if n_jobs == 1:
            parts = [_forest.fit(X, y, *args, b0, b1) for b0, b1 in ranges]
        else:
            with ThreadPoolExecutor(n_jobs) as pool:
                parts = list(pool.map(lambda b: _forest.fit(X, y, *args, b[0], b[1]), ranges))
        nodes = {f: np.concatenate([p[f] for p in parts]) for f in _NODE_FIELDS}
        if e:
            nodes["value"] = np.ldexp(nodes["value"], e)
            with np.errstate(over="ignore"):  # a variance beyond 1.8e308 is inf
                nodes["leaf_var"] = np.ldexp(nodes["leaf_var"], 2 * e)
        counts = np.concatenate([p["n_nodes"] for p in parts]).astype(np.int64)
        nodes["offset"] = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
        for arr in nodes.values():
            arr.flags.writeable = False  # read-only; predict checks them anyway
        self.nodes_ = nodes
        self.n_nodes_ = counts.astype(np.int32)
        self.depth_ = np.concatenate([p["depth"] for p in parts]).astype(np.int32)
        self.seed64_ = int(seed64)
        self.n_features_in_ = d
        return self

    def _fitted(self) -> dict:
        nodes = getattr(self, "nodes_", None)
        d = getattr(self, "n_features_in_", None)
        if nodes is None or d is None:
            raise ValueError("this RandomForest is not fitted yet: call fit(X, y) first")
        return check_nodes(nodes, d)

    def _predict(self, X, return_var: bool, best_xi=None):
        """The kernels' mean (var) (EI) for X, with values beyond 2**400 scaled (exactly)."""
        from lcore._core import _forest

        nodes = self._fitted()
        X = _check_X(X, n_features=self.n_features_in_)
        total = self.variance == "total"
        e = _scale_exponent(float(np.max(np.abs(nodes["value"]))))
        if not e:
            return _forest.predict(nodes, X, return_var, total, 0, best_xi)
        nodes = dict(nodes, value=np.ldexp(nodes["value"], -e),
                     leaf_var=np.ldexp(nodes["leaf_var"], -2 * e))
        bx = None if best_xi is None else (np.ldexp(best_xi[0], -e), np.ldexp(best_xi[1], -e))
        out = _forest.predict(nodes, X, True, total, 0, bx)
        with np.errstate(over="ignore"):  # beyond 1.8e308: inf, never NaN
            mean, var = np.ldexp(out[0], e), np.ldexp(out[1], 2 * e)
            res = (mean, var) if return_var else (mean,)
            if best_xi is not None:
                res = res + (np.ldexp(out[2], e),)
        return res if len(res) > 1 else res[0]

    def predict(self, X, return_var: bool = False):
        """Mean (and variance) of the forest's predictions.

        Parameters
        ----------
        X : array_like, shape (m, n_features)
        return_var : bool
            Also return the variance (``variance`` setting).

        Returns
        -------
        mean : ndarray, shape (m,)
        var : ndarray, shape (m,), only with ``return_var=True``
        """
        return self._predict(X, bool(return_var))

    def ei(self, X, best: float, xi: float = 0.0, return_pred: bool = False):
        """Expected improvement over ``best`` (maximisation) of every row of X, in one call.

        The same numbers as ``lcore.acquisition.ei(mean, np.sqrt(var), best, xi)`` on
        :meth:`predict`'s mean and variance, bit for bit, without the per-tree predictions
        in between.

        Parameters
        ----------
        X : array_like, shape (m, n_features)
        best : float
            Incumbent (finite).
        xi : float
            Exploration margin (finite, default 0).
        return_pred : bool
            Also return the mean and variance.

        Returns
        -------
        ei : ndarray, shape (m,)
            Or ``(ei, mean, var)`` with ``return_pred=True``.
        """
        from lcore.acquisition import _scalar

        bx = (_scalar(best, "best"), _scalar(xi, "xi"))
        mean, var, ei = self._predict(X, True, bx)
        return (ei, mean, var) if return_pred else ei

    def predict_trees(self, X) -> np.ndarray:
        """Each tree's prediction, shape (m, n_trees)."""
        from lcore._core import _forest

        nodes = self._fitted()
        return _forest.predict_trees(nodes, _check_X(X, n_features=self.n_features_in_))

    def apply(self, X) -> np.ndarray:
        """Leaf index (relative to its tree's first node) of every row in every tree,
        shape (m, n_trees)."""
        from lcore._core import _forest

        nodes = self._fitted()
        return _forest.apply(nodes, _check_X(X, n_features=self.n_features_in_))
