"""lcore.simulate: the C loop against the pure-Python reference replay, edges, errors."""

import math
import sys
from pathlib import Path

import numpy as np
import pytest

import lcore
from lcore.choosers import RFEIChooser
from lcore.stopping import ETR1, ETR2, MedianRule, Never
from lcore.table import LookupTable, synthetic

sys.path.insert(0, str(Path(__file__).parent))
from reference_replay import reference_replay  # noqa: E402


def awkward_table(n=400, T=6, seed=1):
    """Synthetic curves plus ties, NaN-failed rows (some with no finished epoch), zero times."""
    t = synthetic("mnist_lenet5", n=n, epochs=T, seed=seed, failure_rate=0.05)
    acc, time = t.acc.copy(), t.time.copy()
    acc[::5] = np.round(acc[::5] * 20) / 20  # many exact ties
    time[::7, 2] = 0.0  # zero-time epochs
    acc[3], time[3] = np.nan, 0.0  # a row with no finished epoch
    acc[10, 2:], time[10, 2:] = np.nan, 0.0
    return LookupTable(acc, time, unit=t.unit, space=t.space, meta={"dataset": "awkward"})


RULES = [
    ("none", {}),
    ("etr1", {"tau": 2}),
    ("etr1", {"tau": 1, "r": 0.3, "eps": 0.1}),
    ("etr2", {"p": 0.9}),
    ("etr2", {"p": 0.5, "q": 0.5}),
    ("median", {}),
    ("median", {"min_completed": 3, "warmup": 2}),
]


def _states(seed, R):
    from lcore._rng import state_from_seed_sequence

    return [state_from_seed_sequence(c) for c in np.random.SeedSequence(seed).spawn(R)]


def _check_against_reference(res, table, states, rule, params, **kw):
    for i, tr in enumerate(res.traces):
        ref = reference_replay(table.acc, table.time, table.unit, states[i], res.goal, rule,
                               params, **kw)
        assert tr["row"].tolist() == ref["rows"], (rule, params, i)
        assert tr["epochs"].tolist() == ref["epochs"]
        assert tr["clock"].tolist() == ref["clock"]
        assert tr["reported"].tolist() == ref["reported"]
        assert tr["stopped"].tolist() == ref["stopped"]
        assert bool(res.success[i]) == ref["success"]
        assert res.time_to_goal[i] == ref["time_to_goal"]
        assert res.n_stopped[i] == ref["n_stopped"]
        assert res.n_harmful_stops[i] == ref["n_harmful"]
        assert res.n_evaluated[i] == len(ref["rows"])
        assert res.epochs_trained[i] == sum(ref["epochs"])
        assert res.best_acc[i] == ref["best_acc"]


@pytest.mark.parametrize("rule,params", RULES)
@pytest.mark.parametrize("terminated", ["report", "exclude"])
def test_c_loop_equals_reference_random_chooser(rule, params, terminated):
    table = awkward_table()
    R = 12
    res = lcore.simulate(table, rule=rule, goal="top1%", repeats=R, seed=7, chooser="random",
                         terminated=terminated, trace=True, progress=False, **params)
    _check_against_reference(res, table, _states(7, R), rule, params, terminated=terminated)
    assert res.n_stopped.sum() > 0 or rule == "none"


def test_c_loop_equals_reference_with_budgets_and_best_objective():
    table = awkward_table()
    states = _states(3, 8)
    res = lcore.simulate(table, rule="etr1", tau=1, goal="top0.2%", repeats=8, seed=3,
                         chooser="random", max_evals=60, max_time=300.0, n_init=5,
                         objective="best", trace=True, progress=False)
    _check_against_reference(res, table, states, "etr1", {"tau": 1}, max_evals=60,
                             max_time=300.0, n_init=5, objective="best")
    assert not res.success.all()  # budgets censor some repeats


