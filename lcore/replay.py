"""``lcore.simulate``: replay HPO on a lookup table with early-termination rules.

One loop does every replay: ``csrc/lc_replay.c``. Built-in rules and choosers are C; a rule
or chooser written in Python is called from the same loop (lcore/_core/_replay.pyx), and a
compiled rule (:func:`lcore.stopping.compiled_rule`) runs in it without the GIL. The semantics
(one repeat, workers, what rules see, directions, repeats and seeds) are in docs/semantics.md.
"""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from lcore._checks import check_bool, check_choice, check_int, check_real, is_int
from lcore._rng import SeedLike, as_seed_sequence, state_from_seed_sequence
from lcore.results import Results, ResultsList
from lcore.table import LookupTable, load_table

__all__ = ["simulate", "ReplaySettings", "TERMINATED", "OBJECTIVES"]

TERMINATED = ("report", "exclude", "oracle")
OBJECTIVES = ("final", "best")
_C_RULE_KIND = {"none": 0, "etr1": 1, "etr2": 2, "median": 3}
#: End a run as soon as its outcome is settled (every row left would end below the goal and
#: leave the rule as it is: the order in which they would be chosen changes nothing reported;
#: see docs/semantics.md).  The same results either way: False only to check that or to time
#: it, in this process (n_jobs=1); the environment variable LCORE_SETTLE=0 turns it off in
#: joblib's worker processes too.
SETTLE = True


def _settle() -> bool:
    return SETTLE and os.environ.get("LCORE_SETTLE", "1") != "0"


@dataclass(frozen=True)
class ReplaySettings:
    """The settings of one :func:`simulate` call, checked; mirrors ``lc_replay_opts``.

    ``goal`` is the resolved number (float32 precision, the table's), ``mode`` the table's
    direction (``"max"``: larger is better), ``max_time`` ``inf`` without a time budget.
    """

    goal: float
    mode: str
    n_init: int
    max_evals: int
    max_time: float
    terminated: str
    objective: str
    n_workers: int
    count_chooser_time: bool
    trace: bool

    def c_opts(self) -> dict:
        """The ``lc_replay_opts`` fields."""
        return {
            "n_init": self.n_init, "max_evals": self.max_evals, "max_time": self.max_time,
            "terminated": TERMINATED.index(self.terminated),
            "mode": 1 if self.mode == "max" else -1, "goal": self.goal,
            "n_workers": self.n_workers,
            "count_chooser_time": int(self.count_chooser_time),
            "settle": int(_settle()),
        }


# ------------------------------------------------------------------------------------------
# input handling: one function per argument group


def _as_table(table) -> LookupTable:
    if table is None or isinstance(table, (str, os.PathLike)):
        table = load_table(None if table is None else os.fspath(table))
    if not isinstance(table, LookupTable):
        raise TypeError(
            f"table must be a LookupTable, a path or a shipped table name, got "
            f"{type(table).__name__}"
        )
    if table.n == 0:
        raise ValueError("table is empty (n = 0 rows); nothing to replay")
    return table


def _settings(table, goal, n_init, max_evals, max_time, terminated, objective, n_workers,
              count_chooser_time, trace) -> ReplaySettings:
    mode = table.mode  # checked when the table was made
    objective = check_choice("objective", objective, OBJECTIVES)
    raw = table.resolve_goal(goal, objective=objective)
    if not abs(raw) <= float(np.finfo(np.float32).max):
        raise ValueError(f"goal {goal!r} lies beyond the float32 range of the table's values")
    value = float(np.float32(raw))
    # values are float32: compare at that precision, so that a row at exactly goal=0.992
    # (stored as 0.99199998) reaches it
    finite = table.acc[~np.isnan(table.acc)]
    best = (finite.max() if mode == "max" else finite.min()) if finite.size else math.nan
    if not finite.size or (best < value if mode == "max" else best > value):
        raise ValueError(
            f"goal {goal!r} = {value:.6g} is reached by no row of the table (its best value "
            f"is {best:.6g}, mode {mode!r}); choose another goal or a share such as 'top0.5%'"
        )
    return ReplaySettings(
        goal=value, mode=mode,
        n_init=check_int("n_init", n_init, 0, table.n),
        max_evals=table.n if max_evals is None else min(
            check_int("max_evals", max_evals, 1), table.n),
        max_time=math.inf if max_time is None else check_real(
            "max_time", max_time, "a positive number of seconds or None", 0.0, True, True),
        terminated=check_choice("terminated", terminated, TERMINATED),
        objective=objective,
        n_workers=check_int("n_workers", n_workers, 1, 4096),
        count_chooser_time=check_bool("count_chooser_time", count_chooser_time),
        trace=check_bool("trace", trace),
    )


