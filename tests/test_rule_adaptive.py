"""The "adaptive" rule (lcore/stopping/adaptive.py) and its C twin (csrc/lc_rule_adaptive.c)."""

import sys
from pathlib import Path

import numpy as np
import pytest

import lcore
from lcore.stopping import Adaptive, History, Monitor, get_rule
from lcore.stopping.adaptive import reference_size
from lcore.stopping.registry import RULES

sys.path.insert(0, str(Path(__file__).parent))
from _replay_helpers import awkward_max_table, check_c_twin, loss_table  # noqa: E402


def reference_decision(curve, completed, k, mode="max"):
    """The rule written out directly from its docstring (no incremental state)."""
    s = 1.0 if mode == "max" else -1.0
    comp = s * np.asarray(completed, dtype=np.float64)
    n = comp.shape[0]
    if n <= k:
        return False
    t = len(curve)
    order = sorted(range(n), key=lambda i: (-comp[i, -1], i))[:k]
    col_b = comp[order, t - 1]
    col_b = col_b[~np.isnan(col_b)]
    if col_b.size == 0:
        return False
    th = float(col_b.min())
    col = comp[:, t - 1]
    col = col[~np.isnan(col)]
    e = int((col < th).sum())
    if e == 0:
        return False
    lo = float(col.min())
    return s * float(curve[t - 1]) < th - (th - lo) / (e + 1)


def test_registered_with_a_c_twin():
    from lcore._core import _replay

    assert RULES["adaptive"] is Adaptive
    assert "adaptive" in _replay.c_rule_kinds()
    assert Adaptive().param_defaults() == {"alpha": 0.05, "mode": "max"}
    assert Adaptive().k == 19
    assert [reference_size(a) for a in (0.5, 0.34, 0.25, 0.1, 0.05, 0.01)] == \
        [1, 2, 3, 9, 19, 99]


def test_decisions_by_hand():
    # k = 1 (alpha = 0.5): the reference set is the best completed curve
    r = Adaptive(alpha=0.5)
    h = History(horizon=3)
    assert not r.should_stop(np.array([0.0]), h)                 # n = 0 <= k
    h.append([0.6, 0.8, 0.9])
    assert not r.should_stop(np.array([0.0]), h)                 # n = 1 <= k
    h.append([0.2, 0.3, 0.4])
    # t = 2: theta = 0.8 (best final 0.9), e = 1 (0.3 < 0.8), lo = 0.3: 0.8 - 0.5 / 2 = 0.55
    assert r.should_stop(np.array([0.5, 0.5]), h)
    assert not r.should_stop(np.array([0.5, 0.55]), h)           # strict
    assert not r.should_stop(np.array([0.5, 0.6]), h)
    # t = 1: theta = 0.6, e = 1, lo = 0.2: threshold 0.4
    assert r.should_stop(np.array([0.39]), h)
    assert not r.should_stop(np.array([0.41]), h)
    h.append([0.1, 0.1, 0.1])
    # t = 2: e = 2 (0.3, 0.1), lo = 0.1: 0.8 - 0.7 / 3 = 0.5667
    assert r.should_stop(np.array([0.5, 0.56]), h)
    assert not r.should_stop(np.array([0.5, 0.57]), h)
    # a new best completed curve moves the reference: theta at t = 2 is now 0.2
    h.append([0.1, 0.2, 0.95])
    assert not r.should_stop(np.array([0.5, 0.151]), h)          # e = 1 (0.1): 0.2 - 0.1 / 2
    assert r.should_stop(np.array([0.5, 0.149]), h)


def test_min_mode_is_the_mirror_image():
    rng = np.random.default_rng(4)
    for _ in range(30):
        comp = rng.uniform(0, 1, (int(rng.integers(1, 9)), 4))
        curve = rng.uniform(0, 1, int(rng.integers(1, 4)))
        a = Adaptive(alpha=0.34).should_stop(curve, History(4, comp))
        b = Adaptive(alpha=0.34, mode="min").should_stop(-curve, History(4, -comp, mode="min"))
        assert a == b


def test_equals_the_direct_definition_on_random_histories():
    rng = np.random.default_rng(0)
    stops = 0
    for trial in range(300):
        T = int(rng.integers(2, 7))
        n = int(rng.integers(0, 12))
        comp = np.round(rng.uniform(0, 1, (n, T)), 1)   # many ties
        if n:
            comp[rng.random((n, T)) < 0.1] = np.nan           # gaps
            comp[:, -1] = np.round(rng.uniform(0, 1, n), 1)
        mode = "max" if trial % 2 else "min"
        alpha = float(rng.choice([0.5, 0.34, 0.25]))
        rule = Adaptive(alpha=alpha, mode=mode)
        h = History(T, mode=mode)
        for i in range(n):      # decisions between completions exercise the incremental state
            h.append(comp[i])
            curve = np.round(rng.uniform(0, 1, int(rng.integers(1, T))), 2)
            got = rule.should_stop(curve, h)
            assert got == reference_decision(curve, comp[: i + 1], rule.k, mode)
            stops += got
    assert stops > 50


def test_c_twin_on_accuracy_table():
    t = awkward_max_table()
    res = check_c_twin(Adaptive(alpha=0.25), t, goal="top5%")
    assert sum(r.n_stopped.sum() for r in res) > 0


