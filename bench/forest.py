"""Time the rf-ei chooser step (fit + score + argmax) beside the scikit-learn way.

Workload (the chooser's): a 20,000-row table with 9 unit-cube features
(``lcore.table.synthetic(n=20000)``, target = final accuracy), 50 trees, n_seen evaluated rows
drawn at random, every other row a candidate; n_seen in {20, 100, 300, 1000, 2000}.

- lcore ``fit``: ``lcore.RandomForest(50).fit(X_seen, y_seen)``.
- lcore ``choose``: ``RFEIChooser.step`` = one ``lc_rfei_choose`` (fit the forest, mean and
  variance of all 20,000 candidates, EI, arg-max with the tie rule), the context prepared once
  per replay beforehand (its cost is reported apart).  Every timed call uses a new forest seed;
  the calls before it (other seeds, same rows) stand for the previous iterations of a replay.
- scikit-learn ``fit``: ``RandomForestRegressor(50, max_features=1.0).fit``; ``choose``: that
  fit, per-tree predictions on all rows (``[t.predict(X) for t in rf.estimators_]``) for mean
  and variance (ddof 0), SciPy normal EI, evaluated rows masked, ``argmax`` (the DEEP-BO /
  Spearmint way).
- lcore ``public``: what a user embedding the surrogate calls, on all 20,000 rows:
  ``rf = RandomForest(50).fit(X_seen, y_seen); mean, var = rf.predict(X, return_var=True);
  acquisition.ei(mean, np.sqrt(var), best)``; ``public_fused``: ``fit`` then ``rf.ei(X, best)``
  (one call, the same bits).  ``ratio_public`` = scikit-learn ``choose`` (fit + per-tree
  predictions + EI) / lcore ``public``.
- pyrfr (SMAC3's forest) is tried too; where it does not install, the JSON says why.

Both cores: lcore with ``RFEIChooser(n_threads=2)`` (trees fitted and scored on 2 OpenMP
threads, same picks) beside scikit-learn with ``n_jobs=2`` (parallel fit, and the per-tree
predictions on 2 joblib threads).  ``ratio_choose_2cores`` divides the faster scikit-learn
variant (n_jobs=None or 2, per round) by lcore on 2 threads: each side at its best on the
machine; ``ratio_choose_2threads_vs_reference`` divides the reference as specified
(n_jobs=None) by lcore on 2 threads.

Timing: interleaved rounds (lcore best of 3 back-to-back calls on 1 thread, the same on 2
threads, one scikit-learn call with n_jobs=None and one with n_jobs=2, then the two fits), so
that every variant sees the same load on a shared machine.
Ratio = scikit-learn seconds / lcore seconds (min over rounds; medians and the per-round
ratios are in the JSON).  Also reported:
tree depths and the mean depth of the leaf a candidate reaches ("levels"), and lcore's
nanoseconds per candidate-tree-level of the choose step beyond its fit.

    python bench/forest.py [--quick]          # writes bench/results/forest.json
"""

from __future__ import annotations

import sys
import time

import numpy as np
from _common import best_time, write

from lcore.choosers import RFEIChooser
from lcore.forest import RandomForest
from lcore.table import synthetic

N_TREES = 50
N_SEEN = (20, 100, 300, 1000, 2000)


def sklearn_choose(X, y_seen, seen, active, seed, n_jobs=None):
    from scipy.stats import norm
    from sklearn.ensemble import RandomForestRegressor

    rf = RandomForestRegressor(N_TREES, max_features=1.0, random_state=seed, n_jobs=n_jobs)
    rf.fit(X[seen], y_seen)
    if n_jobs is None:
        per_tree = np.stack([t.predict(X) for t in rf.estimators_])
    else:  # the trees' predictions on n_jobs threads too (tree.predict releases the GIL)
        from joblib import Parallel, delayed

        per_tree = np.stack(Parallel(n_jobs=n_jobs, prefer="threads")(
            delayed(t.predict)(X) for t in rf.estimators_))
    mu, sigma = per_tree.mean(axis=0), per_tree.std(axis=0)
    imp = mu - y_seen.max()
    with np.errstate(divide="ignore", invalid="ignore"):
        z = imp / sigma
        ei = np.where(sigma > 0, imp * norm.cdf(z) + sigma * norm.pdf(z), np.maximum(imp, 0))
    ei[~active] = -np.inf
    return int(np.argmax(ei))


def sklearn_fit(X_seen, y_seen, seed):
    from sklearn.ensemble import RandomForestRegressor

    return RandomForestRegressor(N_TREES, max_features=1.0, random_state=seed).fit(
        X_seen, y_seen)


