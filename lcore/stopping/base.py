"""The rule interface (:class:`Rule`) and the completed-curve history the rules read.

Conventions shared by every rule (and by the simulator's C twins of the built-ins):

- A *curve* is a 1-D float64 array of a trial's values at epochs ``1 .. t``
  (``t = len(curve)``); ``curve[i - 1]`` is the value after epoch ``i``. The last entry
  ``curve[t - 1]`` is the value just observed and is finite. Earlier entries may be NaN:
  an epoch the trial did not report (a gap). A rule is asked only after an epoch
  ``t < T`` (``T`` = the horizon); it is never asked at ``T``.
- The *decision epoch* of a rule that decides at one epoch ``tau`` (ETR-1, ETR-2) is the
  first observed epoch ``t >= tau``: the rule may stop at ``t`` only when
  ``prev < tau <= t``, where ``prev`` is the previous observed epoch of the curve (the largest
  ``i < t`` with a finite ``curve[i - 1]``, 0 if none). For a curve without gaps
  ``prev == t - 1``, so this is exactly "at ``t == tau``" of docs/semantics.md.
- ``mode="max"``: larger values are better (accuracy); ``mode="min"``: smaller values are better
  (loss, error rate). Each rule documents its ``"min"`` form as an explicit inequality.
- Comparisons are strict exactly where the definitions write them strict; every threshold is
  computed in float64 in the order written (e.g. ``r + eps``, ``p * y``), so a C twin that
  evaluates the same expressions in double precision (without fused multiply-add) decides
  identically.
"""

from __future__ import annotations

import abc
import bisect
import inspect
import math
import numbers
from typing import Any

import numpy as np

from lcore._checks import check_int, check_real, is_int  # noqa: F401 - re-exported

inspect_empty = inspect.Parameter.empty

MODES = ("max", "min")

#: states of a trial in :attr:`History.trial_states`
RUNNING, STOPPED, COMPLETED, FAILED = 0, 1, 2, 3
TRIAL_STATES = ("running", "stopped", "completed", "failed")


def check_mode(mode: Any) -> str:
    """Return ``mode`` if it is ``"max"`` or ``"min"``; raise ValueError otherwise."""
    if not isinstance(mode, str) or mode not in MODES:
        raise ValueError(f"mode must be 'max' or 'min', got {mode!r}")
    return mode


def check_horizon(horizon: Any) -> int:
    """Validate the horizon ``T`` (an int >= 1)."""
    return check_int("horizon", horizon, 1)


