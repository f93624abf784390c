"""The rung-based rules (optuna-sh, optuna-hyperband, ray-asha, synetune-asha): decisions
against the peers' own classes on identical interleaved report sequences, the C twins against
the Python twins, by-name use, and every bad parameter."""

import datetime
import heapq
import sys
from pathlib import Path

import numpy as np
import pytest

import lcore
from lcore.stopping import (
    History,
    Monitor,
    OptunaHyperband,
    OptunaSuccessiveHalving,
    RayASHA,
    SyneTuneASHA,
    get_rule,
)
from lcore.stopping.rung_rules import bracket_uniform, numpy_linear_quantile

sys.path.insert(0, str(Path(__file__).parent))
from _replay_helpers import awkward_max_table, check_c_twin, loss_table  # noqa: E402

# ---- an event-driven driver: W workers, interleaved reports --------------------------------

def random_study(rng, n, T, gaps=False):
    """n curves of T values (random walks with ties), per-trial failure epochs (T: none),
    whole-second epoch durations (ties between workers) and optional gaps."""
    base = rng.uniform(0.1, 0.9, (n, 1))
    curves = base + np.cumsum(rng.normal(0.02, 0.08, (n, T)), axis=1)
    curves[::3] = np.round(curves[::3] * 5) / 5          # exact ties
    fail = np.full(n, T)
    f = rng.random(n) < 0.15
    fail[f] = rng.integers(1, T, f.sum())
    dur = rng.integers(1, 4, (n, T)).astype(float)
    skip = np.zeros((n, T), bool)
    if gaps:
        skip = rng.random((n, T)) < 0.2
        skip[:, T - 1] = False
    return curves, fail, dur, skip


def drive(peer, monitor, curves, fail, dur, skip, W):
    """Run the study with W workers; at each report of an epoch t < T ask the peer and the
    monitor, check they agree, and stop the trial when they say so. Trials start as workers
    free up; their first report fixes their number (Optuna's trial.number = Monitor's
    index). Returns the decisions."""
    n, T = curves.shape
    heap, nxt, number, out = [], 0, {}, []

    def start(time):
        nonlocal nxt
        i = nxt
        nxt += 1
        t = 1
        while skip[i, t - 1] and t < fail[i]:
            t += 1
        heapq.heappush(heap, (time + dur[i, :t].sum(), i, t))

    for _ in range(min(W, n)):
        start(0.0)
    while heap:
        time, i, t = heapq.heappop(heap)
        if i not in number:
            number[i] = len(number)
            peer.start(number[i])
        k, v = number[i], float(curves[i, t - 1])
        if t < T:
            a = peer.report(k, t, v)
            b = monitor.report(k, t, v)
            assert a == b, (k, t, v, a, b)
            out.append(a)
            ended = "stopped" if a else ("failed" if t == fail[i] else None)
        else:
            monitor.report(k, t, v)
            ended = "completed"
        if ended is None:
            t2 = t + 1
            while skip[i, t2 - 1] and t2 < fail[i]:
                t2 += 1
            heapq.heappush(heap, (time + dur[i, t:t2].sum(), i, t2))
            continue
        if ended == "failed" and t < T:
            assert monitor.report(k, t + 1, float("nan")) is True   # a failed epoch
        peer.end(k, ended, t, v)
        monitor.complete(k)
        if nxt < n:
            start(time)
    return out


class OptunaPeer:
    def __init__(self, pruner, mode, study_name="lcore"):
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self.optuna = optuna
        self.study = optuna.create_study(
            pruner=pruner, study_name=study_name,
            direction="maximize" if mode == "max" else "minimize")
        self.trials = {}

    def start(self, k):
        tr = self.trials[k] = self.study.ask()
        assert tr.number == k

    def report(self, k, t, v):
        tr = self.trials[k]
        tr.report(v, t)
        return tr.should_prune()

    def end(self, k, how, t, v):
        tr = self.trials[k]
        if how == "completed":
            tr.report(v, t)
            self.study.tell(tr, v)
        elif how == "stopped":
            self.study.tell(tr, state=self.optuna.trial.TrialState.PRUNED)
        else:
            self.study.tell(tr, state=self.optuna.trial.TrialState.FAIL)


