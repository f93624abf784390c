"""Monitor, History and get_rule: semantics, errors, parallel trials, user rules."""

import math
import subprocess
import sys
import zlib

import numpy as np
import pytest

from lcore.stopping import (
    ETR1,
    ETR2,
    RULES,
    History,
    MedianRule,
    Monitor,
    Never,
    Rule,
    get_rule,
)


class Recorder(Rule):
    """A user rule: stops when the last value dropped, and records what it was shown."""

    name = "custom"

    def __init__(self):
        self.calls = []

    def should_stop(self, curve, history):
        self.calls.append((curve.copy(), history.completed.copy(), history.incumbent))
        return len(curve) >= 2 and curve[-1] < np.nanmax(curve[:-1])


# ----- errors -------------------------------------------------------------------------------
@pytest.fixture
def mon():
    return Monitor("median", horizon=5)


@pytest.mark.parametrize(
    "epoch, match",
    [
        (0, r"epoch must be an int in \[1, T\] = \[1, 5\], got 0"),
        (6, r"epoch must be an int in \[1, T\] = \[1, 5\], got 6"),
        (-1, r"epoch must be an int in \[1, T\] = \[1, 5\], got -1"),
        (math.nan, r"epoch must be a finite integer in \[1, T\] = \[1, 5\], got nan"),
        (math.inf, r"epoch must be a finite integer in \[1, T\] = \[1, 5\], got inf"),
        (1.5, r"epoch must be a finite integer in \[1, T\] = \[1, 5\], got 1.5"),
        ("1", r"epoch must be a finite integer in \[1, T\] = \[1, 5\], got '1'"),
        (True, r"epoch must be a finite integer in \[1, T\] = \[1, 5\], got True"),
    ],
)
def test_bad_epoch(mon, epoch, match):
    with pytest.raises(ValueError, match=match):
        mon.report("a", epoch, 0.5)
    assert mon.running == ()  # nothing recorded


def test_integral_epochs_accepted(mon):
    assert not mon.report("a", np.int64(1), 0.5)
    assert not mon.report("a", 2.0, np.float32(0.5))
    assert mon.curve("a").tolist() == [0.5, 0.5]


@pytest.mark.parametrize(
    "value, match",
    [
        (math.inf, "value must be a finite float or NaN \\(a failed epoch\\), got inf"),
        (-math.inf, "value must be a finite float or NaN \\(a failed epoch\\), got -inf"),
        ("0.5", "value must be a float \\(NaN: a failed epoch\\), got '0.5' of type str"),
        (None, "value must be a float \\(NaN: a failed epoch\\), got None"),
    ],
)
def test_bad_value(mon, value, match):
    with pytest.raises(ValueError, match=match):
        mon.report("a", 1, value)
    assert mon.running == ()


def test_repeated_and_out_of_order_epochs(mon):
    mon.report("a", 2, 0.5)
    with pytest.raises(ValueError, match=r"epoch 2 of trial 'a' was already reported"):
        mon.report("a", 2, 0.6)
    with pytest.raises(ValueError, match=r"epoch 1 of trial 'a' .* out of order .* is 2"):
        mon.report("a", 1, 0.6)
    assert mon.curve("a").tolist()[1] == 0.5


def test_report_after_complete_and_complete_errors(mon):
    mon.report("a", 1, 0.5)
    assert mon.complete("a") is False
    with pytest.raises(ValueError, match="trial 'a' was completed; it cannot report epoch 2"):
        mon.report("a", 2, 0.5)
    with pytest.raises(ValueError, match="trial 'a' was already completed"):
        mon.complete("a")
    with pytest.raises(ValueError, match="trial 'zz' is unknown: it has reported no epoch"):
        mon.complete("zz")
    with pytest.raises(ValueError, match="trial 'a' is not running"):
        mon.curve("a")


def test_constructor_errors():
    with pytest.raises(ValueError, match="mode must be 'max' or 'min', got 'maximise'"):
        Monitor("median", horizon=5, mode="maximise")
    with pytest.raises(ValueError, match="horizon must be an int >= 1, got 0"):
        Monitor("median", horizon=0)
    with pytest.raises(ValueError, match=r"tau must be an int in \[1, T-1\] = \[1, 4\], got 5"):
        Monitor("etr1", horizon=5, tau=5)
    with pytest.raises(ValueError, match="mode='min' differs from the rule's mode='max'"):
        Monitor(MedianRule(), horizon=5, mode="min")
    with pytest.raises(ValueError, match=r"parameters \(tau=1\) can only be given with a rule"):
        Monitor(ETR1(1), horizon=5, tau=1)
    with pytest.raises(ValueError,
                       match="unknown rule 'medain'; known rules: 'adaptive', 'etr1', 'etr2'"):
        Monitor("medain", horizon=5)
    with pytest.raises(TypeError, match="rule 'etr1' takes the parameters tau, r, eps, mode"):
        Monitor("etr1", horizon=5, tau=1, p=0.5)
    with pytest.raises(TypeError, match="rule must be a rule name .* got 3"):
        Monitor(3, horizon=5)


