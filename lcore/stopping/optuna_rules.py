"""Optuna's pruners as lcore rules, deciding exactly as Optuna's own classes do.

Optuna asks a pruner after every ``trial.report(value, step)``; lcore asks a rule after epoch
``t < T``. The twins below read step = epoch (``1 .. T``) and a trial's reported steps = its
observed epochs, and make the decision Optuna's ``prune(study, trial)`` makes on a study whose
trials reported the same values at the same steps. Each has a C twin in the replay loop
(csrc/lc_rule_optuna.c) that decides identically.
"""

from __future__ import annotations

import inspect
import math

import numpy as np

from .base import Rule, check_int, check_mode, check_real, previous_observed

#: the default of a required parameter (so that ``param_defaults`` shows it as required)
inspect_required = inspect.Parameter.empty


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


# ---- MedianPruner / PercentilePruner -----------------------------------------------------

def _check_count(rule: Rule, param: str, value, low: int) -> int:
    return check_int(rule._arg(param), value, low)


def _c_int(v: int) -> float:
    """An int parameter as the C twin's float64 (counts beyond 2**53 behave alike)."""
    return float(min(int(v), 2**53))


class OptunaPercentile(Rule):
    """Optuna's ``PercentilePruner``: stop a trial whose best value so far is worse than the
    given percentile of the completed trials' values at the same epoch.

    At epoch ``t`` the trial is stopped when all of these hold (Optuna 5.0's
    ``PercentilePruner.prune``, read from its code):

    - at least ``max(1, n_startup_trials)`` trials have *completed* (reached the horizon; the
      stopped, failed and running trials do not count -- Optuna counts the trials in state
      ``COMPLETE``, and lcore's completed trials are those),
    - ``t >= n_warmup_steps`` and ``t`` is the first reported epoch of its pruning interval
      (the epochs ``n_warmup_steps + k * interval_steps``; see :class:`OptunaThreshold`),
    - at least ``n_min_trials`` completed trials observed epoch ``t``,
    - the trial's *best* value over its epochs ``1 .. t`` (the largest in ``"max"`` mode, the
      smallest in ``"min"`` mode) is strictly worse than ``p``: ``best < p`` (``"max"``) or
      ``best > p`` (``"min"``), where ``p`` is NumPy's ``nanpercentile`` (linear
      interpolation) of the completed trials' values at epoch ``t`` at the percentile
      ``100 - percentile`` (``"max"``) or ``percentile`` (``"min"``). The trial itself is
      not among them (it is running).

    Steps are epochs ``1 .. T`` (Optuna's ``step`` = lcore's epoch); an unreported epoch (NaN
    in a curve) is a step the trial did not report. ``mode`` is Optuna's study direction
    (``"max"`` = maximize). The C twin keeps, per epoch, the sorted values of the completed
    trials (one sorted insertion per completed trial and epoch) and decides in O(1).

    Parameters
    ----------
    percentile : float
        In ``[0, 100]``: the percentile of trials kept (e.g. 25.0 keeps the top 25 %).
    n_startup_trials : int
        Never stop before this many trials completed (>= 0; default 5).
    n_warmup_steps : int
        Never stop before this epoch (>= 0; default 0).
    interval_steps : int
        Decide once per this many epochs, from ``n_warmup_steps`` on (>= 1; default 1).
    n_min_trials : int
        Decide only when at least this many completed trials observed the epoch (>= 1;
        default 1).
    mode : {"max", "min"}
        ``"max"``: larger values are better (Optuna's ``direction="maximize"``).

    Examples
    --------
    >>> import numpy as np
    >>> from lcore.stopping import History, OptunaPercentile
    >>> h = History(horizon=3, completed=[[0.2, 0.4, 0.5], [0.6, 0.7, 0.8]])
    >>> r = OptunaPercentile(25.0, n_startup_trials=2)
    >>> r.should_stop(np.array([0.45]), h)   # 75th percentile at epoch 1: 0.5
    True
    """

    name = "optuna-percentile"
    param_names = ("percentile", "n_startup_trials", "n_warmup_steps", "interval_steps",
                   "n_min_trials")

    def __init__(self, percentile: float, n_startup_trials: int = 5, n_warmup_steps: int = 0,
                 interval_steps: int = 1, *, n_min_trials: int = 1,
                 mode: str = "max") -> None:
        self.mode = check_mode(mode)
        self.percentile = self._check_percentile(percentile)
        self._init_counts(n_startup_trials, n_warmup_steps, interval_steps, n_min_trials)

    def _check_percentile(self, percentile) -> float:
        p = check_real(self._arg("percentile"), percentile, "a number in [0, 100]")
        if not 0.0 <= p <= 100.0:
            raise ValueError(f"{self._arg('percentile')} must be a number in [0, 100], "
                             f"got {percentile!r}")
        return p

    def _init_counts(self, n_startup_trials, n_warmup_steps, interval_steps,
                     n_min_trials) -> None:
        self.n_startup_trials = _check_count(self, "n_startup_trials", n_startup_trials, 0)
        self.n_warmup_steps = _check_count(self, "n_warmup_steps", n_warmup_steps, 0)
        self.interval_steps = _check_count(self, "interval_steps", interval_steps, 1)
        self.n_min_trials = _check_count(self, "n_min_trials", n_min_trials, 1)

    def _pct(self) -> float:
        return self.percentile

    def should_stop(self, curve: np.ndarray, history) -> bool:
        completed = history.completed
        k = completed.shape[0]
        if k == 0 or k < self.n_startup_trials:
            return False
        t = len(curve)
        if t < self.n_warmup_steps:
            return False
        if not _first_in_interval(curve, t, self.n_warmup_steps, self.interval_steps):
            return False
        maximize = self.mode == "max"
        best = float(np.nanmax(curve) if maximize else np.nanmin(curve))
        if math.isnan(best):
            return True
        col = completed[:, t - 1]
        vals = col[~np.isnan(col)]
        if vals.shape[0] < self.n_min_trials:
            return False
        pct = self._pct()
        if maximize:
            pct = 100 - pct
        p = float(np.nanpercentile(vals, pct))
        return best < p if maximize else best > p

    def _c_rule(self):
        return ("optuna-percentile",
                [self._pct(), _c_int(self.n_startup_trials), _c_int(self.n_warmup_steps),
                 _c_int(self.interval_steps), _c_int(self.n_min_trials)], None)


