"""The test oracle's own tests: tiny hand-made tables whose replays are worked out by hand.

The event-by-event derivations are in the comments; (e, c) is an event at time e of the trial
with start counter c, w0/w1/w2 the workers.  Every table is replayed with a fixed row order
(``chooser=[...]``, ``n_init=0``), so that no random draw is involved.
"""

import math
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from reference_replay import reference_replay  # noqa: E402

nan = np.nan


def f(x):
    """The float64 value of the float32 nearest to x (what the table stores)."""
    return float(np.float32(x))


def table(acc, time=None):
    acc = np.asarray(acc, dtype=np.float32)
    time = np.ones_like(acc) if time is None else np.asarray(time, dtype=np.float32)
    return acc, np.where(np.isnan(acc), 0, time).astype(np.float32)


def replay(acc, time, goal, order=None, **kw):
    """One repeat in a fixed row order; ``goal`` is rounded to float32 like table values."""
    kw.setdefault("n_init", 0)
    order = list(range(len(acc))) if order is None else order
    return reference_replay(acc, time, None, np.array([1, 2, 3, 4], dtype=np.uint64), f(goal),
                            chooser=order, **kw)


def same(a, b):
    """Lists equal, NaN equal to NaN."""
    np.testing.assert_array_equal(np.asarray(a, dtype=float), np.asarray(b, dtype=float))


# ---- event order --------------------------------------------------------------------------

def test_two_workers_equal_times_resolve_by_start_counter_not_worker_or_row():
    acc, time = table([[0.1, 0.2], [0.1, 0.3], [0.5, 0.9], [0.5, 0.8]],
                      [[2, 2], [1, 1], [1, 1], [1, 3]])
    # order 0, 1, 3, 2.  t=0: w0 <- row 0 (c0), w1 <- row 1 (c1)
    # (1,c1) row 1 epoch 1.  (2,c0) row 0 epoch 1 (before (2,c1)).
    # (2,c1) row 1 completes, reports 0.3; w1 <- row 3 (c2) at 2.
    # (3,c2) row 3 epoch 1, next end 3 + 3 = 6.  (4,c0) row 0 completes (0.2); w0 <- row 2
    # (c3) at 4.  (5,c3) row 2 epoch 1, next end 6.
    # At 6 both reach the goal: (6,c2) first -> row 3 (w1, row index 3) reports 0.8 and wins;
    # row 2 (w0, lower row) is dropped with 1 epoch.
    r = replay(acc, time, goal=0.8, order=[0, 1, 3, 2], n_workers=2)
    assert r["rows"] == [0, 1, 3, 2]
    assert r["worker"] == [0, 1, 1, 0]
    assert r["start"] == [0.0, 0.0, 2.0, 4.0]
    same(r["end"], [4.0, 2.0, 6.0, nan])
    same(r["clock"], r["end"])
    assert r["epochs"] == [2, 2, 2, 1]
    same(r["reported"], [f(0.2), f(0.3), f(0.8), nan])
    assert r["state"] == ["completed", "completed", "completed", "running"]
    assert r["success"] and r["time_to_goal"] == 6.0
    assert r["best_acc"] == f(0.8) and r["n_evaluated"] == 3 and r["epochs_trained"] == 7


