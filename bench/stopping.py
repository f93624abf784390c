"""Time Monitor.report (the overhead a user pays per epoch) beside Optuna's MedianPruner.

Setting: T = 15 epochs, 1,000 completed trials already in the history, then new trials
report epochs 1 .. 14 (the rule is asked at each; decisions are ignored so every trial
reports all 14 epochs, and no new trial completes, so the history stays at 1,000).

- lcore: ``Monitor(rule, horizon=15).report(trial_id, epoch, value)`` for each rule.
- Optuna (same curves, same reports): ``MedianPruner(n_startup_trials=1)``
  - ``optuna_prune``: ``pruner.prune(study, frozen_trial)`` alone (the pruner's own cost;
    the trial's intermediate values prepared beforehand), and
  - ``optuna_report_should_prune``: ``trial.report(value, epoch); trial.should_prune()``,
    what a user of Optuna pays per epoch (in-memory storage).
  - ``lcore_pruner_report_should_prune``: the same Optuna calls with ``LcorePruner("median")``.

Ratio = Optuna seconds per report / lcore median-rule seconds per report.

    python bench/stopping.py [--quick]      # writes bench/results/stopping.json
"""

from __future__ import annotations

import copy
import itertools
import sys

import numpy as np
import optuna
from _common import best_time, write
from optuna.trial import TrialState, create_trial

import lcore
from lcore.integrations.optuna import LcorePruner
from lcore.stopping import ETR1, ETR2, MedianRule, Monitor, Never

T = 15
N_COMPLETED = 1000


def curves(n: int, rng: np.random.Generator) -> np.ndarray:
    """Saturating learning curves with noise, shape (n, T)."""
    final = rng.uniform(0.1, 0.99, size=(n, 1))
    rate = rng.uniform(0.1, 0.8, size=(n, 1))
    t = np.arange(1, T + 1)
    y = 0.1 + (final - 0.1) * (1 - np.exp(-rate * t)) + rng.normal(0, 0.01, size=(n, T))
    return np.clip(y, 0.0, 1.0)


def time_monitor(rule, completed, new, repeat, number):
    mon = Monitor(rule, horizon=T)
    for i, row in enumerate(completed):
        for e in range(1, T + 1):
            mon.report(("c", i), e, float(row[e - 1]))
        mon.complete(("c", i))
    assert mon.n_completed == N_COMPLETED
    # Plain Python floats, as a training loop would pass them.
    reports = [[(e, float(row[e - 1])) for e in range(1, T)] for row in new]
    counter = itertools.count()
    n_stop = [0]

    def sample():
        report = mon.report
        for row in reports:
            tid = next(counter)
            for e, v in row:
                n_stop[0] += report(tid, e, v)
            mon.complete(tid)

    n_reports = len(new) * (T - 1)
    t = best_time(sample, repeat=repeat, number=number)
    assert mon.n_completed == N_COMPLETED
    return {k: (v / n_reports if k != "n" else v) for k, v in t.items()}, n_stop[0]


def optuna_study(pruner, completed):
    study = optuna.create_study(direction="maximize", pruner=pruner)
    study.add_trials(
        [
            create_trial(
                value=float(row[-1]),
                intermediate_values={e: float(row[e - 1]) for e in range(1, T + 1)},
                params={},
                distributions={},
            )
            for row in completed
        ]
    )
    return study


def time_optuna_prune(completed, new, repeat):
    pruner = optuna.pruners.MedianPruner(n_startup_trials=1)
    study = optuna_study(pruner, completed)
    trial = study.ask()
    for e in range(1, T):
        trial.report(float(new[0][e - 1]), e)
    base = study._storage.get_trial(trial._trial_id)
    frozen = []
    for row in new:
        for t in range(1, T):
            ft = copy.copy(base)
            ft.intermediate_values = {e: float(row[e - 1]) for e in range(1, t + 1)}
            frozen.append(ft)
    decisions = []

    def sample():
        decisions.clear()
        prune = pruner.prune
        for ft in frozen:
            decisions.append(prune(study, ft))

    t = best_time(sample, repeat=repeat)
    return {k: (v / len(frozen) if k != "n" else v) for k, v in t.items()}, int(sum(decisions))