class OptunaMedian(OptunaPercentile):
    """Optuna's ``MedianPruner``: :class:`OptunaPercentile` at ``percentile=50`` (Optuna's
    MedianPruner is exactly that subclass): stop a trial whose best value so far is worse
    than the median of the completed trials' values at the same epoch (NumPy's median of an
    even count: the mean of the two middle values).

    Unlike lcore's ``"median"`` rule (Vizier's: the running *average* of the trial against
    the median of the completed trials' running averages), it compares the trial's *best*
    value with the others' *value* at the epoch.

    Parameters
    ----------
    n_startup_trials : int
        Never stop before this many trials completed (>= 0; default 5).
    n_warmup_steps : int
        Never stop before this epoch (>= 0; default 0).
    interval_steps : int
        Decide once per this many epochs, from ``n_warmup_steps`` on (>= 1; default 1).
    n_min_trials : int
        Decide only when at least this many completed trials observed the epoch (>= 1;
        default 1).
    mode : {"max", "min"}
        ``"max"``: larger values are better (Optuna's ``direction="maximize"``).

    Examples
    --------
    >>> import numpy as np
    >>> from lcore.stopping import History, OptunaMedian
    >>> h = History(horizon=3, completed=[[0.2, 0.4, 0.5], [0.6, 0.7, 0.8]])
    >>> OptunaMedian(n_startup_trials=2).should_stop(np.array([0.35]), h)  # median 0.4
    True
    """

    name = "optuna-median"
    param_names = ("n_startup_trials", "n_warmup_steps", "interval_steps", "n_min_trials")

    def __init__(self, n_startup_trials: int = 5, n_warmup_steps: int = 0,
                 interval_steps: int = 1, *, n_min_trials: int = 1,
                 mode: str = "max") -> None:
        self.mode = check_mode(mode)
        self._init_counts(n_startup_trials, n_warmup_steps, interval_steps, n_min_trials)

    def _pct(self) -> float:
        return 50.0

    def _c_rule(self):
        return ("optuna-median",
                [_c_int(self.n_startup_trials), _c_int(self.n_warmup_steps),
                 _c_int(self.interval_steps), _c_int(self.n_min_trials)], None)


