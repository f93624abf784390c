"""``"adaptive"``: a stopping rule with no parameter to choose, learning from the run itself.

The rule stops a trial only where the run's own completed curves say that a curve this far
behind at this epoch has not caught up with the best ones (docs/rules.md gives the reasoning
and the evaluation on every shipped real table).
"""

from __future__ import annotations

import bisect
import math

import numpy as np

from .base import Rule, as_history, check_mode, check_real


def reference_size(alpha: float) -> int:
    """``k = ceil(1 / alpha) - 1``: the number of best completed curves the rule compares with,
    the smallest ``k`` with ``1 / (k + 1) <= alpha`` (19 for ``alpha = 0.05``)."""
    return max(1, math.ceil(1.0 / alpha - 1e-12) - 1)


class _State:
    """What the rule keeps per History (and mode, alpha), brought up to date incrementally
    when curves complete: per epoch the sorted keys of the completed curves, the completed
    trials ranked by final key, and the envelope ``theta`` of the ``k`` best."""

    __slots__ = ("n", "sorted", "rank", "keys", "theta")

    def __init__(self, T: int) -> None:
        self.n = 0
        self.sorted = [[] for _ in range(T)]   # per epoch: ascending keys (finite only)
        self.rank = []                         # (-final key, completion index), ascending
        self.keys = []                         # completed curves in key form, by index
        self.theta = None                      # (T,) envelope of the k best; None: n < k


class Adaptive(Rule):
    """A stopping rule without a parameter to choose: stop a trial only where the run's own
    completed curves show that a curve this far behind at this epoch did not end among the best.

    Values are compared in *key* form, ``key(y) = y`` for ``mode="max"`` and ``-y`` for
    ``mode="min"`` (larger key is better), so the rule is the same on accuracy and loss tables.
    Let ``n`` be the number of completed trials (trials that reached ``T``) so far and
    ``k = ceil(1/alpha) - 1`` (19 for the default ``alpha = 0.05``). After epoch ``t < T`` of a
    trial whose value just observed is ``y``:

    1. With ``n <= k``, never stop.
    2. The reference set ``B`` is the ``k`` completed trials with the best final values (ties:
       the earliest completed). ``theta_t = min over c in B of key(y_c^t)`` (unreported epochs
       skipped; with none, never stop) is the lowest any of the ``k`` best curves was at ``t``.
    3. ``e`` = the number of completed curves with ``key(y_c^t) < theta_t``: curves that were
       behind every one of the best at ``t`` -- and, by the definition of ``theta_t``, none of
       them ended among the best. With ``e == 0`` (no such evidence yet), never stop.
    4. ``lo_t`` = the lowest key of a completed curve at ``t``; the margin
       ``m = (theta_t - lo_t) / (e + 1)`` is the mean gap between ``e`` points spread over
       ``[lo_t, theta_t]``: it keeps the trial when it is within one such gap of the best
       curves, and shrinks as evidence accumulates.
    5. Stop if ``key(y) < theta_t - m``.

    Why (docs/rules.md): if a trial that will end among the best behaves at epoch ``t`` like the
    ``k`` best completed trials did (exchangeably), the chance that it is below all ``k`` of
    them at ``t`` is ``1 / (k + 1) <= alpha``; the margin and the evidence count protect the
    first decisions, when ``theta_t`` rests on few curves. Stopped and failed trials are not
    evidence: a curve the rule stopped never had the chance to catch up, and counting it as one
    that did not would make the rule confirm itself. Only the completed curves and their
    values matter; the incumbent enters through them (it is the best final of ``B``).

    Arithmetic (what the C twin csrc/lc_rule_adaptive.c reproduces): keys are ``y`` or ``-y``
    in float64, the threshold is ``theta_t - (theta_t - lo_t) / (e + 1)`` in float64 in that
    order, and the comparison is strict. Cost: O(log n) per decision (a binary search for
    ``e``); O(n T) when a trial completes (sorted inserts), plus O(k T) when it enters ``B``.

    Parameters
    ----------
    alpha : float
        The guard level in ``(0, 0.5]``, default 0.05 (``k = 19``). A documented default, not a
        knob to tune: the evaluation (docs/rules.md) uses 0.05 on every table.
    mode : {"max", "min"}

    Examples
    --------
    >>> import numpy as np
    >>> from lcore.stopping import Adaptive, History
    >>> rule = Adaptive(alpha=0.5)       # k = 1: compare with the best completed curve
    >>> h = History(horizon=3, completed=[[0.2, 0.3, 0.4], [0.6, 0.8, 0.9]])
    >>> rule.should_stop(np.array([0.5, 0.35]), h)   # 0.35 < 0.8 - (0.8 - 0.3) / 2
    True
    >>> rule.should_stop(np.array([0.5, 0.6]), h)
    False
    """

    name = "adaptive"
    param_names = ("alpha",)

    def __init__(self, alpha: float = 0.05, mode: str = "max") -> None:
        self.mode = check_mode(mode)
        a = check_real(self._arg("alpha"), alpha, "a number in (0, 0.5]")
        if not 0.0 < a <= 0.5:
            raise ValueError(f"rule 'adaptive': alpha must be a number in (0, 0.5], got {alpha!r}")
        self.alpha = a

    @property
    def k(self) -> int:
        """The size of the reference set (the best completed curves)."""
        return reference_size(self.alpha)

    def _state(self, h) -> _State:
        key = ("adaptive", self.mode, self.alpha)
        st = h._cache.get(key)
        if st is None:
            st = h._cache[key] = _State(h.horizon)
        n = len(h)
        if st.n == n:
            return st
        T = h.horizon
        k = self.k
        sign = 1.0 if self.mode == "max" else -1.0
        comp = h.completed
        changed = False
        for i in range(st.n, n):
            row = sign * np.asarray(comp[i], dtype=np.float64)
            st.keys.append(row)
            for t in range(T):
                v = float(row[t])
                if v == v:
                    bisect.insort(st.sorted[t], v)
            entry = (-float(row[T - 1]), i)
            pos = bisect.bisect_left(st.rank, entry)
            st.rank.insert(pos, entry)
            changed = changed or pos < k
        st.n = n
        if changed and n >= k:
            B = np.array([st.keys[i] for _, i in st.rank[:k]])
            theta = np.full(T, math.nan)
            for t in range(T):
                col = B[:, t]
                col = col[col == col]
                if col.size:
                    theta[t] = float(col.min())
            st.theta = theta
        return st

    def should_stop(self, curve: np.ndarray, history) -> bool:
        h = as_history(history)
        if len(h) <= self.k:
            return False
        st = self._state(h)
        t = len(curve)
        th = float(st.theta[t - 1])
        if th != th:
            return False
        lst = st.sorted[t - 1]
        e = bisect.bisect_left(lst, th)
        if e == 0:
            return False
        y = float(curve[t - 1])
        if self.mode == "min":
            y = -y
        lo = lst[0]
        return y < th - (th - lo) / (e + 1)

    def _c_rule(self):
        return ("adaptive", [float(self.k)], None)
