"""ETR-2: knee epoch, best-completed choice and ties, decision edges in both modes, gaps."""

import math
from types import SimpleNamespace

import numpy as np
import pytest

from lcore.stopping import ETR2, History, Monitor, get_rule


def below(x):
    return float(np.nextafter(x, -np.inf))


def above(x):
    return float(np.nextafter(x, np.inf))


def reference(curve, completed, p, q, mode):
    """docs/semantics.md literally (max), and its documented multiplicative mirror (min)."""
    completed = [list(c) for c in completed]
    if not completed:
        return False
    T = len(completed[0])
    c = None
    for row in completed:  # strict improvement: the earliest wins ties
        if c is None or (row[-1] > c[-1] if mode == "max" else row[-1] < c[-1]):
            c = row
    tau = 1
    for i in range(1, T + 1):
        if (c[i - 1] <= q * c[T - 1]) if mode == "max" else (q * c[i - 1] >= c[T - 1]):
            tau = i
    t = len(curve)
    if t != tau:
        return False
    if mode == "max":
        return curve[tau - 1] < p * c[tau - 1]
    return p * curve[tau - 1] > c[tau - 1]


def hist(*rows, mode="max"):
    return History(horizon=len(rows[0]), completed=np.array(rows, dtype=float), mode=mode)


# ----- max mode ---------------------------------------------------------------------------
def test_knee_is_inclusive_and_decision_strict():
    h = hist([0.25, 0.5, 0.75, 1.0])  # q * y_c^T = 0.75: epoch 3 qualifies (<=)
    rule = ETR2(p=0.5, q=0.75)
    assert rule.knee(h) == (3, 0.75)
    # stop at t == 3 iff y^3 < 0.5 * 0.75 = 0.375
    assert not rule.should_stop(np.array([0.0, 0.0, 0.375]), h)
    assert rule.should_stop(np.array([0.9, 0.9, below(0.375)]), h)
    for t in (1, 2):  # not the decision epoch
        assert not rule.should_stop(np.zeros(t), h)
    assert not ETR2(p=0.5, q=0.75).should_stop(np.zeros(3), History(horizon=4))  # no completed


def test_knee_fallback_is_epoch_one():
    h = hist([0.9, 0.95, 1.0])  # nothing <= 0.75: tau = 1
    rule = ETR2(p=0.5)
    assert rule.knee(h) == (1, 0.9)
    assert rule.should_stop(np.array([below(0.45)]), h)
    assert not rule.should_stop(np.array([0.45]), h)


def test_q_one_never_stops():
    h = hist([0.25, 0.5, 1.0])
    rule = ETR2(p=1.0, q=1.0)
    assert rule.knee(h)[0] == 3
    assert not any(rule.should_stop(np.zeros(t), h) for t in (1, 2))


def test_ties_take_the_earliest_completed_and_tau_moves():
    a = [0.25, 0.5, 1.0]  # tau 2 (0.5 <= 0.75)
    b = [0.25, 0.875, 1.0]  # tau 1
    assert ETR2(p=0.5).knee(hist(a, b)) == (2, 0.5)
    assert ETR2(p=0.5).knee(hist(b, a)) == (1, 0.25)
    h = hist(a)
    rule = ETR2(p=0.5)
    assert rule.should_stop(np.array([0.9, below(0.25)]), h)
    h.append([0.75, 0.875, 1.0])  # a tie: the best stays a
    assert rule.knee(h) == (2, 0.5)
    h.append([0.125, 0.5, 1.5])  # better: tau moves to 2 with y_c^2 = 0.5 -> still 2; check y
    assert rule.knee(h) == (2, 0.5)
    h.append([0.25, 0.25, 2.0])  # better: tau = 2 with y_c^2 = 0.25
    assert rule.knee(h) == (2, 0.25)
    assert not rule.should_stop(np.array([0.9, 0.125]), h)


# ----- min mode ---------------------------------------------------------------------------
def test_min_mode_edges():
    h = hist([4.0, 2.0, 1.5, 1.0], mode="min")
    rule = ETR2(p=0.5, q=0.75, mode="min")
    # q * y_c^i >= y_c^T = 1: epochs 1 (3.0), 2 (1.5), 3 (1.125) qualify, 4 (0.75) not
    assert rule.knee(h) == (3, 1.5)
    # stop at t == 3 iff p * y^3 > y_c^3, i.e. y^3 > 3
    assert not rule.should_stop(np.array([9.0, 9.0, 3.0]), h)
    assert rule.should_stop(np.array([0.0, 0.0, above(3.0)]), h)
    assert not rule.should_stop(np.array([9.0, 9.0]), h)


