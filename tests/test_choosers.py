"""Choosers: the fused C rf-ei step against forest + EI + tie rule done in Python."""

import pickle

import numpy as np
import pytest

from lcore._core import _forest
from lcore._rng import PyRng
from lcore.acquisition import ei
from lcore.choosers import (
    Chooser,
    FunctionChooser,
    RandomChooser,
    RFEIChooser,
    get_chooser,
    rf_ei_step,
)
from lcore.forest import RandomForest


def _table(n=3000, d=6, seed=0, levels=None):
    rng = np.random.default_rng(seed)
    X = rng.random((n, d))
    if levels:  # a few discrete values per feature: many equal predictions, EI ties
        X = np.floor(X * levels) / levels
    y = np.sin(3 * X[:, 0]) * X[:, 1] + 0.3 * X[:, 2] + 0.05 * rng.standard_normal(n)
    return X, y


def _reference(X, seen, y_seen, active, best, xi, seed64, rng, **params):
    """Forest + EI + tie rule in Python (RandomForest, lcore.acquisition, PyRng)."""
    rf = RandomForest(params.get("n_trees", 50), variance=params.get("variance", "tree"),
                      min_samples_leaf=params.get("min_samples_leaf", 1),
                      max_features=params.get("max_features", 1.0))
    rf.fit(X[seen], y_seen, seed64=seed64)
    mean, var = rf.predict(X, return_var=True)
    e = ei(mean, np.sqrt(var), best, xi)
    idx = np.flatnonzero(active)
    top = e[idx].max()
    tied = idx[e[idx] == top]
    k = rng.bounded(len(tied)) if len(tied) > 1 else 0
    return int(tied[k]), mean, var, e


@pytest.mark.parametrize("n_seen, levels, params", [
    (2, None, {}),
    (20, None, {}),
    (120, None, {"variance": "total"}),
    (60, 3, {}),  # discrete features: ties
    (40, None, {"min_samples_leaf": 3, "max_features": 0.5, "n_trees": 7}),
])
def test_rf_ei_step_equals_python_forest_ei_and_tie_rule(n_seen, levels, params):
    X, y = _table(levels=levels)
    for rep in range(3):
        rng = np.random.default_rng(100 * n_seen + rep)
        seen = rng.choice(X.shape[0], n_seen, replace=False)
        active = np.ones(X.shape[0], dtype=bool)
        active[seen] = False
        best, xi, seed64 = float(y[seen].max()), 0.01 * rep, int(rng.integers(2**63)) * 2 + 1
        state = np.array([rep + 1, 7, 11, 13], dtype=np.uint64)
        ref_rng = PyRng(state.copy())
        row = rf_ei_step(X, seen, y[seen], active, best, xi, seed64, state, **params)
        want, *_ = _reference(X, seen, y[seen], active, best, xi, seed64, ref_rng, **params)
        assert row == want
        np.testing.assert_array_equal(state, np.array(ref_rng.s, dtype=np.uint64))


def test_ties_draw_once_and_only_when_needed():
    X, y = _table(levels=2)  # 2**6 cells: whole groups of candidates share their EI
    chooser = RFEIChooser(n_trees=5)
    chooser.prepare(X)
    seen = np.arange(10)
    active = np.ones(X.shape[0], dtype=bool)
    active[seen] = False
    rng = PyRng([1, 2, 3, 4])
    before = list(rng.s)
    ref = PyRng([1, 2, 3, 4])
    row = chooser.step(seen, y[seen], active, float(y[seen].max()), 99, rng)
    want, _, _, e = _reference(X, seen, y[seen], active, float(y[seen].max()), 0.0, 99, ref,
                               n_trees=5)
    assert row == want
    n_tied = int((e[active] == e[active].max()).sum())
    assert n_tied > 1 and rng.s != before and rng.s == ref.s
    # a unique maximum draws nothing
    only = np.zeros(X.shape[0], dtype=bool)
    only[50] = True
    s = list(rng.s)
    assert chooser.step(seen, y[seen], only, 0.0, 99, rng) == 50
    assert rng.s == s


def _check_scores_along_a_replay(chooser, X, y, rng, n_first, n_add, calls, seed0, xi=0.0):
    """chooser.scores on successive seen sets (each the last plus n_add rows, so the internal
    order adapts between calls) against RandomForest.predict + acquisition.ei, bit for bit."""
    seen = list(rng.choice(X.shape[0], n_first, replace=False))
    for it in range(calls):
        active = np.ones(X.shape[0], dtype=bool)
        active[seen] = False
        best = float(y[seen].max())
        mean, var, e = chooser.scores(seen, y[seen], active, best, seed0 + it)
        rf = chooser.forest().fit(X[seen], y[seen], seed64=seed0 + it)
        m_ref, v_ref = rf.predict(X, return_var=True)
        np.testing.assert_array_equal(mean[active], m_ref[active])
        np.testing.assert_array_equal(var[active], v_ref[active])
        np.testing.assert_array_equal(e[active], ei(m_ref, np.sqrt(v_ref), best, xi)[active])
        assert np.isnan(mean[~active]).all()
        seen += list(rng.choice(np.flatnonzero(active), n_add, replace=False))


