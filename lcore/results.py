"""Results of :func:`lcore.simulate`: per-repeat arrays, summaries, paired comparisons, plots."""

from __future__ import annotations

import json
import math
import os
import zipfile
from typing import Any, Sequence

import numpy as np

from lcore._io import atomic_savez

__all__ = [
    "Results", "ResultsList", "compare", "format_summary", "table_meta", "box_stats",
    "plot_time_to_goal",
    "plot_ecdf", "plot_anytime", "plot_summary", "plot_curves", "UNITS",
]

FIELDS = (
    "success", "time_to_goal", "n_evaluated", "n_stopped", "epochs_trained", "best_acc",
    "n_harmful_stops",
)
_INT_FIELDS = ("n_evaluated", "n_stopped", "epochs_trained", "n_harmful_stops")
_TRACE_FIELDS = ("row", "epochs", "stopped", "reported", "clock")

#: time units every summary, table and figure accepts (``unit=``): seconds per unit, or None
#: for "epochs" (epochs trained, the simulated clock's other natural scale)
UNITS = {"s": 1.0, "min": 60.0, "h": 3600.0, "epochs": None}
#: decimals shown per unit (fixed precision within a column)
_DIGITS = {"s": 0, "min": 1, "h": 3, "epochs": 0}


def _check_unit(unit) -> str:
    if not isinstance(unit, str) or unit not in UNITS:
        raise ValueError(f"unit must be one of 's', 'min', 'h', 'epochs', got {unit!r}")
    return unit


