"""Replay throughput: lcore.simulate against a straightforward Python/scikit-learn replay.

    python bench/replay.py [--quick]

Measures, in one run, on synthetic 20,000 x 15 tables (mnist_lenet5 space):

- rf-ei (50 trees) + ETR-1 (tau = 1): seconds per repeat and per evaluation for lcore's C loop
  and for the reference a user would otherwise write, the way DEEP-BO does it (a Python loop
  over docs/semantics.md, scikit-learn RandomForestRegressor(50, max_features=1.0) refit every
  evaluation, per-tree predictions for mean/variance, SciPy-normal EI, argmax), both capped at
  the same number of evaluations per repeat; the ratio is reference / lcore;
- the paper's job: 50 repeats of etr1 (rf-ei, goal top 0.5 %) on 2 cores, wall time;
- the random chooser: trials (evaluated rows) per second per core, lcore's C loop against the
  same Python loop with a random chooser, and against Syne Tune's simulator when
  ``bench/_synetune.py`` can run (it needs ``syne-tune`` in the interpreter given by
  ``--synetune-python``);
- scaling with table size (2k, 20k, 200k rows) and with n_jobs 1 vs 2.

Writes bench/results/replay.json.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import write  # noqa: E402

import lcore  # noqa: E402
from lcore.table import synthetic  # noqa: E402


def reference_replay(table, goal, seed, chooser="rf-ei", tau=1, r=0.1, eps=0.05,
                     max_evals=None, n_trees=50):
    """docs/semantics.md in plain Python + scikit-learn + SciPy (DEEP-BO's way). One repeat."""
    from scipy.stats import norm
    from sklearn.ensemble import RandomForestRegressor

    rng = np.random.default_rng(seed)
    X, acc, tim = table.unit, table.acc, table.time
    n, T = acc.shape
    max_evals = n if max_evals is None else max_evals
    candidates = np.ones(n, dtype=bool)
    seen, ys = [], []
    clock, evals = 0.0, 0
    while evals < max_evals and candidates.any():
        if chooser == "random" or len(ys) < 2:
            row = int(rng.choice(np.flatnonzero(candidates)))
        else:
            rf = RandomForestRegressor(n_estimators=n_trees, max_features=1.0, bootstrap=True,
                                       random_state=int(rng.integers(2**31)), n_jobs=1)
            rf.fit(X[seen], ys)
            cand = np.flatnonzero(candidates)
            per_tree = np.stack([t.predict(X[cand]) for t in rf.estimators_])
            mu, sd = per_tree.mean(0), per_tree.std(0)
            imp = mu - max(ys)
            with np.errstate(divide="ignore", invalid="ignore"):
                z = imp / sd
                ei = np.where(sd > 0, imp * norm.cdf(z) + sd * norm.pdf(z), np.maximum(imp, 0))
            row = int(cand[np.argmax(ei)])
        candidates[row] = False
        y = 0.0
        for t in range(1, T + 1):
            if math.isnan(acc[row, t - 1]):
                break
            clock += float(tim[row, t - 1])
            y = float(acc[row, t - 1])
            if t < T and t == tau and y < r + eps:
                break
        seen.append(row)
        ys.append(y)
        evals += 1
        if y >= goal:
            break
    return evals, clock


def timed(fn, repeat=1):
    best = math.inf
    out = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def bench_rfei(table, quick):
    # the goal is the single best row, so that (almost) every repeat on both sides runs the
    # same number of evaluations (the cap): per repeat = the same work
    goal = float(np.nanmax(table.acc[:, -1]))
    cap = 60 if quick else 150
    reps_ref = 1 if quick else 2
    t_ref, evals_ref = 0.0, 0
    for s in range(reps_ref):
        dt, (ev, _) = timed(lambda s=s: reference_replay(table, goal, s, max_evals=cap))
        t_ref += dt
        evals_ref += ev
    reps = 4 if quick else 10
    dt, res = timed(lambda: lcore.simulate(table, rule="etr1", tau=1, goal=goal, repeats=reps,
                                           seed=0, max_evals=cap, progress=False))
    evals = int(res.n_evaluated.sum())
    per_eval_ref = t_ref / evals_ref
    per_eval = dt / evals
    return {
        "what": "rf-ei (50 trees) + etr1(tau=1), goal = the best row, max_evals per repeat",
        "max_evals": cap,
        "reference": {"seconds": t_ref, "repeats": reps_ref, "evaluations": evals_ref,
                      "seconds_per_evaluation": per_eval_ref,
                      "impl": "Python loop + sklearn RandomForestRegressor + scipy EI"},
        "lcore": {"seconds": dt, "repeats": reps, "evaluations": evals,
                  "seconds_per_evaluation": per_eval},
        "ratio_per_evaluation": per_eval_ref / per_eval,
        "ratio_per_repeat": (t_ref / reps_ref) / (dt / reps),
    }


def bench_paper_job(table, n_jobs):
    dt, res = timed(lambda: lcore.simulate(table, rule="etr1", tau=1, repeats=50, seed=0,
                                           n_jobs=n_jobs, progress=False))
    s = res.summary()
    return {
        "what": "50 repeats of etr1(tau=1), rf-ei, goal top0.5%, 20,000 x 15 synthetic",
        "n_jobs": n_jobs, "seconds": dt, "goal": res.goal,
        "success_rate": s["success_rate"], "n_evaluated_mean": s["n_evaluated_mean"],
        "time_to_goal_median_h": s["time_to_goal_median"] / 3600,
    }


def bench_random(table, quick):
    goal = float(np.nanmax(table.acc[:, -1]))  # the single best row: long runs
    reps = 20 if quick else 200
    dt, res = timed(lambda: lcore.simulate(table, rule="etr1", tau=1, goal=goal, repeats=reps,
                                           seed=0, chooser="random", progress=False), 3)
    trials = int(res.n_evaluated.sum())
    ref_reps = 2
    dt_ref, evals = 0.0, 0
    for s in range(ref_reps):
        d, (ev, _) = timed(lambda s=s: reference_replay(table, goal, s, chooser="random"))
        dt_ref += d
        evals += ev
    return {
        "what": "random chooser + etr1(tau=1), goal = the best row (long repeats), 1 core",
        "lcore": {"seconds": dt, "repeats": reps, "trials": trials,
                  "trials_per_second": trials / dt},
        "python_loop": {"seconds": dt_ref, "trials": evals, "trials_per_second": evals / dt_ref},
        "ratio_vs_python_loop": (trials / dt) / (evals / dt_ref),
    }


def bench_synetune(table, python, n_trials):
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_synetune.py")
    if not python or not os.path.exists(python) or not os.path.exists(script):
        return {"available": False, "why": "no interpreter with syne-tune given"}
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "table.npz")
        np.savez(path, acc=table.acc, time=table.time, unit=table.unit)
        proc = subprocess.run([python, script, path, str(n_trials)], capture_output=True,
                              text=True, check=False, timeout=1800)
    if proc.returncode != 0:
        return {"available": False, "why": proc.stderr[-2000:]}
    return {"available": True, **json.loads(proc.stdout.strip().splitlines()[-1])}