def test_c_scores_are_bit_identical_to_forest_predict_and_ei():
    X, y = _table(n=5000, d=9, seed=3)
    for variance in ("tree", "total"):
        chooser = RFEIChooser(variance=variance, xi=0.02)
        chooser.prepare(X)
        _check_scores_along_a_replay(chooser, X, y, np.random.default_rng(4), 30, 40, 6,
                                     1000, xi=0.02)


def test_scores_exact_on_features_that_fill_the_rank_buckets_unevenly():
    """The node ranks come from a bucket table over each feature's sorted values; it must
    count exactly however the values spread: one outlier (every other value in bucket 0),
    +-1e300 (the range overflows: one bucket), heavy ties, a constant feature, -0.0 / 0.0
    and subnormals."""
    rng = np.random.default_rng(11)
    n = 3000
    X = rng.random((n, 7))
    X[0, 0] = 1e12                                   # outlier
    X[:, 1] = np.where(rng.random(n) < 0.5, -1e300, 1e300) * rng.random(n)
    X[:, 2] = np.floor(X[:, 2] * 3)                  # three values
    X[:, 3] = 0.25                                   # constant
    X[:, 4] = np.where(rng.random(n) < 0.5, -0.0, 0.0) + rng.integers(0, 4, n) * 5e-324
    X[:, 5] = -X[:, 5] * 1e-3
    y = np.sin(7 * X[:, 6]) + X[:, 2] + 0.1 * rng.standard_normal(n)
    chooser = RFEIChooser(n_trees=20)
    chooser.prepare(X)
    _check_scores_along_a_replay(chooser, X, y, rng, 40, 300, 4, 500)


@pytest.mark.parametrize("bitset_depth, avx2", [(2, True), (48, False), (1, False)])
def test_deep_fallback_and_simd_paths_give_the_same_scores(bitset_depth, avx2):
    X, y = _table(n=4000, d=5, seed=5)
    seen = np.random.default_rng(6).choice(4000, 200, replace=False).astype(np.int64)
    active = np.ones(4000, dtype=np.uint8)
    active[seen] = 0
    base = _forest.RFEIContext(X, 4000, 20, 0, 2, 1, 5, True, False)
    other = _forest.RFEIContext(X, 4000, 20, 0, 2, 1, 5, True, False, bitset_depth)
    other.use_avx2(avx2)
    for seed64 in (1, 2):
        a = base.score(seen, y[seen], active, 0.5, 0.0, seed64)
        b = other.score(seen, y[seen], active, 0.5, 0.0, seed64)
        for u, v in zip(a, b):
            np.testing.assert_array_equal(u, v)


def test_chooser_never_returns_an_evaluated_row():
    X, y = _table(n=800, d=4, seed=7, levels=4)
    chooser = get_chooser("rf-ei", n_trees=10)
    chooser.prepare(X)
    rng = PyRng([5, 6, 7, 8])
    active = np.ones(800, dtype=bool)
    seen = []
    for _ in range(60):
        row = chooser.choose(X[seen], y[seen], active, rng, seen_rows=np.array(seen, int))
        assert active[row]
        active[row] = False
        seen.append(row)
    # the last candidates too
    active[:] = False
    active[[3, 500]] = True
    for _ in range(2):
        row = chooser.choose(X[seen], y[seen], active, rng)
        assert row in (3, 500) and active[row]
        active[row] = False


def test_fewer_than_two_rows_is_random_and_lookup_equals_seen_rows():
    X, y = _table(n=500, d=3, seed=8)
    mask = np.ones(500, dtype=bool)
    mask[[4, 9]] = False
    c = RFEIChooser(n_trees=5)
    c.prepare(X)
    r1, r2 = PyRng([1, 1, 1, 1]), PyRng([1, 1, 1, 1])
    assert c.choose(X[[4]], y[[4]], mask, r1) == RandomChooser().choose(None, None, mask, r2)
    assert r1.s == r2.s
    r1, r2 = PyRng([2, 1, 1, 1]), PyRng([2, 1, 1, 1])
    a = c.choose(X[[4, 9]], y[[4, 9]], mask, r1)
    b = c.choose(None, y[[4, 9]], mask, r2, seen_rows=[4, 9])
    assert a == b and r1.s == r2.s


