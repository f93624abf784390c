"""``lcore report``: the paper's experiment as one command, written up as a Markdown report.

For each table: the rule grid (none, ETR-1 for each tau, ETR-2 for each p, the median rule
and every other registered rule) x the goals x the choosers, ``repeats`` repeats each, on
common random numbers; then box plots / empirical CDFs of time-to-goal over all repeats,
anytime (regret) curves, paired comparisons against ``none`` with bootstrap intervals,
harmful stops, how often rf-ei picks rows that ETR-1 would stop, and the oracle leak
(``terminated="oracle"`` against ``"report"``).

Every finished cell (table, chooser, terminated mode, rule) is saved under
``OUT/cells/`` with a key of everything that determines it (the table's bytes, the settings,
the replay code); a second run reuses it, so an interrupted report resumes where it stopped.

One replay per cell serves every goal: the replay never looks at the goal except to stop, so
the run towards the strictest goal passes through exactly the run towards each looser one up
to the report that reaches it (:func:`at_goal` cuts it there; the tests check that this
equals a direct :func:`lcore.simulate` at the looser goal).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import sys
import time
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

__all__ = ["run_report", "rule_grid", "at_goal", "DEFAULT_GOALS", "DEFAULT_TAUS",
           "DEFAULT_PS", "DEFAULT_CHOOSERS"]

DEFAULT_GOALS = ("top0.25%", "top0.5%")
DEFAULT_TAUS = (1, 3, 9)
DEFAULT_PS = (0.5, 0.8, 0.9, 0.95)
DEFAULT_CHOOSERS = ("rf-ei", "random")
DEFAULT_MAX_EVALS = 500
_FIELDS = ("success", "time_to_goal", "n_evaluated", "n_stopped", "epochs_trained",
           "best_acc", "n_harmful_stops")


# ------------------------------------------------------------------------------------------
# the grid


#: the rules of the paper's grid: the report's default
PAPER_RULES = ("none", "etr1", "etr2", "median")


def rule_grid(T: int, taus: Sequence[int] = DEFAULT_TAUS, ps: Sequence[float] = DEFAULT_PS,
              names: Sequence[str] | None = None) -> tuple[list, list[str]]:
    """The rules of the report, and notes on the rules left out.

    ``none``; ETR-1 for each tau < T; ETR-2 for each p; the median rule (the paper's rules,
    the default ``names``); with ``names="all"`` (or names listed) also the other rules
    registered in :data:`lcore.stopping.registry.RULES`, with their default parameters (one
    that needs parameters is left out, with a note). ``names`` keeps only those rule names.

    Returns
    -------
    (list of Rule, list of str)
    """
    from lcore.stopping import ETR1, ETR2, MedianRule, Never, get_rule
    from lcore.stopping.registry import RULES

    rules: list = [Never()]
    notes: list[str] = []
    for tau in taus:
        if 1 <= int(tau) <= T - 1:
            rules.append(ETR1(tau=int(tau)))
        else:
            notes.append(f"etr1(tau={tau}) left out: tau must be in [1, T-1] = [1, {T - 1}]")
    rules += [ETR2(p=float(p)) for p in ps]
    rules.append(MedianRule())
    for name in sorted(RULES):
        if name in ("none", "etr1", "etr2", "median"):
            continue
        try:
            r = get_rule(name)
            check = getattr(r, "check", None)
            if callable(check):
                check(T)
            rules.append(r)
        except (TypeError, ValueError) as exc:
            notes.append(f"registered rule {name!r} left out: it needs parameters ({exc})")
    if names is None:
        names = PAPER_RULES
    if isinstance(names, str):
        names = [n.strip() for n in names.split(",") if n.strip()]
    if list(names) != ["all"]:
        unknown = sorted(set(names) - {getattr(r, "name", "") for r in rules})
        if unknown:
            known = sorted({getattr(r, "name", "") for r in rules})
            raise ValueError(f"rules {unknown} are not in the report's grid; choose among "
                             f"{known}")
        rules = [r for r in rules if getattr(r, "name", "") in set(names) | {"none"}]
    return rules, notes


# ------------------------------------------------------------------------------------------
# one replay, several goals


def _goal_value(table, goal) -> float:
    return float(np.float32(table.resolve_goal(goal)))


def at_goal(res, table, goal) -> Any:
    """The results of ``res`` as if its runs had aimed at the looser ``goal``.

    ``res`` must come from one worker (``n_workers`` 1), with traces, at a goal at least
    as strict as ``goal``: each repeat is cut at its first report that reaches ``goal``.

    Parameters
    ----------
    res : Results
    table : LookupTable
        The table ``res`` ran on (for the objectives behind harmful stops).
    goal : float or str

    Returns
    -------
    Results
    """
    from lcore.results import Results

    if res.traces is None:
        raise ValueError("at_goal needs results with traces (simulate(..., trace=True))")
    if int(res.settings.get("n_workers", 1) or 1) != 1:
        raise ValueError(f"at_goal needs one worker, got n_workers={res.settings['n_workers']}")
    g = _goal_value(table, goal)
    minimise = res.mode == "min"
    if (g > res.goal) if not minimise else (g < res.goal):
        raise ValueError(f"at_goal needs a goal no stricter than the run's {res.goal:.6g}, "
                         f"got {goal!r} = {g:.6g}")
    obj = np.asarray(table.objective(res.settings.get("objective", "final")), dtype=np.float64)
    max_time = res.settings.get("max_time")
    max_time = math.inf if max_time is None else float(max_time)
    out = {f: np.empty(res.n_repeats) for f in _FIELDS}
    traces = []
    for i, tr in enumerate(res.traces):
        rep = np.asarray(tr["reported"], dtype=np.float64)
        clock = np.asarray(tr["end"] if "end" in tr else tr["clock"], dtype=np.float64)
        reached = (rep <= g) if minimise else (rep >= g)
        hit = np.flatnonzero(reached)
        n = int(hit[0]) + 1 if hit.size else rep.size
        cut = {k: np.asarray(v)[:n] for k, v in tr.items()}
        traces.append(cut)
        ok = bool(hit.size) and clock[n - 1] <= max_time
        stopped = cut["stopped"].astype(bool)
        harm_obj = obj[cut["row"][stopped]]
        harmful = (harm_obj <= g) if minimise else (harm_obj >= g)
        out["success"][i] = ok
        out["time_to_goal"][i] = clock[n - 1] if ok else math.inf
        out["n_evaluated"][i] = n
        out["n_stopped"][i] = int(stopped.sum())
        out["epochs_trained"][i] = int(cut["epochs"].sum())
        out["best_acc"][i] = (
            (rep[:n].min() if minimise else rep[:n].max()) if n else -math.inf)
        out["n_harmful_stops"][i] = int(harmful.sum())
    settings = dict(res.settings, goal=g,
                    goal_spec=goal if isinstance(goal, str) else float(goal))
    return Results(res.rule, res.rule_params, out, settings, traces)


# ------------------------------------------------------------------------------------------
# cells on disk


def _file_digest(paths: Sequence[Path]) -> str:
    h = hashlib.sha256()
    for p in sorted(paths):
        h.update(p.name.encode())
        h.update(p.read_bytes())
    return h.hexdigest()[:16]


def engine_fingerprint() -> str:
    """A digest of the code that decides a replay's numbers (replay loop, kernels, choosers,
    rules, goal resolution), so that cached cells are reused only by the same code."""
    import lcore

    root = Path(lcore.__file__).parent
    files = [root / "replay.py", root / "choosers.py", root / "table.py", root / "forest.py"]
    files += list((root / "stopping").glob("*.py"))
    files += [p for p in (root / "_core").iterdir()
              if p.suffix in (".so", ".pyd") and p.name.startswith(("_replay", "_forest",
                                                                      "_rng"))]
    return _file_digest([p for p in files if p.exists()]) + "-" + lcore.__version__


def _table_digest(table) -> str:
    h = hashlib.sha256()
    for a in (table.acc, table.time, table.unit):
        if a is not None:
            h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()[:16]


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_") or "table"


class _Cells:
    """Finished cells under ``folder``: ``KEY.npz`` (the results) + ``KEY.json`` (seconds)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    def key(self, spec: dict) -> str:
        return hashlib.sha256(json.dumps(spec, sort_keys=True, default=str).encode()
                              ).hexdigest()[:20]

    def get(self, key: str):
        from lcore.results import Results

        path, info = self.folder / f"{key}.npz", self.folder / f"{key}.json"
        if not (path.exists() and info.exists()):
            return None, None
        try:
            return Results.load(path), json.loads(info.read_text())
        except (ValueError, OSError, json.JSONDecodeError):
            return None, None  # a damaged cell is recomputed

    def put(self, key: str, res, info: dict) -> None:
        res.save(self.folder / f"{key}.npz")
        tmp = self.folder / f"{key}.json.tmp"
        tmp.write_text(json.dumps(info, indent=1))
        os.replace(tmp, self.folder / f"{key}.json")