class Rule(abc.ABC):
    """Base class of the stopping rules.

    A rule is a pure decision on arrays: :meth:`should_stop` looks at the trial's curve so far
    and at a :class:`History` of completed curves, and answers whether to stop the trial now.
    Subclass it (or write any object with ``should_stop``, ``check`` and ``mode``) to bring
    your own rule to :class:`~lcore.stopping.Monitor`, the Optuna pruner or the simulator.

    Attributes
    ----------
    name : str
        ``"none"``, ``"etr1"``, ``"etr2"``, ``"median"`` for the built-ins (the simulator maps a
        built-in to its C twin by this name and the plain parameter attributes), ``"custom"``
        for user rules.
    mode : {"max", "min"}
        Whether larger (``"max"``) or smaller (``"min"``) values are better.
    """

    name: str = "custom"
    mode: str = "max"
    #: names of the parameters (plain attributes), in constructor order
    param_names: tuple = ()

    @abc.abstractmethod
    def should_stop(self, curve: np.ndarray, history: History) -> bool:
        """Whether to stop the trial after epoch ``t = len(curve)``.

        Parameters
        ----------
        curve : ndarray, shape (t,), float64
            The trial's values at epochs ``1 .. t``; ``curve[t-1]`` is finite, earlier NaN
            entries are epochs the trial did not report. Asked only for ``1 <= t < T``.
        history : History
            Completed curves (trials that reached the horizon ``T``), the horizon and the
            incumbent.

        Returns
        -------
        bool
        """

    def check(self, horizon: int) -> None:
        """Raise ValueError if the rule's parameters do not fit the horizon ``T``."""
        check_horizon(horizon)

    @classmethod
    def param_defaults(cls) -> dict:
        """The constructor's parameters and their defaults (``inspect.Parameter.empty`` for a
        required one), in order, ``mode`` included."""
        import inspect

        sig = inspect.signature(cls.__init__)
        return {k: p.default for k, p in list(sig.parameters.items())[1:]
                if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}

    @property
    def label(self) -> str:
        """A short name: ``name(param=value, ...)`` with the parameters that differ from their
        defaults (``mode`` shown when it is not ``"max"``), e.g. ``"etr1(tau=1)"``."""
        defaults = type(self).param_defaults()
        # compare with the rule built from as little as it needs: its required parameters
        # and its mode, plus (when that is not enough, e.g. ETR-1's r in "min" mode) the
        # parameters whose default is None; the parameters it needs are always shown
        ref, given = {}, set()
        for extra in ((), tuple(k for k, d in defaults.items() if d is None)):
            given = {k for k, d in defaults.items() if d is inspect_empty} | set(extra)
            kw = {k: getattr(self, k) for k in given if k != "mode"}
            if "mode" in defaults:
                kw["mode"] = self.mode
            try:
                ref = type(self)(**kw).params
                break
            except Exception:  # noqa: BLE001 - a constructor that differs: show everything
                ref = {}
        shown = {k: v for k, v in self.params.items() if k != "mode"
                 and ((k in given and v != defaults.get(k)) or k not in ref or ref[k] != v)}
        if self.params.get("mode", "max") != "max":
            shown["mode"] = self.params["mode"]
        if not shown:
            return str(self.name)
        return f"{self.name}(" + ", ".join(f"{k}={v}" for k, v in shown.items()) + ")"

    @property
    def params(self) -> dict:
        """The rule's parameters as a dict (``mode`` included)."""
        out = {k: getattr(self, k) for k in self.param_names}
        out["mode"] = self.mode
        return out

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{type(self).__name__}({args})"

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self.params == other.params

    def __hash__(self) -> int:
        return hash((type(self).__name__, tuple(self.params.items())))

    #: True for a rule whose decisions do not depend on the direction (``"none"``, a fixed
    #: threshold): it runs on tables of either mode whatever its ``mode``
    mode_free: bool = False

    def _arg(self, param: str) -> str:
        """How errors name a parameter: ``"rule 'optuna-median': n_warmup_steps"`` (pass it as
        the ``name`` of the checks in :mod:`lcore._checks`)."""
        return f"rule {self.name!r}: {param}"

    def _c_rule(self):
        """The rule's C twin in the replay loop: ``(name, params, inner)`` -- the name in
        csrc/lc_rules.c's registry, the parameter vector (floats; NaN for "no value") and the
        rule it wraps (or None). The simulator uses it only for rules whose own class defines
        this method (a subclass that overrides :meth:`should_stop` runs in Python), and must
        get the same decisions as :meth:`should_stop` from it."""
        return None

    # Online fast path used by Monitor for the built-ins: ``t`` the epoch just observed,
    # ``prev`` the previous observed epoch (0 if none), ``value`` the finite value at ``t``,
    # ``best`` the best observed value so far (by mode, ``value`` included). Must decide
    # exactly as ``should_stop`` on the same curve. None: Monitor calls ``should_stop``.
    _online = None


def previous_observed(curve: np.ndarray, t: int) -> int:
    """The largest epoch ``i < t`` with a finite ``curve[i-1]`` (0 if none)."""
    i = t - 1
    while i >= 1 and curve[i - 1] != curve[i - 1]:  # NaN != NaN
        i -= 1
    return i