def _fmt(x: float, unit: str, missing: str = "not reached") -> str:
    """A time in ``unit`` with the unit's fixed number of decimals."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    if math.isinf(x):
        return missing
    return f"{x:,.{_DIGITS[unit]}f}"


class Results:
    """The outcome of ``repeats`` replays of one rule (one rule of one :func:`lcore.simulate`).

    Attributes
    ----------
    rule : str
        A label such as ``"etr1(tau=1)"``.
    rule_params : dict
    goal : float
        The resolved goal value.
    success : ndarray (R,) bool
    time_to_goal : ndarray (R,) float64
        Simulated seconds until the goal; ``inf`` when censored (the goal was not reached).
    n_evaluated, n_stopped, epochs_trained, n_harmful_stops : ndarray (R,) int64
    best_acc : ndarray (R,) float64
        Best reported value of each repeat (in the table's direction).
    settings : dict
        Everything else the call used (goal spec, chooser, budgets, seed entropy, ...).
    traces : list of dict or None
        With ``trace=True``: per repeat, equal-length arrays, one entry per started row
        (``row``, ``epochs``, ``stopped``, ``reported``, ``clock``, and whatever else the
        replay records, such as ``start``, ``end``, ``worker``).

    Notes
    -----
    Censored repeats are never dropped: summaries count them (``n_censored``), quantiles
    treat them as ``inf``, box plots draw them at the budget and the empirical CDF of
    time-to-goal ends at the share that reached the goal.
    """

    def __init__(self, rule: str, rule_params: dict, arrays: dict, settings: dict,
                 traces: list | None = None) -> None:
        self.rule = rule
        self.rule_params = dict(rule_params)
        self.settings = dict(settings)
        self.goal = float(settings["goal"])
        for f in FIELDS:
            a = np.asarray(arrays[f])
            if f == "success":
                a = a.astype(bool)
            elif f in _INT_FIELDS:
                a = a.astype(np.int64)
            else:
                a = a.astype(np.float64)
            setattr(self, f, a)
        self.traces = traces

    @property
    def n_repeats(self) -> int:
        return int(self.success.shape[0])

    @property
    def n_censored(self) -> int:
        """Repeats that did not reach the goal."""
        return int((~self.success).sum())

    @property
    def mode(self) -> str:
        """``"max"`` (higher is better, accuracy) or ``"min"``, from the table's direction."""
        return str(self.settings.get("mode", "max"))

    def __len__(self) -> int:
        return self.n_repeats

    def __repr__(self) -> str:
        s = self.summary(unit="h")
        return (
            f"Results(rule={self.rule!r}, goal={self.goal:.4g}, repeats={self.n_repeats}, "
            f"reached={self.n_repeats - self.n_censored}/{self.n_repeats}, median "
            f"time-to-goal={_fmt(s['time_to_goal_median'], 'h')}"
            f"{'' if math.isinf(s['time_to_goal_median']) else ' h'})"
        )

    def set_table(self, table) -> Results:
        """Record what figures say about ``table`` (name, model, data, direction, best; see
        :func:`table_meta`) in ``settings["table_meta"]`` and ``settings["table_best"]``
        (the regret baseline). Returns self."""
        tm = table_meta(table)
        old = {k: v for k, v in (self.settings.get("table_meta") or {}).items() if v is not None}
        self.settings["table_meta"] = dict(tm, **{k: v for k, v in old.items() if k not in tm})
        self.settings["table_best"] = tm["best"]
        return self

    # -- time-to-goal in a unit ------------------------------------------------------------
    def time_to_goal_in(self, unit: str = "s") -> np.ndarray:
        """Time-to-goal of every repeat in ``unit``; ``inf`` for censored repeats.

        Parameters
        ----------
        unit : {"s", "min", "h", "epochs"}
            ``"epochs"``: epochs trained until the goal (a successful run ends at the goal,
            so this is its ``epochs_trained``).

        Returns
        -------
        ndarray (R,) float64
        """
        unit = _check_unit(unit)
        if unit == "epochs":
            return np.where(self.success, self.epochs_trained.astype(np.float64), np.inf)
        return self.time_to_goal / UNITS[unit]

    def censoring_times(self, unit: str = "s") -> np.ndarray:
        """When each repeat stopped being observed, in ``unit``.

        A successful repeat: its time-to-goal. A censored one: the time of its last report
        (from the traces), or ``max_time`` when there are no traces, or ``inf`` when neither
        is known (then the Kaplan-Meier curve equals the empirical CDF).

        Returns
        -------
        ndarray (R,) float64
        """
        unit = _check_unit(unit)
        out = self.time_to_goal_in(unit).copy()
        max_time = self.settings.get("max_time")
        for i in np.flatnonzero(~self.success):
            if unit == "epochs":
                out[i] = float(self.epochs_trained[i])
            elif self.traces is not None:
                t = _trace_time(self.traces[i])
                t = t[np.isfinite(t)]
                out[i] = (float(t.max()) if t.size else 0.0) / UNITS[unit]
            elif max_time is not None and math.isfinite(float(max_time)):
                out[i] = float(max_time) / UNITS[unit]
        return out

    def reached_by(self, times, unit: str = "s", method: str = "ecdf") -> np.ndarray:
        """Share of repeats that reached the goal by each time.

        Parameters
        ----------
        times : array_like (m,)
            Times in ``unit``.
        unit : {"s", "min", "h", "epochs"}
        method : {"ecdf", "km"}
            ``"ecdf"``: reached by t / all R repeats (a censored repeat counts as never
            reaching it). ``"km"``: one minus the Kaplan-Meier survival estimate, with
            censored repeats leaving the risk set at :meth:`censoring_times`.

        Returns
        -------
        ndarray (m,) float64
        """
        if method not in ("ecdf", "km"):
            raise ValueError(f"method must be 'ecdf' or 'km', got {method!r}")
        times = np.asarray(times, dtype=np.float64)
        ttg = self.time_to_goal_in(unit)
        R = self.n_repeats
        if method == "ecdf":
            ok = np.sort(ttg[np.isfinite(ttg)])
            return np.searchsorted(ok, times, side="right") / max(R, 1)
        cens = self.censoring_times(unit)
        ev_t = np.unique(ttg[np.isfinite(ttg)])
        surv = np.ones(ev_t.size)
        s = 1.0
        for j, t in enumerate(ev_t):
            d = int(np.sum(ttg == t))
            # at risk: not yet reached and not yet censored before t (ties: events first)
            at_risk = int(np.sum(np.where(np.isfinite(ttg), ttg, cens) >= t))
            s *= 1.0 - d / at_risk
            surv[j] = s
        idx = np.searchsorted(ev_t, times, side="right") - 1
        return np.where(idx >= 0, 1.0 - surv[np.maximum(idx, 0)], 0.0)

    def summary(self, unit: str = "s") -> dict:
        """Median, quartiles, IQR, mean of time-to-goal, success, evaluations, stops, harm.

        Parameters
        ----------
        unit : {"s", "min", "h", "epochs"}
            Unit of every ``time_to_goal_*`` entry (default seconds); the dict says it
            (``"unit"``).

        Returns
        -------
        dict
            ``repeats`` (R), ``n_reached``, ``n_censored`` (R - n_reached), ``success_rate``;
            censored repeats count as ``inf`` in the median and quartiles (so a median is
            ``inf`` when more than half missed); ``time_to_goal_mean`` is over the
            successful repeats only.
        """
        ttg = self.time_to_goal_in(unit)
        # quantiles by order statistics, so that censored repeats (inf) stay inf
        srt = np.sort(ttg)
        med = _quantile_inf(srt, 0.5)
        q25 = _quantile_inf(srt, 0.25)
        q75 = _quantile_inf(srt, 0.75)
        ok = self.success
        return {
            "rule": self.rule,
            "repeats": self.n_repeats,
            "goal": self.goal,
            "unit": unit,
            "n_reached": int(ok.sum()),
            "n_censored": self.n_censored,
            "success_rate": float(ok.mean()) if ok.size else 0.0,
            "time_to_goal_median": med,
            "time_to_goal_q25": q25,
            "time_to_goal_q75": q75,
            "time_to_goal_iqr": q75 - q25 if math.isfinite(q75) else math.inf,
            "time_to_goal_mean": float(ttg[ok].mean()) if ok.any() else math.inf,
            "n_evaluated_mean": float(self.n_evaluated.mean()),
            "n_stopped_mean": float(self.n_stopped.mean()),
            "epochs_trained_mean": float(self.epochs_trained.mean()),
            "n_harmful_stops_mean": float(self.n_harmful_stops.mean()),
            "n_harmful_stops_total": int(self.n_harmful_stops.sum()),
            "repeats_with_harmful_stops": int((self.n_harmful_stops > 0).sum()),
        }

    # -- anytime performance ---------------------------------------------------------------
    def best_so_far(self, times, unit: str = "s", regret: bool = False,
                    best: float | None = None) -> np.ndarray:
        """The best reported value of each repeat at each simulated time (needs traces).

        Parameters
        ----------
        times : array_like (m,)
            Simulated times in ``unit``.
        unit : {"s", "min", "h", "epochs"}
            ``"epochs"``: epochs trained by the rows reported so far (one worker only).
        regret : bool
            Return the distance to ``best`` in the table's direction instead (>= 0).
        best : float, optional
            The table's best objective, for ``regret``; default ``settings["table_best"]``.

        Returns
        -------
        ndarray (R, m) float64
            NaN before a repeat's first report. Reports are taken in time order (the traces'
            row order need not be), dropped rows (NaN reports) are skipped, "best" follows
            ``settings["mode"]`` (``"min"``: lower is better). A repeat that ended keeps its
            final best afterwards.
        """
        unit = _check_unit(unit)
        if self.traces is None:
            raise ValueError(
                "best_so_far needs traces: run lcore.simulate(..., trace=True) "
                "(or lcore simulate --trace)"
            )
        if not isinstance(regret, (bool, np.bool_)):
            raise TypeError(f"regret must be True or False, got {regret!r}")
        if unit == "epochs" and int(self.settings.get("n_workers", 1) or 1) > 1:
            raise ValueError(
                f"unit='epochs' for anytime curves needs one worker (the epochs of rows still "
                f"training are not in the trace), got n_workers="
                f"{self.settings.get('n_workers')}; use unit='s', 'min' or 'h'"
            )
        if regret:
            best = _table_best(self, best)
        times = np.asarray(times, dtype=np.float64).ravel()
        minimise = self.mode == "min"
        out = np.full((self.n_repeats, times.size), np.nan)
        for i, tr in enumerate(self.traces):
            t_end = _trace_time(tr)
            rep = np.asarray(tr["reported"], dtype=np.float64)
            ok = np.isfinite(rep) & np.isfinite(t_end)
            order = np.argsort(t_end[ok], kind="stable")  # ties: trace (start) order
            te, v = t_end[ok][order], rep[ok][order]
            if unit == "epochs":
                te = np.cumsum(np.asarray(tr["epochs"], dtype=np.float64)[ok][order])
            else:
                te = te / UNITS[unit]
            if v.size == 0:
                continue
            run = np.minimum.accumulate(v) if minimise else np.maximum.accumulate(v)
            idx = np.searchsorted(te, times, side="right") - 1
            out[i] = np.where(idx >= 0, run[np.maximum(idx, 0)], np.nan)
        if regret:
            out = (out - best) if minimise else (best - out)
        return out

    def anytime_quantiles(self, times, unit: str = "s", regret: bool = False,
                          best: float | None = None, q=(0.25, 0.5, 0.75)) -> np.ndarray:
        """Quantiles over repeats of :meth:`best_so_far` at each time.

        A repeat with no report yet counts as the worst value, so a quantile is NaN (not
        drawn) until enough repeats have reported; it is never taken over the repeats that
        happen to have reported.

        Returns
        -------
        ndarray (len(q), m) float64
            Row j: the value that a share ``q[j]`` of the repeats does at least as well as
            (so ``q=0.25`` is the better quartile, in either direction).
        """
        b = self.best_so_far(times, unit=unit, regret=regret, best=best)
        # badness: larger is worse (regret, a minimised value, or minus an accuracy)
        sign = 1.0 if (regret or self.mode == "min") else -1.0
        bad = np.sort(np.where(np.isnan(b), np.inf, sign * b), axis=0)
        out = np.empty((len(q), bad.shape[1]))
        for j, qq in enumerate(q):
            out[j] = [sign * _quantile_inf(bad[:, k], float(qq)) for k in range(bad.shape[1])]
        out[~np.isfinite(out)] = np.nan
        return out

    def to_frame(self):
        """A pandas DataFrame, one row per repeat (plus the rule label)."""
        import pandas as pd

        df = pd.DataFrame({f: getattr(self, f) for f in FIELDS})
        df.insert(0, "repeat", np.arange(self.n_repeats))
        df.insert(0, "rule", self.rule)
        return df

    # -- persistence -----------------------------------------------------------------------
    def _arrays(self, prefix: str = "") -> dict:
        arrs = {prefix + f: getattr(self, f) for f in FIELDS}
        fields = list(self.traces[0]) if self.traces else list(_TRACE_FIELDS)
        meta = {"rule": self.rule, "rule_params": self.rule_params, "settings": self.settings,
                "has_traces": self.traces is not None, "trace_fields": fields}
        arrs[prefix + "meta_json"] = np.array(json.dumps(meta, default=_json_default))
        if self.traces is not None:
            lengths = np.array([len(t["row"]) for t in self.traces], dtype=np.int64)
            arrs[prefix + "trace_lengths"] = lengths
            for f in fields:
                parts = [np.asarray(t[f]) for t in self.traces]
                arrs[prefix + "trace_" + f] = (
                    np.concatenate(parts) if parts else np.empty(0)
                )
        return arrs

    @classmethod
    def _from_arrays(cls, z, prefix: str = "") -> Results:
        meta = json.loads(str(z[prefix + "meta_json"]))
        arrays = {f: z[prefix + f] for f in FIELDS}
        traces = None
        if meta.get("has_traces"):
            fields = meta.get("trace_fields", list(_TRACE_FIELDS))
            lengths = z[prefix + "trace_lengths"]
            offs = np.concatenate([[0], np.cumsum(lengths)])
            cols = {f: z[prefix + "trace_" + f] for f in fields}
            traces = [
                {f: cols[f][offs[i]: offs[i + 1]] for f in fields}
                for i in range(len(lengths))
            ]
        return cls(meta["rule"], meta["rule_params"], arrays, meta["settings"], traces)

    def save(self, path) -> str:
        """Write to a ``.npz`` (no pickles). Returns the path."""
        return ResultsList([self]).save(path)

    @staticmethod
    def load(path) -> Results | ResultsList:
        """Read results written by :meth:`save` (a ResultsList when it holds several)."""
        out = ResultsList.load(path)
        return out[0] if len(out) == 1 else out

    def plot(self, ax=None, **kw):
        """Box plot of time-to-goal over all repeats (see :func:`plot_time_to_goal`)."""
        return plot_time_to_goal([self], ax=ax, **kw)

    def plot_ecdf(self, ax=None, **kw):
        """Share of repeats that reached the goal by time t (see :func:`plot_ecdf`)."""
        return plot_ecdf([self], ax=ax, **kw)

    def plot_anytime(self, ax=None, **kw):
        """Median and quartiles of the best value so far over time (see
        :func:`plot_anytime`)."""
        return plot_anytime([self], ax=ax, **kw)


def _trace_time(tr: dict) -> np.ndarray:
    """The time of each trace row's report: ``end`` when the trace has it, else ``clock``."""
    return np.asarray(tr["end"] if "end" in tr else tr["clock"], dtype=np.float64)


def _table_best(res: Results, best) -> float:
    if best is None:
        best = res.settings.get("table_best")
    if best is None:
        raise ValueError(
            "regret needs the table's best objective: pass best=table.objective().max() "
            "(nanmin for a 'min' table), or results whose settings carry 'table_best'"
        )
    if isinstance(best, bool) or not isinstance(best, (int, float, np.floating, np.integer)) \
            or not math.isfinite(float(best)):
        raise ValueError(f"best must be a finite number, got {best!r}")
    return float(best)


def table_meta(table) -> dict:
    """What figures and reports say about a table: name, model, data, direction, best.

    Parameters
    ----------
    table : LookupTable

    Returns
    -------
    dict
        ``name`` (the preset / space name), ``model``, ``data`` (a short description of the
        data the rows were trained on, e.g. "2,000 train / 1,000 val images of the MNIST test
        set at 14x14"), ``dataset``, ``source``, ``synthetic``, ``mode``, ``metric`` and
        ``best`` (the best final objective in the table's direction).
    """
    meta = table.meta or {}
    mode = meta.get("mode", "max")
    obj = np.asarray(table.objective("final"), dtype=np.float64)
    finite = obj[np.isfinite(obj)]
    best = None
    if finite.size:
        best = float(finite.min() if mode == "min" else finite.max())
    space = getattr(table, "space", None)
    return {
        "name": meta.get("name") or meta.get("preset") or getattr(space, "name", None),
        "model": meta.get("model"),
        "data": _data_text(meta),
        "dataset": meta.get("dataset"),
        "source": meta.get("source"),
        "synthetic": bool(meta.get("synthetic", False)),
        "mode": mode,
        "metric": meta.get("metric"),
        "best": best,
        "n": int(table.n),
        "T": int(table.T),
    }


def _data_text(meta: dict) -> str | None:
    data = meta.get("data")
    if isinstance(data, dict):
        src = str(data.get("source") or meta.get("dataset") or "data")
        src = src.split(" (")[0]  # "MNIST test set (10000 images)" -> "MNIST test set"
        parts = []
        if data.get("n_train") is not None:
            parts.append(f"{int(data['n_train']):,} train")
        if data.get("n_val") is not None:
            parts.append(f"{int(data['n_val']):,} val")
        text = " / ".join(parts) + (" images of the " if parts else "") + src
        shape = data.get("image_shape")
        if isinstance(shape, (list, tuple)) and len(shape) >= 2:
            text += f" at {shape[-2]}\u00d7{shape[-1]}"
        return text
    if isinstance(data, str):
        return data
    return meta.get("dataset")


def _describe(results: Sequence[Results], width: int = 80) -> str:
    """``table · model · data · chooser`` for a figure title."""
    if not results:
        return ""
    st = results[0].settings
    tm = st.get("table_meta") or {}
    name = tm.get("name")
    if not name:
        rep = str(st.get("table") or "")
        name = rep.split("space='")[1].split("'")[0] if "space='" in rep else "table"
    bits = [("SYNTHETIC " if tm.get("synthetic") else "") + str(name)]
    if tm.get("model"):
        bits.append(str(tm["model"]))
    data = tm.get("data") or tm.get("dataset")
    if data:
        bits.append(str(data))
    import textwrap

    head = textwrap.fill(" \u00b7 ".join(bits), width=width)
    extra = f"chooser {st.get('chooser')}"
    if st.get("max_evals") is not None and tm.get("n") and st["max_evals"] < tm["n"]:
        extra += f", budget {st['max_evals']} evaluations"
    if st.get("max_time") is not None:
        extra += f", budget {st['max_time'] / 3600:.3g} h"
    if st.get("terminated", "report") != "report":
        extra += f", terminated={st.get('terminated')}"
    return f"{head}\n{extra}"


def _quantile_inf(srt: np.ndarray, q: float) -> float:
    """Linear-interpolation quantile of sorted data that may end in inf."""
    n = srt.size
    if n == 0:
        return math.nan
    pos = q * (n - 1)
    lo, hi = int(math.floor(pos)), int(math.ceil(pos))
    a, b = float(srt[lo]), float(srt[hi])
    if lo == hi or a == b:
        return a
    if math.isinf(b):
        return math.inf
    return a + (b - a) * (pos - lo)


def _json_default(o):
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    return repr(o)


class ResultsList(list):
    """Several :class:`Results` of one call (one per rule, on common random numbers)."""

    def __getitem__(self, key):
        if isinstance(key, str):
            for r in self:
                if r.rule == key:
                    return r
            raise KeyError(f"no results for rule {key!r}; rules: {[r.rule for r in self]}")
        return super().__getitem__(key)

    def set_table(self, table) -> ResultsList:
        """:meth:`Results.set_table` for each. Returns self."""
        for r in self:
            r.set_table(table)
        return self

    def summary(self, unit: str = "s") -> list[dict]:
        """One summary dict per rule (see :meth:`Results.summary`)."""
        return [r.summary(unit=unit) for r in self]

    def summary_table(self, unit: str = "h") -> str:
        """The summaries as an aligned text table (see :func:`format_summary`)."""
        return format_summary(self, unit=unit)

    def to_frame(self):
        import pandas as pd

        return pd.concat([r.to_frame() for r in self], ignore_index=True)

    def compare(self, a: int | str = 1, b: int | str = 0, **kw) -> dict:
        """Paired comparison of two rules of this list (see :func:`compare`)."""
        return compare(self[a], self[b], **kw)

    def save(self, path) -> str:
        path = os.fspath(path)
        if not path.endswith(".npz"):
            path += ".npz"
        arrays: dict[str, Any] = {"format": np.array("lcore-results"),
                                  "n_results": np.array(len(self))}
        for i, r in enumerate(self):
            arrays.update(r._arrays(prefix=f"r{i}_"))
        return atomic_savez(path, arrays)

    @staticmethod
    def load(path) -> ResultsList:
        try:
            with np.load(os.fspath(path), allow_pickle=False) as z:
                if "format" not in z.files or str(z["format"]) != "lcore-results":
                    raise ValueError(f"{os.fspath(path)!r} is not an lcore results file")
                return ResultsList(
                    Results._from_arrays(z, prefix=f"r{i}_") for i in range(int(z["n_results"]))
                )
        except (OSError, KeyError, EOFError, zipfile.BadZipFile) as exc:
            raise ValueError(
                f"{os.fspath(path)!r} could not be read as lcore results: {exc}"
            ) from None

    def plot(self, ax=None, **kw):
        """Box plots of time-to-goal per rule (see :func:`plot_time_to_goal`)."""
        return plot_time_to_goal(self, ax=ax, **kw)

    def plot_ecdf(self, ax=None, **kw):
        """Share of repeats at the goal by time t, per rule (see :func:`plot_ecdf`)."""
        return plot_ecdf(self, ax=ax, **kw)

    def plot_anytime(self, ax=None, **kw):
        """Best value so far over time, per rule (see :func:`plot_anytime`)."""
        return plot_anytime(self, ax=ax, **kw)

    def plot_summary(self, **kw):
        """Box plots and empirical CDFs side by side (see :func:`plot_summary`)."""
        return plot_summary(self, **kw)


def format_summary(results: Sequence[Results], unit: str = "h") -> str:
    """Aligned text table of summaries, every time in ``unit`` with fixed decimals.

    Every repeat counts: ``reached`` says how many of the R repeats reached the goal and
    ``missed`` how many did not; median and quartiles treat a miss as "not reached".

    Parameters
    ----------
    results : sequence of Results
    unit : {"s", "min", "h", "epochs"}

    Returns
    -------
    str
    """
    unit = _check_unit(unit)
    u = unit
    head = ("rule", "reached", "missed", f"median {u}", f"q25 {u}", f"q75 {u}",
            f"mean {u} (reached)", "evals", "stops", "harmful")
    rows = []
    for r in results:
        s = r.summary(unit=unit)
        rows.append((
            s["rule"], f"{s['n_reached']}/{s['repeats']}", str(s["n_censored"]),
            _fmt(s["time_to_goal_median"], unit), _fmt(s["time_to_goal_q25"], unit),
            _fmt(s["time_to_goal_q75"], unit), _fmt(s["time_to_goal_mean"], unit),
            f"{s['n_evaluated_mean']:.1f}", f"{s['n_stopped_mean']:.1f}",
            f"{s['n_harmful_stops_mean']:.2f}",
        ))
    widths = [max(len(x[i]) for x in [head, *rows]) for i in range(len(head))]
    fmt = "  ".join(f"{{:<{w}}}" if i == 0 else f"{{:>{w}}}" for i, w in enumerate(widths))
    lines = [fmt.format(*head)] + [fmt.format(*row) for row in rows]
    if results:
        r0 = results[0]
        lines.append(
            f"goal = {r0.goal:.6g} ({r0.settings.get('goal_spec')}), {r0.n_repeats} repeats; "
            "a missed repeat counts as 'not reached' in the median and quartiles"
        )
    return "\n".join(lines)


def compare(a: Results, b: Results, n_boot: int = 2000, seed: int = 0,
            confidence: float = 0.95, may_differ: Sequence[str] = ()) -> dict:
    """Paired comparison of time-to-goal: does ``a`` beat ``b``?

    Both must come from the same call (or the same seed and number of repeats), so that
    repeat i of each started from the same rows. ``may_differ`` names settings that may
    differ besides the rule (e.g. ``("terminated",)`` to pair ``"oracle"`` with ``"report"``
    runs of one seed).

    Returns
    -------
    dict
        ``median_ratio``: median over repeats of ``a.time_to_goal / b.time_to_goal``
        (repeats censored in both are left out; inf/finite = inf); ``ci_low``, ``ci_high``:
        a percentile-bootstrap interval of that median (``n_boot`` resamples of the repeats);
        ``share_a_better``: share of all repeats where a reached the goal strictly sooner (a
        censored repeat counts as never); ``share_b_better``; ``n_pairs``: repeats in the
        ratio (those censored under both rules are left out of it).
    """
    if not (isinstance(confidence, float) and 0.0 < confidence < 1.0):
        raise ValueError(f"confidence must be a float in (0, 1), e.g. 0.95, got {confidence!r}")
    if isinstance(n_boot, bool) or not isinstance(n_boot, (int, np.integer)) or n_boot < 1:
        raise ValueError(f"n_boot must be an int >= 1, got {n_boot!r}")
    if a.n_repeats != b.n_repeats:
        raise ValueError(
            f"compare needs paired results with the same number of repeats, got "
            f"{a.n_repeats} and {b.n_repeats}"
        )
    ka = (a.settings.get("seed_entropy"), a.settings.get("seed_spawn_key"))
    kb = (b.settings.get("seed_entropy"), b.settings.get("seed_spawn_key"))
    if ka != kb:
        raise ValueError(
            "compare needs paired results (same seed, so repeat i starts from the same rows); "
            f"got seeds {ka[0]} and {kb[0]}"
        )
    keys = ("goal", "table", "chooser", "chooser_params", "n_init", "max_evals", "max_time",
            "terminated", "objective", "repeats", "n_workers")
    if isinstance(may_differ, str) or set(may_differ) - set(keys):
        raise ValueError(f"may_differ takes setting names among {keys}, got {may_differ!r}")
    for key in keys:
        if key in may_differ:
            continue
        if a.settings.get(key) != b.settings.get(key):
            raise ValueError(
                f"compare needs results of the same experiment apart from the rule; {key} "
                f"differs: {a.settings.get(key)!r} vs {b.settings.get(key)!r}"
            )
    ta, tb = a.time_to_goal, b.time_to_goal
    both_censored = np.isinf(ta) & np.isinf(tb)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(tb > 0, ta / tb, np.where(ta > 0, np.inf, 1.0))
    ratio = ratio[~both_censored]
    out = {
        "a": a.rule, "b": b.rule, "n_pairs": int(ratio.size),
        "share_a_better": float(np.mean(ta < tb)),
        "share_b_better": float(np.mean(tb < ta)),
        "median_ratio": math.nan, "ci_low": math.nan, "ci_high": math.nan,
        "confidence": confidence,
    }
    if ratio.size == 0:
        return out
    srt = np.sort(ratio)
    out["median_ratio"] = _quantile_inf(srt, 0.5)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, ratio.size, size=(n_boot, ratio.size))
    boots = np.sort(ratio[idx], axis=1)
    meds = np.array([_quantile_inf(row, 0.5) for row in boots])
    meds.sort()
    alpha = (1.0 - confidence) / 2.0
    out["ci_low"] = _quantile_inf(meds, alpha)
    out["ci_high"] = _quantile_inf(meds, 1.0 - alpha)
    return out