def test_three_workers_zero_time_epochs_failed_rows_and_a_row_with_no_epoch():
    acc, time = table([
        [0.1, 0.2, 0.3],     # row 0: times 1, 0, 1 -> epochs end at 1, 1, 2
        [0.2, 0.3, 0.4],     # row 1: times 1, 1, 0 -> 1, 2, 2
        [0.3, nan, nan],     # row 2: fails after epoch 1 (at 2)
        [nan, nan, nan],     # row 3: no finished epoch
        [0.5, 0.6, 0.95],    # row 4: times 0, 0, 1
        [0.4, 0.5, 0.95],    # row 5: times 1, 1, 1
    ], [[1, 0, 1], [1, 1, 0], [2, 0, 0], [0, 0, 0], [0, 0, 1], [1, 1, 1]])
    # t=0: w0 <- 0 (c0), w1 <- 1 (c1), w2 <- 2 (c2).
    # (1,c0) row 0 ep 1, next end 1 + 0 = 1: (1,c0) ep 2, next 2.  (1,c1) row 1 ep 1.
    # (2,c0) row 0 completes (0.3); w0 <- row 3 (c3): no epoch, ends at once at 2, reports 0,
    #   failed; w0 <- row 4 (c4) at 2, first epoch ends at 2 + 0 = 2.
    # (2,c1) row 1 ep 2, next 2 + 0: (2,c1) completes (0.4); w1 <- row 5 (c5), next end 3.
    # (2,c2) row 2 fails after ep 1, reports 0.3; w2: no candidate left, stays free.
    # (2,c4) row 4 ep 1, (2,c4) ep 2, next 3.  At 3: (3,c4) before (3,c5): row 4 reaches
    # 0.95 -> success at 3; row 5 is dropped before its first epoch.
    r = replay(acc, time, goal=0.95, n_workers=3)
    assert r["rows"] == [0, 1, 2, 3, 4, 5]
    assert r["worker"] == [0, 1, 2, 0, 0, 1]
    assert r["start"] == [0.0, 0.0, 0.0, 2.0, 2.0, 2.0]
    same(r["end"], [2.0, 2.0, 2.0, 2.0, 3.0, nan])
    assert r["epochs"] == [3, 3, 1, 0, 3, 0]
    same(r["reported"], [f(0.3), f(0.4), f(0.3), 0.0, f(0.95), nan])
    assert r["state"] == ["completed", "completed", "failed", "failed", "completed", "running"]
    assert r["stopped"] == [False] * 6
    assert r["success"] and r["time_to_goal"] == 3.0
    assert r["n_evaluated"] == 5 and r["epochs_trained"] == 10 and r["best_acc"] == f(0.95)


def test_one_worker_is_the_sequential_replay():
    acc, time = table([[nan, nan, nan], [0.4, nan, nan], [0.5, 0.6, 0.99]])
    r = replay(acc, time, goal=0.99)
    # row 0 costs nothing and reports 0; row 1 fails at 1; row 2 ends at 1 + 3 = 4
    assert r["epochs"] == [0, 1, 3] and r["worker"] == [0, 0, 0]
    assert r["start"] == [0.0, 0.0, 1.0] and r["end"] == [0.0, 1.0, 4.0]
    assert r["state"] == ["failed", "failed", "completed"]
    assert r["success"] and r["time_to_goal"] == 4.0


def test_nothing_reaches_the_goal_runs_until_the_table_is_exhausted():
    acc, time = table([[0.1, 0.2], [0.3, 0.4], [0.2, 0.1]], [[1, 1], [2, 2], [1, 1]])
    # W = 2: row 0 ends at 2 (w0 <- row 2, ends at 4), row 1 ends at 4; nothing is dropped
    r = replay(acc, time, goal=0.9, n_workers=2)
    assert not r["success"] and math.isinf(r["time_to_goal"])
    assert r["end"] == [2.0, 4.0, 4.0] and r["worker"] == [0, 1, 0]
    assert r["n_evaluated"] == 3 and r["best_acc"] == f(0.4)


# ---- budgets ------------------------------------------------------------------------------

D_ACC, D_TIME = table([[0.1, 0.2], [0.1, 0.3], [0.5, 0.99], [0.2, 0.3]],
                      [[3, 3], [2, 2], [2, 2], [1, 1]])


def test_max_time_no_start_at_or_after_it_and_late_reports_fail():
    # W = 2: row 0 (w0) ends at 6, row 1 (w1) at 4; row 2 starts at 4 on w1 and ends at 8.
    # max_time 5: at 6 no start (6 >= 5); row 2 reaches the goal at 8 > 5: the run ends
    # there, unsuccessfully; row 3 never starts.
    r = replay(D_ACC, D_TIME, goal=0.99, n_workers=2, max_time=5.0)
    assert r["rows"] == [0, 1, 2] and r["end"] == [6.0, 4.0, 8.0]
    assert not r["success"] and math.isinf(r["time_to_goal"]) and r["best_acc"] == f(0.99)
    # max_time 8: row 3 starts at 6 (< 8) and ends at 8 too, but (8,c2) comes first: success
    # at 8 <= 8, row 3 dropped after 1 epoch
    r = replay(D_ACC, D_TIME, goal=0.99, n_workers=2, max_time=8.0)
    assert r["rows"] == [0, 1, 2, 3] and r["start"] == [0.0, 0.0, 4.0, 6.0]
    same(r["end"], [6.0, 4.0, 8.0, nan])
    assert r["epochs"] == [2, 2, 2, 1] and r["epochs_trained"] == 7
    assert r["success"] and r["time_to_goal"] == 8.0
    # max_time 4: row 1 frees w1 at 4 = max_time: nothing starts; rows 0, 1 only
    r = replay(D_ACC, D_TIME, goal=0.99, n_workers=2, max_time=4.0)
    assert r["rows"] == [0, 1] and r["n_evaluated"] == 2 and not r["success"]


