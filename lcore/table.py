"""Lookup tables: pre-evaluated configurations, per-epoch metric and time (docs/semantics.md).

A :class:`LookupTable` holds, for ``n`` configurations trained ``T`` epochs each:

========  =================  ===========================================================
field     shape, dtype       meaning
========  =================  ===========================================================
acc       (n, T) float32     validation accuracy after epoch t (column t-1); NaN after a
                             failure
time      (n, T) float32     seconds epoch t took; 0 after a failure
unit      (n, d) float64     the configuration's unit-cube (Sobol) point, or None
params    dict of (n,)       the configuration in the space's own units, or None
space     Space or None      the space definition
meta      dict               dataset, model, device, versions, seed, date, notes, ...
========  =================  ===========================================================

Tables are saved as one ``.npz`` file (arrays as columns, ``space`` and ``meta`` as JSON
strings); loading never unpickles.
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
import struct
import zipfile
import zlib
from typing import Any, Union

import numpy as np

from lcore._io import atomic_savez
from lcore.space import Space, preset

__all__ = [
    "LookupTable",
    "TableFormatError",
    "load_table",
    "list_tables",
    "synthetic",
    "parse_goal",
]

FORMAT = "lcore-table"
FORMAT_VERSION = 1
DATA_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
# Shipped tables in order of preference for the default: the real one when it exists.
DEFAULT_TABLES = ("mnist_lenet5_small", "synthetic_mnist_small")

GoalLike = Union[float, str]
# linear-time: every position of a goal string matches in one way only (no backtracking)
_GOAL_RE = re.compile(r"\s*top\s*((?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?)"
                      r"\s*%\s*")
_GOAL_MAX_CHARS = 200


def _is_accuracy_name(metric) -> bool:
    """Whether a metric name denotes an accuracy (None: an accuracy table by default)."""
    return metric is None or "acc" in str(metric).lower()


class TableFormatError(ValueError):
    """A file that is not a readable lcore table (truncated, tampered, wrong format)."""


def parse_goal(goal: GoalLike) -> tuple[str, float]:
    """Split a goal into ``("abs", value)`` or ``("top", percent)``; errors say what is valid."""
    if isinstance(goal, str):
        m = _GOAL_RE.fullmatch(goal) if len(goal) <= _GOAL_MAX_CHARS else None
        if not m:
            shown = goal if len(goal) <= 60 else goal[:40] + f"... ({len(goal)} characters)"
            raise ValueError(
                f"goal must be an accuracy (e.g. 0.992) or a share of the table such as "
                f"'top0.5%', got {shown!r}"
            )
        pct = float(m.group(1))
        if not 0.0 < pct <= 100.0:
            raise ValueError(f"goal share must be in (0%, 100%], got {goal!r}")
        return "top", pct
    if isinstance(goal, (bool, np.bool_)) or not isinstance(goal, (int, float, np.integer,
                                                                   np.floating)):
        raise TypeError(
            f"goal must be a float accuracy or a string like 'top0.5%', got {goal!r}"
        )
    try:
        value = float(goal)
    except OverflowError:  # an int beyond the float range, e.g. 10**400
        value = math.inf
    if not math.isfinite(value):
        shown = repr(goal) if len(repr(goal)) <= 40 else f"an int of {len(str(goal))} digits"
        raise ValueError(f"goal must be finite (an accuracy), got {shown}")
    return "abs", value


class LookupTable:
    """A lookup table of pre-evaluated configurations (see the module docstring).

    Parameters
    ----------
    acc : array_like, shape (n, T)
        Validation accuracy after each epoch; stored as float32. NaN marks epochs a failed run
        never finished (they must come after every finished epoch of that row).
    time : array_like, shape (n, T)
        Seconds each epoch took; stored as float32; 0 for epochs never run.
    unit : array_like, shape (n, d), optional
        Unit-cube points of the configurations (what the surrogate sees); float64.
    params : dict of str to array_like (n,), optional
        The configurations in the space's units.
    space : Space, dict or str, optional
        The space definition (a Space, its dict form, or a preset name).
    meta : dict, optional
        JSON-able metadata.
    validate : bool, default True
        Check the fields (see :meth:`validate`).
    """

    def __init__(
        self,
        acc,
        time,
        unit=None,
        params: dict | None = None,
        space: Space | dict | str | None = None,
        meta: dict | None = None,
        validate: bool = True,
    ) -> None:
        self.acc = _real_array(acc, "acc", np.float32)
        self.time = _real_array(time, "time", np.float32)
        self.unit = None if unit is None else _real_array(unit, "unit", np.float64)
        self.params = None if params is None else {k: np.asarray(v) for k, v in params.items()}
        if isinstance(space, str):
            space = preset(space)
        elif isinstance(space, dict):
            space = Space.from_dict(space)
        elif space is not None and not isinstance(space, Space):
            raise TypeError(
                f"space must be a lcore.space.Space, its dict, a preset name or None, "
                f"got {type(space).__name__}"
            )
        self.space = space
        self.meta = dict(meta or {})
        if validate:
            self.validate()

    @classmethod
    def from_arrays(cls, acc, time, unit=None, params=None, space=None, meta=None) -> LookupTable:
        """Make a table from arrays alone; see the class docstring for shapes.

        Raises
        ------
        TypeError
            ``acc``, ``time`` or ``unit`` is not real numbers (strings, bytes, bools,
            datetimes, complex numbers or other objects); the message names the argument.
        ValueError
            A ragged array, a value beyond the float range, or a field that fails
            :meth:`validate`; the message names the argument and the first bad cell.
        """
        return cls(acc, time, unit=unit, params=params, space=space, meta=meta)

    # -- shape -----------------------------------------------------------------------------
    @property
    def n(self) -> int:
        """Number of configurations (rows)."""
        return int(self.acc.shape[0])

    @property
    def T(self) -> int:  # noqa: N802 - the paper's name
        """Number of epochs per configuration."""
        return int(self.acc.shape[1])

    @property
    def d(self) -> int | None:
        """Unit-cube dimension, or None without ``unit``."""
        return None if self.unit is None else int(self.unit.shape[1])

    def __len__(self) -> int:
        return self.n

    # -- direction -------------------------------------------------------------------------
    @property
    def mode(self) -> str:
        """The metric's direction: ``"max"`` (accuracy, the default) or ``"min"`` (a loss,
        error rate or perplexity), from ``meta["mode"]``."""
        return str(self.meta.get("mode", "max"))

    @property
    def metric(self) -> str:
        """The metric's name, from ``meta["metric"]`` (``"val_accuracy"`` when absent)."""
        return str(self.meta.get("metric", "val_accuracy"))

    @property
    def is_accuracy(self) -> bool:
        """True for an accuracy table: mode ``"max"`` and a metric named like an accuracy
        (or none named). Only these have ``acc`` checked to lie in [0, 1]."""
        return self.mode == "max" and _is_accuracy_name(self.meta.get("metric"))

    def __repr__(self) -> str:
        kind = "synthetic" if self.meta.get("synthetic") else self.meta.get("dataset", "")
        space = self.space.name if self.space is not None else None
        return f"LookupTable(n={self.n}, T={self.T}, d={self.d}, space={space!r}, {kind!r})"

    # -- validation ------------------------------------------------------------------------
    def validate(self) -> LookupTable:
        """Check every field; raise ``ValueError`` naming the first problem. Returns self."""
        acc, time = self.acc, self.time
        if acc.ndim != 2:
            raise ValueError(f"acc must be 2-D (n, T), got shape {acc.shape}")
        if time.shape != acc.shape:
            raise ValueError(
                f"time must have the shape of acc {acc.shape}, got {time.shape}"
            )
        if acc.shape[1] < 1:
            raise ValueError(f"a table needs at least one epoch (T >= 1), got acc {acc.shape}")
        mode = self.meta.get("mode", "max")
        if mode not in ("max", "min"):
            raise ValueError(f"meta['mode'] must be 'max' or 'min', got {mode!r}")
        metric = self.meta.get("metric")
        if metric is not None and not isinstance(metric, str):
            raise ValueError(f"meta['metric'] must be a string such as 'val_accuracy', "
                             f"got {metric!r}")
        finished = ~np.isnan(acc)
        if self.is_accuracy:
            bad = finished & ((acc < 0.0) | (acc > 1.0) | ~np.isfinite(acc))
            if bad.any():
                i, t = np.argwhere(bad)[0]
                raise ValueError(
                    f"acc must lie in [0, 1] (NaN marks unfinished epochs), got acc[{i}, {t}]"
                    f" = {float(acc[i, t])!r}; a table of another metric sets meta['metric']"
                    " (and meta['mode'] = 'min' when lower is better)"
                )
        else:
            bad = finished & ~np.isfinite(acc)
            if bad.any():
                i, t = np.argwhere(bad)[0]
                raise ValueError(
                    f"acc ({self.metric}) must be finite (NaN marks unfinished epochs), got "
                    f"acc[{i}, {t}] = {float(acc[i, t])!r}"
                )
        # NaN must only trail: a finished epoch after an unfinished one is an error
        later_finished = np.flip(np.logical_or.accumulate(np.flip(finished, 1), 1), 1)
        gap = ~finished & later_finished
        if gap.any():
            i, t = np.argwhere(gap)[0]
            raise ValueError(
                f"acc has NaN before a finished epoch in row {i}: acc[{i}, {t}] is NaN but a "
                "later epoch has a value; a failed run keeps only its first epochs"
            )
        if np.isnan(time).any():
            i, t = np.argwhere(np.isnan(time))[0]
            raise ValueError(f"time must not be NaN (use 0 for unrun epochs), got time[{i}, {t}]")
        if (time < 0).any() or np.isinf(time).any():
            i, t = np.argwhere((time < 0) | np.isinf(time))[0]
            raise ValueError(
                f"time must be finite and >= 0 seconds, got time[{i}, {t}] = "
                f"{float(time[i, t])!r}"
            )
        if self.unit is not None:
            u = self.unit
            if u.ndim != 2 or u.shape[0] != acc.shape[0]:
                raise ValueError(
                    f"unit must have shape (n, d) with n = {acc.shape[0]}, got {u.shape}"
                )
            ok = np.isfinite(u) & (u >= 0.0) & (u <= 1.0)
            if not ok.all():
                i, j = np.argwhere(~ok)[0]
                raise ValueError(
                    f"unit must lie in [0, 1] (unit-cube points), got unit[{i}, {j}] = "
                    f"{float(u[i, j])!r}"
                )
            if self.space is not None and u.shape[1] != self.space.d:
                raise ValueError(
                    f"unit has {u.shape[1]} columns but the space {self.space.name!r} has "
                    f"d = {self.space.d} dimensions"
                )
        if self.params is not None:
            for k, v in self.params.items():
                if v.shape != (acc.shape[0],):
                    raise ValueError(
                        f"params[{k!r}] must have shape (n,) = ({acc.shape[0]},), got {v.shape}"
                    )
                if v.dtype == object:
                    raise ValueError(
                        f"params[{k!r}] has dtype object; use numbers or strings (no pickling)"
                    )
            if self.space is not None:
                missing = [k for k in self.space.names if k not in self.params]
                if missing:
                    raise ValueError(f"params lacks the space's hyperparameters {missing}")
        try:
            json.dumps(self.meta)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"meta must be JSON-serialisable: {exc}") from None
        return self

    # -- derived numbers -------------------------------------------------------------------
    def n_finished(self) -> np.ndarray:
        """Epochs each row finished, shape (n,) int64 (T for a row that ran to the end)."""
        return (~np.isnan(self.acc)).sum(axis=1).astype(np.int64)

    def objective(self, kind: str = "final") -> np.ndarray:
        """Each row's objective, shape (n,) float64: final accuracy, or the best epoch's.

        ``"final"`` is ``acc[:, T-1]`` (NaN for a row that failed before T); ``"best"`` is the
        best finished epoch's value in the table's direction (the largest for mode ``"max"``,
        the smallest for ``"min"``; NaN for a row with none).
        """
        if kind == "final":
            return self.acc[:, -1].astype(np.float64)
        if kind == "best":
            out = np.full(self.n, np.nan)
            any_fin = ~np.isnan(self.acc).all(axis=1)
            pick = np.nanmin if self.mode == "min" else np.nanmax
            out[any_fin] = pick(self.acc[any_fin].astype(np.float64), axis=1)
            return out
        raise ValueError(f"objective must be 'final' or 'best', got {kind!r}")

    def resolve_goal(self, goal: GoalLike = "top0.5%", objective: str = "final") -> float:
        """The goal as a value of the table's metric.

        ``goal`` is a value (returned as is) or ``"topP%"``: the k-th best objective in the
        table's direction (the k-th largest for mode ``"max"``, the k-th smallest for
        ``"min"``) with ``k = max(1, ceil(P/100 * n))``, NaN rows counted last.

        Examples
        --------
        >>> t = LookupTable.from_arrays([[0.5], [0.9], [0.7]], [[1.0], [1.0], [1.0]])
        >>> t.resolve_goal("top34%")  # k = ceil(0.34 * 3) = 2
        0.699999988079071
        """
        kind, value = parse_goal(goal)
        if kind == "abs":
            return value
        if self.n == 0:
            raise ValueError("cannot resolve a 'top' goal on an empty table")
        k = max(1, math.ceil(value / 100.0 * self.n - 1e-9))
        obj = self.objective(objective)
        ordered = np.sort(obj[~np.isnan(obj)])
        if self.mode != "min":
            ordered = ordered[::-1]
        if k > ordered.size:
            raise ValueError(
                f"goal {goal!r} asks for the {k}-th best of {self.n} rows but only "
                f"{ordered.size} rows have an objective (the rest failed); use a smaller share"
            )
        return float(ordered[k - 1])

    # -- persistence -----------------------------------------------------------------------
    def save(self, path) -> str:
        """Write the table to ``path`` (a single ``.npz``; written atomically). Returns path."""
        path = os.fspath(path)
        if not path.endswith(".npz"):
            path += ".npz"
        arrays: dict[str, np.ndarray] = {
            "format": np.array(FORMAT),
            "format_version": np.array(FORMAT_VERSION),
            "acc": self.acc,
            "time": self.time,
            "meta_json": np.array(json.dumps(self.meta)),
            "space_json": np.array("" if self.space is None else self.space.to_json()),
        }
        if self.unit is not None:
            arrays["unit"] = self.unit
        if self.params is not None:
            arrays["param_names_json"] = np.array(json.dumps(list(self.params)))
            for i, v in enumerate(self.params.values()):
                arrays[f"param_{i}"] = v
        return atomic_savez(path, arrays)

    @classmethod
    def load(cls, path) -> LookupTable:
        """Read a table written by :meth:`save`; raise :class:`TableFormatError` if invalid.

        The file is checked before anything large is allocated: it must be a regular file
        (a FIFO or device is refused without blocking), a zip archive of exactly the members
        :meth:`save` writes (stored or deflated, not encrypted), each an ``.npy`` array whose
        header's shape and dtype account for the member's size, with no object dtype, and
        JSON fields nested at most 64 levels deep. Any other damage (truncation, flipped bytes,
        a bad checksum) is a :class:`TableFormatError` naming the file, too.
        """
        path = os.fspath(path)
        if not os.path.exists(path):
            raise FileNotFoundError(f"no table file at {path!r}")
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        except OSError as exc:
            raise TableFormatError(f"{path!r} could not be opened as a table: {exc}") from None
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            os.close(fd)
            raise TableFormatError(
                f"{path!r} is not a regular file (a folder, FIFO or device); a table is "
                "an .npz file written by LookupTable.save"
            )
        with os.fdopen(fd, "rb") as fh:
            try:
                fields = _read_table_members(fh, path, st.st_size)
            except TableFormatError:
                raise
            except (zipfile.BadZipFile, zlib.error, EOFError, OSError, KeyError, ValueError,
                    TypeError, IndexError, NotImplementedError, RuntimeError, OverflowError,
                    struct.error, MemoryError, RecursionError) as exc:
                raise TableFormatError(
                    f"{path!r} could not be read as an lcore table (truncated or tampered?): "
                    f"{type(exc).__name__}: {_printable(str(exc))[:300]}"
                ) from None
        acc, time, unit, params, meta, space_txt = fields
        try:
            space = Space.from_json(space_txt) if space_txt else None
        except (ValueError, TypeError, KeyError, AttributeError, IndexError,
                RecursionError) as exc:
            raise TableFormatError(
                f"{path!r} holds an invalid space definition: {type(exc).__name__}: "
                f"{_printable(str(exc))[:300]}"
            ) from None
        try:
            return cls(acc, time, unit=unit, params=params, space=space, meta=meta)
        except (ValueError, TypeError, RecursionError) as exc:
            raise TableFormatError(
                f"{path!r} holds an invalid table: {_printable(str(exc))[:300]}"
            ) from None

    # -- views -----------------------------------------------------------------------------
    def to_frame(self):
        """A pandas DataFrame, one row per configuration.

        Columns: the params (when present), ``acc_1 .. acc_T``, ``time_1 .. time_T``.
        """
        try:
            import pandas as pd
        except ImportError:  # pragma: no cover - pandas is in the test extra
            raise ImportError(
                "LookupTable.to_frame needs pandas: pip install pandas"
            ) from None
        cols: dict[str, Any] = {}
        if self.params is not None:
            cols.update(self.params)
        for t in range(self.T):
            cols[f"acc_{t + 1}"] = self.acc[:, t]
        for t in range(self.T):
            cols[f"time_{t + 1}"] = self.time[:, t]
        return pd.DataFrame(cols)

    def summary(self, chance: float | None = None) -> dict:
        """Numbers that describe the table (printed by ``lcore table info``).

        For an accuracy table: untrainable rows are those whose best accuracy stays below
        ``chance + 0.05`` (``chance`` from ``meta['chance']``, else 0.1 for ten classes).  Late
        risers are rows still below ``chance + 0.2`` at epoch ``late_riser_epoch`` (a fifth of
        the way, at least 1) that end at ``0.6`` or more.  ``top_gap`` is how far the top 0.5 %
        threshold lies above the 90th percentile of the final accuracies.

        For any other table (a loss, error rate or perplexity) there is no chance level:
        ``untrainable_share``, ``late_risers`` and ``late_riser_epoch`` are None, and
        ``top_gap`` is how far the top 0.5 % threshold lies on the good side of the 10th
        percentile (mode ``"min"``) or 90th percentile (``"max"``), as a positive number
        when it is better. ``final_acc_quantiles`` holds the final values of the metric.
        """
        accuracy = self.is_accuracy
        if chance is None:
            chance = float(self.meta.get("chance", 0.1))
        obj = self.objective("final")
        best = self.objective("best")
        finite = obj[~np.isnan(obj)]
        q = [0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 1.0]
        out = {
            "n": self.n,
            "T": self.T,
            "d": self.d,
            "space": None if self.space is None else self.space.name,
            "synthetic": bool(self.meta.get("synthetic", False)),
            "source": self.meta.get("source"),
            "dataset": self.meta.get("dataset"),
            "metric": self.metric,
            "mode": self.mode,
            "final_acc_quantiles": (
                dict(zip(q, np.quantile(finite, q).tolist())) if finite.size else {}
            ),
            "failed_rows": int((self.n_finished() < self.T).sum()),
            "untrainable_share": None,
            "time_per_epoch_median": float(np.median(self.time[self.time > 0]))
            if (self.time > 0).any()
            else 0.0,
            "total_time_hours": float(self.time.sum(dtype=np.float64) / 3600.0),
            "time_unit": self.meta.get("time_unit", "s"),
            "goals": {},
            "late_riser_epoch": None,
            "late_risers": None,
        }
        if accuracy:
            out["untrainable_share"] = (
                float(np.mean(~(np.nan_to_num(best, nan=0.0) >= chance + 0.05)))
                if self.n else 0.0
            )
            e = max(1, round(0.2 * self.T))
            early = np.nan_to_num(self.acc[:, e - 1].astype(np.float64), nan=0.0)
            late = (early < chance + 0.2) & (np.nan_to_num(obj, nan=0.0) >= 0.6)
            out["late_riser_epoch"] = int(e)
            out["late_risers"] = int(late.sum()) if self.T > e else 0
        for share in ("top0.05%", "top0.25%", "top0.5%"):
            try:
                out["goals"][share] = self.resolve_goal(share)
            except ValueError:
                out["goals"][share] = None
        top = out["goals"]["top0.5%"]
        if self.mode == "min":
            ref = out["final_acc_quantiles"].get(0.1)
            out["top_gap"] = None if ref is None or top is None else float(ref - top)
        else:
            ref = out["final_acc_quantiles"].get(0.9)
            out["top_gap"] = None if ref is None or top is None else float(top - ref)
        return out

    def describe(self) -> str:
        """A human-readable summary (what ``lcore table info`` prints).

        Text from the table's ``meta`` and space is shown with control characters escaped
        (``\\x1b`` for ESC), so that a table cannot drive the terminal.
        """
        s = self.summary()
        lines = [
            f"lookup table: n = {s['n']} configurations x T = {s['T']} epochs, d = {s['d']}",
            f"space: {s['space']}   dataset: {s['dataset']}   source: {s['source']}"
            + ("   [SYNTHETIC]" if s["synthetic"] else ""),
            f"metric: {s['metric']}   mode: {s['mode']} ("
            + ("higher is better" if s["mode"] == "max" else "lower is better") + ")",
        ]
        if s["final_acc_quantiles"]:
            qv = s["final_acc_quantiles"]
            qs = "  ".join(f"q{int(k * 100)}={txt}"
                           for k, txt in zip(qv, _same_decimals(list(qv.values()))))
            what = "accuracy" if self.is_accuracy else s["metric"]
            lines.append(f"final {what}: {qs}")
        if s["untrainable_share"] is not None:
            lines.append(
                f"untrainable (best < chance + 0.05): {100 * s['untrainable_share']:.1f} %   "
                f"failed runs: {s['failed_rows']}"
            )
        else:
            lines.append(f"failed runs: {s['failed_rows']}")
        unit = s["time_unit"]
        if unit == "s":
            lines.append(
                f"time per epoch (median): {s['time_per_epoch_median']:.3g} s   "
                f"total training time: {s['total_time_hours']:.3g} h"
            )
        else:
            total = s["total_time_hours"] * 3600.0
            lines.append(
                f"time per epoch (median): {s['time_per_epoch_median']:.3g} {unit}   "
                f"total: {total:.6g} {unit} (not measured; see meta['time_note'])"
            )
        goals = "  ".join(
            f"{k}: {'n/a' if v is None else format(v, '.4g')}" for k, v in s["goals"].items()
        )
        lines.append(f"goal thresholds: {goals}")
        if s["late_risers"] is not None:
            lines.append(
                f"late risers (< chance + 0.2 at epoch {s['late_riser_epoch']}, final >= 0.6): "
                f"{s['late_risers']}"
                + ("" if s["top_gap"] is None else
                   f"   top 0.5 % above q90 by {s['top_gap']:+.4f}")
            )
        elif s["top_gap"] is not None:
            ref = "q10" if s["mode"] == "min" else "q90"
            lines.append(f"top 0.5 % better than {ref} by {s['top_gap']:+.4g}")
        for k in ("notes", "date", "device", "licence"):
            if k in self.meta:
                lines.append(f"{k}: {self.meta[k]}")
        # meta and the space come from the file: control characters (terminal escapes) in
        # them are shown escaped, never sent to the terminal
        return "\n".join(_printable(line) for line in lines)

    # -- import ----------------------------------------------------------------------------
    @classmethod
    def from_csv(
        cls,
        path,
        acc_columns: list[str] | None = None,
        time_column: str | None = None,
        time_columns: list[str] | None = None,
        unit_columns: list[str] | None = None,
        param_columns: list[str] | None = None,
        space: Space | str | None = None,
        percent: bool | None = None,
        meta: dict | None = None,
    ) -> LookupTable:
        """Import a CSV in the DEEP-BO layout: one row per configuration.

        Columns: hyperparameters, per-epoch accuracies, a total training time (or per-epoch
        times), and optionally the Sobol vector. By default the accuracy columns are those
        named like ``acc_1``, ``acc1``, ``accuracy_1``, ``epoch_1``, ``test_acc_1`` (ordered by
        their number), the time is the single column named ``train_time``, ``total_time``,
        ``time`` or ``elapsed``, the unit columns are ``unit_*`` / ``sobol_*``, and every
        other column is a hyperparameter. When only a total is given it is spread evenly
        over the finished epochs, and ``meta['time_spread_evenly']`` says so.

        Found accuracy columns must share one name stem and be numbered exactly ``1 .. T`` or
        ``0 .. T-1`` (in any column order; they are sorted by number); two columns with the
        same number (``acc_1`` and ``acc1``), a gap (``acc_1, acc_2, acc_10``) or two stems
        (``acc_1`` and ``val_acc_1``) are refused with a ``ValueError`` — pass
        ``acc_columns=[...]`` to choose. Accuracies are fractions in [0, 1]; a CSV that holds
        percentages needs ``percent=True`` (every value is divided by 100). With the default
        ``percent=None`` (or ``False``) a value above 1 is refused with a ``ValueError`` that
        names the cell, rather than guessed to be a percentage.
        """
        try:
            import pandas as pd
        except ImportError:  # pragma: no cover
            raise ImportError("LookupTable.from_csv needs pandas: pip install pandas") from None
        if percent not in (None, True, False):
            raise TypeError(f"percent must be True, False or None, got {percent!r}")
        shown_path = os.fspath(path) if isinstance(path, (str, os.PathLike)) else path
        try:
            df = pd.read_csv(path)
        except (ValueError, UnicodeError, pd.errors.ParserError) as exc:  # EmptyDataError too
            raise ValueError(f"{shown_path!r} could not be read as a CSV: {exc}") from None
        cols = list(df.columns)

        def numbers(names, what):
            missing = [c for c in names if c not in cols]
            if missing:
                raise ValueError(f"{what} not in the CSV {shown_path!r}: {missing}")
            try:
                return df[list(names)].to_numpy(dtype=np.float64)
            except (ValueError, TypeError) as exc:
                raise ValueError(
                    f"{what} of {shown_path!r} must hold numbers: {exc}"
                ) from None
        if acc_columns is None:
            acc_columns = _epoch_columns(cols, path)
        if not acc_columns:
            raise ValueError(
                f"no per-epoch accuracy columns found in {os.fspath(path)!r} (looked for "
                "acc_1, acc_2, ...); pass acc_columns=[...]"
            )
        missing = [c for c in acc_columns if c not in cols]
        if missing:
            raise ValueError(f"acc_columns not in the CSV {shown_path!r}: {missing}")
        try:
            acc = df[acc_columns].to_numpy(dtype=np.float64)
        except (ValueError, TypeError) as exc:
            raise ValueError(
                f"accuracy columns of {os.fspath(path)!r} must hold numbers: {exc}"
            ) from None
        if percent:
            acc = acc / 100.0
        else:
            above = np.argwhere(acc > 1.0)
            if above.size:
                i, j = above[0]
                raise ValueError(
                    f"{os.fspath(path)!r}: accuracy {float(acc[i, j])!r} in column "
                    f"{acc_columns[j]!r}, row {i} is above 1; accuracies are fractions in "
                    "[0, 1] — pass percent=True if the CSV holds percentages"
                )
        n, T = acc.shape
        finished = (~np.isnan(acc)).sum(axis=1)
        notes = dict(meta or {})
        notes.setdefault("source", f"csv import of {os.path.basename(os.fspath(path))}")
        if time_columns is not None:
            time = numbers(time_columns, "time_columns")
            notes["time_spread_evenly"] = False
        else:
            if time_column is None:
                cand = [c for c in ("train_time", "total_time", "time", "elapsed") if c in cols]
                if not cand:
                    raise ValueError(
                        f"no time column found in {shown_path!r} (looked for train_time, "
                        "total_time, time, elapsed); pass time_column= or time_columns="
                    )
                time_column = cand[0]
            total = numbers([time_column], "time column")[:, 0]
            per = np.where(finished > 0, total / np.maximum(finished, 1), 0.0)
            time = np.where(np.arange(T)[None, :] < finished[:, None], per[:, None], 0.0)
            notes["time_spread_evenly"] = True
            notes["time_note"] = (
                f"per-epoch times are the total {time_column!r} spread evenly over the "
                "finished epochs"
            )
        if unit_columns is None:
            unit_columns = [c for c in cols if re.match(r"^(unit|sobol)_?\d+$", str(c))]
        unit = numbers(unit_columns, "unit columns") if unit_columns else None
        used = set(acc_columns) | set(unit_columns or []) | set(time_columns or [])
        if time_column:
            used.add(time_column)
        if param_columns is None:
            param_columns = [c for c in cols if c not in used]
        params = {str(c): df[c].to_numpy() for c in param_columns}
        for k, v in params.items():
            if v.dtype == object:
                params[k] = v.astype(str)
        if isinstance(space, str):
            space = preset(space)
        if unit is None and space is not None:
            unit = space.to_unit(params)
        try:
            return cls(acc, time, unit=unit, params=params, space=space, meta=notes)
        except (ValueError, TypeError) as exc:  # name the file the numbers came from
            raise type(exc)(f"{shown_path!r}: {exc}") from None