# ------------------------------------------------------------------------------------------
# plots (matplotlib, the `plot` extra; imported only here)


def _plt():
    try:
        import matplotlib.pyplot as plt
    except ImportError:  # pragma: no cover
        raise ImportError("plotting needs matplotlib: pip install 'lcore[plot]'") from None
    return plt


_UNIT_WORDS = {"s": "s", "min": "min", "h": "h", "epochs": "epochs trained"}


def _rule_styles(labels: Sequence[str]) -> list[dict]:
    """One colour family per rule name (none black, ETR-1 blues, ETR-2 reds, median green,
    others purple / brown / grey), darker for later members, and a line style cycle."""
    import matplotlib as mpl

    families = {"none": "Greys", "etr1": "Blues", "etr2": "Oranges", "median": "Greens"}
    others = ["Purples", "copper", "Greys", "PuRd", "YlGn", "BuPu"]
    names = [lab.split("(")[0] for lab in labels]
    order: dict[str, list[int]] = {}
    for i, n in enumerate(names):
        order.setdefault(n, []).append(i)
    styles: list[dict] = [{} for _ in labels]
    extra = 0
    dashes = ["-", "--", "-.", ":"]
    for n, idx in order.items():
        if n in families:
            cmap = mpl.colormaps[families[n]]
        else:
            cmap = mpl.colormaps[others[extra % len(others)]]
            extra += 1
        for j, i in enumerate(idx):
            if n == "none":
                color = "black"
            else:
                color = cmap(0.55 + 0.4 * (j / max(1, len(idx) - 1)) if len(idx) > 1 else 0.75)
            styles[i] = {"color": color, "ls": dashes[j % len(dashes)]}
    return styles


