"""Median rule (Vizier, literal): edges in both modes, the median arithmetic, gaps, and the
worked examples of docs/stopping.md where Ray Tune's and Syne Tune's median rules differ."""

import math

import numpy as np
import pytest

from lcore.stopping import History, MedianRule, Monitor, get_rule


def below(x):
    return float(np.nextafter(x, -np.inf))


def above(x):
    return float(np.nextafter(x, np.inf))


def running_average(c, t):
    """Left-to-right float64 sum over the observed epochs <= t, divided by their count."""
    vals = [float(v) for v in c[:t] if not math.isnan(v)]
    if not vals:
        return math.nan
    s = 0.0
    for v in vals:
        s += v
    return s / len(vals)


def reference(curve, completed, min_completed, warmup, mode):
    t = len(curve)
    if t < warmup:
        return False
    avgs = [running_average(c, t) for c in completed]
    avgs = [a for a in avgs if not math.isnan(a)]
    if len(avgs) < min_completed or not avgs:
        return False
    med = float(np.median(avgs))
    obs = [v for v in curve if not math.isnan(v)]
    if mode == "max":
        return max(obs) < med
    return min(obs) > med


def hist(rows, mode="max"):
    rows = np.asarray(rows, dtype=float)
    return History(rows.shape[1], rows, mode=mode)


# ----- edges ------------------------------------------------------------------------------
def test_strict_edge_max_odd_count():
    h = hist([[0.5, 0.5, 1.0], [0.25, 0.25, 1.0], [0.75, 0.75, 1.0]])  # median at t=2: 0.5
    rule = MedianRule()
    assert not rule.should_stop(np.array([0.0, 0.5]), h)
    assert rule.should_stop(np.array([0.0, below(0.5)]), h)
    # the best value so far counts, not the last one
    assert not rule.should_stop(np.array([0.5, 0.0]), h)


def test_even_count_uses_mean_of_middle_values():
    h = hist([[0.25, 0.75, 1.0], [0.5, 1.0, 1.0]])  # averages at t=2: 0.5, 0.75 -> 0.625
    assert h.median_running_average(2) == (0.625, 2)
    rule = MedianRule()
    assert not rule.should_stop(np.array([0.625, 0.0]), h)
    assert rule.should_stop(np.array([below(0.625), 0.0]), h)


def test_strict_edge_min_mode():
    h = hist([[0.5, 0.5, 0.1], [0.25, 0.25, 0.1], [0.75, 0.75, 0.1]], mode="min")
    rule = MedianRule(mode="min")
    assert not rule.should_stop(np.array([0.9, 0.5]), h)
    assert rule.should_stop(np.array([0.9, above(0.5)]), h)
    assert not rule.should_stop(np.array([0.1, 0.9]), h)  # best (smallest) so far counts


def test_warmup_and_min_completed():
    h = hist([[0.5, 0.5, 0.5, 1.0]])
    assert MedianRule(warmup=2).should_stop(np.array([0.0, 0.0]), h)
    assert not MedianRule(warmup=3).should_stop(np.array([0.0, 0.0]), h)
    assert MedianRule(min_completed=1).should_stop(np.array([0.0]), h)
    assert not MedianRule(min_completed=2).should_stop(np.array([0.0]), h)
    h.append([0.5, 0.5, 0.5, 1.0])
    assert MedianRule(min_completed=2).should_stop(np.array([0.0]), h)
    assert not MedianRule().should_stop(np.array([0.0]), History(4))


def test_mode_min_is_exact_mirror_of_max():
    rng = np.random.default_rng(5)
    for _ in range(300):
        T = int(rng.integers(2, 16))
        k = int(rng.integers(0, 9))
        completed = rng.uniform(0, 1, size=(k, T))
        t = int(rng.integers(1, T))
        curve = rng.uniform(0, 1, size=t)
        mc, wu = int(rng.integers(1, 4)), int(rng.integers(1, T))
        a = MedianRule(mc, wu).should_stop(curve, History(T, completed))
        b = MedianRule(mc, wu, mode="min").should_stop(-curve, History(T, -completed, mode="min"))
        assert a == b == reference(curve, completed, mc, wu, "max")


def test_random_against_reference_with_gaps_and_ties():
    rng = np.random.default_rng(11)
    for mode in ("max", "min"):
        for _ in range(400):
            T = int(rng.integers(2, 8))
            k = int(rng.integers(0, 8))
            completed = rng.integers(0, 9, size=(k, T)) / 8
            completed[rng.uniform(size=(k, T)) < 0.2] = np.nan
            completed[:, T - 1] = rng.integers(0, 9, size=k) / 8
            t = int(rng.integers(1, T))
            curve = rng.integers(0, 9, size=t) / 8
            curve[:-1][rng.uniform(size=t - 1) < 0.3] = np.nan
            mc, wu = int(rng.integers(1, 3)), int(rng.integers(1, T))
            rule = MedianRule(mc, wu, mode=mode)
            want = reference(curve, completed, mc, wu, mode)
            assert rule.should_stop(curve, History(T, completed, mode=mode)) == want


