"""What the Ray Tune and Syne Tune adapters share: results -> Monitor reports."""

from __future__ import annotations

import numbers
import threading
from typing import Any, Hashable

from ..stopping.base import check_mode
from ..stopping.monitor import Monitor
from ..stopping.registry import get_rule


class _MonitorAdapter:
    """A :class:`~lcore.stopping.Monitor` fed with result dicts ``{time_attr: epoch,
    metric: value}``; records every report and decision in :attr:`reports`."""

    def __init__(self, rule: Any, horizon: int, metric: str | None, mode: str | None,
                 time_attr: str, params: dict) -> None:
        if mode is not None:
            check_mode(mode)
        if not isinstance(time_attr, str) or not time_attr:
            raise ValueError(f"time_attr must be a non-empty str, got {time_attr!r}")
        if metric is not None and (not isinstance(metric, str) or not metric):
            raise ValueError(f"metric must be a non-empty str or None, got {metric!r}")
        self._spec, self._params = rule, dict(params)
        self.horizon = horizon
        self.metric, self.time_attr = metric, time_attr
        self.monitor: Monitor | None = None
        #: ``(trial_id, epoch, value, stop)`` in the order the scheduler saw the results
        self.reports: list = []
        self._lock = threading.Lock()
        if not isinstance(rule, str):
            get_rule(rule, **params)  # validates the object (params only with a name)
            rule_mode = getattr(rule, "mode", None)
            if mode is not None and rule_mode is not None and rule_mode != mode:
                raise ValueError(
                    f"mode={mode!r} differs from the rule's mode={rule_mode!r}; build the rule "
                    f"with mode={mode!r} or leave mode out"
                )
            mode = mode or rule_mode
        self.mode = mode
        if mode is not None:
            self._start(mode)
        elif isinstance(rule, str):  # validate name and parameters now
            Monitor(rule, horizon, mode="max", **params)

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        del state["_lock"]
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def _start(self, mode: str) -> None:
        self.mode = check_mode(mode)
        if isinstance(self._spec, str):
            self.monitor = Monitor(self._spec, self.horizon, mode=mode, **self._params)
        else:
            self.monitor = Monitor(self._spec, self.horizon, mode=mode)

    def set_mode(self, mode: str | None) -> None:
        if mode is None or self.monitor is not None and self.mode == mode:
            return
        if self.monitor is not None and not isinstance(self._spec, str):
            raise ValueError(
                f"the rule's mode={self.mode!r} does not match the tuner's mode={mode!r}; "
                f"build the rule with mode={mode!r} or pass it by name"
            )
        self._start(mode)

    def report(self, trial_id: Hashable, result: dict) -> bool:
        """The decision for one result: True = stop the trial."""
        if self.monitor is None:
            raise ValueError(
                "mode is unknown: give mode='max' or 'min' (or let the tuner set it)"
            )
        if self.metric is None:
            raise ValueError("metric is unknown: give metric= (or let the tuner set it)")
        if self.metric not in result:
            raise ValueError(
                f"result of trial {trial_id!r} has no metric {self.metric!r}; its keys: "
                f"{sorted(result)}"
            )
        if self.time_attr not in result:
            raise ValueError(
                f"result of trial {trial_id!r} has no time_attr {self.time_attr!r}; its keys: "
                f"{sorted(result)}"
            )
        epoch, value = result[self.time_attr], result[self.metric]
        if isinstance(value, numbers.Real) and not isinstance(value, bool):
            value = float(value)
        with self._lock:
            if isinstance(epoch, numbers.Real) and epoch > self.horizon:
                stop = False  # past the horizon: never stopped, the rule is not asked
            else:
                stop = self.monitor.report(trial_id, epoch, value)
            self.reports.append((trial_id, epoch, value, stop))
            return stop

    def complete(self, trial_id: Hashable) -> None:
        with self._lock:
            if self.monitor is not None and trial_id in self.monitor.running:
                self.monitor.complete(trial_id)

