"""lcore.RandomForest against independent references (scikit-learn, NumPy, the RNG mirror)."""

import pickle
import re

import numpy as np
import pytest

from lcore._rng import PyRng
from lcore.forest import RandomForest

sklearn_tree = pytest.importorskip("sklearn.tree")
sklearn_ensemble = pytest.importorskip("sklearn.ensemble")


def _f32(a):
    # scikit-learn trees work in float32: use values it represents exactly
    return np.asarray(a, dtype=np.float32).astype(np.float64)


def _data(n=300, d=4, seed=0):
    rng = np.random.default_rng(seed)
    X = _f32(rng.random((n, d)))
    y = np.sin(4 * X[:, 0]) + X[:, min(1, d - 1)] * X[:, -1] + 0.1 * rng.standard_normal(n)
    return X, y


def _walk(nodes, t, x):
    """Pure-Python descent of tree t (independent of the C walk)."""
    off = nodes["offset"][t]
    i = 0
    while nodes["feature"][off + i] >= 0:
        f = nodes["feature"][off + i]
        go_left = x[f] <= nodes["threshold"][off + i]
        i = nodes["left"][off + i] if go_left else nodes["right"][off + i]
    return i


def _preorder_sklearn(tree):
    out, stack = [], [0]
    while stack:
        i = stack.pop()
        out.append(i)
        if tree.children_left[i] >= 0:
            stack.append(tree.children_right[i])
            stack.append(tree.children_left[i])
    return out


# -- single tree == scikit-learn -----------------------------------------------------------


def test_single_tree_one_feature_equals_sklearn_tree_exactly():
    X, y = _data(400, 1, seed=1)
    Xt = _f32(np.random.default_rng(2).random((3000, 1)))
    rf = RandomForest(1, bootstrap=False, seed=0).fit(X, y)
    sk = sklearn_tree.DecisionTreeRegressor(random_state=0).fit(X, y)
    assert rf.n_nodes_[0] == sk.tree_.node_count
    order = _preorder_sklearn(sk.tree_)  # lcore numbers nodes in pre-order
    np.testing.assert_array_equal(rf.nodes_["feature"], np.where(
        sk.tree_.feature[order] < 0, -1, sk.tree_.feature[order]))
    internal = rf.nodes_["feature"] >= 0
    np.testing.assert_array_equal(rf.nodes_["threshold"][internal],
                                  sk.tree_.threshold[order][internal])
    np.testing.assert_allclose(rf.predict(Xt), sk.predict(Xt), rtol=0, atol=1e-12)


@pytest.mark.parametrize("random_state", range(4))
@pytest.mark.parametrize("settings", [
    {"min_samples_split": 20},
    {"min_samples_split": 30, "max_depth": 5},
])
def test_single_tree_several_features_equals_sklearn_tree(random_state, settings):
    # large nodes only, so that no two features give exactly equal gains (scikit-learn breaks
    # such ties by its random feature order, lcore by the lowest feature index)
    X, y = _data(300, 4, seed=3)
    Xt = _f32(np.random.default_rng(4).random((3000, 4)))
    rf = RandomForest(1, bootstrap=False, seed=0, **settings).fit(X, y)
    sk = sklearn_tree.DecisionTreeRegressor(random_state=random_state, **settings).fit(X, y)
    assert rf.n_nodes_[0] == sk.tree_.node_count
    np.testing.assert_allclose(rf.predict(Xt), sk.predict(Xt), rtol=0, atol=1e-12)


def test_min_samples_leaf_and_max_depth_are_respected():
    X, y = _data(300, 4, seed=5)
    rf = RandomForest(5, bootstrap=False, min_samples_leaf=7, max_depth=6, seed=0).fit(X, y)
    assert rf.depth_.max() <= 6
    leaves = rf.apply(X)
    for t in range(5):
        _, counts = np.unique(leaves[:, t], return_counts=True)
        assert counts.min() >= 7


