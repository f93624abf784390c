"""Results of :func:`lcore.simulate`: per-repeat arrays, summaries, paired comparisons, plots."""

from __future__ import annotations

import json
import math
import os
import zipfile
from typing import Any, Sequence

import numpy as np

from lcore._io import atomic_savez

__all__ = ["Results", "ResultsList", "compare", "plot_time_to_goal", "plot_curves"]

FIELDS = (
    "success", "time_to_goal", "n_evaluated", "n_stopped", "epochs_trained", "best_acc",
    "n_harmful_stops",
)
_INT_FIELDS = ("n_evaluated", "n_stopped", "epochs_trained", "n_harmful_stops")
_TRACE_FIELDS = ("row", "epochs", "stopped", "reported", "clock")


class Results:
    """The outcome of ``repeats`` replays of one rule (SPEC.md §3 "Repeats").

    Attributes
    ----------
    rule : str
        A label such as ``"etr1(tau=1)"``.
    rule_params : dict
    goal : float
        The resolved goal accuracy.
    success : ndarray (R,) bool
    time_to_goal : ndarray (R,) float64
        Simulated seconds until the goal; ``inf`` when censored.
    n_evaluated, n_stopped, epochs_trained, n_harmful_stops : ndarray (R,) int64
    best_acc : ndarray (R,) float64
        Best reported accuracy of each repeat.
    settings : dict
        Everything else the call used (goal spec, chooser, budgets, seed entropy, ...).
    traces : list of dict or None
        With ``trace=True``: per repeat, arrays ``row``, ``epochs``, ``stopped``,
        ``reported``, ``clock`` (one entry per evaluation).
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

    def __len__(self) -> int:
        return self.n_repeats

    def __repr__(self) -> str:
        s = self.summary()
        med = s["time_to_goal_median"]
        return (
            f"Results(rule={self.rule!r}, goal={self.goal:.4g}, repeats={self.n_repeats}, "
            f"success={s['success_rate']:.0%}, median time-to-goal="
            f"{'inf' if math.isinf(med) else f'{med / 3600:.3g} h'})"
        )

    def summary(self) -> dict:
        """Median, IQR, mean of time-to-goal (s), success rate, evaluations, stops, harm.

        Censored repeats count as ``inf`` in the median and quartiles;
        ``time_to_goal_mean`` is over successful repeats only.
        """
        ttg = self.time_to_goal
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
        }

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
        meta = {"rule": self.rule, "rule_params": self.rule_params, "settings": self.settings,
                "has_traces": self.traces is not None}
        arrs[prefix + "meta_json"] = np.array(json.dumps(meta, default=_json_default))
        if self.traces is not None:
            lengths = np.array([len(t["row"]) for t in self.traces], dtype=np.int64)
            arrs[prefix + "trace_lengths"] = lengths
            for f in _TRACE_FIELDS:
                parts = [t[f] for t in self.traces]
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
            lengths = z[prefix + "trace_lengths"]
            offs = np.concatenate([[0], np.cumsum(lengths)])
            cols = {f: z[prefix + "trace_" + f] for f in _TRACE_FIELDS}
            traces = [
                {f: cols[f][offs[i]: offs[i + 1]] for f in _TRACE_FIELDS}
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
        """Box plot of time-to-goal (see :func:`plot_time_to_goal`)."""
        return plot_time_to_goal([self], ax=ax, **kw)


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

    def summary(self) -> list[dict]:
        """One summary dict per rule (see :meth:`Results.summary`)."""
        return [r.summary() for r in self]

    def summary_table(self) -> str:
        """The summaries as an aligned text table (hours)."""
        return format_summary(self)

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
        return plot_time_to_goal(self, ax=ax, **kw)


def format_summary(results: Sequence[Results]) -> str:
    """Aligned text table of summaries, times in hours."""
    head = ("rule", "success", "median h", "IQR h", "mean h (ok)", "evals", "stops", "harmful")
    rows = []

    def h(x):
        return "inf" if math.isinf(x) else f"{x / 3600:.3g}"

    for r in results:
        s = r.summary()
        rows.append((
            s["rule"], f"{s['success_rate']:.0%}", h(s["time_to_goal_median"]),
            h(s["time_to_goal_iqr"]), h(s["time_to_goal_mean"]),
            f"{s['n_evaluated_mean']:.1f}", f"{s['n_stopped_mean']:.1f}",
            f"{s['n_harmful_stops_mean']:.2f}",
        ))
    widths = [max(len(x[i]) for x in [head, *rows]) for i in range(len(head))]
    fmt = "  ".join(f"{{:<{w}}}" if i == 0 else f"{{:>{w}}}" for i, w in enumerate(widths))
    lines = [fmt.format(*head)] + [fmt.format(*row) for row in rows]
    if results:
        lines.append(f"goal = {results[0].goal:.6g} ({results[0].settings.get('goal_spec')}), "
                     f"{results[0].n_repeats} repeats")
    return "\n".join(lines)


def compare(a: Results, b: Results, n_boot: int = 2000, seed: int = 0,
            confidence: float = 0.95) -> dict:
    """Paired comparison of time-to-goal: does ``a`` beat ``b``?

    Both must come from the same call (or the same seed and number of repeats), so that
    repeat i of each started from the same rows.

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
    for key in ("goal", "table", "chooser", "chooser_params", "n_init", "max_evals", "max_time",
                "terminated", "objective", "repeats"):
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


