"""A slow, obvious, pure-Python replay of lcore's semantics (no lcore.replay code).

It is the test oracle for lcore's C replay loop and must stay independent of it: it is written
from the description of the replay alone (one repeat, W workers, rules that see every trial
with its state, tables of accuracies or losses), with no code shared with the engine.

It shares only the random stream with lcore: ``lcore._rng.PyRng`` is the pure-Python
xoshiro256** that mirrors the C generator draw for draw (tests/test_rng.py checks it), so
that both sides draw the same rows.  Draw protocol (documented in csrc/lc_replay.h):
a random pick is ``k = rng.bounded(#candidates)`` -> the k-th candidate in row order; an
rf-ei pick draws ``seed64 = rng.next()`` for the forest, then at most one
``rng.bounded(#ties)`` among exactly tied best EI values.

One repeat, as simulated here
-----------------------------
- Trials get a start counter 0, 1, 2, ... in the order they start.  At time 0 the workers
  0 .. W-1 are filled one after another.  Rows already started are not candidates.
- A row x started at time s finishes epoch t at ``e_t = e_(t-1) + float64(time[x, t-1])``
  (``e_0 = s``).  Each running trial's next epoch end is its pending event; every step takes
  the running trial with the smallest ``(e_t, start counter)`` (a plain scan of a list).
- At the event of epoch t the value ``acc[x, t-1]`` joins the trial's curve.  If t < T the
  rule is asked (the trial's curve, t, and every trial so far in start order with its curve
  and state "running", "stopped", "completed" or "failed").  Stop: the trial ends "stopped".
  Otherwise it ends when t is its last finished epoch: "completed" if t == T, else "failed".
- A row with no finished epoch ends at once when it starts, before any other worker is
  filled or any event is processed; it reports 0 and its state is "failed".
- Ending: the report is the last observed value (0 with none on an accuracy table; on a
  loss table, "min", nothing: NaN, kept from the surrogate, never a goal); the surrogate's
  data get it
  (``terminated="report"``), nothing for a stopped row (``"exclude"``), or the row's
  objective for a stopped row (``"oracle"``).  The first report that reaches the goal
  (``>= goal`` in mode "max", ``<= goal`` in mode "min") ends the run; it is a success iff its
  time is ``<= max_time``.  Otherwise the freed worker is refilled at the same time if fewer
  than ``max_evals`` rows have started, a candidate remains and the time is ``< max_time``.
  The run ends when nothing runs; trials still running when it ends are dropped (end and
  reported NaN, state left "running").
- ETR-2's "best completed trial" is the first trial, in the order trials completed, whose
  final value is the best: a later completed trial replaces it only when strictly better.
"""

from __future__ import annotations

import math
import statistics

import numpy as np

from lcore._rng import PyRng

INV_SQRT2 = 0.70710678118654752440
INV_SQRT2PI = 0.39894228040143267794

STATES = ("running", "stopped", "completed", "failed")


# ---- built-in rules --------------------------------------------------------------------------
# Each gets (curve, t, trials, best_completed, T, mode, **params): curve = the asking trial's
# observed values (t of them), trials = every trial so far in start order as dicts with
# "curve" and "state", best_completed = the curve of ETR-2's reference trial or None.

def _none(curve, t, trials, best_completed, T, mode):
    return False


def _etr1(curve, t, trials, best_completed, T, mode, tau, r=None, eps=None):
    if mode == "max":
        r = 0.1 if r is None else r
        eps = 0.05 if eps is None else eps
        return t == tau and curve[t - 1] < r + eps
    if r is None or eps is None:
        raise ValueError("etr1 on a 'min' table needs r and eps given explicitly")
    return t == tau and curve[t - 1] > r - eps


def _etr2(curve, t, trials, best_completed, T, mode, p, q=0.75):
    c = best_completed
    if c is None:
        return False
    tau = 1
    for i in range(1, T + 1):
        if mode == "max":
            if c[i - 1] <= q * c[T - 1]:
                tau = i
        elif q * c[i - 1] >= c[T - 1]:
            tau = i
    if t != tau:
        return False
    if mode == "max":
        return curve[t - 1] < p * c[tau - 1]
    return p * curve[t - 1] > c[tau - 1]


def _median(curve, t, trials, best_completed, T, mode, min_completed=1, warmup=1):
    completed = [tr["curve"] for tr in trials if tr["state"] == "completed"]
    if t < warmup or len(completed) < min_completed or not completed:
        return False
    avgs = []
    for c in completed:
        s = 0.0
        for i in range(t):
            s += c[i]
        avgs.append(s / t)
    med = statistics.median(avgs)
    if mode == "max":
        return max(curve[:t]) < med
    return min(curve[:t]) > med