class _Twin:
    """A Python rule that decides by its built-in twin's should_stop: runs through the
    Python adapter of the C loop, not the C rule."""

    def __init__(self, rule):
        self.inner = rule
        self.mode = rule.mode
        self.name = rule.name

    def check(self, T):
        self.inner.check(T)

    def should_stop(self, curve, history):
        return self.inner.should_stop(curve, history)


class _RFEITwin(RFEIChooser):
    """rf-ei through the Python chooser adapter (its choose(), not the C chooser)."""


@pytest.mark.parametrize("rule,params", RULES)
def test_python_rules_and_choosers_equal_the_c_builtins(rule, params):
    table = awkward_table(n=200)
    kw = dict(goal="top1%", repeats=6, seed=11, trace=True, progress=False)
    builtin = lcore.stopping.get_rule(rule, **params)
    for chooser, twin in (("random", in_random_order), ("rf-ei", _RFEITwin())):
        c = lcore.simulate(table, rule=builtin, chooser=chooser, **kw)
        for p in (lcore.simulate(table, rule=_Twin(builtin), chooser=chooser, **kw),
                  lcore.simulate(table, rule=_Twin(builtin), chooser=twin, **kw)):
            for f in ("success", "time_to_goal", "n_evaluated", "n_stopped", "epochs_trained",
                      "best_acc", "n_harmful_stops"):
                np.testing.assert_array_equal(getattr(c, f), getattr(p, f), err_msg=f)
            for a, b in zip(c.traces, p.traces):
                for f in a:
                    np.testing.assert_array_equal(a[f], b[f])


def in_random_order(X_seen, y_seen, mask, rng):
    """The random chooser written in Python: the k-th candidate in row order."""
    idx = np.flatnonzero(mask)
    return int(idx[rng.bounded(idx.shape[0])])


def test_user_rule_object_runs_on_python_path_like_builtin():
    """A Python subclass that decides like ETR-1 gives the C loop's results."""

    class MyETR1(ETR1):
        pass

    table = awkward_table(n=200)
    kw = dict(goal="top1%", repeats=5, seed=2, progress=False, chooser="random")
    a = lcore.simulate(table, rule=ETR1(tau=2), **kw)
    b = lcore.simulate(table, rule=MyETR1(tau=2), **kw)
    np.testing.assert_array_equal(a.time_to_goal, b.time_to_goal)
    np.testing.assert_array_equal(a.n_stopped, b.n_stopped)


# ---- hand-made tiny tables ----------------------------------------------------------------

def in_order(X_seen, y_seen, mask, rng):
    """A user chooser: the lowest candidate row (makes tiny tables deterministic)."""
    return int(np.flatnonzero(mask)[0])


def tiny(acc, time=None):
    acc = np.asarray(acc, dtype=np.float32)
    time = np.ones_like(acc) if time is None else np.asarray(time, dtype=np.float32)
    return LookupTable(acc, np.where(np.isnan(acc), 0, time))


def run_tiny(table, rule, goal, **kw):
    kw.setdefault("n_init", 0)
    return lcore.simulate(table, rule=rule, goal=goal, repeats=1, seed=0, chooser=in_order,
                          trace=True, progress=False, **kw)


def test_etr1_at_exactly_r_plus_eps():
    # r + eps = 0.25 + 0.25 = 0.5 exactly; strictly below stops, equal does not
    below = np.nextafter(np.float32(0.5), np.float32(0))
    t = tiny([[0.5, 0.6, 0.7], [below, 0.6, 0.7], [0.1, 0.2, 0.99]])
    res = run_tiny(t, ETR1(tau=1, r=0.25, eps=0.25), goal=0.99)
    assert res.traces[0]["epochs"].tolist() == [3, 1, 1]
    assert res.traces[0]["stopped"].tolist() == [False, True, True]
    # tau = 2 looks at epoch 2 only
    res = run_tiny(t, ETR1(tau=2, r=0.25, eps=0.25), goal=0.99)
    assert res.traces[0]["epochs"].tolist() == [3, 3, 2]
    assert not res.success[0] and math.isinf(res.time_to_goal[0])
    assert res.traces[0]["clock"].tolist() == [3.0, 6.0, 8.0]