def test_modes_from_name_and_object():
    assert Monitor("median", horizon=5).mode == "max"
    assert Monitor("median", horizon=5, mode="min").rule.mode == "min"
    assert Monitor(MedianRule(mode="min"), horizon=5).mode == "min"
    assert Monitor(MedianRule(mode="min"), horizon=5, mode="min").mode == "min"


def test_get_rule():
    assert {"none", "etr1", "etr2", "median"} <= set(RULES)
    assert all(cls.name == name for name, cls in RULES.items())
    assert isinstance(get_rule("none"), Never) and get_rule("none").name == "none"
    assert get_rule("etr2", p=0.5, mode="min") == ETR2(0.5, mode="min")
    rule = ETR1(2)
    assert get_rule(rule) is rule
    with pytest.raises(ValueError,
                       match="unknown rule 'ETR1'; known rules: 'adaptive', 'etr1', 'etr2', "):
        get_rule("ETR1")


# ----- semantics ----------------------------------------------------------------------------
def test_reaching_horizon_completes_and_stopped_trials_do_not():
    mon = Monitor("median", horizon=3)
    assert [mon.report("a", e, v) for e, v in [(1, 0.2), (2, 0.8), (3, 0.9)]] == [False] * 3
    assert mon.n_completed == 1  # in the history at epoch T, before complete()
    assert mon.history.incumbent == 0.9
    assert mon.report("b", 1, 0.3) is False
    assert mon.report("b", 2, 0.45) is True  # 0.45 < (0.2 + 0.8) / 2
    assert mon.complete("b") is False
    assert mon.n_completed == 1
    assert mon.complete("a") is True
    np.testing.assert_array_equal(mon.history.completed, [[0.2, 0.8, 0.9]])


def test_advice_can_be_ignored_and_a_late_finisher_completes():
    mon = Monitor(ETR1(1), horizon=3)
    assert mon.report("a", 1, 0.0) is True
    assert mon.report("a", 2, 0.0) is False  # not a decision epoch
    assert mon.report("a", 3, 0.5) is False
    assert mon.complete("a") is True
    assert mon.n_completed == 1


def test_nan_is_a_failed_epoch():
    mon = Monitor(Never(), horizon=3)
    assert mon.report("a", 1, 0.7) is False
    assert mon.report("a", 2, math.nan) is True  # Never() is not asked
    assert mon.report("a", 3, 0.9) is True  # failed for good
    assert np.isnan(mon.curve("a")[1])
    assert mon.complete("a") is False
    assert mon.n_completed == 0
    assert mon.history.incumbent == 0.9  # its last finite value is its reported value
    mon.report("b", 1, math.nan)
    mon.complete("b")  # no finite value: incumbent unchanged
    assert mon.history.incumbent == 0.9


def test_incumbent_min_mode():
    mon = Monitor("none", horizon=2, mode="min")
    mon.report("a", 1, 0.5)
    mon.complete("a")
    mon.report("b", 1, 0.7)
    mon.report("b", 2, 0.6)
    assert mon.history.incumbent == 0.5


def test_gaps_reach_the_rule_as_nan():
    rec = Recorder()
    mon = Monitor(rec, horizon=5)
    mon.report("a", 1, 0.5)
    assert mon.report("a", 3, 0.4) is True
    curve, completed, incumbent = rec.calls[-1]
    np.testing.assert_array_equal(curve, [0.5, np.nan, 0.4])
    assert completed.shape == (0, 5) and math.isnan(incumbent)
    mon.report("a", 5, 0.9)  # skip 4, reach T with a gap
    assert len(rec.calls) == 2  # not asked at T
    np.testing.assert_array_equal(mon.history.completed, [[0.5, np.nan, 0.4, np.nan, 0.9]])


@pytest.mark.parametrize(
    "rule",
    [
        Never(),
        ETR1(2),
        ETR1(3, r=0.8, mode="min"),
        ETR2(0.9),
        ETR2(0.9, mode="min"),
        MedianRule(),
        MedianRule(2, 3, mode="min"),
    ],
    ids=repr,
)
def test_fast_path_equals_should_stop_with_rebuilt_history(rule):
    """Interleaved trials with gaps: Monitor (incremental history, online fast path) decides
    like should_stop on the curve with a History rebuilt from scratch at every report."""
    rng = np.random.default_rng(zlib.crc32(repr(rule).encode()))
    T = 7
    mon = Monitor(rule, horizon=T)
    plans = {}
    for i in range(80):
        epochs = [e for e in range(1, T + 1) if e == T or rng.uniform() > 0.2]
        plans[i] = (epochs, np.round(rng.uniform(size=T), 2))  # rounding: ties happen
    done, active, pos = [], list(plans), dict.fromkeys(plans, 0)
    n_stop = 0
    while active:
        i = active[int(rng.integers(len(active)))]
        epochs, values = plans[i]
        e = epochs[pos[i]]
        pos[i] += 1
        stop = mon.report(i, e, values[e - 1])
        curve = np.full(e, np.nan)
        seen = epochs[: pos[i]]
        curve[np.array(seen) - 1] = values[np.array(seen) - 1]
        if e < T:
            fresh = History(T, np.array(done).reshape(-1, T), mode=rule.mode)
            assert stop == rule.should_stop(curve, fresh)
        else:
            assert not stop
            done.append(curve)
        n_stop += stop
        if stop or e == T:
            assert mon.complete(i) == (e == T)
            active.remove(i)
    np.testing.assert_array_equal(mon.history.completed, np.array(done))
    if rule.name != "none":
        assert n_stop > 0


