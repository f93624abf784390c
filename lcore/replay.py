"""``lcore.simulate``: replay SMAC-style HPO on a lookup table with early-termination rules.

One repeat is SPEC.md §3: choose a row (random for the first ``n_init``, then the chooser),
replay its epochs while the stopping rule may end it, report, until the goal or a budget.
Built-in rules and choosers run in the C loop (``csrc/lc_replay.c``); a rule or chooser
written in Python runs through :func:`replay_python`, the same semantics step for step.
"""

from __future__ import annotations

import copy
import math
import numbers
import time as _time
from typing import Any

import numpy as np

from lcore._rng import PyRng, SeedLike, as_seed_sequence, state_from_seed_sequence
from lcore.results import Results, ResultsList
from lcore.table import LookupTable, load_table

__all__ = ["simulate", "replay_python", "TERMINATED", "OBJECTIVES"]

TERMINATED = ("report", "exclude", "oracle")
OBJECTIVES = ("final", "best")
_C_RULE_KIND = {"none": 0, "etr1": 1, "etr2": 2, "median": 3}
_C_TERM = {"report": 0, "exclude": 1, "oracle": 2}


# ------------------------------------------------------------------------------------------
# input handling


def _check_int(name: str, value: Any, low: int, high: int | None = None) -> int:
    if (
        isinstance(value, (bool, np.bool_))
        or not isinstance(value, numbers.Integral)
        or value < low
        or (high is not None and value > high)
    ):
        rng = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise ValueError(f"{name} must be an int {rng}, got {value!r}")
    return int(value)


def _rule_label(rule) -> str:
    params = getattr(rule, "params", None)
    name = getattr(rule, "name", type(rule).__name__)
    if isinstance(params, dict):
        shown = {k: v for k, v in params.items() if k != "mode" or v != "max"}
        defaults = {"r": 0.1, "eps": 0.05, "q": 0.75, "min_completed": 1, "warmup": 1}
        shown = {k: v for k, v in shown.items() if defaults.get(k, object()) != v}
        if shown:
            return f"{name}(" + ", ".join(f"{k}={v}" for k, v in shown.items()) + ")"
    return str(name)


def _resolve_rules(rule, rule_params: dict, T: int) -> list:
    from lcore.stopping import get_rule
    from lcore.stopping.registry import RULES

    specs = list(rule) if isinstance(rule, (list, tuple)) else [rule]
    if not specs:
        raise ValueError("rule must be a rule name, a rule object or a non-empty list of them")
    rules = []
    used: set = set()
    for spec in specs:
        if isinstance(spec, str):
            if spec not in RULES:
                known = ", ".join(repr(k) for k in sorted(RULES))
                raise ValueError(
                    f"unknown rule {spec!r}; known rules: {known}, or a Rule object"
                )
            if len(specs) > 1:
                import inspect

                accepted = set(list(inspect.signature(RULES[spec].__init__).parameters)[1:])
                params = {k: v for k, v in rule_params.items() if k in accepted}
            else:
                params = dict(rule_params)
            used |= set(params)
            try:
                r = get_rule(spec, **params)
            except TypeError as exc:
                hint = {"etr1": "tau=1", "etr2": "p=0.8"}.get(spec, "")
                raise ValueError(
                    f"rule {spec!r}: {exc}" + (f"; e.g. simulate(..., rule={spec!r}, {hint}) "
                                               f"or on the command line --{hint.replace('=', ' ')}"
                                               if hint else "")
                ) from None
        else:
            if isinstance(spec, type):
                raise TypeError(
                    f"rule must be a rule name or a rule instance, got the class "
                    f"{spec.__name__}; pass an instance such as {spec.__name__}(...)"
                )
            r = get_rule(spec)
        if getattr(r, "mode", "max") != "max":
            raise ValueError(
                f"rule {r!r} has mode={r.mode!r}, but the replay maximises accuracy: build it "
                "with mode='max'"
            )
        check = getattr(r, "check", None)
        if callable(check):
            try:
                check(T)
            except ValueError as exc:
                if T > 1:
                    raise
                raise ValueError(
                    f"{exc}: this table has a single epoch (T = 1) and rules are asked only "
                    "after epochs t < T, so no rule can stop anything; use rule='none'"
                ) from None
        rules.append(r)
    unused = sorted(set(rule_params) - used)
    if unused and len(specs) > 1:
        raise ValueError(
            f"rule parameters {unused} fit none of the rules {specs!r}; give rule objects "
            "such as lcore.stopping.ETR1(tau=3) instead"
        )
    if len(specs) == 1 and not isinstance(specs[0], str) and rule_params:
        raise ValueError(
            f"rule parameters {sorted(rule_params)} can only go with a rule name; "
            f"set them on the rule object {specs[0]!r}"
        )
    return rules