def _miss_level(results: Sequence[Results], unit: str, budget) -> tuple[float, str]:
    """Where missed repeats are drawn: the time budget when there is one, else just above
    every finite time-to-goal."""
    if budget is None and unit != "epochs" and results:
        mt = results[0].settings.get("max_time")
        if mt is not None and math.isfinite(float(mt)):
            budget = float(mt) / UNITS[unit]
    if budget is not None:
        return float(budget), f"missed: drawn at the budget max_time = {_fmt(budget, unit)} {unit}"
    fin = [v[np.isfinite(v)] for v in (r.time_to_goal_in(unit) for r in results)]
    top = max((float(v.max()) for v in fin if v.size), default=1.0)
    top = top if top > 0 else 1.0
    mev = results[0].settings.get("max_evals") if results else None
    why = f"max_evals = {mev} or the table ran out" if mev else "the table ran out"
    return 1.12 * top, f"missed the goal ({why}); drawn above every time"


def _goal_text(results: Sequence[Results]) -> str:
    r0 = results[0]
    spec = r0.settings.get("goal_spec")
    return f"goal {r0.goal:.4g}" + (f" ({spec})" if isinstance(spec, str) else "")


def box_stats(results: Sequence[Results], unit: str = "h",
              budget: float | None = None) -> list[dict]:
    """The numbers behind :func:`plot_time_to_goal`, one dict per rule, over ALL repeats.

    Returns
    -------
    list of dict
        ``label``, ``n`` (R), ``n_missed``, ``miss_level`` (where misses are drawn, in
        ``unit``), ``miss_label``, ``values`` (R,) (each repeat's time, misses at
        ``miss_level``), ``med``, ``q1``, ``q3`` (as :meth:`Results.summary`, a miss counted
        at ``miss_level``), ``whislo``, ``whishi`` (1.5 IQR whiskers over all R values) and
        ``fliers`` (finite times beyond them).
    """
    unit = _check_unit(unit)
    y_miss, miss_label = _miss_level(results, unit, budget)
    out = []
    for r in results:
        srt = np.sort(r.time_to_goal_in(unit))
        q1, med, q3 = (min(_quantile_inf(srt, q), y_miss) for q in (0.25, 0.5, 0.75))
        w = np.where(np.isfinite(srt), srt, y_miss)
        iqr = q3 - q1
        inside = w[(w >= q1 - 1.5 * iqr) & (w <= q3 + 1.5 * iqr)]
        lo = float(inside.min()) if inside.size else q1
        hi = float(inside.max()) if inside.size else q3
        fl = srt[np.isfinite(srt) & ((srt < lo) | (srt > hi))]
        out.append({"label": r.rule, "n": r.n_repeats, "n_missed": r.n_censored,
                    "miss_level": y_miss, "miss_label": miss_label,
                    "values": np.where(np.isfinite(r.time_to_goal_in(unit)),
                                       r.time_to_goal_in(unit), y_miss),
                    "med": med, "q1": q1, "q3": q3, "whislo": lo, "whishi": hi, "fliers": fl})
    return out


