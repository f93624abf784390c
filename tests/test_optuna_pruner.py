"""LcorePruner in real Optuna studies: decisions equal to the rule's (through Monitor) on the
same curves; relation to ThresholdPruner; a case where MedianPruner decides differently."""

import math

import numpy as np
import optuna
import pytest
from optuna.trial import TrialState, create_trial

from lcore.integrations.optuna import LcorePruner
from lcore.stopping import ETR1, ETR2, History, MedianRule, Monitor

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
        lcore_side = decisions(
            LcorePruner(ETR1(tau, r, eps), horizon=T, first_step=1), [], reports
        )
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
    with pytest.raises(ValueError, match="horizon must be an int >= 1, got 0"):
        LcorePruner("median", horizon=0)
    with pytest.raises(ValueError, match="first_step must be an int >= 0, got -1"):
        LcorePruner("median", horizon=3, first_step=-1)
    with pytest.raises(ValueError, match="first_step must be 'auto' or an int >= 0, got 'one'"):
        LcorePruner("median", first_step="one")
    with pytest.raises(ValueError, match="step_interval must be an int >= 1, got 0"):
        LcorePruner("median", step_interval=0)
    with pytest.raises(ValueError, match="step_interval must be 'auto', None or an int >= 1"):
        LcorePruner("median", step_interval="two")
    with pytest.raises(ValueError, match="n_startup_trials must be an int >= 0, got -1"):
        LcorePruner("median", n_startup_trials=-1)
    with pytest.raises(ValueError, match="unknown rule 'mediam'"):
        LcorePruner("mediam", horizon=3)
    with pytest.raises(ValueError, match=r"tau must be an int in \[1, T-1\] = \[1, 2\], got 3"):
        LcorePruner("etr1", horizon=3, tau=3)
    with pytest.raises(ValueError, match="mode='min' cannot be given"):
        LcorePruner("median", horizon=3, mode="min")
    study = optuna.create_study(pruner=LcorePruner("median", horizon=3, first_step=1))
    trial = study.ask()
    trial.report(0.5, 0)
    with pytest.raises(ValueError, match=r"step 0 of trial 0 is before first_step=1 \(epoch 1\)"):
        trial.should_prune()
    study = optuna.create_study(pruner=LcorePruner("median", first_step=0, step_interval=10))
    trial = study.ask()
    trial.report(0.5, 15)
    with pytest.raises(ValueError, match="step 15 of trial 0 is off the step grid first_step=0, "
                                         "step_interval=10: epochs are at steps 0, 10, 20"):
        trial.should_prune()
    with pytest.raises(ValueError, match=r"mode='max' does not match .* direction \(minimize"):
        decisions(LcorePruner(MedianRule(), horizon=3), [], [(1, 0.5)], direction="minimize")
    with pytest.raises(ValueError, match=r"mode='max' does not match .* direction \(minimize"):
        LcorePruner(MedianRule()).check(optuna.create_study(direction="minimize"))
    study = optuna.create_study(directions=["maximize", "minimize"])
    with pytest.raises(ValueError, match="single-objective studies only, got 2 directions"):
        LcorePruner("median", horizon=3).rule_for(study)
    pruner = LcorePruner("etr1", tau=4)
    with pytest.raises(ValueError, match="no trial of the study has completed yet"):
        pruner.history(optuna.create_study(direction="maximize", pruner=pruner))
    with pytest.raises(ValueError, match=r"inferred from the completed trials, T = 3, does not "
                                         r"fit the rule: tau must be an int in \[1, T-1\]"):
        decisions(pruner, [[0.5, 0.6, 0.7]], [(1, 0.5)])


def test_etr1_by_name_builds_min_rule_on_demand():
    pruner = LcorePruner("etr1", horizon=3, tau=1)  # r defaults only for mode="max"
    assert decisions(pruner, [], [(1, 0.1)]) == [True]
    with pytest.raises(ValueError, match="r must be given when mode='min'"):
        decisions(pruner, [], [(1, 0.1)], direction="minimize")