def _c_rule(rule) -> dict | None:
    """The C twin of a built-in rule (mode "max"), or None for the Python path."""
    from lcore.stopping import ETR1, ETR2, MedianRule, Never

    if type(rule) not in (ETR1, ETR2, MedianRule, Never) or getattr(rule, "mode", "max") != "max":
        return None
    d = {"kind": _C_RULE_KIND[rule.name]}
    if rule.name == "etr1":
        d.update(tau=int(rule.tau), r=float(rule.r), eps=float(rule.eps))
    elif rule.name == "etr2":
        d.update(p=float(rule.p), q=float(rule.q))
    elif rule.name == "median":
        d.update(min_completed=int(rule.min_completed), warmup=int(rule.warmup))
    return d


def _resolve_chooser(chooser, chooser_params: dict, d: int | None):
    """(chooser object, its C twin's settings or None for the Python path)."""
    from lcore.choosers import RandomChooser, RFEIChooser, get_chooser

    if isinstance(chooser, type):
        raise TypeError(
            f"chooser must be 'rf-ei', 'random', a Chooser instance or a function, got the "
            f"class {chooser.__name__}; pass an instance such as {chooser.__name__}()"
        )
    c = get_chooser(chooser, **chooser_params)
    if type(c) is RandomChooser:
        return c, {"kind": 0}
    if type(c) is RFEIChooser and d is not None:
        return c, {"kind": 1, **c.c_params(d)}
    return c, None


def _seed_states(seed: SeedLike, repeats: int):
    ss = as_seed_sequence(seed)
    # a fresh copy, so that a SeedSequence given twice spawns the same children twice
    ss = np.random.SeedSequence(ss.entropy, spawn_key=ss.spawn_key, pool_size=ss.pool_size)
    children = ss.spawn(repeats)
    states = np.stack([state_from_seed_sequence(c) for c in children])
    return ss, np.ascontiguousarray(states, dtype=np.uint64)


def _table_arrays(table: LookupTable, objective: str) -> dict:
    return {
        "acc": table.acc,
        "time": table.time,
        "n_finished": table.n_finished().astype(np.int32),
        "objective": np.ascontiguousarray(table.objective(objective), dtype=np.float64),
        "X": table.unit,
    }


# ------------------------------------------------------------------------------------------
# the Python path (user rules and choosers), step for step the C loop of lc_replay.c