# ---- PatientPruner ------------------------------------------------------------------------

class OptunaPatient(Rule):
    """Optuna's ``PatientPruner``: stop a trial that has not improved for ``patience``
    epochs, when the rule it wraps says stop too.

    At epoch ``t`` let ``v_1 .. v_n`` be the trial's observed values in epoch order (its
    reported epochs; an unreported epoch -- NaN in the curve -- is left out). Nothing stops
    while ``n <= patience + 1``. Otherwise the last ``patience + 1`` values are "after" and the
    earlier ones "before", and the trial *may* stop when

    - ``max(before) - min_delta > max(after)`` (``"max"`` mode), or
    - ``min(before) + min_delta < min(after)`` (``"min"`` mode);

    it then stops if ``wrapped_rule`` says stop at this epoch (with no wrapped rule: it
    stops). This is Optuna 5.0's ``PatientPruner.prune``, read from its code.

    The wrapped rule is asked at *every* epoch, whatever the patience test says, and the
    trial stops when both say so (Optuna asks its wrapped pruner only when the patience test
    says "may stop"). For a wrapped rule whose decision depends only on the trials' values --
    every lcore rule whose state is the history it observes, and Optuna's Median, Percentile,
    Threshold, Wilcoxon and Patient pruners -- the decisions are the same; asking it every
    time keeps what it learns from being asked (e.g. the values it records of running
    trials) the same as when it runs alone. A wrapped pruner that records something only
    when Optuna asks it (Optuna's SuccessiveHalving and Hyperband record a trial's rung
    value then) records it at every epoch here.

    Parameters
    ----------
    wrapped_rule : Rule, str or None
        The rule consulted when the patience test says "may stop" (Optuna's
        ``wrapped_pruner``): any lcore rule object with the same ``mode`` (or a mode-free
        one), or a registered rule name (built with its defaults and this rule's ``mode``),
        or None (default): stop on the patience test alone. With a wrapped rule that has a
        C twin, the whole rule runs in the simulator's C loop; otherwise in Python.
    patience : int
        The number of epochs without improvement tolerated (>= 0; required, as in Optuna).
    min_delta : float
        How much better than ``before``'s best ``after``'s best must be to count as an
        improvement (>= 0; default 0.0).
    mode : {"max", "min"}
        ``"max"``: larger values are better (Optuna's ``direction="maximize"``).

    Examples
    --------
    >>> import numpy as np
    >>> from lcore.stopping import History, OptunaPatient
    >>> r = OptunaPatient(patience=1)
    >>> r.should_stop(np.array([0.5, 0.4, 0.45]), History(horizon=5))  # 0.5 > max(.4, .45)
    True
    >>> r.should_stop(np.array([0.5, 0.4, 0.55]), History(horizon=5))
    False
    """

    name = "optuna-patient"
    param_names = ("wrapped_rule", "patience", "min_delta")

    def __init__(self, wrapped_rule=None, patience: int = inspect_required,
                 min_delta: float = 0.0, *, mode: str = "max") -> None:
        self.mode = check_mode(mode)
        if patience is inspect_required:
            raise TypeError("rule 'optuna-patient' needs patience (an int >= 0, e.g. "
                            "patience=2); got none")
        self.patience = check_int(self._arg("patience"), patience, 0)
        self.min_delta = check_real(self._arg("min_delta"), min_delta, "a finite number >= 0",
                                    low=0.0)
        self.wrapped_rule = self._check_wrapped(wrapped_rule)

    def _check_wrapped(self, wrapped):
        if wrapped is None:
            return None
        if isinstance(wrapped, str):
            from .registry import RULES, get_rule

            if wrapped not in RULES:
                raise ValueError(
                    f"{self._arg('wrapped_rule')} must be a rule object, a rule name "
                    f"({', '.join(repr(k) for k in sorted(RULES))}) or None, "
                    f"got {wrapped!r}")
            return get_rule(wrapped, mode=self.mode)
        if isinstance(wrapped, type) or not callable(getattr(wrapped, "should_stop", None)):
            raise TypeError(
                f"{self._arg('wrapped_rule')} must be a rule object (with should_stop(curve, "
                f"history)), a rule name or None, got {wrapped!r}")
        w_mode = getattr(wrapped, "mode", self.mode)
        if w_mode != self.mode and not getattr(wrapped, "mode_free", False):
            raise ValueError(
                f"{self._arg('wrapped_rule')} has mode={w_mode!r} but this rule has "
                f"mode={self.mode!r}; build both with the same mode")
        return wrapped

    @property
    def label(self) -> str:
        """``optuna-patient(wrapped_rule=LABEL, patience=N[, min_delta=D][, mode=min])``."""
        w = self.wrapped_rule
        parts = [] if w is None else [f"wrapped_rule={getattr(w, 'label', repr(w))}"]
        parts.append(f"patience={self.patience}")
        if self.min_delta != 0.0:
            parts.append(f"min_delta={self.min_delta}")
        if self.mode != "max":
            parts.append(f"mode={self.mode}")
        return f"{self.name}(" + ", ".join(parts) + ")"

    def check(self, horizon: int) -> None:
        super().check(horizon)
        check = getattr(self.wrapped_rule, "check", None)
        if callable(check):
            check(horizon)

    def should_stop(self, curve: np.ndarray, history) -> bool:
        inner = True
        if self.wrapped_rule is not None:
            inner = bool(self.wrapped_rule.should_stop(curve, history))
        vals = curve[~np.isnan(curve)]
        n = vals.shape[0]
        if n <= self.patience + 1:
            return False
        before = vals[: n - self.patience - 1]
        after = vals[n - self.patience - 1:]
        if self.mode == "min":
            maybe = np.nanmin(before) + self.min_delta < np.nanmin(after)
        else:
            maybe = np.nanmax(before) - self.min_delta > np.nanmax(after)
        return bool(maybe) and inner

    def _c_rule(self):
        from .never import Never

        inner = self.wrapped_rule
        return ("optuna-patient",
                [_c_int(self.patience), self.min_delta, 0.0 if inner is None else 1.0],
                Never() if inner is None else inner)