def pyrfr_status():
    try:
        import pyrfr  # noqa: F401
    except ImportError as e:
        return (f"not available: {e}; `pip install pyrfr` fails to build its wheel on this "
                "machine (Python 3.11, no SWIG toolchain)")
    return "installed (timing not implemented)"


def candidate_levels(rf: RandomForest, X) -> float:
    """Mean depth of the leaf a candidate reaches, over candidates and trees."""
    nodes = rf.nodes_
    leaves = rf.apply(X)
    total = 0.0
    for t in range(len(nodes["offset"])):
        off, n = nodes["offset"][t], rf.n_nodes_[t]
        depth = np.zeros(n, dtype=np.int64)
        for i in range(n):  # pre-order: parents before children
            if nodes["feature"][off + i] >= 0:
                depth[nodes["left"][off + i]] = depth[i] + 1
                depth[nodes["right"][off + i]] = depth[i] + 1
        total += depth[leaves[:, t]].mean()
    return total / len(nodes["offset"])


def main(quick: bool = False) -> None:
    table = synthetic(n=20000, seed=0)
    X = np.ascontiguousarray(table.unit, dtype=np.float64)
    y_all = np.nan_to_num(table.objective("final"), nan=0.1)
    n_all = X.shape[0]
    chooser = RFEIChooser(n_trees=N_TREES)
    t0 = time.perf_counter()
    chooser.prepare(X)
    chooser._context()
    prepare_s = time.perf_counter() - t0
    chooser2 = RFEIChooser(n_trees=N_TREES, n_threads=2)
    chooser2.prepare(X)
    threads2 = chooser2._context().n_threads
    rng = np.random.default_rng(0)
    rounds = 3 if quick else 7
    rows = []
    for n_seen in N_SEEN:
        seen = rng.choice(n_all, n_seen, replace=False).astype(np.int64)
        y_seen = y_all[seen]
        active = np.ones(n_all, dtype=bool)
        active[seen] = False
        best = float(y_seen.max())
        seeds = iter(range(10**6))

        def lc_choose(seen=seen, y_seen=y_seen, active=active, best=best, seeds=seeds,
                      ch=chooser):
            from lcore._rng import PyRng

            return ch.step(seen, y_seen, active, best, next(seeds), PyRng([1, 2, 3, 4]))

        def lc_choose2(seen=seen, y_seen=y_seen, active=active, best=best, seeds=seeds):
            return lc_choose(seen, y_seen, active, best, seeds, chooser2)

        for _ in range(3):  # earlier iterations of the replay
            lc_choose()
            lc_choose2()
        # interleaved rounds: both sides see the same load on a shared machine
        lc_t, lc2_t, sk_t, sk2_t, lcf_t, skf_t = [], [], [], [], [], []
        pub_t, pubf_t = [], []

        def lc_public(s=seen, ys=y_seen, b=best):
            from lcore.acquisition import ei

            rf = RandomForest(N_TREES, seed=1).fit(X[s], ys)
            mean, var = rf.predict(X, return_var=True)
            return ei(mean, np.sqrt(var), b)

        def lc_public_fused(s=seen, ys=y_seen, b=best):
            return RandomForest(N_TREES, seed=1).fit(X[s], ys).ei(X, b)

        np.testing.assert_array_equal(lc_public(), lc_public_fused())
        for _ in range(rounds):
            pub_t.append(best_time(lc_public, repeat=3)["min"])
            pubf_t.append(best_time(lc_public_fused, repeat=3)["min"])
            lc_t.append(best_time(lc_choose, repeat=3)["min"])
            lc2_t.append(best_time(lc_choose2, repeat=3)["min"])
            sk_t.append(best_time(lambda s=seen, ys=y_seen, a=active: sklearn_choose(
                X, ys, s, a, 0), repeat=1)["min"])
            sk2_t.append(best_time(lambda s=seen, ys=y_seen, a=active: sklearn_choose(
                X, ys, s, a, 0, n_jobs=2), repeat=1)["min"])
            lcf_t.append(best_time(lambda s=seen, ys=y_seen: RandomForest(N_TREES, seed=1).fit(
                X[s], ys), repeat=3)["min"])
            skf_t.append(best_time(lambda s=seen, ys=y_seen: sklearn_fit(X[s], ys, 0),
                                   repeat=1)["min"])

        def summary(ts):
            return {"min": float(np.min(ts)), "median": float(np.median(ts)), "n": len(ts)}

        lc, sk, lc_fit, sk_fit = (summary(lc_t), summary(sk_t), summary(lcf_t),
                                  summary(skf_t))
        lc2, sk2 = summary(lc2_t), summary(sk2_t)
        pub, pubf = summary(pub_t), summary(pubf_t)
        sk_best = np.minimum(sk_t, sk2_t)
        round_ratios = np.array(sk_t) / np.array(lc_t)
        stats = chooser._ctx.stats()
        rf = RandomForest(N_TREES).fit(X[seen], y_seen, seed64=12345)
        levels = candidate_levels(rf, X)
        score_s = max(lc["min"] - lc_fit["min"], 0.0)
        row = {
            "n_seen": n_seen,
            "n_candidates": int(active.sum()),
            "lcore_choose_s": lc,
            "lcore_fit_s": lc_fit,
            "sklearn_choose_s": sk,
            "sklearn_fit_s": sk_fit,
            "ratio_choose": sk["min"] / lc["min"],
            "ratio_choose_median": sk["median"] / lc["median"],
            "ratio_choose_per_round": [float(r) for r in round_ratios],
            "lcore_choose_2threads_s": lc2,
            "sklearn_choose_njobs2_s": sk2,
            "ratio_choose_2cores": float(sk_best.min() / lc2["min"]),
            "ratio_choose_2cores_median": float(np.median(sk_best) / lc2["median"]),
            "ratio_choose_2cores_per_round": [float(r) for r in sk_best / np.array(lc2_t)],
            "ratio_choose_2threads_vs_reference": sk["min"] / lc2["min"],
            "speedup_2threads_lcore": lc["min"] / lc2["min"],
            "speedup_njobs2_sklearn": sk["min"] / sk2["min"],
            "ratio_fit": sk_fit["min"] / lc_fit["min"],
            "lcore_public_s": pub,
            "lcore_public_fused_s": pubf,
            "ratio_public": sk["min"] / pub["min"],
            "ratio_public_fused": sk["min"] / pubf["min"],
            "ratio_public_per_round": [float(r) for r in np.array(sk_t) / np.array(pub_t)],
            "tree_depth_mean": float(rf.depth_.mean()),
            "tree_depth_max": int(rf.depth_.max()),
            "nodes_per_tree": float(rf.n_nodes_.mean()),
            "candidate_levels_mean": levels,
            "ns_per_candidate_tree_level_score": score_s * 1e9 / (n_all * N_TREES * levels),
            "ns_per_candidate_tree_level_total": lc["min"] * 1e9 / (n_all * N_TREES * levels),
            "bitset_words_per_tree": stats["words"] / N_TREES,
            "avx2": bool(chooser._ctx.has_avx2),
        }
        rows.append(row)
        print(f"n_seen={n_seen:5d}  lcore choose {lc['min'] * 1e3:7.2f} ms "
              f"(fit {lc_fit['min'] * 1e3:6.2f})  sklearn {sk['min'] * 1e3:7.1f} ms "
              f"(fit {sk_fit['min'] * 1e3:6.1f})  ratio {row['ratio_choose']:5.1f}x  |  2 cores: "
              f"lcore {lc2['min'] * 1e3:6.2f} ms, sklearn n_jobs=2 {sk2['min'] * 1e3:6.1f} ms, "
              f"ratio {row['ratio_choose_2cores']:5.1f}x  "
              f"levels {levels:4.1f}  {row['ns_per_candidate_tree_level_score']:.2f} ns/c-t-l  |  "
              f"public fit+predict+EI {pub['min'] * 1e3:6.2f} ms ({row['ratio_public']:5.1f}x), "
              f"fused {pubf['min'] * 1e3:6.2f} ms ({row['ratio_public_fused']:5.1f}x)",
              flush=True)
    path = write("forest", {
        "setting": {
            "n_all": n_all, "d": int(X.shape[1]), "n_trees": N_TREES,
            "table": "lcore.table.synthetic(n=20000, seed=0), y = final accuracy",
            "seen": "random rows, numpy default_rng(0)",
            "timing": "interleaved rounds; seconds per call, min and median over rounds",
        },
        "lcore_prepare_s": prepare_s,
        "lcore_threads_2cores": threads2,
        "results": rows,
        "pyrfr": pyrfr_status(),
        "notes": (
            "ratio_choose = sklearn_choose_s.min / lcore_choose_s.min, same run: lcore on one "
            "thread, scikit-learn with its defaults (n_jobs=None). ratio_choose_2cores: lcore "
            f"on {threads2} threads vs the faster of scikit-learn n_jobs=None / n_jobs=2 per "
            "round. ratio_public = sklearn_choose_s.min / lcore_public_s.min (fit + predict "
            "mean/var on all rows + EI). Measured while other agents loaded this shared 2-core "
            "machine (see load_avg_1_5_15 and machine_loaded): absolute times are inflated, "
            "ratios come from interleaved rounds of the same run."
        ),
        "load_avg_1_5_15": list(__import__("os").getloadavg()),
        "machine_loaded": bool(__import__("os").getloadavg()[0] > 1.5),
    }, packages=("scikit-learn", "scipy"))
    print("wrote", path)


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
