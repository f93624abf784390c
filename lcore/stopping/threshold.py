"""ETR-1: stop a trial that is no better than chance at one early epoch (docs/semantics.md)."""

from __future__ import annotations

import numpy as np

from .base import Rule, check_int, check_mode, check_real, previous_observed


class ETR1(Rule):
    """ETR-1 of Choi, Cho & Rhee: stop at epoch ``tau`` if the value is within ``eps`` of chance.

    ``mode="max"`` (accuracy; docs/semantics.md): stop at ``t == tau`` if ``y^tau < r + eps``.

    ``mode="min"`` (a loss or error rate whose chance level is ``r``): stop at ``t == tau`` if
    ``y^tau > r - eps``. This is the mirror image: with error ``e = 1 - y`` and chance error
    ``1 - r``, the two forms make the same decision (up to rounding).

    The threshold is computed once in float64 as ``r + eps`` (``r - eps``) and compared strictly
    with the observed value. With gaps in the curve, the decision is taken at the first observed
    epoch ``t >= tau`` on the value at ``t`` (see :mod:`lcore.stopping.base`); a trial is never
    stopped at any other epoch.

    Relation to Optuna: ``optuna.pruners.ThresholdPruner(lower=r + eps, n_warmup_steps=tau,
    interval_steps=T)`` with steps numbered as epochs (1, 2, ...) decides exactly like
    ``ETR1(tau, r, eps)``. With Optuna's default ``interval_steps=1`` it checks at every step
    ``>= tau`` instead of once: a curve at ``[0.5, 0.5, 0.1]`` with ``tau=1`` is pruned at step 3
    by Optuna's pruner and never by ETR-1.

    Parameters
    ----------
    tau : int
        The decision epoch, ``1 <= tau <= T - 1``.
    r : float, optional
        Chance level. Default 0.1 (10-class accuracy) when ``mode="max"``; required when
        ``mode="min"`` (e.g. 0.9 for a 10-class error rate).
    eps : float
        Margin, ``>= 0``. Default 0.05.
    mode : {"max", "min"}

    Examples
    --------
    >>> import numpy as np
    >>> from lcore.stopping import ETR1, History
    >>> rule = ETR1(tau=1)
    >>> rule.should_stop(np.array([0.12]), History(horizon=15))
    True
    """

    name = "etr1"
    param_names = ("tau", "r", "eps")

    def __init__(
        self, tau: int, r: float | None = None, eps: float = 0.05, mode: str = "max"
    ) -> None:
        self.mode = check_mode(mode)
        self.tau = check_int("tau", tau, 1)
        if r is None:
            if self.mode == "min":
                raise ValueError(
                    "r must be given when mode='min' (the chance-level value of the minimised "
                    "metric, e.g. r=0.9 for a 10-class error rate), got None"
                )
            r = 0.1
        self.r = check_real("r", r)
        self.eps = check_real("eps", eps, "a finite number >= 0")
        if self.eps < 0:
            raise ValueError(f"eps must be a finite number >= 0, got {eps!r}")
        # Thresholds in float64, in the order the rule's definition writes them.
        self._threshold = self.r + self.eps if self.mode == "max" else self.r - self.eps

    def check(self, horizon: int) -> None:
        super().check(horizon)
        check_int("tau", self.tau, 1, horizon - 1, f"in [1, T-1] = [1, {horizon - 1}]")

    def should_stop(self, curve: np.ndarray, history) -> bool:
        t = len(curve)
        tau = self.tau
        if t < tau:
            return False
        if t > tau and previous_observed(curve, t) >= tau:
            return False
        y = float(curve[t - 1])
        return y < self._threshold if self.mode == "max" else y > self._threshold

    def _online(self, t: int, prev: int, value: float, best: float, history) -> bool:
        if not (prev < self.tau <= t):
            return False
        return value < self._threshold if self.mode == "max" else value > self._threshold
