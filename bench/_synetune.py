"""Replay a lookup table with Syne Tune's simulator backend (reference for bench/replay.py).

Run with an interpreter that has ``syne-tune`` (kept out of lcore's own venv)::

    /tmp/stvenv/bin/python bench/_synetune.py TABLE.npz N_TRIALS [MAX_SECONDS_PER_RUN]

``TABLE.npz`` holds ``acc`` (n, T) float32 validation accuracy per epoch, ``time`` (n, T)
float32 seconds per epoch and ``unit`` (n, d) float64 configuration features (docs/semantics.md:
a failed run has NaN accuracy and 0 time after its last finished epoch).

The table becomes a ``BlackboxTabular`` whose hyperparameters are the d ``unit`` columns
(``u0`` .. ``u{d-1}``, plus an integer ``row`` column only if two rows share the same unit
vector, since the blackbox needs unique keys), objectives ``accuracy`` and ``elapsed_time``
(cumulative seconds since the start of the trial, which is what ``elapsed_time_attr`` must
be) and fidelity ``epoch`` = 1..T. Syne Tune looks each configuration up through its
pandas MultiIndex on those columns. A single ``row`` key is not used: with pandas 3 the
one-level lookup in ``BlackboxTabular._objective_function`` fails (``.loc`` with a 1-tuple).

It runs Syne Tune's ``Tuner`` with ``UserBlackboxBackend`` + ``SimulatorCallback``,
``n_workers=1``, ``StoppingCriterion(max_num_trials_started=N_TRIALS - 1)`` (Syne Tune stops
once *more* than that many trials have started, so exactly N_TRIALS start) twice:

* ``random_search``: ``RandomSearch`` (metric accuracy, maximised), FIFO: every trial runs to
  its last finished epoch;
* ``median_stopping``: the same random search wrapped in ``MedianStoppingRule`` (Syne Tune's
  defaults: running average, grace_time 1, grace_population 5, rank_cutoff 0.5).

Syne Tune's random searcher samples every hyperparameter independently from its domain,
which would almost never hit a configuration that is in the table, so the random search gets
its configurations as ``points_to_evaluate``: the unit vectors (as Python floats, so the
lookup is exact) of a seeded permutation of the rows, i.e. random sampling without
replacement like lcore's ``chooser="random"``. ``wait_trial_completion_when_stopping=True``
lets the last trial finish, so every started trial reports all its epochs.
A failed run (NaN accuracy) reports only its finished epochs; a row with none reports
accuracy 0 at epoch 1 (small ``UserBlackboxBackend`` subclass, see ``_backend_class``).
Each run also stops when it has used ``MAX_SECONDS_PER_RUN`` real seconds (default 170); the
JSON then says ``"capped": true`` and the rates are measured on the trials that did start.

Prints exactly one JSON line on stdout (the last line). Syne Tune's logging is silenced and
its experiment files go into a temporary directory that is deleted.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import shutil
import sys
import tempfile
import time

import numpy as np


def _load(path):
    with np.load(path) as z:
        acc = np.asarray(z["acc"], dtype=np.float64)
        tim = np.asarray(z["time"], dtype=np.float64)
        unit = np.asarray(z["unit"], dtype=np.float64)
    if acc.ndim != 2 or tim.shape != acc.shape:
        raise ValueError(f"acc and time must both be (n, T), got {acc.shape} and {tim.shape}")
    if unit.ndim != 2 or unit.shape[0] != acc.shape[0]:
        raise ValueError(f"unit must be (n, d) with n = {acc.shape[0]}, got {unit.shape}")
    return acc, tim, unit


def _blackbox(acc, tim, unit):
    import pandas as pd
    from syne_tune.blackbox_repository.blackbox_tabular import BlackboxTabular
    from syne_tune.config_space import randint, uniform

    n, T = acc.shape
    columns = {f"u{j}": unit[:, j] for j in range(unit.shape[1])}
    hyperparameters = pd.DataFrame(columns)
    if hyperparameters.duplicated().any():  # BlackboxTabular needs unique keys
        hyperparameters["row"] = np.arange(n, dtype=np.int64)
    space = {}
    for name in hyperparameters.columns:
        lo, hi = float(hyperparameters[name].min()), float(hyperparameters[name].max())
        space[name] = (
            randint(0, n - 1) if name == "row" else uniform(lo, hi if hi > lo else lo + 1.0)
        )
    finished = ~np.isnan(acc)
    elapsed = np.cumsum(np.where(finished, np.nan_to_num(tim), 0.0), axis=1)
    # (num_evals, num_seeds, num_fidelities, num_objectives)
    evaluations = np.stack([acc, elapsed], axis=-1)[:, None, :, :]
    return BlackboxTabular(
        hyperparameters=hyperparameters,
        configuration_space=space,
        fidelity_space={"epoch": randint(1, T)},
        objectives_evaluations=evaluations,
        fidelity_values=np.arange(1, T + 1),
        objectives_names=["accuracy", "elapsed_time"],
    )


def _backend_class():
    from syne_tune.blackbox_repository import UserBlackboxBackend

    class TruncatingBackend(UserBlackboxBackend):
        """Reports a trial's epochs up to its last finished one (docs/semantics.md).

        Syne Tune would otherwise report the NaN epochs of a failed run. A row with no
        finished epoch reports accuracy 0 at epoch 1, at no cost (the backend's minimum
        elapsed time of 0.01 s applies).
        """

        def config_objectives(self, config, seed):
            results = super().config_objectives(config, seed)
            kept = []
            for r in results:
                if math.isnan(r["accuracy"]):
                    break
                kept.append(r)
            if not kept:
                kept = [dict(results[0], accuracy=0.0, elapsed_time=0.0)]
            return kept

    return TruncatingBackend


def _run(blackbox, n_trials, max_seconds, median, seed):
    from syne_tune import StoppingCriterion, Tuner
    from syne_tune.backend.simulator_backend.simulator_callback import SimulatorCallback
    from syne_tune.optimizer.baselines import RandomSearch
    from syne_tune.optimizer.schedulers.median_stopping_rule import MedianStoppingRule

    class CappedCriterion(StoppingCriterion):
        deadline = math.inf

        def __call__(self, status):
            return super().__call__(status) or time.perf_counter() > self.deadline

    n = len(blackbox.hyperparameters)
    # a few spare rows: the searcher must never fall back to sampling the continuous space
    rows = np.random.default_rng(seed).permutation(n)[: min(n_trials + 8, n)]
    cols = {k: v.to_numpy() for k, v in blackbox.hyperparameters.items()}
    points = [{k: v[r].item() for k, v in cols.items()} for r in rows]
    searcher = RandomSearch(
        blackbox.configuration_space,
        metrics=["accuracy"],
        do_minimize=False,
        random_seed=seed,
        points_to_evaluate=points,
    )
    scheduler = (
        MedianStoppingRule(
            searcher,
            time_attr="epoch",
            metric="accuracy",
            do_minimize=False,
            random_seed=seed,
        )
        if median
        else searcher
    )
    backend = _backend_class()(blackbox=blackbox, elapsed_time_attr="elapsed_time")
    target = min(n_trials, n)
    stop = CappedCriterion(max_num_trials_started=target - 1)
    tuner = Tuner(
        trial_backend=backend,
        scheduler=scheduler,
        stop_criterion=stop,
        n_workers=1,
        sleep_time=0,
        results_update_interval=1e9,
        print_update_interval=1e9,
        callbacks=[SimulatorCallback()],
        tuner_name="median" if median else "random",
        save_tuner=False,
        wait_trial_completion_when_stopping=True,
    )
    with open(os.devnull, "w") as null, contextlib.redirect_stdout(null):
        t0 = time.perf_counter()
        stop.deadline = t0 + max_seconds
        tuner.run()
        seconds = time.perf_counter() - t0
    status = tuner.tuning_status
    trials = int(status.num_trials_started)
    epochs = int(status.overall_metric_statistics.count)
    best = status.overall_metric_statistics.max_metrics.get("accuracy")
    return {
        "trials": trials,
        "trials_requested": n_trials,
        "trials_finished": int(status.num_trials_finished),
        "capped": trials < target,
        "epochs": epochs,
        "seconds": seconds,
        "trials_per_second": trials / seconds,
        "epochs_per_second": epochs / seconds,
        "best_accuracy": None if best is None else float(best),
        "simulated_seconds": float(backend.time_keeper.time()),
    }


def main(argv):
    if len(argv) not in (3, 4):
        raise SystemExit("usage: _synetune.py TABLE.npz N_TRIALS [MAX_SECONDS_PER_RUN]")
    n_trials = int(argv[2])
    if n_trials < 1:
        raise SystemExit(f"N_TRIALS must be an int >= 1, got {n_trials}")
    max_seconds = float(argv[3]) if len(argv) == 4 else 170.0
    acc, tim, unit = _load(argv[1])

    workdir = tempfile.mkdtemp(prefix="lcore-synetune-")
    os.environ["SYNETUNE_FOLDER"] = workdir  # read by syne_tune.util.experiment_path
    logging.getLogger("syne_tune").setLevel(logging.ERROR)
    try:
        import syne_tune
        import syne_tune.blackbox_repository  # noqa: F401  (heavy imports outside the timing)
        import syne_tune.optimizer.baselines  # noqa: F401

        t0 = time.perf_counter()
        blackbox = _blackbox(acc, tim, unit)
        setup = time.perf_counter() - t0
        out = {
            "synetune_version": syne_tune.__version__,
            "table": {"n": int(acc.shape[0]), "T": int(acc.shape[1]), "d": int(unit.shape[1])},
            "lookup": "BlackboxTabular keyed by the unit columns (exact float match)",
            "sampling": "RandomSearch points_to_evaluate = unit rows of a seeded permutation",
            "blackbox_setup_seconds": setup,
            "max_seconds_per_run": max_seconds,
        }
        out["random_search"] = _run(blackbox, n_trials, max_seconds, False, 0)
        out["median_stopping"] = _run(blackbox, n_trials, max_seconds, True, 0)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv)
