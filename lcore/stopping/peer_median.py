"""Syne Tune's and Ray Tune's median stopping rules as lcore rules, deciding exactly as their
own classes do on the same results.

Both libraries call their rule with one result per reported epoch; lcore asks a rule after
epoch ``t < T`` with the history of every trial so far. The twins below read the replay's
epoch ``t`` (``1 .. T``) as the peer's ``time_attr`` (Syne Tune: the ``"epoch"`` key of the
result; Ray Tune: ``"training_iteration"``), so every wall-clock parameter of the peers is a
number of epochs here. Both compare a trial with the values of other trials still running, so
their C twins (csrc/lc_rule_median.c) record each trial's value at each epoch as it is observed.

Written from the code of syne-tune 0.16.0
(``syne_tune/optimizer/schedulers/median_stopping_rule.py``) and ray 2.60.0
(``ray/tune/schedulers/median_stopping_rule.py``) and tested against those classes.
"""

from __future__ import annotations

import math

import numpy as np

from lcore._checks import check_bool

from .base import STOPPED, Rule, check_int, check_mode, check_real


def _optional_int(name: str, value, low: int):
    if value is None:
        return None
    return check_int(name, value, low, desc=f">= {low} or None")


def _others(curve: np.ndarray, history):
    """The trials of the record other than the one being decided, as (curves, states).

    The trial being decided is ``history.current_trial`` (-1: not in the record)."""
    n = getattr(history, "n_trials", 0)
    if not n:
        return np.empty((0, len(curve))), np.empty(0, dtype=np.int8)
    curves = history.trial_curves
    states = history.trial_states
    me = history.current_trial
    if 0 <= me < n:
        keep = np.ones(n, dtype=bool)
        keep[me] = False
        return curves[keep], states[keep]
    return curves, states