# ----- no horizon; 0-based, 1-based and strided steps ---------------------------------------
STEP_STYLES = {
    "0-based": lambda e: e - 1,
    "1-based": lambda e: e,
    "strided": lambda e: 100 * e,
    "strided-from-0": lambda e: 10 * (e - 1),
}


def run_steps(pruner, style, mode="max", n_trials=30, seed=0, epochs=T):
    log = []
    to_step = STEP_STYLES[style]

    def objective(trial):
        x = trial.suggest_float("x", 0.0, 1.0)
        z = trial.suggest_float("z", 0.0, 1.0)
        curve = curve_of(x, z, mode)
        for epoch in range(1, epochs + 1):
            value = float(curve[min(epoch, T) - 1])
            trial.report(value, to_step(epoch))
            stop = trial.should_prune()
            log.append((trial.number, epoch, value, stop))
            if stop:
                raise optuna.TrialPruned()
        return value

    study = optuna.create_study(direction="maximize" if mode == "max" else "minimize",
                                pruner=pruner, sampler=optuna.samplers.RandomSampler(seed=seed))
    study.optimize(objective, n_trials=n_trials)
    return study, log


@pytest.mark.parametrize("style", sorted(STEP_STYLES))
@pytest.mark.parametrize("name, params, mode", [
    ("median", {}, "max"), ("median", {"warmup": 3}, "min"), ("etr2", {"p": 0.8}, "max"),
])
def test_no_horizon_any_step_style_prunes_as_the_rule_says(style, name, params, mode):
    pruner = LcorePruner(name, **params)  # no horizon, first_step="auto"
    study, log = run_steps(pruner, style, mode)
    assert pruner.horizon_for(study) == T
    states = [t.state for t in study.trials]
    assert states.count(TrialState.PRUNED) > 0 and states.count(TrialState.COMPLETE) > 1
    mon = Monitor(name, horizon=T, mode=mode, **params)
    for number, epoch, value, decision in log:
        assert mon.report(number, epoch, value) == decision, (number, epoch)
        if decision or epoch == T:
            mon.complete(number)
    np.testing.assert_array_equal(mon.history.completed, pruner.history(study).completed)


def test_no_horizon_prunes_nothing_before_a_trial_completes():
    # ETR-1 needs no history: with a horizon it prunes the very first trial ...
    out = decisions(LcorePruner("etr1", tau=1, r=0.5, horizon=3), [], [(1, 0.1)])
    assert out == [True]
    # ... without one, nothing is pruned until a trial completes (the horizon is unknown)
    pruner = LcorePruner("etr1", tau=1, r=0.5)
    assert decisions(pruner, [], [(1, 0.1), (2, 0.1)]) == [False, False]
    assert decisions(pruner, [[0.9, 0.9, 0.9]], [(1, 0.1)]) == [True]


def test_reports_beyond_the_horizon_are_not_pruned_and_history_keeps_1_to_T():
    pruner = LcorePruner("median", horizon=4)
    study, log = run_steps(pruner, "0-based", epochs=7)
    assert all(not d for _, e, _, d in log if e >= 4)
    assert any(d for _, e, _, d in log if e < 4)
    h = pruner.history(study)
    assert h.completed.shape[1] == 4 and len(h) > 0
    mon = Monitor("median", horizon=4)
    for number, epoch, value, decision in log:
        if epoch <= 4:
            assert mon.report(number, epoch, value) == decision
        if decision or epoch == 4:
            mon.complete(number)
    np.testing.assert_array_equal(mon.history.completed, h.completed)


def test_n_startup_trials_counts_complete_trials_as_optuna_does():
    completed = [[0.9, 0.9, 0.9]] * 4
    reports = [(1, 0.1), (2, 0.1)]
    assert decisions(LcorePruner("median", n_startup_trials=5), completed, reports) == [False] * 2
    assert decisions(optuna.pruners.MedianPruner(), completed, reports) == [False] * 2
    completed = completed + [[0.9, 0.9, 0.9]]
    assert decisions(LcorePruner("median", n_startup_trials=5), completed, reports) == [True] * 2
    assert decisions(optuna.pruners.MedianPruner(), completed, reports) == [True] * 2