# ------------------------------------------------------------------------------------------
def list_tables(details: bool = False) -> list:
    """The tables shipped with lcore (for :func:`load_table`).

    Parameters
    ----------
    details : bool, default False
        False: their names (sorted). True: one dict per table with ``name``, ``source``,
        ``dataset``, ``licence``, ``n``, ``T``, ``metric`` and ``mode`` (read from each file's
        metadata; the curves are not loaded).
    """
    if not os.path.isdir(DATA_DIR):  # pragma: no cover
        return []
    names = [f[:-4] for f in os.listdir(DATA_DIR) if f.endswith(".npz")]
    names = sorted(n for n in names if not n.startswith("sobol"))
    if not details:
        return names
    return [_shipped_info(name) for name in names]


def _shipped_info(name: str) -> dict:
    """Name, source, size, metric and mode of a shipped table, from its file's header."""
    path = os.path.join(DATA_DIR, name + ".npz")
    try:  # the header only: no curves decompressed
        with zipfile.ZipFile(path) as zf, np.load(path, allow_pickle=False) as z:
            meta = json.loads(str(z["meta_json"]))
            with zf.open("acc.npy") as f:
                version = np.lib.format.read_magic(f)
                read = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                        else np.lib.format.read_array_header_2_0)
                shape = read(f)[0]
    except (KeyError, ValueError, OSError, zipfile.BadZipFile):  # another layout: load it
        t = LookupTable.load(path)
        meta, shape = t.meta, t.acc.shape
    return {
        "name": name,
        "source": meta.get("source"),
        "dataset": meta.get("dataset"),
        "licence": meta.get("licence", meta.get("license")),
        "n": int(shape[0]),
        "T": int(shape[1]),
        "metric": str(meta.get("metric", "val_accuracy")),
        "mode": str(meta.get("mode", "max")),
    }


