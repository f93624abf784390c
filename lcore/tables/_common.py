"""Helpers shared by the importers: curve cleaning, feature encoding, the common ``meta``.

Every importer turns a benchmark's curves into a :class:`~lcore.table.LookupTable` through
:func:`make_table`, so all imported tables carry the same ``meta`` keys:

===================  ==========================================================================
key                  meaning
===================  ==========================================================================
format               the importer's format name (``"baker2018"``, ``"taskset"``, ...)
source               where the curves come from (authors, repository or archive, file name)
source_file          the file (or folder) name that was read
licence              the source's licence, with its notice where the licence asks for one
citation             the paper to cite
dataset              the task / dataset the curves belong to
metric, mode         the metric's name and direction (``"max"``: higher is better)
features             one entry per ``unit`` column: the configuration field it comes from and
                     how it was scaled (``linear``, ``log``, ``log1m``, ``log1p``, ``onehot``,
                     ``binary``, ``ordinal``), with the range used
feature_encoding     the same in one sentence
features_dropped     configuration fields left out of ``unit`` (constant ones) and why
time_source          ``"measured"``, ``"interpolated from a total"`` or ``"one unit per
                     epoch"``; ``time_unit`` says the unit (``"s"`` or ``"epoch"``) and
                     ``time_note`` says what exactly was done
n_failed_runs        rows whose curve held NaN or inf (kept as failed runs: later epochs NaN
                     in ``acc``, 0 in ``time``), ``n_nonfinite_values`` the values affected
initial_column       what happened to a first curve value that belongs to the untrained model
                     (``"dropped"``, ``"kept"`` or ``"none"``)
T                    epochs per row
===================  ==========================================================================
"""

from __future__ import annotations

import math
import os
from typing import Any, Iterable

import numpy as np

from lcore.table import LookupTable

__all__ = ["ImportFormatError", "make_table", "encode_features", "clean_curves", "base_meta",
           "json_floats"]

_F32_MAX = float(np.finfo(np.float32).max)


class ImportFormatError(ValueError):
    """A benchmark file that does not have its format's layout (missing keys, ragged curves,
    values of the wrong type)."""


# ------------------------------------------------------------------------------------------
def json_floats(x, where: str, *, allow_null: bool = False,
                allow_empty: bool = False) -> list[float] | None:
    """One curve from parsed JSON: a list of numbers (JSON ``null`` -> NaN) as floats.

    Parameters
    ----------
    x : object
        The parsed value (a list for a curve).
    where : str
        Names the value in error messages (file, record, key).
    allow_null : bool
        Accept ``x = None`` (a run that logged nothing) and return None.
    allow_empty : bool
        Accept an empty list.

    Returns
    -------
    list of float or None
        NaN where the list held ``null``; ``NaN`` / ``Infinity`` literals stay as they are
        (the table turns them into a failed run).
    """
    if x is None and allow_null:
        return None
    if not isinstance(x, list) or (not x and not allow_empty):
        what = "a list" if allow_empty else "a non-empty list"
        raise ImportFormatError(f"{where} must be {what} of numbers"
                                + (" or null" if allow_null else "")
                                + f", got {type(x).__name__}"
                                + (" of length 0" if isinstance(x, list) else ""))
    out = []
    for t, v in enumerate(x):
        if v is None:
            out.append(math.nan)
        elif isinstance(v, bool) or not isinstance(v, (int, float)):
            raise ImportFormatError(f"{where}[{t}] must be a number, got {v!r}")
        else:
            out.append(float(v))
    return out


