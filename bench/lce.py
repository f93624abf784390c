"""The ``"lce"`` rule's fast decision against its MCMC reference, on real curve prefixes.

200 prefixes of real curves from the shipped tables (accuracy and loss tables, several prefix
lengths), each with an incumbent ``y_best`` drawn from the same table's final values (a
quantile between 0.5 and 0.98, so that decisions go both ways); prefixes whose curve already
beats ``y_best`` are not drawn (both rules continue there without fitting anything). For each
prefix: the MCMC reference (tests/lce_reference.py, emcee) and the fast rule
(lcore.stopping.LCE) decide; the run records their agreement and the time per decision of each,
measured in the same run.

    python bench/lce.py                       # -> bench/results/lce.json
    python bench/lce.py --n 20 --nsamples 600 # a quick look

The development set used to choose the fast rule's constants is drawn the same way with
``--split dev`` (another seed, other rows); the bench set never served to choose them.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parent / "tests"))

import lcore  # noqa: E402

sys.path.insert(0, str(HERE))
from _common import machine, versions  # noqa: E402

ACC_TABLES = ["baker2018_deep_resnets_cifar10", "baker2018_metaqnn_cifar10",
              "baker2018_metaqnn_svhn", "mnist_lenet5_small"]
LOSS_TABLES = ["taskset_imdb_patch128_lstm128_avg_bs64", "taskset_imdb_patch32_gru128_bs128",
               "taskset_imdb_patch32_lstm128_bs128"]
FRACTIONS = (0.15, 0.25, 0.4, 0.6, 0.8)


def draw_prefixes(n, split="bench"):
    """``n`` prefixes: dicts with table, row, mode, T, curve (the prefix), y_best."""
    seed = {"bench": 0, "dev": 1}[split]
    rng = np.random.default_rng(seed)
    tables = {name: lcore.load_table(name) for name in ACC_TABLES + LOSS_TABLES}
    out = []
    names = ACC_TABLES + LOSS_TABLES
    i = 0
    while len(out) < n:
        name = names[i % len(names)]
        i += 1
        tab = tables[name]
        mode = tab.meta.get("mode", "max")
        acc = tab.acc.astype(np.float64)
        T = acc.shape[1]
        ok = np.isfinite(acc).all(axis=1) & (np.abs(acc) < 50).all(axis=1)
        rows = np.flatnonzero(ok)
        # the dev and bench splits use disjoint rows (even / odd positions)
        rows = rows[(0 if split == "bench" else 1)::2]
        row = int(rng.choice(rows))
        L = max(3, int(round(rng.choice(FRACTIONS) * T)))
        L = min(L, T - 1)
        q = rng.uniform(0.5, 0.98)
        finals = acc[ok, T - 1]
        y_best = float(np.quantile(finals, q if mode == "max" else 1 - q))
        curve = acc[row, :L]
        beats = curve.max() > y_best if mode == "max" else curve.min() < y_best
        if beats:
            continue
        out.append(dict(table=name, row=row, mode=mode, T=T, L=L, curve=curve, y_best=y_best,
                        final=float(acc[row, T - 1])))
    return out


def _reference(job):
    """One reference decision (run in a worker process): (k, stop, p, seconds)."""
    from lce_reference import reference_decision

    k, pre, kw = job
    kw = dict(kw)
    seed = k + kw.pop("seed_offset", 0)
    t0 = time.perf_counter()
    stop, p = reference_decision(pre["curve"], pre["T"], pre["y_best"], mode=pre["mode"],
                                 seed=seed, **kw)
    return k, bool(stop), p, time.perf_counter() - t0


def references(prefixes, kw, cache, jobs):
    """The reference's decisions for every prefix: {k: (stop, p, seconds)}, read from the
    jsonl ``cache`` where it holds them (same settings) and computed (and appended) otherwise."""
    got = {}
    key = json.dumps(kw, sort_keys=True)
    path = Path(cache) if cache else None
    if path is not None and path.exists():
        for line in path.read_text().splitlines():
            d = json.loads(line)
            if d["kw"] == key and d["k"] < len(prefixes) and \
                    d["curve"] == prefixes[d["k"]]["curve"].tolist():
                got[d["k"]] = (d["stop"], d["p"], d["s"])
    todo = [(k, pre, kw) for k, pre in enumerate(prefixes) if k not in got]
    if todo:
        from multiprocessing import Pool

        with Pool(jobs) as pool:
            for k, stop, p, sec in pool.imap_unordered(_reference, todo):
                got[k] = (stop, p, sec)
                print("reference", k, stop, p, f"{sec:.2f} s", flush=True)
                if path is not None:
                    with path.open("a") as f:
                        f.write(json.dumps(dict(k=k, kw=key, stop=stop, p=p, s=sec,
                                                curve=prefixes[k]["curve"].tolist())) + "\n")
    return got


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--split", default="bench", choices=("bench", "dev"))
    ap.add_argument("--nwalkers", type=int, default=100)
    ap.add_argument("--nsamples", type=int, default=1800)
    ap.add_argument("--burn-in", type=int, default=600)
    ap.add_argument("--jobs", type=int, default=1, help="processes for the reference")
    ap.add_argument("--cache", default="",
                    help="jsonl file of reference decisions to reuse / extend")
    ap.add_argument("--retime", type=int, default=200,
                    help="reference decisions re-timed in this run, one process, every k-th "
                         "prefix so that they spread over the set (for the ratio; default: "
                         "all)")
    ap.add_argument("--out", default=str(HERE / "results" / "lce.json"))
    ap.add_argument("--reference-only", action="store_true")
    ap.add_argument("--seed-offset", type=int, default=0,
                    help="the reference's walkers use seed k + this (k: the prefix's index); "
                         "a second run with another offset measures the reference's own "
                         "agreement across seeds")
    args = ap.parse_args(argv)

    prefixes = draw_prefixes(args.n, args.split)
    kw = dict(nwalkers=args.nwalkers, nsamples=args.nsamples, burn_in=args.burn_in)
    if args.seed_offset:
        kw["seed_offset"] = args.seed_offset
    ref = references(prefixes, kw, args.cache, args.jobs)
    if args.reference_only:
        return
    from lcore.stopping import LCE, History

    rows = []
    t_fast = []
    for k, pre in enumerate(prefixes):
        stop_ref, p_ref, _sec = ref[k]
        rule = LCE(mode=pre["mode"])
        h = History(horizon=pre["T"], incumbent=pre["y_best"], mode=pre["mode"])
        reps = 50
        t0 = time.perf_counter()
        for _ in range(reps):
            stop = rule.should_stop(pre["curve"], h)
        t_fast.append((time.perf_counter() - t0) / reps)
        rows.append(dict(table=pre["table"], row=pre["row"], mode=pre["mode"], L=pre["L"],
                         T=pre["T"], y_best=pre["y_best"], final=pre["final"],
                         p_ref=p_ref, stop_ref=stop_ref,
                         p_fast=rule.probability(pre["curve"], h), stop_fast=bool(stop)))
    # the time ratio from decisions timed in this run, one process each
    step = max(1, len(prefixes) // max(args.retime, 1))
    retimed = list(range(0, len(prefixes), step))[:args.retime]
    t_ref = [_reference((k, prefixes[k], kw))[3] for k in retimed]
    n = len(rows)
    agree = sum(r["stop_ref"] == r["stop_fast"] for r in rows)
    by_mode = {}
    for mode in ("max", "min"):
        sub = [r for r in rows if r["mode"] == mode]
        by_mode[mode] = dict(n=len(sub), agreement=(sum(r["stop_ref"] == r["stop_fast"]
                                                          for r in sub) / max(len(sub), 1)))
    ref_s = float(np.mean(t_ref)) if t_ref else math.nan
    fast_s_same = float(np.mean([t_fast[k] for k in retimed])) if retimed else math.nan
    res = dict(
        n=n, split=args.split, agreement=agree / n, n_agree=agree,
        n_stop_reference=sum(r["stop_ref"] for r in rows),
        n_stop_fast=sum(r["stop_fast"] for r in rows),
        by_mode=by_mode,
        reference=dict(nwalkers=args.nwalkers, nsamples=args.nsamples, burn_in=args.burn_in,
                       thin=10, delta=0.05, min_epochs=3, cache=bool(args.cache)),
        reference_s_per_decision=ref_s, reference_retimed=len(retimed),
        fast_s_per_decision=float(np.mean(t_fast)),
        fast_s_per_decision_on_retimed=fast_s_same,
        speedup=ref_s / fast_s_same,
        machine=machine(), versions=versions("emcee"),
        rows=rows,
    )
    print(f"agreement {agree}/{n} = {agree / n:.3f}; reference {ref_s:.2f} s, fast "
          f"{1e6 * fast_s_same:.0f} us per decision (same prefixes); x{res['speedup']:.0f}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
