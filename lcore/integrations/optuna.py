"""lcore's stopping rules as an Optuna pruner (imports optuna; ``pip install lcore[optuna]``)."""

from __future__ import annotations

import math
import threading
from typing import Any

import numpy as np
import optuna
from optuna.pruners import BasePruner
from optuna.study import StudyDirection
from optuna.trial import TrialState

from ..stopping.base import COMPLETED, FAILED, STOPPED, History, check_horizon, check_int
from ..stopping.registry import get_rule

_FINISHED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)


class LcorePruner(BasePruner):
    """An Optuna pruner that asks an lcore stopping rule.

    Report one intermediate value per epoch with ``trial.report(value, step)`` and call
    ``trial.should_prune()``. The decision is ``rule.should_stop(curve, history)`` with the
    semantics of :class:`lcore.stopping.Monitor` (a NaN value prunes; the rule is never asked
    at the last epoch ``T``; only trials that reached ``T`` enter the history).

    **Steps to epochs.** By default (``first_step="auto"``) each trial's first reported step
    is epoch 1 and one epoch is the greatest common divisor of the differences between the
    trial's reported steps (1 until it has reported two). So the usual loops all map to epochs
    ``1, 2, 3, ...``: ``for step in range(E)`` (steps 0, 1, 2, ...), steps ``1 .. E``, and
    iteration counts such as 100, 200, 300. A loop that reports irregularly (a trial that
    skips its first epochs, or steps 0, 2 and then 3) should fix the grid: with an int
    ``first_step`` epoch ``e`` is step ``first_step + (e - 1) * step_interval``
    (``step_interval`` 1 unless given); a step before ``first_step`` or off that grid raises a
    ValueError.

    **Horizon.** ``horizon=None`` (the default) infers ``T`` as Optuna's ``HyperbandPruner``
    does with ``max_resource="auto"``: at the first call that finds a COMPLETE trial, ``T`` is
    the largest last epoch of the COMPLETE trials, and it stays fixed from then on. Until a
    trial completes nothing is pruned, so a study whose trials never complete (all fail or
    return before reporting) is never pruned. Give ``horizon`` when you know it: then the
    first trials can already be pruned by rules that need no history (ETR-1).

    **Beyond the horizon.** A report at an epoch past ``T`` is never pruned and the rule is not
    asked (as Optuna's pruners, which prune only where completed trials have values); the
    history keeps epochs ``1 .. T`` of each completed trial.

    **Mode.** With a rule name the rule's mode follows the study's direction (``"max"`` for
    maximize); a rule object's ``mode`` must match it: checked at the first call, with an
    error naming both (or call :meth:`check` right after ``create_study``).

    **History.** The curves of the study's COMPLETE trials that reached ``T`` with no NaN
    value, rebuilt from the study's storage incrementally and exactly once per trial (under a
    lock: safe with ``study.optimize(n_jobs=...)`` and with several processes sharing one
    storage, each building its own from the storage). Pruned and failed trials and trials
    that returned before ``T`` never count; their last finite value updates
    ``history.incumbent``. The trial record (``history.trial_curves``, ``trial_states``, ...)
    holds every trial this pruner has seen, RUNNING ones included (updated at each decision),
    each at the index it got when first seen (running trials in trial-number order, trials
    first seen finished in completion order); during a decision ``history.current_trial`` is
    the trial being decided. So rules that compare with running trials (ASHA, Ray Tune's
    median rule) or keep a record per trial (the rung rules) see what they would see in the
    simulator.

    **Defaults next to Optuna's.** Optuna's ``MedianPruner`` and ``PercentilePruner`` default
    to ``n_startup_trials=5`` (no pruning before 5 trials completed) and
    ``n_warmup_steps=0``; lcore's median rule asks for ``min_completed=1`` completed trial and
    ``warmup=1`` (epoch 1 = Optuna's step 0). To match Optuna, pass ``n_startup_trials=5``
    (counted as Optuna does: COMPLETE trials of the study) or ``min_completed=5`` (trials in
    the history, i.e. that reached ``T``).

    Parameters
    ----------
    rule : str or Rule
        A rule name (``"none"``, ``"etr1"``, ``"etr2"``, ``"median"``) with ``params`` (its
        mode follows the study's direction), or a rule object (its ``mode`` must match the
        study's direction).
    horizon : int or None
        ``T``, the number of epochs of a full trial; None: inferred (see above).
    first_step : "auto" or int
        The step of epoch 1 (``"auto"``: each trial's first reported step).
    step_interval : "auto", int or None
        Steps per epoch; None: ``"auto"`` with ``first_step="auto"``, else 1.
    n_startup_trials : int
        Do not prune until the study has this many COMPLETE trials (default 0; Optuna's
        ``MedianPruner`` uses 5).
    **params
        The rule's parameters, when ``rule`` is a name.

    Examples
    --------
    >>> import optuna
    >>> from lcore.integrations.optuna import LcorePruner
    >>> def objective(trial):
    ...     x = trial.suggest_float("x", 0.0, 1.0)
    ...     for step in range(10):
    ...         trial.report(x * (1 - 0.5 ** (step + 1)), step)
    ...         if trial.should_prune():
    ...             raise optuna.TrialPruned()
    ...     return x * (1 - 0.5 ** 10)
    >>> optuna.logging.set_verbosity(optuna.logging.WARNING)
    >>> study = optuna.create_study(direction="maximize", pruner=LcorePruner("median"),
    ...                             sampler=optuna.samplers.RandomSampler(seed=0))
    >>> study.optimize(objective, n_trials=20)
    >>> any(t.state == optuna.trial.TrialState.PRUNED for t in study.trials)
    True

    Notes
    -----
    ``LcorePruner(ETR1(tau, r, eps), horizon=T, first_step=1)`` decides like
    ``optuna.pruners.ThresholdPruner(lower=r + eps, n_warmup_steps=tau, interval_steps=T)``
    (steps = epochs from 1); with ``interval_steps=1`` Optuna's pruner checks at every step
    from ``tau`` on instead of once. lcore's median rule compares with the median of the
    completed trials' *running averages*, Optuna's ``MedianPruner`` with the median of their
    values *at the step* (docs/stopping.md has an example where they disagree).
    """

    def __init__(
        self,
        rule: Any = "median",
        horizon: int | None = None,
        *,
        first_step: Any = "auto",
        step_interval: Any = None,
        n_startup_trials: int = 0,
        **params: Any,
    ) -> None:
        self.horizon = None if horizon is None else check_horizon(horizon)
        if first_step != "auto":
            if isinstance(first_step, str):
                raise ValueError(f"first_step must be 'auto' or an int >= 0, got {first_step!r}")
            first_step = check_int("first_step", first_step, 0)
        self.first_step = first_step
        if step_interval is None:
            step_interval = "auto" if first_step == "auto" else 1
        if step_interval != "auto":
            if isinstance(step_interval, str):
                raise ValueError(
                    f"step_interval must be 'auto', None or an int >= 1, got {step_interval!r}"
                )
            step_interval = check_int("step_interval", step_interval, 1)
        self.step_interval = step_interval
        self.n_startup_trials = check_int("n_startup_trials", n_startup_trials, 0)
        if "mode" in params:
            raise ValueError(
                f"mode={params['mode']!r} cannot be given: with a rule name the mode follows "
                "the study's direction (pass a rule object to fix it)"
            )
        self._spec = rule
        self._params = params
        self._rules: dict = {}
        self._lock = threading.RLock()
        self._histories: dict = {}
        self._horizons: dict = {}
        if isinstance(rule, str):
            # Validate the name and parameters now; the rule for each mode is built on first
            # use (e.g. ETR1 needs ``r`` for mode="min" only).
            try:
                self._build(rule, "max", self.horizon)
            except ValueError as error:
                try:
                    self._build(rule, "min", self.horizon)
                except ValueError:
                    raise error from None
        else:
            rule = get_rule(rule, **params)
            mode = getattr(rule, "mode", "max")
            check = getattr(rule, "check", None)
            if callable(check) and self.horizon is not None:
                check(self.horizon)
            self._rules[mode] = rule

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        del state["_lock"]
        state["_histories"] = {}  # rebuilt from the storage
        state["_horizons"] = {}
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._lock = threading.RLock()

    def _build(self, name: str, mode: str, horizon: int | None):
        rule = get_rule(name, mode=mode, **self._params)
        if horizon is not None:
            rule.check(horizon)
        return rule

    # ---- step -> epoch ---------------------------------------------------------------
    def epochs(self, trial: optuna.trial.FrozenTrial) -> dict:
        """``{step: epoch}`` for the steps ``trial`` reported (the convention above)."""
        steps = sorted(trial.intermediate_values)
        if not steps:
            return {}
        first = steps[0] if self.first_step == "auto" else self.first_step
        interval = self.step_interval
        if interval == "auto":
            interval = 0
            for s in steps:
                interval = math.gcd(interval, s - first)
            interval = interval or 1
        out = {}
        for s in steps:
            if s < first:
                raise ValueError(
                    f"step {s} of trial {trial.number} is before first_step={first} (epoch 1)"
                )
            e, off = divmod(s - first, interval)
            if off:
                raise ValueError(
                    f"step {s} of trial {trial.number} is off the step grid first_step={first}, "
                    f"step_interval={interval}: epochs are at steps {first}, "
                    f"{first + interval}, {first + 2 * interval}, ...; set first_step and "
                    "step_interval to match your loop"
                )
            out[s] = e + 1
        return out

    # ---- rule, horizon, history ------------------------------------------------------
    @staticmethod
    def _mode(study: optuna.study.Study) -> str:
        if len(study.directions) > 1:
            raise ValueError(
                "LcorePruner supports single-objective studies only, got "
                f"{len(study.directions)} directions"
            )
        return "max" if study.direction == StudyDirection.MAXIMIZE else "min"

    def rule_for(self, study: optuna.study.Study):
        """The rule used for ``study`` (its mode follows the study's direction)."""
        mode = self._mode(study)
        with self._lock:
            rule = self._rules.get(mode)
            if rule is None:
                if isinstance(self._spec, str):
                    rule = self._rules[mode] = self._build(self._spec, mode, self.horizon)
                    return rule
                other = next(iter(self._rules))
                raise ValueError(
                    f"the rule's mode={other!r} does not match the study's direction "
                    f"({study.direction.name.lower()}: mode={mode!r}); build the rule with "
                    f"mode={mode!r} or pass it by name"
                )
            return rule

    def check(self, study: optuna.study.Study) -> None:
        """Raise ValueError now if the rule does not fit ``study`` (direction, objectives)."""
        self.rule_for(study)

    @staticmethod
    def _key(study: optuna.study.Study) -> tuple:
        return (id(study._storage), study._study_id)

    def horizon_for(self, study: optuna.study.Study) -> int | None:
        """``T`` for ``study``: the given horizon, or the one inferred from its COMPLETE trials
        (None while none has completed)."""
        if self.horizon is not None:
            return self.horizon
        key = self._key(study)
        with self._lock:
            entry = self._horizons.get(key)
            if entry is not None:
                return entry[0]
            done = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
            last = [max(self.epochs(t).values()) for t in done if t.intermediate_values]
            if not last:
                return None
            T = max(last)
            rule = self.rule_for(study)
            check = getattr(rule, "check", None)
            if callable(check):
                try:
                    check(T)
                except ValueError as error:
                    raise ValueError(
                        f"the horizon inferred from the completed trials, T = {T}, does not "
                        f"fit the rule: {error}; give horizon= explicitly"
                    ) from None
            # Hold the storage so that its id cannot be reused while the entry exists.
            self._horizons[key] = (T, study._storage)
            return T

    def history(self, study: optuna.study.Study) -> History:
        """The completed curves of ``study`` as the rule sees them (updated on each call).

        Raises ValueError when the horizon is inferred and no trial has completed yet.
        """
        with self._lock:
            return self._history(study)

    def _history(self, study: optuna.study.Study) -> History:
        rule = self.rule_for(study)
        mode = getattr(rule, "mode", "max")
        T = self.horizon_for(study)
        if T is None:
            raise ValueError(
                "no trial of the study has completed yet: the horizon cannot be inferred "
                "(give horizon=)"
            )
        key = self._key(study)
        entry = self._histories.get(key)
        if entry is None or entry[2] != mode:
            # (history, finished trial numbers, mode, storage, trial number -> record index)
            entry = (History(T, mode=mode), set(), mode, study._storage, {})
            self._histories[key] = entry
        history, seen, index_of = entry[0], entry[1], entry[4]
        done = study.get_trials(deepcopy=False, states=_FINISHED)
        if len(seen) == len(done):
            return history
        new = [t for t in done if t.number not in seen]
        new.sort(key=lambda t: (t.datetime_complete is None, t.datetime_complete, t.number))
        for t in new:
            seen.add(t.number)
            row = np.full(T, np.nan)
            failed = False
            last = math.nan
            reported = []
            for step, e in self.epochs(t).items():
                value = t.intermediate_values[step]
                if 1 <= e <= T:
                    reported.append(e)
                    if value != value:
                        failed = True
                    else:
                        last = value
                    row[e - 1] = value
            index = index_of.get(t.number)
            if index is None:  # first seen finished: recorded in completion order
                index = index_of[t.number] = history.add_trial()
            for e in sorted(reported):
                history.observe_trial(index, e, row[e - 1])
            if t.state == TrialState.COMPLETE and not failed and math.isfinite(row[T - 1]):
                history.append(row)
                history.end_trial(index, COMPLETED)
            else:  # like Monitor.complete of a trial that did not reach T
                history.observe(last)
                history.end_trial(index, FAILED if failed or t.state == TrialState.FAIL
                                  else STOPPED)
        return history

    def prune(self, study: optuna.study.Study, trial: optuna.trial.FrozenTrial) -> bool:
        rule = self.rule_for(study)
        if trial.last_step is None:
            return False
        epochs = self.epochs(trial)
        for value in trial.intermediate_values.values():
            if value != value:
                return True
        with self._lock:
            T = self.horizon_for(study)
            if T is None:
                return False  # nothing completed yet: no horizon (as Hyperband's "auto")
            t = epochs[trial.last_step]
            if t >= T:
                return False
            if self.n_startup_trials:
                n = len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))
                if n < self.n_startup_trials:
                    return False
            curve = np.full(t, np.nan)
            for s, e in epochs.items():
                if e <= t:
                    curve[e - 1] = trial.intermediate_values[s]
            history = self._history(study)
            try:
                self._add_running(study, trial, history, T, t)
                return bool(rule.should_stop(curve, history))
            finally:
                history._current = -1

    def _add_running(self, study, trial, history: History, T: int, t: int) -> None:
        """Record the study's RUNNING trials in the trial record (each keeps the index it got
        when this pruner first saw it; new ones in trial-number order), ``trial`` itself with
        its epochs up to ``t``, and mark ``trial`` as the current one: the record then holds
        every trial so far, as the simulator's does."""
        index_of = self._histories[self._key(study)][4]
        running = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
        if not any(r.number == trial.number for r in running):
            running = [*running, trial]
        for rt in sorted(running, key=lambda x: x.number):
            current = rt.number == trial.number
            if current:
                rt = trial  # the frozen trial being decided
            try:
                epochs = self.epochs(rt)
            except ValueError:
                continue  # another trial off the step grid: its own prune call says so
            index = index_of.get(rt.number)
            if index is None:
                index = index_of[rt.number] = history.add_trial()
            for s, e in sorted(epochs.items(), key=lambda kv: kv[1]):
                if 1 <= e <= T and (not current or e <= t):
                    history.observe_trial(index, e, rt.intermediate_values[s])
            if current:
                history._current = index
