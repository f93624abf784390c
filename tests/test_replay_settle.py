"""Settling: a run ends as soon as its outcome is decided, with the same results.

Before each choice the C loop asks whether every row left, trained now, would end below the
goal and leave the rule's state as it is; then it accounts for them all at once instead of
choosing them one by one (lcore.replay.SETTLE; csrc/lc_replay.h says when it may).  These
tests run every built-in rule with settling on and off and demand the same per-repeat
results, check those results against the pure-Python oracle of the replay, and check that
settling happens where it should (and nowhere it must not).
"""

import sys
from pathlib import Path

import numpy as np
import pytest

import lcore
import lcore.replay as replay

sys.path.insert(0, str(Path(__file__).parent))
from _replay_helpers import awkward_max_table, loss_table, same  # noqa: E402
from reference_replay import reference_replay  # noqa: E402
from test_engine_vs_oracle import forest_for, states  # noqa: E402

MAX_RULES = [
    ("none", {}),
    ("etr1", {"tau": 1, "r": 0.3, "eps": 0.1}),
    ("etr1", {"tau": 2}),
    ("etr2", {"p": 0.9}),
    ("etr2", {"p": 0.99, "q": 0.9}),
    ("median", {}),
]
MIN_RULES = [
    ("none", {}),
    ("etr1", {"tau": 1, "r": 2.0, "eps": 0.2}),
    ("etr2", {"p": 0.8}),
    ("etr2", {"p": 0.95, "q": 0.9}),
    ("median", {"min_completed": 2, "warmup": 2}),
]


def both(monkeypatch, table, **kw):
    """simulate with settling off and on: the same results; returns the settled run."""
    kw = {"progress": False, "n_jobs": 1, **kw}
    if kw.get("chooser") == "rf-ei":
        kw.setdefault("chooser_params", {"n_trees": 10})
    monkeypatch.setattr(replay, "SETTLE", False)
    off = lcore.simulate(table, **kw)
    monkeypatch.setattr(replay, "SETTLE", True)
    on = lcore.simulate(table, **kw)
    assert (off._n_settled == 0).all()
    same(on, off)
    for f in ("best_acc", "time_to_goal"):  # bit for bit: the sign of a zero too
        np.testing.assert_array_equal(getattr(on, f).view(np.uint64),
                                      getattr(off, f).view(np.uint64), err_msg=f)
    assert (on._n_settled <= on.n_evaluated).all()
    assert not on.success[on._n_settled > 0].any(), "a settled run is censored"
    return on


def final_values(table):
    nf = table.n_finished()
    return np.array([table.acc[i, k - 1] if k > 0 else np.nan for i, k in enumerate(nf)])


def spiked(table, mode):
    """The table with one row's second epoch beyond every other value (a spike its later
    epochs fall back from), and that value: a goal that a row reaches only if a rule stops it
    right at its spike, which none of the rules here does."""
    acc = table.acc.copy()
    row = 20
    acc[row, 1] = 0.999 if mode == "max" else 0.001
    return (lcore.LookupTable(acc, table.time, unit=table.unit, space=table.space,
                              meta=dict(table.meta)), float(np.float32(acc[row, 1])))


def goals(table, mode):
    """(table, goal) pairs: a goal few rows reach, and one that no rule here reaches."""
    fin = final_values(table)
    fin = np.sort(fin[np.isfinite(fin)])
    return [(table, float(fin[-3] if mode == "max" else fin[2])), spiked(table, mode)]


@pytest.mark.parametrize("terminated", ["report", "exclude", "oracle"])
@pytest.mark.parametrize("chooser", ["random", "rf-ei"])
@pytest.mark.parametrize("which", ["max", "min"])
def test_settling_changes_no_result(monkeypatch, which, chooser, terminated):
    table = awkward_max_table() if which == "max" else loss_table()
    rules = MAX_RULES if which == "max" else MIN_RULES
    R = 12 if chooser == "random" else 4
    settled = 0
    for tab, goal in goals(table, which):
        for rule, params in rules:
            res = both(monkeypatch, tab, rule=rule, goal=goal, repeats=R, seed=3,
                       chooser=chooser, terminated=terminated, **params)
            settled += int(res._n_settled.sum())
    if chooser == "random":
        assert settled == 0, "random replays run every row (the check would cost as much)"
    else:
        assert settled > 0, "nothing settled: the case tests nothing"


