"""Rung-based rules (successive halving, Hyperband, ASHA) of Optuna, Syne Tune and Ray Tune,
deciding exactly as the peers' own classes do on the same reports.

All four keep *rungs*: at a rung's level (a number of epochs) every trial that gets there
records one value, and a trial reaching the level is compared with the values recorded there
so far. The peers differ in the rung levels, their rounding, which trials share rungs
(brackets), whether the trial itself is in the comparison, the cutoff and ties; each class
states its variant. What is common to the replay's versions:

- Resource = epochs: the peer's ``step`` / ``time_attr`` / ``training_iteration`` is the epoch
  ``t`` (``1 .. T``) of lcore's curves; a decision is the peer's answer to the report of epoch
  ``t < T`` (lcore never asks at ``T``; a trial reaching ``T`` completes).
- Values are recorded as the peer records them: at the decision where the trial reaches the
  rung, from every trial (running, stopped, completed and failed trials alike), in the order
  the decisions happen.
- A trial's identity is its place in the start order (``history.current_trial``: the
  simulator's start counter, :class:`~lcore.stopping.Monitor`'s first-report order); it plays
  Optuna's ``trial.number`` (Hyperband's bracket hash) and the draw of Ray's and Syne Tune's
  bracket.
- These rules keep state: the recorded rung values live with the :class:`History` they are
  used with (a fresh History, e.g. each repeat of the simulator, starts empty). They need
  ``history.current_trial`` (set by the simulator and Monitor) and to be asked at every epoch
  ``t < T`` of every trial, as the peers are asked after every report.

Each has a C twin in the replay loop (csrc/lc_rule_rungs.c) that decides identically and keeps
the rungs incrementally (an order-statistic treap per rung: O(log n) per decision).

Peer versions read: optuna 5.0.0 (``optuna/pruners/_successive_halving.py``,
``_hyperband.py``), syne-tune 0.16.0 (``syne_tune/optimizer/schedulers/asha.py``), ray 2.60.0
(``ray/tune/schedulers/async_hyperband.py``).
"""

from __future__ import annotations

import binascii
import bisect
import math

import numpy as np

from lcore._checks import check_bool

from .base import COMPLETED, FAILED, RUNNING, Rule, check_int, check_mode, check_real

_M64 = (1 << 64) - 1


def _splitmix64(x: int) -> int:
    x = (x + 0x9E3779B97F4A7C15) & _M64
    z = x
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _M64
    return z ^ (z >> 31)


def bracket_uniform(seed: int, trial: int) -> float:
    """The replay's uniform draw in ``[0, 1)`` for the bracket of trial ``trial`` (start
    counter) under ``bracket_seed=seed``: ``(s(s(seed) + trial) >> 11) * 2**-53`` with ``s`` =
    splitmix64 (unsigned 64-bit arithmetic)."""
    return (_splitmix64((_splitmix64(seed) + trial) & _M64) >> 11) * (2.0 ** -53)


def numpy_linear_quantile(sorted_values: list, quantile: float) -> float:
    """NumPy's default ("linear") quantile of an ascending list, in NumPy's own arithmetic
    (``np.percentile(a, 100 * quantile)`` gives the same float): virtual index
    ``(n - 1) * quantile``, the value at the end when it is ``>= n - 1``, else the two-sided
    interpolation ``a + (b - a) * g`` (``g < 0.5``) or ``b - (b - a) * (1 - g)``."""
    n = len(sorted_values)
    v = (n - 1) * quantile
    if v >= n - 1:
        return sorted_values[n - 1]
    i = math.floor(v)
    a, b = sorted_values[i], sorted_values[i + 1]
    g = v - i
    d = b - a
    return b - d * (1 - g) if g >= 0.5 else a + d * g