def plot_time_to_goal(results: Sequence[Results], ax=None, unit: str = "h", title=None,
                      budget: float | None = None):
    """Box plots of time-to-goal per rule over ALL repeats, like the paper's Fig. 4/5.

    Missed repeats are part of every box: they sit at the budget (``max_time`` when the run
    had one, else a "not reached" level above every finite time), drawn there side by side as
    red crosses with their count ("8/50 missed") printed above each rule. Quartiles follow
    :meth:`Results.summary` (a miss is "not reached", i.e. at that level).

    Parameters
    ----------
    results : sequence of Results
    ax : matplotlib Axes, optional
    unit : {"s", "min", "h", "epochs"}
    title : str, optional
        Default: the goal, the repeats, and table, model, data and chooser from the results.
    budget : float, optional
        Where to draw misses, in ``unit`` (default as above).

    Returns
    -------
    matplotlib Axes
    """
    unit = _check_unit(unit)
    plt = _plt()
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    n = len(results)
    if ax is None:
        _, ax = plt.subplots(figsize=(max(6.0, 1.6 + 1.0 * n), 5.4))
    stats = box_stats(results, unit=unit, budget=budget)
    y_miss, miss_label = (stats[0]["miss_level"], stats[0]["miss_label"]) if stats else \
        _miss_level(results, unit, budget)
    labels = [f"{r.rule}\nmedian {_fmt(r.summary(unit=unit)['time_to_goal_median'], unit)}"
              for r in results]
    if stats:
        ax.bxp([{k: st[k] for k in ("med", "q1", "q3", "whislo", "whishi", "fliers", "label")}
                for st in stats], showfliers=True, patch_artist=True,
               boxprops={"facecolor": "#dce6f2", "edgecolor": "#30507a"},
               medianprops={"color": "tab:orange", "lw": 2},
               flierprops={"marker": "o", "ms": 3, "mfc": "none", "mec": "0.4"})
    ax.axhline(y_miss, color="tab:red", lw=0.8, ls="--", zorder=0)
    for i, r in enumerate(results, start=1):
        k = r.n_censored
        if k:
            xs = i + (np.linspace(-0.3, 0.3, k) if k > 1 else np.zeros(1))
            ax.plot(xs, np.full(k, y_miss), "x", color="tab:red", ms=4, mew=1.0, zorder=3)
        ax.text(i, y_miss * 1.025, f"{k}/{r.n_repeats}\nmissed", ha="center", va="bottom",
                fontsize=8.5, color="tab:red" if k else "0.35")
    ax.set_ylim(0, y_miss * 1.16)
    ax.set_xticks(range(1, n + 1), labels, rotation=30 if n > 10 else 0,
                  ha="right" if n > 10 else "center", fontsize=8.5)
    ax.set_ylabel(f"time to goal ({_UNIT_WORDS[unit]}, simulated)", fontsize=10)
    handles = [
        Patch(facecolor="#dce6f2", edgecolor="#30507a", label="quartiles over all repeats"),
        Line2D([], [], color="tab:orange", lw=2, label="median"),
        Line2D([], [], color="tab:red", marker="x", ls="--", lw=0.8, label=miss_label),
    ]
    # below the axes, so that it never hides a box or a miss
    ax.legend(handles=handles, loc="upper center", fontsize=8.5, framealpha=0.9, ncol=3,
              bbox_to_anchor=(0.5, -0.3 if n > 10 else -0.12))
    if title is None and results:
        title = (f"Time to {_goal_text(results)}, all {results[0].n_repeats} repeats per rule\n"
                 f"{_describe(results)}")
    ax.set_title(title or "", fontsize=10)
    ax.tick_params(axis="y", labelsize=9)
    ax.figure.tight_layout()
    return ax