def test_etr2_before_any_completed_row_and_when_tau_moves():
    t = tiny([
        [0.05, 0.06, 0.07, 0.08],   # no completed row yet: never stopped; completes, tau = 2
        [0.20, 0.60, 0.80, 0.90],   # t=2: 0.6 >= 0.5 * 0.06; completes; new best, tau = 2
        [0.30, 0.25, 0.30, 0.40],   # t=2: 0.25 < 0.5 * 0.6 -> stopped at 2
        [0.10, 0.20, 0.30, 0.95],   # t=2: 0.2 < 0.3 -> stopped at 2
        [0.05, 0.30, 0.40, 0.50],   # t=2: 0.3 == 0.5 * 0.6 (float32) -> not strictly below
        [0.90, 0.90, 0.90, 1.00],   # the goal, last
    ])
    res = run_tiny(t, ETR2(p=0.5), goal=1.0)
    assert res.traces[0]["epochs"].tolist() == [4, 4, 2, 2, 4, 4]
    t3 = tiny([
        [0.20, 0.60, 0.80, 0.90],   # completes: tau = 2 (0.6 <= 0.675 < 0.8)
        [0.10, 0.20, 0.50, 0.95],   # t=2: 0.2 >= 0.3 * 0.6; completes; new best: tau = 3
        [0.90, 0.10, 0.20, 0.30],   # t=3: 0.2 >= 0.3 * 0.5 -> runs on (t=2 is not asked)
        [0.90, 0.10, 0.10, 0.30],   # t=3: 0.1 < 0.15 -> stopped at 3
        [0.90, 0.90, 0.90, 1.00],   # the goal, last
    ])
    res3 = run_tiny(t3, ETR2(p=0.3), goal=1.0)
    assert res3.traces[0]["epochs"].tolist() == [4, 4, 4, 3, 4]
    # q = 1: tau = T, the rule never decides
    res4 = run_tiny(t3, ETR2(p=0.3, q=1.0), goal=1.0)
    assert res4.traces[0]["epochs"].tolist() == [4, 4, 4, 4, 4]


def test_median_with_fewer_than_min_completed_rows():
    t = tiny([
        [0.5, 0.6, 0.7],
        [0.1, 0.1, 0.1],   # one completed row: median of running averages at t=1 is 0.5
        [0.6, 0.7, 0.8],
        [0.2, 0.3, 0.99],
    ])
    one = run_tiny(t, MedianRule(), goal=0.99)
    assert one.traces[0]["epochs"].tolist() == [3, 1, 3, 1]
    two = run_tiny(t, MedianRule(min_completed=2), goal=0.99)
    # row 1 runs to the end (only 1 completed); row 2 is never below the median (0.3, then
    # 0.325); row 3 at t = 1: median of (0.5, 0.1, 0.6) = 0.5 and 0.2 < 0.5 -> stop
    assert two.traces[0]["epochs"].tolist() == [3, 3, 3, 1]
    warm = run_tiny(t, MedianRule(warmup=2), goal=0.99)
    # t = 1 is never asked; row 3 at t = 2: best 0.3 < median(0.55, 0.65) = 0.6
    assert warm.traces[0]["epochs"].tolist() == [3, 2, 3, 2]


def test_goal_reached_by_a_stopped_row_and_harmful_stops():
    t = tiny([[0.75, 0.875, 1.0], [0.25, 0.25, 0.25]])
    rule = ETR1(tau=1, r=0.75, eps=0.125)  # stop at t = 1 below 0.875
    res = run_tiny(t, rule, goal=0.75)   # row 0 is stopped at 0.75: that reaches the goal
    assert res.success[0] and res.time_to_goal[0] == 1.0
    assert res.traces[0]["stopped"].tolist() == [True]
    assert res.n_harmful_stops[0] == 1  # its objective 1.0 >= goal
    res = run_tiny(t, rule, goal=0.875)
    assert not res.success[0] and res.n_stopped[0] == 2 and res.n_harmful_stops[0] == 1