class _FakeRayTrial:
    def __init__(self, k):
        self.trial_id = f"t{k}"


class RayPeer:
    """Ray Tune's ASHAScheduler driven as its TuneController does: on_trial_add,
    on_trial_result per result, on_trial_complete (with the last result) for a stopped or
    completed trial (after the last on_trial_result), on_trial_error for a failed one. The
    bracket Ray draws at random is set to the replay's."""

    def __init__(self, rule, **kw):
        from ray.tune.schedulers import ASHAScheduler, TrialScheduler

        self.STOP = TrialScheduler.STOP
        self.rule = rule
        self.s = ASHAScheduler(time_attr="training_iteration", metric="m", mode=rule.mode, **kw)
        self.trials = {}

    def start(self, k):
        tr = self.trials[k] = _FakeRayTrial(k)
        self.s.on_trial_add(None, tr)
        self.s._trial_info[tr.trial_id] = self.s._brackets[self.rule.bracket(k)]

    def _res(self, t, v):
        return {"training_iteration": t, "m": v}

    def report(self, k, t, v):
        return self.s.on_trial_result(None, self.trials[k], self._res(t, v)) == self.STOP

    def end(self, k, how, t, v):
        tr = self.trials[k]
        if how == "completed":
            self.s.on_trial_result(None, tr, self._res(t, v))
        if how == "failed":
            self.s.on_trial_error(None, tr)
        else:
            self.s.on_trial_complete(None, tr, self._res(t, v))


class SynePeer:
    """Syne Tune's AsynchronousSuccessiveHalving (the ASHA baseline) driven as its Tuner does:
    on_trial_add, on_trial_result per result; a stopped trial on_trial_remove; a completed one
    its last on_trial_result then on_trial_complete unless that said stop; a failed one
    on_trial_error. The bracket (np.random.choice in Syne Tune) is set to the replay's."""

    def __init__(self, rule, **kw):
        from syne_tune.backend.trial_status import Trial
        from syne_tune.config_space import uniform
        from syne_tune.optimizer.scheduler import SchedulerDecision
        from syne_tune.optimizer.schedulers.asha import AsynchronousSuccessiveHalving

        self.Trial, self.STOP = Trial, SchedulerDecision.STOP
        self.rule = rule
        self.s = AsynchronousSuccessiveHalving(
            config_space={"x": uniform(0.0, 1.0)}, metric="m", time_attr="epoch",
            do_minimize=rule.mode == "min", random_seed=0, **kw)
        self.trials = {}

    def start(self, k):
        tr = self.trials[k] = self.Trial(trial_id=k, config={"x": 0.5},
                                         creation_time=datetime.datetime.now())
        self.s.on_trial_add(tr)
        self.s.trial_info[k] = self.s.brackets[self.rule.bracket(k)]

    def report(self, k, t, v):
        return self.s.on_trial_result(self.trials[k], {"m": v, "epoch": t}) == self.STOP

    def end(self, k, how, t, v):
        tr = self.trials[k]
        if how == "completed":
            if self.s.on_trial_result(tr, {"m": v, "epoch": t}) != self.STOP:
                self.s.on_trial_complete(tr, {"m": v, "epoch": t})
            else:
                self.s.on_trial_remove(tr)
        elif how == "stopped":
            self.s.on_trial_remove(tr)
        else:
            self.s.on_trial_error(tr)


def _run_many(make, cases, seed, n=14):
    rng = np.random.default_rng(seed)
    stops = conts = 0
    for case in cases:
        T, W, mode, gaps = case["T"], case["W"], case["mode"], case.get("gaps", False)
        rule, peer = make(case, mode)
        curves, fail, dur, skip = random_study(rng, case.get("n", n), T, gaps)
        if mode == "min":
            curves = 2.0 - curves
        d = drive(peer, Monitor(rule, horizon=T), curves, fail, dur, skip, W)
        stops += sum(d)
        conts += len(d) - sum(d)
    assert stops > 20 and conts > 20, (stops, conts)