class SyneTuneMedian(Rule):
    """Syne Tune's ``MedianStoppingRule`` (wrapping a scheduler that always continues).

    At epoch ``t`` the trial's value -- with ``running_average=True`` its running average,
    ``np.mean`` of all its values at epochs ``1 .. t`` -- joins the values that every trial
    reported at epoch ``t`` before it (running, stopped, completed and failed trials alike;
    each trial's value at ``t`` is its own running average at ``t``). With the values put in
    "smaller is better" form (times ``-1`` for ``mode="max"``, as Syne Tune's
    ``do_minimize=False``), ``rank`` is the number of earlier values at ``t`` that are
    strictly better than the trial's, and ``n`` the number of values at ``t``, the trial's own
    included. The trial is stopped when ``t >= grace_time``, ``n >= grace_population`` and
    ``rank / n > rank_cutoff``.

    Replay equivalents: Syne Tune's ``time_attr`` is the epoch ``t`` and ``grace_time`` counts
    epochs; ``metric`` is the table's value; ``do_minimize`` is ``mode`` (``True`` is
    ``"min"``; Syne Tune's default ``True``, lcore's default ``"max"`` for accuracies); the
    wrapped scheduler's own stopping decisions are not modelled (Syne Tune calls it only when
    the median rule continues; a FIFO / random-search scheduler always continues);
    ``random_seed`` changes nothing. Unreported (NaN) epochs are not results: they are skipped
    in running averages and a trial with a NaN at ``t`` has no value at ``t``.

    Arithmetic: ``np.mean`` is NumPy's pairwise sum of the values in epoch order divided by
    their count (the C twin implements the same summation); ranks are compared as
    ``rank / n > rank_cutoff`` in float64.

    Parameters
    ----------
    running_average : bool
        Rank running averages (default True) rather than the values at ``t``.
    grace_time : int or None
        Never stop before epoch ``grace_time`` (>= 0; default 1, which stops nothing extra
        since epochs start at 1; None: no grace time).
    grace_population : int or None
        Stop only when at least this many trials, the trial included, reported epoch ``t``
        (>= 0; default 5; None: no minimum).
    rank_cutoff : float
        Stop when the fraction of strictly better values exceeds it (in ``[0, 1]``; default
        0.5, the median).
    mode : {"max", "min"}

    Examples
    --------
    >>> import numpy as np
    >>> from lcore.stopping import Monitor
    >>> m = Monitor("synetune-median", horizon=3, grace_population=2)
    >>> m.report("a", 1, 0.8), m.report("b", 1, 0.5)    # 1 of 2 is better: 0.5 <= 0.5
    (False, False)
    >>> m.report("c", 1, 0.4)                           # 2 of 3 are better: 0.67 > 0.5
    True
    """

    name = "synetune-median"
    param_names = ("running_average", "grace_time", "grace_population", "rank_cutoff")

    def __init__(self, running_average: bool = True, grace_time: int | None = 1,
                 grace_population: int | None = 5, rank_cutoff: float = 0.5,
                 mode: str = "max") -> None:
        self.mode = check_mode(mode)
        self.running_average = check_bool(self._arg("running_average"), running_average)
        self.grace_time = _optional_int(self._arg("grace_time"), grace_time, 0)
        self.grace_population = _optional_int(self._arg("grace_population"),
                                               grace_population, 0)
        cut = check_real(self._arg("rank_cutoff"), rank_cutoff, "a real number in [0, 1]")
        if not 0.0 <= cut <= 1.0:
            raise ValueError(
                f"rule 'synetune-median': rank_cutoff must be a real number in [0, 1], "
                f"got {rank_cutoff!r}"
            )
        self.rank_cutoff = cut

    def _key(self, values: np.ndarray, mult: int) -> float:
        # what Syne Tune inserts for a trial at t: the metric times the multiplier, or the
        # np.mean of the trial's multiplied metrics so far
        fin = values[~np.isnan(values)]
        if self.running_average:
            return float(np.mean(fin * mult))
        return float(values[-1]) * mult

    def should_stop(self, curve: np.ndarray, history) -> bool:
        t = len(curve)
        mult = 1 if self.mode == "min" else -1
        mine = self._key(np.asarray(curve, dtype=np.float64), mult)
        curves, _ = _others(curve, history)
        rank = 0
        n = 1
        for row in curves:
            if row[t - 1] != row[t - 1]:
                continue                      # no result at t (yet)
            n += 1
            if self._key(row[:t], mult) < mine:
                rank += 1
        if self.grace_population is not None and n < self.grace_population:
            return False
        if self.grace_time is not None and t < self.grace_time:
            return False
        return rank / float(n) > self.rank_cutoff

    def _c_rule(self):
        return ("synetune-median",
                [1.0 if self.running_average else 0.0,
                 math.nan if self.grace_time is None else self.grace_time,
                 math.nan if self.grace_population is None else self.grace_population,
                 self.rank_cutoff], None)


