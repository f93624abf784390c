"""ETR-1: decision edges in both modes, gaps, validation, and a literal reference."""

import math

import numpy as np
import pytest

from lcore.stopping import ETR1, History, Monitor, get_rule

EMPTY = History(horizon=15)


def below(x):
    return float(np.nextafter(x, -np.inf))


def above(x):
    return float(np.nextafter(x, np.inf))


def reference(curve, tau, r, eps, mode):
    """docs/semantics.md literally, for a curve without gaps: decide only at t == tau."""
    t = len(curve)
    if t != tau:
        return False
    if mode == "max":
        return curve[tau - 1] < r + eps
    return curve[tau - 1] > r - eps


# ----- edges, mode="max" -------------------------------------------------------------------
def test_max_strict_threshold_edge():
    rule = ETR1(tau=2, r=0.25, eps=0.125)  # dyadic: r + eps == 0.375 exactly
    assert not rule.should_stop(np.array([0.0, 0.375]), EMPTY)
    assert rule.should_stop(np.array([0.9, below(0.375)]), EMPTY)
    assert not rule.should_stop(np.array([0.0, above(0.375)]), EMPTY)


def test_max_threshold_is_float64_r_plus_eps():
    # 0.1 + 0.05 == 0.15000000000000002 in float64, so a value of exactly 0.15 is below it.
    rule = ETR1(tau=1)
    assert rule.should_stop(np.array([0.15]), EMPTY)
    assert not rule.should_stop(np.array([0.1 + 0.05]), EMPTY)


def test_max_decides_only_at_tau():
    rule = ETR1(tau=3)
    low = 0.0
    for t in (1, 2, 4, 5):
        assert not rule.should_stop(np.full(t, low), EMPTY), t
    assert rule.should_stop(np.full(3, low), EMPTY)


# ----- edges, mode="min" -------------------------------------------------------------------
def test_min_strict_threshold_edge():
    rule = ETR1(tau=1, r=0.875, eps=0.125, mode="min")  # r - eps == 0.75
    assert not rule.should_stop(np.array([0.75]), EMPTY)
    assert rule.should_stop(np.array([above(0.75)]), EMPTY)
    assert not rule.should_stop(np.array([below(0.75)]), EMPTY)
    assert not rule.should_stop(np.array([1.0, 1.0]), EMPTY)  # t > tau


def test_min_mode_mirrors_max_mode_on_error_rate():
    # error e = 1 - y with chance error 1 - r: same decisions (dyadic values, no rounding).
    rng = np.random.default_rng(3)
    for _ in range(300):
        t = int(rng.integers(1, 6))
        tau = int(rng.integers(1, 6))
        y = rng.integers(0, 65, size=t) / 64
        r = int(rng.integers(0, 17)) / 64
        eps = int(rng.integers(0, 9)) / 64
        acc = ETR1(tau, r=r, eps=eps).should_stop(y, EMPTY)
        err = ETR1(tau, r=1 - r, eps=eps, mode="min").should_stop(1 - y, EMPTY)
        assert acc == err == reference(list(y), tau, r, eps, "max")


def test_random_curves_match_reference_both_modes():
    rng = np.random.default_rng(0)
    for mode in ("max", "min"):
        for _ in range(500):
            t = int(rng.integers(1, 8))
            tau = int(rng.integers(1, 8))
            r, eps = float(rng.uniform(0, 1)), float(rng.uniform(0, 0.2))
            curve = rng.uniform(0, 1, size=t)
            rule = ETR1(tau, r=r, eps=eps, mode=mode)
            assert rule.should_stop(curve, EMPTY) == reference(curve, tau, r, eps, mode)


# ----- gaps ---------------------------------------------------------------------------------
def test_gap_decides_at_first_observed_epoch_at_or_after_tau():
    rule = ETR1(tau=2, r=0.25, eps=0.125)
    nan = math.nan
    # epoch 2 missing: epoch 3 is the first observed epoch >= tau, its value decides
    assert rule.should_stop(np.array([0.9, nan, 0.25]), EMPTY)
    assert not rule.should_stop(np.array([0.9, nan, 0.5]), EMPTY)
    # epoch 2 observed: the decision was taken there, epoch 4 is not a decision epoch
    assert not rule.should_stop(np.array([0.9, 0.5, nan, 0.0]), EMPTY)
    # epochs 1 .. 3 missing
    assert rule.should_stop(np.array([nan, nan, nan, 0.0]), EMPTY)


# ----- parameters and validation -----------------------------------------------------------
def test_attributes_and_get_rule():
    rule = get_rule("etr1", tau=3)
    assert (rule.name, rule.tau, rule.r, rule.eps, rule.mode) == ("etr1", 3, 0.1, 0.05, "max")
    assert rule == ETR1(3)
    assert ETR1(3, r=0.9, mode="min").r == 0.9
    assert repr(rule) == "ETR1(tau=3, r=0.1, eps=0.05, mode='max')"


def test_check_horizon():
    ETR1(tau=14).check(15)
    with pytest.raises(ValueError, match=r"tau must be an int in \[1, T-1\] = \[1, 14\], got 15"):
        ETR1(tau=15).check(15)
    with pytest.raises(ValueError, match="horizon must be an int >= 1, got 0"):
        ETR1(tau=1).check(0)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"tau": 0}, "tau must be an int >= 1, got 0"),
        ({"tau": 1.5}, "tau must be an int >= 1, got 1.5"),
        ({"tau": True}, "tau must be an int >= 1, got True"),
        ({"tau": 1, "r": math.nan}, "r must be a finite number, got nan"),
        ({"tau": 1, "eps": -0.01}, r"eps must be a finite number >= 0, got -0.01"),
        ({"tau": 1, "mode": "maximize"}, "mode must be 'max' or 'min', got 'maximize'"),
        ({"tau": 1, "mode": "min"}, "r must be given when mode='min'"),
    ],
)
def test_bad_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ETR1(**kwargs)


def test_monitor_matches_should_stop():
    rng = np.random.default_rng(1)
    for mode, r in (("max", 0.1), ("min", 0.9)):
        rule = ETR1(2, r=r, mode=mode)
        mon = Monitor(rule, horizon=6)
        for trial in range(50):
            curve = rng.uniform(0, 1, size=6)
            for t in range(1, 7):
                got = mon.report(trial, t, curve[t - 1])
                want = t < 6 and rule.should_stop(curve[:t], mon.history)
                assert got == want
            mon.complete(trial)