def test_max_evals_counts_started_rows():
    acc, time = table([[0.1, 0.2], [0.1, 0.3], [0.5, 0.6], [0.2, 0.99]],
                      [[3, 3], [2, 2], [2, 2], [1, 1]])
    # W = 2, max_evals 3: rows 0, 1 at 0, row 2 at 4; at 6 three rows have started
    r = replay(acc, time, goal=0.99, n_workers=2, max_evals=3)
    assert r["rows"] == [0, 1, 2] and not r["success"] and r["n_evaluated"] == 3
    # max_evals 4: row 3 starts at 6 on w0 and ends at 8 after row 2 ((8,c2) then (8,c3))
    r = replay(acc, time, goal=0.99, n_workers=2, max_evals=4)
    assert r["worker"] == [0, 1, 1, 0] and r["end"] == [6.0, 4.0, 8.0, 8.0]
    assert r["success"] and r["time_to_goal"] == 8.0
    # max_evals 1 with W = 2: one worker stays idle
    r = replay(acc, time, goal=0.99, n_workers=2, max_evals=1)
    assert r["rows"] == [0] and r["end"] == [6.0]


def test_more_workers_than_rows():
    acc, time = table([[0.1, 0.2], [0.3, 0.99]])
    r = replay(acc, time, goal=0.99, n_workers=4)
    assert r["worker"] == [0, 1] and r["end"] == [2.0, 2.0] and r["time_to_goal"] == 2.0


# ---- rules on the history of all trials ---------------------------------------------------

def test_median_counts_only_trials_completed_at_the_decision_max_and_min():
    acc, time = table([[0.5, 0.6, 0.7], [0.1, 0.1, 0.1], [0.2, 0.3, 0.99]])
    # W = 1: row 0 completes; row 1 at t = 1: 0.1 < median(0.5) -> stopped at 1; row 2 at
    # t = 1: 0.2 < 0.5 -> stopped at 1
    r1 = replay(acc, time, goal=0.99, rule="median")
    assert r1["epochs"] == [3, 1, 1] and r1["stopped"] == [False, True, True]
    # W = 2: rows 0 and 1 train side by side; nothing has completed when row 1 is asked at
    # t = 1, 2 -> row 1 completes at 3 ((3,c0) first: row 0 completes, w0 <- row 2).  Row 2
    # at (4,c2), t = 1: running averages of rows 0, 1 at t=1 are 0.5, 0.1, median 0.3;
    # 0.2 < 0.3 -> stopped; nothing reaches the goal.
    r2 = replay(acc, time, goal=0.99, rule="median", n_workers=2)
    assert r2["epochs"] == [3, 3, 1] and r2["stopped"] == [False, False, True]
    assert r2["end"] == [3.0, 3.0, 4.0] and not r2["success"] and r2["n_stopped"] == 1
    # the same in losses (1 - acc): stop when min(y^1..y^t) > median of running averages
    loss, _ = table([[0.5, 0.4, 0.3], [0.9, 0.9, 0.9], [0.8, 0.7, 0.01]])
    m1 = replay(loss, time, goal=0.01, rule="median", mode="min")
    assert m1["epochs"] == [3, 1, 1] and m1["n_stopped"] == 2 and not m1["success"]
    m2 = replay(loss, time, goal=0.01, rule="median", mode="min", n_workers=2)
    # row 2 at t = 1: 0.8 > median(0.5, 0.9) = 0.7 -> stopped
    assert m2["epochs"] == [3, 3, 1] and m2["stopped"] == [False, False, True]
    assert not m2["success"] and m2["best_acc"] == f(0.3)