def plot_ecdf(results: Sequence[Results], ax=None, unit: str = "h", method: str = "ecdf",
              title=None):
    """Share of repeats that reached the goal by time t, one step curve per rule.

    Parameters
    ----------
    results : sequence of Results
    ax : matplotlib Axes, optional
    unit : {"s", "min", "h", "epochs"}
    method : {"ecdf", "km"}
        ``"ecdf"``: out of all R repeats (a curve that ends below 1 shows the misses);
        ``"km"``: one minus the Kaplan-Meier estimate (see :meth:`Results.reached_by`).
    title : str, optional

    Returns
    -------
    matplotlib Axes
    """
    unit = _check_unit(unit)
    plt = _plt()
    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 6.0))
    fin = [r.time_to_goal_in(unit) for r in results]
    xmax = max((float(v[np.isfinite(v)].max()) for v in fin if np.isfinite(v).any()),
               default=1.0) * 1.05
    for r, v, st in zip(results, fin, _rule_styles([r.rule for r in results])):
        x = np.concatenate([[0.0], np.sort(v[np.isfinite(v)]), [xmax]])
        y = r.reached_by(x, unit=unit, method=method)
        ax.step(x, y, where="post", lw=1.4, label=f"{r.rule} ({r.n_censored}/{r.n_repeats} "
                f"missed)", **st)
    ax.set_xlim(0, xmax)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel(f"simulated time ({_UNIT_WORDS[unit]})", fontsize=10)
    what = "share of all repeats" if method == "ecdf" else "1 - Kaplan-Meier survival"
    ax.set_ylabel(f"reached the goal by then ({what})", fontsize=10)
    ax.grid(alpha=0.3)
    # below the axes: inside, it would hide the curves' plateaus
    ax.legend(fontsize=8.5, loc="upper center", bbox_to_anchor=(0.5, -0.13),
              ncol=2 if len(results) > 3 else 1, framealpha=0.9)
    if title is None and results:
        title = (f"Repeats at {_goal_text(results)} over time "
                 f"({'empirical CDF' if method == 'ecdf' else 'Kaplan-Meier'})\n"
                 f"{_describe(results)}")
    ax.set_title(title or "", fontsize=10)
    ax.tick_params(labelsize=9)
    ax.figure.tight_layout()
    return ax