def default_table_name() -> str:
    """The shipped table ``lcore simulate`` uses when none is given (the real one if shipped)."""
    names = set(list_tables())
    for name in DEFAULT_TABLES:
        if name in names:
            return name
    raise FileNotFoundError("no table ships with this installation of lcore")


def load_table(name_or_path=None) -> LookupTable:
    """Load a shipped table by name (see :func:`list_tables`) or a ``.npz`` file by path.

    ``None`` loads the default shipped table.
    """
    if name_or_path is None:
        name_or_path = default_table_name()
    if isinstance(name_or_path, LookupTable):
        return name_or_path
    p = os.fspath(name_or_path)
    if os.path.exists(p):
        return LookupTable.load(p)
    if not p.endswith(".npz") and os.path.exists(p + ".npz"):  # as save() names it
        return LookupTable.load(p + ".npz")
    if p in list_tables():
        return LookupTable.load(os.path.join(DATA_DIR, p + ".npz"))
    raise FileNotFoundError(
        f"no table file or shipped table named {p!r}; shipped tables: {list_tables()}"
    )


# ------------------------------------------------------------------------------------------
def synthetic(
    space: Space | str = "mnist_lenet5",
    n: int = 20000,
    epochs: int = 15,
    seed=0,
    failure_rate: float = 0.01,
    chance: float = 0.1,
) -> LookupTable:
    """A synthetic lookup table with plausible learning curves (labelled synthetic in meta).

    Configurations are the first ``n`` Sobol points of ``space``. Each gets a learning curve
    ``a(t) = chance + (a_max - chance) * (1 - exp(-((t - delay)/rate)))`` with noise, where
    ``a_max`` comes from a smooth quality function of the configuration; a share of rows
    (very high learning rate or L2 weight, or a random few) never trains beyond chance, some
    rise only after a delay (late risers), ``failure_rate`` of the rows fail (NaN after a random
    epoch), and per-epoch times grow with the model size.

    Parameters
    ----------
    space : Space or str
        A Space or preset name.
    n, epochs : int
        Rows and epochs (T).
    seed : int, SeedSequence or Generator
        Seeds the curves (the configurations are the unscrambled Sobol points).

    Returns
    -------
    LookupTable
        ``acc`` and ``time`` of shape (n, epochs), ``unit`` of shape (n, d).
    """
    from lcore._rng import as_seed_sequence
    from lcore.qmc import sobol

    if isinstance(space, str):
        space = preset(space)
    for arg, v, lo in (("n", n, 1), ("epochs", epochs, 1)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
            raise ValueError(f"{arg} must be an int >= {lo}, got {v!r}")
    if not 0.0 <= failure_rate < 1.0:
        raise ValueError(f"failure_rate must be in [0, 1), got {failure_rate!r}")
    ss = as_seed_sequence(seed)
    rng = np.random.default_rng(ss)
    U = sobol(int(n), space.d)
    params = space.from_unit(U)
    dims = space.dims
    col = {name: U[:, j] for j, name in enumerate(dims)}

    # Quality in [0, 1]: a smooth bowl whose optimum sits at a seeded point, sharpened.
    centre = rng.uniform(0.25, 0.75, size=space.d)
    weight = rng.uniform(0.5, 2.0, size=space.d)
    if "learning_rate" in col:  # Adam's sweet spot near 1e-3 (u ~ 0.28 on 1e-4 .. 10^-0.5)
        j = dims.index("learning_rate")
        centre[j], weight[j] = 0.28, 6.0
    if "l2" in col:
        j = dims.index("l2")
        centre[j], weight[j] = 0.0, 3.0
    dist2 = ((U - centre) ** 2 * weight).sum(axis=1) / weight.sum()
    quality = np.exp(-8.0 * dist2)
    quality = (quality - quality.min()) / max(np.ptp(quality), 1e-12)

    untrainable = rng.random(n) < 0.05
    if "learning_rate" in col:
        untrainable |= col["learning_rate"] > 0.82
    if "l2" in col:
        untrainable |= col["l2"] > 0.9
    a_max = 0.55 + 0.44 * quality**0.6 - rng.gamma(2.0, 0.004, size=n)
    a_max = np.clip(a_max, chance + 0.1, 0.999)
    rate = rng.uniform(0.4, 3.0, size=n) * (1.5 - quality)
    late = rng.random(n) < 0.08
    delay = np.where(late, rng.uniform(1.0, max(1.5, 0.6 * epochs), size=n), 0.0)
    t = np.arange(1, epochs + 1, dtype=np.float64)[None, :]
    progress = 1.0 - np.exp(-np.clip(t - delay[:, None], 0.0, None) / rate[:, None])
    acc = chance + (a_max[:, None] - chance) * progress
    noise = rng.normal(0.0, 1.0, size=acc.shape) * (0.002 + 0.01 * (1 - progress))
    acc = acc + noise
    acc[untrainable] = chance + rng.normal(0.0, 0.01, size=(int(untrainable.sum()), epochs))
    acc = np.clip(acc, 0.0, 1.0)
    # quantise like a real validation set of 10,000 images
    acc = np.round(acc * 10000.0) / 10000.0

    size = np.ones(n)
    for name in dims:
        if name.endswith("_filters") or name.endswith("_units"):
            size = size * (1.0 + 3.0 * col[name])
    if "filter_size" in col:
        size = size * (1.0 + col["filter_size"])
    base = 0.5 + 2.0 * size / size.max()
    time = base[:, None] * rng.lognormal(0.0, 0.05, size=(n, epochs))

    fails = rng.random(n) < failure_rate
    first_bad = rng.integers(0, epochs, size=n)
    bad = fails[:, None] & (np.arange(epochs)[None, :] >= first_bad[:, None])
    acc[bad] = np.nan
    time[bad] = 0.0

    meta = {
        "synthetic": True,
        "source": "lcore.table.synthetic",
        "dataset": "synthetic",
        "notes": "SYNTHETIC learning curves (not trained): for tests and benchmarks",
        "seed_entropy": str(ss.entropy),
        "T": int(epochs),
        "chance": chance,
        "failure_rate": failure_rate,
    }
    return LookupTable(acc, time, unit=U, params=params, space=space, meta=meta)


# ------------------------------------------------------------------------------------------
# Input checks (used by LookupTable.load, __init__ and from_csv)

# -- reading table files defensively ----------------------------------------------------------
_MAX_MEMBERS = 4096
_MAX_DEFLATE_RATIO = 1100  # deflate expands at most ~1032:1; anything claiming more is forged
_MAX_JSON_DEPTH = 64
_NUMERIC_KINDS = "iuf"
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def _same_decimals(values: list, sig: int = 4, max_decimals: int = 10) -> list[str]:
    """``values`` formatted with one number of decimals: the largest magnitude gets ``sig``
    significant digits and the others the same decimals (0.1100 next to 0.8933, not 0.11;
    85.2 next to 412.7). Non-finite values are shown as ``nan`` / ``inf``."""
    fin = [abs(float(v)) for v in values if math.isfinite(float(v)) and float(v) != 0.0]
    if fin:
        decimals = sig - 1 - math.floor(math.log10(max(fin)))
        decimals = min(max(decimals, 0), max_decimals)
    else:
        decimals = sig - 1
    return [f"{float(v):.{decimals}f}" if math.isfinite(float(v)) else str(float(v))
            for v in values]


def _printable(text: str) -> str:
    """``text`` with control characters (terminal escapes included) and lone surrogates
    replaced by their ``\\xNN`` / ``\\uNNNN`` escapes, so that printing it is inert."""
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii")
                        if ord(m.group()) < 0xD800 else f"\\u{ord(m.group()):04x}", text)