def clean_curves(values: np.ndarray, time: np.ndarray | None = None):
    """Turn non-finite values into failed runs.

    Parameters
    ----------
    values : ndarray, shape (n, T)
        Curves as float64; NaN, +-inf and values too large for float32 are non-finite.
    time : ndarray, shape (n, T), optional
        Per-epoch cost; zeroed from a row's first non-finite epoch on.

    Returns
    -------
    values : ndarray (n, T) float64
        NaN from each row's first non-finite value on.
    time : ndarray (n, T) float64 or None
    n_failed : int
        Rows with a non-finite value.
    n_nonfinite : int
        Non-finite values found.
    """
    v = np.array(values, dtype=np.float64, copy=True)
    bad = ~np.isfinite(v) | (np.abs(np.nan_to_num(v, nan=0.0)) > _F32_MAX)
    n_nonfinite = int(bad.sum())
    after = np.logical_or.accumulate(bad, axis=1)
    v[after] = np.nan
    t = None
    if time is not None:
        t = np.array(time, dtype=np.float64, copy=True)
        t[after] = 0.0
    return v, t, int(bad.any(axis=1).sum()), n_nonfinite


# ------------------------------------------------------------------------------------------
def _is_numeric(a: np.ndarray) -> bool:
    return a.dtype.kind in "iuf"


def encode_features(
    columns: dict[str, Any],
    log: Iterable[str] = (),
    log1m: Iterable[str] = (),
    log1p: Iterable[str] = (),
    linear: Iterable[str] = (),
    categorical: Iterable[str] = (),
    auto_log_ratio: float = 100.0,
    max_onehot: int = 8,
) -> tuple[np.ndarray, list[dict], list[dict]]:
    """Map configuration columns to ``unit`` features in [0, 1].

    Numbers are min-max scaled over the table (after ``log``, ``log(1 - x)`` for ``log1m``
    or ``log(1 + x)`` for ``log1p``). A numeric column in none of the lists is put on a log
    scale when all its values are > 0 and ``max / min >= auto_log_ratio`` (the usual sign of
    a log-sampled range), else linear. Strings, booleans and the ``categorical`` columns are
    categories: two values give one ``binary`` column (0 for the first in sorted order),
    up to ``max_onehot`` values one column per value (``onehot``), more an ``ordinal``
    column (rank / (k - 1) in sorted order). Constant columns carry no information and are
    dropped.

    Parameters
    ----------
    columns : dict of str to array_like (n,)
        The configuration fields, in the order the features should have.

    Returns
    -------
    unit : ndarray, shape (n, d) float64
    features : list of dict
        One per unit column: ``name``, ``column``, ``kind`` and ``min``/``max`` or ``value``.
    dropped : list of dict
        ``column`` and ``reason`` for each field left out.
    """
    log, log1m, log1p = set(log), set(log1m), set(log1p)
    linear, categorical = set(linear), set(categorical)
    cols: list[np.ndarray] = []
    feats: list[dict] = []
    dropped: list[dict] = []
    n = None
    for name, raw in columns.items():
        a = np.asarray(raw)
        if a.ndim != 1:
            raise ImportFormatError(f"configuration field {name!r} must be one value per row, "
                                    f"got shape {a.shape}")
        if n is None:
            n = a.shape[0]
        elif a.shape[0] != n:
            raise ImportFormatError(f"configuration field {name!r} has {a.shape[0]} values, "
                                    f"expected {n}")
        if a.dtype.kind == "b" or not _is_numeric(a) or name in categorical:
            labels = np.asarray([str(x) for x in a.tolist()])
            cats = sorted(set(labels.tolist()))
            if len(cats) < 2:
                dropped.append({"column": name, "reason": f"constant ({cats[0] if cats else ''})"})
                continue
            idx = np.searchsorted(np.asarray(cats), labels)
            if len(cats) == 2:
                cols.append(idx.astype(np.float64))
                feats.append({"name": name, "column": name, "kind": "binary",
                              "value": cats[1], "zero": cats[0]})
            elif len(cats) <= max_onehot:
                for k, c in enumerate(cats):
                    cols.append((idx == k).astype(np.float64))
                    feats.append({"name": f"{name}={c}", "column": name, "kind": "onehot",
                                  "value": c})
            else:
                cols.append(idx.astype(np.float64) / (len(cats) - 1))
                feats.append({"name": name, "column": name, "kind": "ordinal",
                              "categories": cats})
            continue
        x = a.astype(np.float64)
        if not np.isfinite(x).all():
            i = int(np.argmax(~np.isfinite(x)))
            raise ImportFormatError(f"configuration field {name!r} must be finite numbers, "
                                    f"got {x[i]!r} in row {i}")
        if name in log1m:
            kind, tx = "log1m", np.log(np.clip(1.0 - x, 1e-300, None))
            if (x >= 1.0).any():
                raise ImportFormatError(f"{name!r} is encoded as log(1 - x) and needs x < 1, "
                                        f"got {x.max()!r}")
        elif name in log1p:
            if (x <= -1.0).any():
                raise ImportFormatError(f"{name!r} is encoded as log(1 + x) and needs x > -1")
            kind, tx = "log1p", np.log1p(x)
        elif name in log or (
            name not in linear and (x > 0).all() and x.max() / x.min() >= auto_log_ratio
        ):
            if (x <= 0).any():
                raise ImportFormatError(f"{name!r} is on a log scale and needs values > 0, "
                                        f"got {x.min()!r}")
            kind, tx = "log", np.log(x)
        else:
            kind, tx = "linear", x
        lo, hi = float(tx.min()), float(tx.max())
        if hi <= lo:
            dropped.append({"column": name, "reason": f"constant ({float(x[0]):g})"})
            continue
        cols.append(np.clip((tx - lo) / (hi - lo), 0.0, 1.0))
        raw_lo, raw_hi = float(x.min()), float(x.max())
        feats.append({"name": name, "column": name, "kind": kind, "min": raw_lo, "max": raw_hi})
    if n is None:
        n = 0
    unit = np.stack(cols, axis=1) if cols else np.zeros((n, 0))
    return unit, feats, dropped


