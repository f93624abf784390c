"""Learning-curve extrapolation (``"lce"``; Domhan, Springenberg & Hutter, IJCAI 2015).

The trial's curve so far is extrapolated to the horizon ``T`` by the 11 parametric families of
that paper; the trial is stopped when the predicted probability that it ends better than the
incumbent is below ``delta``. The decision is computed in C (csrc/lc_rule_lce.c, through
lcore/_core/_rule_lce.pyx), the same function the simulator's loop calls, so the online rule and
the loop decide identically. docs/stopping.md states the fast posterior and how it compares with
the paper's MCMC posterior.
"""

from __future__ import annotations

import math

import numpy as np

from .base import Rule, check_int, check_mode, check_real

#: the 11 families, in the order the C code numbers them
FAMILIES = ("vap", "ilog2", "weibull", "pow3", "pow4", "loglog_linear", "mmf", "janoschek",
            "dr_hill", "log_power", "exp4")


class LCE(Rule):
    """Learning-curve extrapolation: stop when ``P(y(T) beats y_best) < delta``.

    With ``y_best`` the incumbent (``history.incumbent``: the best value reported so far, in
    the direction of ``mode``), after epoch ``t``:

    - no incumbent yet, ``t < min_epochs``, or a value of the curve so far already beats
      ``y_best`` (``> y_best``; ``< y_best`` in mode ``"min"``): continue;
    - otherwise fit the 11 families (vap, ilog2, weibull, pow3, pow4, loglog_linear, mmf,
      janoschek, dr_hill, log_power, exp4) to the observed epochs (recency-weighted least
      squares, Levenberg-Marquardt from the paper's fixed starting points), keep the fits
      whose value at ``T`` lies strictly inside ``(y_low, y_high)`` and is not below their
      value at epoch 2, and stop iff ``P(y(T) > y_best)`` is below ``delta``: the mean over
      the kept fits of what each one's profile likelihood at ``y_best`` gives (how much worse
      the family fits the curve when it is made to reach ``y_best`` at ``T``, docs/stopping.md);
      with no fit kept, continue.

    In mode ``"min"`` (losses) the curve and ``y_best`` are negated first (so "beats" is
    "smaller", and the families extrapolate the negated loss); ``[y_low, y_high]`` stays in the
    table's units (the loss at ``T``). Deterministic: no random numbers.

    Parameters
    ----------
    delta : float
        The probability below which the trial stops, in (0, 1) (default 0.05, the paper's).
    min_epochs : int
        Never stop before this epoch (>= 1; default 3: the families have 2-4 parameters).
    y_low, y_high : float
        The sanity range of a family's prediction at ``T``, in the table's units (the
        paper's ``[0, 100]``); ``y_low < y_high``, either may be infinite.
    mode : {"max", "min"}

    Examples
    --------
    >>> import numpy as np
    >>> from lcore.stopping import LCE, History
    >>> h = History(horizon=20, incumbent=0.9)
    >>> curve = 0.5 - 0.3 * 0.6 ** np.arange(1, 9)   # flattens out near 0.5
    >>> LCE().should_stop(curve, h)
    True
    """

    name = "lce"
    param_names = ("delta", "min_epochs", "y_low", "y_high")

    def __init__(self, delta: float = 0.05, min_epochs: int = 3, y_low: float = 0.0,
                 y_high: float = 100.0, mode: str = "max") -> None:
        self.mode = check_mode(mode)
        d = check_real(self._arg("delta"), delta, "a number in (0, 1)")
        if not 0.0 < d < 1.0:
            raise ValueError(f"{self._arg('delta')} must be a number in (0, 1), got {delta!r}")
        self.delta = d
        self.min_epochs = check_int(self._arg("min_epochs"), min_epochs, 1)
        self.y_low = check_real(self._arg("y_low"), y_low, "a real number (inf allowed)",
                                allow_inf=True)
        self.y_high = check_real(self._arg("y_high"), y_high, "a real number (inf allowed)",
                                 allow_inf=True)
        if not self.y_low < self.y_high:
            raise ValueError(
                f"rule 'lce': y_low must be < y_high (a fit is kept when its value at T lies "
                f"strictly between them), got y_low={self.y_low} >= y_high={self.y_high}"
            )

    def probability(self, curve, history) -> float:
        """The fast posterior's ``P(y(T) beats y_best)`` for ``curve`` (NaN: no incumbent or
        no family kept), ``y_best = history.incumbent``, ``T = history.horizon``.

        Parameters
        ----------
        curve : array_like, shape (t,)
        history : History

        Returns
        -------
        float
        """
        from lcore._core import _rule_lce

        inc = float(history.incumbent)
        c = np.ascontiguousarray(curve, dtype=np.float64)
        if inc != inc or c.shape[0] == 0:
            return math.nan
        return _rule_lce.prob(c, int(history.horizon), inc, 1 if self.mode == "max" else -1,
                              self.y_low, self.y_high)

    def should_stop(self, curve: np.ndarray, history) -> bool:
        t = len(curve)
        inc = float(history.incumbent)
        if inc != inc or t < self.min_epochs:
            return False
        c = np.ascontiguousarray(curve, dtype=np.float64)
        obs = c[~np.isnan(c)]
        if (obs > inc).any() if self.mode == "max" else (obs < inc).any():
            return False
        p = self.probability(c, history)
        return p == p and p < self.delta

    def _c_rule(self):
        return ("lce", [self.delta, self.min_epochs, self.y_low, self.y_high], None)
