"""The C rule registry (csrc/lc_rules.c) and the path from a rule's Python class to its C
twin in the replay loop, shown on Optuna's ThresholdPruner."""

import sys
from pathlib import Path

import numpy as np
import pytest

import lcore
from lcore._core import _replay
from lcore.stopping import History, Monitor, OptunaThreshold, get_rule
from lcore.stopping.registry import RULES

sys.path.insert(0, str(Path(__file__).parent))
from _replay_helpers import awkward_max_table, check_c_twin, loss_table  # noqa: E402


def test_every_c_kind_has_a_registered_python_rule():
    kinds = _replay.c_rule_kinds()
    assert "optuna-threshold" in kinds
    for name in kinds:
        assert name in RULES, f"C rule {name!r} has no Python twin in RULES"


def test_threshold_twin_on_accuracy_table():
    t = awkward_max_table()
    rule = OptunaThreshold(lower=0.55, n_warmup_steps=1, interval_steps=2)
    res = check_c_twin(rule, t, goal="top5%")
    assert sum(r.n_stopped.sum() for r in res) > 0


def test_threshold_twin_on_loss_table():
    t = loss_table()
    rule = OptunaThreshold(upper=1.6)   # mode-free: runs on the "min" table as it is
    res = check_c_twin(rule, t, goal="top5%")
    assert sum(r.n_stopped.sum() for r in res) > 0


def test_threshold_by_name_in_simulate_and_monitor():
    t = awkward_max_table()
    a = lcore.simulate(t, rule="optuna-threshold", lower=0.5, repeats=3, seed=1, progress=False,
                       chooser="random")
    assert a.n_stopped.sum() > 0
    m = Monitor("optuna-threshold", horizon=5, lower=0.5)
    assert m.report("a", 1, 0.6) is False
    assert m.report("b", 1, 0.4) is True


def test_threshold_decisions_by_hand():
    h = History(horizon=10)
    r = OptunaThreshold(lower=0.2, upper=0.9, n_warmup_steps=2, interval_steps=3)
    # pruning steps are 2, 5, 8; step 3 is not the first of its interval (2 was reported)
    assert not r.should_stop(np.array([0.1]), h)            # t = 1 < warmup
    assert r.should_stop(np.array([0.5, 0.1]), h)            # t = 2: 0.1 < 0.2
    assert not r.should_stop(np.array([0.5, 0.5, 0.1]), h)   # t = 3: interval's 2nd step
    assert r.should_stop(np.array([0.5, np.nan, 0.1]), h)    # t = 3, step 2 not reported
    assert r.should_stop(np.array([0.5, 0.5, 0.5, 0.5, 0.95]), h)  # t = 5: above upper


def test_threshold_equals_optuna():
    optuna = pytest.importorskip("optuna")
    rng = np.random.default_rng(0)
    for lower, upper, warm, interval in [(0.3, None, 0, 1), (None, 0.7, 2, 3), (0.2, 0.8, 1, 2)]:
        ours = OptunaThreshold(lower=lower, upper=upper, n_warmup_steps=warm,
                               interval_steps=interval)
        theirs = optuna.pruners.ThresholdPruner(lower=lower, upper=upper,
                                                n_warmup_steps=warm, interval_steps=interval)
        study = optuna.create_study(pruner=theirs)
        for _ in range(20):
            trial = study.ask()
            curve = []
            for step in range(1, 9):
                v = float(rng.uniform(0, 1))
                trial.report(v, step)
                curve.append(v)
                assert ours.should_stop(np.array(curve), History(horizon=9)) == \
                    trial.should_prune(), (lower, upper, warm, interval, curve)
            study.tell(trial, curve[-1])


@pytest.mark.parametrize("kw,match", [
    ({}, "needs lower, upper or both"),
    ({"lower": 0.5, "upper": 0.2}, r"lower must be <= upper, got lower=0.5 > upper=0.2"),
    ({"lower": "a"}, r"rule 'optuna-threshold': lower must be a finite real number or None, "
                     r"got 'a'"),
    ({"lower": 0.1, "n_warmup_steps": -1},
     r"rule 'optuna-threshold': n_warmup_steps must be an int >= 0, got -1"),
    ({"lower": 0.1, "interval_steps": 0},
     r"rule 'optuna-threshold': interval_steps must be an int >= 1, got 0"),
])
def test_threshold_bad_parameters(kw, match):
    with pytest.raises((ValueError, TypeError), match=match):
        get_rule("optuna-threshold", **kw)


def test_bad_c_specs_are_refused():
    t = awkward_max_table()
    from lcore.replay import _rule_spec

    class Wrong(OptunaThreshold):
        def _c_rule(self):
            return ("no-such-rule", [], None)

    with pytest.raises(ValueError, match="no C rule named 'no-such-rule'"):
        lcore.simulate(t, rule=Wrong(lower=0.1), repeats=1, progress=False, chooser="random")

    class Short(OptunaThreshold):
        def _c_rule(self):
            return ("optuna-threshold", [0.0], None)

    assert _rule_spec(Short(lower=0.1))[0] == "crule"
    with pytest.raises(ValueError, match="takes 4 parameters, got 1"):
        lcore.simulate(t, rule=Short(lower=0.1), repeats=1, progress=False, chooser="random")