def test_c_twin_on_accuracy_table_default_alpha():
    t = lcore.table.synthetic("mnist_lenet5", n=120, epochs=6, seed=2, failure_rate=0.02)
    res = check_c_twin(Adaptive(), t, goal="top2%", Ws=(1, 3), repeats=3)
    assert sum(r.n_stopped.sum() for r in res) > 0


def test_c_twin_on_loss_table():
    t = loss_table()
    res = check_c_twin(Adaptive(alpha=0.25, mode="min"), t, goal="top5%")
    assert sum(r.n_stopped.sum() for r in res) > 0


def test_by_name_in_simulate_and_monitor():
    t = awkward_max_table()
    a = lcore.simulate(t, rule="adaptive", alpha=0.25, goal="top5%", repeats=3, seed=1,
                       progress=False, chooser="random")
    b = lcore.simulate(t, rule=Adaptive(alpha=0.25), goal="top5%", repeats=3, seed=1,
                       progress=False, chooser="random")
    assert a.n_stopped.sum() > 0
    np.testing.assert_array_equal(a.time_to_goal, b.time_to_goal)
    m = Monitor("adaptive", horizon=3, alpha=0.5)
    for tid, curve in (("a", [0.6, 0.8, 0.9]), ("b", [0.2, 0.3, 0.4])):
        for e, v in enumerate(curve, 1):
            assert m.report(tid, e, v) is False      # n <= k while they run
        assert m.complete(tid) is True
    assert m.report("c", 1, 0.39) is True             # threshold 0.4 at t = 1
    assert m.report("d", 1, 0.41) is False
    assert m.report("d", 2, 0.5) is True              # threshold 0.55 at t = 2
    mm = Monitor("adaptive", horizon=3, alpha=0.5, mode="min")
    for tid, curve in (("a", [-0.6, -0.8, -0.9]), ("b", [-0.2, -0.3, -0.4])):
        for e, v in enumerate(curve, 1):
            mm.report(tid, e, v)
        mm.complete(tid)
    assert mm.report("c", 1, -0.39) is True
    assert mm.report("d", 1, -0.41) is False


def test_no_required_parameter():
    assert get_rule("adaptive") == Adaptive()
    assert get_rule("adaptive", mode="min").mode == "min"
    assert Adaptive().label == "adaptive"


@pytest.mark.parametrize("kw,match", [
    ({"alpha": 0.0}, r"rule 'adaptive': alpha must be a number in \(0, 0.5\], got 0.0"),
    ({"alpha": 0.6}, r"rule 'adaptive': alpha must be a number in \(0, 0.5\], got 0.6"),
    ({"alpha": -1}, r"rule 'adaptive': alpha must be a number in \(0, 0.5\], got -1"),
    ({"alpha": "a"}, r"rule 'adaptive': alpha must be a number in \(0, 0.5\], got 'a'"),
    ({"alpha": float("nan")}, r"rule 'adaptive': alpha must be a number in \(0, 0.5\], got nan"),
    ({"alpha": True}, r"rule 'adaptive': alpha must be a number in \(0, 0.5\], got True"),
    ({"mode": "up"}, r"mode must be 'max' or 'min', got 'up'"),
    ({"k": 3}, r"rule 'adaptive' takes the parameters alpha, mode; got unknown k"),
])
def test_bad_parameters(kw, match):
    with pytest.raises((ValueError, TypeError), match=match):
        get_rule("adaptive", **kw)


def test_c_init_refuses_a_bad_k():
    t = awkward_max_table()

    class Bad(Adaptive):
        def _c_rule(self):
            return ("adaptive", [0.5], None)

    with pytest.raises(ValueError):
        lcore.simulate(t, rule=Bad(), repeats=1, progress=False, chooser="random")


@pytest.mark.parametrize("mode", ["max", "min"])
def test_in_an_optuna_study_equals_monitor(mode):
    optuna = pytest.importorskip("optuna")
    from lcore.integrations.optuna import LcorePruner

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    T = 8
    log = []

    def objective(trial):
        x = trial.suggest_float("x", 0.0, 1.0)
        z = trial.suggest_float("z", 0.0, 1.0)
        t = np.arange(1, T + 1)
        acc = x * (1 - 0.6**t) + 0.05 * np.sin(5.0 * t * z)
        curve = acc if mode == "max" else 1.0 - acc
        for epoch in range(1, T + 1):
            trial.report(float(curve[epoch - 1]), epoch)
            stop = trial.should_prune()
            log.append((trial.number, epoch, float(curve[epoch - 1]), stop))
            if stop:
                raise optuna.TrialPruned()
        return float(curve[-1])

    study = optuna.create_study(direction="maximize" if mode == "max" else "minimize",
                                pruner=LcorePruner("adaptive", horizon=T, alpha=0.25),
                                sampler=optuna.samplers.RandomSampler(seed=1))
    study.optimize(objective, n_trials=40)
    states = [t.state.name for t in study.trials]
    assert states.count("PRUNED") > 0 and states.count("COMPLETE") > 3
    mon = Monitor("adaptive", horizon=T, alpha=0.25, mode=mode)
    for number, epoch, value, decision in log:
        assert mon.report(number, epoch, value) == decision, (number, epoch)
        if decision or epoch == T:
            mon.complete(number)
