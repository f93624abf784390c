"""Compiled (numba) rules in the replay loop and online."""

import pickle

import numpy as np
import pytest

import lcore
from lcore.stopping import COMPLETED, ETR1, History

numba = pytest.importorskip("numba")  # the `numba` extra; part of the `test` extra

from lcore.stopping import compiled_rule  # noqa: E402


@pytest.fixture(scope="module")
def table():
    return lcore.table.synthetic("mnist_lenet5", n=300, epochs=6, seed=4)


from _replay_helpers import same  # noqa: E402

KW = dict(goal="top2%", repeats=4, seed=3, progress=False, trace=True)


@compiled_rule
def etr1_at_2(curve, t, T, n_trials, curves, n_obs, states, incumbent):
    if t == 2 and curve[1] < 0.1 + 0.05:
        return 1
    return 0


@compiled_rule
def below_incumbent_half(curve, t, T, n_trials, curves, n_obs, states, incumbent):
    # reads the whole history: stop when far below the incumbent and 2 trials completed
    done = 0
    for i in range(n_trials):
        if states[i] == 2:
            done += 1
    if done >= 2 and incumbent == incumbent and curve[t - 1] < 0.5 * incumbent:
        return 1
    return 0


class BelowIncumbentHalf(lcore.stopping.Rule):
    name = "below-half"

    def should_stop(self, curve, history):
        done = int((history.trial_states == COMPLETED).sum())
        inc = history.incumbent
        return bool(done >= 2 and inc == inc and curve[-1] < 0.5 * inc)


@compiled_rule
def returns_seven(curve, t, T, n_trials, curves, n_obs, states, incumbent):
    return 7


@pytest.mark.parametrize("chooser", ["random", "rf-ei"])
@pytest.mark.parametrize("W", [1, 3])
def test_compiled_rule_equals_builtin_and_python_twin(table, chooser, W):
    kw = dict(KW, chooser=chooser, n_workers=W, chooser_params=None)
    same(lcore.simulate(table, rule=etr1_at_2, **kw),
         lcore.simulate(table, rule=ETR1(tau=2), **kw))
    a = lcore.simulate(table, rule=below_incumbent_half, **kw)
    b = lcore.simulate(table, rule=BelowIncumbentHalf(), **kw)
    same(a, b)
    assert a.n_stopped.sum() > 0 and a.rule == "below_incumbent_half"


def test_compiled_rule_across_processes_and_online(table):
    kw = dict(KW, chooser="random", repeats=6)
    same(lcore.simulate(table, rule=etr1_at_2, n_jobs=2, **kw),
         lcore.simulate(table, rule=etr1_at_2, **kw))
    clone = pickle.loads(pickle.dumps(etr1_at_2))
    h = History(horizon=6)
    assert clone.should_stop(np.array([0.5, 0.12]), h) is True
    assert clone.should_stop(np.array([0.5, 0.2]), h) is False
    assert clone.should_stop(np.array([0.12]), h) is False


def test_compiled_rule_bad_answer(table):
    with pytest.raises(RuntimeError, match=r"compiled rule returns_seven \(repeat 0\) returned a "
                       r"value other than 0 \(continue\) or 1 \(stop\)"):
        lcore.simulate(table, rule=returns_seven, **dict(KW, chooser="random"))
    with pytest.raises(RuntimeError, match="returned 7; it must return 0"):
        returns_seven.should_stop(np.array([0.5]), History(horizon=6))
    with pytest.raises(TypeError, match="fn must be a function"):
        compiled_rule(3)


