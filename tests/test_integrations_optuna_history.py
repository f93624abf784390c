"""The Optuna pruner's trial record: finished trials, then the running ones during a decision
(the trial being decided as ``history.current_trial``), as in the simulator."""

import numpy as np
import pytest

optuna = pytest.importorskip("optuna")

from lcore.integrations.optuna import LcorePruner  # noqa: E402
from lcore.stopping import COMPLETED, RUNNING, STOPPED, Rule  # noqa: E402


class Spy(Rule):
    """Records what it saw; never stops."""

    name = "spy"

    def __init__(self, mode="max"):
        self.mode = mode
        self.seen = []

    def should_stop(self, curve, history):
        i = history.current_trial
        self.seen.append((history.n_trials, i, history.trial_states.copy(),
                          history.trial_curves.copy(), curve.copy()))
        return False


def test_running_trials_are_in_the_record_during_a_decision():
    spy = Spy()
    pruner = LcorePruner(spy, horizon=4)
    study = optuna.create_study(direction="maximize", pruner=pruner)
    done = study.ask()
    for step in range(1, 5):
        done.report(0.1 * step, step)
    study.tell(done, 0.4)
    a, b = study.ask(), study.ask()          # two running trials
    a.report(0.5, 1)
    a.report(0.6, 2)
    b.report(0.7, 1)
    assert b.should_prune() is False
    n, cur, states, curves, curve = spy.seen[-1]
    assert n == 3                            # the finished one, then a and b
    assert list(states) == [COMPLETED, RUNNING, RUNNING]
    assert cur == 2                          # b is the trial being decided
    np.testing.assert_array_equal(curves[1, :2], [0.5, 0.6])
    assert np.isnan(curves[1, 2:]).all()
    np.testing.assert_array_equal(curves[2, :1], [0.7])
    np.testing.assert_array_equal(curve, [0.7])
    # the trials keep their places; a finished trial ends where it was recorded
    assert a.should_prune() is False
    n, cur, states, curves, curve = spy.seen[-1]
    assert n == 3 and cur == 1
    study.tell(a, 0.6)
    assert b.should_prune() is False
    n, cur, states, curves, curve = spy.seen[-1]
    assert n == 3 and cur == 2
    assert list(states) == [COMPLETED, STOPPED, RUNNING]  # a returned before T, in its place
    h = pruner.history(study)
    assert h.current_trial == -1


def test_rung_rule_in_the_pruner_decides_as_optuna():
    """optuna-sh through LcorePruner decides as Optuna's SuccessiveHalvingPruner on the same
    sequential study (the pruner's record keeps each trial's index, which the rung rules'
    per-trial records need)."""
    rng = np.random.default_rng(3)
    curves = rng.uniform(0, 1, (25, 6)).cumsum(axis=1) / 6
    ours = optuna.create_study(direction="maximize", pruner=LcorePruner(
        "optuna-sh", horizon=6, min_resource=1, reduction_factor=2))
    theirs = optuna.create_study(direction="maximize", pruner=optuna.pruners.
                                 SuccessiveHalvingPruner(min_resource=1, reduction_factor=2))
    n_pruned = 0
    for c in curves:
        a, b = ours.ask(), theirs.ask()
        for step in range(1, 6):
            a.report(float(c[step - 1]), step)
            b.report(float(c[step - 1]), step)
            pa, pb = a.should_prune(), b.should_prune()
            assert pa == pb, (c, step)
            if pa:
                break
        if pa:
            n_pruned += 1
            ours.tell(a, state=optuna.trial.TrialState.PRUNED)
            theirs.tell(b, state=optuna.trial.TrialState.PRUNED)
        else:
            a.report(float(c[5]), 6)
            b.report(float(c[5]), 6)
            ours.tell(a, float(c[5]))
            theirs.tell(b, float(c[5]))
    assert 0 < n_pruned < len(curves)