def test_max_evals_and_max_time_censor():
    t = tiny([[0.1, 0.2], [0.2, 0.3], [0.3, 0.4], [0.5, 0.99]], time=np.full((4, 2), 10.0))
    res = run_tiny(t, "none", goal=0.99, max_evals=3)
    assert not res.success[0] and math.isinf(res.time_to_goal[0]) and res.n_evaluated[0] == 3
    res = run_tiny(t, "none", goal=0.99, max_time=60.0)
    assert res.n_evaluated[0] == 3 and not res.success[0]
    res = run_tiny(t, "none", goal=0.99, max_time=75.0)  # goal at clock 80 > 75: censored
    assert res.n_evaluated[0] == 4 and not res.success[0]
    res = run_tiny(t, "none", goal=0.99, max_time=80.0)
    assert res.success[0] and res.time_to_goal[0] == 80.0


def test_failed_rows_report_last_finished_epoch():
    nan = np.nan
    t = tiny([[nan, nan, nan], [0.4, nan, nan], [0.5, 0.6, 0.99]])
    res = run_tiny(t, "none", goal=0.99)
    tr = res.traces[0]
    assert tr["epochs"].tolist() == [0, 1, 3]
    assert tr["reported"].tolist() == [0.0, np.float32(0.4), np.float32(0.99)]
    assert tr["stopped"].tolist() == [False, False, False]
    assert res.time_to_goal[0] == 0 + 1 + 3


# ---- determinism, pairing ------------------------------------------------------------------

def test_same_seed_same_results_any_n_jobs_and_backend():
    from joblib import parallel_config

    table = synthetic("mnist_lenet5", n=2000, epochs=8, seed=0)
    kw = dict(rule=["none", "etr1"], tau=1, repeats=6, seed=123, progress=False,
              chooser_params={"n_trees": 10})
    base = lcore.simulate(table, n_jobs=1, **kw)
    runs = [lcore.simulate(table, n_jobs=2, **kw)]
    for backend in ("loky", "threading"):
        with parallel_config(backend=backend):
            runs.append(lcore.simulate(table, n_jobs=2, **kw))
    for other in runs:
        for a, b in zip(base, other):
            np.testing.assert_array_equal(a.time_to_goal, b.time_to_goal)
            np.testing.assert_array_equal(a.n_evaluated, b.n_evaluated)
    different = lcore.simulate(table, n_jobs=1, **{**kw, "seed": 124})
    assert not np.array_equal(different[0].n_evaluated, base[0].n_evaluated)


def test_rules_in_one_call_share_initial_rows():
    table = awkward_table()
    res = lcore.simulate(table, rule=["none", "etr1", "median"], tau=1, repeats=5, seed=4,
                         n_init=3, trace=True, progress=False, chooser="random")
    for i in range(5):
        first = [r.traces[i]["row"][:3].tolist() for r in res]
        assert first[0] == first[1] == first[2]
        # the random chooser never depends on the rule: the whole row order is shared
        m = min(len(r.traces[i]["row"]) for r in res)
        assert len({tuple(r.traces[i]["row"][:m]) for r in res}) == 1


# ---- results ----------------------------------------------------------------------------