# -- forest mean / variance == NumPy --------------------------------------------------------


@pytest.mark.parametrize("variance", ["tree", "total"])
def test_mean_and_variance_equal_numpy_from_per_tree_predictions(variance):
    X, y = _data(200, 5, seed=6)
    Xt = np.random.default_rng(7).random((500, 5))
    rf = RandomForest(50, variance=variance, seed=11).fit(X, y)
    per_tree = rf.predict_trees(Xt)
    # per-tree predictions from an independent Python walk of the node arrays
    nodes = rf.nodes_
    for i in range(0, 500, 50):
        for t in range(50):
            leaf = _walk(nodes, t, Xt[i])
            assert per_tree[i, t] == nodes["value"][nodes["offset"][t] + leaf]
    mean, var = rf.predict(Xt, return_var=True)
    np.testing.assert_allclose(mean, per_tree.mean(axis=1), rtol=0, atol=1e-12)
    expected = per_tree.var(axis=1)
    if variance == "total":
        leaves = rf.apply(Xt)
        expected = expected + nodes["leaf_var"][nodes["offset"][None, :] + leaves].mean(axis=1)
    np.testing.assert_allclose(var, expected, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(rf.predict(Xt), mean)


def test_leaf_values_and_variances_are_the_weighted_bootstrap_statistics():
    # tree t draws its bootstrap with lc_rng_seed64(seed64 + t): reproduce it with the mirror
    X, y = _data(60, 3, seed=8)
    seed64 = 2**64 - 3  # wraps around for t >= 3
    rf = RandomForest(6, seed=0).fit(X, y, seed64=seed64)
    leaves = rf.apply(X)
    for t in range(6):
        r = PyRng.from_seed64((seed64 + t) % 2**64)
        w = np.bincount([r.bounded(60) for _ in range(60)], minlength=60).astype(float)
        root = rf.nodes_["offset"][t]
        np.testing.assert_allclose(rf.nodes_["value"][root], np.average(y, weights=w),
                                   rtol=0, atol=1e-12)
        for leaf in np.unique(leaves[w > 0, t]):
            rows = (leaves[:, t] == leaf) & (w > 0)
            m = np.average(y[rows], weights=w[rows])
            v = np.average((y[rows] - m) ** 2, weights=w[rows])
            np.testing.assert_allclose(rf.nodes_["value"][root + leaf], m, rtol=0, atol=1e-12)
            np.testing.assert_allclose(rf.nodes_["leaf_var"][root + leaf], v, rtol=0,
                                       atol=1e-12)


# -- quality against scikit-learn's forest ---------------------------------------------------


def test_r2_within_002_of_sklearn_forest_on_a_synthetic_table():
    from lcore.table import synthetic

    table = synthetic(n=2000, seed=0)
    X = table.unit
    y = table.objective("final")
    ok = np.isfinite(y)
    X, y = X[ok], y[ok]
    r2_lc, r2_sk = [], []
    for seed in range(5):
        rng = np.random.default_rng(seed)
        idx = rng.permutation(X.shape[0])
        tr, te = idx[:300], idx[300:1300]

        def r2(pred, yt=y[te]):
            return 1 - np.sum((yt - pred) ** 2) / np.sum((yt - yt.mean()) ** 2)

        rf = RandomForest(50, seed=seed).fit(X[tr], y[tr])
        sk = sklearn_ensemble.RandomForestRegressor(50, max_features=1.0, random_state=seed)
        sk.fit(X[tr], y[tr])
        r2_lc.append(r2(rf.predict(X[te])))
        r2_sk.append(r2(sk.predict(X[te])))
    assert np.mean(r2_sk) > 0.3  # the data are learnable
    assert abs(np.mean(r2_lc) - np.mean(r2_sk)) < 0.02


# -- reproducibility ------------------------------------------------------------------------


def _same(a, b):
    for f in ("feature", "left", "right", "threshold", "value", "leaf_var", "offset"):
        np.testing.assert_array_equal(a.nodes_[f], b.nodes_[f])


def test_same_seed_same_forest_bit_for_bit_with_any_number_of_threads():
    X, y = _data(150, 4, seed=9)
    a = RandomForest(20, seed=123).fit(X, y)
    for n_jobs in (1, 2, 3, 7):
        _same(a, RandomForest(20, seed=123, n_jobs=n_jobs).fit(X, y))
    b = RandomForest(20, seed=124).fit(X, y)
    assert not np.array_equal(a.predict(X), b.predict(X))
    g1 = RandomForest(20, seed=np.random.default_rng(5)).fit(X, y)
    g2 = RandomForest(20, seed=np.random.default_rng(5)).fit(X, y)
    _same(g1, g2)
    ss = RandomForest(20, seed=np.random.SeedSequence(123)).fit(X, y)
    _same(a, ss)
    s64 = RandomForest(20).fit(X, y, seed64=a.seed64_)
    _same(a, s64)


def test_max_features_draws_features_deterministically():
    X, y = _data(150, 6, seed=10)
    a = RandomForest(30, max_features=0.34, seed=1).fit(X, y)  # 2 of 6 features per split
    b = RandomForest(30, max_features=2, seed=1).fit(X, y)
    _same(a, b)
    full = RandomForest(30, seed=1).fit(X, y)
    assert not np.array_equal(a.nodes_["feature"], full.nodes_["feature"])
    roots = a.nodes_["feature"][a.nodes_["offset"]]
    assert len(np.unique(roots)) > 1  # root features vary with the draws


def test_pickle_round_trip():
    X, y = _data(100, 3, seed=11)
    rf = RandomForest(10, variance="total", seed=3).fit(X, y)
    rf2 = pickle.loads(pickle.dumps(rf))
    m1, v1 = rf.predict(X, return_var=True)
    m2, v2 = rf2.predict(X, return_var=True)
    np.testing.assert_array_equal(m1, m2)
    np.testing.assert_array_equal(v1, v2)
    assert isinstance(rf2.nodes_["feature"], np.ndarray)


def test_constant_target_and_duplicate_rows():
    X = np.array([[0.1, 0.2], [0.1, 0.2], [0.3, 0.2], [0.3, 0.2]])
    rf = RandomForest(5, seed=0).fit(X, np.full(4, 0.5))
    mean, var = rf.predict(X, return_var=True)
    np.testing.assert_array_equal(mean, 0.5)
    np.testing.assert_array_equal(var, 0.0)
    rf = RandomForest(1, bootstrap=False).fit(X[[0, 1]], np.array([0.0, 1.0]))  # equal X
    assert rf.n_nodes_[0] == 1 and rf.predict(X[:1])[0] == 0.5


# -- bad input ------------------------------------------------------------------------------


def test_bad_inputs_raise_clear_errors():
    X, y = _data(20, 3)
    rf = RandomForest(5)
    with pytest.raises(ValueError, match="X must be finite, got nan at row 2, column 1"):
        Xn = X.copy()
        Xn[2, 1] = np.nan
        rf.fit(Xn, y)
    with pytest.raises(ValueError, match="X must be finite, got inf"):
        Xn = X.copy()
        Xn[0, 0] = np.inf
        rf.fit(Xn, y)
    with pytest.raises(ValueError, match="y must be finite, got nan at index 4"):
        yn = y.copy()
        yn[4] = np.nan
        rf.fit(X, yn)
    with pytest.raises(ValueError, match="y must be finite, got -inf"):
        yn = y.copy()
        yn[0] = -np.inf
        rf.fit(X, yn)
    with pytest.raises(ValueError, match=r"y must have one value per row of X \(20\), got 19"):
        rf.fit(X, y[:-1])
    with pytest.raises(ValueError, match="X must have at least 2 rows to fit a forest, got 1"):
        rf.fit(X[:1], y[:1])
    with pytest.raises(ValueError, match=r"X must be a 2-D array \(n_rows, n_features\), got "
                                         r"shape \(20,\)"):
        rf.fit(X[:, 0], y)
    with pytest.raises(ValueError, match=r"y must be a 1-D array, got shape \(20, 1\)"):
        rf.fit(X, y[:, None])
    with pytest.raises(ValueError, match="X must hold numbers"):
        rf.fit(np.array([["a", "b"], ["c", "d"]]), [0.0, 1.0])
    with pytest.raises(ValueError, match="not fitted yet"):
        rf.predict(X)
    rf.fit(X, y)
    with pytest.raises(ValueError, match=r"X must have 3 columns \(the forest was fitted on 3 "
                                         r"features\), got 2"):
        rf.predict(X[:, :2])
    with pytest.raises(ValueError, match="X must be finite"):
        rf.predict(np.full((1, 3), np.nan))
    with pytest.raises(ValueError, match=r"seed64 must be an int in \[0, 2\*\*64 - 1\], got -1"):
        rf.fit(X, y, seed64=-1)


@pytest.mark.parametrize("kwargs, match", [
    ({"n_trees": 0}, r"n_trees must be an int \[1, 1048576\], got 0"),
    ({"n_trees": 2.5}, "n_trees must be an int"),
    ({"min_samples_split": 1}, "min_samples_split must be an int"),
    ({"min_samples_leaf": 0}, "min_samples_leaf must be an int"),
    ({"max_depth": 0}, "max_depth must be an int"),
    ({"variance": "leaf"}, "variance must be 'tree' or 'total', got 'leaf'"),
    ({"max_features": 1.5}, r"max_features must be a float in \(0, 1\]"),
    ({"max_features": 0}, r"max_features must be a float in \(0, 1\]"),
    ({"n_jobs": 0}, "n_jobs must be an int"),
])
def test_bad_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        RandomForest(**kwargs)


def test_max_features_above_n_features_is_an_error_at_fit():
    X, y = _data(20, 3)
    with pytest.raises(ValueError, match=r"max_features must be an int \[1, 3\], got 4"):
        RandomForest(5, max_features=4).fit(X, y)


# -- whole-set prediction (lc_forest_predict_set) ------------------------------------------


def _paths(rf, X, best_xi=(0.3, 0.01)):
    from lcore._core import _forest

    total = rf.variance == "total"
    row = _forest.predict(rf.nodes_, X, True, total, 1, best_xi)
    whole = _forest.predict(rf.nodes_, X, True, total, 2, best_xi)
    return row, whole


@pytest.mark.parametrize("settings", [
    {},
    {"variance": "total"},
    {"bootstrap": False, "max_features": 0.5},
    {"min_samples_leaf": 3, "max_depth": 5},
    {"n_trees": 1},
])
def test_whole_set_path_is_bit_identical_to_the_per_row_walk(settings):
    X, y = _data(300, 5, seed=21)
    rf = RandomForest(**{"n_trees": 20, "seed": 4, **settings}).fit(X, y)
    rng = np.random.default_rng(0)
    # candidates: fresh points, the training rows, the thresholds themselves (x == thr goes
    # left) and their neighbours, -0.0 / 0.0 and values outside the range
    thr = rf.nodes_["threshold"][rf.nodes_["feature"] >= 0]
    C = np.concatenate([
        rng.random((3000, 5)), X,
        np.resize(thr, (len(thr) // 5 + 1) * 5).reshape(-1, 5),
        np.nextafter(np.resize(thr, 500 * 5), 2.0).reshape(-1, 5),
        np.array([[-0.0] * 5, [0.0] * 5, [-7.0] * 5, [1e300] * 5]),
    ])
    row, whole = _paths(rf, np.ascontiguousarray(C))
    for a, b in zip(row, whole):
        np.testing.assert_array_equal(a, b)
    # the public predict (whole-set path from 1024 rows on) is what the walk gives
    mean = rf.predict(C)
    np.testing.assert_array_equal(mean, row[0])
    walk = np.array([np.mean([rf.nodes_["value"][rf.nodes_["offset"][t] + _walk(rf.nodes_, t, x)]
                              for t in range(rf.n_trees)]) for x in C[::97]])
    np.testing.assert_allclose(mean[::97], walk, rtol=1e-12, atol=1e-12)


def test_whole_set_path_with_32_bit_codes_and_constant_features():
    # more than 65534 distinct thresholds on one feature: 32-bit codes
    rng = np.random.default_rng(3)
    X = np.column_stack([rng.random(70000), np.zeros(70000)])
    y = rng.random(70000)
    rf = RandomForest(1, bootstrap=False, seed=0).fit(X, y)
    assert len(np.unique(rf.nodes_["threshold"][rf.nodes_["feature"] == 0])) > 65534
    C = np.ascontiguousarray(np.column_stack([rng.random(3000), rng.random(3000)]))
    row, whole = _paths(rf, C)
    for a, b in zip(row, whole):
        np.testing.assert_array_equal(a, b)


def test_ei_is_acquisition_ei_of_predict_bit_for_bit():
    from lcore import acquisition

    X, y = _data(200, 4, seed=5)
    rf = RandomForest(30, seed=1).fit(X, y)
    C = np.random.default_rng(1).random((5000, 4))
    mean, var = rf.predict(C, return_var=True)
    ref = acquisition.ei(mean, np.sqrt(var), float(y.max()), 0.01)
    np.testing.assert_array_equal(rf.ei(C, float(y.max()), 0.01), ref)
    e, m2, v2 = rf.ei(C[:10], float(y.max()), return_pred=True)  # small X: per-row walk
    np.testing.assert_array_equal(e, acquisition.ei(mean[:10], np.sqrt(var[:10]), y.max()))
    np.testing.assert_array_equal(m2, mean[:10])
    np.testing.assert_array_equal(v2, var[:10])
    for bad in (np.nan, np.inf, "0.5", None):
        with pytest.raises(ValueError, match="best must be a finite real number"):
            rf.ei(C, bad)
    with pytest.raises(ValueError, match="xi must be a finite real number, got nan"):
        rf.ei(C, 0.5, np.nan)


# -- hardening: huge settings, edited nodes_, bool bootstrap, huge y ------------------------


@pytest.mark.parametrize("name", ["min_samples_leaf", "min_samples_split", "max_depth"])
def test_settings_up_to_int32_max_run_and_larger_ones_are_refused(name):
    X, y = _data(50, 3)
    for value in (2**30, 2**31 - 1):
        rf = RandomForest(3, seed=0, **{name: value}).fit(X, y)
        mean = rf.predict(X)
        assert np.isfinite(mean).all()
        if name != "max_depth":
            assert (rf.n_nodes_ == 1).all()  # every tree is one leaf
    with pytest.raises(ValueError, match=rf"{name} must be an int \[\d, 2147483647\], got "
                                         r"2147483648"):
        RandomForest(3, **{name: 2**31})


def test_huge_max_features_is_refused_with_its_range():
    with pytest.raises(ValueError, match=r"max_features must be a float in \(0, 1\], an int in "
                                         r"\[1, 2147483647\] or None, got 1099511627776"):
        RandomForest(3, max_features=2**40)


def test_huge_chooser_params_through_simulate_do_not_crash():
    import lcore

    table = lcore.table.synthetic(n=60, seed=0)
    for params in ({"min_samples_leaf": 2**30, "n_trees": 3},
                   {"min_samples_split": 2**31 - 1, "max_depth": 2**31 - 1, "n_trees": 3}):
        res = lcore.simulate(table, repeats=2, max_evals=8, progress=False,
                             chooser_params=params)
        assert len(res.success) == 2
    with pytest.raises(ValueError, match=r"min_samples_leaf must be an int \[1, 2147483647\], "
                                         r"got 4294967296"):
        lcore.simulate(table, repeats=1, progress=False,
                       chooser_params={"min_samples_leaf": 2**32})
    with pytest.raises(ValueError, match=r"max_features must be an int \[1, 9\], got 2147483647"):
        lcore.simulate(table, repeats=1, progress=False,
                       chooser_params={"max_features": 2**31 - 1})


@pytest.mark.parametrize("value", ["no", "yes", 1, 0, None, np.int64(1)])
def test_bootstrap_must_be_a_bool(value):
    import lcore
    from lcore.choosers import RFEIChooser, get_chooser

    match = re.escape(f"bootstrap must be True or False, got {value!r}")
    with pytest.raises(ValueError, match=match):
        RandomForest(3, bootstrap=value)
    with pytest.raises(ValueError, match=match):
        RFEIChooser(bootstrap=value)
    with pytest.raises(ValueError, match=match):
        get_chooser("rf-ei", bootstrap=value)
    with pytest.raises(ValueError, match=match):
        lcore.simulate(lcore.table.synthetic(n=30, seed=0), repeats=1, progress=False,
                       chooser_params={"bootstrap": value})
    assert RandomForest(3, bootstrap=np.bool_(False)).bootstrap is False


def _edited(rf, field, index, value):
    nodes = {k: v.copy() for k, v in rf.nodes_.items()}
    nodes[field][index] = value
    rf.nodes_ = nodes
    return rf


def test_nodes_are_read_only_and_edits_are_refused_before_any_walk():
    X, y = _data(60, 3, seed=2)
    rf = RandomForest(4, seed=0).fit(X, y)
    with pytest.raises(ValueError, match="read-only"):
        rf.nodes_["left"][0] = 10**6
    internal = int(np.flatnonzero(rf.nodes_["feature"] >= 0)[0])
    leaf = int(np.flatnonzero(rf.nodes_["feature"] < 0)[0])
    n1 = int(rf.n_nodes_[0])
    cases = [
        ("left", internal, 10**6, r"nodes_\['left'\]\[0\] must be an index after the node"),
        ("left", internal, -5, r"nodes_\['left'\]\[0\] must be an index after the node"),
        ("left", internal, 0, r"nodes_\['left'\]\[0\]"),  # a cycle
        ("right", internal, n1, r"nodes_\['right'\]\[0\]"),  # into the next tree
        ("feature", internal, 3, r"nodes_\['feature'\]\[0\] must be an int in "
                                 r"\[0, n_features - 1\]"),
        ("feature", leaf, -2, rf"nodes_\['feature'\]\[{leaf}\]"),
        ("threshold", internal, np.nan, r"nodes_\['threshold'\]\[0\] must be a number that "
                                        r"is not NaN"),
        ("offset", 1, 10**9, r"nodes_\['offset'\] must be 0 for the first tree"),
        ("offset", 0, 1, r"nodes_\['offset'\] must be 0 for the first tree"),
    ]
    C = np.random.default_rng(0).random((2000, 3))
    for field, index, value, match in cases:
        bad = _edited(RandomForest(4, seed=0).fit(X, y), field, index, value)
        for method, args in ((bad.predict, (C,)), (bad.predict, (C[:5],)),
                             (bad.predict_trees, (C[:5],)), (bad.apply, (C[:5],)),
                             (bad.ei, (C, 0.5))):
            with pytest.raises(ValueError, match=match):
                method(*args)
    rf = RandomForest(4, seed=0).fit(X, y)
    rf.nodes_ = dict(rf.nodes_, left=rf.nodes_["left"].astype(np.int64))
    with pytest.raises(ValueError, match=r"nodes_\['left'\] must be a 1-D numpy array of dtype "
                                         r"int32, got shape \(\d+,\), dtype int64"):
        rf.predict(C)
    rf = RandomForest(4, seed=0).fit(X, y)
    rf.nodes_ = dict(rf.nodes_, value=rf.nodes_["value"][:-1])
    with pytest.raises(ValueError, match=r"nodes_\['value'\] must have one entry per node"):
        rf.predict(C)
    rf.nodes_ = [1, 2]
    with pytest.raises(ValueError, match="nodes_ must be a dict of numpy arrays, got list"):
        rf.predict(C)
    fresh = RandomForest(4)
    fresh.nodes_ = RandomForest(4, seed=0).fit(X, y).nodes_  # nodes without a fit
    with pytest.raises(ValueError, match="not fitted yet"):
        fresh.predict(C)
    # a sound edit (another leaf value) is accepted and used
    rf = RandomForest(4, seed=0).fit(X, y)
    rf = _edited(rf, "value", leaf, 123.0)
    assert np.isfinite(rf.predict(C)).all()


def test_y_near_the_float_limits_gives_no_nan():
    X, y = _data(80, 3, seed=8)
    e = 1023
    big = np.ldexp(y / np.abs(y).max(), e)  # |y| up to 8.98e307
    big[0], big[1] = 1.7e308, -1.7e308
    rf = RandomForest(10, seed=0, variance="total").fit(X, big)
    C = np.random.default_rng(2).random((1500, 3))
    for Xq in (C, C[:20]):  # whole-set and per-row paths
        mean, var = rf.predict(Xq, return_var=True)
        assert np.isfinite(mean).all() and not np.isnan(var).any()
        assert not np.isnan(rf.ei(Xq, 1e308)).any()
    # exactly the forest of the scaled data, scaled back (the same splits)
    small = RandomForest(10, seed=0, variance="total").fit(X, np.ldexp(big, -1024))
    np.testing.assert_array_equal(rf.nodes_["feature"], small.nodes_["feature"])
    np.testing.assert_array_equal(rf.predict(C), np.ldexp(small.predict(C), 1024))
    # ordinary y is not scaled: the same bits as before
    a = RandomForest(5, seed=0).fit(X, y).predict(C)
    np.testing.assert_array_equal(a, np.ldexp(RandomForest(5, seed=0).fit(
        X, np.ldexp(y, 3)).predict(C), -3))


def test_fits_in_groups_of_trees_give_the_same_forest():
    X, y = _data(40, 3, seed=9)
    a = RandomForest(130, seed=0).fit(X, y)
    b = RandomForest(130, seed=0, n_jobs=3).fit(X, y)
    for f in ("feature", "threshold", "value", "offset"):
        np.testing.assert_array_equal(a.nodes_[f], b.nodes_[f])
    c = RandomForest(1, seed=0).fit(X, y, seed64=a.seed64_ + 129)
    np.testing.assert_array_equal(a.predict_trees(X)[:, 129], c.predict_trees(X)[:, 0])


def test_forest_and_chooser_kernels_compile_without_warnings(tmp_path):
    # the C99 kernels of the forest and the chooser build with -Wall -Wextra and no warning
    import glob
    import os
    import shutil
    import subprocess

    cc = shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc")
    if cc is None:
        pytest.skip("no C compiler on PATH")
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "csrc")
    sources = sorted(glob.glob(os.path.join(root, "lc_acq*.c")) + [
        os.path.join(root, name) for name in ("lc_forest.c", "lc_ei.c", "lc_predict_set.c")])
    for src in sources:
        out = subprocess.run([cc, "-std=c99", "-O1", "-Wall", "-Wextra", "-Werror", "-pthread",
                              "-D_GNU_SOURCE", "-c", src, "-o", str(tmp_path / "k.o")],
                             capture_output=True, text=True)
        assert out.returncode == 0, f"{os.path.basename(src)}:\n{out.stderr}"
