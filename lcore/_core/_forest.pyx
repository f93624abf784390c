# cython: language_level=3
"""Bindings of csrc/lc_forest.h and csrc/lc_acq.h (no validation: lcore.forest,
lcore.acquisition and lcore.choosers validate)."""
import numpy as np

from libc.stdint cimport int32_t, int64_t, uint8_t, uint64_t
from libc.string cimport memcpy

from lcore._core.lc_acq cimport (
    lc_ei_array, lc_forest_predict_set, lc_forest_predict_set_bytes, lc_pi_array,
    lc_rfei_bytes, lc_rfei_choose, lc_rfei_ctx, lc_rfei_prepare,
    lc_rfei_score, lc_rfei_threads_available, lc_ucb_array,
)
from lcore._core.lc_forest cimport (
    lc_forest, lc_forest_apply, lc_forest_check, lc_forest_fit, lc_forest_fit_workspace_bytes,
    lc_forest_max_nodes, lc_forest_params, lc_forest_predict, lc_forest_predict_trees,
)
from lcore._core.lc_rng cimport lc_rng, lc_rng_seed4

NODE_FIELDS = ("feature", "left", "right", "threshold", "value", "leaf_var")


cdef lc_forest_params _params(int n_trees, int max_depth, int min_samples_split,
                              int min_samples_leaf, int max_features, bint bootstrap):
    cdef lc_forest_params p
    p.n_trees = n_trees
    p.max_depth = max_depth
    p.min_samples_split = min_samples_split
    p.min_samples_leaf = min_samples_leaf
    p.max_features = max_features
    p.bootstrap = 1 if bootstrap else 0
    return p