# ---- Optuna ----------------------------------------------------------------------------------

SH_CASES = [
    dict(kw=dict(), T=9, W=1, mode="max"),
    dict(kw=dict(), T=12, W=3, mode="min", gaps=True),
    dict(kw=dict(min_resource=1, reduction_factor=2), T=9, W=1, mode="max"),
    dict(kw=dict(min_resource=1, reduction_factor=2), T=17, W=4, mode="max", gaps=True),
    dict(kw=dict(min_resource=2, reduction_factor=2, min_early_stopping_rate=1), T=17, W=2,
         mode="min"),
    dict(kw=dict(min_resource=1, reduction_factor=3, bootstrap_count=2), T=12, W=2,
         mode="max"),
    dict(kw=dict(min_resource=1, reduction_factor=2, bootstrap_count=1), T=8, W=4,
         mode="min", gaps=True),
    dict(kw=dict(reduction_factor=2), T=205, W=3, mode="max", n=8),   # auto: T // 100 = 2
]


def test_optuna_sh_equals_optuna():
    optuna = pytest.importorskip("optuna")

    def make(case, mode):
        rule = OptunaSuccessiveHalving(mode=mode, **case["kw"])
        return rule, OptunaPeer(optuna.pruners.SuccessiveHalvingPruner(**case["kw"]), mode)

    _run_many(make, SH_CASES * 2, seed=1)


HB_CASES = [
    dict(kw=dict(), T=9, W=1, mode="max"),
    dict(kw=dict(), T=10, W=3, mode="min", gaps=True, name="study-a"),
    dict(kw=dict(reduction_factor=2), T=17, W=2, mode="max", name="x"),
    dict(kw=dict(min_resource=2, max_resource=40, reduction_factor=2), T=30, W=4,
         mode="max"),
    dict(kw=dict(max_resource=9, bootstrap_count=1), T=12, W=2, mode="min"),
    dict(kw=dict(max_resource=5, reduction_factor=2), T=8, W=1, mode="max", gaps=True,
         name="b"),
]


def test_optuna_hyperband_equals_optuna():
    optuna = pytest.importorskip("optuna")
    counter = iter(range(10**6))

    def make(case, mode):
        name = f"{case.get('name', 'lcore')}-{next(counter)}"
        rule = OptunaHyperband(mode=mode, study_name=name, **case["kw"])
        return rule, OptunaPeer(optuna.pruners.HyperbandPruner(**case["kw"]), mode, name)

    _run_many(make, HB_CASES * 2, seed=2, n=24)


def test_optuna_hyperband_brackets_are_optunas():
    optuna = pytest.importorskip("optuna")
    for kw, T in [(dict(), 9), (dict(reduction_factor=2), 40), (dict(max_resource=81), 5)]:
        pruner = optuna.pruners.HyperbandPruner(**kw)
        study = optuna.create_study(pruner=pruner, study_name="brk")
        for _ in range(3):               # a completed trial initialises "auto"
            tr = study.ask()
            for step in range(1, T + 1):
                tr.report(0.5, step)
            study.tell(tr, 0.5)
        pruner._try_initialization(study) if not pruner._pruners else None
        rule = OptunaHyperband(study_name="brk", **kw)
        assert rule.budgets(T) == pruner._trial_allocation_budgets
        frozen = study.trials[0]
        seen = set()
        for number in range(300):
            ft = frozen.__class__.__new__(frozen.__class__)
            ft.__dict__.update(frozen.__dict__)
            ft.number = number
            b = rule.bracket(number, T)
            assert b == pruner._get_bracket_id(study, ft)
            seen.add(b)
        assert len(seen) > 1