def _json_depth_ok(obj: Any, limit: int = _MAX_JSON_DEPTH) -> bool:
    """Whether ``obj`` (parsed JSON) nests lists / dicts at most ``limit`` levels deep."""
    stack = [(obj, 1)]
    while stack:
        x, depth = stack.pop()
        if isinstance(x, (dict, list)):
            if depth > limit:
                return False
            stack.extend((v, depth + 1) for v in (x.values() if isinstance(x, dict) else x))
    return True


def _json_field(text: str, name: str, path: str) -> Any:
    """Parse the JSON member ``name``; deeper than the limit or malformed is a format error."""
    try:
        obj = json.loads(text)
    except RecursionError:
        obj = None
        ok = False
    else:
        ok = _json_depth_ok(obj)
    if not ok:
        raise TableFormatError(
            f"{path!r}: member {name!r} nests JSON deeper than {_MAX_JSON_DEPTH} levels; "
            "a table written by lcore never does (tampered?)"
        )
    return obj


def _read_npy_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, path: str, archive_size: int,
                     kinds: str, ndim: int | None = None) -> np.ndarray:
    """One ``.npy`` member, checked against its sizes before its array is allocated."""
    name = info.filename
    where = f"{path!r}: member {name!r}"
    if info.flag_bits & 0x1:
        raise TableFormatError(f"{where} is encrypted; lcore tables never are")
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise TableFormatError(
            f"{where} uses zip compression method {info.compress_type}; lcore tables use "
            "stored (0) or deflated (8)"
        )
    if info.compress_size > archive_size or (
        info.compress_type == zipfile.ZIP_STORED and info.file_size != info.compress_size
    ) or info.file_size > _MAX_DEFLATE_RATIO * info.compress_size + 1024:
        raise TableFormatError(
            f"{where} claims {info.file_size} bytes from {info.compress_size} compressed bytes "
            f"in a {archive_size}-byte file, which no real member can (tampered?)"
        )
    with zf.open(info) as f:
        version = np.lib.format.read_magic(f)
        if version not in ((1, 0), (2, 0)):
            raise TableFormatError(f"{where} has .npy format version {version}, not 1.0 or 2.0")
        read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                       else np.lib.format.read_array_header_2_0)
        try:  # numpy parses the header with tokenize / ast: any of their errors is damage
            shape, fortran, dtype = read_header(f, max_header_size=10000)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError):
            raise
        except Exception as exc:  # noqa: BLE001 - ValueError, SyntaxError, TokenError, ...
            raise TableFormatError(
                f"{where} has a damaged .npy header: {type(exc).__name__}: "
                f"{_printable(str(exc))[:200]}"
            ) from None
        if dtype.hasobject or dtype.kind not in kinds or dtype.fields is not None \
                or dtype.subdtype is not None:
            raise TableFormatError(
                f"{where} has dtype {dtype.str!r}; expected kind {kinds!r} (object arrays "
                "are never loaded)"
            )
        if ndim is not None and len(shape) != ndim:
            raise TableFormatError(f"{where} must be {ndim}-D, its header says shape {shape}")
        count = math.prod(int(s) for s in shape)
        nbytes = count * dtype.itemsize
        have = info.file_size - f.tell()
        if nbytes != have:
            raise TableFormatError(
                f"{where}: its header claims shape {shape} of {dtype.str} ({nbytes} bytes) "
                f"but the member holds {have} bytes of data"
            )
        raw = f.read(nbytes)
        if len(raw) != nbytes or f.read(1):  # reading to the end checks the CRC-32, too
            raise TableFormatError(f"{where} is truncated")
    arr = np.frombuffer(bytearray(raw), dtype=dtype, count=count)
    return arr.reshape(shape, order="F" if fortran else "C")


