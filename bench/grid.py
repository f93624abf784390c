"""Time the paper's grid on the shipped table, cell by cell.

The grid: 2 goals (``top0.25%`` and ``top0.5%``, the two MNIST goals of the paper as shares
of the table) x 8 rules (none; ETR-1 with tau = 1, 3, 9; ETR-2 with p = 0.8, 0.9, 0.95;
median), the rf-ei chooser (50 trees), 50 repeats, ``n_jobs=2`` (both cores), on the default
shipped table.  Every cell is one ``lcore.simulate`` call, timed on its own, and printed as it
finishes (seconds, success rate, evaluations per repeat, repeats settled: a repeat that misses
its goal evaluates the whole table, but ends as soon as its outcome is decided, see
docs/semantics.md).

    python bench/grid.py [--quick] [--n-jobs N] [--no-settle]   # -> bench/results/grid.json

``--quick``: 10 repeats per cell (a smoke run; the JSON says so).  ``--no-settle``: the same
grid with settling off (LCORE_SETTLE=0: every row chosen one by one; the same results),
written to ``grid_no_settle.json``, to time what settling saves.
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np
from _common import write

import lcore

GOALS = ("top0.25%", "top0.5%")
RULES = (
    ("none", {}),
    ("etr1", {"tau": 1}),
    ("etr1", {"tau": 3}),
    ("etr1", {"tau": 9}),
    ("etr2", {"p": 0.8}),
    ("etr2", {"p": 0.9}),
    ("etr2", {"p": 0.95}),
    ("median", {}),
)


def main(quick: bool = False, n_jobs: int = 2, settle: bool = True) -> None:
    if not settle:
        os.environ["LCORE_SETTLE"] = "0"  # before any worker process starts
    table = lcore.load_table()  # the default shipped table
    repeats = 10 if quick else 50
    load_before = list(os.getloadavg())
    cells = []
    t_all = time.perf_counter()
    for goal in GOALS:
        for rule, params in RULES:
            t0 = time.perf_counter()
            res = lcore.simulate(table, rule=rule, goal=goal, repeats=repeats, seed=0,
                                 n_jobs=n_jobs, progress=False, **params)
            dt = time.perf_counter() - t0
            s = res.summary()
            cell = {
                "goal": goal, "rule": rule, "params": params, "seconds": dt,
                "success_rate": float(s["success_rate"]),
                "n_evaluated_mean": float(np.mean(res.n_evaluated)),
                "n_evaluated_max": int(np.max(res.n_evaluated)),
                # repeats that missed the goal and were settled (their rows left accounted
                # for at once, see docs/semantics.md), and how many rows that took over
                "n_settled_repeats": int(np.sum(res._n_settled > 0)),
                "n_settled_mean": float(np.mean(res._n_settled)),
            }
            cells.append(cell)
            label = rule + "".join(f" {k}={v}" for k, v in params.items())
            print(f"{goal:9s} {label:14s} {dt:8.2f} s  success {cell['success_rate']:.2f}  "
                  f"evaluations mean {cell['n_evaluated_mean']:7.1f} max "
                  f"{cell['n_evaluated_max']:5d}  settled {cell['n_settled_repeats']}",
                  flush=True)
    total = time.perf_counter() - t_all
    print(f"grid: {total:.1f} s for {len(cells)} cells x {repeats} repeats on {n_jobs} jobs")
    path = write("grid" if settle else "grid_no_settle", {
        "setting": {
            "table": "the default shipped table (lcore.simulate(None, ...))",
            "goals": list(GOALS), "rules": [[r, p] for r, p in RULES],
            "chooser": "rf-ei (50 trees)", "repeats": repeats, "n_jobs": n_jobs, "seed": 0,
            "quick": quick, "settle": settle,
        },
        "cells": cells,
        "total_seconds": total,
        "target_seconds": 120.0,
        "load_avg_1_5_15_before": load_before,
        "load_avg_1_5_15_after": list(os.getloadavg()),
        # the load before the run: after it, the run's own n_jobs workers are in the average
        "machine_loaded": bool(load_before[0] > 1.5),
        "notes": ("Seconds per cell of one run. When the machine was shared (machine_loaded), "
                  "every time is inflated by the other jobs on its cores."),
    })
    print("wrote", path)


if __name__ == "__main__":
    args = sys.argv[1:]
    jobs = int(args[args.index("--n-jobs") + 1]) if "--n-jobs" in args else 2
    main(quick="--quick" in args, n_jobs=jobs, settle="--no-settle" not in args)
