"""The rf-ei context keeps the seen rows' sorted state across calls (rows only appended).

Every call of a context that kept its state must give the bits of a fresh context (and of
the public RandomForest) on the same rows, whatever the previous calls were.
"""

import numpy as np
import pytest

from lcore._rng import PyRng
from lcore.choosers import RFEIChooser
from lcore.forest import RandomForest


def _table(n=300, d=4, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.random((n, d))
    X[:, 1] = np.round(X[:, 1] * 6) / 6  # few distinct values: equal values, equal ranks
    X[: n // 3, 2] = 0.0
    X[n // 3: n // 2, 2] = -0.0  # -0.0 == 0.0: one value
    X[:, 3] = np.round(X[:, 3], 1)
    y = np.sin(5 * X[:, 0]) + X[:, 1] - X[:, 3] ** 2
    return X, y


def _scores(ch, seen, y, n_all, seed64):
    active = np.ones(n_all, dtype=bool)
    active[seen] = False
    best = float(y[seen].max())
    return ch.scores(seen, y[seen], active, best, seed64), active, best


def _sequence(n_all, rng):
    """Seen-row lists of consecutive calls: appended rows, repeats, resets and prefixes."""
    order = rng.permutation(n_all)
    out = []
    n = 2
    while n < 120:
        out.append(order[:n])
        n += int(rng.integers(1, 4))
        if rng.random() < 0.1:
            out.append(order[:n])  # the same rows again
    out.append(order[:40])  # a prefix of the last call: sorted again
    out.append(rng.permutation(n_all)[:50])  # another replay
    out.append(np.r_[order[:30], order[:1]])  # a row twice
    out.append(order[:31][::-1])  # the same rows in another order
    return [np.ascontiguousarray(s, dtype=np.int64) for s in out]


@pytest.mark.parametrize("n_threads", [1, 2])
@pytest.mark.parametrize("variance", ["tree", "total"])
def test_kept_state_same_bits_as_fresh_context(n_threads, variance):
    X, y = _table()
    n_all = X.shape[0]
    kw = {"n_trees": 8, "variance": variance}
    kept = RFEIChooser(n_threads=n_threads, **kw)
    kept.prepare(X)
    rng = np.random.default_rng(1)
    n_kept = []
    for i, seen in enumerate(_sequence(n_all, rng)):
        seed64 = 1000 + i
        (m1, v1, e1), active, best = _scores(kept, seen, y, n_all, seed64)
        n_kept.append(kept._ctx.stats()["kept"])
        fresh = RFEIChooser(**kw)
        fresh.prepare(X)
        (m2, v2, e2), _, _ = _scores(fresh, seen, y, n_all, seed64)
        assert fresh._ctx.stats()["kept"] == 0
        np.testing.assert_array_equal(m1, m2)
        np.testing.assert_array_equal(v1, v2)
        np.testing.assert_array_equal(e1, e2)
        # the step (fit, EI, tie rule) on the kept state: same row, same draws
        r1, r2 = PyRng([1, 2, 3, i]), PyRng([1, 2, 3, i])
        assert kept.step(seen, y[seen], active, best, seed64, r1) == fresh.step(
            seen, y[seen], active, best, seed64, r2)
        assert r1.s == r2.s
        assert kept._ctx.stats()["kept"] == len(seen)  # the same rows again: all kept
        if i % 10 == 0:
            rf = RandomForest(8, variance=variance).fit(X[seen], y[seen], seed64=seed64)
            mean, var = rf.predict(X, return_var=True)
            np.testing.assert_array_equal(m1[active], mean[active])
            np.testing.assert_array_equal(v1[active], var[active])
    # rows appended: the earlier rows kept; a prefix, another replay, reordered: sorted anew
    assert n_kept[0] == 0
    assert all(k > 0 for k in n_kept[1:-4])
    assert n_kept[-4:] == [0, 0, 0, 0]


def test_kept_state_in_a_replay():
    """A C replay (one context per repeat, rows appended) gives the same picks as steps on
    fresh contexts."""
    X, y = _table(n=120, d=4, seed=2)
    ch = RFEIChooser(n_trees=5)
    ch.prepare(X)
    fresh = RFEIChooser(n_trees=5)
    seen = [0, 1]
    for it in range(40):
        rows = np.array(seen, dtype=np.int64)
        active = np.ones(len(X), dtype=bool)
        active[rows] = False
        best = float(y[rows].max())
        r1, r2 = PyRng([it, 2, 3, 4]), PyRng([it, 2, 3, 4])
        a = ch.step(rows, y[rows], active, best, 77 + it, r1)
        assert it == 0 or ch._ctx.stats()["kept"] == len(rows) - 1
        fresh.prepare(X)
        b = fresh.step(rows, y[rows], active, best, 77 + it, r2)
        assert a == b
        seen.append(a)
