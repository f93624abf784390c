"""The same reports give the same decisions through Monitor, the Optuna pruner and the
simulator (its C loop and its Python path)."""

import numpy as np
import pytest

import lcore
from lcore.stopping import ETR1, ETR2, MedianRule, Monitor
from lcore.table import LookupTable, synthetic


def in_order(X_seen, y_seen, mask, rng):
    return int(np.flatnonzero(mask)[0])


def monitor_epochs(rule, acc):
    n, T = acc.shape
    mon = Monitor(rule, horizon=T)
    epochs = []
    for i in range(n):
        e = 0
        for t in range(1, T + 1):
            if np.isnan(acc[i, t - 1]):
                break
            e = t
            if mon.report(i, t, float(acc[i, t - 1])):
                break
        mon.complete(i)
        epochs.append(e)
    return epochs


def optuna_epochs(rule, acc):
    optuna = pytest.importorskip("optuna")
    from lcore.integrations.optuna import LcorePruner

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    n, T = acc.shape
    epochs = []

    def objective(trial):
        i = trial.number
        e = 0
        for t in range(1, T + 1):
            trial.report(float(acc[i, t - 1]), t)
            e = t
            if trial.should_prune():
                epochs.append(e)
                raise optuna.TrialPruned()
        epochs.append(e)
        return float(acc[i, T - 1])

    study = optuna.create_study(direction="maximize",
                                pruner=LcorePruner(rule, horizon=T),
                                sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(objective, n_trials=n)
    return epochs


class PyOnly:
    """Wraps a built-in rule so that the simulator must take its Python path."""

    def __init__(self, rule):
        self.rule = rule
        self.name = "wrapped"

    def should_stop(self, curve, history):
        return self.rule.should_stop(curve, history)

    def check(self, T):
        self.rule.check(T)


@pytest.mark.parametrize("rule", [ETR1(tau=2), ETR1(tau=1, r=0.5, eps=0.1), ETR2(p=0.8),
                                  ETR2(p=0.95, q=0.5), MedianRule(),
                                  MedianRule(min_completed=3, warmup=3)])
def test_monitor_optuna_and_simulator_agree(rule):
    t = synthetic("mnist_lenet5", n=120, epochs=8, seed=3, failure_rate=0.0)
    table = LookupTable(t.acc, t.time)
    acc = table.acc
    expected = monitor_epochs(rule, acc)
    assert 0 < sum(e < 8 for e in expected) < len(expected)  # some stops, not all
    goal = 1.0 if np.nanmax(acc) >= 1.0 else float(np.nanmax(acc)) + 0.0
    kw = dict(goal=goal, repeats=1, seed=0, chooser=in_order, n_init=0, trace=True,
              progress=False, max_evals=table.n)
    sim_py = lcore.simulate(table, rule=PyOnly(rule), **kw)
    got_py = sim_py.traces[0]["epochs"].tolist()
    m = len(got_py)  # the run ends at the best row (the goal)
    assert got_py == expected[:m]
    # the C loop (random order) decides the same for the same history: replay its row order
    sim_c = lcore.simulate(table, rule=rule, goal=goal, repeats=1, seed=5, chooser="random",
                           trace=True, progress=False)
    rows = sim_c.traces[0]["row"]
    assert sim_c.traces[0]["epochs"].tolist() == monitor_epochs(rule, acc[rows])
    assert optuna_epochs(rule, acc[:40]) == expected[:40]
