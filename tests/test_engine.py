"""The one replay loop: pluggable Python / compiled rules and choosers, workers, errors."""

import math
from pathlib import Path

import numpy as np
import pytest

import lcore
from lcore.replay import ReplaySettings, repeat_states
from lcore.stopping import COMPLETED, ETR1, RUNNING, MedianRule
from lcore.table import LookupTable, synthetic


@pytest.fixture(scope="module")
def table():
    return synthetic("mnist_lenet5", n=300, epochs=6, seed=4)


from _replay_helpers import same  # noqa: E402

KW = dict(goal="top2%", repeats=4, seed=3, progress=False, trace=True)


# ---- Python rules and choosers through the adapter ------------------------------------------
class Raises(lcore.stopping.Rule):
    name = "raises"

    def should_stop(self, curve, history):
        if len(curve) == 3:
            raise ZeroDivisionError("boom")
        return False


class Answers(lcore.stopping.Rule):
    name = "answers"

    def __init__(self, answer):
        self.answer = answer

    def should_stop(self, curve, history):
        return self.answer


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_python_rule_errors_name_rule_repeat_row(table, n_jobs):
    kw = dict(KW, chooser="random", n_jobs=n_jobs)
    with pytest.raises(RuntimeError, match=r"rule raises \(repeat \d+, row \d+, epoch 3\) raised "
                       r"ZeroDivisionError: boom"):
        lcore.simulate(table, rule=Raises(), **kw)
    for bad in ("no", math.nan, None, 1):
        with pytest.raises(TypeError, match=r"rule answers \(repeat \d+, row \d+, epoch 1\): "
                           r"should_stop returned .*; it must return True or False"):
            lcore.simulate(table, rule=Answers(bad), **kw)
    # a numpy bool is a bool
    assert lcore.simulate(table, rule=Answers(np.True_), **kw).n_stopped.min() > 0


def test_python_rule_sees_every_trial_with_its_state(table):
    seen = []

    class Recorder(lcore.stopping.Rule):
        name = "recorder"

        def should_stop(self, curve, history):
            states = history.trial_states
            curves = history.trial_curves
            me = np.flatnonzero((states == RUNNING)
                                & (history.trial_epochs == len(curve))
                                & np.all(curves[:, :len(curve)] == curve, axis=1))
            seen.append((history.n_trials, int((states == RUNNING).sum()), me.size,
                         len(history)))
            assert not curves.flags.writeable
            return False

    res = lcore.simulate(table, rule=Recorder(), **dict(KW, chooser="random", n_workers=3,
                                                        repeats=1))
    assert seen and all(m >= 1 for *_, m, _ in seen)          # the asking trial is in it
    assert max(r for _, r, _, _ in seen) == 3                  # three trials run at once
    assert seen[-1][3] == (res.traces[0]["epochs"] == 6).sum() - 1 or seen[-1][3] >= 0


def test_python_chooser_errors_name_running_and_evaluated_rows(table):
    def first_row(X, y, mask, rng):
        return 0

    def two(X, y, mask, rng):
        return 2

    with pytest.raises(ValueError, match=r"chooser .*first_row.* \(repeat 0, choice 2\) "
                       r"returned row 0, which is being trained \(running\)"):
        lcore.simulate(table, chooser=first_row, n_init=0, n_workers=2, **dict(KW, repeats=1))
    with pytest.raises(ValueError, match=r"returned row 0, which is evaluated already"):
        lcore.simulate(table, chooser=first_row, n_init=0, **dict(KW, repeats=1))
    with pytest.raises(ValueError, match=r"returned row 'x', which is not a row index"):
        lcore.simulate(table, chooser=lambda X, y, m, r: "x", **dict(KW, repeats=1))

    def raising(X, y, mask, rng):
        raise KeyError("nope")

    with pytest.raises(RuntimeError, match=r"chooser .*raising.* raised KeyError"):
        lcore.simulate(table, chooser=raising, **dict(KW, repeats=1))
    assert lcore.simulate(table, chooser=two, n_init=0, max_evals=1,
                          **dict(KW, repeats=1, goal=0.0)).traces[0]["row"].tolist() == [2]