def test_results_summary_compare_save_load(tmp_path):
    table = synthetic("mnist_lenet5", n=3000, epochs=8, seed=5)
    res = lcore.simulate(table, rule=["none", ETR1(tau=1), ETR1(tau=3)], repeats=8, seed=0,
                         progress=False, chooser_params={"n_trees": 10}, trace=True)
    assert [r.rule for r in res] == ["none", "etr1(tau=1)", "etr1(tau=3)"]
    s = res[1].summary()
    assert s["repeats"] == 8 and 0 <= s["success_rate"] <= 1
    assert s["time_to_goal_median"] == np.median(res[1].time_to_goal) or math.isinf(
        s["time_to_goal_median"])
    c = res.compare("etr1(tau=1)", "none")
    assert c["n_pairs"] <= 8 and c["ci_low"] <= c["median_ratio"] <= c["ci_high"]
    assert 0 <= c["share_a_better"] <= 1
    df = res.to_frame()
    assert len(df) == 24 and set(df["rule"]) == {r.rule for r in res}
    path = res.save(tmp_path / "r.npz")
    back = lcore.results.ResultsList.load(path)
    for a, b in zip(res, back):
        assert a.rule == b.rule and a.goal == b.goal and a.settings == b.settings
        np.testing.assert_array_equal(a.time_to_goal, b.time_to_goal)
        np.testing.assert_array_equal(a.traces[3]["row"], b.traces[3]["row"])
    assert "median" in res.summary_table() or "inf" in res.summary_table()
    other = lcore.simulate(table, rule="none", repeats=8, seed=1, progress=False,
                           chooser="random")
    with pytest.raises(ValueError, match="paired results"):
        lcore.results.compare(res[0], other)


def test_compare_known_values():
    from lcore.results import Results, compare

    st = {"goal": 0.9, "seed_entropy": "1", "seed_spawn_key": []}
    base = {f: np.zeros(4) for f in ("success", "n_evaluated", "n_stopped", "epochs_trained",
                                     "best_acc", "n_harmful_stops")}
    a = Results("a", {}, {**base, "time_to_goal": np.array([1.0, 2.0, 3.0, np.inf])}, st)
    b = Results("b", {}, {**base, "time_to_goal": np.array([2.0, 2.0, 6.0, np.inf])}, st)
    c = compare(a, b)
    assert c["n_pairs"] == 3 and c["median_ratio"] == 0.5
    assert c["share_a_better"] == 0.5 and c["share_b_better"] == 0.0


def test_oracle_differs_from_report_and_goal_is_reported():
    table = synthetic("mnist_lenet5", n=3000, epochs=8, seed=5)
    kw = dict(rule="etr1", tau=1, repeats=4, seed=0, progress=False,
              chooser_params={"n_trees": 10}, trace=True)
    rep = lcore.simulate(table, terminated="report", **kw)
    ora = lcore.simulate(table, terminated="oracle", **kw)
    assert rep.goal == table.resolve_goal("top0.5%")
    assert rep.settings["goal_spec"] == "top0.5%"
    assert any(not np.array_equal(a["row"][: len(b["row"])], b["row"][: len(a["row"])])
               for a, b in zip(rep.traces, ora.traces))


# ---- errors --------------------------------------------------------------------------------