def time_optuna_user(pruner, completed, new, repeat):
    study = optuna_study(pruner, completed)

    def sample():
        for row in new:
            trial = study.ask()
            for e in range(1, T):
                trial.report(float(row[e - 1]), e)
                trial.should_prune()
            study.tell(trial, state=TrialState.PRUNED)

    t = best_time(sample, repeat=repeat)
    n = len(new) * (T - 1)
    return {k: (v / n if k != "n" else v) for k, v in t.items()}


def main() -> None:
    quick = "--quick" in sys.argv
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    rng = np.random.default_rng(0)
    completed = curves(N_COMPLETED, rng)
    new = curves(50 if quick else 200, rng)
    new_optuna = new[: 5 if quick else 20]
    repeat = 3 if quick else 7

    rules = {
        "none": Never(),
        "etr1": ETR1(tau=1),
        "etr2": ETR2(p=0.5),
        "median": MedianRule(),
    }
    lcore_rows = {}
    for name, rule in rules.items():
        t, n_stop = time_monitor(rule, completed, new, repeat, number=1)
        lcore_rows[name] = {
            "seconds_per_report_min": t["min"],
            "seconds_per_report_median": t["median"],
            "stop_answers_per_sample": n_stop // t["n"],
        }
        print(f"lcore Monitor.report {name:7s} {t['min'] * 1e6:8.2f} us/report", flush=True)

    t_prune, n_pruned = time_optuna_prune(completed, new_optuna, repeat)
    print(f"optuna MedianPruner.prune      {t_prune['min'] * 1e6:8.2f} us/report", flush=True)
    t_user = time_optuna_user(
        optuna.pruners.MedianPruner(n_startup_trials=1), completed, new_optuna, repeat
    )
    print(f"optuna report+should_prune     {t_user['min'] * 1e6:8.2f} us/report", flush=True)
    t_lp = time_optuna_user(LcorePruner("median", horizon=T), completed, new_optuna, repeat)
    print(f"LcorePruner report+should_prune {t_lp['min'] * 1e6:8.2f} us/report", flush=True)

    med = lcore_rows["median"]["seconds_per_report_min"]
    ratio_prune = t_prune["min"] / med
    ratio_user = t_user["min"] / med
    print(f"ratio (optuna prune / lcore median): {ratio_prune:.1f}x; user path {ratio_user:.1f}x")
    payload = {
        "description": "seconds per report (min over samples) with 1,000 completed trials of "
        "15 epochs; lcore: Monitor.report; Optuna: MedianPruner.prune alone and "
        "trial.report + trial.should_prune (in-memory storage); ratio = Optuna / lcore median",
        "setting": {
            "horizon": T,
            "n_completed": N_COMPLETED,
            "lcore_reports_per_sample": len(new) * (T - 1),
            "optuna_reports_per_sample": len(new_optuna) * (T - 1),
            "repeat": repeat,
            "quick": quick,
        },
        "lcore_monitor_report": lcore_rows,
        "optuna_median_pruner": {
            "prune_seconds_per_report_min": t_prune["min"],
            "prune_seconds_per_report_median": t_prune["median"],
            "report_should_prune_seconds_per_report_min": t_user["min"],
            "pruned_answers_per_sample": n_pruned,
        },
        "optuna_lcore_pruner": {"report_should_prune_seconds_per_report_min": t_lp["min"]},
        "goal": {
            "target": "lcore median <= 10 us per report and >= 50x faster than "
            "Optuna's MedianPruner on the same reports",
            "lcore_median_us": med * 1e6,
            "ratio_optuna_prune_over_lcore_median": ratio_prune,
            "ratio_optuna_report_should_prune_over_lcore_median": ratio_user,
            "met": med <= 10e-6 and ratio_prune >= 50,
        },
        "lcore_version": lcore.__version__,
    }
    print(write("stopping", payload, packages=("optuna",)))


if __name__ == "__main__":
    main()