# ---- WilcoxonPruner -----------------------------------------------------------------------

class OptunaWilcoxon(Rule):
    """Optuna's ``WilcoxonPruner``: stop a trial that a Wilcoxon signed-rank test finds worse
    than the best completed trial at the epochs both observed.

    At epoch ``t`` (Optuna 5.0's ``WilcoxonPruner.prune``, read from its code; steps are
    epochs, and an unreported epoch -- NaN in a curve -- is a step not reported):

    - the *best trial* is the completed trial (reached the horizon) with the best final value
      by ``mode`` (ties: the earliest completed; Optuna's ``study.best_trial``, whose value
      is the trial's last reported value here). None yet: no stop. If the trial's or the best
      trial's values hold an infinity: no stop;
    - ``d`` = the trial's values minus the best trial's at the epochs both observed (in
      epoch order); fewer than ``max(2, n_startup_steps)`` of them: no stop;
    - no stop if the trial's mean over all its observed values is at least as good as the
      best trial's mean over all of its (``>=`` in ``"max"`` mode, ``<=`` in ``"min"``; the
      sums taken in epoch order);
    - otherwise stop when ``p < p_threshold``, with ``p`` SciPy's
      ``wilcoxon(d, alternative="less" ("max") / "greater" ("min"), zero_method="zsplit")``
      p-value (method ``"auto"``: the exact null distribution for ``len(d) <= 50`` without
      ties or zeros; an exact sign-flip permutation test for ``len(d) <= 13`` with ties or
      zeros; otherwise the normal approximation with the tie correction, no continuity
      correction).

    This Python twin calls SciPy (imported at the first decision). The C twin computes the
    same p-value itself (the exact counts as integers, the normal tail with the Cephes
    ``ndtr`` SciPy uses) and keeps a copy of the best completed curve; a decision costs
    O(t log t) for the trial's ``t`` epochs and does not depend on the number of trials.

    Parameters
    ----------
    p_threshold : float
        In ``[0, 1]`` (default 0.1): stop when the test's p-value is below it.
    n_startup_steps : int
        Never stop with fewer than this many common epochs (>= 0; default 2; at least 2 are
        always needed).
    mode : {"max", "min"}
        ``"max"``: larger values are better (Optuna's ``direction="maximize"``).

    Examples
    --------
    >>> import numpy as np
    >>> from lcore.stopping import History, OptunaWilcoxon
    >>> h = History(horizon=6, completed=[[0.5, 0.6, 0.7, 0.8, 0.85, 0.9]])
    >>> r = OptunaWilcoxon(p_threshold=0.1)
    >>> r.should_stop(np.array([0.4, 0.5, 0.6, 0.7]), h)   # worse at all 4 epochs: p = 1/16
    True
    """

    name = "optuna-wilcoxon"
    param_names = ("p_threshold", "n_startup_steps")

    def __init__(self, *, p_threshold: float = 0.1, n_startup_steps: int = 2,
                 mode: str = "max") -> None:
        self.mode = check_mode(mode)
        p = check_real(self._arg("p_threshold"), p_threshold, "a number in [0, 1]")
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"{self._arg('p_threshold')} must be a number in [0, 1], "
                             f"got {p_threshold!r}")
        self.p_threshold = p
        self.n_startup_steps = check_int(self._arg("n_startup_steps"), n_startup_steps, 0)

    def should_stop(self, curve: np.ndarray, history) -> bool:
        obs = ~np.isnan(curve)
        vals = curve[obs]
        if vals.shape[0] == 0 or not np.all(np.isfinite(vals)):
            return False
        b = _best_completed(history, self.mode)
        if b < 0:
            return False
        best = np.asarray(history.completed[b], dtype=np.float64)
        bobs = ~np.isnan(best)
        bvals = best[bobs]
        if bvals.shape[0] == 0 or not np.all(np.isfinite(bvals)):
            return False
        t = len(curve)
        both = obs & bobs[:t]
        d = curve[both] - best[:t][both]
        if d.shape[0] < max(2, self.n_startup_steps):
            return False
        maximize = self.mode == "max"
        mean_best = sum(bvals) / len(bvals)
        mean_trial = sum(vals) / len(vals)
        if (mean_best <= mean_trial) if maximize else (mean_best >= mean_trial):
            return False   # Optuna's "average_is_best" safety: never stop then
        return bool(wilcoxon_pvalue(d, "less" if maximize else "greater") < self.p_threshold)

    def _c_rule(self):
        return ("optuna-wilcoxon", [self.p_threshold, _c_int(self.n_startup_steps)], None)


def _best_completed(history, mode: str) -> int:
    """The row of ``history.completed`` with the best final value (ties: the earliest)."""
    best = getattr(history, "best_completed", None)
    if callable(best):
        return best(mode)
    completed = np.asarray(history.completed, dtype=np.float64)
    if completed.shape[0] == 0:
        return -1
    final = completed[:, -1]
    return int(np.argmax(final) if mode == "max" else np.argmin(final))


def wilcoxon_pvalue(d: np.ndarray, alternative: str) -> float:
    """SciPy's ``wilcoxon(d, alternative=alternative, zero_method="zsplit").pvalue`` (what
    Optuna's WilcoxonPruner computes), for the differences ``d``, shape (n,), n >= 1."""
    import warnings

    from scipy import stats

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(stats.wilcoxon(d, alternative=alternative, zero_method="zsplit").pvalue)