@pytest.mark.parametrize("rule,params", MAX_RULES)
def test_an_unreachable_goal_settles_and_matches_the_oracle(monkeypatch, rule, params):
    """No row reaches the goal: each repeat settles (at once for none and ETR-1, whose
    decisions read no state) and its results are the oracle's."""
    table, goal = spiked(awkward_max_table(), "max")
    n = table.acc.shape[0]
    R = 6
    res = both(monkeypatch, table, rule=rule, goal=goal, repeats=R, seed=11,
               chooser="rf-ei", **params)
    assert (res._n_settled > 0).all()
    if rule in ("none", "etr1"):
        assert (res._n_settled == n).all()
    sts = states(11, R)
    for i in range(R):
        ref = reference_replay(table.acc, table.time, table.unit, sts[i], res.goal, rule,
                               params, chooser="rf-ei", forest=forest_for(table))
        assert not res.success[i] and not ref["success"]
        assert res.n_evaluated[i] == ref["n_evaluated"] == n
        assert res.n_stopped[i] == ref["n_stopped"]
        assert res.n_harmful_stops[i] == ref["n_harmful"]
        assert res.epochs_trained[i] == ref["epochs_trained"]
        assert res.best_acc[i] == ref["best_acc"]


def test_etr2_settles_once_the_rows_that_would_complete_are_gone(monkeypatch):
    """ETR-2 on the shipped table with a goal it misses: once every row left would be stopped
    at the best completed row's tau, the rest of the run is settled, long before the table is
    exhausted by choice."""
    table = lcore.load_table()
    n = table.acc.shape[0]
    monkeypatch.setattr(replay, "SETTLE", True)
    table, goal = spiked(table, "max")
    res = lcore.simulate(table, rule="etr2", p=0.99, goal=goal, repeats=2, seed=0,
                         chooser="rf-ei", chooser_params={"n_trees": 10}, progress=False)
    assert (res.n_evaluated == n).all()
    assert (res._n_settled > n // 2).all()


@pytest.mark.parametrize("kw", [
    {"max_evals": 40},            # not every row left could start
    {"max_time": 1e9},            # start times would depend on the order
    {"n_workers": 2},             # several workers
    {"trace": True},              # the trace is the order
    {"count_chooser_time": True},  # the chooser's time is measured
], ids=["max_evals", "max_time", "workers", "trace", "chooser_time"])
def test_no_settling_where_the_order_matters(monkeypatch, kw):
    table, goal = spiked(awkward_max_table(), "max")
    monkeypatch.setattr(replay, "SETTLE", True)
    res = lcore.simulate(table, rule="none", goal=goal, repeats=3, seed=2, chooser="rf-ei",
                         chooser_params={"n_trees": 10}, progress=False, **kw)
    assert (res._n_settled == 0).all()
    assert not res.success.any()


def test_no_settling_with_a_python_rule(monkeypatch):
    """A rule lcore cannot read the state of is asked about every row."""
    table, goal = spiked(awkward_max_table(), "max")
    calls = []

    class Never:
        def should_stop(self, curve, history):
            calls.append(len(curve))
            return False

    never = Never()
    monkeypatch.setattr(replay, "SETTLE", True)
    res = lcore.simulate(table, rule=never, goal=goal, repeats=1, seed=2, chooser="rf-ei",
                         chooser_params={"n_trees": 10}, progress=False)
    assert (res._n_settled == 0).all()
    assert len(calls) > 0


def test_lcore_settle_0_turns_it_off(monkeypatch):
    table, goal = spiked(awkward_max_table(), "max")
    monkeypatch.setattr(replay, "SETTLE", True)
    kw = dict(rule="none", goal=goal, repeats=2, seed=2, chooser="rf-ei",
              chooser_params={"n_trees": 10}, progress=False)
    assert (lcore.simulate(table, **kw)._n_settled > 0).all()
    monkeypatch.setenv("LCORE_SETTLE", "0")
    assert (lcore.simulate(table, **kw)._n_settled == 0).all()


@pytest.mark.parametrize("chooser_params", [{"n_trees": 1}, {"n_trees": 5}])
def test_signed_zeros_keep_the_order_of_their_reports(monkeypatch, chooser_params):
    """best_acc keeps the first of two tied values: with rows that report -0.0 and +0.0 its
    sign depends on the order they come in, so such rows are not settled."""
    acc = np.array([[0.5, 0.0], [0.5, -0.0], [0.5, 0.0], [0.5, -0.0]], dtype=np.float32)
    table = lcore.LookupTable(acc, np.ones_like(acc), unit=np.random.default_rng(0).random((4, 2)))
    res = both(monkeypatch, table, rule="none", goal=0.5, repeats=16, seed=0, chooser="rf-ei",
               chooser_params=chooser_params)
    assert len(set(np.signbit(res.best_acc))) == 2, "both signs: the case tests something"