def test_incremental_history_matches_numpy_median():
    rng = np.random.default_rng(4)
    T = 15
    h = History(T)
    rows = []
    for _ in range(101):
        row = rng.uniform(size=T)
        h.append(row)
        rows.append(row)
        for t in (1, 7, 15):
            avgs = [running_average(r, t) for r in rows]
            assert h.median_running_average(t) == (float(np.median(avgs)), len(rows))


def test_gaps_in_completed_curve_are_skipped():
    nan = math.nan
    h = hist([[nan, 0.5, 1.0], [0.25, nan, 1.0]])
    assert h.median_running_average(1) == (0.25, 1)  # first curve not in the median at t=1
    assert h.median_running_average(2) == ((0.25 + 0.5) / 2, 2)
    assert not MedianRule(min_completed=2).should_stop(np.array([0.0]), h)
    assert MedianRule(min_completed=1).should_stop(np.array([0.0]), h)
    # the trial's own gaps: best over observed epochs
    assert not MedianRule().should_stop(np.array([0.5, nan, 0.0]), hist([[0.5, 0.5, 0.5, 1]]))


# ----- worked examples of docs/stopping.md (lcore's side) ----------------------------------
def test_ray_tune_example_lcore_continues():
    # Ray Tune MedianStoppingRule(time_attr="training_iteration", grace_period=2,
    # min_samples_required=1): running means skip results before the grace period, so the
    # completed trial's mean at t=2 is 0.6 and Ray stops B (best 0.5 < 0.6). lcore averages
    # from epoch 1: (0.0 + 0.6) / 2 = 0.3, and B's best 0.5 is not below it.
    h = hist([[0.0, 0.6, 0.6]])
    assert h.median_running_average(2) == (0.3, 1)
    assert not MedianRule(warmup=2).should_stop(np.array([0.5, 0.4]), h)


def test_ray_tune_example_running_trials_do_not_count():
    # Ray (grace_period=1, min_samples_required=1) takes the median over every other trial
    # that reached t, running ones included: at t=2 the means 0.5 (A), 0.9, 0.9 (R1, R2 still
    # running) give 0.9, and B's best 0.6 < 0.9 stops B. lcore: only A completed, median 0.5.
    mon = Monitor("median", horizon=3)
    for e in (1, 2, 3):
        mon.report("A", e, 0.5)
    mon.complete("A")
    for trial in ("R1", "R2"):
        assert not mon.report(trial, 1, 0.9)
        assert not mon.report(trial, 2, 0.9)
    assert not mon.report("B", 1, 0.6)
    assert not mon.report("B", 2, 0.6)
    assert mon.n_completed == 1 and mon.running == ("R1", "R2", "B")


def test_syne_tune_example_lcore_continues():
    # Syne Tune MedianStoppingRule (grace_population=5, rank_cutoff=0.5) ranks the trial's
    # own running average at t=2, (0.6 + 0.2) / 2 = 0.4, among the 5 results at t=2 (four 0.5's
    # and its own): 4 of 5 are better, rank 0.8 > 0.5, so Syne Tune stops it. lcore compares
    # its best value 0.6 with the median 0.5 and continues.
    h = hist([[0.2, 0.8, 0.8]] * 4)
    assert h.median_running_average(2) == (0.5, 4)
    rule = MedianRule()
    assert not rule.should_stop(np.array([0.6]), h)
    assert not rule.should_stop(np.array([0.6, 0.2]), h)


# ----- validation -------------------------------------------------------------------------
def test_attributes():
    rule = get_rule("median")
    assert (rule.name, rule.min_completed, rule.warmup, rule.mode) == ("median", 1, 1, "max")


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"min_completed": 0}, "min_completed must be an int >= 1, got 0"),
        ({"warmup": 0}, "warmup must be an int >= 1, got 0"),
        ({"warmup": 2.0}, "warmup must be an int >= 1, got 2.0"),
        ({"mode": None}, "mode must be 'max' or 'min', got None"),
    ],
)
def test_bad_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        MedianRule(**kwargs)


def test_check_warmup_against_horizon():
    MedianRule(warmup=14).check(15)
    with pytest.raises(ValueError, match=r"warmup must be an int in \[1, T-1\] = \[1, 14\]"):
        MedianRule(warmup=15).check(15)


def test_monitor_matches_fresh_history_many_parallel_trials():
    rng = np.random.default_rng(9)
    T = 8
    for mode in ("max", "min"):
        rule = MedianRule(min_completed=2, warmup=2, mode=mode)
        mon = Monitor(rule, horizon=T)
        curves = {i: rng.uniform(size=T) for i in range(60)}
        pos = {i: 0 for i in curves}
        done = []
        active = list(curves)
        while active:
            i = active[int(rng.integers(len(active)))]
            t = pos[i] = pos[i] + 1
            stop = mon.report(i, t, curves[i][t - 1])
            if t < T:
                assert stop == reference(curves[i][:t], done, 2, 2, mode)
            if t == T:
                done.append(curves[i])
            if stop or t == T:
                mon.complete(i)
                active.remove(i)
        assert mon.n_completed == len(done)