def describe_features(features: list[dict], dropped: list[dict]) -> str:
    """One sentence saying how the ``unit`` columns were made."""
    parts = []
    for f in features:
        k = f["kind"]
        if k in ("linear", "log", "log1m", "log1p"):
            how = {"linear": "min-max scaled", "log": "log, then min-max scaled",
                   "log1m": "log(1 - x), then min-max scaled",
                   "log1p": "log(1 + x), then min-max scaled"}[k]
            parts.append(f"{f['name']} ({how} over [{f['min']:.4g}, {f['max']:.4g}])")
        elif k == "onehot":
            parts.append(f"{f['name']} (one-hot)")
        elif k == "binary":
            parts.append(f"{f['name']} (1 if {f['value']!r}, 0 if {f['zero']!r})")
        else:
            parts.append(f"{f['name']} (ordinal over {len(f['categories'])} sorted categories)")
    text = "unit columns: " + "; ".join(parts) if parts else "no unit columns"
    if dropped:
        text += ". Left out: " + ", ".join(f"{d['column']} ({d['reason']})" for d in dropped)
    return text + "."


# ------------------------------------------------------------------------------------------
def base_meta(fmt: str, path, **extra) -> dict:
    """The ``meta`` keys every importer sets first."""
    from lcore import __version__

    meta = {"format": fmt, "source_file": os.path.basename(os.fspath(path).rstrip("/")),
            "importer": f"lcore.tables.{fmt} (lcore {__version__})"}
    meta.update(extra)
    return meta