def test_median_min_completed_and_warmup_in_min_mode():
    loss, time = table([[0.5, 0.4, 0.3], [0.9, 0.9, 0.9], [0.4, 0.3, 0.2], [0.8, 0.7, 0.01]])
    # min_completed 2: row 1 runs on (one completed); row 2 at t=1: 0.4 > median(0.5, 0.9)?
    # no; t=2: min 0.3 > median of (0.45, 0.9) = 0.675? no.  Row 3 at t = 1: 0.8 > median of
    # (0.5, 0.9, 0.4) = 0.5 -> stopped.
    r = replay(loss, time, goal=0.01, rule="median", rule_params={"min_completed": 2},
               mode="min")
    assert r["epochs"] == [3, 3, 3, 1]
    # warmup 2: t = 1 is never asked; row 1 at t = 2: 0.9 > 0.45 -> stopped; row 3 at t = 2:
    # min(0.8, 0.7) = 0.7 > median(avg2 of rows 0, 2) = (0.45 + 0.35) / 2 = 0.4 -> stopped
    r = replay(loss, time, goal=0.01, rule="median", rule_params={"warmup": 2}, mode="min")
    assert r["epochs"] == [3, 2, 3, 2] and r["n_stopped"] == 2


def test_etr1_min_form_at_the_boundary():
    above = float(np.nextafter(np.float32(0.75), np.float32(1)))
    loss, time = table([[0.75, 0.5, 0.4], [above, 0.5, 0.4], [1.5, 0.3, 0.1]])
    # r - eps = 1.0 - 0.25 = 0.75: stop at tau = 1 when y^1 > 0.75 (strictly)
    r = replay(loss, time, goal=0.1, rule="etr1", rule_params={"tau": 1, "r": 1.0, "eps": 0.25},
               mode="min")
    assert r["epochs"] == [3, 1, 1] and r["stopped"] == [False, True, True]
    assert not r["success"] and r["best_acc"] == f(0.4)
    r = replay(loss, time, goal=0.1, rule="etr1", rule_params={"tau": 2, "r": 1.0, "eps": 0.25},
               mode="min")
    assert r["epochs"] == [3, 3, 3] and r["success"] and r["time_to_goal"] == 9.0
    with pytest.raises(ValueError, match="etr1 on a 'min' table needs r and eps"):
        replay(loss, time, goal=0.1, rule="etr1", rule_params={"tau": 1}, mode="min")


def test_etr2_min_form_by_hand():
    loss, time = table([
        [2.0, 1.6, 1.2, 1.0],   # completes; c = row 0: q*y^i >= 1.0 for i = 1, 2 -> tau = 2
        [3.0, 3.3, 3.0, 0.9],   # t=2: 0.5 * 3.3 = 1.65 > 1.6 -> stopped at 2
        [3.0, 3.2, 2.0, 0.8],   # t=2: 0.5 * f32(3.2) == f32(1.6): not strictly above; completes
        #                         with 0.8 < 1.0: c = row 2, tau = 3 (0.75 * 2.0 >= 0.8)
        [1.0, 5.0, 4.5, 0.5],   # t=2 not asked at tau; t=3: 0.5 * 4.5 > 2.0 -> stopped at 3
        [1.0, 1.0, 1.0, 0.3],   # t=3: 0.5 * 1.0 <= 2.0; completes: 0.3 <= goal 0.5
    ])
    r = replay(loss, time, goal=0.5, rule="etr2", rule_params={"p": 0.5}, mode="min")
    assert r["epochs"] == [4, 2, 4, 3, 4]
    assert r["success"] and r["time_to_goal"] == 17.0
    assert r["n_stopped"] == 2 and r["n_harmful"] == 1  # row 3's objective 0.5 <= 0.5
    # q = 1: tau = T, the rule never decides; row 3 then completes with 0.5 <= 0.5 at 16
    r = replay(loss, time, goal=0.5, rule="etr2", rule_params={"p": 0.5, "q": 1.0}, mode="min")
    assert r["epochs"] == [4, 4, 4, 4] and r["n_stopped"] == 0 and r["time_to_goal"] == 16.0


ETR2_TIME = [[2, 2], [1, 1], [1, 1], [2, 1], [1, 1]]


