"""Monitor: a stopping rule used online, keeping the history of completed trials for you."""

from __future__ import annotations

import math
import numbers
import threading
from typing import Any, Hashable

import numpy as np

from .base import COMPLETED, FAILED, STOPPED, History, check_horizon, check_mode, is_int
from .registry import get_rule


class _Trial:
    __slots__ = ("buf", "last", "best", "last_finite", "failed", "reached", "index")

    def __init__(self, horizon: int, worst: float, index: int) -> None:
        self.index = index  # its row in History.trial_curves
        self.buf = np.full(horizon, np.nan)
        self.last = 0  # last reported epoch (0: none)
        self.best = worst  # best finite value so far, by mode
        self.last_finite = math.nan
        self.failed = False
        self.reached = False


class Monitor:
    """Apply a stopping rule online to many trials at once.

    Report each trial's value after each epoch; :meth:`report` answers whether to stop it.
    A trial whose report reaches the horizon ``T`` with no failed epoch enters the history of
    completed curves that the rule compares against (at that report, before any later
    decision). Call :meth:`complete` when a trial ends, whether it ran to ``T`` or stopped.

    Semantics (the Optuna pruner :class:`lcore.integrations.optuna.LcorePruner` follows them):

    - Epochs are 1-based ints (an integral float such as ``3.0`` is accepted), at most ``T``,
      strictly increasing per trial. Gaps are allowed: skipped epochs are unreported (NaN in
      the curve the rule sees; see :mod:`lcore.stopping.base` for how each rule treats them).
      Reporting an epoch again or out of order, epoch 0, a non-integral or non-finite epoch, an
      epoch beyond ``T``, or any report after :meth:`complete`: ValueError.
    - A NaN value is a failed epoch: :meth:`report` returns True for it and for every later
      report of that trial, the rule is not asked, and the trial never enters the history
      (even if it reports ``T`` later). ``inf`` is refused (ValueError).
    - At epoch ``T`` the rule is not asked and :meth:`report` returns False.
    - The rule's advice is advice: a trial may go on reporting after True; the rule is asked
      again at each epoch. A trial that was advised to stop but still reaches ``T`` counts as
      completed.
    - :meth:`complete` of a trial that did not reach ``T`` (stopped early or failed) does not
      add its curve to the history; its last finite value updates the incumbent (its
      "reported" value). :meth:`complete` returns whether the trial is in the history.
    - Thread-safe: :meth:`report`, :meth:`complete`, :meth:`curve` and :attr:`running` hold
      one lock of the monitor, so trials reported from several threads each enter the history
      exactly once and every decision sees a history that is not being changed. (Across
      processes, give each its own Monitor or serve one from a single process; the Optuna
      pruner rebuilds its history from the study's storage.) A pickled Monitor carries its
      trials and history and gets a fresh lock.

    Parameters
    ----------
    rule : str or Rule
        A rule name (``"none"``, ``"etr1"``, ``"etr2"``, ``"median"``) with ``params``, or a
        rule object.
    horizon : int
        ``T``, the number of epochs of a full trial.
    mode : {"max", "min"}, optional
        Larger or smaller is better. Default: the rule's mode (``"max"`` for a name). Must
        match a rule object's ``mode``.
    **params
        The rule's parameters, when ``rule`` is a name.

    Attributes
    ----------
    rule : Rule
    history : History
        The completed curves, the horizon and the incumbent, and every trial so far in
        first-report order with its curve and state (``history.trial_curves``,
        ``trial_epochs``, ``trial_states``: running, stopped, completed, failed) — the
        history the simulator's rules see.
    horizon : int
    mode : str

    Examples
    --------
    >>> from lcore.stopping import Monitor
    >>> m = Monitor("median", horizon=3)
    >>> [m.report("a", e, v) for e, v in [(1, 0.2), (2, 0.8), (3, 0.9)]]
    [False, False, False]
    >>> m.complete("a")
    True
    >>> m.report("b", 1, 0.3), m.report("b", 2, 0.45)   # 0.45 < median of (0.2+0.8)/2
    (False, True)
    """

    def __init__(self, rule: Any, horizon: int, mode: str | None = None, **params: Any) -> None:
        self.horizon = check_horizon(horizon)
        if mode is not None:
            check_mode(mode)
        if isinstance(rule, str):
            if mode is not None:
                params["mode"] = mode
            rule = get_rule(rule, **params)
        else:
            rule = get_rule(rule, **params)
            rule_mode = getattr(rule, "mode", None)
            if mode is not None and rule_mode is not None and rule_mode != mode:
                raise ValueError(
                    f"mode={mode!r} differs from the rule's mode={rule_mode!r}; build the rule "
                    f"with mode={mode!r} or leave mode out"
                )
        self.mode = check_mode(getattr(rule, "mode", None) or mode or "max")
        check = getattr(rule, "check", None)
        if callable(check):
            check(self.horizon)
        self.rule = rule
        self.history = History(self.horizon, mode=self.mode)
        self._online = getattr(rule, "_online", None)
        self._max = self.mode == "max"
        self._worst = -math.inf if self._max else math.inf
        self._trials: dict = {}
        self._closed: set = set()
        self._lock = threading.Lock()

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        del state["_lock"]
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    # ------------------------------------------------------------------------------------
    def report(self, trial_id: Hashable, epoch: Any, value: Any) -> bool:
        """Record ``value`` of trial ``trial_id`` after ``epoch``; return True to stop it.

        Parameters
        ----------
        trial_id : hashable
        epoch : int
            1-based, ``<= T``, larger than the trial's previous epoch.
        value : float
            The metric after this epoch; NaN marks a failed epoch.

        Returns
        -------
        bool
            Whether the rule says stop (always True once the trial has failed).
        """
        T = self.horizon
        if type(epoch) is not int:
            epoch = self._check_epoch(epoch)
        if not 1 <= epoch <= T:
            raise ValueError(f"epoch must be an int in [1, T] = [1, {T}], got {epoch!r}")
        if type(value) is not float:
            value = self._check_value(value)
        if value == math.inf or value == -math.inf:
            raise ValueError(
                f"value must be a finite float or NaN (a failed epoch), got {value!r}"
            )
        with self._lock:
            return self._report(trial_id, epoch, value)

    def _report(self, trial_id: Hashable, epoch: int, value: float) -> bool:
        T = self.horizon
        st = self._trials.get(trial_id)
        if st is None:
            if trial_id in self._closed:
                raise ValueError(
                    f"trial {trial_id!r} was completed; it cannot report epoch {epoch} "
                    "(use a new trial id)"
                )
            st = self._trials[trial_id] = _Trial(T, self._worst, self.history.add_trial())
        prev = st.last
        if epoch <= prev:
            raise ValueError(
                f"epoch {epoch} of trial {trial_id!r} was already reported or is out of order "
                f"(its last reported epoch is {prev}); epochs must increase"
            )
        st.last = epoch
        self.history.observe_trial(st.index, epoch, value)
        if value != value:
            st.failed = True
            return True
        st.buf[epoch - 1] = value
        st.last_finite = value
        if st.failed:
            return True
        if (value > st.best) if self._max else (value < st.best):
            st.best = value
        if epoch == T:
            st.reached = True
            self.history.append(st.buf)
            self.history.end_trial(st.index, COMPLETED)
            return False
        if self._online is not None:
            return self._online(epoch, prev, value, st.best, self.history)
        self.history._current = st.index
        try:
            return bool(self.rule.should_stop(st.buf[:epoch], self.history))
        finally:
            self.history._current = -1

    def complete(self, trial_id: Hashable) -> bool:
        """Close trial ``trial_id``; return whether its curve is in the history.

        A trial that reached ``T`` without a failed epoch is already in the history; any
        other trial (stopped early, failed) is not, and never will be. Later reports of this
        trial id raise ValueError.
        """
        with self._lock:
            st = self._trials.pop(trial_id, None)
            if st is None:
                if trial_id in self._closed:
                    raise ValueError(f"trial {trial_id!r} was already completed")
                raise ValueError(f"trial {trial_id!r} is unknown: it has reported no epoch")
            self._closed.add(trial_id)
            if not st.reached:
                self.history.observe(st.last_finite)
                self.history.end_trial(st.index, FAILED if st.failed else STOPPED)
            return st.reached

    # ------------------------------------------------------------------------------------
    def curve(self, trial_id: Hashable) -> np.ndarray:
        """A copy of the running trial's values at epochs ``1 .. last reported`` (NaN: gap or
        failed epoch), shape ``(t,)``."""
        with self._lock:
            st = self._trials.get(trial_id)
            if st is None:
                raise ValueError(f"trial {trial_id!r} is not running (unknown or completed)")
            return st.buf[: st.last].copy()

    @property
    def running(self) -> tuple:
        """Ids of the trials reported but not completed, in first-report order."""
        with self._lock:
            return tuple(self._trials)

    @property
    def n_completed(self) -> int:
        """Number of curves in the history (trials that reached ``T``)."""
        return len(self.history)

    def __repr__(self) -> str:
        return (
            f"Monitor({self.rule!r}, horizon={self.horizon}, running={len(self._trials)}, "
            f"completed={len(self.history)})"
        )

    # ------------------------------------------------------------------------------------
    def _check_epoch(self, epoch: Any) -> int:
        if is_int(epoch):
            return int(epoch)
        if (
            isinstance(epoch, numbers.Real)
            and not isinstance(epoch, (bool, np.bool_))
            and math.isfinite(epoch)
            and float(epoch).is_integer()
        ):
            return int(epoch)
        raise ValueError(
            f"epoch must be a finite integer in [1, T] = [1, {self.horizon}], got {epoch!r}"
        )

    @staticmethod
    def _check_value(value: Any) -> float:
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
            raise ValueError(
                f"value must be a float (NaN: a failed epoch), got {value!r} of type "
                f"{type(value).__name__}"
            )
        return float(value)