def replay_python(
    arrays: dict,
    rule,
    chooser,
    c_chooser: dict | None,
    state: np.ndarray,
    goal: float,
    n_init: int,
    max_evals: int,
    max_time: float,
    terminated: str,
    count_chooser_time: bool = False,
    trace: bool = False,
):
    """One repeat on the Python path. Returns ``(result dict, trace dict or None)``."""
    from lcore.choosers import _check_row
    from lcore.stopping import History, Never

    acc, tim, nfin, obj, X = (
        arrays["acc"], arrays["time"], arrays["n_finished"], arrays["objective"], arrays["X"]
    )
    n, T = acc.shape
    rng = PyRng(state)
    active = np.ones(n, dtype=bool)
    n_active = n
    seen_rows: list[int] = []
    y_seen: list[float] = []
    history = History(horizon=T, mode="max")
    clock = 0.0
    n_eval = n_stopped = epochs_trained = n_harmful = 0
    best_acc = -math.inf
    success, ttg = False, math.inf
    tr: dict[str, list] = {k: [] for k in ("row", "epochs", "stopped", "reported", "clock")}
    builtin_random = c_chooser is not None and c_chooser["kind"] == 0
    builtin_rfei = c_chooser is not None and c_chooser["kind"] == 1
    asks = rule is not None and not isinstance(rule, Never)

    while n_eval < max_evals and n_active > 0 and clock < max_time:
        t0 = _time.perf_counter() if count_chooser_time else 0.0
        if n_eval < n_init or builtin_random or (builtin_rfei and len(y_seen) < 2):
            row = int(np.flatnonzero(active)[rng.bounded(n_active)])
        elif builtin_rfei:
            seed64 = rng.next()
            # the incumbent: the largest reported accuracy so far (SPEC §3)
            row = chooser.step(np.asarray(seen_rows, dtype=np.int64),
                               np.asarray(y_seen, dtype=np.float64), active, best_acc, seed64,
                               rng)
        else:
            X_seen = None if X is None else X[seen_rows]
            row = _check_row(chooser.choose(X_seen, np.asarray(y_seen, dtype=np.float64),
                                            active.copy(), rng), active, chooser)
        if count_chooser_time:
            clock += _time.perf_counter() - t0
        active[row] = False
        n_active -= 1

        curve = np.empty(T, dtype=np.float64)
        epochs, stopped, y = 0, False, 0.0
        for t in range(1, int(nfin[row]) + 1):
            clock += float(tim[row, t - 1])
            y = float(acc[row, t - 1])
            curve[t - 1] = y
            epochs = t
            if t < T and asks and rule.should_stop(curve[:t], history):
                stopped = True
                break
        reported = y if epochs > 0 else 0.0
        n_eval += 1
        epochs_trained += epochs
        best_acc = max(best_acc, reported)
        if stopped:
            n_stopped += 1
            if obj[row] >= goal:
                n_harmful += 1
        y_surr, add = reported, True
        if stopped and terminated == "exclude":
            add = False
        if stopped and terminated == "oracle" and math.isfinite(obj[row]):
            y_surr = float(obj[row])
        if add:
            seen_rows.append(row)
            y_seen.append(y_surr)
        if not stopped and epochs == T:
            history.append(curve)  # also updates history.incumbent
        elif epochs > 0:
            history.observe(reported)
        if trace:
            for k, v in zip(tr, (row, epochs, stopped, reported, clock)):
                tr[k].append(v)
        if reported >= goal:
            if clock <= max_time:
                success, ttg = True, clock
            break

    res = {
        "success": float(success), "time_to_goal": ttg, "n_evaluated": float(n_eval),
        "n_stopped": float(n_stopped), "epochs_trained": float(epochs_trained),
        "n_harmful_stops": float(n_harmful), "best_acc": best_acc,
    }
    trd = None
    if trace:
        trd = {
            "row": np.asarray(tr["row"], dtype=np.int64),
            "epochs": np.asarray(tr["epochs"], dtype=np.int32),
            "stopped": np.asarray(tr["stopped"], dtype=bool),
            "reported": np.asarray(tr["reported"], dtype=np.float64),
            "clock": np.asarray(tr["clock"], dtype=np.float64),
        }
    return res, trd


# ------------------------------------------------------------------------------------------
# one worker task: a chunk of repeats for every rule