def test_random_chooser_is_the_kth_candidate():
    mask = np.zeros(100, dtype=bool)
    mask[[3, 10, 11, 50, 99]] = True
    rng, ref = PyRng([9, 8, 7, 6]), PyRng([9, 8, 7, 6])
    for _ in range(20):
        assert RandomChooser().choose(None, None, mask, rng) == np.flatnonzero(mask)[
            ref.bounded(5)]
    assert RandomChooser.needs_features is False and RFEIChooser.needs_features is True


def test_get_chooser_and_user_functions():
    assert isinstance(get_chooser("random"), RandomChooser)
    c = get_chooser("rf-ei", n_trees=7, xi=0.1, variance="total")
    assert isinstance(c, RFEIChooser) and c.n_trees == 7
    assert c.c_params() == {"n_trees": 7, "max_depth": 0, "min_samples_split": 2,
                            "min_samples_leaf": 1, "max_features": 2**30, "bootstrap": 1,
                            "variance_total": 1, "xi": 0.1, "n_threads": 1}
    assert get_chooser(c) is c

    def first(X_seen, y_seen, candidates_mask, rng):
        return int(np.flatnonzero(candidates_mask)[0])

    f = get_chooser(first)
    assert isinstance(f, FunctionChooser) and isinstance(f, Chooser)
    mask = np.array([False, True, True])
    assert f.choose(None, np.array([]), mask, PyRng([1, 2, 3, 4])) == 1
    with pytest.raises(ValueError, match=r"returned 0, which is not a candidate row \(an int in "
                                         r"\[0, 2\] with candidates_mask\[row\] True\)"):
        get_chooser(lambda *a: 0).choose(None, None, mask, None)
    with pytest.raises(ValueError, match="returned 'x', which is not a candidate"):
        get_chooser(lambda *a: "x").choose(None, None, mask, None)
    with pytest.raises(ValueError, match="returned 7, which is not a candidate"):
        get_chooser(lambda *a: 7).choose(None, None, mask, None)
    with pytest.raises(ValueError, match=r"unknown chooser 'rf_ei'; known: \['random', "
                                         r"'rf-ei'\]"):
        get_chooser("rf_ei")
    with pytest.raises(ValueError, match=r"unknown rf-ei parameter\(s\) \['trees'\]"):
        get_chooser("rf-ei", trees=5)
    with pytest.raises(ValueError, match="the 'random' chooser takes no parameters"):
        get_chooser("random", n_trees=5)
    with pytest.raises(ValueError, match="chooser must be one of"):
        get_chooser(42)
    with pytest.raises(ValueError, match="max_features=0.5 is a fraction: pass n_features"):
        RFEIChooser(max_features=0.5).c_params()
    assert RFEIChooser(max_features=0.5).c_params(9)["max_features"] == 4


def test_pickled_chooser_chooses_the_same():
    X, y = _table(n=600, d=4, seed=9)
    c = RFEIChooser(n_trees=8)
    c.prepare(X)
    mask = np.ones(600, dtype=bool)
    mask[:30] = False
    a = c.choose(X[:30], y[:30], mask, PyRng([1, 2, 3, 4]), seen_rows=np.arange(30))
    c2 = pickle.loads(pickle.dumps(c))
    assert c2._ctx is None
    b = c2.choose(X[:30], y[:30], mask, PyRng([1, 2, 3, 4]), seen_rows=np.arange(30))
    assert a == b