def bench_scaling(quick):
    out = []
    for n in (2000, 20000, 200000):
        t = synthetic("mnist_lenet5", n=n, epochs=15, seed=0)
        row = {"n": n}
        reps = 3 if quick else 5
        for chooser, cap in (("rf-ei", 100), ("random", None)):
            dt, res = timed(lambda t=t, chooser=chooser, cap=cap, reps=reps: lcore.simulate(
                t, rule="etr1", tau=1, repeats=reps, seed=0, chooser=chooser, max_evals=cap,
                progress=False))
            row[chooser] = {"seconds_per_repeat": dt / reps,
                            "evaluations_per_second": float(res.n_evaluated.sum()) / dt,
                            "max_evals": cap}
        out.append(row)
    return out


def bench_n_jobs(table, quick):
    reps = 8 if quick else 16
    out = {}
    for n_jobs in (1, 2):
        dt, res = timed(lambda n_jobs=n_jobs: lcore.simulate(
            table, rule="etr1", tau=1, repeats=reps, seed=0, n_jobs=n_jobs, max_evals=100,
            progress=False))
        out[f"n_jobs={n_jobs}"] = {"seconds": dt, "repeats": reps}
    out["speedup"] = out["n_jobs=1"]["seconds"] / out["n_jobs=2"]["seconds"]
    return out


def bench_workers(table, quick):
    """Several simulated workers (n_workers = W): rf-ei + ETR-1, goal top 0.5 %."""
    reps = 2 if quick else 4
    out = {}
    for W in (1, 4, 16):
        dt, res = timed(lambda W=W: lcore.simulate(
            table, rule="etr1", tau=1, repeats=reps, seed=0, n_workers=W, max_evals=300,
            progress=False))
        out[f"W={W}"] = {"seconds_per_repeat": dt / reps,
                         "evaluations_per_second": float(res.n_evaluated.sum()) / dt,
                         "median_simulated_hours_to_goal": float(
                             np.median(res.time_to_goal)) / 3600,
                         "success_rate": float(res.success.mean())}
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--synetune-python", default=os.environ.get("SYNETUNE_PYTHON"))
    ap.add_argument("--synetune-trials", type=int, default=2000)
    ap.add_argument("--skip", default="", help="comma-separated parts to skip")
    args = ap.parse_args()
    skip = set(args.skip.split(","))
    table = synthetic("mnist_lenet5", n=20000, epochs=15, seed=0)
    payload = {"table": "synthetic mnist_lenet5, n=20000, T=15, seed=0"}
    old = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "replay.json")
    if skip - {""} and os.path.exists(old):  # parts skipped: keep their earlier numbers
        with open(old) as f:
            payload.update({k: v for k, v in json.load(f).items()
                            if k not in ("benchmark", "machine", "versions")})
    parts = {
        "rfei_vs_reference": lambda: bench_rfei(table, args.quick),
        "paper_job_2_cores": lambda: bench_paper_job(table, 2),
        "random_chooser": lambda: bench_random(table, args.quick),
        "synetune": lambda: bench_synetune(table, args.synetune_python, args.synetune_trials),
        "scaling_table_size": lambda: bench_scaling(args.quick),
        "scaling_n_jobs": lambda: bench_n_jobs(table, args.quick),
        "workers": lambda: bench_workers(table, args.quick),
    }
    for name, fn in parts.items():
        if name in skip:
            continue
        print(f"[replay bench] {name} ...", flush=True)
        payload[name] = fn()
        print(json.dumps(payload[name], indent=1)[:1500], flush=True)
    rnd, st = payload.get("random_chooser"), payload.get("synetune")
    if rnd and st and st.get("available"):
        for k in ("random_search", "median_stopping"):
            if k in st:
                payload[f"ratio_random_vs_synetune_{k}"] = (
                    rnd["lcore"]["trials_per_second"] / st[k]["trials_per_second"]
                )
    print(write("replay", payload, packages=("scikit-learn", "scipy", "joblib")))


if __name__ == "__main__":
    main()