def _run_chunk(arrays, rules, c_rules, chooser, c_chooser, states, settings):
    from lcore._core import _replay

    fields = _replay.RESULT_FIELDS
    n_rules, R = len(rules), states.shape[0]
    out = {f: np.empty((n_rules, R)) for f in fields}
    traces = [[None] * R for _ in range(n_rules)] if settings["trace"] else None
    c_idx = [k for k in range(n_rules) if c_rules[k] is not None and c_chooser is not None]
    if c_idx:
        forest = c_chooser if c_chooser["kind"] == 1 else {}
        res, tr = _replay.run_repeats(
            arrays["acc"], arrays["time"], arrays["n_finished"], arrays["objective"],
            arrays["X"], [c_rules[k] for k in c_idx], c_chooser["kind"], forest,
            float(forest.get("xi", 0.0)), settings["n_init"], settings["max_evals"],
            settings["max_time"], _C_TERM[settings["terminated"]], settings["goal"],
            settings["count_chooser_time"], states, settings["trace"],
        )
        for j, k in enumerate(c_idx):
            for f in fields:
                out[f][k] = res[f][j]
            if traces is not None:
                traces[k] = tr[j]
    py_idx = [k for k in range(n_rules) if k not in c_idx]
    for k in py_idx:
        for i in range(R):
            # a fresh chooser per (rule, repeat): a stateful chooser cannot carry state from
            # one repeat to the next (results must not depend on n_jobs or chunking), and
            # threads never share one (the rf-ei C context is not thread-safe)
            ch = copy.deepcopy(chooser)
            if callable(getattr(ch, "prepare", None)):
                ch.prepare(arrays["X"])
            res, tr = replay_python(
                arrays, rules[k], ch, c_chooser, states[i], settings["goal"],
                settings["n_init"], settings["max_evals"], settings["max_time"],
                settings["terminated"], settings["count_chooser_time"], settings["trace"],
            )
            for f in fields:
                out[f][k, i] = res[f]
            if traces is not None:
                traces[k][i] = tr
    return out, traces


# ------------------------------------------------------------------------------------------


