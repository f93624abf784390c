"""Vizier's median stopping rule, literally (docs/semantics.md)."""

from __future__ import annotations

import numpy as np

from .base import Rule, as_history, check_int, check_mode


class MedianRule(Rule):
    """Median stopping rule of Google Vizier (Golovin et al., 2017), as docs/semantics.md
    states it.

    ``mode="max"``: at epoch ``t >= warmup``, with at least ``min_completed`` completed trials
    (trials that reached ``T``), stop if the trial's best value so far ``max(y^1 .. y^t)`` is
    strictly below the median, over completed trials ``c``, of their running averages
    ``(1/t) * sum_{i<=t} y_c^i``.

    ``mode="min"``: the exact mirror image (the max rule applied to ``-y``): stop if
    ``min(y^1 .. y^t)`` is strictly above that median.

    Arithmetic (what a C twin must reproduce): a running average is the left-to-right float64
    sum ``s = y_c^1 + y_c^2 + ... + y_c^t`` divided by ``t``; the median is NumPy's: the middle
    value for an odd count, ``(a + b) / 2`` of the two middle values ``a <= b`` for an even count.

    Missing epochs: unreported (NaN) epochs are skipped, in the trial's best value and in a
    completed curve's running average (sum and count over its observed epochs ``<= t``); a
    completed curve with no observed epoch ``<= t`` is left out of the median at ``t`` and
    ``min_completed`` counts the curves that are in it.

    How it differs from other libraries' median rules (docs/stopping.md has worked examples):

    - Optuna ``MedianPruner``: compares the best value so far with the median of the completed
      trials' values *at step t* (not their running averages), and ``n_startup_trials=5``
      by default.
    - Ray Tune ``MedianStoppingRule`` (lcore's ``"ray-median"``): the median is over every
      other trial that has reached time ``t`` (running, stopped, completed and failed ones;
      a stopped trial's last value counts twice), the running averages skip results before
      ``grace_period`` (60 s of ``time_total_s`` by default), ``min_samples_required=3``.
    - Syne Tune ``MedianStoppingRule`` (lcore's ``"synetune-median"``): ranks the trial's own
      running average (not its best value) among all trials' results at that step, itself
      included, stops when more than ``rank_cutoff=0.5`` of them are strictly better, and
      needs ``grace_population=5`` of them.

    Parameters
    ----------
    min_completed : int
        Decide only with at least this many completed trials (>= 1; default 1).
    warmup : int
        Decide only at epochs ``t >= warmup`` (``1 <= warmup <= T - 1``; default 1).
    mode : {"max", "min"}

    Examples
    --------
    >>> import numpy as np
    >>> from lcore.stopping import History, MedianRule
    >>> h = History(horizon=3, completed=[[0.2, 0.8, 0.9]])
    >>> MedianRule().should_stop(np.array([0.1, 0.45]), h)   # 0.45 < (0.2 + 0.8) / 2
    True
    """

    name = "median"
    param_names = ("min_completed", "warmup")

    def __init__(self, min_completed: int = 1, warmup: int = 1, mode: str = "max") -> None:
        self.mode = check_mode(mode)
        self.min_completed = check_int("min_completed", min_completed, 1)
        self.warmup = check_int("warmup", warmup, 1)

    def check(self, horizon: int) -> None:
        super().check(horizon)
        check_int("warmup", self.warmup, 1, horizon - 1, f"in [1, T-1] = [1, {horizon - 1}]")

    def should_stop(self, curve: np.ndarray, history) -> bool:
        t = len(curve)
        if t < self.warmup:
            return False
        h = as_history(history)
        med, n = h.median_running_average(t)
        if n < self.min_completed:
            return False
        observed = curve[~np.isnan(curve)]
        if observed.size == 0:
            return False
        if self.mode == "max":
            return float(observed.max()) < med
        return float(observed.min()) > med

    def _online(self, t: int, prev: int, value: float, best: float, history) -> bool:
        if t < self.warmup:
            return False
        lst = history._avg_sorted[t - 1]
        n = len(lst)
        if n < self.min_completed or n == 0:
            return False
        h = n // 2
        med = lst[h] if n % 2 else (lst[h - 1] + lst[h]) / 2
        return best < med if self.mode == "max" else best > med