def test_optuna_sh_by_hand():
    # min_resource=1, eta=2: rungs at 1, 2, 4; the top half (at least the best) passes
    r = OptunaSuccessiveHalving(min_resource=1, reduction_factor=2)
    m = Monitor(r, horizon=6)
    assert m.report("a", 1, 0.5) is False            # alone at rung 0: the best
    assert m.report("b", 1, 0.4) is True             # 2 values, idx 0: needs >= 0.5
    assert m.report("c", 1, 0.5) is False            # 3 values, ties pass
    assert m.report("a", 2, 0.6) is False            # rung 1, alone
    # "auto" waits for a completed trial (Optuna cannot estimate min_resource before)
    m2 = Monitor("optuna-sh", horizon=3)
    assert m2.report("a", 1, 0.9) is False
    assert m2.report("b", 1, 0.1) is False


# ---- Ray Tune ---------------------------------------------------------------------------------

RAY_CASES = [
    dict(kw=dict(), T=9, W=1, mode="max"),
    dict(kw=dict(reduction_factor=2), T=12, W=3, mode="min"),
    dict(kw=dict(reduction_factor=2, grace_period=2, max_t=30), T=17, W=4, mode="max"),
    dict(kw=dict(reduction_factor=1.5, brackets=3), T=12, W=2, mode="max"),
    dict(kw=dict(reduction_factor=1.2, brackets=2, stop_last_trials=False), T=10, W=3,
         mode="min"),
    dict(kw=dict(reduction_factor=1.3, max_t=6), T=10, W=2, mode="max"),
    dict(kw=dict(reduction_factor=1.3, max_t=6, stop_last_trials=False), T=10, W=2,
         mode="max"),
    dict(kw=dict(reduction_factor=3, brackets=2, max_t=9), T=9, W=4, mode="min"),
    dict(kw=dict(reduction_factor=1.2), T=15, W=2, mode="max", n=20),
    dict(kw=dict(reduction_factor=1.1, brackets=2), T=16, W=3, mode="min", n=20),
]


def test_ray_asha_equals_ray():
    pytest.importorskip("ray.tune")

    def make(case, mode):
        rule = RayASHA(mode=mode, **case["kw"])
        return rule, RayPeer(rule, **case["kw"])

    _run_many(make, RAY_CASES * 2, seed=3)


def test_ray_bracket_probabilities_are_rays():
    pytest.importorskip("ray.tune")
    from ray.tune.schedulers import ASHAScheduler

    for kw in [dict(brackets=3), dict(brackets=4, reduction_factor=1.5, max_t=20),
               dict(brackets=5, reduction_factor=3, max_t=10)]:
        s = ASHAScheduler(metric="m", mode="max", **kw)
        sizes = np.array([len(b._rungs) for b in s._brackets])
        probs = np.e ** (sizes - sizes.max())
        rule = RayASHA(**kw)
        np.testing.assert_allclose(rule.bracket_probabilities(), probs / probs.sum(),
                                   rtol=1e-12)
        assert [m for m, _ in s._brackets[1]._rungs] == rule.milestones(1)
        draws = np.bincount([rule.bracket(i) for i in range(4000)], minlength=len(sizes))
        np.testing.assert_allclose(draws / 4000, probs / probs.sum(), atol=0.03)


def test_numpy_linear_quantile_is_numpys():
    rng = np.random.default_rng(4)
    for _ in range(3000):
        n = int(rng.integers(1, 12))
        a = np.sort(np.round(rng.normal(size=n), int(rng.integers(0, 3))))
        rf = float(rng.choice([1.2, 1.5, 2, 3, 4, np.pi]))
        q = (1 - 1 / rf) * 100
        assert numpy_linear_quantile(list(a), q / 100) == np.nanpercentile(list(a), q)


def test_ray_asha_by_hand():
    # rf=2, grace=1: rungs at 1, 2, 4, ...; cutoff = median of the others at the rung
    m = Monitor(RayASHA(reduction_factor=2, max_t=8), horizon=8)
    assert m.report("a", 1, 0.5) is False            # nobody recorded: continue
    assert m.report("b", 1, 0.4) is True             # 0.4 < 0.5
    assert m.report("c", 1, 0.45) is False           # median of 0.4, 0.5 = 0.45: not below
    assert m.report("d", 1, 0.44) is True