class _RungRule(Rule):
    """State kept per History (the rung records) for the rung rules."""

    def _state(self, history) -> dict:
        i = history.current_trial
        if i < 0:
            raise ValueError(
                f"rule {self.name!r} records every trial's rung values by trial: it needs "
                "history.current_trial (the index of the trial being decided), which the "
                "simulator and Monitor set; got a History without it (current_trial = -1)"
            )
        cache = history._cache
        key = ("rung-state", id(self))
        ent = cache.get(key)
        if ent is None or ent[0] is not self:
            # after a copy or pickle of History and rule together the rule has a new id:
            # find its entry by identity (the copy keeps the rule and the entry together)
            ent = None
            for k in [k for k in cache if isinstance(k, tuple) and k[:1] == ("rung-state",)]:
                if cache[k][0] is self:
                    ent = cache.pop(k)
                elif k == key:
                    del cache[k]
            if ent is None:
                ent = (self, {"trials": {}, "rungs": {}})
            cache[key] = ent
        return ent[1]


# ---- Optuna ------------------------------------------------------------------------------

def _check_optuna_rf(rule: Rule, value) -> int:
    return check_int(rule._arg("reduction_factor"), value, 2)


def _optuna_promote(st: dict, key, trial_rec: list, v: float, t: int, steps, rf: int,
                    bootstrap: int, maximize: bool) -> bool:
    """Optuna's ``SuccessiveHalvingPruner.prune`` loop from the trial's current rung:
    ``steps(rung)`` the rung's promotion step. True = prune."""
    rung = len(trial_rec)
    while True:
        if t < steps(rung):
            return False
        trial_rec.append(v)
        lst = st["rungs"].setdefault((key, rung), [])
        bisect.insort(lst, v)                    # the competing values, the trial's included
        n = len(lst)
        if n <= bootstrap:
            return True
        idx = n // rf - 1
        if idx == -1:
            idx = 0
        if not (v >= lst[-(idx + 1)] if maximize else v <= lst[idx]):
            return True
        rung += 1