def test_etr2_reference_is_the_first_completed_of_the_best_with_two_workers():
    acc, time = table([[0.3, 0.6], [0.5, 0.6], [0.45, 0.5], [0.4, 0.5], [0.9, 0.95]],
                      ETR2_TIME)
    # T = 2: tau = 1 whatever the reference; p = 1: stop at t = 1 if y^1 < y_c^1.
    # t=0: w0 <- 0, w1 <- 1.  (1,c1) row 1 ep 1: nothing completed.  (2,c0) row 0 ep 1 (0.3):
    # nothing completed yet (row 1 completes at (2,c1), after it) -> runs on.
    # (2,c1) row 1 completes (0.6): c = row 1 (y_c^1 = 0.5); w1 <- row 2.
    # (3,c2) row 2: 0.45 < 0.5 -> stopped; w1 <- row 3 (c3), first epoch ends at 5.
    # (4,c0) row 0 completes with 0.6, a tie: c stays row 1 (completed first), although
    # row 0 started first; w0 <- row 4.
    # (5,c3) row 3: 0.4 < 0.5 -> stopped (with row 0 as reference, 0.4 >= 0.3 would run on).
    # (5,c4) row 4 ep 1; (6,c4) completes with 0.95: the goal.
    r = replay(acc, time, goal=0.95, rule="etr2", rule_params={"p": 1.0}, n_workers=2)
    assert r["worker"] == [0, 1, 1, 1, 0]
    assert r["start"] == [0.0, 0.0, 2.0, 3.0, 4.0] and r["end"] == [4.0, 2.0, 3.0, 5.0, 6.0]
    assert r["epochs"] == [2, 2, 1, 1, 2]
    assert r["stopped"] == [False, False, True, True, False]
    assert r["success"] and r["time_to_goal"] == 6.0 and r["n_stopped"] == 2


def test_etr2_min_form_with_two_workers():
    loss, time = table([[0.7, 0.4], [0.5, 0.4], [0.55, 0.5], [0.6, 0.5], [0.1, 0.05]],
                       ETR2_TIME)
    # the mirror of the test above: c = row 1 (first to complete with 0.4, y_c^1 = 0.5);
    # stop at t = 1 if 1.0 * y^1 > 0.5: rows 2 (0.55) and 3 (0.6; 0.6 <= 0.7 of row 0)
    r = replay(loss, time, goal=0.05, rule="etr2", rule_params={"p": 1.0}, n_workers=2,
               mode="min")
    assert r["stopped"] == [False, False, True, True, False]
    assert r["end"] == [4.0, 2.0, 3.0, 5.0, 6.0] and r["time_to_goal"] == 6.0


def test_etr2_waits_for_a_completed_trial_with_two_workers():
    acc, time = table([[0.5, 0.9], [0.1, 0.2], [0.2, 0.95]])
    # W = 2: rows 0 and 1 are asked at t = 1 before anything completed -> both run on; at 2
    # row 0 completes (c = row 0), row 1 completes; row 2 at (3,c2): 0.2 < 0.5 -> stopped
    r = replay(acc, time, goal=0.95, rule="etr2", rule_params={"p": 1.0}, n_workers=2)
    assert r["epochs"] == [2, 2, 1] and not r["success"]
    # W = 1: row 1 is asked after row 0 completed: 0.1 < 0.5 -> stopped; row 2 too
    r = replay(acc, time, goal=0.95, rule="etr2", rule_params={"p": 1.0})
    assert r["epochs"] == [2, 1, 1]


# ---- user rules ---------------------------------------------------------------------------

def test_user_rule_sees_every_trial_with_its_state():
    acc, time = table([
        [0.1, 0.2, 0.3], [0.2, 0.3, 0.4], [0.3, nan, nan], [nan, nan, nan],
        [0.5, 0.6, 0.95], [0.4, 0.5, 0.95],
    ], [[1, 0, 1], [1, 1, 0], [2, 0, 0], [0, 0, 0], [0, 0, 1], [1, 1, 1]])
    calls = []

    def spy(curve, t, trials):
        calls.append((curve, t, trials))
        return False

    r = replay(acc, time, goal=0.95, rule=spy, n_workers=3)
    base = replay(acc, time, goal=0.95, n_workers=3)
    assert r["rows"] == base["rows"] and r["end"] == base["end"]
    # the decisions in event order (see the three-worker test above): rows 0, 0, 1, 1, 2, 4, 4
    assert [(c[0], c[1]) for c in calls] == [
        ([f(0.1)], 1), ([f(0.1), f(0.2)], 2), ([f(0.2)], 1), ([f(0.2), f(0.3)], 2),
        ([f(0.3)], 1), ([f(0.5)], 1), ([f(0.5), f(0.6)], 2)]
    # row 0 at t = 1: itself running, rows 1 and 2 running with nothing observed yet
    assert calls[0][2] == [([f(0.1)], "running"), ([], "running"), ([], "running")]
    # row 4 at t = 1 (2,c4): rows 0, 1 completed, 2 and 3 failed, row 5 started at 2
    assert calls[5][2] == [
        ([f(0.1), f(0.2), f(0.3)], "completed"), ([f(0.2), f(0.3), f(0.4)], "completed"),
        ([f(0.3)], "failed"), ([], "failed"), ([f(0.5)], "running"), ([], "running")]