# ---- Syne Tune --------------------------------------------------------------------------------

SYNE_CASES = [
    dict(kw=dict(), T=9, W=1, mode="max"),
    dict(kw=dict(reduction_factor=2), T=12, W=3, mode="min"),
    dict(kw=dict(reduction_factor=2, grace_period=2, max_t=30), T=17, W=4, mode="max"),
    dict(kw=dict(reduction_factor=1.5, brackets=3), T=12, W=2, mode="max"),
    dict(kw=dict(reduction_factor=1.2, brackets=2), T=10, W=3, mode="min"),
    dict(kw=dict(reduction_factor=1.3, max_t=6), T=10, W=2, mode="max"),
    dict(kw=dict(reduction_factor=3, max_t=9), T=9, W=2, mode="max"),
    dict(kw=dict(reduction_factor=4, brackets=2, max_t=9), T=12, W=4, mode="min"),
    dict(kw=dict(reduction_factor=1.2), T=15, W=2, mode="max", n=20),
    dict(kw=dict(reduction_factor=1.1, brackets=2), T=16, W=3, mode="min", n=20),
    dict(kw=dict(reduction_factor=1.15), T=30, W=2, mode="max", n=16),
]


def test_synetune_asha_equals_synetune():
    pytest.importorskip("syne_tune")

    def make(case, mode):
        rule = SyneTuneASHA(mode=mode, **case["kw"])
        return rule, SynePeer(rule, **case["kw"])

    _run_many(make, SYNE_CASES * 2, seed=5)


def test_synetune_asha_by_hand():
    # rf=2: rank = (strictly better) / (others + 1) must be <= 1/2
    m = Monitor(SyneTuneASHA(reduction_factor=2, max_t=8), horizon=8)
    assert m.report("a", 1, 0.5) is False            # first at the rung
    assert m.report("b", 1, 0.5) is False            # a tie is not better: rank 0
    assert m.report("c", 1, 0.4) is True             # rank 2/3
    assert m.report("d", 1, 0.45) is False           # 2 of 4 better: 0.5 is not > 1/2
    m = Monitor(SyneTuneASHA(max_t=3), horizon=5)
    m.report("a", 1, 0.5)
    assert m.report("a", 3, 0.9) is True             # t >= max_t


# ---- C twins ---------------------------------------------------------------------------------

TWIN_RULES = [
    OptunaSuccessiveHalving(min_resource=1, reduction_factor=2),
    OptunaSuccessiveHalving(),
    OptunaSuccessiveHalving(min_resource=1, reduction_factor=3, bootstrap_count=2),
    OptunaHyperband(),
    OptunaHyperband(max_resource=5, reduction_factor=2, study_name="s"),
    RayASHA(reduction_factor=2),
    RayASHA(brackets=3, reduction_factor=1.2, stop_last_trials=False),
    RayASHA(brackets=2, reduction_factor=1.15, max_t=4, bracket_seed=7),
    SyneTuneASHA(),
    SyneTuneASHA(brackets=2, reduction_factor=1.3, max_t=4),
    SyneTuneASHA(brackets=3, reduction_factor=1.2),
]


@pytest.mark.parametrize("rule", TWIN_RULES, ids=lambda r: r.label)
def test_c_twin_on_accuracy_table(rule):
    res = check_c_twin(rule, awkward_max_table(), goal="top5%")
    assert sum(r.n_stopped.sum() for r in res) > 0


@pytest.mark.parametrize("rule", TWIN_RULES, ids=lambda r: r.label)
def test_c_twin_on_loss_table(rule):
    rule = type(rule)(**{**rule.params, "mode": "min"})
    res = check_c_twin(rule, loss_table(), goal="top5%")
    assert sum(r.n_stopped.sum() for r in res) > 0