def plot_anytime(results: Sequence[Results], ax=None, unit: str = "h", regret: bool = False,
                 best: float | None = None, times=None, n_points: int = 300,
                 band: bool = True, log: bool = True, title=None):
    """Best value found so far against simulated time: median over repeats per rule, with
    the quartile band (needs traces).

    Parameters
    ----------
    results : sequence of Results
    ax : matplotlib Axes, optional
    unit : {"s", "min", "h", "epochs"}
    regret : bool
        Plot the distance to the table's best objective (``best``, default
        ``settings["table_best"]``) instead of the value.
    best : float, optional
    times : array_like, optional
        Times in ``unit``; default ``n_points`` from 0 to the 95th percentile of when the
        repeats ended (a repeat that ended keeps its final best).
    band : bool
        Shade the quartiles.
    log : bool
        Logarithmic time axis (and, with ``regret``, a logarithmic regret axis on which a
        regret of 0 is drawn at the floor named in the legend).
    title : str, optional

    Returns
    -------
    matplotlib Axes
    """
    unit = _check_unit(unit)
    plt = _plt()
    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 4.6))
    if times is None:
        ends, firsts = [], []
        for r in results:
            ends.append(r.censoring_times(unit))
            if r.traces is None:
                r.best_so_far(times=[0.0])  # raises the "needs traces" error
            for tr in r.traces:
                t = _trace_time(tr)
                if unit == "epochs":
                    t = np.cumsum(np.asarray(tr["epochs"], dtype=np.float64))
                else:
                    t = t / UNITS[unit]
                t = t[np.isfinite(t) & (t > 0)]
                if t.size:
                    firsts.append(float(t.min()))
        ends = np.concatenate(ends) if ends else np.ones(1)
        ends = ends[np.isfinite(ends)]
        tmax = float(np.percentile(ends, 95)) if ends.size else 1.0
        tmax = tmax if tmax > 0 else 1.0
        if log:
            tmin = min(firsts) if firsts else tmax / 1000
            times = np.geomspace(tmin, max(tmax, tmin * 10), n_points)
        else:
            times = np.linspace(0.0, tmax, n_points)
    times = np.asarray(times, dtype=np.float64)
    curves = []
    for r, st in zip(results, _rule_styles([r.rule for r in results])):
        curves.append((r, st, r.anytime_quantiles(times, unit=unit, regret=regret, best=best)))
    floor = None
    if regret and log:
        pos = np.concatenate([q[np.isfinite(q) & (q > 0)] for _, _, q in curves] or [[]])
        floor = 0.5 * float(pos.min()) if pos.size else 1e-6
    for r, st, q in curves:
        if floor is not None:
            q = np.where(np.isfinite(q), np.maximum(q, floor), np.nan)
        ax.plot(times, q[1], lw=1.5, label=f"{r.rule} (median)", **st)
        if band:
            ax.fill_between(times, q[0], q[2], color=st["color"], alpha=0.12, lw=0)
    if results:
        r0 = results[0]
        g = r0.goal
        if regret:
            b = _table_best(r0, best)
            g = (g - b) if r0.mode == "min" else (b - g)
        if floor is not None:
            g = max(g, floor)
        ax.axhline(g, color="tab:red", lw=0.8, ls="--",
                   label=f"{_goal_text(results)}" + (" as regret" if regret else ""))
    if log:
        ax.set_xscale("log")
        if regret:
            ax.set_yscale("log")
            ax.plot([], [], " ", label=f"regret 0 drawn at {floor:.2g}")
    elif regret:
        ax.set_ylim(bottom=0)
    if not regret and curves:
        meds = np.concatenate([q[1][np.isfinite(q[1])] for _, _, q in curves] or [[]])
        if meds.size:
            lo, hi = np.percentile(meds, 2), float(np.nanmax([meds.max(), results[0].goal]))
            pad = 0.05 * (hi - lo if hi > lo else 1.0)
            ax.set_ylim(lo - pad, hi + pad)
    metric = (results[0].settings.get("table_meta") or {}).get("metric") if results else None
    metric = metric or "accuracy"
    ax.set_xlabel(f"simulated time ({_UNIT_WORDS[unit]})", fontsize=10)
    ax.set_ylabel(f"regret: table's best - best {metric} so far" if regret
                  else f"best reported {metric} so far", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8.5, loc="upper right" if regret else "lower right", framealpha=0.9)
    if title is None and results:
        title = (f"Best {metric} found so far (median, band: quartiles over "
                 f"{results[0].n_repeats} repeats)\n{_describe(results)}")
    ax.set_title(title or "", fontsize=10)
    ax.tick_params(labelsize=9)
    ax.figure.tight_layout()
    return ax