def simulate(
    table: LookupTable | str | None = None,
    rule: Any = "none",
    goal: float | str = "top0.5%",
    repeats: int = 50,
    seed: SeedLike = 0,
    n_jobs: int | None = 1,
    chooser: Any = "rf-ei",
    n_init: int = 1,
    max_evals: int | None = None,
    max_time: float | None = None,
    terminated: str = "report",
    objective: str = "final",
    trace: bool = False,
    progress: bool = True,
    count_chooser_time: bool = False,
    chooser_params: dict | None = None,
    backend: str = "auto",
    **rule_params: Any,
) -> Results | ResultsList:
    """Replay HPO with an early-termination rule on a lookup table, ``repeats`` times.

    Parameters
    ----------
    table : LookupTable, str or None
        A table, a path to a ``.npz`` table, a shipped table's name, or None for the default
        shipped table.
    rule : str, Rule or list of them
        ``"none"`` (the default: no early termination), ``"etr1"``, ``"etr2"``, ``"median"``
        (parameters as keyword arguments, e.g. ``tau=1``, ``p=0.5``), a rule object
        (``lcore.stopping.ETR1(tau=1)``, or your own with ``should_stop(curve, history)``),
        or a list of them: all run on common random numbers
        (repeat i of every rule starts from the same initial rows) and a :class:`ResultsList`
        comes back.
    goal : float or str
        An accuracy, or ``"topP%"`` of the table (default ``"top0.5%"``); resolved once (and
        rounded to float32, the table's precision), and the number is reported on the results.
        The EI incumbent is the largest reported accuracy so far.
    repeats : int
        Independent repeats; repeat i's generator comes from
        ``numpy.random.SeedSequence(seed).spawn(repeats)[i]``.
    seed : int, SeedSequence, Generator or None
        Same seed, same results, for any ``n_jobs`` and joblib backend. A Generator is
        consumed (one draw seeds the call); None draws fresh entropy, recorded in
        ``settings["seed_entropy"]`` so that the call can be repeated.
    n_jobs : int or None
        Parallel workers (joblib; ``-1`` all cores). Any joblib backend works through
        ``joblib.parallel_config`` (e.g. dask or ray).
    chooser : str, Chooser or callable
        ``"rf-ei"`` (default: 50-tree SMAC-style forest + EI), ``"random"``, a
        :class:`lcore.choosers.Chooser`, or ``fn(X_seen, y_seen, candidates_mask, rng) -> row``
        (``X_seen`` (k, d) or None without ``unit``, ``y_seen`` (k,), ``candidates_mask`` (n,)
        bool; ``rng`` is the repeat's :class:`lcore._rng.PyRng` with ``next()``,
        ``uniform()``, ``bounded(n)``). A chooser object is copied for every repeat.
    n_init : int
        Rows drawn uniformly at random before the chooser decides (default 1; 0 hands the
        first choice to the chooser, and rf-ei still draws at random until it has 2 rows).
    max_evals, max_time : int, float or None
        Budgets: a repeat that has evaluated ``max_evals`` rows or whose clock reached
        ``max_time`` seconds ends censored (time-to-goal ``inf``). The row that crosses
        ``max_time`` is trained to its end (and counted), but cannot succeed.
    terminated : {"report", "exclude", "oracle"}
        What the surrogate learns from a row the rule stopped: its last accuracy
        (``"report"``), nothing (``"exclude"``), or the row's objective from the table
        (``"oracle"``: how DEEP-BO's emulator scored runs; it leaks the future into the search
        and flatters early termination; it exists to measure that effect).
    objective : {"final", "best"}
        A row's objective (for top-P% goals, harmful stops and ``"oracle"``): its final
        accuracy or its best epoch's.
    trace : bool
        Keep each repeat's trace (row, epochs, stopped, reported, clock) on the results.
    progress : bool
        Show a progress bar (tqdm).
    count_chooser_time : bool
        Add the chooser's measured compute time to the clock (not reproducible by design).
    chooser_params : dict, optional
        Options for a named chooser, e.g. ``{"n_trees": 50, "xi": 0.0, "variance": "tree"}``;
        ``{"n_threads": 2}`` runs each rf-ei step on 2 threads (same results; useful with
        ``n_jobs=1``).
    backend : {"auto", "python"}
        ``"python"`` forces the pure-Python loop (slow; for checking the C loop).
    **rule_params
        Parameters of a named rule (``tau``, ``r``, ``eps``, ``p``, ``q``, ``min_completed``,
        ``warmup``). With a list of names each rule takes those it accepts.

    Returns
    -------
    Results or ResultsList
        Per-repeat arrays of length ``repeats``: ``success``, ``time_to_goal`` (seconds, inf when
        censored), ``n_evaluated``, ``n_stopped``, ``epochs_trained``, ``best_acc``,
        ``n_harmful_stops``; plus ``goal`` and, with ``trace=True``, ``traces``.

    Examples
    --------
    >>> import lcore
    >>> res = lcore.simulate(rule="etr1", tau=1, repeats=4, progress=False)
    >>> res.success.shape
    (4,)
    """
    if table is None or isinstance(table, str):
        table = load_table(table)
    if not isinstance(table, LookupTable):
        raise TypeError(
            f"table must be a LookupTable, a path or a shipped table name, got "
            f"{type(table).__name__}"
        )
    if table.n == 0:
        raise ValueError("table is empty (n = 0 rows); nothing to replay")
    T = table.T
    repeats = _check_int("repeats", repeats, 1)
    n_init = _check_int("n_init", n_init, 0, table.n)
    max_evals = table.n if max_evals is None else _check_int("max_evals", max_evals, 1)
    max_evals = min(max_evals, table.n)
    if max_time is None:
        max_time = math.inf
    elif (
        isinstance(max_time, (bool, np.bool_))
        or not isinstance(max_time, numbers.Real)
        or not max_time > 0
        or math.isnan(max_time)
    ):
        raise ValueError(
            f"max_time must be a positive number of seconds or None, got {max_time!r}"
        )
    max_time = float(max_time)
    if terminated not in TERMINATED:
        raise ValueError(f"terminated must be one of {TERMINATED}, got {terminated!r}")
    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {OBJECTIVES}, got {objective!r}")
    for name, flag in (("trace", trace), ("progress", progress),
                       ("count_chooser_time", count_chooser_time)):
        if not isinstance(flag, (bool, np.bool_)):
            raise TypeError(f"{name} must be True or False, got {flag!r}")
    if backend not in ("auto", "python"):
        raise ValueError(f"backend must be 'auto' or 'python', got {backend!r}")
    if n_jobs is not None and not (
        isinstance(n_jobs, numbers.Integral) and not isinstance(n_jobs, bool) and n_jobs != 0
    ):
        raise ValueError(f"n_jobs must be a non-zero int (-1: all cores) or None, got {n_jobs!r}")

    rules = _resolve_rules(rule, rule_params, T)
    chooser_obj, c_chooser = _resolve_chooser(chooser, dict(chooser_params or {}), table.d)
    from lcore.choosers import FunctionChooser

    # a plain function gets X_seen = None on a table without features; declared needs are kept
    needs = getattr(chooser_obj, "needs_features", False)
    if needs and table.unit is None and not isinstance(chooser_obj, FunctionChooser):
        raise ValueError(
            f"chooser {chooser!r} needs the table's unit-cube features, but this table has no "
            "`unit`; make it with LookupTable.from_arrays(..., unit=...) or use "
            "chooser='random'"
        )
    goal_value = table.resolve_goal(goal, objective=objective)
    # accuracies are stored as float32: compare at that precision, so that a row at exactly
    # goal=0.992 (stored as 0.99199998) reaches it
    goal_value = float(np.float32(goal_value))
    finite = table.acc[~np.isnan(table.acc)]
    if finite.size == 0 or float(finite.max()) < goal_value:
        best = float(finite.max()) if finite.size else float("nan")
        raise ValueError(
            f"goal {goal!r} = {goal_value:.6g} is reached by no row of the table (its best "
            f"accuracy is {best:.6g}); choose a lower goal or a share such as 'top0.5%'"
        )
    c_rules = [None if backend == "python" else _c_rule(r) for r in rules]
    ss, states = _seed_states(seed, repeats)

    arrays = _table_arrays(table, objective)
    settings = {
        "goal": goal_value, "n_init": n_init, "max_evals": max_evals, "max_time": max_time,
        "terminated": terminated, "count_chooser_time": bool(count_chooser_time),
        "trace": bool(trace),
    }
    out, traces = _run_all(arrays, rules, c_rules, chooser_obj, c_chooser, states, settings,
                           n_jobs, progress)

    common = {
        "goal": goal_value,
        "goal_spec": goal if isinstance(goal, str) else float(goal),
        "table": repr(table),
        "table_meta": {k: table.meta.get(k) for k in ("dataset", "source", "synthetic")},
        "chooser": chooser if isinstance(chooser, str) else repr(chooser_obj),
        # n_threads changes only the speed: left out, so that compare() pairs such runs
        "chooser_params": {k: v for k, v in (chooser_params or {}).items() if k != "n_threads"},
        "n_init": n_init, "max_evals": max_evals,
        "max_time": None if math.isinf(max_time) else max_time,
        "terminated": terminated, "objective": objective, "repeats": repeats,
        "seed_entropy": str(ss.entropy), "seed_spawn_key": list(ss.spawn_key),
        "count_chooser_time": bool(count_chooser_time),
    }
    results = []
    for k, r in enumerate(rules):
        arr = {f: out[f][k] for f in out}
        results.append(
            Results(
                rule=_rule_label(r),
                rule_params=dict(getattr(r, "params", {}) or {}),
                arrays=arr,
                settings=common,
                traces=None if traces is None else traces[k],
            )
        )
    if isinstance(rule, (list, tuple)):
        return ResultsList(results)
    return results[0]


