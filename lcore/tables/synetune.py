"""Syne Tune blackbox-repository folders (tabular blackboxes, as ``serialize`` writes them).

A folder holds ``hyperparameters.parquet`` (one row per configuration),
``objectives_evaluations.npy`` (float32, shape (tasks, configs, seeds, fidelities,
objectives)), ``fidelities_values.npy`` (the fidelities, e.g. epochs 1..T),
``metadata.json`` (``objectives_names``, ``task_names`` and optionally ``default_metric`` and
``metric_elapsed_time``) and ``configspace.json``. Syne Tune's PD1 folder keeps one set per
task instead (``{task}-hyperparameters.parquet``, ``{task}-objectives_evaluations.npy`` of
shape (configs, seeds, fidelities, objectives), ``{task}-fidelity_values.npy``); both are read.

``dataset=`` picks the task, ``metric=`` the objective (default: ``metadata["default_metric"]``,
else the first objective), ``seed=`` a seed index or ``"mean"`` (the default), ``mode=`` the
direction (default: ``"max"`` when the objective's name contains ``acc``, else ``"min"``).
Epoch time: measured, as the differences of the objective named by
``metadata["metric_elapsed_time"]`` (cumulative seconds) when there is one; else one unit per
fidelity step. Features: the hyperparameters, on a log scale when ``configspace.json`` calls
their domain log-scaled (a domain class or type mentioning ``log``), else by the automatic rule.

Needs pandas and pyarrow to read the parquet file (``pip install 'lcore[tables]'``).
"""

from __future__ import annotations

import json
import os

import numpy as np

from lcore.tables._common import ImportFormatError, base_meta, check_dataset, make_table

__all__ = ["read"]

LICENCE_NOTE = ("the licence of the benchmark the folder was converted from (Syne Tune itself "
                "is Apache-2.0)")


def _log_names(path: str) -> set[str]:
    f = os.path.join(path, "configspace.json")
    if not os.path.isfile(f):
        return set()
    try:
        with open(f, encoding="utf-8") as fh:
            cs = json.load(fh)
    except (json.JSONDecodeError, OSError):
        return set()
    out = set()
    if isinstance(cs, dict):
        for k, v in cs.items():
            text = json.dumps(v).lower() if isinstance(v, (dict, list)) else str(v).lower()
            if "log" in text:
                out.add(k)
    return out


def _npy(path: str, what: str) -> np.ndarray:
    try:
        return np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise ImportFormatError(f"{path!r} ({what}) is not a readable .npy array (no pickles): "
                                f"{exc}") from None


