"""A slow, pure-Python replay written from SPEC.md §3 alone (no lcore.replay code).

It shares only the random stream with lcore: ``lcore._rng.PyRng`` is the pure-Python
xoshiro256** that mirrors the C generator draw for draw (tests/test_rng.py checks it), so
that both sides draw the same rows.  Draw protocol (documented in csrc/lc_replay.h):
a random pick is ``k = rng.bounded(#candidates)`` -> the k-th candidate in row order; an
rf-ei pick draws ``seed64 = rng.next()`` for the forest, then at most one
``rng.bounded(#ties)`` among exactly tied best EI values.
"""

from __future__ import annotations

import math
import statistics

import numpy as np

from lcore._rng import PyRng

INV_SQRT2 = 0.70710678118654752440
INV_SQRT2PI = 0.39894228040143267794


def _etr1(curve, t, completed, T, tau, r=0.1, eps=0.05):
    return t == tau and curve[t - 1] < r + eps


def _etr2(curve, t, completed, T, p, q=0.75):
    if not completed:
        return False
    finals = [c[T - 1] for c in completed]
    c = completed[finals.index(max(finals))]  # the earliest of the best
    tau = 1
    for i in range(1, T + 1):
        if c[i - 1] <= q * c[T - 1]:
            tau = i
    return t == tau and curve[t - 1] < p * c[tau - 1]


def _median(curve, t, completed, T, min_completed=1, warmup=1):
    if t < warmup or len(completed) < min_completed or not completed:
        return False
    avgs = []
    for c in completed:
        s = 0.0
        for i in range(t):
            s += c[i]
        avgs.append(s / t)
    return max(curve[:t]) < statistics.median(avgs)


RULES = {"none": lambda *a, **k: False, "etr1": _etr1, "etr2": _etr2, "median": _median}


def reference_replay(acc, time, unit, state, goal, rule="none", rule_params=None,
                     chooser="random", n_init=1, max_evals=None, max_time=math.inf,
                     terminated="report", objective="final", forest=None, xi=0.0):
    """One repeat. ``forest(X, y, seed64) -> (mean, var)`` over all rows (rf-ei only)."""
    acc = np.asarray(acc, dtype=np.float32)
    time = np.asarray(time, dtype=np.float32)
    n, T = acc.shape
    rule_fn = RULES[rule]
    rp = dict(rule_params or {})
    max_evals = n if max_evals is None else max_evals
    finished = [int(np.sum(~np.isnan(acc[i]))) for i in range(n)]
    if objective == "final":
        obj = [float(acc[i, T - 1]) for i in range(n)]
    else:
        obj = [float(np.nanmax(acc[i])) if finished[i] else math.nan for i in range(n)]
    rng = PyRng(state)
    candidates = list(range(n))
    seen_x, seen_y = [], []
    completed = []
    clock = 0.0
    out = {"rows": [], "epochs": [], "reported": [], "clock": [], "stopped": []}
    success, ttg = False, math.inf
    n_stopped = n_harmful = 0
    while len(out["rows"]) < max_evals and candidates and clock < max_time:
        if len(out["rows"]) < n_init or chooser == "random" or len(seen_y) < 2:
            row = candidates[rng.bounded(len(candidates))]
        else:
            seed64 = rng.next()
            mean, var = forest(np.asarray(unit)[seen_x], np.asarray(seen_y), seed64)
            best = max(out["reported"])  # the largest reported accuracy so far
            ei = {}
            for i in candidates:
                mu, sd = float(mean[i]), math.sqrt(float(var[i]))
                imp = mu - best - xi
                if sd == 0.0:
                    ei[i] = max(imp, 0.0)
                else:
                    # SPEC's EI, with the float operations in the order lcore's C code uses,
                    # so that candidates whose EI differ by an ulp rank the same way
                    z = imp / sd
                    cdf = 0.5 * math.erfc(-z * INV_SQRT2)
                    pdf = math.exp(-0.5 * z * z) * INV_SQRT2PI
                    ei[i] = imp * cdf + sd * pdf
            top = max(ei.values())
            tied = [i for i in candidates if ei[i] == top]
            row = tied[rng.bounded(len(tied))] if len(tied) > 1 else tied[0]
        candidates.remove(row)
        curve = []
        stopped = False
        for t in range(1, finished[row] + 1):
            clock += float(time[row, t - 1])
            curve.append(float(acc[row, t - 1]))
            if t < T and rule_fn(curve, t, completed, T, **rp):
                stopped = True
                break
        reported = curve[-1] if curve else 0.0
        if stopped:
            n_stopped += 1
            n_harmful += obj[row] >= goal
        if not (stopped and terminated == "exclude"):
            y = reported
            if stopped and terminated == "oracle" and math.isfinite(obj[row]):
                y = obj[row]
            seen_x.append(row)
            seen_y.append(y)
        if not stopped and len(curve) == T:
            completed.append(curve)
        for k, v in zip(("rows", "epochs", "reported", "clock", "stopped"),
                        (row, len(curve), reported, clock, stopped)):
            out[k].append(v)
        if reported >= goal:
            if clock <= max_time:
                success, ttg = True, clock
            break
    out.update(success=success, time_to_goal=ttg, n_stopped=n_stopped, n_harmful=n_harmful,
               best_acc=max(out["reported"]) if out["reported"] else -math.inf)
    return out
