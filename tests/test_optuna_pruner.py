"""LcorePruner in real Optuna studies: decisions equal to the rule's (through Monitor) on the
same curves; relation to ThresholdPruner; a case where MedianPruner decides differently."""

import math

import numpy as np
import optuna
import pytest
from optuna.trial import TrialState, create_trial

from lcore.integrations.optuna import LcorePruner
from lcore.stopping import ETR1, ETR2, MedianRule, Monitor

optuna.logging.set_verbosity(optuna.logging.WARNING)
T = 10


def curve_of(x, z, mode):
    t = np.arange(1, T + 1)
    acc = x * (1 - 0.7**t) + 0.03 * np.sin(7.0 * t * z)
    return acc if mode == "max" else 1.0 - acc


def run_study(pruner, mode, n_trials=30, seed=0):
    log = []  # (trial number, epoch, value, decision) in the order they happened

    def objective(trial):
        x = trial.suggest_float("x", 0.0, 1.0)
        z = trial.suggest_float("z", 0.0, 1.0)
        curve = curve_of(x, z, mode)
        for epoch in range(1, T + 1):
            trial.report(float(curve[epoch - 1]), epoch)
            stop = trial.should_prune()
            log.append((trial.number, epoch, float(curve[epoch - 1]), stop))
            if stop:
                raise optuna.TrialPruned()
        return float(curve[-1])

    study = optuna.create_study(
        direction="maximize" if mode == "max" else "minimize",
        pruner=pruner,
        sampler=optuna.samplers.RandomSampler(seed=seed),
    )
    study.optimize(objective, n_trials=n_trials)
    return study, log


@pytest.mark.parametrize("mode", ["max", "min"])
@pytest.mark.parametrize(
    "name, params",
    [
        ("median", {}),
        ("median", {"min_completed": 3, "warmup": 2}),
        ("etr1", {"tau": 2, "r": 0.8}),  # min mode: stop if loss > 0.8 - 0.05 at epoch 2
        ("etr2", {"p": 0.8}),
    ],
)
def test_study_decisions_equal_the_rule(name, params, mode):
    if name == "etr1" and mode == "max":
        params = {"tau": 2, "r": 0.2}
    study, log = run_study(LcorePruner(name, horizon=T, **params), mode)
    states = [t.state for t in study.trials]
    assert len(states) == 30
    assert states.count(TrialState.PRUNED) > 0
    assert states.count(TrialState.COMPLETE) > 0
    # The same reports through Monitor with the same rule give the same decisions.
    mon = Monitor(name, horizon=T, mode=mode, **params)
    for number, epoch, value, decision in log:
        assert mon.report(number, epoch, value) == decision, (number, epoch)
        if decision or epoch == T:
            mon.complete(number)
    assert mon.n_completed == states.count(TrialState.COMPLETE)
    np.testing.assert_array_equal(
        mon.history.completed,
        [list(t.intermediate_values.values()) for t in study.trials if t.state.name == "COMPLETE"],
    )


def test_rule_object_and_first_step_zero():
    log = []

    def objective(trial):
        x = trial.suggest_float("x", 0.0, 1.0)
        curve = curve_of(x, 0.5, "max")
        for step in range(T):  # steps 0 .. T-1
            trial.report(float(curve[step]), step)
            stop = trial.should_prune()
            log.append((trial.number, step + 1, float(curve[step]), stop))
            if stop:
                raise optuna.TrialPruned()
        return float(curve[-1])

    rule = MedianRule(warmup=2)
    study = optuna.create_study(
        direction="maximize",
        pruner=LcorePruner(rule, horizon=T, first_step=0),
        sampler=optuna.samplers.RandomSampler(seed=1),
    )
    study.optimize(objective, n_trials=20)
    mon = Monitor(rule, horizon=T)
    assert any(d for *_, d in log)
    for number, epoch, value, decision in log:
        assert mon.report(number, epoch, value) == decision
        if decision or epoch == T:
            mon.complete(number)


# ----- helpers for single decisions ------------------------------------------------------
def completed_trial(values, first_step=1):
    return create_trial(
        value=values[-1],
        intermediate_values={i + first_step: v for i, v in enumerate(values)},
        params={},
        distributions={},
    )


def decisions(pruner, completed, reports, direction="maximize"):
    study = optuna.create_study(direction=direction, pruner=pruner)
    for values in completed:
        study.add_trial(completed_trial(values))
    trial = study.ask()
    out = []
    for step, value in reports:
        trial.report(value, step)
        out.append(trial.should_prune())
    return out


# ----- ETR-1 and ThresholdPruner ---------------------------------------------------------
def test_etr1_equals_threshold_pruner_with_interval_T():
    rng = np.random.default_rng(0)
    for _ in range(40):
        tau = int(rng.integers(1, T))
        r, eps = float(rng.uniform(0.05, 0.3)), 0.05
        steps = [s for s in range(1, T) if rng.uniform() > 0.25]  # gaps, not at T
        reports = [(s, float(rng.uniform(0, 0.5))) for s in steps]
        optuna_side = decisions(
            optuna.pruners.ThresholdPruner(lower=r + eps, n_warmup_steps=tau, interval_steps=T),
            [],
            reports,
        )
        lcore_side = decisions(LcorePruner(ETR1(tau, r, eps), horizon=T), [], reports)
        assert optuna_side == lcore_side