def make_table(
    values,
    *,
    meta: dict,
    features: dict[str, Any] | None = None,
    encode: dict | None = None,
    time=None,
    time_source: str | None = None,
    time_note: str | None = None,
    params: dict[str, Any] | None = None,
    extra_features: tuple[np.ndarray, list[dict]] | None = None,
) -> LookupTable:
    """Build the table: clean the curves, encode the features, fill the common ``meta``.

    Parameters
    ----------
    values : array_like, shape (n, T)
        The metric after each epoch, in the metric's own units (NaN/inf: a failed run).
    meta : dict
        At least ``format``, ``source``, ``licence``, ``metric`` and ``mode``.
    features : dict of str to array_like (n,), optional
        Configuration fields for :func:`encode_features` (``encode`` holds its options).
    time : array_like, shape (n, T), optional
        Per-epoch cost in seconds; None gives one unit per epoch (``time_unit = "epoch"``).
    params : dict, optional
        The configurations as stored in the table (numbers or strings).
    extra_features : (unit, features), optional
        Already encoded columns appended after ``features``'s.
    """
    v = np.asarray(values)
    if v.ndim != 2 or v.shape[0] == 0 or v.shape[1] == 0:
        raise ImportFormatError(f"curves must form a non-empty (n, T) array, got shape {v.shape}")
    if v.dtype.kind not in "iuf":
        raise ImportFormatError(f"curve values must be numbers, got dtype {v.dtype}")
    n, T = v.shape
    for k in ("format", "source", "licence", "metric", "mode"):
        if k not in meta:  # pragma: no cover - a programming error in an importer
            raise KeyError(f"importer meta lacks {k!r}")
    if time is not None and np.shape(time) != v.shape:
        raise ImportFormatError(f"time must have the curves' shape {v.shape}, got "
                                f"{np.shape(time)}")
    v, t, n_failed, n_nonfinite = clean_curves(v, None if time is None else np.asarray(time))
    finished = ~np.isnan(v)
    meta = dict(meta)
    if t is None:
        t = finished.astype(np.float64)
        meta["time_source"] = "one unit per epoch"
        meta["time_unit"] = "epoch"
        meta.setdefault(
            "time_note",
            time_note or "the source records no training time: every epoch costs 1 unit "
            "(so times and time-to-goal are in epochs, not seconds; not measured)",
        )
    else:
        if (t[finished] < 0).any() or not np.isfinite(t[finished]).all():
            raise ImportFormatError("per-epoch times must be finite and >= 0")
        t = np.where(finished, t, 0.0)
        meta["time_source"] = time_source or "measured"
        meta["time_unit"] = "s"
        if time_note:
            meta["time_note"] = time_note
    if meta["mode"] == "max" and "acc" in str(meta["metric"]).lower():
        fin = v[finished]
        if fin.size and (fin.min() < 0.0 or fin.max() > 1.0):
            raise ImportFormatError(
                f"{meta['metric']} values must lie in [0, 1], got [{fin.min():.4g}, "
                f"{fin.max():.4g}]; pass metric= to import another metric"
            )
    unit_parts, feats, dropped = [], [], []
    if features:
        u, feats, dropped = encode_features(features, **(encode or {}))
        unit_parts.append(u)
    if extra_features is not None:
        u2, f2 = extra_features
        unit_parts.append(np.asarray(u2, dtype=np.float64))
        feats = feats + list(f2)
    unit = np.concatenate(unit_parts, axis=1) if unit_parts else None
    if unit is not None and unit.shape[1] == 0:
        unit = None
    meta["features"] = feats
    meta["features_dropped"] = dropped
    meta["feature_encoding"] = describe_features(feats, dropped)
    meta["n_failed_runs"] = int(n_failed)
    meta["n_nonfinite_values"] = int(n_nonfinite)
    meta.setdefault("initial_column", "none")
    meta["T"] = int(T)
    meta["n"] = int(n)
    if params is not None:
        params = {k: _param_array(k, v_) for k, v_ in params.items()}
    return LookupTable(v.astype(np.float32), t.astype(np.float32), unit=unit, params=params,
                       meta=_jsonable(meta))


def _param_array(name: str, values) -> np.ndarray:
    a = np.asarray(values)
    if a.dtype == object or a.dtype.kind == "b":
        a = np.asarray([str(x) for x in a.tolist()])
    return a


def _jsonable(x):
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def check_dataset(name, available: list[str], fmt: str, path) -> str:
    """Pick ``name`` among ``available`` (the only one when None); errors list the choices."""
    if name is None:
        if len(available) == 1:
            return available[0]
        raise ValueError(
            f"{os.fspath(path)!r} holds {len(available)} datasets; pick one with "
            f"dataset=..., one of {sorted(available)}"
        )
    if name not in available:
        raise ValueError(f"dataset={name!r} is not in the {fmt} file {os.fspath(path)!r}; it "
                         f"holds {sorted(available)}")
    return name