def _skipping_table():
    """T = 10; with reduction_factor 1.3 the rung levels 1, 1.3, 1.69, 2.2, 2.86, ... put two
    levels in some epochs, so a trial skips rungs (1.3 at epoch 2, 2.2 at epoch 3) that it
    fills at epochs without a new level (2.2 at epoch 6). Rows: flat 0.9 (completes), 0.95
    then 0.5 from epoch 3 (stopped there), 0.95 then 0.6 from epoch 6, one goal row."""
    from lcore.table import LookupTable

    T = 10
    rows = ([[0.9] * T] * 10 + [[0.95, 0.95] + [0.5] * (T - 2)] * 10
            + [[0.95] * 5 + [0.6] * (T - 5)] * 10 + [[0.3] * (T - 1) + [0.99]])
    rng = np.random.default_rng(0)
    acc = (np.array(rows) + rng.uniform(0, 0.001, (31, T))).astype(np.float32)
    return LookupTable(acc, np.ones((31, T), np.float32), unit=rng.random((31, 2)))


def test_ray_end_records_matter_and_c_twin_keeps_them():
    """The records Ray makes when a trial ends (on_trial_complete) fill rungs the trial
    skipped; a later trial compares there: without them the rule decides differently. The C
    twin keeps them (its on_end) and equals the Python twin."""
    t = _skipping_table()

    class NoEnd(RayASHA):
        def _on_end(self, *a):
            return None

    kw = dict(goal=0.99, repeats=6, progress=False, chooser="random", seed=0)
    a = lcore.simulate(t, rule=RayASHA(reduction_factor=1.3), **kw)
    b = lcore.simulate(t, rule=NoEnd(reduction_factor=1.3), **kw)
    assert not np.array_equal(a.n_stopped, b.n_stopped)
    check_c_twin(RayASHA(reduction_factor=1.3), t, goal=0.99, repeats=4)
    check_c_twin(SyneTuneASHA(reduction_factor=1.3), t, goal=0.99, repeats=4)


def test_ray_end_record_by_hand_equals_ray():
    """Trial A ends (stopped) at epoch 3 with 0.9: Ray's on_trial_complete records it at the
    rung of level 2.197 that A skipped. B (0.95 until epoch 5) reaches that rung at epoch 6
    (no new level there) with 0.5 < 0.9: stopped. Without A's end record B would continue."""
    pytest.importorskip("ray.tune")
    rule = RayASHA(reduction_factor=1.3)
    peer = RayPeer(rule, reduction_factor=1.3)
    m = Monitor(rule, horizon=10)
    peer.start(0)
    for t in (1, 2, 3):
        assert peer.report(0, t, 0.9) is False and m.report("A", t, 0.9) is False
    peer.end(0, "stopped", 3, 0.9)
    m.complete("A")
    peer.start(1)
    for t in range(1, 6):
        assert peer.report(1, t, 0.95) is False and m.report("B", t, 0.95) is False
    assert peer.report(1, 6, 0.5) is True and m.report("B", 6, 0.5) is True

    class NoEnd(RayASHA):
        def _on_end(self, *a):
            return None

    m = Monitor(NoEnd(reduction_factor=1.3), horizon=10)
    for t in (1, 2, 3):
        m.report("A", t, 0.9)
    m.complete("A")
    for t in range(1, 6):
        m.report("B", t, 0.95)
    assert m.report("B", 6, 0.5) is False


def test_synetune_end_records_c_twin():
    from lcore.table import synthetic

    t = synthetic("mnist_lenet5", n=60, epochs=30, seed=2)
    res = check_c_twin(SyneTuneASHA(reduction_factor=1.15), t, goal="top5%", repeats=3,
                       choosers=("random",))
    assert sum(r.n_stopped.sum() for r in res) > 0