def _resolve_rules(rule, rule_params: dict, T: int, mode: str) -> list:
    """The rule objects, checked against the table (horizon ``T``, direction ``mode``)."""
    from lcore.stopping import get_rule
    from lcore.stopping.registry import RULES

    specs = list(rule) if isinstance(rule, (list, tuple)) else [rule]
    if not specs:
        raise ValueError("rule must be a rule name, a rule object or a non-empty list of them")
    named = [s for s in specs if isinstance(s, str)]
    if rule_params and not named:
        raise ValueError(
            f"rule parameters {sorted(rule_params)} can only go with a rule name; "
            f"set them on the rule object {specs[0]!r}"
        )
    unused = set(rule_params)
    rules = []
    for spec in specs:
        if isinstance(spec, type):
            raise TypeError(
                f"rule must be a rule name or a rule instance, got the class "
                f"{spec.__name__}; pass an instance such as {spec.__name__}(...)"
            )
        if isinstance(spec, str):
            accepted = RULES[spec].param_defaults() if spec in RULES else {}
            params = {k: v for k, v in rule_params.items() if k in accepted or len(specs) == 1}
            unused -= set(params)
            if mode != "max" and "mode" in accepted:
                params.setdefault("mode", mode)
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
            r = get_rule(spec)
        _check_rule(r, T, mode)
        rules.append(r)
    if unused:
        raise ValueError(
            f"rule parameters {sorted(unused)} fit none of the rules {specs!r}; give rule "
            "objects such as lcore.stopping.ETR1(tau=3) instead"
        )
    return rules