def test_errors():
    table = synthetic("mnist_lenet5", n=300, epochs=6, seed=0)
    with pytest.raises(ValueError, match="unknown rule 'etr3'; known rules: 'adaptive', 'etr1', "
                       "'etr2', 'lce', 'median', 'none', 'optuna-hyperband'"):
        lcore.simulate(table, rule="etr3", progress=False)
    with pytest.raises(ValueError, match=r"tau must be an int in \[1, T-1\] = \[1, 5\], got 6"):
        lcore.simulate(table, rule="etr1", tau=6, progress=False)
    with pytest.raises(ValueError, match=r"p must be a number in \(0, 1\]"):
        lcore.simulate(table, rule="etr2", p=1.5, progress=False)
    with pytest.raises(ValueError, match="reached by no row"):
        lcore.simulate(table, rule="none", goal=0.9999, progress=False)
    with pytest.raises(ValueError, match="table is empty"):
        lcore.simulate(LookupTable(np.zeros((0, 3)), np.zeros((0, 3))), progress=False)
    with pytest.raises(ValueError, match=r"repeats must be an int in \[1, 10000000\], got 0"):
        lcore.simulate(table, rule="none", repeats=0, progress=False)
    with pytest.raises(ValueError, match="terminated must be one of"):
        lcore.simulate(table, rule="none", terminated="drop", progress=False)
    with pytest.raises(ValueError, match="objective must be one of"):
        lcore.simulate(table, rule="none", objective="last", progress=False)
    with pytest.raises(ValueError, match="max_time must be a positive number"):
        lcore.simulate(table, rule="none", max_time=-1, progress=False)
    with pytest.raises(ValueError, match="n_jobs must be a non-zero int"):
        lcore.simulate(table, rule="none", n_jobs=0, progress=False)
    with pytest.raises(ValueError, match="fit none of the rules"):
        lcore.simulate(table, rule=["none", "median"], tau=1, progress=False)
    with pytest.raises(ValueError, match="can only go with a rule name"):
        lcore.simulate(table, rule=ETR1(tau=1), tau=2, progress=False)
    no_unit = LookupTable(table.acc, table.time)
    with pytest.raises(ValueError, match="needs the table's unit-cube features"):
        lcore.simulate(no_unit, rule="none", chooser="rf-ei", progress=False)
    lcore.simulate(no_unit, rule="none", chooser="random", repeats=2, progress=False)

    def bad_chooser(X, y, mask, rng):
        return 0

    with pytest.raises(ValueError, match=r"chooser .*bad_chooser.* \(repeat 0, choice 3\) "
                       r"returned row 0, which is evaluated already"):
        lcore.simulate(table, rule="none", chooser=bad_chooser, n_init=1, repeats=1,
                       progress=False, seed=1)
    assert Never().name == "none"


@pytest.mark.parametrize("rule,params", [("none", {}), ("etr1", {"tau": 1}),
                                         ("etr2", {"p": 0.9}), ("median", {})])
@pytest.mark.parametrize("terminated", ["report", "exclude", "oracle"])
def test_c_loop_rf_ei_equals_reference_with_lcores_forest(rule, params, terminated):
    """rf-ei: the reference (the EI formula in Python, its own tie rule) with lcore's forest
    picks the same rows as the fused C chooser."""
    from lcore.forest import RandomForest

    table = awkward_table(n=300)
    n_trees = 12

    def forest(X, y, seed64):
        rf = RandomForest(n_trees=n_trees).fit(X, y, seed64=seed64)
        return rf.predict(table.unit, return_var=True)

    R = 3
    res = lcore.simulate(table, rule=rule, goal="top1%", repeats=R, seed=21, trace=True,
                         terminated=terminated, progress=False,
                         chooser_params={"n_trees": n_trees}, **params)
    _check_against_reference(res, table, _states(21, R), rule, params, chooser="rf-ei",
                             forest=forest, terminated=terminated)
    assert res.n_evaluated.min() > 3


def test_python_path_under_threads_and_stateful_choosers_do_not_depend_on_n_jobs():
    from joblib import parallel_config

    class MyETR1(ETR1):
        pass

    class Strided:
        """A stateful chooser: prepare() resets it; it must be fresh for every repeat."""

        needs_features = False

        def prepare(self, X):
            self.calls = 0

        def choose(self, X_seen, y_seen, mask, rng):
            idx = np.flatnonzero(mask)
            self.calls += 1
            return int(idx[(self.calls * 7) % idx.size])

    table = synthetic("mnist_lenet5", n=1500, epochs=6, seed=0)
    kw = dict(rule=MyETR1(tau=1), repeats=6, seed=3, progress=False, max_evals=60,
              chooser_params={"n_trees": 8})
    base = lcore.simulate(table, n_jobs=1, **kw)
    with parallel_config(backend="threading"):
        threaded = lcore.simulate(table, n_jobs=2, **kw)
    np.testing.assert_array_equal(base.n_evaluated, threaded.n_evaluated)
    np.testing.assert_array_equal(base.time_to_goal, threaded.time_to_goal)
    kw2 = dict(rule=["none", "none"], repeats=6, seed=1, progress=False, chooser=Strided(),
               n_init=0)
    one = lcore.simulate(table, n_jobs=1, **kw2)
    two = lcore.simulate(table, n_jobs=2, **kw2)
    np.testing.assert_array_equal(one[0].n_evaluated, two[0].n_evaluated)
    np.testing.assert_array_equal(one[0].n_evaluated, one[1].n_evaluated)
    assert len(set(one[0].n_evaluated.tolist())) == 1  # every repeat starts afresh