def test_min_mode_picks_smallest_final_earliest_on_ties():
    a = [4.0, 2.0, 1.0]  # q*y: 3, 1.5, .75 -> tau 2
    b = [1.2, 1.1, 1.0]  # q*y: .9, ... -> tau 1
    c = [8.0, 4.0, 2.0]  # worse final
    rule = ETR2(p=0.5, mode="min")
    assert rule.knee(hist(c, a, b, mode="min")) == (2, 2.0)
    assert rule.knee(hist(c, b, a, mode="min")) == (1, 1.2)
    # a max-mode rule on the same history picks c (largest final; nothing <= 1.5: tau 1)
    assert ETR2(p=0.5).knee(hist(c, a, b)) == (1, 8.0)


def test_random_against_reference_both_modes():
    rng = np.random.default_rng(7)
    for mode in ("max", "min"):
        for _ in range(400):
            T = int(rng.integers(2, 7))
            k = int(rng.integers(0, 4))
            completed = rng.integers(1, 9, size=(k, T)) / 8  # ties are likely
            p = float(rng.choice([0.25, 0.5, 0.9, 1.0]))
            q = float(rng.choice([0.5, 0.75, 1.0]))
            t = int(rng.integers(1, T))
            curve = rng.integers(0, 9, size=t) / 8
            h = History(T, completed, mode=mode)
            rule = ETR2(p, q, mode=mode)
            assert rule.should_stop(curve, h) == reference(curve, completed, p, q, mode)
            # a plain object with `completed` works too (rebuilt history)
            ns = SimpleNamespace(completed=completed.reshape(k, T), horizon=T, incumbent=math.nan)
            assert rule.should_stop(curve, ns) == reference(curve, completed, p, q, mode)


# ----- gaps ---------------------------------------------------------------------------------
def test_gaps():
    nan = math.nan
    rule = ETR2(p=0.5)
    h = hist([0.25, 0.5, 0.75, 1.0])  # tau 3, y_c^3 = 0.75, threshold 0.375
    assert rule.should_stop(np.array([0.9, nan, nan, 0.25]), h)  # first observed >= 3
    assert not rule.should_stop(np.array([0.9, nan, 0.5, 0.25]), h)  # decided at 3
    # an unreported epoch of c never qualifies as tau
    h2 = hist([0.25, nan, 0.875, 1.0])
    assert rule.knee(h2) == (1, 0.25)
    # the fallback tau = 1 unreported: NaN comparison, never stops
    h3 = hist([nan, 0.9, 1.0])
    assert rule.knee(h3)[0] == 1 and not rule.should_stop(np.array([0.0]), h3)


# ----- validation -------------------------------------------------------------------------
def test_attributes_and_get_rule():
    rule = get_rule("etr2", p=0.5)
    assert (rule.name, rule.p, rule.q, rule.mode) == ("etr2", 0.5, 0.75, "max")
    ETR2(p=1.0, q=1.0).check(2)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"p": 0.0}, r"p must be a number in \(0, 1\], got 0.0"),
        ({"p": 1.5}, r"p must be a number in \(0, 1\], got 1.5"),
        ({"p": -0.5}, r"p must be a number in \(0, 1\], got -0.5"),
        ({"p": math.nan}, r"p must be a number in \(0, 1\], got nan"),
        ({"p": 0.5, "q": 0.0}, r"q must be a number in \(0, 1\], got 0.0"),
        ({"p": 0.5, "q": 1.01}, r"q must be a number in \(0, 1\], got 1.01"),
        ({"p": 0.5, "mode": "up"}, "mode must be 'max' or 'min', got 'up'"),
    ],
)
def test_bad_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ETR2(**kwargs)


def test_p_is_required():
    with pytest.raises(TypeError, match="p"):
        ETR2()


def test_monitor_matches_should_stop_with_fresh_history():
    rng = np.random.default_rng(2)
    T = 6
    for mode in ("max", "min"):
        rule = ETR2(p=0.8, q=0.75, mode=mode)
        mon = Monitor(rule, horizon=T)
        done = []
        for trial in range(80):
            curve = np.sort(rng.uniform(0.1, 1.0, size=T))
            curve = curve if mode == "max" else curve[::-1].copy()
            for t in range(1, T + 1):
                stop = mon.report(trial, t, curve[t - 1])
                if t < T:
                    fresh = History(T, np.array(done).reshape(-1, T), mode=mode)
                    assert stop == reference(curve[:t], done, 0.8, 0.75, mode)
                    assert stop == rule.should_stop(curve[:t], fresh)
                if stop:
                    break
            if t == T:
                done.append(curve)
            assert mon.complete(trial) == (t == T)
        assert mon.n_completed == len(done) > 0