def _run_all(arrays, rules, c_rules, chooser_obj, c_chooser, states, settings, n_jobs,
             progress):
    from ._parallel import n_workers, plan_chunks, run_chunks

    R = states.shape[0]
    all_c = c_chooser is not None and all(c is not None for c in c_rules)
    # random-chooser C runs take microseconds: one chunk per worker; otherwise one repeat per
    # chunk, so that the progress bar moves per repeat and the workers stay balanced
    cheap = all_c and c_chooser["kind"] == 0
    chunks = plan_chunks(R, n_workers(n_jobs), cheap)

    def task(lo, hi):
        return _run_chunk(arrays, rules, c_rules, chooser_obj, c_chooser, states[lo:hi],
                          settings)

    results = run_chunks(task, chunks, n_jobs=n_jobs, progress=progress, desc="simulate",
                         total=R)
    fields = None
    out: dict = {}
    n_rules = len(rules)
    traces = [[None] * R for _ in range(n_rules)] if settings["trace"] else None
    for (lo, hi), (res, tr) in zip(chunks, results):
        if fields is None:
            fields = list(res)
            out = {f: np.empty((n_rules, R)) for f in fields}
        for f in fields:
            out[f][:, lo:hi] = res[f]
        if traces is not None:
            for k in range(n_rules):
                traces[k][lo:hi] = tr[k]
    return out, traces

