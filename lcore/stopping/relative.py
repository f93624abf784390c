"""ETR-2: stop a trial far behind the best completed trial at that trial's "knee" epoch."""

from __future__ import annotations

import math

import numpy as np

from .base import History, Rule, as_history, check_mode, check_real, previous_observed


def _check_fraction(name: str, value) -> float:
    x = check_real(name, value, "a number in (0, 1]")
    if not 0.0 < x <= 1.0:
        raise ValueError(f"{name} must be a number in (0, 1], got {value!r}")
    return x


class ETR2(Rule):
    """ETR-2 of Choi, Cho & Rhee (docs/semantics.md), relative to the best completed trial.

    ``mode="max"`` (the paper's definition): let ``c`` be the completed trial (one that
    reached ``T``) with the largest final value ``y_c^T`` (ties: the earliest completed). With
    none, never stop. Otherwise ``tau`` = the largest epoch ``i`` (1-based, ``i <= T``) with
    ``y_c^i <= q * y_c^T`` (1 if there is none); stop at ``t == tau`` if ``y^tau < p * y_c^tau``.
    ``tau`` moves whenever the best completed trial changes; ``tau == T`` means never stop
    (the rule is not asked at ``T``), which is always the case for ``q = 1``.

    ``mode="min"`` (a positive loss or error rate): the multiplicative mirror image (the same
    rule applied to ``1/y``, written without division so it is defined for any finite value):
    ``c`` = the completed trial with the smallest final value (ties: the earliest); ``tau`` =
    the largest epoch with ``q * y_c^i >= y_c^T`` (1 if none); stop at ``t == tau`` if
    ``p * y^tau > y_c^tau``.

    Every product is one float64 multiplication (``q * y_c^T``, ``p * y_c^tau`` in max mode;
    ``q * y_c^i``, ``p * y^tau`` in min mode) and comparisons are as written. An unreported
    (NaN) epoch of ``c`` never qualifies as ``tau``; if the fallback ``tau = 1`` is unreported,
    the comparison with NaN is false and the rule never stops. With gaps in the trial's own
    curve, the decision is taken at the first observed epoch ``t >= tau`` on the value at ``t``.

    Parameters
    ----------
    p : float
        In (0, 1]; no default (the paper studies several).
    q : float
        In (0, 1]; default 0.75.
    mode : {"max", "min"}

    Examples
    --------
    >>> import numpy as np
    >>> from lcore.stopping import ETR2, History
    >>> h = History(horizon=4, completed=[[0.2, 0.6, 0.8, 0.9]])
    >>> rule = ETR2(p=0.5)           # tau = 2: 0.6 <= 0.75 * 0.9 < 0.8
    >>> rule.should_stop(np.array([0.3, 0.25]), h)   # 0.25 < 0.5 * 0.6
    True
    """

    name = "etr2"
    param_names = ("p", "q")

    def __init__(self, p: float, q: float = 0.75, mode: str = "max") -> None:
        self.mode = check_mode(mode)
        self.p = _check_fraction("p", p)
        self.q = _check_fraction("q", q)

    def knee(self, history: History) -> tuple:
        """``(tau, y_c^tau)`` for the current best completed trial; ``(0, nan)`` if none."""
        h = as_history(history)
        c = h.best_completed(self.mode)
        if c < 0:
            return 0, math.nan
        key = ("etr2", self.mode, self.q)
        hit = h._cache.get(key)
        if hit is not None and hit[0] == c:
            return hit[1], hit[2]
        row = h._buf[c]
        final = row[h.horizon - 1]
        if self.mode == "max":
            ok = np.flatnonzero(row <= self.q * final)
        else:
            ok = np.flatnonzero(self.q * row >= final)
        tau = int(ok[-1]) + 1 if ok.size else 1
        y_tau = float(row[tau - 1])
        h._cache[key] = (c, tau, y_tau)
        return tau, y_tau

    def should_stop(self, curve: np.ndarray, history) -> bool:
        tau, y_tau = self.knee(history)
        t = len(curve)
        if tau == 0 or t < tau:
            return False
        if t > tau and previous_observed(curve, t) >= tau:
            return False
        return self._compare(float(curve[t - 1]), y_tau)

    def _compare(self, y: float, y_tau: float) -> bool:
        if self.mode == "max":
            return y < self.p * y_tau
        return self.p * y > y_tau

    def _online(self, t: int, prev: int, value: float, best: float, history) -> bool:
        if history._best[self.mode] < 0:
            return False
        tau, y_tau = self.knee(history)
        if not (prev < tau <= t):
            return False
        return self._compare(value, y_tau)