def test_user_rule_decides_and_stopped_trials_show_as_stopped():
    acc, time = table([[0.5, 0.6, 0.7], [0.1, 0.1, 0.1], [0.2, 0.3, 0.99]])

    def stop_second_trial_at_1(curve, t, trials):
        return len(trials) == 2 and t == 1

    seen = []

    def spy(curve, t, trials):
        seen.append([s for _, s in trials])
        return stop_second_trial_at_1(curve, t, trials)

    r = replay(acc, time, goal=0.99, rule=spy)
    assert r["epochs"] == [3, 1, 3] and r["success"] and r["time_to_goal"] == 7.0
    assert seen[-1] == ["completed", "stopped", "running"]


def test_user_rule_like_builtin_gives_the_same_replay():
    rng = np.random.default_rng(0)
    acc = np.sort(rng.uniform(0, 1, (40, 4)), axis=1).astype(np.float32)
    time = rng.integers(1, 4, (40, 4)).astype(np.float32)

    def my_etr1(curve, t, trials):
        return t == 2 and curve[1] < 0.4 + 0.05

    state = np.array([5, 6, 7, 8], dtype=np.uint64)
    for W in (1, 3):
        a = reference_replay(acc, time, None, state, 0.98, "etr1", {"tau": 2, "r": 0.4},
                             n_workers=W)
        b = reference_replay(acc, time, None, state, 0.98, my_etr1, n_workers=W)
        assert a.keys() == b.keys() and a["n_stopped"] > 0
        for k in a:
            if k in ("start", "end", "clock", "reported"):
                same(a[k], b[k])
            else:
                assert a[k] == b[k], k


def test_user_rule_must_return_a_bool():
    acc, time = table([[0.1, 0.2], [0.3, 0.99]])
    with pytest.raises(TypeError, match="user rule returned 1, not a bool"):
        replay(acc, time, goal=0.99, rule=lambda curve, t, trials: 1)


def test_bad_mode():
    acc, time = table([[0.1, 0.2]])
    with pytest.raises(ValueError, match="mode must be 'max' or 'min', got 'up'"):
        replay(acc, time, goal=0.2, mode="up")


# ---- direction: a loss table is an accuracy table negated ---------------------------------

def _knn_forest(unit):
    """A surrogate that is exactly odd in y: mean = the value of the nearest seen row, var =
    the distance to it (so EI is defined, and flips exactly with y -> -y)."""
    unit = np.asarray(unit)

    def forest(X, y, seed64):
        d = np.linalg.norm(unit[:, None, :] - X[None, :, :], axis=2)
        j = np.argmin(d, axis=1)
        return y[j], d[np.arange(len(unit)), j]
    return forest