class OptunaSuccessiveHalving(_RungRule):
    """Optuna's ``SuccessiveHalvingPruner`` (asynchronous successive halving).

    Rung ``k`` of a trial is reached at step ``min_resource * reduction_factor **
    (min_early_stopping_rate + k)``. At a decision at epoch ``t`` the trial goes through its
    rungs from the next one it has not recorded: if ``t`` is below that rung's step, continue;
    otherwise record the trial's value at ``t`` there, take the *competing values* = the values
    recorded at that rung by every trial (any state), the trial's own included, ``n`` of them;
    stop if ``n <= bootstrap_count``; else with ``i = max(n // reduction_factor - 1, 0)``
    (``mode="max"``) stop unless the value is ``>=`` the ``(i+1)``-th largest competing value
    (``mode="min"``: ``<=`` the ``(i+1)``-th smallest), and go on to the next rung. So a trial
    passes a rung when it is in the top ``1/reduction_factor`` (at least the best) of the
    trials that reached it; ties pass.

    Replay equivalents: step = epoch. ``min_resource="auto"`` is Optuna's estimate from the
    first completed trial (``max(last_step // 100, 1)``, a completed trial's last step being
    ``T``): ``max(T // 100, 1)``; until a trial has completed the rule neither records nor
    stops (as Optuna). A trial that failed is Optuna's FAIL (not COMPLETE).

    Parameters
    ----------
    min_resource : "auto" or int
        Epochs of the first rung (>= 1) or "auto" (default).
    reduction_factor : int
        ``eta`` (>= 2; default 4).
    min_early_stopping_rate : int
        ``s`` (>= 0; default 0).
    bootstrap_count : int
        Stop a trial at a rung that fewer than ``bootstrap_count + 1`` trials reached (>= 0;
        default 0; needs an int ``min_resource``).
    mode : {"max", "min"}
        Optuna's direction ("maximize" / "minimize").
    """

    name = "optuna-sh"
    param_names = ("min_resource", "reduction_factor", "min_early_stopping_rate",
                   "bootstrap_count")

    def __init__(self, min_resource: str | int = "auto", reduction_factor: int = 4,
                 min_early_stopping_rate: int = 0, bootstrap_count: int = 0,
                 mode: str = "max") -> None:
        self.mode = check_mode(mode)
        if not (isinstance(min_resource, str) and min_resource == "auto"):
            min_resource = check_int(self._arg("min_resource"), min_resource, 1,
                                     desc=">= 1 or 'auto'")
        self.min_resource = min_resource
        self.reduction_factor = _check_optuna_rf(self, reduction_factor)
        self.min_early_stopping_rate = check_int(self._arg("min_early_stopping_rate"),
                                                 min_early_stopping_rate, 0)
        self.bootstrap_count = check_int(self._arg("bootstrap_count"), bootstrap_count, 0)
        if self.bootstrap_count > 0 and self.min_resource == "auto":
            raise ValueError(
                f"rule 'optuna-sh': bootstrap_count > 0 needs an int min_resource (Optuna "
                f"refuses it with 'auto'), got bootstrap_count={self.bootstrap_count} and "
                "min_resource='auto'"
            )

    def should_stop(self, curve: np.ndarray, history) -> bool:
        st = self._state(history)
        if self.min_resource == "auto":
            if len(history) == 0:            # no completed trial: Optuna cannot estimate it
                return False
            r = max(history.horizon // 100, 1)
        else:
            r = self.min_resource
        t = len(curve)
        rec = st["trials"].setdefault(history.current_trial, [])
        rf, s = self.reduction_factor, self.min_early_stopping_rate
        return _optuna_promote(st, 0, rec, float(curve[t - 1]), t,
                               lambda k: r * rf ** (s + k), rf, self.bootstrap_count,
                               self.mode == "max")

    def _c_rule(self):
        # values beyond these bounds decide alike (no rung level below T, every n // eta = 0)
        mr = 0 if self.min_resource == "auto" else min(self.min_resource, 2**31)
        return ("optuna-sh", [mr, min(self.reduction_factor, 2**31),
                              min(self.min_early_stopping_rate, 64),
                              min(self.bootstrap_count, 2**62)], None)


class OptunaHyperband(_RungRule):
    """Optuna's ``HyperbandPruner``: successive halving in brackets, a trial's bracket drawn
    from a hash of the study name and the trial number.

    With ``R = max_resource`` and ``r = min_resource``: ``n_brackets = floor(log(R / r,
    reduction_factor)) + 1`` (float64, ``math.log``); bracket ``b`` gets the budget
    ``ceil(n_brackets * reduction_factor**s / (s + 1))``, ``s = n_brackets - 1 - b``; trial
    ``n`` goes to the bracket where ``crc32(f"{study_name}_{n}") % sum(budgets)`` falls when
    the budgets are laid end to end. Bracket ``b`` is :class:`OptunaSuccessiveHalving` with
    ``min_resource=r``, ``min_early_stopping_rate=b``, the given ``reduction_factor`` and
    ``bootstrap_count``, its competing values those of the trials of the same bracket only.

    Replay equivalents: step = epoch; trial number = the trial's place in the start order
    (0-based); ``study_name`` is a parameter (Optuna's own default name is random) so the
    brackets are those Optuna picks for a study of that name. ``max_resource="auto"`` is
    Optuna's ``last_step + 1`` of the first completed trial, i.e. ``T + 1`` (Optuna counts
    steps from 0; lcore's epochs start at 1); until a trial has completed it neither records
    nor stops (as Optuna).

    Parameters
    ----------
    min_resource : int
        ``r`` (in [1, 2**31 - 1]; default 1).
    max_resource : "auto" or int
        ``R`` (in [min_resource, 2**31 - 1]; default "auto").
    reduction_factor : int
        ``eta`` (>= 2; default 3).
    bootstrap_count : int
        As in :class:`OptunaSuccessiveHalving` (>= 0; default 0; needs an int max_resource).
    study_name : str
        The study name hashed with the trial number (default "lcore").
    mode : {"max", "min"}
    """

    name = "optuna-hyperband"
    param_names = ("min_resource", "max_resource", "reduction_factor", "bootstrap_count",
                   "study_name")

    def __init__(self, min_resource: int = 1, max_resource: str | int = "auto",
                 reduction_factor: int = 3, bootstrap_count: int = 0,
                 study_name: str = "lcore", mode: str = "max") -> None:
        self.mode = check_mode(mode)
        self.min_resource = check_int(self._arg("min_resource"), min_resource, 1, 2**31 - 1)
        if not (isinstance(max_resource, str) and max_resource == "auto"):
            max_resource = check_int(
                self._arg("max_resource"), max_resource, self.min_resource, 2**31 - 1,
                desc=f"in [min_resource, 2**31 - 1] = [{self.min_resource}, {2**31 - 1}] "
                     "or 'auto'")
        self.max_resource = max_resource
        self.reduction_factor = _check_optuna_rf(self, reduction_factor)
        self.bootstrap_count = check_int(self._arg("bootstrap_count"), bootstrap_count, 0)
        if self.bootstrap_count > 0 and self.max_resource == "auto":
            raise ValueError(
                f"rule 'optuna-hyperband': bootstrap_count > 0 needs an int max_resource "
                f"(Optuna refuses it with 'auto'), got bootstrap_count={self.bootstrap_count} "
                "and max_resource='auto'"
            )
        if not isinstance(study_name, str):
            raise ValueError(
                f"rule 'optuna-hyperband': study_name must be a str, got {study_name!r}")
        self.study_name = study_name
        self._crc_prefix = binascii.crc32(f"{study_name}_".encode())

    def check(self, horizon: int) -> None:
        super().check(horizon)
        if self.max_resource == "auto" and self.min_resource > horizon + 1:
            raise ValueError(
                f"rule 'optuna-hyperband': min_resource must be <= max_resource = T + 1 = "
                f"{horizon + 1} (max_resource='auto'), got {self.min_resource}"
            )

    def _max_resource(self, horizon: int) -> int:
        return horizon + 1 if self.max_resource == "auto" else self.max_resource

    def budgets(self, horizon: int) -> list:
        """Optuna's trial allocation budget of each bracket for horizon ``T``."""
        R, r, eta = self._max_resource(horizon), self.min_resource, self.reduction_factor
        nb = math.floor(math.log(R / r, eta)) + 1
        return [math.ceil(nb * (eta ** (nb - 1 - b)) / (nb - 1 - b + 1)) for b in range(nb)]

    def bracket(self, trial: int, horizon: int) -> int:
        """The bracket of trial number ``trial`` (0-based start order), as Optuna's
        ``_get_bracket_id`` on a study named ``study_name``."""
        bud = self.budgets(horizon)
        n = binascii.crc32(f"{self.study_name}_{trial}".encode()) % sum(bud)
        for b, x in enumerate(bud):
            n -= x
            if n < 0:
                return b
        raise AssertionError("unreachable")  # pragma: no cover

    def should_stop(self, curve: np.ndarray, history) -> bool:
        st = self._state(history)
        if self.max_resource == "auto" and len(history) == 0:
            return False
        i = history.current_trial
        T = history.horizon
        b = st["trials"].get(("bracket", i))
        if b is None:
            b = st["trials"][("bracket", i)] = self.bracket(i, T)
        t = len(curve)
        rec = st["trials"].setdefault(i, [])
        r, rf = self.min_resource, self.reduction_factor
        return _optuna_promote(st, b, rec, float(curve[t - 1]), t,
                               lambda k: r * rf ** (b + k), rf, self.bootstrap_count,
                               self.mode == "max")

    def _c_rule(self):
        mx = 0 if self.max_resource == "auto" else self.max_resource
        return ("optuna-hyperband", [self.min_resource, mx, min(self.reduction_factor, 2**31),
                                     min(self.bootstrap_count, 2**62), self._crc_prefix], None)


# ---- Ray Tune and Syne Tune ASHA -----------------------------------------------------------

class _ASHA(_RungRule):
    """The rungs shared by Ray Tune's and Syne Tune's ASHA (both from Ray's code)."""

    _peer = ""
    _default_rf = 4.0

    def _common(self, max_t, grace_period, reduction_factor, brackets, bracket_seed, mode):
        self.mode = check_mode(mode)
        self.max_t = check_int(self._arg("max_t"), max_t, 1)
        self.grace_period = check_int(self._arg("grace_period"), grace_period, 1, self.max_t,
                                      desc=f"in [1, max_t] = [1, {self.max_t}]")
        self.reduction_factor = check_real(self._arg("reduction_factor"), reduction_factor,
                                           "a finite real number > 1", low=1.0, low_open=True)
        self.brackets = check_int(self._arg("brackets"), brackets, 1, 10**6)
        self.bracket_seed = check_int(self._arg("bracket_seed"), bracket_seed, 0, 2**53 - 1)
        # the peers' rung count of bracket s is int(x - s + 1), x in NumPy float64
        self._x = float(np.log(self.max_t / self.grace_period) / np.log(self.reduction_factor))
        sizes = [max(int(self._x - s + 1), 0) for s in range(self.brackets)]
        top = max(sizes)
        probs = [math.exp(z - top) for z in sizes]
        total = 0.0
        for p in probs:
            total += p
        cdf, c = [], 0.0
        for p in probs:
            c += p / total
            cdf.append(c)
        self._sizes = sizes
        self._cdf = cdf

    def bracket_probabilities(self) -> np.ndarray:
        """The probability of each bracket: ``e**(size_b - max size)`` normalised, ``size_b``
        the number of rungs of bracket ``b`` (the peer's ``np.random.choice`` weights)."""
        return np.diff(np.concatenate([[0.0], self._cdf]))

    def bracket(self, trial: int) -> int:
        """The replay's bracket of trial ``trial`` (start order): the first ``b`` with
        ``u < cdf[b]`` (``u`` = :func:`bracket_uniform`, ``cdf`` the left-to-right cumulative
        of :meth:`bracket_probabilities`; the last bracket if none)."""
        if self.brackets == 1:
            return 0
        u = bracket_uniform(self.bracket_seed, trial)
        return min(bisect.bisect_right(self._cdf, u), self.brackets - 1)  # first u < cdf[b]

    def milestones(self, s: int) -> list:
        """Rung levels of bracket ``s``, highest first (the peer's ``min_t * rf ** (k + s)``)."""
        n = self._sizes[s]
        return [self.grace_period * self.reduction_factor ** (k + s)
                for k in reversed(range(n))]

    def _rungs_of(self, st: dict, s: int) -> list:
        m = st["rungs"].get(("milestones", s))
        if m is None:
            m = st["rungs"][("milestones", s)] = self.milestones(s)
        return m

    def _trial(self, st: dict, i: int) -> tuple:
        tr = st["trials"].get(i)
        if tr is None:
            tr = st["trials"][i] = (self.bracket(i), set())
        return tr

    def _on_result(self, st: dict, i: int, t: int, reward: float) -> bool:
        """The peer's ``Bracket.on_result``: records at most one rung; True = stop."""
        s, done = self._trial(st, i)
        for k, milestone in zip(reversed(range(self._sizes[s])), self._rungs_of(st, s)):
            if t >= milestone and k in done and self._break_on_recorded():
                break
            if t < milestone or k in done:
                continue
            lst = st["rungs"].setdefault((s, k), [])
            stop = self._cut(lst, reward)
            bisect.insort(lst, reward)
            done.add(k)
            return stop
        return False

    def _catch_up(self, st: dict, history) -> None:
        """Give the trials that ended since the last decision to the peer's end-of-trial
        hooks (:meth:`_on_end`), in index order (the order does not change what is
        recorded)."""
        open_ = st.setdefault("open", set())
        n = history.n_trials
        seen = st.get("seen", 0)
        open_.update(range(seen, n))
        st["seen"] = n
        states = history.trial_states
        for j in sorted(open_):
            if states[j] != RUNNING and j != history.current_trial:
                open_.discard(j)
                e = int(history.trial_epochs[j])
                if e > 0 and states[j] != FAILED:
                    y = float(history.trial_curves[j, e - 1])
                    self._on_end(st, j, e, y if self.mode == "max" else -y,
                                 states[j] == COMPLETED, history.horizon)

    def should_stop(self, curve: np.ndarray, history) -> bool:
        st = self._state(history)
        self._catch_up(st, history)
        i = history.current_trial
        t = len(curve)
        reward = float(curve[t - 1]) if self.mode == "max" else -float(curve[t - 1])
        if self._stop_at_max_t() and t >= self.max_t:
            return True
        return self._on_result(st, i, t, reward)

    def _c_rule(self):
        return (self.name, [min(self.max_t, 2**62), min(self.grace_period, 2**62),
                            self.reduction_factor, self.brackets, self._flag(),
                            self.bracket_seed, self._x], None)


class RayASHA(_ASHA):
    """Ray Tune's ``ASHAScheduler`` (``AsyncHyperBandScheduler``), its stopping decisions.

    Bracket ``s`` has ``int(log(max_t / grace_period) / log(reduction_factor) - s + 1)`` rungs
    (NumPy float64 logs) at ``grace_period * reduction_factor ** (k + s)`` epochs. At epoch
    ``t``: stop if ``t >= max_t`` (with ``stop_last_trials``); otherwise go through the
    trial's bracket's rungs from the highest: skip a rung above ``t``; at a rung ``<= t`` the
    trial already recorded, continue to the next lower one (with ``stop_last_trials=False``:
    continue the trial, nothing more); at the first rung ``<= t`` it has not recorded: stop if
    the value is strictly below the ``(1 - 1/reduction_factor)`` quantile (NumPy's linear
    ``nanpercentile``) of the values the *other* trials recorded there (none: continue), then
    record the value there; one rung per decision. ``mode="min"`` compares ``-value`` (Ray's
    ``metric_op``).

    Replay equivalents: ``time_attr`` = epochs (``training_iteration``), so ``max_t`` and
    ``grace_period`` are in epochs. Ray draws a trial's bracket with ``np.random.choice``
    (weights ``e**(rungs of the bracket)``); the replay draws it with the same weights from
    ``bracket_seed`` and the trial's start counter (:meth:`bracket`). The end of a trial goes
    to the rung bookkeeping as Ray's controller passes it (``on_result`` records, its answer
    unused): a trial stopped at epoch ``t`` once with its value at ``t``
    (``on_trial_complete``); a completed trial twice with its value at ``T`` (its last
    ``on_trial_result``, no record when ``T >= max_t`` with ``stop_last_trials``, then
    ``on_trial_complete``); a failed trial not at all (``on_trial_error``). This matters when
    two rung levels fall between consecutive epochs (``grace_period * (reduction_factor - 1)
    < 1``): a rung the trial skipped is then filled.

    Parameters
    ----------
    max_t : int
        Stop trials at this epoch (>= 1; default 100, Ray's).
    grace_period : int
        Epochs of the first rung (in [1, max_t]; default 1).
    reduction_factor : float
        ``> 1`` (default 4).
    brackets : int
        Number of brackets (in [1, 10**6]; default 1).
    stop_last_trials : bool
        Ray's flag (default True).
    bracket_seed : int
        Seed of the replay's bracket draw (in [0, 2**53 - 1]; default 0; used when
        ``brackets > 1``).
    mode : {"max", "min"}
    """

    name = "ray-asha"
    param_names = ("max_t", "grace_period", "reduction_factor", "brackets",
                   "stop_last_trials", "bracket_seed")

    def __init__(self, max_t: int = 100, grace_period: int = 1, reduction_factor: float = 4,
                 brackets: int = 1, stop_last_trials: bool = True, bracket_seed: int = 0,
                 mode: str = "max") -> None:
        self._common(max_t, grace_period, reduction_factor, brackets, bracket_seed, mode)
        self.stop_last_trials = check_bool(self._arg("stop_last_trials"), stop_last_trials)

    def _stop_at_max_t(self) -> bool:
        return self.stop_last_trials

    def _break_on_recorded(self) -> bool:
        return not self.stop_last_trials

    def _flag(self) -> int:
        return int(self.stop_last_trials)

    _c_rule = _ASHA._c_rule

    def _on_end(self, st: dict, i: int, t: int, reward: float, completed: bool,
                T: int) -> None:
        # a completed trial's last result goes through on_trial_result (no record when it
        # is stopped at max_t), then on_trial_complete; a stopped one through
        # on_trial_complete (Ray's stop_trial)
        if completed and not (self.stop_last_trials and t >= self.max_t):
            self._on_result(st, i, t, reward)
        self._on_result(st, i, t, reward)

    def _cut(self, lst: list, reward: float) -> bool:
        if not lst:
            return False
        q = (1 - 1 / self.reduction_factor) * 100 / 100
        return reward < numpy_linear_quantile(lst, q)


class SyneTuneASHA(_ASHA):
    """Syne Tune's ASHA (``AsynchronousSuccessiveHalving``; the ``ASHA`` baseline), its
    stopping decisions.

    The rungs are Ray's (Syne Tune's code is adapted from it): bracket ``s`` has
    ``int(log(max_t / grace_period) / log(reduction_factor) - s + 1)`` rungs at ``grace_period
    * reduction_factor ** (k + s)`` epochs. At epoch ``t``: stop if ``t >= max_t``; otherwise
    at the highest rung ``<= t`` the trial has not recorded (rungs it recorded are skipped):
    if no trial recorded there yet, continue; else rank the trial among the values recorded
    there *and its own*: ``rank = (number strictly better) / (n others + 1)`` (NumPy
    ``searchsorted`` on the sorted values), stop if ``rank > 1 / reduction_factor``; then record
    the value. Ties are not "better". One rung per decision.

    Replay equivalents: ``time_attr`` = epochs; ``max_t``, ``grace_period`` in epochs; the
    bracket draw (``np.random.choice`` in Syne Tune) is the replay's, from ``bracket_seed`` (as
    :class:`RayASHA`); Syne Tune's ``do_minimize`` is ``mode="min"``. End of a trial, as Syne
    Tune's ``Tuner`` passes it: a completed trial's value at ``T`` goes through
    ``on_trial_result`` (which stops it without a record when ``T >= max_t``) and, unless that
    said stop, ``on_trial_complete``, each recording as at a decision; a stopped trial is only
    removed (``on_trial_remove``), a failed one recorded nowhere (``on_trial_error``).

    Parameters
    ----------
    max_t : int
        Stop trials at this epoch (>= 1; default 100, Syne Tune's).
    grace_period : int
        In [1, max_t] (default 1).
    reduction_factor : float
        ``> 1`` (default 3).
    brackets : int
        In [1, 10**6] (default 1).
    bracket_seed : int
        As in :class:`RayASHA`.
    mode : {"max", "min"}
    """

    name = "synetune-asha"
    param_names = ("max_t", "grace_period", "reduction_factor", "brackets", "bracket_seed")

    def __init__(self, max_t: int = 100, grace_period: int = 1, reduction_factor: float = 3,
                 brackets: int = 1, bracket_seed: int = 0, mode: str = "max") -> None:
        self._common(max_t, grace_period, reduction_factor, brackets, bracket_seed, mode)

    def _stop_at_max_t(self) -> bool:
        return True

    def _break_on_recorded(self) -> bool:
        return False

    def _flag(self) -> int:
        return 2

    _c_rule = _ASHA._c_rule

    def _on_end(self, st: dict, i: int, t: int, reward: float, completed: bool,
                T: int) -> None:
        # a completed trial's last result goes through on_trial_result (stopped at max_t:
        # no record, and then no on_trial_complete), then on_trial_complete unless
        # on_trial_result said stop; a stopped trial is only removed (on_trial_remove)
        if completed and t < self.max_t and not self._on_result(st, i, t, reward):
            self._on_result(st, i, t, reward)

    def _cut(self, lst: list, reward: float) -> bool:
        if not lst:
            return False
        better = len(lst) - bisect.bisect_right(lst, reward)   # others strictly better
        return better / (len(lst) + 1) > 1 / self.reduction_factor