# ---- by name ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name,kw", [
    ("optuna-sh", dict(min_resource=1, reduction_factor=2)),
    ("optuna-hyperband", dict(reduction_factor=2)),
    ("ray-asha", dict(reduction_factor=2)),
    ("synetune-asha", dict(reduction_factor=2)),
])
def test_by_name_in_simulate_and_monitor(name, kw):
    t = awkward_max_table()
    a = lcore.simulate(t, rule=name, repeats=3, seed=1, progress=False, chooser="random", **kw)
    assert a.n_stopped.sum() > 0
    assert type(get_rule(name, **kw)).name == name
    m = Monitor(name, horizon=5, **kw)
    stops = []
    for i, v in enumerate([0.5, 0.9, 0.1, 0.95, 0.05, 0.7, 0.02]):
        stops.append(m.report(i, 1, v))
        m.report(i, 5, v) if i == 0 else None
    assert any(stops) and not all(stops)
    m2 = Monitor(name, horizon=5, mode="min", **kw)
    assert m2.rule.mode == "min"


def test_needs_current_trial():
    h = History(horizon=5)
    with pytest.raises(ValueError, match=r"rule 'ray-asha' records every trial's rung values "
                                         r"by trial: it needs history.current_trial"):
        RayASHA().should_stop(np.array([0.5]), h)


def test_state_is_per_history():
    r = RayASHA(reduction_factor=2)
    m1, m2 = Monitor(r, horizon=5), Monitor(r, horizon=5)
    assert m1.report("a", 1, 0.9) is False
    assert m2.report("a", 1, 0.1) is False            # a fresh rung: nobody recorded there
    assert m1.report("b", 1, 0.1) is True


@pytest.mark.parametrize("name", ["optuna-sh", "optuna-hyperband", "ray-asha",
                                  "synetune-asha"])
def test_monitor_pickles_and_copies_with_its_rung_records(name):
    import copy
    import pickle

    kw = {"optuna-sh": dict(min_resource=1, reduction_factor=2),
          "optuna-hyperband": dict(max_resource=1, reduction_factor=2, study_name="p")}
    m = Monitor(name, horizon=6, **kw.get(name, dict(reduction_factor=2)))
    for i, v in enumerate([0.5, 0.6, 0.7]):
        m.report(i, 1, v)
    copies = (pickle.loads(pickle.dumps(m)), copy.deepcopy(m))
    later = [0.1, 0.65, 0.2, 0.8]
    truth = [m.report(10 + i, 1, v) for i, v in enumerate(later)]
    assert any(truth)
    for other in copies:
        assert [other.report(10 + i, 1, v) for i, v in enumerate(later)] == truth


def test_bracket_uniform_is_deterministic():
    u = [bracket_uniform(3, i) for i in range(1000)]
    assert u == [bracket_uniform(3, i) for i in range(1000)]
    assert 0.0 <= min(u) and max(u) < 1.0 and 0.45 < np.mean(u) < 0.55
    assert u != [bracket_uniform(4, i) for i in range(1000)]


# ---- bad parameters --------------------------------------------------------------------------