def test_keyboard_interrupt_passes_through(table):
    class Interrupt(lcore.stopping.Rule):
        def should_stop(self, curve, history):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        lcore.simulate(table, rule=Interrupt(), **dict(KW, chooser="random"))


def test_stateful_python_rule_is_fresh_every_repeat(table):
    class Counter(lcore.stopping.Rule):
        name = "counter"

        def __init__(self):
            self.calls = 0

        def should_stop(self, curve, history):
            self.calls += 1
            return self.calls > 5  # depends only on calls within the repeat

    kw = dict(KW, chooser="random", repeats=6)
    same(lcore.simulate(table, rule=Counter(), **kw),
         lcore.simulate(table, rule=Counter(), n_jobs=2, **kw))


# ---- workers, settings, seeds ------------------------------------------------------------
def test_workers_trace_and_time(table):
    res = lcore.simulate(table, rule="none", chooser="random", n_workers=4, max_evals=40,
                         **dict(KW, goal=float(np.nanmax(table.acc))))
    tr = res.traces[0]
    assert set(tr) == {"row", "worker", "start", "end", "epochs", "stopped", "reported",
                       "clock"}
    assert sorted(set(tr["worker"].tolist())) == [0, 1, 2, 3]
    assert (tr["start"][:4] == 0).all()
    done = ~np.isnan(tr["end"])
    assert (tr["end"][done] >= tr["start"][done]).all()
    # a worker never trains two rows at once
    for w in range(4):
        mine = np.flatnonzero(tr["worker"] == w)
        assert (tr["start"][mine[1:]] >= tr["end"][mine[:-1]]).all()
    one = lcore.simulate(table, rule="none", chooser="random", n_workers=1, **KW)
    four = lcore.simulate(table, rule="none", chooser="random", n_workers=4, **KW)
    assert np.median(four.time_to_goal) < np.median(one.time_to_goal)
    assert four.settings["n_workers"] == 4 and four.settings["mode"] == "max"


def test_settings_errors(table):
    with pytest.raises(ValueError, match=r"n_workers must be an int in \[1, 4096\], got 0"):
        lcore.simulate(table, n_workers=0, progress=False)
    with pytest.raises(ValueError, match=r"meta\['mode'\] must be 'max' or 'min', got 'up'"):
        t = LookupTable(table.acc, table.time, unit=table.unit, meta={"mode": "up"})
        lcore.simulate(t, progress=False)
    with pytest.raises(ValueError, match="needs the table's unit-cube features, but this table "
                       "has a `unit` with 0 columns"):
        t = LookupTable(table.acc, table.time, unit=np.empty((table.n, 0)))
        lcore.simulate(t, progress=False)
    s = lcore.simulate(table, chooser="random", progress=False, repeats=2)
    assert s.settings["max_time"] is None
    with pytest.raises(AttributeError):
        ReplaySettings(0.9, "max", 1, 10, math.inf, "report", "final", 1, False, False).goal = 1


def test_repeat_states_equal_spawn():
    from lcore._rng import state_from_seed_sequence

    ss = np.random.SeedSequence(123, spawn_key=(4,))
    ref = [state_from_seed_sequence(c)
           for c in np.random.SeedSequence(123, spawn_key=(4,)).spawn(9)]
    np.testing.assert_array_equal(repeat_states(ss, 0, 9), np.stack(ref))
    np.testing.assert_array_equal(repeat_states(ss, 3, 7), np.stack(ref[3:7]))


def test_table_as_path(tmp_path, table):
    path = Path(table.save(tmp_path / "t.npz"))
    a = lcore.simulate(path, chooser="random", repeats=2, progress=False)
    b = lcore.simulate(table, chooser="random", repeats=2, progress=False)
    np.testing.assert_array_equal(a.time_to_goal, b.time_to_goal)


def test_rule_labels_from_classes():
    assert ETR1(tau=1).label == "etr1(tau=1)"
    assert ETR1(tau=1, r=0.2).label == "etr1(tau=1, r=0.2)"
    assert MedianRule().label == "median"
    assert MedianRule(warmup=3).label == "median(warmup=3)"
    assert ETR1.param_defaults()["eps"] == 0.05


