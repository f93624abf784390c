"""lcore's stopping rules as a Syne Tune scheduler (imports syne_tune;
``pip install lcore[synetune]``)."""

from __future__ import annotations

from typing import Any

from syne_tune.optimizer.scheduler import SchedulerDecision, TrialScheduler

from ._common import _MonitorAdapter


class LcoreScheduler(TrialScheduler):
    """A Syne Tune scheduler that stops trials by an lcore rule on top of another scheduler.

    Like Syne Tune's own ``MedianStoppingRule``, it wraps a scheduler that suggests the
    configurations (e.g. ``SingleObjectiveScheduler`` with random search) and asks the rule on
    each result: ``result[time_attr]`` is the 1-based epoch and ``result[metric]`` the value.
    The decision is :meth:`lcore.stopping.Monitor.report` on them, with Monitor's semantics (a
    trial reaching epoch ``horizon`` enters the history; NaN stops; the rule is not asked at
    epoch ``horizon`` or later, where results always continue). When the rule says continue,
    the wrapped scheduler decides. A trial that ends (completes, errors, is removed) is closed
    with :meth:`~lcore.stopping.Monitor.complete`. Every report and its decision is kept in
    :attr:`reports`, in the order this scheduler saw them.

    Parameters
    ----------
    scheduler : TrialScheduler
        Suggests configurations and decides where the rule says continue.
    rule : str or Rule
        A rule name (``"none"``, ``"etr1"``, ``"etr2"``, ``"median"``) with ``params``, or a
        rule object (its ``mode`` must match).
    horizon : int
        ``T``, the number of epochs of a full trial (Syne Tune's ``max_t``).
    time_attr : str
        The result key holding the 1-based epoch (default ``"epoch"``).
    metric : str, optional
        Default: the wrapped scheduler's first metric.
    mode : {"max", "min"}, optional
        Default: the wrapped scheduler's ``metric_mode()``.
    **params
        The rule's parameters, when ``rule`` is a name.

    Examples
    --------
    ::

        from syne_tune import StoppingCriterion, Tuner
        from syne_tune.optimizer.schedulers.single_objective_scheduler import (
            SingleObjectiveScheduler)
        from lcore.integrations.synetune import LcoreScheduler

        base = SingleObjectiveScheduler(config_space, metric="acc", do_minimize=False)
        scheduler = LcoreScheduler(base, "median", horizon=15, time_attr="epoch")
        Tuner(trial_backend=backend, scheduler=scheduler, n_workers=2,
              stop_criterion=StoppingCriterion(max_num_trials_started=50)).run()
    """

    def __init__(
        self,
        scheduler: TrialScheduler,
        rule: Any = "median",
        horizon: int | None = None,
        *,
        time_attr: str = "epoch",
        metric: str | None = None,
        mode: str | None = None,
        random_seed: int | None = None,
        **params: Any,
    ) -> None:
        if horizon is None:
            raise ValueError("horizon must be given: the number of epochs of a full trial")
        if not callable(getattr(scheduler, "suggest", None)):
            raise ValueError(
                f"scheduler must be a Syne Tune scheduler (with suggest()), got {scheduler!r}"
            )
        super().__init__(random_seed=random_seed)
        self.scheduler = scheduler
        if metric is None:
            names = getattr(scheduler, "metric_names", None)
            names = names() if callable(names) else getattr(scheduler, "metric", None)
            if isinstance(names, str):
                metric = names
            elif names:
                metric = list(names)[0]
        if mode is None and callable(getattr(scheduler, "metric_mode", None)):
            m = scheduler.metric_mode()
            mode = m if isinstance(m, str) else m[0]
        self._adapter = _MonitorAdapter(rule, horizon, metric, mode, time_attr, params)

    @property
    def monitor(self):
        return self._adapter.monitor

    @property
    def reports(self) -> list:
        return self._adapter.reports

    @property
    def metric(self):
        return self._adapter.metric

    def suggest(self):
        return self.scheduler.suggest()

    def on_trial_add(self, trial) -> None:
        self.scheduler.on_trial_add(trial)

    def on_trial_result(self, trial, result: dict) -> str:
        if self._adapter.report(trial.trial_id, result):
            return SchedulerDecision.STOP
        return self.scheduler.on_trial_result(trial, result)

    def on_trial_complete(self, trial, result: dict) -> None:
        self._adapter.complete(trial.trial_id)
        self.scheduler.on_trial_complete(trial, result)

    def on_trial_error(self, trial) -> None:
        self._adapter.complete(trial.trial_id)
        self.scheduler.on_trial_error(trial)

    def on_trial_remove(self, trial) -> None:
        self._adapter.complete(trial.trial_id)
        self.scheduler.on_trial_remove(trial)

    def metric_names(self) -> list:
        return [self._adapter.metric]

    def metric_mode(self) -> str:
        return self._adapter.mode

    def metadata(self) -> dict:
        out = dict(self.scheduler.metadata())
        out["lcore_rule"] = repr(self._adapter.monitor.rule) if self.monitor else None
        return out