def plot_summary(results: Sequence[Results], unit: str = "h", title=None, figsize=None):
    """Box plots over all repeats (left) and the share at the goal over time (right).

    Returns
    -------
    ndarray of 2 matplotlib Axes
    """
    unit = _check_unit(unit)
    plt = _plt()
    n = len(results)
    fig, axes = plt.subplots(1, 2, figsize=figsize or (max(12.0, 6.0 + 0.95 * n), 6.6),
                             gridspec_kw={"width_ratios": [max(4.0, 0.95 * n), 5.5]})
    plot_time_to_goal(results, ax=axes[0], unit=unit, title="Time to goal, every repeat")
    plot_ecdf(results, ax=axes[1], unit=unit, title="Share of repeats at the goal by then")
    if title is None and results:
        title = (f"{_goal_text(results)}, {results[0].n_repeats} repeats per rule: "
                 f"{_describe(results, width=100)}")
    fig.suptitle(title or "", fontsize=11)
    fig.tight_layout()
    return axes


def plot_curves(table, n: int = 100, seed: int = 0, axes=None):
    """Learning-curve panels like the paper's Fig. 1/2: random, top and bottom ``n`` rows.

    Top and bottom are by final value in the table's direction (failed rows count as the
    worst).

    Returns
    -------
    ndarray of 3 matplotlib Axes
    """
    plt = _plt()
    if axes is None:
        _, axes = plt.subplots(1, 3, figsize=(12, 4.0), sharey=True)
    tm = table_meta(table)
    minimise = tm["mode"] == "min"
    obj = np.asarray(table.objective("final"), dtype=np.float64)
    # ascending key = best first; failed rows (NaN) last
    key = np.where(np.isnan(obj), np.inf, obj if minimise else -obj)
    order = np.argsort(key, kind="stable")
    rng = np.random.default_rng(seed)
    k = min(n, table.n)
    groups = {
        f"{k} random rows": (rng.choice(table.n, size=k, replace=False), "tab:blue"),
        f"top {k} by final value": (order[:k], "tab:green"),
        f"bottom {k} by final value": (order[-k:], "tab:red"),
    }
    epochs = np.arange(1, table.T + 1)
    metric = tm["metric"] or "validation accuracy"
    chance = (table.meta or {}).get("chance")
    for ax, (name, (rows, color)) in zip(axes, groups.items()):
        for j, r in enumerate(rows):
            ax.plot(epochs, table.acc[r], lw=0.6, alpha=0.5, color=color,
                    label="one configuration" if j == 0 else None)
        if chance is not None:
            ax.axhline(float(chance), color="0.3", ls=":", lw=1,
                       label=f"chance level {float(chance):.3f}")
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("epoch", fontsize=10)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel(metric, fontsize=10)
    fig = axes[0].figure
    handles = [h for ax in axes for h in ax.get_legend_handles_labels()[0]]
    labels = [lab for ax in axes for lab in ax.get_legend_handles_labels()[1]]
    # one legend below the panels (inside them it would hide curves)
    seen: dict = {}
    for h, lab in zip(handles, labels):
        if lab.startswith("chance"):
            seen.setdefault(lab, h)
    fig.legend([*(h for h, lab in zip(handles, labels) if lab == "one configuration"),
                *seen.values()],
               [f"one configuration ({name.split(' by')[0]})" for name in groups] +
               list(seen), loc="lower center", ncol=4, fontsize=9, frameon=False)
    head = " \u00b7 ".join(str(x) for x in (
        ("SYNTHETIC " if tm["synthetic"] else "") + str(tm["name"] or "table"), tm["model"],
        tm["data"]) if x)
    fig.suptitle(f"Learning curves: {head} (n = {table.n:,}, T = {table.T})", fontsize=10)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    return axes