@pytest.mark.parametrize("W", [1, 3])
@pytest.mark.parametrize("chooser", ["random", "rf-ei"])
@pytest.mark.parametrize("rule,max_params,min_params", [
    ("none", {}, {}),
    ("etr1", {"tau": 1, "r": 0.3, "eps": 0.1}, {"tau": 1, "r": -0.3, "eps": 0.1}),
    ("median", {}, {}),
    ("median", {"min_completed": 3, "warmup": 2}, {"min_completed": 3, "warmup": 2}),
])
def test_min_mode_on_negated_values_mirrors_max_mode(rule, max_params, min_params, chooser,
                                                     W):
    rng = np.random.default_rng(4)
    n, T = 40, 4
    acc = np.sort(rng.uniform(0.05, 0.95, (n, T)), axis=1).astype(np.float32)
    acc[::3] = np.round(acc[::3] * 5) / 5
    acc[7, 2:] = nan
    acc[9, 1:] = nan
    time = rng.integers(0, 3, (n, T)).astype(np.float32)
    time[np.isnan(acc)] = 0
    unit = rng.random((n, 2))
    goal = float(np.sort(acc[:, -1][~np.isnan(acc[:, -1])])[-3])
    forest = _knn_forest(unit)
    for s in range(4):
        state = np.array([s + 1, 11, 12, 13], dtype=np.uint64)
        a = reference_replay(acc, time, unit, state, goal, rule, max_params, chooser=chooser,
                             forest=forest, n_workers=W, objective="best")
        b = reference_replay(-acc, time, unit, state, -goal, rule, min_params,
                             chooser=chooser, forest=forest, n_workers=W, mode="min",
                             objective="best")
        same(a["start"], b["start"])
        same(a["end"], b["end"])
        for k in ("rows", "worker", "epochs", "stopped", "state"):
            assert a[k] == b[k], (k, s)
        same(a["reported"], [-v for v in b["reported"]])
        assert a["best_acc"] == -b["best_acc"]
        for k in ("success", "time_to_goal", "n_stopped", "n_harmful", "epochs_trained"):
            assert a[k] == b[k], k


# ---- a second, differently built simulation of the worker model ---------------------------

def _heap_replay(acc, time, state, goal, W, max_time=math.inf, max_evals=None):
    """No rule, random chooser: a heap of (time, counter) events and per-worker slots."""
    import heapq

    from lcore._rng import PyRng

    n, T = acc.shape
    nfin = (~np.isnan(acc)).sum(axis=1)
    max_evals = n if max_evals is None else max_evals
    rng, cand = PyRng(state), list(range(n))
    rows, workers, starts, ends, epochs, reps = [], [], [], [], [], []
    heap = []
    result = (False, math.inf)

    def start(w, now):
        """Fill worker w at now; rows with no epoch end at once. Returns a goal report."""
        while len(rows) < max_evals and cand and now < max_time:
            x = cand.pop(rng.bounded(len(cand)))
            c = len(rows)
            rows.append(x), workers.append(w), starts.append(now), epochs.append(0)
            ends.append(math.nan), reps.append(math.nan)
            if nfin[x] == 0:
                ends[c], reps[c] = now, 0.0
                if 0.0 >= goal:
                    return now
                continue
            heapq.heappush(heap, (now + float(time[x, 0]), c))
            return None
        return None

    hit = None
    for w in range(W):
        hit = start(w, 0.0)
        if hit is not None:
            break
    while heap and hit is None:
        now, c = heapq.heappop(heap)
        x = rows[c]
        epochs[c] += 1
        if epochs[c] < nfin[x]:
            heapq.heappush(heap, (now + float(time[x, epochs[c]]), c))
            continue
        ends[c], reps[c] = now, float(acc[x, epochs[c] - 1])
        hit = now if reps[c] >= goal else start(workers[c], now)
    if hit is not None and hit <= max_time:
        result = (True, hit)
    return dict(rows=rows, worker=workers, start=starts, end=ends, epochs=epochs,
                reported=reps, success=result[0], time_to_goal=result[1])


@pytest.mark.parametrize("W", [1, 2, 3, 5])
def test_oracle_equals_a_heap_based_simulation(W):
    rng = np.random.default_rng(W)
    for rep in range(30):
        n, T = int(rng.integers(3, 25)), int(rng.integers(1, 5))
        acc = rng.uniform(0, 1, (n, T)).astype(np.float32)
        acc[rng.random(n) < 0.15, :] = nan
        for i in np.flatnonzero(rng.random(n) < 0.2):
            acc[i, rng.integers(1, T + 1):] = nan
        time = rng.integers(0, 3, (n, T)).astype(np.float32)
        time[np.isnan(acc)] = 0
        goal = float(np.float32(rng.uniform(0.7, 1.0)))
        max_time = [math.inf, float(rng.integers(1, 8))][rep % 2]
        max_evals = [None, int(rng.integers(1, n + 1))][(rep // 2) % 2]
        state = np.array([rep + 1, W, 7, 9], dtype=np.uint64)
        a = reference_replay(acc, time, None, state, goal, n_workers=W, max_time=max_time,
                             max_evals=max_evals)
        b = _heap_replay(acc, time, state, goal, W, max_time, max_evals)
        for k in b:
            if k in ("start", "end", "reported"):
                same(a[k], b[k])
            else:
                assert a[k] == b[k], (k, rep)