def test_pickled_pruner_rebuilds_its_history():
    import pickle

    pruner = LcorePruner("median")
    study, _ = run_steps(pruner, "1-based", n_trials=10)
    copy = pickle.loads(pickle.dumps(pruner))
    np.testing.assert_array_equal(copy.history(study).completed, pruner.history(study).completed)


# ----- concurrency ------------------------------------------------------------------------
@pytest.mark.slow
def test_threads_keep_exactly_one_history_row_per_completed_trial():
    import sys

    def objective(trial):
        x = trial.suggest_float("x", 0.0, 1.0)
        for step in range(2):
            trial.report(x * (step + 1), step)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return 2 * x

    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-4)
    try:
        for run in range(10):
            pruner = LcorePruner("none")  # every trial completes: the most appends
            study = optuna.create_study(direction="maximize", pruner=pruner,
                                        sampler=optuna.samplers.RandomSampler(seed=run))
            study.optimize(objective, n_trials=3000, n_jobs=4)
            done = [t for t in study.trials if t.state == TrialState.COMPLETE]
            h = pruner.history(study)
            assert len(done) == 3000 and len(h) == 3000, run
            np.testing.assert_array_equal(np.sort(h.completed[:, 1]),
                                          np.sort([t.value for t in done]))
    finally:
        sys.setswitchinterval(old)


def _sqlite_worker(url, seed, n_trials):
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    pruner = LcorePruner("median", horizon=4)
    study = optuna.load_study(study_name="s", storage=url, pruner=pruner,
                              sampler=optuna.samplers.RandomSampler(seed=seed))
    log = []

    def objective(trial):
        x = trial.suggest_float("x", 0.0, 1.0)
        z = trial.suggest_float("z", 0.0, 1.0)
        curve = []
        for step in range(4):
            curve.append(x * (1 - 0.5 ** (step + 1)) + 0.1 * z * step)
            trial.report(curve[-1], step)
            before = len(pruner.history(study))
            stop = trial.should_prune()
            log.append((list(curve), stop, before, len(pruner.history(study))))
            if stop:
                raise optuna.TrialPruned()
        return curve[-1]

    study.optimize(objective, n_trials=n_trials)
    return log, pruner.history(study).completed.copy()


def test_several_processes_on_one_sqlite_study(tmp_path):
    from concurrent.futures import ProcessPoolExecutor

    url = f"sqlite:///{tmp_path / 'study.db'}"
    optuna.create_study(study_name="s", storage=url, direction="maximize")
    with ProcessPoolExecutor(3) as pool:
        outs = list(pool.map(_sqlite_worker, [url] * 3, [0, 1, 2], [15] * 3))
    study = optuna.load_study(study_name="s", storage=url)
    done = [t for t in study.trials if t.state == TrialState.COMPLETE]
    expected = sorted(tuple(t.intermediate_values.values()) for t in done)
    assert len(study.trials) == 45
    assert any(t.state == TrialState.PRUNED for t in study.trials)
    # a pruner reading the finished study: exactly one row per completed trial
    final = LcorePruner("median", horizon=4).history(study).completed
    assert sorted(map(tuple, final.tolist())) == expected
    for log, rows in outs:
        # each process's history when it finished: one row per trial completed by then (a
        # process that finishes first does not see trials the others complete later)
        mine = sorted(map(tuple, rows.tolist()))
        assert len(set(mine)) == len(mine) and set(mine) <= set(expected)
        # each decision is the rule's on the history the pruner had then (append-only: a
        # prefix of its final rows; a trial completing in between may add rows)
        for curve, stop, before, after in log:
            if len(curve) == 4:
                assert not stop
                continue
            allowed = {bool(MedianRule().should_stop(np.array(curve), History(4, rows[:k])))
                       for k in range(before, after + 1)}
            assert stop in allowed