def fit(const double[:, ::1] X, const double[::1] y, int n_trees, int max_depth,
        int min_samples_split, int min_samples_leaf, int max_features, bint bootstrap,
        uint64_t seed64, int t_begin, int t_end):
    """Fit trees t_begin..t_end-1; returns a dict of compact node arrays for them plus
    ``offset`` (first slot of each tree, relative), ``n_nodes`` and ``depth``."""
    cdef int64_t n = X.shape[0]
    cdef int d = <int>X.shape[1]
    cdef int64_t cap = lc_forest_max_nodes(n)
    cdef int n_fit = t_end - t_begin
    cdef lc_forest_params p = _params(n_trees, max_depth, min_samples_split,
                                      min_samples_leaf, max_features, bootstrap)
    feature = np.empty(n_fit * cap, dtype=np.int32)
    left = np.empty(n_fit * cap, dtype=np.int32)
    right = np.empty(n_fit * cap, dtype=np.int32)
    threshold = np.empty(n_fit * cap, dtype=np.float64)
    value = np.empty(n_fit * cap, dtype=np.float64)
    leaf_var = np.empty(n_fit * cap, dtype=np.float64)
    # slot arrays indexed by tree number t (only t_begin..t_end-1 are used)
    n_nodes = np.zeros(t_end, dtype=np.int32)
    depth = np.zeros(t_end, dtype=np.int32)
    offset = np.zeros(t_end, dtype=np.int64)
    offset[t_begin:] = (np.arange(n_fit, dtype=np.int64) * cap)
    work = np.empty(lc_forest_fit_workspace_bytes(n, d) // 8 + 1, dtype=np.float64)
    cdef int32_t[::1] fe = feature, le = left, ri = right, nn = n_nodes, de = depth
    cdef double[::1] th = threshold, va = value, lv = leaf_var, wk = work
    cdef int64_t[::1] of = offset
    cdef lc_forest f
    f.feature = &fe[0]
    f.left = &le[0]
    f.right = &ri[0]
    f.threshold = &th[0]
    f.value = &va[0]
    f.leaf_var = &lv[0]
    f.n_nodes = &nn[0]
    f.depth = &de[0]
    f.offset = &of[0]
    with nogil:
        lc_forest_fit(&X[0, 0], &y[0], n, d, &p, seed64, t_begin, t_end, &f, &wk[0])
    counts = n_nodes[t_begin:t_end].astype(np.int64)
    keep = np.concatenate([np.arange(k, dtype=np.int64) + i * cap for i, k in enumerate(counts)])
    out = {
        "feature": feature[keep], "left": left[keep], "right": right[keep],
        "threshold": threshold[keep], "value": value[keep], "leaf_var": leaf_var[keep],
    }
    offs = np.zeros(n_fit, dtype=np.int64)
    offs[1:] = np.cumsum(counts)[:n_fit - 1]
    out["offset"] = offs
    out["n_nodes"] = n_nodes[t_begin:t_end].copy()
    out["depth"] = depth[t_begin:t_end].copy()
    return out


cdef lc_forest _view(const int32_t[::1] fe, const int32_t[::1] le, const int32_t[::1] ri,
                     const double[::1] th, const double[::1] va, const double[::1] lv,
                     const int64_t[::1] of):
    # the kernels only read these (the arrays may be read-only)
    cdef lc_forest f
    f.feature = <int32_t *>&fe[0]
    f.left = <int32_t *>&le[0]
    f.right = <int32_t *>&ri[0]
    f.threshold = <double *>&th[0]
    f.value = <double *>&va[0]
    f.leaf_var = <double *>&lv[0]
    f.offset = <int64_t *>&of[0]
    f.n_nodes = NULL
    f.depth = NULL
    return f


def check_nodes(nodes: dict, int d):
    """lc_forest_check: (-1, 0) for a sound forest, else (first bad slot, what)."""
    cdef lc_forest f = _view(nodes["feature"], nodes["left"], nodes["right"],
                             nodes["threshold"], nodes["value"], nodes["leaf_var"],
                             nodes["offset"])
    cdef int n_trees = <int>len(nodes["offset"])
    cdef int64_t n_total = len(nodes["feature"])
    cdef int what = 0
    cdef int64_t bad
    with nogil:
        bad = lc_forest_check(&f, n_trees, n_total, d, &what)
    return bad, what


# rows from which the whole-set path is used (fewer: the per-row walk; both give the same bits)
SET_MIN_ROWS = 1024


def predict(nodes: dict, const double[:, ::1] X, bint return_var, bint variance_total,
            int mode=0, best_xi=None):
    """Mean (and variance) of the forest ``nodes`` (checked) for the rows of X; with
    ``best_xi = (best, xi)`` also EI, returned last.  mode 0: the whole-set path from
    SET_MIN_ROWS rows on, 1: per-row walk, 2: whole-set path."""
    cdef lc_forest f = _view(nodes["feature"], nodes["left"], nodes["right"],
                             nodes["threshold"], nodes["value"], nodes["leaf_var"],
                             nodes["offset"])
    cdef int n_trees = <int>len(nodes["offset"])
    cdef int64_t n_total = len(nodes["feature"])
    cdef int64_t m = X.shape[0]
    cdef int d = <int>X.shape[1]
    cdef bint want_ei = best_xi is not None
    cdef double bx[2]
    if want_ei:
        bx[0] = best_xi[0]
        bx[1] = best_xi[1]
    mean = np.empty(m, dtype=np.float64)
    var = np.empty(m, dtype=np.float64)
    ei = np.empty(m if want_ei else 1, dtype=np.float64)
    cdef double[::1] mu = mean, va = var, e = ei
    cdef bint done = False
    cdef bint need_var = return_var or want_ei
    cdef double[::1] wkv
    if m > 0 and (mode == 2 or (mode == 0 and m >= SET_MIN_ROWS)):
        work = np.empty(lc_forest_predict_set_bytes(m, d, n_total) // 8 + 1, dtype=np.float64)
        wkv = work
        with nogil:
            done = lc_forest_predict_set(&f, n_trees, n_total, &X[0, 0], m, d,
                                         variance_total, &mu[0], &va[0], bx,
                                         &e[0] if want_ei else NULL,
                                         &wkv[0]) != 0
    if m > 0 and not done:
        with nogil:
            lc_forest_predict(&f, n_trees, &X[0, 0], m, d, variance_total, &mu[0],
                              &va[0] if need_var else NULL)
        if want_ei:
            ei = acquisition("ei", mean, np.sqrt(var), bx[0], bx[1])
    out = (mean, var) if return_var else (mean,)
    if want_ei:
        out = out + (ei[:m],)
    return out if len(out) > 1 else out[0]


def predict_trees(nodes: dict, const double[:, ::1] X):
    """Per-tree predictions, shape (m, n_trees)."""
    cdef lc_forest f = _view(nodes["feature"], nodes["left"], nodes["right"],
                             nodes["threshold"], nodes["value"], nodes["leaf_var"],
                             nodes["offset"])
    cdef int n_trees = <int>len(nodes["offset"])
    cdef int64_t m = X.shape[0]
    cdef int d = <int>X.shape[1]
    out = np.empty((m, n_trees), dtype=np.float64)
    cdef double[:, ::1] o = out
    if m > 0:
        with nogil:
            lc_forest_predict_trees(&f, n_trees, &X[0, 0], m, d, &o[0, 0])
    return out


def apply(nodes: dict, const double[:, ::1] X):
    """Leaf slot per row and tree, shape (m, n_trees)."""
    cdef lc_forest f = _view(nodes["feature"], nodes["left"], nodes["right"],
                             nodes["threshold"], nodes["value"], nodes["leaf_var"],
                             nodes["offset"])
    cdef int n_trees = <int>len(nodes["offset"])
    cdef int64_t m = X.shape[0]
    cdef int d = <int>X.shape[1]
    out = np.empty((m, n_trees), dtype=np.int32)
    cdef int32_t[:, ::1] o = out
    if m > 0:
        with nogil:
            lc_forest_apply(&f, n_trees, &X[0, 0], m, d, &o[0, 0])
    return out


def acquisition(str kind, const double[::1] mu, const double[::1] sigma, double a, double b):
    """kind 'ei' / 'pi': (best, xi) = (a, b); 'ucb': kappa = a."""
    cdef int64_t n = mu.shape[0]
    out = np.empty(n, dtype=np.float64)
    cdef double[::1] o = out
    if n == 0:
        return out
    if kind == "ei":
        with nogil:
            lc_ei_array(&mu[0], &sigma[0], n, a, b, &o[0])
    elif kind == "pi":
        with nogil:
            lc_pi_array(&mu[0], &sigma[0], n, a, b, &o[0])
    else:
        with nogil:
            lc_ucb_array(&mu[0], &sigma[0], n, a, &o[0])
    return out


cdef class RFEIContext:
    """An lc_rfei_ctx prepared for a fixed candidate matrix (see csrc/lc_acq.h)."""
    cdef lc_rfei_ctx ctx
    cdef object mem
    cdef readonly int64_t n_all
    cdef readonly int d
    cdef readonly int64_t max_seen
    cdef readonly bint has_avx2

    def __cinit__(self, const double[:, ::1] X_all, int64_t max_seen, int n_trees,
                  int max_depth, int min_samples_split, int min_samples_leaf,
                  int max_features, bint bootstrap, bint variance_total,
                  int bitset_depth=0, int n_threads=1):
        cdef lc_forest_params p = _params(n_trees, max_depth, min_samples_split,
                                          min_samples_leaf, max_features, bootstrap)
        self.n_all = X_all.shape[0]
        self.d = <int>X_all.shape[1]
        self.max_seen = max_seen
        cdef size_t nbytes = lc_rfei_bytes(self.n_all, self.d, max_seen, &p, bitset_depth,
                                       n_threads)
        self.mem = np.empty(nbytes // 8 + 16, dtype=np.float64)
        cdef double[::1] m = self.mem
        with nogil:
            lc_rfei_prepare(&self.ctx, &m[0], &X_all[0, 0], self.n_all, self.d, max_seen, &p,
                            variance_total, bitset_depth, n_threads)
        self.has_avx2 = self.ctx.use_avx2 != 0

    def choose(self, const int64_t[::1] seen_rows, const double[::1] y_seen,
               const uint8_t[::1] active, double best, double xi, uint64_t seed64,
               uint64_t[::1] tie_state):
        """One lc_rfei_choose; ``tie_state`` (4 words) is advanced in place."""
        cdef lc_rng r
        cdef int64_t row
        lc_rng_seed4(&r, &tie_state[0])
        with nogil:
            row = lc_rfei_choose(&self.ctx, &seen_rows[0], &y_seen[0], seen_rows.shape[0],
                                 &active[0], best, xi, seed64, &r)
        for i in range(4):
            tie_state[i] = r.s[i]
        return row

    def score(self, const int64_t[::1] seen_rows, const double[::1] y_seen,
              const uint8_t[::1] active, double best, double xi, uint64_t seed64):
        """(mean, var, ei) by row; NaN for inactive rows."""
        mean = np.full(self.n_all, np.nan)
        var = np.full(self.n_all, np.nan)
        ei = np.full(self.n_all, np.nan)
        cdef double[::1] mu = mean, va = var, e = ei
        with nogil:
            lc_rfei_score(&self.ctx, &seen_rows[0], &y_seen[0], seen_rows.shape[0],
                          &active[0], best, xi, seed64, &mu[0], &va[0], &e[0])
        return mean, var, ei

    def use_avx2(self, bint on):
        """Split words with AVX2 (when the CPU has it) or with the SSE2 / plain path;
        returns whether AVX2 is now used.  Results are the same either way."""
        if not on:
            self.ctx.use_avx2 = 0
        elif self.has_avx2:
            self.ctx.use_avx2 = 1
        return bool(self.ctx.use_avx2)

    @property
    def n_threads(self):
        """Threads per call (1 where threads are not available)."""
        return self.ctx.n_threads

    def stats(self):
        """Node count, summed and largest tree depth of the last call; ``kept``: seen rows
        whose sorted state it kept from the call before (0: it sorted them all)."""
        return {"nodes": self.ctx.last_nodes, "depth_sum": self.ctx.last_depth_sum,
                "depth_max": self.ctx.last_depth_max, "words": self.ctx.last_words,
                "bitset_depth": self.ctx.bitset_depth, "kept": self.ctx.last_kept}


def threads_available():
    """Whether ``n_threads > 1`` takes effect (POSIX threads; not on Windows)."""
    return lc_rfei_threads_available() != 0
