"""lcore's stopping rules as a Ray Tune scheduler (imports ray; ``pip install lcore[ray]``)."""

from __future__ import annotations

from typing import Any

from ray.tune.schedulers import FIFOScheduler, TrialScheduler

from ._common import _MonitorAdapter


class LcoreTuneScheduler(FIFOScheduler):
    """A Ray Tune trial scheduler that asks an lcore stopping rule (FIFO otherwise).

    Each result a trial reports is one epoch: ``result[time_attr]`` (default
    ``"training_iteration"``, which Ray counts from 1) is the epoch and ``result[metric]``
    the value. The decision is :meth:`lcore.stopping.Monitor.report` on them, with Monitor's
    semantics: a trial whose result reaches epoch ``horizon`` enters the history of completed
    curves; a NaN value stops the trial; the rule is not asked at epoch ``horizon`` or
    later (results past the horizon always continue). A trial that ends (completes, errors, or
    is stopped) is closed with :meth:`~lcore.stopping.Monitor.complete`. Every report and its
    decision is kept in :attr:`reports`, in the order this scheduler saw them.

    Parameters
    ----------
    rule : str or Rule
        A rule name (``"none"``, ``"etr1"``, ``"etr2"``, ``"median"``) with ``params``, or a
        rule object (its ``mode`` must match).
    horizon : int
        ``T``, the number of epochs (results) of a full trial (Ray's ``max_t``).
    metric, mode : str, optional
        The metric and ``"max"``/``"min"``; default: those of ``tune.TuneConfig``.
    time_attr : str
        The result key holding the 1-based epoch.
    **params
        The rule's parameters, when ``rule`` is a name.

    Attributes
    ----------
    monitor : Monitor
        The monitor (built once the mode is known).
    reports : list of (trial_id, epoch, value, stop)

    Examples
    --------
    ::

        from ray import tune
        from lcore.integrations.ray import LcoreTuneScheduler

        def train(config):
            for epoch in range(1, 16):
                tune.report({"acc": fit_one_epoch(config)})

        tuner = tune.Tuner(train, param_space={"lr": tune.loguniform(1e-4, 1e-1)},
                           tune_config=tune.TuneConfig(
                               metric="acc", mode="max", num_samples=50,
                               scheduler=LcoreTuneScheduler("median", horizon=15)))
        tuner.fit()
    """

    def __init__(
        self,
        rule: Any = "median",
        horizon: int | None = None,
        *,
        metric: str | None = None,
        mode: str | None = None,
        time_attr: str = "training_iteration",
        **params: Any,
    ) -> None:
        if horizon is None:
            raise ValueError(
                "horizon must be given: the number of epochs (results) of a full trial"
            )
        super().__init__()
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

    def set_search_properties(self, metric: str | None, mode: str | None, **spec) -> bool:
        a = self._adapter
        if metric and a.metric and metric != a.metric:
            return False
        if mode and a.mode and mode != a.mode:
            if not isinstance(a._spec, str):
                a.set_mode(mode)  # raises: the rule object's mode does not match
            return False  # Ray's convention: the scheduler was built with another mode
        if metric:
            a.metric = metric
        a.set_mode(mode)
        return True

    def on_trial_result(self, tune_controller, trial, result: dict) -> str:
        stop = self._adapter.report(trial.trial_id, result)
        return TrialScheduler.STOP if stop else TrialScheduler.CONTINUE

    def on_trial_complete(self, tune_controller, trial, result: dict) -> None:
        self._adapter.complete(trial.trial_id)

    def on_trial_error(self, tune_controller, trial) -> None:
        self._adapter.complete(trial.trial_id)

    def on_trial_remove(self, tune_controller, trial) -> None:
        self._adapter.complete(trial.trial_id)

    def debug_string(self) -> str:
        m = self._adapter.monitor
        return f"LcoreTuneScheduler: {m!r}" if m is not None else "LcoreTuneScheduler"