def test_etr1_differs_from_default_threshold_pruner():
    reports = [(1, 0.5), (2, 0.5), (3, 0.1)]
    assert decisions(
        optuna.pruners.ThresholdPruner(lower=0.15, n_warmup_steps=1), [], reports
    ) == [
        False,
        False,
        True,
    ]
    assert decisions(LcorePruner(ETR1(tau=1), horizon=T), [], reports) == [False] * 3


# ----- median: Optuna's MedianPruner decides differently ---------------------------------
def test_median_pruner_example():
    # Completed [0.2, 0.8, 0.9]; a new trial reports 0.3 then 0.6. At step 2 Optuna compares
    # the best 0.6 with the completed value at step 2 (0.8): prune. lcore compares it with the
    # running average (0.2 + 0.8) / 2 = 0.5: continue.
    completed = [[0.2, 0.8, 0.9]]
    reports = [(1, 0.3), (2, 0.6)]
    optuna_side = decisions(optuna.pruners.MedianPruner(n_startup_trials=1), completed, reports)
    lcore_side = decisions(LcorePruner("median", horizon=3), completed, reports)
    assert optuna_side == [False, True]
    assert lcore_side == [False, False]


# ----- semantics and errors ---------------------------------------------------------------
def test_nan_intermediate_value_prunes():
    out = decisions(LcorePruner("none", horizon=T), [], [(1, 0.5), (2, math.nan), (3, 0.9)])
    assert out == [False, True, True]


def test_history_counts_only_trials_that_reached_T_without_nan():
    pruner = LcorePruner(ETR2(p=1.0), horizon=3)
    study = optuna.create_study(direction="maximize", pruner=pruner)
    study.add_trial(completed_trial([0.1, 0.2]))  # returned before T
    study.add_trial(completed_trial([0.1, math.nan, 0.9]))  # a failed epoch
    study.add_trial(
        create_trial(
            state=TrialState.PRUNED, intermediate_values={1: 0.95}, params={}, distributions={}
        )
    )
    study.add_trial(completed_trial([0.25, 0.5, 0.8]))
    h = pruner.history(study)
    np.testing.assert_array_equal(h.completed, [[0.25, 0.5, 0.8]])
    assert h.incumbent == 0.95  # the pruned trial's last value is its reported value
    assert pruner.history(study) is h  # kept incrementally


def test_errors():
    with pytest.raises(ValueError, match="horizon must be given"):
        LcorePruner("median")
    with pytest.raises(ValueError, match="horizon must be an int >= 1, got 0"):
        LcorePruner("median", horizon=0)
    with pytest.raises(ValueError, match="first_step must be an int >= 0, got -1"):
        LcorePruner("median", horizon=3, first_step=-1)
    with pytest.raises(ValueError, match="unknown rule 'mediam'"):
        LcorePruner("mediam", horizon=3)
    with pytest.raises(ValueError, match=r"tau must be an int in \[1, T-1\] = \[1, 2\], got 3"):
        LcorePruner("etr1", horizon=3, tau=3)
    with pytest.raises(ValueError, match="mode='min' cannot be given"):
        LcorePruner("median", horizon=3, mode="min")
    with pytest.raises(ValueError, match="step 4 of trial 0 is epoch 4, outside"):
        decisions(LcorePruner("median", horizon=3), [], [(4, 0.5)])
    with pytest.raises(ValueError, match=r"step 0 of trial 0 is epoch 0, outside \[1, T\]"):
        decisions(LcorePruner("median", horizon=3), [], [(0, 0.5)])
    study = optuna.create_study(pruner=LcorePruner("median", horizon=3))
    trial = study.ask()
    trial.report(0.5, 0)
    trial.report(0.5, 1)  # asked only now: step 0 lies before epoch 1
    with pytest.raises(ValueError, match="step 0 of trial 0 is before first_step=1"):
        trial.should_prune()
    with pytest.raises(ValueError, match=r"mode='max' does not match .* direction \(minimize"):
        decisions(LcorePruner(MedianRule(), horizon=3), [], [(1, 0.5)], direction="minimize")
    study = optuna.create_study(directions=["maximize", "minimize"])
    with pytest.raises(ValueError, match="single-objective studies only, got 2 directions"):
        LcorePruner("median", horizon=3).rule_for(study)


def test_etr1_by_name_builds_min_rule_on_demand():
    pruner = LcorePruner("etr1", horizon=3, tau=1)  # r defaults only for mode="max"
    assert decisions(pruner, [], [(1, 0.1)]) == [True]
    with pytest.raises(ValueError, match="r must be given when mode='min'"):
        decisions(pruner, [], [(1, 0.1)], direction="minimize")