def _read_table_members(fh, path: str, archive_size: int) -> tuple:
    """The fields of a table file: (acc, time, unit, params, meta, space_json)."""
    with zipfile.ZipFile(fh) as zf:
        infos = zf.infolist()
        if len(infos) > _MAX_MEMBERS:
            raise TableFormatError(f"{path!r} has {len(infos)} members; not an lcore table")
        members: dict[str, zipfile.ZipInfo] = {}
        for info in infos:
            if not info.filename.endswith(".npy") or info.filename in members:
                raise TableFormatError(
                    f"{path!r} holds an unexpected or repeated member "
                    f"{_printable(info.filename)!r}; not a table written by lcore (tampered?)"
                )
            members[info.filename[:-4]] = info
        need = {"format", "acc", "time", "meta_json", "space_json"}
        if not need <= set(members):
            raise TableFormatError(
                f"{path!r} is not an lcore table: missing {sorted(need - set(members))}"
            )

        def read(key, kinds, ndim=None):
            return _read_npy_member(zf, members[key], path, archive_size, kinds, ndim)

        def text(key):
            return str(read(key, "U", 0)[()])

        if text("format") != FORMAT:
            raise TableFormatError(f"{path!r} is not an lcore table (format field)")
        version = int(read("format_version", "iu", 0)[()]) if "format_version" in members \
            else 0
        if version > FORMAT_VERSION:
            raise TableFormatError(
                f"{path!r} has table format {version}, newer than this lcore reads "
                f"({FORMAT_VERSION}); upgrade lcore"
            )
        known = need | {"format_version", "unit", "param_names_json"}
        params = None
        if "param_names_json" in members:
            names = _json_field(text("param_names_json"), "param_names_json.npy", path)
            if not isinstance(names, list) or not all(isinstance(k, str) for k in names) \
                    or len(set(names)) != len(names):
                raise TableFormatError(
                    f"{path!r}: param_names_json must be a list of distinct strings"
                )
            keys = [f"param_{i}" for i in range(len(names))]
            lost = [k for k in keys if k not in members]
            if lost:
                raise TableFormatError(f"{path!r} lacks the parameter members {lost[:5]}")
            known |= set(keys)
            params = {k: read(key, "biufUSmM", 1) for k, key in zip(names, keys)}
        extra = sorted(set(members) - known)
        if extra:
            shown = [_printable(k + ".npy") for k in extra[:5]]
            raise TableFormatError(
                f"{path!r} holds unexpected members {shown}; not a table written by lcore "
                "(renamed or tampered?)"
            )
        acc = read("acc", _NUMERIC_KINDS, 2)
        time = read("time", _NUMERIC_KINDS, 2)
        unit = read("unit", _NUMERIC_KINDS, 2) if "unit" in members else None
        meta = _json_field(text("meta_json"), "meta_json.npy", path)
        if not isinstance(meta, dict):
            raise TableFormatError(
                f"{path!r}: meta_json must hold a JSON object, got {type(meta).__name__}"
            )
        space_txt = text("space_json")
        if space_txt:
            _json_field(space_txt, "space_json.npy", path)
    return acc, time, unit, params, meta, space_txt