class History:
    """What a rule sees of the other trials: the completed curves (trials that reached the
    horizon, kept append-only), the incumbent, and a record of every trial so far with its
    curve and state (:attr:`trial_curves`, :attr:`trial_epochs`, :attr:`trial_states`; kept by
    the simulator, :class:`~lcore.stopping.Monitor` and the Optuna pruner).

    Rules read the completed curves through this object; it keeps, incrementally, what the
    built-in rules need so that a decision costs O(1) (median) or O(T) once per change of the
    best completed trial (ETR-2), however many trials completed:

    - per epoch ``t``, the sorted running averages ``(1/n_t) * sum_{i<=t} c^i`` of the completed
      curves (the sum taken left to right in float64 over the observed epochs; ``n_t`` of them;
      for a curve without gaps ``n_t = t``), and
    - the index of the best completed curve by final value, for each mode (ties: the earliest).

    Append rows with :meth:`append` (don't modify :attr:`completed` in place).

    Parameters
    ----------
    horizon : int
        ``T``, the number of epochs of a full trial.
    completed : array_like, shape (k, T), optional
        Curves of trials that ran to ``T``, in completion order. ``NaN`` marks an epoch that
        was not reported; the final value ``completed[:, T-1]`` must be finite.
    incumbent : float, optional
        Best final / reported value so far (NaN: none). When not given, the best final value
        of ``completed`` by ``mode``.
    mode : {"max", "min"}
        How :meth:`append` and :meth:`observe` update the incumbent.

    Attributes
    ----------
    completed : ndarray, shape (k, T), float64
        A read-only view of the completed curves, rows in completion order.
    horizon : int
    incumbent : float
    mode : str
    """

    __slots__ = (
        "horizon",
        "incumbent",
        "mode",
        "_buf",
        "_k",
        "_avg_sorted",
        "_best",
        "_cache",
        "_tcurves",
        "_tepochs",
        "_tstates",
        "_n_trials",
        "_external",
        "_current",
    )

    def __init__(
        self,
        horizon: int,
        completed: Any | None = None,
        incumbent: float | None = None,
        mode: str = "max",
    ) -> None:
        self.horizon = check_horizon(horizon)
        self.mode = check_mode(mode)
        self.incumbent = math.nan
        self._buf = np.empty((16, self.horizon), dtype=np.float64)
        self._k = 0
        self._avg_sorted = [[] for _ in range(self.horizon)]
        self._best = {"max": -1, "min": -1}
        self._cache: dict = {}
        self._tcurves = np.empty((0, self.horizon), dtype=np.float64)
        self._tepochs = np.empty(0, dtype=np.int32)
        self._tstates = np.empty(0, dtype=np.int8)
        self._n_trials = 0
        self._external = False
        self._current = -1
        if completed is not None:
            rows = np.asarray(completed, dtype=np.float64)
            if rows.ndim != 2 or rows.shape[1] != self.horizon:
                raise ValueError(
                    f"completed must be a 2-D array of shape (k, T) = (k, {self.horizon}), "
                    f"got shape {rows.shape}"
                )
            for row in rows:
                self.append(row)
        if incumbent is not None:
            if isinstance(incumbent, (bool, np.bool_)) or not isinstance(incumbent, numbers.Real):
                raise ValueError(f"incumbent must be a float (NaN: none), got {incumbent!r}")
            self.incumbent = float(incumbent)

    @property
    def completed(self) -> np.ndarray:
        view = self._buf[: self._k]
        view.flags.writeable = False
        return view

    def __len__(self) -> int:
        return self._k

    def __repr__(self) -> str:
        return (
            f"History(horizon={self.horizon}, k={self._k}, incumbent={self.incumbent!r}, "
            f"mode={self.mode!r})"
        )

    def append(self, curve: Any) -> None:
        """Append the curve of a trial that reached the horizon.

        Parameters
        ----------
        curve : array_like, shape (T,)
            Values at epochs ``1 .. T``; NaN for unreported epochs; ``curve[T-1]`` finite.
        """
        row = np.asarray(curve, dtype=np.float64)
        T = self.horizon
        if row.shape != (T,):
            raise ValueError(f"curve must have shape (T,) = ({T},), got {row.shape}")
        final = row[T - 1]
        if not math.isfinite(final):
            raise ValueError(
                f"curve[T-1] (the final value) must be finite for a completed trial, got {final}"
            )
        if np.isinf(row).any():
            raise ValueError("curve must hold finite values or NaN (unreported epochs), got inf")
        k = self._k
        if k == self._buf.shape[0]:
            grown = np.empty((2 * k, T), dtype=np.float64)
            grown[:k] = self._buf[:k]
            self._buf = grown
        self._buf[k] = row
        self._k = k + 1
        # Running averages: left-to-right float64 sums over observed epochs (np.cumsum is
        # sequential, adding 0.0 for a gap changes nothing), divided by the count observed.
        observed = ~np.isnan(row)
        sums = np.cumsum(np.where(observed, row, 0.0))
        counts = np.cumsum(observed)
        for t in range(T):
            n = int(counts[t])
            if n:
                bisect.insort(self._avg_sorted[t], float(sums[t] / n))
        # Best completed by final value; strict improvement keeps the earliest on ties.
        final = float(final)
        b = self._best["max"]
        if b < 0 or final > self._buf[b, T - 1]:
            self._best["max"] = k
        b = self._best["min"]
        if b < 0 or final < self._buf[b, T - 1]:
            self._best["min"] = k
        self.observe(final)

    def observe(self, value: float) -> None:
        """Update the incumbent with a reported value (NaN is ignored)."""
        value = float(value)
        if value != value:
            return
        inc = self.incumbent
        if inc != inc or (value > inc if self.mode == "max" else value < inc):
            self.incumbent = value

    # ----- every trial so far, with its state ---------------------------------------------
    @property
    def n_trials(self) -> int:
        """Number of trials recorded so far (running ones included), in start order."""
        return self._n_trials

    @property
    def trial_curves(self) -> np.ndarray:
        """Read-only (n_trials, T) float64: each trial's values so far, NaN where not observed.

        Rows are in start order; in the simulator the trial being decided is one of them
        (state ``RUNNING``)."""
        view = self._tcurves[: self._n_trials]
        view.flags.writeable = False
        return view

    @property
    def trial_epochs(self) -> np.ndarray:
        """Read-only (n_trials,) int32: the last epoch observed of each trial (0: none)."""
        view = self._tepochs[: self._n_trials]
        view.flags.writeable = False
        return view

    @property
    def trial_states(self) -> np.ndarray:
        """Read-only (n_trials,) int8: ``RUNNING`` (0), ``STOPPED`` (1), ``COMPLETED`` (2) or
        ``FAILED`` (3) for each trial (the module constants of the same names)."""
        view = self._tstates[: self._n_trials]
        view.flags.writeable = False
        return view

    @property
    def current_trial(self) -> int:
        """The index in the trial record of the trial being decided (-1: not known, e.g. a
        History built by hand or the Optuna pruner's, which records finished trials only).
        Set by the simulator and :class:`~lcore.stopping.Monitor` before each decision; a
        rule that compares a trial with the others uses it to leave the trial itself out (or
        to count it once)."""
        return self._current

    def add_trial(self) -> int:
        """Record a new running trial; returns its index (its place in start order)."""
        if self._external:
            raise RuntimeError("this History's trials are kept by the simulator")
        i = self._n_trials
        if i == self._tcurves.shape[0]:
            cap = max(16, 2 * i)
            for name, shape, dtype, fill in (
                ("_tcurves", (cap, self.horizon), np.float64, np.nan),
                ("_tepochs", (cap,), np.int32, 0),
                ("_tstates", (cap,), np.int8, RUNNING),
            ):
                grown = np.full(shape, fill, dtype=dtype)
                grown[:i] = getattr(self, name)[:i]
                setattr(self, name, grown)
        self._tcurves[i] = np.nan
        self._tepochs[i] = 0
        self._tstates[i] = RUNNING
        self._n_trials = i + 1
        return i

    def observe_trial(self, index: int, epoch: int, value: float) -> None:
        """Record trial ``index``'s value at ``epoch`` (1-based; NaN: a failed epoch)."""
        self._tcurves[index, epoch - 1] = value
        self._tepochs[index] = max(int(self._tepochs[index]), int(epoch))

    def end_trial(self, index: int, state: int) -> None:
        """Set the final state (``STOPPED``, ``COMPLETED`` or ``FAILED``) of trial ``index``."""
        if state not in (STOPPED, COMPLETED, FAILED):
            raise ValueError(
                f"state must be STOPPED (1), COMPLETED (2) or FAILED (3), got {state!r}"
            )
        self._tstates[index] = state

    def _attach_trials(self, curves: np.ndarray, epochs: np.ndarray, states: np.ndarray) -> None:
        # the simulator's own buffers (it updates them and ``_n_trials`` in place)
        self._tcurves, self._tepochs, self._tstates = curves, epochs, states
        self._n_trials = 0
        self._external = True

    # ----- statistics the built-in rules read -------------------------------------------
    def median_running_average(self, t: int) -> tuple:
        """``(m, n)``: the median over completed curves of their running average at epoch ``t``
        (NumPy's median: the mean ``(a + b) / 2`` of the two middle values when ``n`` is even)
        and the number ``n`` of curves with an observed epoch ``<= t``. ``m`` is NaN if
        ``n == 0``."""
        lst = self._avg_sorted[t - 1]
        n = len(lst)
        if n == 0:
            return math.nan, 0
        h = n // 2
        if n % 2:
            return lst[h], n
        return (lst[h - 1] + lst[h]) / 2, n

    def best_completed(self, mode: str = "max") -> int:
        """Row index of the completed curve with the best final value by ``mode`` (ties: the
        earliest completed), -1 if none."""
        return self._best[mode]


def as_history(history: Any) -> History:
    """``history`` itself if it is a :class:`History`; otherwise a History built from its
    ``completed``, ``horizon`` and ``incumbent`` attributes (slow: rebuilt on every call)."""
    if isinstance(history, History):
        return history
    completed = np.asarray(history.completed, dtype=np.float64)
    horizon = getattr(history, "horizon", completed.shape[1] if completed.ndim == 2 else None)
    return History(horizon, completed, incumbent=getattr(history, "incumbent", math.nan))