@pytest.mark.parametrize("name,kw,match", [
    ("optuna-sh", {"min_resource": 0},
     r"rule 'optuna-sh': min_resource must be an int >= 1 or 'auto', got 0"),
    ("optuna-sh", {"min_resource": "big"},
     r"rule 'optuna-sh': min_resource must be an int >= 1 or 'auto', got 'big'"),
    ("optuna-sh", {"reduction_factor": 1},
     r"rule 'optuna-sh': reduction_factor must be an int >= 2, got 1"),
    ("optuna-sh", {"reduction_factor": 2.5},
     r"rule 'optuna-sh': reduction_factor must be an int >= 2, got 2.5"),
    ("optuna-sh", {"min_early_stopping_rate": -1},
     r"rule 'optuna-sh': min_early_stopping_rate must be an int >= 0, got -1"),
    ("optuna-sh", {"bootstrap_count": -2},
     r"rule 'optuna-sh': bootstrap_count must be an int >= 0, got -2"),
    ("optuna-sh", {"bootstrap_count": 2},
     r"rule 'optuna-sh': bootstrap_count > 0 needs an int min_resource .*bootstrap_count=2"),
    ("optuna-sh", {"mode": "up"}, r"mode must be 'max' or 'min', got 'up'"),
    ("optuna-hyperband", {"min_resource": 0},
     r"rule 'optuna-hyperband': min_resource must be an int in \[1, 2147483647\], got 0"),
    ("optuna-hyperband", {"min_resource": 3, "max_resource": 2},
     r"rule 'optuna-hyperband': max_resource must be an int in \[min_resource, 2\*\*31 - 1\] "
     r"= \[3, 2147483647\] or 'auto', got 2"),
    ("optuna-hyperband", {"max_resource": "x"},
     r"rule 'optuna-hyperband': max_resource must be an int .* or 'auto', got 'x'"),
    ("optuna-hyperband", {"reduction_factor": 1},
     r"rule 'optuna-hyperband': reduction_factor must be an int >= 2, got 1"),
    ("optuna-hyperband", {"bootstrap_count": -1},
     r"rule 'optuna-hyperband': bootstrap_count must be an int >= 0, got -1"),
    ("optuna-hyperband", {"bootstrap_count": 1},
     r"rule 'optuna-hyperband': bootstrap_count > 0 needs an int max_resource"),
    ("optuna-hyperband", {"study_name": 3},
     r"rule 'optuna-hyperband': study_name must be a str, got 3"),
    ("ray-asha", {"max_t": 0}, r"rule 'ray-asha': max_t must be an int >= 1, got 0"),
    ("ray-asha", {"grace_period": 0},
     r"rule 'ray-asha': grace_period must be an int in \[1, max_t\] = \[1, 100\], got 0"),
    ("ray-asha", {"grace_period": 5, "max_t": 4},
     r"rule 'ray-asha': grace_period must be an int in \[1, max_t\] = \[1, 4\], got 5"),
    ("ray-asha", {"reduction_factor": 1},
     r"rule 'ray-asha': reduction_factor must be a finite real number > 1, got 1"),
    ("ray-asha", {"reduction_factor": float("inf")},
     r"rule 'ray-asha': reduction_factor must be a finite real number > 1, got inf"),
    ("ray-asha", {"brackets": 0},
     r"rule 'ray-asha': brackets must be an int in \[1, 1000000\], got 0"),
    ("ray-asha", {"stop_last_trials": 1},
     r"rule 'ray-asha': stop_last_trials must be True or False, got 1"),
    ("ray-asha", {"bracket_seed": -1},
     r"rule 'ray-asha': bracket_seed must be an int in \[0, 9007199254740991\], got -1"),
    ("synetune-asha", {"max_t": 1.5},
     r"rule 'synetune-asha': max_t must be an int >= 1, got 1.5"),
    ("synetune-asha", {"grace_period": 101},
     r"rule 'synetune-asha': grace_period must be an int in \[1, max_t\] = \[1, 100\], "
     r"got 101"),
    ("synetune-asha", {"reduction_factor": 0.5},
     r"rule 'synetune-asha': reduction_factor must be a finite real number > 1, got 0.5"),
    ("synetune-asha", {"brackets": 10**6 + 1},
     r"rule 'synetune-asha': brackets must be an int in \[1, 1000000\], got 1000001"),
    ("synetune-asha", {"bracket_seed": 2**53},
     r"rule 'synetune-asha': bracket_seed must be an int in \[0, 9007199254740991\]"),
    ("synetune-asha", {"stop_last_trials": True},
     r"rule 'synetune-asha' takes the parameters .*; got unknown stop_last_trials"),
])
def test_bad_parameters(name, kw, match):
    with pytest.raises((ValueError, TypeError), match=match):
        get_rule(name, **kw)


def test_hyperband_min_resource_beyond_auto_max():
    with pytest.raises(ValueError, match=r"rule 'optuna-hyperband': min_resource must be <= "
                                         r"max_resource = T \+ 1 = 6 \(max_resource='auto'\), "
                                         r"got 7"):
        Monitor("optuna-hyperband", horizon=5, min_resource=7)
    with pytest.raises(ValueError, match="min_resource must be <= max_resource = T"):
        lcore.simulate(awkward_max_table(), rule="optuna-hyperband", min_resource=9,
                       repeats=1, progress=False, chooser="random")