RULES = {"none": _none, "etr1": _etr1, "etr2": _etr2, "median": _median}


def _ei(mean, var, best, xi, mode):
    """Expected improvement of one candidate; in mode "min" it is EI on negated values."""
    mu, sd = float(mean), math.sqrt(float(var))
    if mode == "min":
        mu, best = -mu, -best
    imp = mu - best - xi
    if sd == 0.0:
        return max(imp, 0.0)
    # the formula of docs/semantics.md, with the float operations in the order lcore's C code
    # uses, so that
    # candidates whose EI differ by an ulp rank the same way
    z = imp / sd
    cdf = 0.5 * math.erfc(-z * INV_SQRT2)
    pdf = math.exp(-0.5 * z * z) * INV_SQRT2PI
    return imp * cdf + sd * pdf


def reference_replay(acc, time, unit, state, goal, rule="none", rule_params=None,
                     chooser="random", n_init=1, max_evals=None, max_time=math.inf,
                     terminated="report", objective="final", forest=None, xi=0.0,
                     n_workers=1, mode="max"):
    """One repeat of the replay with ``n_workers`` workers, simulated event by event.

    Parameters
    ----------
    acc, time : array_like, shape (n, T)
        The table's values (accuracies for ``mode="max"``, losses for ``"min"``) and epoch
        times in seconds; NaN values after a failed row's last finished epoch.
    unit : array_like, shape (n, d) or None
        Features for the rf-ei surrogate.
    state : array_like, shape (4,) uint64
        The repeat's generator state.
    goal : float
        The resolved goal (top-P% goals are resolved by the caller).
    rule : str or callable
        A built-in rule name ("none", "etr1", "etr2", "median", with ``rule_params``) or a user
        rule ``fn(curve, t, trials) -> bool``; ``trials`` is a list of ``(curve_so_far,
        state)`` for every trial so far in start order, the asking trial included as
        "running".
    chooser : {"random", "rf-ei"} or sequence of int
        A sequence is a fixed preference order (for hand-made tests): after the first
        ``n_init`` (random) choices, the first row of it that is still a candidate; no draw.
    forest : callable, optional
        ``forest(X, y, seed64) -> (mean, var)``, each of shape (n,), over all rows (rf-ei).
    n_workers : int
        Number of workers W.
    mode : {"max", "min"}
        The table's direction.

    Returns
    -------
    dict
        Per started row in start order: "rows" (also as "row"), "worker", "start", "end"
        (NaN for a dropped row), "clock" (= "end"), "epochs", "stopped", "reported" (NaN for
        a dropped row), "state"; and "success", "time_to_goal" (inf when censored), "n_evaluated",
        "n_stopped", "n_harmful", "epochs_trained", "best_acc" (best reported value in the
        table's direction; -inf / inf with no report).
    """
    if mode not in ("max", "min"):
        raise ValueError(f"mode must be 'max' or 'min', got {mode!r}")
    acc = np.asarray(acc, dtype=np.float32)
    time = np.asarray(time, dtype=np.float32)
    n, T = acc.shape
    rp = dict(rule_params or {})
    if callable(rule):
        user_rule, rule_fn = rule, None
    else:
        user_rule, rule_fn = None, RULES[rule]
    max_evals = n if max_evals is None else max_evals
    W = int(n_workers)

    def better(a, b):
        return a > b if mode == "max" else a < b

    def reaches(v):
        return v >= goal if mode == "max" else v <= goal

    finished = [int(np.sum(~np.isnan(acc[i]))) for i in range(n)]
    if objective == "final":
        obj = [float(acc[i, T - 1]) for i in range(n)]
    elif mode == "max":
        obj = [float(np.nanmax(acc[i])) if finished[i] else math.nan for i in range(n)]
    else:
        obj = [float(np.nanmin(acc[i])) if finished[i] else math.nan for i in range(n)]

    rng = PyRng(state)
    candidates = list(range(n))
    seen_x, seen_y = [], []     # the surrogate's data
    reports = []                # every reported value, in event order
    trials = []                 # every started trial, in start order
    running = []                # the trials being trained
    best_completed = None       # ETR-2's reference trial
    res = {"success": False, "time_to_goal": math.inf, "n_stopped": 0, "n_harmful": 0,
           "epochs_trained": 0, "done": False}

    def choose():
        if len(trials) >= n_init and not isinstance(chooser, str):
            return next(i for i in chooser if i in candidates)
        if len(trials) < n_init or chooser == "random" or len(seen_y) < 2:
            return candidates[rng.bounded(len(candidates))]
        seed64 = rng.next()
        mean, var = forest(np.asarray(unit)[seen_x], np.asarray(seen_y), seed64)
        best = reports[0]
        for v in reports:
            if better(v, best):
                best = v
        ei = {i: _ei(mean[i], var[i], best, xi, mode) for i in candidates}
        top = max(ei.values())
        tied = [i for i in candidates if ei[i] == top]
        return tied[rng.bounded(len(tied))] if len(tied) > 1 else tied[0]

    def end(tr, state, now):
        """End a trial at ``now``; report it; say whether the run ends here."""
        nonlocal best_completed
        tr["state"], tr["end"] = state, now
        if tr["curve"]:
            value = tr["curve"][-1]
        else:  # no finished epoch: accuracy 0; a loss table has nothing to report
            value = 0.0 if mode == "max" else math.nan
        tr["reported"] = value
        if value == value:
            reports.append(value)
        row = tr["row"]
        stopped = state == "stopped"
        if stopped:
            res["n_stopped"] += 1
            res["n_harmful"] += bool(reaches(obj[row]))
        if not (stopped and terminated == "exclude") and value == value:
            y = value
            if stopped and terminated == "oracle" and math.isfinite(obj[row]):
                y = obj[row]
            seen_x.append(row)
            seen_y.append(y)
        if state == "completed" and (
                best_completed is None or better(tr["curve"][T - 1], best_completed[T - 1])):
            best_completed = list(tr["curve"])
        if reaches(value):
            if now <= max_time:
                res["success"], res["time_to_goal"] = True, now
            return True
        return False

    def fill(worker, now):
        """Start rows on ``worker`` at ``now`` until one trains; say whether the run ends."""
        while len(trials) < max_evals and candidates and now < max_time:
            row = choose()
            candidates.remove(row)
            tr = {"row": row, "worker": worker, "start": now, "end": math.nan, "curve": [],
                  "state": "running", "reported": math.nan, "counter": len(trials)}
            trials.append(tr)
            if finished[row] == 0:
                if end(tr, "failed", now):
                    return True
                continue
            tr["next"] = now + float(time[row, 0])
            running.append(tr)
            return False
        return False

    def ask_rule(tr, t):
        if user_rule is not None:
            hist = [(list(o["curve"]), o["state"]) for o in trials]
            out = user_rule(list(tr["curve"]), t, hist)
            if not isinstance(out, (bool, np.bool_)):
                raise TypeError(f"user rule returned {out!r}, not a bool")
            return bool(out)
        return bool(rule_fn(tr["curve"], t, trials, best_completed, T, mode, **rp))

    done = False
    for w in range(W):
        if fill(w, 0.0):
            done = True
            break
    while running and not done:
        tr = min(running, key=lambda o: (o["next"], o["counter"]))
        now = tr["next"]
        row = tr["row"]
        t = len(tr["curve"]) + 1
        tr["curve"].append(float(acc[row, t - 1]))
        res["epochs_trained"] += 1
        if t < T and ask_rule(tr, t):
            state = "stopped"
        elif t == finished[row]:
            state = "completed" if t == T else "failed"
        else:
            tr["next"] = now + float(time[row, t])
            continue
        running.remove(tr)
        done = end(tr, state, now) or fill(tr["worker"], now)

    out = {
        "rows": [tr["row"] for tr in trials],
        "row": [tr["row"] for tr in trials],
        "worker": [tr["worker"] for tr in trials],
        "start": [tr["start"] for tr in trials],
        "end": [tr["end"] for tr in trials],
        "clock": [tr["end"] for tr in trials],
        "epochs": [len(tr["curve"]) for tr in trials],
        "stopped": [tr["state"] == "stopped" for tr in trials],
        "reported": [tr["reported"] for tr in trials],
        "state": [tr["state"] for tr in trials],
    }
    best = -math.inf if mode == "max" else math.inf
    for v in reports:
        if better(v, best):
            best = v
    out.update(success=res["success"], time_to_goal=res["time_to_goal"],
               n_evaluated=sum(tr["state"] != "running" for tr in trials),
               n_stopped=res["n_stopped"],
               n_harmful=res["n_harmful"], epochs_trained=res["epochs_trained"], best_acc=best)
    return out
