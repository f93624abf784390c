"""lcore's stopping rules as an Optuna pruner (imports optuna; ``pip install lcore[optuna]``)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import optuna
from optuna.pruners import BasePruner
from optuna.study import StudyDirection
from optuna.trial import TrialState

from ..stopping.base import History, check_horizon, check_int
from ..stopping.registry import get_rule

_FINISHED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)


class LcorePruner(BasePruner):
    """An Optuna pruner that asks an lcore stopping rule.

    Report one intermediate value per epoch with ``trial.report(value, step)`` and call
    ``trial.should_prune()``; step ``first_step`` is epoch 1, so by default the steps are the
    epochs ``1 .. T``. The decision is ``rule.should_stop(curve, history)`` with the same
    semantics as :class:`lcore.stopping.Monitor`:

    - ``curve``: the trial's intermediate values at epochs ``1 .. t`` (``t`` from
      ``trial.last_step``), NaN where a step was not reported.
    - A NaN intermediate value is a failed epoch: the trial is pruned (as Optuna's own pruners
      do) and the rule is not asked.
    - At epoch ``T`` the rule is not asked (no pruning).
    - ``history``: the curves of the study's COMPLETE trials that reported epoch ``T`` and no
      NaN value, in the order this pruner first sees them complete (by completion time among
      those seen together). Pruned and failed trials and trials that returned before ``T``
      never count; their last finite intermediate value updates ``history.incumbent``, as
      :meth:`Monitor.complete <lcore.stopping.Monitor.complete>` does. The history is kept
      incrementally per study (one per storage and study).
    - ``mode``: ``"max"`` for a maximising study, ``"min"`` for a minimising one.

    Parameters
    ----------
    rule : str or Rule
        A rule name (``"none"``, ``"etr1"``, ``"etr2"``, ``"median"``) with ``params`` (its
        mode follows the study's direction), or a rule object (its ``mode`` must match the
        study's direction).
    horizon : int
        ``T``, the number of epochs of a full trial.
    first_step : int
        The step number of epoch 1 (default 1; use 0 if you report steps ``0 .. T-1``).
    **params
        The rule's parameters, when ``rule`` is a name.

    Examples
    --------
    >>> import optuna
    >>> from lcore.integrations.optuna import LcorePruner
    >>> def objective(trial):
    ...     x = trial.suggest_float("x", 0.0, 1.0)
    ...     for epoch in range(1, 11):
    ...         trial.report(x * (1 - 0.5 ** epoch), epoch)
    ...         if trial.should_prune():
    ...             raise optuna.TrialPruned()
    ...     return x * (1 - 0.5 ** 10)
    >>> optuna.logging.set_verbosity(optuna.logging.WARNING)
    >>> study = optuna.create_study(direction="maximize",
    ...                             pruner=LcorePruner("median", horizon=10),
    ...                             sampler=optuna.samplers.RandomSampler(seed=0))
    >>> study.optimize(objective, n_trials=20)
    >>> any(t.state == optuna.trial.TrialState.PRUNED for t in study.trials)
    True

    Notes
    -----
    ``LcorePruner(ETR1(tau, r, eps), horizon=T)`` decides like
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
        first_step: int = 1,
        **params: Any,
    ) -> None:
        if horizon is None:
            raise ValueError("horizon must be given: the number of epochs T of a full trial")
        self.horizon = check_horizon(horizon)
        self.first_step = check_int("first_step", first_step, 0)
        if "mode" in params:
            raise ValueError(
                f"mode={params['mode']!r} cannot be given: with a rule name the mode follows "
                "the study's direction (pass a rule object to fix it)"
            )
        self._spec = rule
        self._params = params
        self._rules: dict = {}
        if isinstance(rule, str):
            # Validate the name and parameters now; the rule for each mode is built on first
            # use (e.g. ETR1 needs ``r`` for mode="min" only).
            try:
                self._build(rule, "max")
            except ValueError as error:
                try:
                    self._build(rule, "min")
                except ValueError:
                    raise error from None
        else:
            rule = get_rule(rule, **params)
            mode = getattr(rule, "mode", "max")
            check = getattr(rule, "check", None)
            if callable(check):
                check(self.horizon)
            self._rules[mode] = rule
        self._histories: dict = {}

    def _build(self, name: str, mode: str):
        rule = get_rule(name, mode=mode, **self._params)
        rule.check(self.horizon)
        return rule

    def rule_for(self, study: optuna.study.Study):
        """The rule used for ``study`` (its mode follows the study's direction)."""
        if len(study.directions) > 1:
            raise ValueError(
                "LcorePruner supports single-objective studies only, got "
                f"{len(study.directions)} directions"
            )
        mode = "max" if study.direction == StudyDirection.MAXIMIZE else "min"
        rule = self._rules.get(mode)
        if rule is None:
            if isinstance(self._spec, str):
                rule = self._rules[mode] = self._build(self._spec, mode)
                return rule
            other = next(iter(self._rules))
            raise ValueError(
                f"the rule's mode={other!r} does not match the study's direction "
                f"({study.direction.name.lower()}: mode={mode!r}); build the rule with "
                f"mode={mode!r} or pass it by name"
            )
        return rule

    def history(self, study: optuna.study.Study) -> History:
        """The completed curves of ``study`` as the rule sees them (updated on each call)."""
        rule = self.rule_for(study)
        mode = getattr(rule, "mode", "max")
        key = (id(study._storage), study._study_id)
        entry = self._histories.get(key)
        if entry is None or entry[2] != mode:
            # Hold the storage so that its id cannot be reused while the entry exists.
            entry = (History(self.horizon, mode=mode), set(), mode, study._storage)
            self._histories[key] = entry
        history, seen = entry[0], entry[1]
        done = study.get_trials(deepcopy=False, states=_FINISHED)
        if len(seen) == len(done):
            return history
        new = [t for t in done if t.number not in seen]
        new.sort(key=lambda t: (t.datetime_complete is None, t.datetime_complete, t.number))
        T = self.horizon
        for t in new:
            seen.add(t.number)
            row = np.full(T, np.nan)
            failed = False
            last = math.nan
            for step in sorted(t.intermediate_values):
                value = t.intermediate_values[step]
                e = step - self.first_step + 1
                if 1 <= e <= T:
                    if value != value:
                        failed = True
                    else:
                        last = value
                    row[e - 1] = value
            if t.state == TrialState.COMPLETE and not failed and math.isfinite(row[T - 1]):
                history.append(row)
            else:  # like Monitor.complete of a trial that did not reach T
                history.observe(last)
        return history

    def prune(self, study: optuna.study.Study, trial: optuna.trial.FrozenTrial) -> bool:
        rule = self.rule_for(study)
        step = trial.last_step
        if step is None:
            return False
        T = self.horizon
        t = step - self.first_step + 1
        if not 1 <= t <= T:
            raise ValueError(
                f"step {step} of trial {trial.number} is epoch {t}, outside [1, T] = [1, {T}] "
                f"(first_step={self.first_step} is epoch 1); report steps "
                f"{self.first_step} .. {self.first_step + T - 1} or set first_step/horizon"
            )
        curve = np.full(t, np.nan)
        for s, value in trial.intermediate_values.items():
            e = s - self.first_step + 1
            if e < 1:
                raise ValueError(
                    f"step {s} of trial {trial.number} is before first_step={self.first_step}"
                )
            if value != value:
                return True
            curve[e - 1] = value
        if t == T:
            return False
        return bool(rule.should_stop(curve, self.history(study)))