def test_repeat_i_does_not_depend_on_the_number_of_repeats():
    table = awkward_table()
    few = lcore.simulate(table, rule="etr1", tau=1, repeats=3, seed=9, progress=False)
    many = lcore.simulate(table, rule="etr1", tau=1, repeats=7, seed=9, progress=False)
    np.testing.assert_array_equal(few.time_to_goal, many.time_to_goal[:3])
    ss = np.random.SeedSequence(9)
    again = lcore.simulate(table, rule="etr1", tau=1, repeats=3, seed=ss, progress=False)
    again2 = lcore.simulate(table, rule="etr1", tau=1, repeats=3, seed=ss, progress=False)
    np.testing.assert_array_equal(few.time_to_goal, again.time_to_goal)
    np.testing.assert_array_equal(few.time_to_goal, again2.time_to_goal)


def test_absolute_goal_is_compared_at_float32_precision():
    t = tiny([[0.5, 0.992], [0.3, 0.4], [0.2, 0.2]])
    res = run_tiny(t, "none", goal=0.992)
    assert res.success[0] and res.time_to_goal[0] == 2.0
    assert res.goal == float(np.float32(0.992))


def test_more_errors():
    one_epoch = LookupTable([[0.5], [0.9]], [[1.0], [1.0]])
    with pytest.raises(ValueError, match=r"single epoch \(T = 1\).*use rule='none'"):
        lcore.simulate(one_epoch, rule="etr1", tau=1, chooser="random", progress=False)
    assert lcore.simulate(one_epoch, chooser="random", progress=False).success.all()
    table = synthetic("mnist_lenet5", n=300, epochs=6, seed=0)
    with pytest.raises(ValueError, match="rule 'etr2': .*p.*--p 0.8"):
        lcore.simulate(table, rule="etr2", progress=False)
    with pytest.raises(TypeError, match="got the class ETR1; pass an instance"):
        lcore.simulate(table, rule=ETR1, progress=False)
    with pytest.raises(ValueError, match="has mode='min', but the table's mode is 'max': build "
                       "it with mode='max'"):
        lcore.simulate(table, rule=ETR1(tau=1, r=0.5, mode="min"), progress=False)
    with pytest.raises(TypeError, match="got the class RFEIChooser; pass an instance"):
        lcore.simulate(table, rule="none", chooser=RFEIChooser, progress=False)
    with pytest.raises(TypeError, match="trace must be True or False"):
        lcore.simulate(table, rule="none", trace="no", progress=False)
    with pytest.raises(ValueError, match="max_time must be a positive number"):
        lcore.simulate(table, rule="none", max_time=True, progress=False)
    a = lcore.simulate(table, rule="none", repeats=4, seed=0, progress=False,
                       chooser="random")
    b = lcore.simulate(table, rule="none", repeats=4, seed=0, progress=False,
                       chooser="random", goal="top2%")
    with pytest.raises(ValueError, match="goal differs"):
        lcore.results.compare(a, b)
    with pytest.raises(ValueError, match=r"confidence must be a float in \(0, 1\)"):
        lcore.results.compare(a, a, confidence=95)
    with pytest.raises(ValueError, match="n_boot must be an int >= 1"):
        lcore.results.compare(a, a, n_boot=0)