def test_bad_inputs():
    X, y = _table(n=50, d=3, seed=10)
    c = RFEIChooser(n_trees=3)
    mask = np.ones(50, dtype=bool)
    rng = PyRng([1, 2, 3, 4])
    with pytest.raises(ValueError, match=r"call prepare\(X_all\) before choose"):
        c.choose(X[:3], y[:3], mask, rng)
    with pytest.raises(ValueError, match="needs the table's features X_all, got None"):
        c.prepare(None)
    with pytest.raises(ValueError, match="X_all must be finite"):
        c.prepare(np.where(X > 0.5, np.nan, X))
    with pytest.raises(ValueError, match=r"X_all must be a 2-D array"):
        c.prepare(X[:, 0])
    c.prepare(X)
    with pytest.raises(ValueError, match="candidates_mask must have at least one candidate"):
        c.choose(X[:3], y[:3], np.zeros(50, dtype=bool), rng)
    with pytest.raises(ValueError, match=r"candidates_mask must have one entry per table row "
                                         r"\(50\), got 49"):
        c.choose(X[:3], y[:3], mask[:-1], rng)
    with pytest.raises(ValueError, match="candidates_mask must be a bool array, got dtype"):
        c.choose(X[:3], y[:3], mask.astype(int), rng)
    with pytest.raises(ValueError, match="y_seen must be finite, got nan at index 1"):
        c.choose(X[:3], np.array([0.1, np.nan, 0.2]), mask, rng)
    with pytest.raises(ValueError, match=r"y_seen must be a 1-D array, got shape \(3, 1\)"):
        c.choose(X[:3], y[:3, None], mask, rng)
    with pytest.raises(ValueError, match=r"X_seen must have 3 columns"):
        c.choose(X[:3, :2], y[:3], mask, rng)
    with pytest.raises(ValueError, match=r"X_seen must have one row per value of y_seen \(3\), "
                                         r"got 2"):
        c.choose(X[:2], y[:3], mask, rng)
    with pytest.raises(ValueError, match="X_seen row 0 is not a row of the X_all"):
        c.choose(X[:3] + 2.0, y[:3], mask, rng)
    with pytest.raises(ValueError, match=r"seen_rows must lie in \[0, 49\]"):
        c.step([0, 50], y[:2], mask, 0.5, 1, rng)
    with pytest.raises(ValueError, match="y_seen must have one value per row"):
        c.step([0, 1], y[:3], mask, 0.5, 1, rng)
    with pytest.raises(ValueError, match="RandomChooser|at least one candidate"):
        RandomChooser().choose(None, None, np.zeros(5, dtype=bool), rng)
    with pytest.raises(ValueError, match=r"tie_state must be a numpy uint64 array of shape "
                                         r"\(4,\)"):
        rf_ei_step(X, [0, 1], y[:2], mask, 0.5, 0.0, 1, [1, 2, 3, 4])
    with pytest.raises(ValueError, match="xi must be a finite real number, got nan"):
        RFEIChooser(xi=np.nan)
    with pytest.raises(ValueError, match="n_trees must be an int"):
        RFEIChooser(n_trees=0)


def test_best_must_be_finite_in_every_ei_entry_point():
    from lcore.choosers import rf_ei_step

    X, y = _table(n=60, d=3, seed=4)
    c = RFEIChooser(n_trees=3)
    c.prepare(X)
    mask = np.ones(60, dtype=bool)
    mask[:5] = False
    for bad in (np.nan, np.inf, -np.inf, "0.5", None, True):
        match = "best must be a finite real number, got "
        with pytest.raises(ValueError, match=match):
            c.step(np.arange(5), y[:5], mask, bad, 1, PyRng([1, 2, 3, 4]))
        with pytest.raises(ValueError, match=match):
            c.scores(np.arange(5), y[:5], mask, bad, 1)
        with pytest.raises(ValueError, match=match):
            rf_ei_step(X, np.arange(5), y[:5], mask, bad, 0.0, 1,
                       np.array([1, 2, 3, 4], dtype=np.uint64), n_trees=3)


def test_huge_y_picks_what_the_scaled_problem_picks_without_nan():
    X, y = _table(n=400, d=3, seed=6)
    seen = np.arange(40)
    mask = np.ones(400, dtype=bool)
    mask[seen] = False
    c = RFEIChooser(n_trees=10)
    c.prepare(X)
    big = np.ldexp(y[seen], 1020)  # up to ~1e307
    big[0] = -1.7e308
    mean, var, e = c.scores(seen, big, mask, float(big.max()), 7)
    assert not np.isnan(mean[mask]).any() and not np.isnan(e[mask]).any()
    ref = c.scores(seen, np.ldexp(big, -1024), mask, float(np.ldexp(big.max(), -1024)), 7)
    np.testing.assert_array_equal(mean, np.ldexp(ref[0], 1024))
    for s in range(5):
        a = c.step(seen, big, mask, float(big.max()), s, PyRng([1, 2, 3, s]))
        b = c.step(seen, np.ldexp(big, -1024), mask, float(np.ldexp(big.max(), -1024)), s,
                   PyRng([1, 2, 3, s]))
        assert a == b


@pytest.mark.parametrize("avx2", [True, False])
def test_tables_above_65536_rows_use_32_bit_ranks_with_the_same_scores(avx2):
    # n_all > 65536: the chooser ranks candidates in 32 bits (one code body with 16 bits)
    X, y = _table(n=70000, d=3, seed=12)
    seen = np.arange(0, 70000, 700, dtype=np.int64)  # 100 rows
    mask = np.ones(70000, dtype=bool)
    mask[seen] = False
    c = RFEIChooser(n_trees=4)
    c.prepare(X)
    c._context().use_avx2(avx2)
    rf = RandomForest(4).fit(X[seen], y[seen], seed64=99)
    mean, var = rf.predict(X, return_var=True)
    for _ in range(2):  # the second call runs on the renumbered order
        m2, v2, e2 = c.scores(seen, y[seen], mask, float(y[seen].max()), 99)
        np.testing.assert_array_equal(m2[mask], mean[mask])
        np.testing.assert_array_equal(v2[mask], var[mask])