def test_user_rule_sees_the_history():
    rec = Recorder()
    mon = Monitor(rec, horizon=3)
    for e in (1, 2, 3):
        mon.report("a", e, 0.5 * e)
    mon.complete("a")
    assert mon.report("b", 1, 0.25) is False
    assert mon.report("b", 2, 0.125) is True
    curve, completed, incumbent = rec.calls[-1]
    np.testing.assert_array_equal(curve, [0.25, 0.125])
    np.testing.assert_array_equal(completed, [[0.5, 1.0, 1.5]])
    assert incumbent == 1.5


# ----- History ------------------------------------------------------------------------------
def test_history_growth_and_read_only_view():
    h = History(3)
    rows = np.arange(120, dtype=float).reshape(40, 3)
    for r in rows:
        h.append(r)
    assert len(h) == 40
    np.testing.assert_array_equal(h.completed, rows)
    with pytest.raises(ValueError, match="read-only"):
        h.completed[0, 0] = 1.0
    assert h.best_completed("max") == 39 and h.best_completed("min") == 0
    assert History(3).best_completed("max") == -1


def test_history_errors():
    with pytest.raises(ValueError, match=r"completed must be a 2-D array of shape \(k, T\)"):
        History(3, np.zeros((2, 4)))
    with pytest.raises(ValueError, match=r"curve must have shape \(T,\) = \(3,\), got \(2,\)"):
        History(3).append([0.1, 0.2])
    with pytest.raises(ValueError, match="curve\\[T-1\\] .* must be finite .* got nan"):
        History(3).append([0.1, 0.2, math.nan])
    with pytest.raises(ValueError, match="curve must hold finite values or NaN"):
        History(3).append([np.inf, 0.2, 0.3])
    with pytest.raises(ValueError, match="incumbent must be a float"):
        History(3, incumbent="best")
    with pytest.raises(ValueError, match="mode must be 'max' or 'min'"):
        History(3, mode="maximize")


def test_history_incumbent():
    h = History(2, [[0.1, 0.4], [0.2, 0.3]])
    assert h.incumbent == 0.4
    assert History(2, [[0.1, 0.4], [0.2, 0.3]], mode="min").incumbent == 0.3
    assert History(2, [[0.1, 0.4]], incumbent=0.9).incumbent == 0.9
    h.observe(math.nan)
    h.observe(0.5)
    assert h.incumbent == 0.5


def test_import_needs_only_numpy():
    code = (
        "import sys, lcore.stopping; "
        "bad = [m for m in ('optuna', 'scipy', 'sklearn', 'pandas', 'torch', 'matplotlib') "
        "if m in sys.modules]; print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def _threaded_run(T, n_threads, per_thread):
    import threading

    mon = Monitor("etr1", horizon=T, tau=1, r=0.0, eps=0.1)  # stops few: many appends
    decisions = []

    def work(k):
        rng = np.random.default_rng(k)
        for i in range(per_thread):
            tid = (k, i)
            for e in range(1, T + 1):
                stop = mon.report(tid, e, float(rng.random()))
                decisions.append(stop)
                if stop:
                    break
            mon.complete(tid)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return mon, decisions


def test_threads_enter_each_completed_trial_exactly_once():
    import pickle
    import sys

    T, n_threads, per_thread = 3, 4, 1000
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        for _ in range(5):
            mon, decisions = _threaded_run(T, n_threads, per_thread)
            assert mon.running == ()
            # every trial that was not stopped reached T and entered the history once
            assert mon.n_completed == n_threads * per_thread - sum(decisions)
            h = mon.history
            for t in range(1, T + 1):  # the incremental statistics agree with the rows
                avg = np.cumsum(h.completed, axis=1)[:, t - 1] / t
                assert h.median_running_average(t) == (np.median(avg), len(h))
    finally:
        sys.setswitchinterval(old)
    copy = pickle.loads(pickle.dumps(mon))  # the lock does not travel; a fresh one does
    assert copy.n_completed == mon.n_completed
    assert copy.report("new", 1, 0.5) is False
