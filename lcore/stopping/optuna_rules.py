"""Optuna's pruners as lcore rules, deciding exactly as Optuna's own classes do.

Optuna asks a pruner after every ``trial.report(value, step)``; lcore asks a rule after epoch
``t < T``. The twins below read step = epoch (``1 .. T``) and a trial's reported steps = its
observed epochs, and make the decision Optuna's ``prune(study, trial)`` makes on a study whose
trials reported the same values at the same steps. Each has a C twin in the replay loop
(csrc/lc_rule_optuna.c) that decides identically.
"""

from __future__ import annotations

import math

import numpy as np

from .base import Rule, check_int, check_mode, check_real, previous_observed


def _first_in_interval(curve: np.ndarray, t: int, n_warmup_steps: int,
                       interval_steps: int) -> bool:
    """Optuna's ``_is_first_in_interval_step`` for steps ``1 .. T``: no step was reported
    between the nearest pruning step ``<= t`` and ``t``."""
    nearest = (t - n_warmup_steps) // interval_steps * interval_steps + n_warmup_steps
    prev = previous_observed(curve, t)
    second_last = prev if prev >= 1 else -1
    return second_last < nearest


def _optional_real(name: str, value):
    if value is None:
        return None
    return check_real(name, value, "a finite real number or None", allow_inf=False)


class OptunaThreshold(Rule):
    """Optuna's ``ThresholdPruner``: stop a trial whose value leaves ``[lower, upper]``.

    At epoch ``t >= n_warmup_steps`` that is the first reported step of its pruning interval
    (the steps ``n_warmup_steps + k * interval_steps``), stop if the value just observed is NaN,
    ``< lower`` or ``> upper``. Direction-free: it runs on accuracy and loss tables alike.

    Parameters
    ----------
    lower, upper : float or None
        The bounds (None: no bound on that side; at least one must be given, and
        ``lower <= upper``).
    n_warmup_steps : int
        Never stop before this epoch (>= 0; default 0).
    interval_steps : int
        Decide once per this many epochs (>= 1; default 1).
    mode : {"max", "min"}
        Kept for a uniform interface; it changes nothing.

    Examples
    --------
    >>> import numpy as np
    >>> from lcore.stopping import History, OptunaThreshold
    >>> OptunaThreshold(lower=0.2).should_stop(np.array([0.5, 0.1]), History(horizon=5))
    True
    """

    name = "optuna-threshold"
    param_names = ("lower", "upper", "n_warmup_steps", "interval_steps")
    mode_free = True

    def __init__(self, lower: float | None = None, upper: float | None = None,
                 n_warmup_steps: int = 0, interval_steps: int = 1, mode: str = "max") -> None:
        self.mode = check_mode(mode)
        self.lower = _optional_real(self._arg("lower"), lower)
        self.upper = _optional_real(self._arg("upper"), upper)
        if self.lower is None and self.upper is None:
            raise TypeError(
                "rule 'optuna-threshold' needs lower, upper or both (e.g. lower=0.1); "
                "got neither"
            )
        if self.lower is not None and self.upper is not None and self.lower > self.upper:
            raise ValueError(
                f"rule 'optuna-threshold': lower must be <= upper, got lower={self.lower} > "
                f"upper={self.upper}"
            )
        self.n_warmup_steps = check_int(self._arg("n_warmup_steps"), n_warmup_steps, 0)
        self.interval_steps = check_int(self._arg("interval_steps"), interval_steps, 1)

    def should_stop(self, curve: np.ndarray, history) -> bool:
        t = len(curve)
        if t < self.n_warmup_steps:
            return False
        if not _first_in_interval(curve, t, self.n_warmup_steps, self.interval_steps):
            return False
        v = float(curve[t - 1])
        if math.isnan(v):
            return True
        if self.lower is not None and v < self.lower:
            return True
        return self.upper is not None and v > self.upper

    def _c_rule(self):
        lo = -math.inf if self.lower is None else self.lower
        hi = math.inf if self.upper is None else self.upper
        return ("optuna-threshold", [lo, hi, self.n_warmup_steps, self.interval_steps], None)
