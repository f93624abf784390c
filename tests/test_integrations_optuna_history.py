"""The Optuna pruner's trial record: finished trials, then the running ones during a decision
(the trial being decided as ``history.current_trial``), as in the simulator."""

import numpy as np
import pytest

optuna = pytest.importorskip("optuna")

from lcore.integrations.optuna import LcorePruner  # noqa: E402
from lcore.stopping import COMPLETED, RUNNING, Rule  # noqa: E402


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
    # the running trials are gone again after the decision
    h = pruner.history(study)
    assert h.n_trials == 1 and h.current_trial == -1
