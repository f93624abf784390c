"""The paper's grid on every shipped real table: rules x choosers, time-to-goal vs none.

    python tables/grid_real_tables.py [--repeats 50] [--goal top0.5%] [--tables NAME ...]
                                      [--out bench/results/real_tables_grid.json]

Rules: none, ETR-1 with tau in {1, 3, 9} (tau < T; r = the table's meta["chance"], skipped
when the table has none), ETR-2 (p = 0.9), median; choosers rf-ei and random; all rules of
one chooser run in one ``lcore.simulate`` call (common random numbers, paired comparisons).
Every rule is built in the table's direction (``mode=table.mode``): "min" tables (losses,
perplexity) replay like "max" ones. Writes the numbers as JSON and prints
one markdown row per table and chooser: for each rule, the median time-to-goal relative to
none with its 95 % bootstrap interval, the success rate and the harmful stops.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import lcore  # noqa: E402
from lcore.results import compare  # noqa: E402
from lcore.stopping import get_rule  # noqa: E402

REAL_PREFIXES = ("baker2018_", "taskset_")


def rules_for(table):
    mode = table.mode
    out = [get_rule("none")]
    r = table.meta.get("chance")
    if r is not None:
        for tau in (1, 3, 9):
            if tau < table.T:
                out.append(get_rule("etr1", tau=tau, r=float(r), mode=mode))
    out.append(get_rule("etr2", p=0.9, mode=mode))
    out.append(get_rule("median", mode=mode))
    return out


def num(x) -> str:
    return "n/a" if x is None or not math.isfinite(x) else f"{x:.2f}"


def verdict(c: dict, s_rule: float, s_none: float) -> str:
    if s_rule < s_none - 0.05:
        return "hurts (misses goals)"
    lo, hi = c["ci_low"], c["ci_high"]
    if hi is None or lo is None or not (math.isfinite(hi) and math.isfinite(lo)):
        return "no clear effect"
    if hi < 1.0:
        return "helps"
    if lo > 1.0:
        return "hurts (slower)"
    return "no clear effect"


def fin(x):
    return None if isinstance(x, float) and not math.isfinite(x) else x


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=50)
    ap.add_argument("--goal", default="top0.5%")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--tables", nargs="*")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(HERE), "bench", "results",
                                                  "real_tables_grid.json"))
    args = ap.parse_args(argv)
    names = args.tables or [n for n in lcore.list_tables() if n.startswith(REAL_PREFIXES)]
    report = {"repeats": args.repeats, "goal": args.goal, "seed": args.seed, "tables": {}}
    lines = []
    for name in names:
        t = lcore.load_table(name)
        entry = {"n": t.n, "T": t.T, "metric": t.metric, "mode": t.mode, "choosers": {}}
        report["tables"][name] = entry
        rules = rules_for(t)
        for chooser in ("rf-ei", "random"):
            t0 = time.perf_counter()
            res = lcore.simulate(t, rule=rules, goal=args.goal, repeats=args.repeats,
                                 seed=args.seed, chooser=chooser, progress=False)
            wall = time.perf_counter() - t0
            base = res[0]
            rows = []
            for r in res:
                s = r.summary()
                row = {"rule": r.rule, "params": r.rule_params, "summary": fin_dict(s)}
                if r is not base:
                    c = compare(r, base, seed=args.seed)
                    row["vs_none"] = fin_dict(c)
                    row["verdict"] = verdict(c, s["success_rate"], base.summary()["success_rate"])
                rows.append(row)
            entry["choosers"][chooser] = {"goal": base.goal, "wall_s": wall, "rules": rows}
            cells = []
            for row in rows[1:]:
                c = row["vs_none"]
                label = row["rule"]
                cells.append(f"{label}: {num(c['median_ratio'])} [{num(c['ci_low'])}, "
                             f"{num(c['ci_high'])}] {row['verdict']}")
            s0 = rows[0]["summary"]
            lines.append(f"| {name} | {t.mode} | {chooser} | none median "
                         f"{s0['time_to_goal_median']} ({100 * s0['success_rate']:.0f} % reach "
                         f"{base.goal:.4g}); " + "; ".join(cells) + " |")
            print(lines[-1], flush=True)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(report, f, indent=1, allow_nan=False)
    print(f"written {args.out}")
    return 0


def fin_dict(d):
    if isinstance(d, dict):
        return {str(k): fin_dict(v) for k, v in d.items()}
    if isinstance(d, (list, tuple)):
        return [fin_dict(v) for v in d]
    if hasattr(d, "item"):
        d = d.item()
    return fin(d)


if __name__ == "__main__":
    sys.exit(main())