def _real_array(x, name: str, dtype) -> np.ndarray:
    """``x`` as a contiguous array of ``dtype``, refusing what is not a real number.

    Integers and floats convert; strings, bytes, bools, datetimes, complex numbers and
    objects other than real numbers (or None, read as NaN) raise ``TypeError`` naming ``name``.
    """
    try:
        arr = x if isinstance(x, np.ndarray) else np.asarray(x)
    except (ValueError, TypeError) as exc:  # ragged nested lists and the like
        raise ValueError(f"{name} must be a rectangular array of numbers: {exc}") from None
    kind = arr.dtype.kind
    if kind == "O":
        bad = next((v for v in arr.flat if v is not None and (
            isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.integer,
                                                                  np.floating)))), None)
        if bad is not None:
            raise TypeError(f"{name} must hold real numbers, got an element {bad!r} "
                            f"({type(bad).__name__})")
        try:  # ints beyond float64 (10**400) overflow here
            arr = np.where(arr == None, np.nan, arr).astype(np.float64)  # noqa: E711
        except OverflowError:
            raise ValueError(f"{name} holds an int beyond the float range") from None
        kind = "f"
    if kind not in _NUMERIC_KINDS:
        raise TypeError(
            f"{name} must be an array of real numbers (ints or floats), got dtype "
            f"{arr.dtype} ({_KIND_NAMES.get(kind, kind)})"
        )
    with np.errstate(over="ignore", invalid="ignore"):
        out = np.ascontiguousarray(arr, dtype=dtype)
    if out.dtype != arr.dtype and np.isinf(out).any():
        lost = np.isinf(out) & ~np.isinf(arr.astype(np.float64))
        if lost.any():
            where = tuple(int(i) for i in np.argwhere(lost)[0])
            raise ValueError(
                f"{name}{list(where)} = {arr[where].item()!r} is beyond the range of "
                f"{np.dtype(dtype).name}"
            )
    return out