def plot_time_to_goal(results: Sequence[Results], ax=None, unit: str = "h", title=None):
    """Box plots of time-to-goal per rule, like the paper's Fig. 4/5.

    Censored repeats are drawn at the top edge as crosses and counted in the labels.
    """
    plt = _plt()
    if ax is None:
        _, ax = plt.subplots(figsize=(1.6 + 1.3 * len(results), 4))
    scale = {"h": 3600.0, "min": 60.0, "s": 1.0}[unit]
    data, labels = [], []
    cens_max = 0.0
    for r in results:
        ok = r.time_to_goal[np.isfinite(r.time_to_goal)] / scale
        data.append(ok)
        n_c = int((~np.isfinite(r.time_to_goal)).sum())
        labels.append(r.rule + (f"\n({n_c} censored)" if n_c else ""))
        if ok.size:
            cens_max = max(cens_max, float(ok.max()))
    ax.boxplot(data, showfliers=True)
    ax.set_xticks(range(1, len(labels) + 1), labels, rotation=20)
    for i, r in enumerate(results, start=1):
        n_c = int((~np.isfinite(r.time_to_goal)).sum())
        if n_c:
            ax.plot([i] * n_c, [cens_max * 1.05] * n_c, "x", color="tab:red")
    ax.set_ylabel(f"time to goal ({unit}, simulated)")
    if title is None and results:
        st = results[0].settings
        tm = st.get("table_meta") or {}
        label = "SYNTHETIC table" if tm.get("synthetic") else (tm.get("dataset") or "table")
        title = (f"{label}: goal {results[0].goal:.4g} ({st.get('goal_spec')}), "
                 f"{results[0].n_repeats} repeats, chooser {st.get('chooser')}")
    ax.set_title(title, fontsize=9)
    ax.figure.tight_layout()
    return ax


def plot_curves(table, n: int = 100, seed: int = 0, axes=None):
    """Learning-curve panels like the paper's Fig. 1/2: random, top and bottom ``n`` rows.

    Top and bottom are by final accuracy (failed rows count as 0).
    """
    plt = _plt()
    if axes is None:
        _, axes = plt.subplots(1, 3, figsize=(12, 3.6), sharey=True)
    obj = np.nan_to_num(table.objective("final"), nan=0.0)
    order = np.argsort(-obj, kind="stable")
    rng = np.random.default_rng(seed)
    k = min(n, table.n)
    groups = {
        f"{k} random": rng.choice(table.n, size=k, replace=False),
        f"top {k}": order[:k],
        f"bottom {k}": order[-k:],
    }
    epochs = np.arange(1, table.T + 1)
    for ax, (name, rows) in zip(axes, groups.items()):
        for r in rows:
            ax.plot(epochs, table.acc[r], lw=0.6, alpha=0.6)
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("epoch")
    axes[0].set_ylabel("validation accuracy")
    label = table.meta.get("dataset") or ""
    if table.meta.get("synthetic"):
        label = "SYNTHETIC " + label
    axes[0].figure.suptitle(f"{label} n={table.n}, T={table.T}", fontsize=10)
    axes[0].figure.tight_layout()
    return axes