def test_monitor_and_pruner_expose_every_trial_with_its_state():
    from lcore.stopping import FAILED, STOPPED, Monitor

    m = Monitor("median", horizon=3)
    for e, v in [(1, 0.2), (2, 0.8), (3, 0.9)]:
        m.report("a", e, v)
    m.report("b", 1, 0.3)
    m.report("c", 1, float("nan"))
    h = m.history
    assert h.n_trials == 3
    assert h.trial_states.tolist() == [COMPLETED, RUNNING, RUNNING]
    np.testing.assert_array_equal(h.trial_curves[0], [0.2, 0.8, 0.9])
    assert h.trial_epochs.tolist() == [3, 1, 1]
    m.complete("a")
    m.complete("b")
    m.complete("c")
    assert h.trial_states.tolist() == [COMPLETED, STOPPED, FAILED]
    with pytest.raises(ValueError, match="state must be STOPPED"):
        h.end_trial(0, RUNNING)

    optuna = pytest.importorskip("optuna")
    from lcore.integrations.optuna import LcorePruner

    pruner = LcorePruner("median", horizon=3)
    study = optuna.create_study(direction="maximize", pruner=pruner)

    def objective(trial):
        x = trial.suggest_float("x", 0, 1)
        for e in range(1, 4):
            trial.report(x * e / 3, e)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return x

    study.optimize(objective, n_trials=12)
    hist = pruner.history(study)
    states = hist.trial_states
    assert hist.n_trials == 12 and (states == COMPLETED).sum() == len(hist)
    assert set(states.tolist()) <= {COMPLETED, STOPPED}


def test_huge_counts_are_clear(table):
    res = lcore.simulate(table, rule="median", min_completed=2**40, chooser="random",
                         repeats=2, progress=False)
    assert res.n_stopped.sum() == 0  # more completed trials than the table has: never stops
    with pytest.raises(ValueError, match=r"repeats must be an int in \[1, 10000000\]"):
        lcore.simulate(table, repeats=10**7 + 1, progress=False)
    with pytest.raises(ValueError, match="goal must be finite"):
        lcore.simulate(table, goal=10**400, progress=False)
    with pytest.raises(ValueError, match="n_init must be an int in .*, got an int of 31 digits"):
        lcore.simulate(table, n_init=10**30, progress=False)
    res = lcore.simulate(table, chooser="random", max_time=10**400, repeats=2, progress=False)
    assert res.settings["max_time"] is None


# ---- the built-in rules: inlined in the loop, or called through the rule interface --------

@pytest.mark.parametrize("W", [1, 2, 4])
@pytest.mark.parametrize("chooser", ["random", "rf-ei"])
@pytest.mark.parametrize("kind", ["max", "min"])
@pytest.mark.parametrize("rule,params", [
    ("etr1", {"tau": 1}), ("etr1", {"tau": 2, "eps": 0.0}), ("etr2", {"p": 0.9}),
    ("median", {}), ("median", {"warmup": 2, "min_completed": 3})])
def test_builtin_rules_inlined_equal_called_through_the_interface(monkeypatch, rule, params,
                                                                   kind, chooser, W):
    """The loop inlines the built-in rules; the same rules called through the rule interface
    (as every other C rule is) give the same bits."""
    from _replay_helpers import awkward_max_table, loss_table

    import lcore.replay as replay

    t = awkward_max_table() if kind == "max" else loss_table()
    if kind == "min" and rule == "etr1":  # thresholds on the loss scale
        params = dict(params, r=2.0, eps=0.2) if params["tau"] == 1 else dict(params, r=1.3)
    kw = dict(rule=rule, chooser=chooser, n_workers=W, goal="top8%", repeats=3, seed=11,
              progress=False, trace=True, chooser_params={"n_trees": 5} if chooser != "random"
              else None, **params)
    inlined = lcore.simulate(t, **kw)
    spec_of = replay._rule_spec

    def called(r):
        s = spec_of(r)
        return (s[0], dict(s[1], called=True), s[2]) if s[0] == "builtin" else s

    monkeypatch.setattr(replay, "_rule_spec", called)
    same(inlined, lcore.simulate(t, **kw))
    assert inlined.n_stopped.sum() > 0 or rule == "median", "the rule never stopped a row"