_KIND_NAMES = {"b": "bool", "c": "complex", "U": "strings", "S": "bytes", "M": "datetime64",
               "m": "timedelta64", "V": "structured or raw bytes"}


_EPOCH_COL = re.compile(r"(acc|accuracy|epoch|test_acc|val_acc|valid_acc)_?([0-9]{1,9})",
                        re.IGNORECASE)


def _epoch_columns(cols: list, path) -> list:
    """The per-epoch accuracy columns of a CSV, ordered by number (see ``from_csv``)."""
    found: dict[int, str] = {}
    stems = set()
    for c in cols:
        m = _EPOCH_COL.fullmatch(str(c))
        if not m:
            continue
        num = int(m.group(2))
        stems.add(m.group(1).lower())
        if num in found:
            raise ValueError(
                f"{os.fspath(path)!r}: columns {found[num]!r} and {c!r} both name epoch "
                f"number {num}; pass acc_columns=[...] to say which to use"
            )
        found[num] = c
    if not found:
        return []
    if len(stems) > 1:
        raise ValueError(
            f"{os.fspath(path)!r}: per-epoch columns with different stems {sorted(stems)}; "
            "pass acc_columns=[...] to say which are the accuracies"
        )
    nums = sorted(found)
    if nums not in (list(range(1, len(nums) + 1)), list(range(len(nums)))):
        raise ValueError(
            f"{os.fspath(path)!r}: per-epoch columns must be numbered 1..T or 0..T-1 without "
            f"gaps, got numbers {nums[:20]}; pass acc_columns=[...] to choose"
        )
    return [found[k] for k in nums]