class RayMedian(Rule):
    """Ray Tune's ``MedianStoppingRule`` (``hard_stop=True``).

    At epoch ``t >= grace_period``: the *other* trials that reached epoch ``t`` (running,
    stopped, completed and failed ones; a trial's last reported epoch is ``>= t``) each give
    their running mean at ``t``, ``np.mean`` of their values at epochs ``grace_period <= i <=
    t`` (trials with no such value are left out). With at least ``min_samples_required`` of
    them, the trial is stopped when its best value so far (over all its epochs, those before
    the grace period included) is strictly worse than their ``np.median``: ``median > best``
    for ``mode="max"``, ``median < best`` for ``mode="min"``.

    A trial that was stopped at epoch ``s`` counts its value at ``s`` twice in its running
    mean at ``s``: when a scheduler stops a running trial, Ray's controller calls the rule's
    ``on_trial_complete`` with the last result, which the rule appends to the trial's results
    again. A trial that reached ``T`` reported epoch ``T`` through ``on_trial_complete`` only
    (never asked; its value at ``T`` is in no running mean at ``t < T``); a failed trial
    (fewer than ``T`` epochs, not stopped) is an errored trial in Ray (``on_trial_error``: its
    last value is not repeated).

    Replay equivalents: ``time_attr`` is the epoch (Ray's ``training_iteration``; Ray's
    default is ``time_total_s`` seconds), so ``grace_period`` and ``min_time_slice`` count
    epochs; ``min_time_slice`` changes nothing because the replay never has trials waiting
    for a worker (Ray pauses a trial only when there are too few samples *and* other trials
    are pending); ``hard_stop=False`` (pause a trial and resume it once all others ended) has
    no equivalent and is refused; ``metric`` is the table's value and ``mode`` the table's
    direction. Unreported (NaN) epochs are not results.

    Arithmetic: ``np.mean`` is NumPy's pairwise sum of the values in epoch order divided by
    their count, ``np.median`` the middle value or ``(a + b) / 2`` of the two middle values.

    Parameters
    ----------
    grace_period : float
        Decide only at epochs ``t >= grace_period``, and average values from that epoch on
        (a real number >= 0; default 60.0, Ray's default, here in epochs: set it below ``T``
        for the rule to stop anything).
    min_samples_required : int
        Decide only with at least this many other trials' running means (>= 1; default 3).
    min_time_slice : float
        Accepted for Ray's interface (a real number >= 0; default 0); changes nothing here.
    hard_stop : bool
        Must be True (the default).
    mode : {"max", "min"}

    Examples
    --------
    >>> from lcore.stopping import Monitor
    >>> m = Monitor("ray-median", horizon=4, grace_period=2, min_samples_required=1)
    >>> m.report("a", 1, 0.0), m.report("a", 2, 0.6), m.report("b", 1, 0.5)
    (False, False, False)
    >>> m.report("b", 2, 0.4)      # median of a's mean over epochs 2..2 = 0.6 > best 0.5
    True
    """

    name = "ray-median"
    param_names = ("grace_period", "min_samples_required", "min_time_slice", "hard_stop")

    def __init__(self, grace_period: float = 60.0, min_samples_required: int = 3,
                 min_time_slice: float = 0, hard_stop: bool = True, mode: str = "max") -> None:
        self.mode = check_mode(mode)
        self.grace_period = check_real(self._arg("grace_period"), grace_period,
                                       "a finite real number >= 0", low=0.0)
        self.min_samples_required = check_int(self._arg("min_samples_required"),
                                              min_samples_required, 1)
        self.min_time_slice = check_real(self._arg("min_time_slice"), min_time_slice,
                                         "a finite real number >= 0", low=0.0)
        self.hard_stop = check_bool(self._arg("hard_stop"), hard_stop)
        if not self.hard_stop:
            raise ValueError(
                "rule 'ray-median': hard_stop must be True (Ray's hard_stop=False pauses a "
                "trial and resumes it once all others ended; the replay has no pausing), "
                "got False"
            )

    def should_stop(self, curve: np.ndarray, history) -> bool:
        t = len(curve)
        if t < self.grace_period:
            return False
        g = self.grace_period
        curves, states = _others(curve, history)
        means = []
        for row, state in zip(curves, states):
            fin = np.flatnonzero(~np.isnan(row))
            if fin.size == 0 or fin[-1] + 1 < t:
                continue                      # has not reached t
            last = int(fin[-1]) + 1
            scoped = [float(row[i]) for i in fin if g <= i + 1 <= t]
            if state == STOPPED and last == t:
                scoped.append(float(row[t - 1]))   # on_trial_complete repeats the last result
            if not scoped:
                continue
            m = np.mean(scoped)
            if np.isfinite(m):
                means.append(m)
        if len(means) < self.min_samples_required:
            return False
        median = np.median(means)
        values = [float(v) for v in curve if v == v]
        best = max(values) if self.mode == "max" else min(values)
        op = max if self.mode == "max" else min
        return bool(op(median, best) != best)

    def _c_rule(self):
        return ("ray-median", [self.grace_period, self.min_samples_required], None)