# ------------------------------------------------------------------------------------------
# the report


def _fmt_t(x: float, unit: str = "h") -> str:
    from lcore.results import _fmt

    return _fmt(x, unit, missing="not reached")


def _md_table(head: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    out = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


def _ratio_text(c: dict) -> str:
    if not math.isfinite(c["median_ratio"]):
        return "n/a" if math.isnan(c["median_ratio"]) else "inf"
    hi = "inf" if math.isinf(c["ci_high"]) else f"{c['ci_high']:.2f}"
    return f"{c['median_ratio']:.2f} [{c['ci_low']:.2f}, {hi}]"


def _finite(x):
    if isinstance(x, dict):
        return {k: _finite(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_finite(v) for v in x]
    if isinstance(x, (float, np.floating)):
        return float(x) if math.isfinite(x) else None
    if isinstance(x, np.integer):
        return int(x)
    return x


def run_report(
    tables: Sequence[Any] = (None,),
    out: str | os.PathLike = "lcore-report",
    repeats: int = 50,
    seed: int = 0,
    n_jobs: int = 2,
    goals: Sequence[str] = DEFAULT_GOALS,
    choosers: Sequence[str] = DEFAULT_CHOOSERS,
    taus: Sequence[int] = DEFAULT_TAUS,
    ps: Sequence[float] = DEFAULT_PS,
    rules: Sequence[str] | None = None,
    max_evals: int | None = DEFAULT_MAX_EVALS,
    oracle: bool = True,
    log: Callable[[str], None] | None = None,
    command: str | None = None,
) -> Path:
    """Run (or resume) the experiment and write ``OUT/README.md`` with figures in ``OUT/img``.

    Parameters
    ----------
    tables : sequence of LookupTable, path, shipped name or None
        None is the default shipped table.
    out : path
        The report folder; finished cells are cached in ``OUT/cells``.
    repeats, seed, n_jobs : int
        As in :func:`lcore.simulate` (every cell uses the same seed: common random numbers).
    goals : sequence of str or float
        Default the paper's two: the top 0.25 % and the top 0.5 % of the table.
    choosers : sequence of str
    taus, ps : sequences
        The ETR-1 decision epochs and the ETR-2 shares of the grid.
    rules : sequence of str or "all", optional
        Keep only these rule names (``none`` always stays); default the paper's (none, etr1,
        etr2, median); ``"all"``: every registered rule that runs with its defaults.
    max_evals : int or None
        Evaluations per repeat before a repeat counts as a miss (default 500; None: the whole
        table, much slower for rules that miss).
    oracle : bool
        Also run every stopping rule with ``terminated="oracle"`` for rf-ei.
    log : callable, optional
        Receives progress lines (default: print to stderr).
    command : str, optional
        The command line to print in the report.

    Returns
    -------
    Path
        ``OUT/README.md``.
    """
    import lcore
    from lcore.table import LookupTable, load_table

    if log is None:
        def log(msg):
            print(msg, file=sys.stderr, flush=True)

    if isinstance(repeats, bool) or not isinstance(repeats, (int, np.integer)) or repeats < 2:
        raise ValueError(f"repeats must be an int >= 2, got {repeats!r}")
    if not goals:
        raise ValueError("goals must name at least one goal, e.g. ('top0.25%', 'top0.5%')")
    bad = [c for c in choosers if c not in ("rf-ei", "random")]
    if bad or not choosers:
        raise ValueError(f"choosers must be among 'rf-ei', 'random', got {list(choosers)!r}")
    out = Path(out)
    (out / "img").mkdir(parents=True, exist_ok=True)
    t_start = time.perf_counter()
    engine = engine_fingerprint()
    loaded = [t if isinstance(t, LookupTable) else load_table(t) for t in tables]
    plan = []  # (table, chooser, terminated, rule)
    per_table = []
    slugs: set = set()
    for t in loaded:
        grid, notes = rule_grid(t.T, taus, ps, rules)
        slug = _slug(str(lcore.results.table_meta(t)["name"] or "table"))
        while slug in slugs:  # two tables of one name get their own figure files
            slug += "_2"
        slugs.add(slug)
        per_table.append((t, grid, notes, slug))
        for ch in choosers:
            for term in ("report", "oracle"):
                if term == "oracle" and (not oracle or ch != "rf-ei"):
                    continue
                for r in grid:
                    if term == "oracle" and getattr(r, "name", "") == "none":
                        continue  # nothing is stopped: the same run as "report"
                    plan.append((t, ch, term, r))
    log(f"lcore report: {len(plan)} cells ({len(loaded)} table(s), {repeats} repeats each, "
        f"n_jobs={n_jobs}) -> {out}")
    cells = _Cells(out / "cells")
    done: dict = {}
    computed_s, n_computed = 0.0, 0
    cost: dict = {}  # chooser -> seconds of the cells computed so far (for the ETA)
    for k, (t, ch, term, r) in enumerate(plan, start=1):
        tm = lcore.results.table_meta(t)
        gvals = sorted(((_goal_value(t, g), g) for g in goals),
                       key=lambda x: x[0], reverse=tm["mode"] != "min")
        strict = gvals[0][1]
        from lcore.replay import _label as _rule_label

        label = _rule_label(r)
        spec = {"table": _table_digest(t), "chooser": ch, "terminated": term, "rule": label,
                "rule_type": type(r).__name__,
                "params": getattr(r, "params", None), "goal": strict, "repeats": repeats,
                "seed": seed, "max_evals": max_evals, "engine": engine}
        key = cells.key(spec)
        res, info = cells.get(key)
        name = f"{tm['name']} {ch} {term} {label}"
        if res is None:
            t0 = time.perf_counter()
            res = lcore.simulate(t, rule=r, goal=strict, repeats=repeats, seed=seed,
                                 n_jobs=n_jobs, chooser=ch, max_evals=max_evals,
                                 terminated=term, trace=True,
                                 progress=sys.stderr.isatty())
            secs = time.perf_counter() - t0
            res.set_table(t)
            info = {"cell": name, "seconds": secs, "spec": spec}
            cells.put(key, res, info)
            computed_s += secs
            n_computed += 1
            cost.setdefault(ch, []).append(secs)
            left = sum(np.mean(cost.get(c2, [computed_s / n_computed]))
                       for (_, c2, _, _) in plan[k:])
            eta = f", about {left / 60:.1f} min left if no cell is cached"
            log(f"[{k}/{len(plan)}] {name}: {secs:.1f} s{eta}")
        else:
            log(f"[{k}/{len(plan)}] {name}: cached ({info.get('seconds', 0):.1f} s when run)")
        for _gv, g in gvals:
            done[(id(t), ch, term, label, g)] = res if g == strict else at_goal(res, t, g)
        done[(id(t), ch, term, label, "seconds")] = float(info.get("seconds", 0.0))
    wall = time.perf_counter() - t_start
    log(f"lcore report: cells done in {wall:.1f} s ({n_computed} computed, "
        f"{len(plan) - n_computed} reused); writing the report")
    md, numbers = [], {"tables": []}
    cfg = {"repeats": repeats, "seed": seed, "goals": list(goals), "choosers": list(choosers),
           "taus": list(taus), "ps": list(ps), "max_evals": max_evals, "oracle": oracle,
           "rules": None if rules is None else list(rules)}
    md.append(_intro(cfg, command))
    for t, grid, notes, slug in per_table:
        sec, nums = _table_section(t, grid, notes, done, cfg, out, slug)
        md.append(sec)
        numbers["tables"].append(nums)
    cell_s = sum(v for k, v in done.items() if k[-1] == "seconds")
    md.append(
        "## How long it took\n\n"
        f"{len(plan)} cells; their replays took {cell_s / 60:.1f} min in all, wall-clock, when "
        f"they were computed (n_jobs={n_jobs}; the slowest cell "
        f"{max(v for k, v in done.items() if k[-1] == 'seconds'):.0f} s). Times vary with the "
        "machine and its load; they are the only numbers here that a fresh run does not "
        "reproduce. A rerun reuses the finished cells in `cells/` and writes the same "
        "report.\n"
    )
    numbers["config"] = cfg
    numbers["run"] = {"cells": len(plan), "cell_seconds": cell_s, "engine": engine,
                      "lcore": lcore.__version__}
    path = out / "README.md"
    tmp = out / "README.md.tmp"
    tmp.write_text("\n".join(md))
    os.replace(tmp, path)
    (out / "report.json").write_text(json.dumps(_finite(numbers), indent=1, allow_nan=False))
    log(f"lcore report: written {path} ({(time.perf_counter() - t_start) / 60:.1f} min)")
    return path


def _intro(cfg: dict, command: str | None) -> str:
    goals = ", ".join(str(g) for g in cfg["goals"])
    cmd = command or "lcore report --out DIR"
    budget = ("the whole table" if cfg["max_evals"] is None
              else f"{cfg['max_evals']} evaluations")
    return f"""# lcore report: early termination in replayed HPO

Made by `{cmd}` (lcore's replay of SMAC-style HPO on lookup tables). Every number below
comes from the cells this command ran; a rerun with the same options reproduces them exactly
(same seed, common random numbers: repeat i of every rule and chooser starts from the same
random rows).

- **Goals:** {goals} of each table (the k-th best final value, k = ceil(share x n)).
- **Repeats:** {cfg['repeats']} per cell, seed {cfg['seed']}. **Choosers:**
  {", ".join(cfg['choosers'])}. **Budget:** a repeat that has not reached the goal after
  {budget} is a **miss** (censored). Misses are never dropped: every median, quartile, box
  and curve below is over all repeats, a miss counting as "not reached".
- **Rules:** none; ETR-1 with tau in {cfg['taus']}; ETR-2 with p in {cfg['ps']}; the median
  rule; every other registered rule with its defaults.
- **Time** is simulated training time (the table's per-epoch times), in hours (h).
- Random search needs about n / k draws to hit one of the k goal rows of an n-row table,
  so under a budget it misses more often than rf-ei; each finding below says how many
  evaluations its slowest successful repeat needed.
"""


def _summary_rows(results, base) -> list[list[str]]:
    from lcore.results import compare

    rows = []
    for r in results:
        s = r.summary(unit="h")
        if r is base:
            cmp_txt, sooner = "1 (baseline)", "—"
        else:
            c = compare(r, base)
            cmp_txt = _ratio_text(c)
            sooner = f"{c['share_a_better']:.0%} / {c['share_b_better']:.0%}"
        rows.append([
            f"`{r.rule}`", f"{s['n_reached']}/{s['repeats']}", str(s["n_censored"]),
            _fmt_t(s["time_to_goal_median"]), _fmt_t(s["time_to_goal_q25"]),
            _fmt_t(s["time_to_goal_q75"]), f"{s['n_evaluated_mean']:.1f}",
            f"{s['n_stopped_mean']:.1f}", str(s["n_harmful_stops_total"]),
            str(s["repeats_with_harmful_stops"]), cmp_txt, sooner,
        ])
    return rows


def _finding(ch, g, res) -> str:
    """One line: the baseline, ETR-1's ratios, the fastest rule, and who missed."""
    from lcore.results import compare

    base = res[0]
    sb = base.summary("h")
    e1 = [r for r in res if r.rule.startswith("etr1")]
    cmp = {r.rule: compare(r, base) for r in res[1:]}
    line = (f"- **{ch}, {g}:** `none` reaches it in a median of "
            f"{_fmt_t(sb['time_to_goal_median'])} h ({sb['n_reached']}/{sb['repeats']} repeats)")
    if e1:
        line += ("; ETR-1 median time ratios " +
                 " / ".join(f"{cmp[r.rule]['median_ratio']:.2f}" for r in e1) +
                 f" (tau {' / '.join(r.rule.split('=')[1].rstrip(')') for r in e1)}), "
                 f"misses {' / '.join(str(r.n_censored) for r in e1)}")
    ok = [r for r in res[1:] if math.isfinite(cmp[r.rule]["median_ratio"])]
    if ok:
        best = min(ok, key=lambda r: cmp[r.rule]["median_ratio"])
        line += (f"; fastest by paired median ratio: `{best.rule}` "
                 f"{_ratio_text(cmp[best.rule])} with {best.n_censored}/{best.n_repeats} "
                 "missed")
    missed = [f"`{r.rule}` {r.n_censored}/{r.n_repeats}" for r in res if r.n_censored]
    line += "; misses: " + (", ".join(missed) if missed else "none")
    ok_evals = [int(r.n_evaluated[r.success].max()) for r in res if r.success.any()]
    if ok_evals:
        line += (f" (the most evaluations any successful repeat needed: {max(ok_evals)}; "
                 f"budget {base.settings.get('max_evals')})")
    return line + "."


def _save(fig, path: Path) -> None:
    fig.savefig(path, dpi=110)
    import matplotlib.pyplot as plt

    plt.close(fig)


def _table_section(t, grid, notes, done, cfg, out: Path, slug: str) -> tuple[str, dict]:
    import matplotlib

    matplotlib.use("Agg")
    from lcore.replay import _label as _rule_label
    from lcore.results import ResultsList, compare, plot_anytime, plot_curves, table_meta

    tm = table_meta(t)
    labels = [_rule_label(r) for r in grid]
    nums: dict = {"table": tm["name"], "n": t.n, "T": t.T, "best": tm["best"], "cells": {}}
    md = [f"## Table `{tm['name']}`\n"]
    desc = t.describe().replace("\n", "\n    ")
    md.append(f"{tm['model'] or ''} trained on {tm['data'] or tm['dataset']}; "
              f"n = {t.n:,} configurations x T = {t.T} epochs"
              + (" — **SYNTHETIC curves**" if tm["synthetic"] else "") + ".\n")
    md.append("`lcore table info` says:\n\n    " + desc + "\n")
    for n_ in notes:
        md.append(f"- note: {n_}")
    axes = plot_curves(t, n=100)
    img = f"img/{slug}_curves.png"
    _save(axes[0].figure, out / img)
    md.append(f"\n![learning curves]({img})\n")
    md.append("*Fig. 1/2-style panels: 100 random rows, the top 100 and the bottom 100 by "
              "final value.*\n")
    goals = list(cfg["goals"])
    findings: list[str] = []
    at = len(md)  # the findings go here, once computed
    for ch in cfg["choosers"]:
        md.append(f"### Chooser `{ch}`\n")
        for g in goals:
            res = ResultsList(done[(id(t), ch, "report", lab, g)] for lab in labels)
            md.append(f"#### Goal {g} = {res[0].goal:.4f}\n")
            head = ["rule", "reached", "missed", "median h", "q25 h", "q75 h", "evals",
                    "stops", "harmful stops", "repeats with harm",
                    "time ratio vs none [95 % CI]", "sooner / later than none"]
            md.append(_md_table(head, _summary_rows(res, res[0])))
            md.append(
                "\n*Median, q25 and q75 over all repeats (a miss is 'not reached'); evals and "
                "stops are means per repeat; harmful stops: stopped rows whose own final value "
                "reaches the goal (total over repeats); the time ratio is the paired median of "
                "rule / none over repeats (misses count as infinitely slow; repeats that miss "
                "under both are left out), with a 95 % percentile-bootstrap interval.*\n")
            axes = res.plot_summary(unit="h")
            img = f"img/{slug}_{_slug(ch)}_{_slug(str(g))}_time_to_goal.png"
            _save(axes[0].figure, out / img)
            md.append(f"![time to goal, {ch}, {g}]({img})\n")
            nums["cells"][f"{ch}|report|{g}"] = [
                dict(_finite(r.summary(unit="h")),
                     vs_none=None if i == 0 else _finite(compare(r, res[0])))
                for i, r in enumerate(res)
            ]
            findings.append(_finding(ch, g, res))
        # anytime curves at the strictest goal: ETR-1 family, ETR-2 family + the rest
        g0 = goals[0]
        res = ResultsList(done[(id(t), ch, "report", lab, g0)] for lab in labels)
        fam1 = ResultsList(r for r in res if r.rule == "none" or r.rule.startswith("etr1"))
        fam2 = ResultsList(r for r in res if not r.rule.startswith("etr1"))
        import matplotlib.pyplot as plt

        fig, axs = plt.subplots(1, 2, figsize=(12.5, 4.8), sharey=True)
        for ax, fam, what in ((axs[0], fam1, "ETR-1"), (axs[1], fam2, "ETR-2, median, others")):
            plot_anytime(fam, ax=ax, unit="h", regret=True,
                         title=f"{what} vs none (median; band: quartiles)")
        fig.suptitle(f"Regret to the table's best ({tm['best']:.4f}) against simulated time, "
                     f"chooser {ch}, {res[0].n_repeats} repeats aimed at {g0}: "
                     f"{tm['name']} \u00b7 {tm['model']}", fontsize=10)
        fig.tight_layout()
        img = f"img/{slug}_{_slug(ch)}_anytime.png"
        _save(fig, out / img)
        md.append(f"#### Anytime: best value found so far ({ch})\n")
        md.append(f"![anytime regret, {ch}]({img})\n")
        md.append(f"*Median over repeats of (table's best - best reported value so far), "
                  f"log-log; a run that reached {g0} stops there, so every curve ends at the "
                  "goal's regret (dashed).*\n")
    md.insert(at, "### Findings (computed from the cells below)\n\n" + "\n".join(findings)
              + "\n")
    md.append(_etr1_section(t, grid, done, cfg, nums))
    if cfg["oracle"] and "rf-ei" in cfg["choosers"]:
        md.append(_oracle_section(t, grid, done, cfg, out, slug, nums))
    return "\n".join(md), nums


def _etr1_section(t, grid, done, cfg, nums) -> str:
    """How often each chooser picks rows that ETR-1 would stop (the paper's explanation)."""
    from lcore.replay import _label as _rule_label

    etr1 = [r for r in grid if getattr(r, "name", "") == "etr1"]
    if not etr1:
        return ""
    g0 = cfg["goals"][0]
    acc = np.nan_to_num(t.acc.astype(np.float64), nan=0.0)
    head = ["chooser", "rows picked"] + [f"would stop at tau={r.tau}" for r in etr1] + \
        [f"ETR-1 tau={r.tau} stops (share of evals)" for r in etr1]
    rows = []
    base = ["every row of the table", f"{t.n:,}"]
    base += [f"{np.mean(acc[:, r.tau - 1] < r.r + r.eps):.1%}" for r in etr1]
    base += ["—"] * len(etr1)
    rows.append(base)
    nums["etr1_would_stop"] = {"table": {str(r.tau): float(np.mean(acc[:, r.tau - 1] <
                                                                     r.r + r.eps))
                                         for r in etr1}}
    for ch in cfg["choosers"]:
        none = done[(id(t), ch, "report", "none", g0)]
        skip = 2 if ch == "rf-ei" else 0  # rf-ei's first picks are random (no forest yet)
        picked = np.concatenate([tr["row"][skip:] for tr in none.traces])
        row = [f"`{ch}` (under `none`, after its first {skip} random picks)" if skip
               else f"`{ch}` (under `none`)", f"{picked.size:,}"]
        shares = {}
        for r in etr1:
            s = float(np.mean(acc[picked, r.tau - 1] < r.r + r.eps)) if picked.size else 0.0
            shares[str(r.tau)] = s
            row.append(f"{s:.1%}")
        for r in etr1:
            res = done[(id(t), ch, "report", _rule_label(r), g0)]
            row.append(f"{res.n_stopped.sum() / max(1, res.n_evaluated.sum()):.1%}")
        rows.append(row)
        nums["etr1_would_stop"][ch] = shares
    tau0 = str(etr1[0].tau)
    found = ""
    if "rf-ei" in nums["etr1_would_stop"] and "random" in nums["etr1_would_stop"]:
        found = (
            f"\n**On this table:** at tau = {tau0}, {nums['etr1_would_stop']['rf-ei'][tau0]:.1%}"
            f" of rf-ei's picks are rows ETR-1 would stop, against "
            f"{nums['etr1_would_stop']['random'][tau0]:.1%} of random picks and "
            f"{nums['etr1_would_stop']['table'][tau0]:.1%} of the table.\n")
    return (
        "### Why ETR-1 saves little under rf-ei\n\n"
        "ETR-1 stops a row whose value at epoch tau is below r + eps (chance 0.1 + 0.05). The "
        "paper's explanation of its small gains: the forest quickly learns to avoid such rows, "
        "so there is little left to stop. Share of picked rows that ETR-1 would stop "
        f"(runs of `none` aimed at {g0}), against the table's base rate, and the share of "
        "evaluations ETR-1 actually stopped in its own runs:\n\n"
        + _md_table(head, rows) + "\n" + found
    )


def _oracle_section(t, grid, done, cfg, out, slug, nums) -> str:
    import matplotlib.pyplot as plt

    from lcore.replay import _label as _rule_label
    from lcore.results import compare

    labels = [_rule_label(r) for r in grid if getattr(r, "name", "") != "none"]
    head = ["goal", "rule", "reached report / oracle", "median h report", "median h oracle",
            "time ratio oracle / report [95 % CI]", "oracle sooner / later"]
    rows = []
    fig, ax = plt.subplots(figsize=(max(6.5, 1.0 + 0.75 * len(labels)), 4.4))
    nums["oracle"] = {}
    verdict: list[str] = []
    open_up: list = []
    for j, g in enumerate(cfg["goals"]):
        xs, ys, lo, hi = [], [], [], []
        for i, lab in enumerate(labels):
            rep = done[(id(t), "rf-ei", "report", lab, g)]
            ora = done[(id(t), "rf-ei", "oracle", lab, g)]
            c = compare(ora, rep, may_differ=("terminated",))
            sr, so = rep.summary("h"), ora.summary("h")
            rows.append([str(g), f"`{lab}`", f"{sr['n_reached']}/{sr['repeats']} / "
                         f"{so['n_reached']}/{so['repeats']}",
                         _fmt_t(sr["time_to_goal_median"]), _fmt_t(so["time_to_goal_median"]),
                         _ratio_text(c),
                         f"{c['share_a_better']:.0%} / {c['share_b_better']:.0%}"])
            nums["oracle"][f"{g}|{lab}"] = _finite(c)
            if math.isfinite(c["median_ratio"]):
                xs.append(i + (j - 0.5) * 0.25)
                ys.append(c["median_ratio"])
                lo.append(c["median_ratio"] - c["ci_low"])
                # an interval open to infinity is drawn to 3x the median, ending in an arrow
                up = c["ci_high"] if math.isfinite(c["ci_high"]) else 3 * c["median_ratio"]
                hi.append(up - c["median_ratio"])
                if not math.isfinite(c["ci_high"]):
                    open_up.append((xs[-1], up))
            verdict.append(
                "faster" if c["ci_high"] < 1 else "slower" if c["ci_low"] > 1 else "unclear")
        ax.errorbar(xs, ys, yerr=[lo, hi], fmt="o", capsize=3, label=f"goal {g}")
    if open_up:
        ax.plot([x for x, _ in open_up], [y for _, y in open_up], "^", color="0.2", ms=6,
                label="interval open to infinity")
    ax.axhline(1.0, color="0.3", ls="--", lw=0.8, label="no leak (ratio 1)")
    ax.set_xticks(range(len(labels)), labels, rotation=30, ha="right", fontsize=9)
    ax.set_ylabel("median time ratio, oracle / report (paired)", fontsize=10)
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=9)
    ax.grid(alpha=0.3, axis="y")
    tm_name = done[(id(t), "rf-ei", "report", "none", cfg["goals"][0])].settings[
        "table_meta"]["name"]
    ax.set_title(f"The oracle leak: terminated='oracle' against 'report', rf-ei, "
                 f"{cfg['repeats']} paired repeats\n{tm_name}; 95 % bootstrap intervals",
                 fontsize=10)
    fig.tight_layout()
    img = f"img/{slug}_oracle_leak.png"
    _save(fig, out / img)
    return (
        "### The oracle leak\n\n"
        "`terminated=\"oracle\"` gives the forest a stopped row's final value from the table "
        "(how DEEP-BO's emulator scored runs) instead of its last observed value "
        "(`\"report\"`). That leaks the future into the search. Same seeds, paired by "
        "repeat; a ratio below 1 means the leak makes early termination look faster than it "
        "is, above 1 slower. (With the random chooser the surrogate is unused, so the two "
        "modes are the same run.)\n\n"
        f"**On this table:** of {len(verdict)} (rule, goal) pairs, the oracle made the runs "
        f"faster in {verdict.count('faster')} and slower in {verdict.count('slower')} (95 % "
        f"interval entirely below / above 1); {verdict.count('unclear')} are unclear (the "
        "interval contains 1).\n\n"
        + _md_table(head, rows) + f"\n\n![oracle leak]({img})\n\n"
        "*Points: paired median ratio; bars: 95 % bootstrap interval (one open to infinity is "
        "drawn to 3x the median).*\n"
    )
