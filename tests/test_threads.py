"""The rf-ei step on several threads: the same bits as on one (scores, picks, tie draws)."""

import numpy as np
import pytest

import lcore
from lcore._core import _forest
from lcore._rng import PyRng
from lcore.choosers import RFEIChooser, get_chooser
from lcore.table import synthetic


def _data(n=3000, d=7, seed=0, levels=None):
    rng = np.random.default_rng(seed)
    X = rng.random((n, d))
    if levels:
        X = np.floor(X * levels) / levels
    y = np.sin(3 * X[:, 0]) * X[:, 1] + 0.3 * X[:, 2] + 0.05 * rng.standard_normal(n)
    return X, y


def _ctx(X, n_threads, n_trees=20, variance_total=False, bitset_depth=0, max_seen=400):
    return _forest.RFEIContext(X, max_seen, n_trees, 0, 2, 1, 2**30, True, variance_total,
                               bitset_depth, n_threads)


def test_thread_count_is_what_the_build_allows():
    X, _ = _data(n=200)
    assert _ctx(X, 1).n_threads == 1
    assert _ctx(X, 3).n_threads == (3 if _forest.threads_available() else 1)


@pytest.mark.parametrize("variance_total", [False, True])
@pytest.mark.parametrize("n_trees", [1, 2, 5, 20])
def test_scores_and_picks_equal_one_thread(variance_total, n_trees):
    X, y = _data(levels=None if n_trees != 5 else 3)  # levels: EI ties
    ctxs = [_ctx(X, nt, n_trees, variance_total) for nt in (1, 2, 3, 8)]
    rng = np.random.default_rng(n_trees)
    seen = list(rng.choice(X.shape[0], 2, replace=False))
    for it in range(5):  # successive calls: each context renumbers its candidates
        rows = np.array(seen, dtype=np.int64)
        active = np.ones(X.shape[0], dtype=np.uint8)
        active[rows] = 0
        active[rng.random(X.shape[0]) < 0.2] = 0  # candidates that are not all the rest
        best = float(y[rows].max())
        outs = []
        for c in ctxs:
            m, v, e = c.score(rows, y[rows], active, best, 0.01, 77 + it)
            state = np.array([it + 1, 2, 3, 4], dtype=np.uint64)
            row = c.choose(rows, y[rows], active, best, 0.01, 99 + it, state)
            st = c.stats()
            outs.append((m, v, e, row, state, (st["nodes"], st["depth_sum"], st["depth_max"])))
        for o in outs[1:]:
            for a, b in zip(o[:3], outs[0][:3]):
                np.testing.assert_array_equal(a, b)  # NaN where inactive, bits elsewhere
            assert o[3] == outs[0][3]
            np.testing.assert_array_equal(o[4], outs[0][4])
            assert o[5] == outs[0][5]
        seen += list(rng.choice(np.flatnonzero(active), 60, replace=False))


def test_per_row_fallback_and_plain_paths_under_threads():
    X, y = _data(n=2500, d=5, seed=3)
    seen = np.random.default_rng(4).choice(2500, 150, replace=False).astype(np.int64)
    active = np.ones(2500, dtype=np.uint8)
    active[seen] = 0
    base = _ctx(X, 1)
    for depth, avx2 in ((1, True), (3, False), (48, False)):
        other = _ctx(X, 2, bitset_depth=depth)
        other.use_avx2(avx2)
        for seed64 in (5, 6):
            for u, v in zip(base.score(seen, y[seen], active, 0.4, 0.0, seed64),
                            other.score(seen, y[seen], active, 0.4, 0.0, seed64)):
                np.testing.assert_array_equal(u, v)


def test_chooser_n_threads_same_steps_and_errors():
    X, y = _data(n=1500, d=4, seed=8, levels=4)
    picks = []
    for nt in (1, 2):
        c = get_chooser("rf-ei", n_trees=10, n_threads=nt)
        assert c.c_params(4)["n_threads"] == nt and f"n_threads={nt}" in repr(c)
        c.prepare(X)
        rng = PyRng([1, 2, 3, 4])
        mask = np.ones(1500, dtype=bool)
        seen = [0, 1, 2]
        out = []
        for _ in range(8):
            row = c.choose(X[seen], y[seen], mask, rng, seen_rows=np.array(seen))
            assert mask[row]
            mask[row] = False
            seen.append(row)
            out.append(row)
        picks.append((out, rng.s))
    assert picks[0] == picks[1]
    for bad in (0, -1, 65, 1.5, True, "2"):
        with pytest.raises(ValueError, match="n_threads must be an int between 1 and 64"):
            RFEIChooser(n_threads=bad)


def test_simulate_with_threaded_chooser_equals_one_thread():
    table = synthetic(n=600, epochs=6, seed=2)
    kw = dict(rule=["none", "etr1"], tau=1, repeats=3, max_evals=40, seed=5, progress=False)
    one = lcore.simulate(table, **kw)
    two = lcore.simulate(table, chooser_params={"n_threads": 2}, **kw)
    for a, b in zip(one, two):
        np.testing.assert_array_equal(a.time_to_goal, b.time_to_goal)
        np.testing.assert_array_equal(a.n_evaluated, b.n_evaluated)
        assert "n_threads" not in b.settings["chooser_params"]
    # only the speed differs: the runs pair up in compare
    from lcore.results import compare

    assert compare(two[1], one[0])["n_pairs"] >= 0