def _check_rule(r, T: int, mode: str) -> None:
    if getattr(r, "mode", "max") != mode and not getattr(r, "mode_free", False):
        raise ValueError(
            f"rule {r!r} has mode={getattr(r, 'mode', 'max')!r}, but the table's mode is "
            f"{mode!r}: build it with mode={mode!r}"
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


def _label(r) -> str:
    label = getattr(r, "label", None)
    return label if isinstance(label, str) else str(getattr(r, "name", type(r).__name__))


def _rule_spec(r) -> tuple:
    """How the C loop runs rule ``r``: ("builtin", fields, label), ("cfunc", obj, label),
    ("crule", (name, params, inner spec), label) for a rule with a C twin, or
    ("python", r, label)."""
    from lcore.stopping import ETR1, ETR2, MedianRule, Never
    from lcore.stopping.compiled import CompiledRule

    label = _label(r)
    if isinstance(r, CompiledRule):
        return ("cfunc", r, label)
    if "_c_rule" in type(r).__dict__:  # a C twin defined by the rule's own class
        name, par, inner = r._c_rule()
        inner_spec = None if inner is None else _rule_spec(inner)
        if inner_spec is None or inner_spec[0] in ("builtin", "crule"):
            return ("crule", (name, [float(v) for v in par], inner_spec), label)
        return ("python", r, label)
    if type(r) not in (ETR1, ETR2, MedianRule, Never):
        return ("python", r, label)
    d = {"kind": _C_RULE_KIND[r.name], "mode": 1 if r.mode == "max" else -1}
    if r.name == "etr1":
        d.update(tau=r.tau, threshold=r._threshold)
    elif r.name == "etr2":
        d.update(p=r.p, q=r.q)
    elif r.name == "median":
        # counts beyond the table's size behave alike; C holds int32
        d.update(min_completed=min(r.min_completed, 2**31 - 1), warmup=min(r.warmup, 2**31 - 1))
    return ("builtin", d, label)


def _resolve_chooser(chooser, chooser_params: dict | None, table: LookupTable):
    """(chooser object, how the C loop runs it)."""
    from lcore.choosers import FunctionChooser, RandomChooser, RFEIChooser, get_chooser

    if isinstance(chooser, type):
        raise TypeError(
            f"chooser must be 'rf-ei', 'random', a Chooser instance or a function, got the "
            f"class {chooser.__name__}; pass an instance such as {chooser.__name__}()"
        )
    c = get_chooser(chooser, **dict(chooser_params or {}))
    # a plain function gets X_seen = None on a table without features; declared needs are kept
    needs = getattr(c, "needs_features", False) and not isinstance(c, FunctionChooser)
    if needs and (table.unit is None or table.unit.shape[1] == 0):
        raise ValueError(
            f"chooser {chooser!r} needs the table's unit-cube features, but this table has "
            f"{'no `unit`' if table.unit is None else 'a `unit` with 0 columns'}; make it with "
            "LookupTable.from_arrays(..., unit=...) or use chooser='random'"
        )
    if type(c) is RandomChooser:
        return c, ("random",)
    if type(c) is RFEIChooser:
        return c, ("rf-ei", c.c_params(table.d))
    return c, ("python", c, repr(c))


def repeat_states(ss: np.random.SeedSequence, lo: int, hi: int) -> np.ndarray:
    """The C generator states of repeats ``lo .. hi-1``: those of
    ``ss.spawn(R)[lo:hi]`` for a fresh ``ss``, made without spawning all R children."""
    out = np.empty((hi - lo, 4), dtype=np.uint64)
    key = tuple(ss.spawn_key)
    for i in range(lo, hi):
        out[i - lo] = state_from_seed_sequence(np.random.SeedSequence(
            ss.entropy, spawn_key=key + (i,), pool_size=ss.pool_size))
    return out


# ------------------------------------------------------------------------------------------
# running: one task is a range of repeats for every rule


def _run_chunk(arrays: dict, rule_specs: list, chooser_spec: tuple, settings: ReplaySettings,
               ss: np.random.SeedSequence, lo: int, hi: int, on_repeat=None):
    from lcore._core import _replay

    specs = [("cfunc", s[1].address, s[2]) if s[0] == "cfunc" else s for s in rule_specs]
    return _replay.run_repeats(
        arrays["acc"], arrays["time"], arrays["n_finished"], arrays["objective"], arrays["X"],
        specs, chooser_spec, settings.c_opts(), repeat_states(ss, lo, hi), settings.trace,
        lo, on_repeat,
    )


def _run_all(arrays, rule_specs, chooser_spec, settings, ss, repeats, n_jobs, progress):
    from lcore._parallel import n_workers, plan_chunks, run_chunks

    # random-chooser C runs take microseconds: one chunk per worker; otherwise one repeat per
    # chunk, so that the progress bar moves per repeat and the workers stay balanced
    cheap = chooser_spec[0] == "random" and all(s[0] != "python" for s in rule_specs)
    chunks = plan_chunks(repeats, n_workers(n_jobs), cheap)

    def task(lo, hi):
        return _run_chunk(arrays, rule_specs, chooser_spec, settings, ss, lo, hi)

    results = run_chunks(task, chunks, n_jobs=n_jobs, progress=progress, desc="simulate",
                         total=repeats)
    out: dict = {}
    traces = [[None] * repeats for _ in rule_specs] if settings.trace else None
    for (lo, hi), (res, tr) in zip(chunks, results):
        for f, v in res.items():
            out.setdefault(f, np.empty((len(rule_specs), repeats)))[:, lo:hi] = v
        if traces is not None:
            for k in range(len(rule_specs)):
                traces[k][lo:hi] = tr[k]
    return out, traces


def _table_arrays(table: LookupTable, objective: str) -> dict:
    X = table.unit
    return {
        "acc": np.ascontiguousarray(table.acc, dtype=np.float32),
        "time": np.ascontiguousarray(table.time, dtype=np.float32),
        "n_finished": table.n_finished().astype(np.int32),
        "objective": np.ascontiguousarray(table.objective(objective), dtype=np.float64),
        "X": None if X is None else np.ascontiguousarray(X, dtype=np.float64),
    }


def _table_settings(table) -> dict:
    from lcore.results import table_meta

    tm = table_meta(table)  # titles name table, model and data; regret needs the best
    return {"table_meta": tm, "table_best": tm["best"]}


def _results(table, rules, out, traces, settings, ss, goal, chooser, chooser_obj,
             chooser_params, repeats, as_list):
    common = {
        **{k: v for k, v in asdict(settings).items() if k != "trace"},
        "goal_spec": goal if isinstance(goal, str) else float(goal),
        "table": repr(table),
        **_table_settings(table),
        "chooser": chooser if isinstance(chooser, str) else repr(chooser_obj),
        # n_threads changes only the speed: left out, so that compare() pairs such runs
        "chooser_params": {k: v for k, v in (chooser_params or {}).items() if k != "n_threads"},
        "max_time": None if math.isinf(settings.max_time) else settings.max_time,
        "repeats": repeats, "seed_entropy": str(ss.entropy), "seed_spawn_key": list(ss.spawn_key),
    }
    results = [
        Results(rule=_label(r), rule_params=dict(getattr(r, "params", {}) or {}),
                arrays={f: out[f][k] for f in out}, settings=common,
                traces=None if traces is None else traces[k])
        for k, r in enumerate(rules)
    ]
    for k, r in enumerate(results):
        # per repeat, the rows accounted for by settling (a diagnostic, not a result)
        r._n_settled = out["n_settled"][k].astype(np.int64)
    return ResultsList(results) if as_list else results[0]


# ------------------------------------------------------------------------------------------


def simulate(
    table: LookupTable | str | os.PathLike | None = None,
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
    n_workers: int = 1,
    **rule_params: Any,
) -> Results | ResultsList:
    """Replay HPO with an early-termination rule on a lookup table, ``repeats`` times.

    Parameters
    ----------
    table : LookupTable, str, path or None
        A table, a path to a ``.npz`` table, a shipped table's name, or None for the default
        shipped table. Its ``meta["mode"]`` (``"max"``, the default, or ``"min"`` for losses)
        sets the direction of goals, incumbents, EI and the rules.
    rule : str, Rule or list of them
        ``"none"`` (the default: no early termination), ``"etr1"``, ``"etr2"``, ``"median"``
        (parameters as keyword arguments, e.g. ``tau=1``, ``p=0.5``), a rule object
        (``lcore.stopping.ETR1(tau=1)``, your own with ``should_stop(curve, history)``, or a
        :func:`lcore.stopping.compiled_rule`), or a list of them: all run on common random
        numbers (repeat i of every rule starts from the same initial rows) and a
        :class:`ResultsList` comes back.
    goal : float or str
        A value of the table's metric, or ``"topP%"`` of the table (default ``"top0.5%"``:
        the k-th best objective in the table's direction); resolved once (float32), reported
        on the results.
    repeats : int
        Independent repeats; repeat i's generator comes from
        ``numpy.random.SeedSequence(seed).spawn(repeats)[i]``.
    seed : int, SeedSequence, Generator or None
        Same seed, same results, for any ``n_jobs`` and joblib backend. A Generator is
        consumed (one draw seeds the call); None draws fresh entropy, recorded in
        ``settings["seed_entropy"]``.
    n_jobs : int or None
        Parallel processes for the repeats (joblib; ``-1`` all cores); any joblib backend
        through ``joblib.parallel_config``.
    chooser : str, Chooser or callable
        ``"rf-ei"`` (default: 50-tree SMAC-style forest + EI), ``"random"``, a
        :class:`lcore.choosers.Chooser`, or ``fn(X_seen, y_seen, candidates_mask, rng) -> row``
        (``X_seen`` (k, d) or None without ``unit``, ``y_seen`` (k,) as reported,
        ``candidates_mask`` (n,) bool — rows being trained or evaluated are False —, ``rng``
        the repeat's :class:`lcore._rng.PyRng`). A chooser object is copied for every repeat.
    n_init : int
        Choices drawn uniformly at random before the chooser decides (default 1).
    max_evals, max_time : int, float or None
        Budgets: at most ``max_evals`` rows are started; no row starts at a simulated time
        ``>= max_time`` seconds, and a report after ``max_time`` cannot succeed.
    terminated : {"report", "exclude", "oracle"}
        What the surrogate learns from a row the rule stopped: its last value (``"report"``),
        nothing (``"exclude"``), or the row's objective from the table (``"oracle"``: how
        DEEP-BO's emulator scored runs; it leaks the future into the search).
    objective : {"final", "best"}
        A row's objective (top-P% goals, harmful stops, ``"oracle"``): its final value or its
        best epoch's (in the table's direction).
    trace : bool
        Keep each repeat's trace on the results: per started row, in start order, ``row``,
        ``worker``, ``start``, ``end``, ``epochs``, ``stopped``, ``reported`` (``end`` and
        ``reported`` NaN for a row still running when the run ended) and ``clock`` (= end).
    progress : bool
        Show a progress bar (tqdm).
    count_chooser_time : bool
        Add the chooser's measured compute time to the clock (not reproducible by design).
    chooser_params : dict, optional
        Options for a named chooser, e.g. ``{"n_trees": 50, "xi": 0.0, "n_threads": 2}``.
    n_workers : int
        Workers training rows at once in each simulated run (default 1, the paper's
        sequential setting); events are processed in (time, start order).
    **rule_params
        Parameters of a named rule (``tau``, ``r``, ``eps``, ``p``, ``q``, ``min_completed``,
        ``warmup``, ...). With a list of names each rule takes those it accepts.

    Returns
    -------
    Results or ResultsList
        Per-repeat arrays of length ``repeats``: ``success``, ``time_to_goal`` (seconds, inf
        when censored), ``n_evaluated`` (rows reported), ``n_stopped``, ``epochs_trained``,
        ``best_acc`` (best reported value in the table's direction), ``n_harmful_stops``;
        plus ``goal`` and, with ``trace=True``, ``traces``.

    Notes
    -----
    A sequential rf-ei run with ``none`` or a built-in rule ends as soon as its outcome is
    decided: once every row left would end below the goal without changing what the rule
    knows, those rows are counted at once instead of chosen one by one (a repeat that misses
    its goal no longer fits the forest on the whole table row after row). The results are the
    same bit for bit; ``trace=True``, ``max_time``, ``n_workers > 1`` and
    ``count_chooser_time`` turn it off (the order shows there), and so does the environment
    variable ``LCORE_SETTLE=0``. docs/semantics.md ("Settling") gives the conditions.

    Examples
    --------
    >>> import lcore
    >>> res = lcore.simulate(rule="etr1", tau=1, repeats=4, progress=False)
    >>> res.success.shape
    (4,)
    """
    table = _as_table(table)
    repeats = check_int("repeats", repeats, 1, 10**7)
    check_bool("progress", progress)
    if n_jobs is not None and (not is_int(n_jobs) or n_jobs == 0):
        raise ValueError(f"n_jobs must be a non-zero int (-1: all cores) or None, got {n_jobs!r}")
    settings = _settings(table, goal, n_init, max_evals, max_time, terminated, objective,
                         n_workers, count_chooser_time, trace)
    rules = _resolve_rules(rule, rule_params, table.T, settings.mode)
    chooser_obj, chooser_spec = _resolve_chooser(chooser, chooser_params, table)
    ss = as_seed_sequence(seed)
    # a fresh copy, so that a SeedSequence given twice spawns the same children twice
    ss = np.random.SeedSequence(ss.entropy, spawn_key=ss.spawn_key, pool_size=ss.pool_size)
    arrays = _table_arrays(table, settings.objective)
    out, traces = _run_all(arrays, [_rule_spec(r) for r in rules], chooser_spec, settings, ss,
                           repeats, n_jobs, progress)
    return _results(table, rules, out, traces, settings, ss, goal, chooser, chooser_obj,
                    chooser_params, repeats, isinstance(rule, (list, tuple)))