def read(path, dataset: str | None = None, metric: str | None = None, seed="mean",
         mode: str | None = None, licence: str | None = None):
    """Read one task of a Syne Tune blackbox folder into a table.

    Parameters
    ----------
    path : str or path
        The blackbox folder.
    dataset : str, optional
        The task; required when the folder holds several.
    metric : str, optional
        The objective forming the curves.
    seed : int or "mean"
    mode : {"max", "min"}, optional
    licence : str, optional
        The source's licence (recorded in meta; Syne Tune folders do not say).

    Returns
    -------
    LookupTable
    """
    import pandas as pd

    p = os.fspath(path)
    if not os.path.isdir(p):
        raise FileNotFoundError(f"no Syne Tune blackbox folder at {p!r}")
    mfile = os.path.join(p, "metadata.json")
    if not os.path.isfile(mfile):
        raise ImportFormatError(f"{p!r} is not a Syne Tune blackbox folder: metadata.json is "
                                "missing")
    try:
        with open(mfile, encoding="utf-8") as f:
            md = json.load(f)
    except json.JSONDecodeError as exc:
        raise ImportFormatError(f"{mfile!r} is not JSON: {exc}") from None
    for k in ("objectives_names", "task_names"):
        if k not in md or not isinstance(md[k], list) or not md[k]:
            raise ImportFormatError(f"{mfile!r} lacks the list {k!r}")
    tasks = [str(t) for t in md["task_names"]]
    task = check_dataset(dataset, tasks, "Syne Tune blackbox", p)
    names = [str(o) for o in md["objectives_names"]]
    per_task = os.path.isfile(os.path.join(p, f"{task}-objectives_evaluations.npy"))
    if per_task:
        hp_file = os.path.join(p, f"{task}-hyperparameters.parquet")
        ev = _npy(os.path.join(p, f"{task}-objectives_evaluations.npy"), "evaluations")
        fid_file = os.path.join(p, f"{task}-fidelity_values.npy")
        expect = 4
    else:
        hp_file = os.path.join(p, "hyperparameters.parquet")
        ev_file = os.path.join(p, "objectives_evaluations.npy")
        if not os.path.isfile(ev_file):
            raise ImportFormatError(f"{p!r} lacks objectives_evaluations.npy")
        ev = _npy(ev_file, "evaluations")
        fid_file = os.path.join(p, "fidelities_values.npy")
        expect = 5
    if ev.dtype.kind not in "iuf":
        raise ImportFormatError(f"objectives_evaluations must be numeric, got dtype {ev.dtype}")
    if ev.ndim != expect:
        raise ImportFormatError(
            f"objectives_evaluations must have {expect} dimensions ("
            + ("tasks, " if expect == 5 else "")
            + f"configs, seeds, fidelities, objectives), got shape {ev.shape}")
    if expect == 5:
        if ev.shape[0] != len(tasks):
            raise ImportFormatError(f"objectives_evaluations has {ev.shape[0]} tasks, "
                                    f"metadata.json names {len(tasks)}")
        ev = ev[tasks.index(task)]
    if ev.shape[3] != len(names):
        raise ImportFormatError(f"objectives_evaluations has {ev.shape[3]} objectives, "
                                f"metadata.json names {len(names)}")
    if not os.path.isfile(hp_file):
        raise ImportFormatError(f"{p!r} lacks {os.path.basename(hp_file)}")
    try:
        hps = pd.read_parquet(hp_file)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises many types
        raise ImportFormatError(f"{hp_file!r} is not a readable parquet file: {exc}") from None
    if len(hps) != ev.shape[0]:
        raise ImportFormatError(f"{os.path.basename(hp_file)} has {len(hps)} rows, the "
                                f"evaluations {ev.shape[0]} configurations")
    if os.path.isfile(fid_file):
        fid = _npy(fid_file, "fidelities")
        if fid.shape != (ev.shape[2],):
            raise ImportFormatError(f"fidelity values have shape {fid.shape}, expected "
                                    f"({ev.shape[2]},)")
        if not (np.diff(fid.astype(np.float64)) > 0).all():
            raise ImportFormatError("fidelity values must increase")
    metric = metric or md.get("default_metric") or names[0]
    if metric not in names:
        raise ValueError(f"metric={metric!r} is not an objective of {p!r}; objectives: {names}")
    if mode is None:
        mode = "max" if "acc" in metric.lower() else "min"
    if mode not in ("max", "min"):
        raise ValueError(f"mode must be 'max' or 'min', got {mode!r}")
    n_seeds = ev.shape[1]
    if seed == "mean":
        sel = ev.astype(np.float64)
        with np.errstate(invalid="ignore"):
            bad = ~np.isfinite(sel).all(axis=1)
            sel = sel.mean(axis=1)
            sel[bad] = np.nan
    elif (isinstance(seed, (int, np.integer)) and not isinstance(seed, bool)
          and 0 <= seed < n_seeds):
        sel = ev[:, int(seed)].astype(np.float64)
    else:
        raise ValueError(f"seed must be an int in [0, {n_seeds - 1}] or 'mean', got {seed!r}")
    values = sel[:, :, names.index(metric)]
    time, tsrc, tnote = None, None, None
    el = md.get("metric_elapsed_time")
    if isinstance(el, str) and el in names:
        cum = sel[:, :, names.index(el)]
        prev = np.concatenate([np.zeros((cum.shape[0], 1)), cum[:, :-1]], axis=1)
        time = np.where(np.isfinite(cum - prev), np.maximum(cum - prev, 0.0), 0.0)
        tsrc, tnote = "measured", f"differences of the cumulative objective {el!r}"
    logs = _log_names(p)
    feats = {}
    for c in hps.columns:
        col = hps[c]
        feats[str(c)] = (col.astype(str).to_numpy() if col.dtype == object
                         else col.to_numpy())
    meta = base_meta("synetune", p, source=f"Syne Tune blackbox folder {os.path.basename(p)}",
                     licence=licence or LICENCE_NOTE, citation="Salinas et al., Syne Tune, "
                     "AutoML Conf 2022 (and the benchmark's own paper)", dataset=task,
                     task=task, metric=metric, mode=mode,
                     seed=seed if seed == "mean" else int(seed))
    return make_table(values, meta=meta, features=feats,
                      encode={"log": [c for c in feats if c in logs]},
                      time=time, time_source=tsrc, time_note=tnote, params=feats)
