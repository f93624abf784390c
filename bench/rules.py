"""Every registered stopping rule on every shipped real table: time-to-goal against ``none``.

For each real table (``lcore.list_tables()`` without the synthetic ones), each chooser
(``rf-ei``, ``random``) and each rule configuration (every name in ``lcore.stopping.RULES``
with its documented default parameters, plus the fixed-parameter variants ETR-1 tau = 1/3/9
and ETR-2 p = 0.8/0.9/0.95), one ``lcore.simulate`` call of ``--repeats`` repeats (default 50)
with the same seed for every rule (common random numbers: repeat i of every rule starts from
the same random rows) and the goal ``top0.5%`` of the table (the paper's share for MNIST's
second goal; the k-th best objective, k = ceil(0.005 n), in the table's direction).

Per cell it records the per-repeat outcomes and derives, against ``none`` on the same table
and chooser:

- the paired median time-to-goal ratio: the median over repeats i of
  ``ttg(rule, i) / ttg(none, i)`` (a repeat the rule misses and ``none`` reaches counts as
  +inf, one that only ``none`` misses as 0, one both miss as 1), with a percentile bootstrap
  95 % CI over repeats (10,000 resamples of the repeat indices, seed 0);
- missed goals (repeats without success) and their excess over ``none``;
- harmful stops (stopped rows whose own objective reaches the goal): total, and the repeats
  with at least one;
- the per-decision cost in microseconds: a separate timing on the random chooser (no forest,
  one process, ``--cost-repeats`` repeats, best of 3): ``(t_rule - t_none * E_rule / E_none) /
  D_rule`` with ``E`` the epoch events of the runs and ``D`` the decisions asked (every epoch
  ``t < T`` of every started trial, counted from the traces). That is the rule's own time in
  the loop (its decide and on_end) per decision, the loop's per-epoch work removed.

Resumable: every finished cell goes to ``bench/results/rules_cells.json`` (keyed by table,
chooser, rule label and the settings) and is skipped on the next run (``--fresh`` redoes
them). Progress: one line per cell with its wall time. At the end the summary is written to
``bench/results/rules.json`` and the generated tables of ``docs/rules.md`` (between the
``<!-- generated -->`` markers) are rewritten.

    python bench/rules.py [--tables A,B] [--rules NAME,...] [--choosers rf-ei,random]
                          [--repeats 50] [--n-jobs 2] [--max-evals N] [--fresh] [--no-cost]

Default parameters for rules that need them (derived from the table, the same rule on every
table): ``etr1`` r = ``meta["chance"]`` (eps 0.05; not run on a table without a chance level);
``etr2`` p = 0.9 as the registry default (variants 0.8/0.9/0.95 are extra cells);
``optuna-threshold`` lower = chance + 0.05 on a "max" table, upper = chance - 0.05 on a "min"
table (ETR-1's threshold, checked at every epoch); ``optuna-percentile`` percentile = 25.0;
``optuna-patient`` patience = 2 (Optuna's PatientPruner has no default; no wrapped pruner);
any other rule with its constructor's defaults (and ``mode``). A registered rule that cannot be
built that way is listed under "skipped" in the JSON with the reason; a configuration with no
cached cell at all (left out with ``--rules``) under "not_run".
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
# evaluate the tree this script lives in (not another lcore on the path)
sys.path.insert(0, os.path.dirname(HERE))

import numpy as np  # noqa: E402
from _common import RESULTS, machine, versions  # noqa: E402

import lcore  # noqa: E402
from lcore.stopping import RULES, get_rule  # noqa: E402

CELLS = os.path.join(RESULTS, "rules_cells.json")
OUT = os.path.join(RESULTS, "rules.json")
DOC = os.path.join(HERE, "..", "docs", "rules.md")
GOAL = "top0.5%"
SEED = 0
BOOT = 10_000
TABLE_N: dict = {}  # table name -> rows (filled by main)

#: fixed-parameter variants run besides each registered rule's default configuration
VARIANTS = {
    "etr1": [{"tau": 1}, {"tau": 3}, {"tau": 9}],
    "etr2": [{"p": 0.8}, {"p": 0.9}, {"p": 0.95}],
    "optuna-patient": [{"patience": 2}],   # Optuna's PatientPruner has no default patience
}
#: the fixed-parameter rules that "best in hindsight" is chosen from: every configuration but
#: none and adaptive


class Skip(Exception):
    pass


def real_tables() -> list:
    out = []
    for name in lcore.list_tables():
        if not lcore.load_table(name).meta.get("synthetic"):
            out.append(name)
    return out


def table_params(name: str, table, params: dict) -> dict:
    """The documented default parameters of rule ``name`` on ``table`` (plus ``params``)."""
    mode = table.meta.get("mode") or "max"
    chance = table.meta.get("chance")
    kw = {"mode": mode}
    if name == "etr1":
        if chance is None:
            raise Skip("no chance level in the table's meta (ETR-1's r)")
        kw.update(r=float(chance))
        kw.update(params or {"tau": 1})
    elif name == "etr2":
        kw.update(params or {"p": 0.9})
    elif name == "optuna-threshold":
        if chance is None:
            raise Skip("no chance level in the table's meta (the threshold)")
        if mode == "max":
            kw["lower"] = float(chance) + 0.05
        else:
            kw["upper"] = float(chance) - 0.05
    elif name == "optuna-percentile":
        kw["percentile"] = 25.0
    kw.update(params)
    return kw


def configs(names) -> list:
    """``[(name, params)]``: every selected registered rule once, plus the variants."""
    out = []
    for name in names:
        for params in VARIANTS.get(name, [{}]):
            out.append((name, params))
    return out


def build(name: str, params: dict, table):
    kw = table_params(name, table, params)
    try:
        rule = get_rule(name, **kw)
    except TypeError as exc:   # a required parameter without a documented default here
        raise Skip(f"cannot build with {kw}: {exc}") from None
    rule.check(table.T)
    return rule


def label_of(name: str, params: dict) -> str:
    if not params:
        return name
    return name + "(" + ", ".join(f"{k}={v}" for k, v in params.items()) + ")"


# ---- cache -----------------------------------------------------------------------------

def load_cells() -> dict:
    if os.path.exists(CELLS):
        with open(CELLS) as f:
            return json.load(f)
    return {}


def save_cells(cells: dict) -> None:
    os.makedirs(RESULTS, exist_ok=True)
    tmp = CELLS + ".tmp"
    with open(tmp, "w") as f:
        json.dump(cells, f, indent=0, sort_keys=True)
    os.replace(tmp, CELLS)


def budget(chooser: str, args, n: int):
    """The max_evals of a cell (None: the whole table)."""
    me = args.max_evals_rfei if chooser == "rf-ei" else args.max_evals
    if not me or me >= n:
        return None
    return me


def cell_key(table: str, chooser: str, label: str, args) -> str:
    me = budget(chooser, args, TABLE_N.get(table, 0)) if chooser in ("rf-ei", "random") else None
    return f"{table}|{chooser}|{label}|R{args.repeats}|seed{SEED}|{GOAL}|me{me}"


def run_cell(table, rule, chooser: str, args) -> dict:
    t0 = time.perf_counter()
    res = lcore.simulate(table, rule=rule, goal=GOAL, repeats=args.repeats, seed=SEED,
                         chooser=chooser, n_jobs=args.n_jobs, progress=False,
                         max_evals=budget(chooser, args, table.n))
    wall = time.perf_counter() - t0
    ttg = [float(x) if math.isfinite(x) else None for x in res.time_to_goal]
    return {
        "wall_s": wall, "goal": float(res.goal), "rule_repr": repr(rule),
        "success": [bool(x) for x in res.success], "time_to_goal": ttg,
        "n_evaluated": [int(x) for x in res.n_evaluated],
        "n_stopped": [int(x) for x in res.n_stopped],
        "epochs_trained": [int(x) for x in res.epochs_trained],
        "n_harmful_stops": [int(x) for x in res.n_harmful_stops],
    }


def decisions_of(table, rule, repeats: int) -> tuple:
    """(epoch events, decisions asked) of a random-chooser run with ``rule``."""
    res = lcore.simulate(table, rule=rule, goal=GOAL, repeats=repeats, seed=SEED,
                         chooser="random", n_jobs=1, progress=False, trace=True)
    T = table.T
    D = sum(int(np.minimum(tr["epochs"], T - 1).sum()) for tr in res.traces)
    return int(res.epochs_trained.sum()), D


def time_random(table, rule, repeats: int) -> float:
    best = math.inf
    for _ in range(3):
        t0 = time.perf_counter()
        lcore.simulate(table, rule=rule, goal=GOAL, repeats=repeats, seed=SEED,
                       chooser="random", n_jobs=1, progress=False)
        best = min(best, time.perf_counter() - t0)
    return best


def cost_cell(table, rule, args, none_ref: dict) -> dict:
    E, D = decisions_of(table, rule, args.cost_repeats)
    t = time_random(table, rule, args.cost_repeats)
    per_epoch = none_ref["seconds"] / none_ref["epochs"]
    own = t - per_epoch * E
    from lcore.replay import _rule_spec

    return {"seconds": t, "epochs": E, "decisions": D, "repeats": args.cost_repeats,
            "us_per_decision": (own / D * 1e6) if D else None,
            "runs_as": _rule_spec(rule)[0]}


# ---- statistics --------------------------------------------------------------------------

def ratios(a, b) -> np.ndarray:
    a = np.array([math.inf if x is None else x for x in a], dtype=float)
    b = np.array([math.inf if x is None else x for x in b], dtype=float)
    out = np.empty_like(a)
    both = np.isinf(a) & np.isinf(b)
    only_b = np.isinf(b) & ~np.isinf(a)
    rest = ~both & ~only_b
    out[both] = 1.0
    out[only_b] = 0.0
    with np.errstate(invalid="ignore", divide="ignore"):
        out[rest] = a[rest] / b[rest]
    out[rest & (b == 0) & (a == 0)] = 1.0
    return out


def median_ci(r: np.ndarray) -> tuple:
    rng = np.random.default_rng(0)
    R = r.size
    idx = rng.integers(0, R, (BOOT, R))
    meds = np.median(r[idx], axis=1)
    # no interpolation between order statistics (a +inf ratio is a valid value)
    lo = np.percentile(meds, 2.5, method="lower")
    hi = np.percentile(meds, 97.5, method="higher")
    return float(np.median(r)), float(lo), float(hi)


def fin(x):
    return None if x is None or not math.isfinite(x) else float(x)


def compare(cell: dict, ref: dict) -> dict:
    r = ratios(cell["time_to_goal"], ref["time_to_goal"])
    med, lo, hi = median_ci(r)
    R = len(cell["success"])
    miss = R - sum(cell["success"])
    miss_none = R - sum(ref["success"])
    ttg = [x for x in cell["time_to_goal"] if x is not None]
    harm = cell["n_harmful_stops"]
    return {
        "ratio_median": fin(med), "ratio_ci95": [fin(lo), fin(hi)],
        "missed": miss, "missed_excess": miss - miss_none,
        "ttg_median": float(np.median(ttg)) if len(ttg) > R / 2 else None,
        "harmful_stops": int(sum(harm)),
        "repeats_with_harmful_stop": int(sum(h > 0 for h in harm)),
        "n_stopped_mean": float(np.mean(cell["n_stopped"])),
        "n_evaluated_mean": float(np.mean(cell["n_evaluated"])),
        "epochs_mean": float(np.mean(cell["epochs_trained"])),
        "wall_s": cell["wall_s"],
        "passes": bool(hi <= 1.05 and miss - miss_none <= 2),
    }


# ---- main ----------------------------------------------------------------------------------

def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tables", default="", help="comma-separated table names (default: all real)")
    ap.add_argument("--rules", default="", help="comma-separated registry names (default: all)")
    ap.add_argument("--choosers", default="random,rf-ei")
    ap.add_argument("--repeats", type=int, default=50)
    ap.add_argument("--n-jobs", type=int, default=2)
    ap.add_argument("--max-evals", type=int, default=None,
                    help="budget for the random chooser: at most this many rows started per "
                         "repeat (default: the whole table)")
    ap.add_argument("--max-evals-rfei", type=int, default=500,
                    help="the same for rf-ei (default 500, capped at the table's size; 0: the "
                         "whole table)")
    ap.add_argument("--cost-repeats", type=int, default=200)
    ap.add_argument("--no-cost", action="store_true", help="skip the per-decision timing")
    ap.add_argument("--fresh", action="store_true", help="redo cached cells")
    ap.add_argument("--report-only", action="store_true",
                    help="write rules.json and docs/rules.md from the cached cells only")
    args = ap.parse_args(argv)

    tables = [t for t in args.tables.split(",") if t] or real_tables()
    names = [r for r in args.rules.split(",") if r] or list(RULES)
    if "none" not in names:
        names = ["none"] + names
    for n in names:
        if n not in RULES:
            raise SystemExit(f"--rules: unknown rule {n!r}; registered: {', '.join(RULES)}")
    choosers = [c for c in args.choosers.split(",") if c]
    for t in tables:
        TABLE_N[t] = lcore.load_table(t).n
    cells = load_cells()
    skipped = {}
    t_all = time.perf_counter()
    if not args.report_only:
        order = configs(names)
        # none first (every ratio needs it), then adaptive, then the others
        order.sort(key=lambda c: (c[0] != "none", c[0] != "adaptive"))
        loaded = {t: lcore.load_table(t) for t in tables}
        tables = sorted(tables, key=lambda t: (loaded[t].n * loaded[t].T, t))  # cheap first
        for chooser in choosers:
            for name, params in order:
                for tname in tables:
                    table = loaded[tname]
                    label = label_of(name, params)
                    key = cell_key(tname, chooser, label, args)
                    if key in cells and not args.fresh:
                        continue
                    try:
                        rule = build(name, params, table)
                    except Skip:      # recorded for the report below
                        continue
                    cell = run_cell(table, rule, chooser, args)
                    if not args.no_cost and chooser == choosers[0]:
                        ck = cell_key(tname, "cost", "none", args) + f"|cr{args.cost_repeats}"
                        if ck not in cells:
                            none_rule = build("none", {}, table)
                            E, D = decisions_of(table, none_rule, args.cost_repeats)
                            cells[ck] = {"seconds": time_random(table, none_rule,
                                                                args.cost_repeats),
                                         "epochs": E, "decisions": D}
                        cell["cost"] = cost_cell(table, rule, args, cells[ck])
                    cells[key] = cell
                    save_cells(cells)
                    ok = sum(cell["success"])
                    print(f"{chooser:6s} {tname:44s} {label:26s} {cell['wall_s']:8.1f} s  "
                          f"success {ok:3d}/{args.repeats}  evaluated "
                          f"{np.mean(cell['n_evaluated']):7.1f}  stopped "
                          f"{np.mean(cell['n_stopped']):7.1f}", flush=True)
    # the report covers every registered rule and every real table with cached cells, so a
    # subset run adds to it rather than replacing it
    all_tables = real_tables()
    for t in all_tables:   # and what cannot run, for every table and configuration reported
        table = lcore.load_table(t)
        TABLE_N.setdefault(t, table.n)
        for name, params in configs(list(RULES)):
            try:
                build(name, params, table)
            except Skip as exc:
                skipped[f"{t}|{label_of(name, params)}"] = str(exc)
    all_choosers = choosers + [c for c in ("random", "rf-ei") if c not in choosers]
    report(all_tables, list(RULES), all_choosers, cells, skipped, args,
           time.perf_counter() - t_all)


def report(tables, names, choosers, cells, skipped, args, seconds) -> None:
    out = {"setting": {
        "goal": GOAL, "seed": SEED, "repeats": args.repeats, "n_jobs": args.n_jobs,
        "max_evals": {"random": args.max_evals, "rf-ei": args.max_evals_rfei},
        "choosers": choosers, "bootstrap": BOOT,
        "ratio": "median over repeats of ttg(rule)/ttg(none), paired by repeat (common random "
                 "numbers); rule-only miss = +inf, none-only miss = 0, both = 1; CI: percentile "
                 "bootstrap over repeats",
        "cost": "random chooser, one process, best of 3: (t_rule - t_none * E_rule / E_none) "
                "/ decisions, in microseconds",
        "rules": [label_of(n, p) for n, p in configs(names)]},
        "tables": {}, "skipped": skipped, "seconds_this_run": seconds,
        "machine": machine(), "versions": versions(),
        "load_avg_1_5_15": list(os.getloadavg())}
    for tname in tables:
        table = lcore.load_table(tname)
        tt = {"n": table.n, "T": table.T, "mode": table.meta.get("mode") or "max",
              "choosers": {}}
        for chooser in choosers:
            ref = cells.get(cell_key(tname, chooser, "none", args))
            if ref is None:
                continue
            rows = {}
            for name, params in configs(names):
                label = label_of(name, params)
                cell = cells.get(cell_key(tname, chooser, label, args))
                if cell is None:
                    continue
                row = compare(cell, ref)
                c = next((cells[k]["cost"] for k in (cell_key(tname, ch, label, args)
                                                     for ch in ("random", "rf-ei"))
                          if "cost" in cells.get(k, {})), None)
                if c is not None:
                    row["us_per_decision"] = c["us_per_decision"]
                    row["runs_as"] = c["runs_as"]
                rows[label] = row
            fixed = {k: v for k, v in rows.items()
                     if k not in ("none", "adaptive") and v["missed_excess"] <= 2
                     and v["ratio_median"] is not None}
            best = min(fixed, key=lambda k: (fixed[k]["ratio_median"], k)) if fixed else None
            tt["choosers"][chooser] = {"goal": ref["goal"], "rules": rows,
                                       "best_fixed_in_hindsight": best}
        out["tables"][tname] = tt
    # lce's fast decision against its MCMC reference (bench/lce.py), where it has been run
    lce_json = os.path.join(RESULTS, "lce.json")
    if os.path.exists(lce_json):
        with open(lce_json) as f:
            lj = json.load(f)
        out["lce_vs_reference"] = {
            k: lj.get(k) for k in ("n", "split", "agreement", "n_agree", "by_mode",
                                   "reference", "reference_s_per_decision",
                                   "reference_retimed", "fast_s_per_decision",
                                   "fast_s_per_decision_on_retimed", "speedup")}
        out["lce_vs_reference"]["source"] = "bench/lce.py -> bench/results/lce.json"
    # configurations with no cell on any table or chooser (e.g. left out with --rules)
    ran = {lab for tt in out["tables"].values() for cc in tt["choosers"].values()
           for lab in cc["rules"]}
    out["not_run"] = [lab for lab in out["setting"]["rules"] if lab not in ran
                      and not any(k.endswith("|" + lab) for k in skipped)]
    os.makedirs(RESULTS, exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    write_doc(out)
    print(f"wrote {OUT} and the generated part of docs/rules.md ({seconds:.0f} s this run)")


def _fmt_ratio(row) -> str:
    m, (lo, hi) = row["ratio_median"], row["ratio_ci95"]
    s = lambda x: "inf" if x is None else f"{x:.2f}"  # noqa: E731
    txt = f"{s(m)} [{s(lo)}, {s(hi)}]"
    if row["missed_excess"] > 0:
        txt += f" +{row['missed_excess']}m"
    return txt


def short(table: str) -> str:
    """A column name: the table name without its source prefix."""
    for pre in ("baker2018_", "taskset_imdb_"):
        if table.startswith(pre):
            return table[len(pre):]
    return table


def write_doc(out: dict) -> None:
    lines = []
    labels = out["setting"]["rules"]
    for chooser in out["setting"]["choosers"]:
        tabs = [t for t in out["tables"] if chooser in out["tables"][t]["choosers"]]
        if not tabs:
            continue
        lines.append(f"\n#### {chooser}: median time-to-goal ratio to none [95 % CI], "
                     "+Nm = goals missed beyond none's\n")
        lines.append("| rule | " + " | ".join(short(t) for t in tabs) + " |")
        lines.append("|---|" + "---|" * len(tabs))
        for lab in labels:
            cellsrow = []
            for t in tabs:
                row = out["tables"][t]["choosers"][chooser]["rules"].get(lab)
                cellsrow.append("–" if row is None else _fmt_ratio(row))
            if all(c == "–" for c in cellsrow):
                continue
            lines.append(f"| {lab} | " + " | ".join(cellsrow) + " |")
        lines.append("")
        lines.append(f"Per table ({chooser}): what helps (CI upper bound < 1, no extra miss), "
                     "what hurts (CI lower bound > 1.05 or more than 2 extra misses), the best "
                     "fixed-parameter rule in hindsight and where adaptive lands.\n")
        for t in tabs:
            cc = out["tables"][t]["choosers"][chooser]
            rows = cc["rules"]
            helps = [k for k, v in rows.items() if k != "none" and v["ratio_ci95"][1] is not None
                     and v["ratio_ci95"][1] < 1 and v["missed_excess"] <= 0]
            hurts = [k for k, v in rows.items() if v["missed_excess"] > 2
                     or (v["ratio_ci95"][0] is None or v["ratio_ci95"][0] > 1.05)]
            best = cc["best_fixed_in_hindsight"]
            ad = rows.get("adaptive")
            part = f"- **{t}** (goal {cc['goal']:.4g}): helps: {', '.join(helps) or 'nothing'}; "
            part += f"hurts: {', '.join(hurts) or 'nothing'}; "
            part += (f"best fixed: {best} {_fmt_ratio(rows[best])}" if best
                     else "best fixed: none evaluated yet")
            if ad:
                part += f"; adaptive {_fmt_ratio(ad)}" + (" (passes)" if ad["passes"]
                                                          else " (FAILS the criterion)")
            lines.append(part + ".")
        lines.append("")
    # cost
    lines.append("\n#### Per-decision cost (µs; random chooser, one process; see above)\n")
    tabs = list(out["tables"])
    lines.append("| rule | runs as | " + " | ".join(short(t) for t in tabs) + " |")
    lines.append("|---|---|" + "---|" * len(tabs))
    first = out["setting"]["choosers"][0] if out["setting"]["choosers"] else None
    for lab in labels:
        vals, how = [], ""
        for t in tabs:
            row = out["tables"][t]["choosers"].get(first, {}).get("rules", {}).get(lab)
            v = None if row is None else row.get("us_per_decision")
            how = how or ("" if row is None else row.get("runs_as", ""))
            vals.append("–" if v is None else f"{v:.3f}")
        if all(v == "–" for v in vals):
            continue
        lines.append(f"| {lab} | {how} | " + " | ".join(vals) + " |")
    text = "\n".join(lines) + "\n"
    begin, end = "<!-- generated: begin -->", "<!-- generated: end -->"
    doc = f"# Stopping rules compared\n\n{begin}\n{end}\n"
    if os.path.exists(DOC):
        with open(DOC) as f:
            doc = f.read()
    if begin not in doc or end not in doc:
        doc += f"\n{begin}\n{end}\n"
    pre, rest = doc.split(begin, 1)
    _, post = rest.split(end, 1)
    with open(DOC, "w") as f:
        f.write(pre + begin + "\n" + text + end + post)


if __name__ == "__main__":
    sys.exit(main())
