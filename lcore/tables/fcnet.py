"""FCNet / HPOLib tabular benchmarks (Klein & Hutter 2019): ``fcnet_<dataset>_data.hdf5``.

Each top-level key of the HDF5 file is a configuration (a dict written as text, e.g.
``{"activation_fn_1": "relu", "batch_size": 8, ...}``); its group holds ``valid_loss``,
``valid_mse``, ``train_loss``, ``train_mse`` of shape (4, 100) (4 seeds x 100 epochs),
``runtime`` (4,) (total seconds), ``n_params`` and ``final_test_error`` (4,). The table's
curves are ``metric`` (``"valid_loss"`` by default; mode ``"min"``) for one seed
(``seed=0..3``) or their mean over the seeds (``seed="mean"``, the default). Epoch time is
interpolated from the total: ``runtime / 100`` per epoch (mean of the seeds' runtimes with
``seed="mean"``), as the FCNet code does.

Features: the 9 hyperparameters (batch_size, init_lr, n_units_1, n_units_2 on a log scale;
dropouts linear; activation functions and lr_schedule as categories).

Needs ``h5py`` (``pip install 'lcore[tables]'``). The data may not be redistributed with lcore:
``lcore table fetch fcnet`` downloads it.
"""

from __future__ import annotations

import ast
import json
import os
import re

import numpy as np

from lcore.tables._common import ImportFormatError, base_meta, make_table

__all__ = ["read", "LICENCE", "CITATION", "parse_config"]

CITATION = ("Klein & Hutter, Tabular Benchmarks for Joint Architecture and Hyperparameter "
            "Optimization, arXiv:1905.04970, 2019")
LICENCE = "BSD 3-Clause (automl/nas_benchmarks); data downloaded by the user, not shipped"
SOURCE = "FCNet tabular benchmarks, github.com/automl/nas_benchmarks (fcnet_tabular_benchmarks)"
_LOG = ("batch_size", "init_lr", "n_units_1", "n_units_2")
_LINEAR = ("dropout_1", "dropout_2")
METRICS = ("valid_loss", "valid_mse", "train_loss", "train_mse")


def parse_config(key: str) -> dict:
    """A configuration key of the file as a dict (JSON or a Python literal; never eval)."""
    try:
        out = json.loads(key)
    except ValueError:
        try:
            out = ast.literal_eval(key)
        except (ValueError, SyntaxError):
            raise ImportFormatError(f"configuration key {key[:80]!r} is neither JSON nor a "
                                    "Python dict literal") from None
    if not isinstance(out, dict):
        raise ImportFormatError(f"configuration key {key[:80]!r} must be a dict")
    return out


def read(path, metric: str = "valid_loss", seed="mean", dataset: str | None = None):
    """Read an FCNet HDF5 file into a table.

    Parameters
    ----------
    path : str or path
        ``fcnet_<dataset>_data.hdf5``.
    metric : {"valid_loss", "valid_mse", "train_loss", "train_mse"}
    seed : int in [0, 3] or "mean"
    dataset : str, optional
        When given, must match the file's dataset (one per file).

    Returns
    -------
    LookupTable
    """
    try:
        import h5py
    except ImportError:  # pragma: no cover - h5py is in the tables extra
        raise ImportError("the fcnet importer needs h5py: pip install 'lcore[tables]'") from None
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {METRICS}, got {metric!r}")
    p = os.fspath(path)
    if not os.path.isfile(p):
        raise FileNotFoundError(f"no FCNet file at {p!r}")
    m = re.match(r"^fcnet_(.+)_data\.hdf5$", os.path.basename(p))
    name = m.group(1) if m else os.path.splitext(os.path.basename(p))[0]
    if dataset is not None and dataset != name:
        raise ValueError(f"dataset={dataset!r} does not match the file's dataset {name!r} "
                         "(one dataset per file)")
    try:
        f = h5py.File(p, "r")
    except OSError as exc:
        raise ImportFormatError(f"{p!r} is not an HDF5 file: {exc}") from None
    with f:
        keys = sorted(f.keys())
        if not keys:
            raise ImportFormatError(f"{p!r} holds no configurations")
        curves, runtimes, configs = [], [], []
        n_seeds = None
        for k in keys:
            g = f[k]
            if not isinstance(g, h5py.Group):
                raise ImportFormatError(f"{p!r}: {k[:60]!r} must be a group of datasets")
            for need in (metric, "runtime"):
                if need not in g:
                    raise ImportFormatError(f"{p!r}: configuration {k[:60]!r} lacks {need!r} "
                                            f"(has {sorted(g.keys())})")
            c = np.asarray(g[metric][()])
            r = np.asarray(g["runtime"][()])
            if c.dtype.kind not in "iuf" or r.dtype.kind not in "iuf":
                raise ImportFormatError(f"{p!r}: {metric!r} and 'runtime' must be numeric, got "
                                        f"{c.dtype} and {r.dtype}")
            if c.ndim != 2 or r.shape != (c.shape[0],):
                raise ImportFormatError(f"{p!r}: {metric!r} must be (seeds, epochs) and "
                                        f"'runtime' (seeds,), got {c.shape} and {r.shape}")
            if curves and c.shape != curves[0].shape:
                raise ImportFormatError(f"{p!r}: ragged curves: {k[:60]!r} has {metric} of "
                                        f"shape {c.shape}, the first {curves[0].shape}")
            n_seeds = c.shape[0]
            curves.append(c.astype(np.float64))
            runtimes.append(r.astype(np.float64))
            configs.append(parse_config(k))
    cur = np.stack(curves)  # (n, seeds, T)
    rt = np.stack(runtimes)  # (n, seeds)
    T = cur.shape[2]
    if seed == "mean":
        with np.errstate(invalid="ignore"):
            bad = ~np.isfinite(cur).all(axis=1)
            values = cur.mean(axis=1)
            values[bad] = np.nan
            total = rt.mean(axis=1)
    elif (isinstance(seed, (int, np.integer)) and not isinstance(seed, bool)
          and 0 <= seed < n_seeds):
        values, total = cur[:, int(seed)], rt[:, int(seed)]
    else:
        raise ValueError(f"seed must be an int in [0, {n_seeds - 1}] or 'mean', got {seed!r}")
    total = np.where(np.isfinite(total) & (total >= 0), total, 0.0)
    time = np.repeat((total / T)[:, None], T, axis=1)
    feats: dict[str, np.ndarray] = {}
    for k in sorted({k for c in configs for k in c}):
        vals = [c.get(k) for c in configs]
        if any(v is None for v in vals):
            raise ImportFormatError(f"{p!r}: hyperparameter {k!r} is missing in some keys")
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in vals):
            feats[k] = np.asarray(vals, dtype=np.float64)
        else:
            feats[k] = np.asarray([str(v) for v in vals])
    meta = base_meta("fcnet", p, source=f"{SOURCE}, {os.path.basename(p)}", licence=LICENCE,
                     citation=CITATION, dataset=name, metric=metric, mode="min",
                     seed=seed if seed == "mean" else int(seed))
    return make_table(values, meta=meta, features=feats,
                      encode={"log": [k for k in _LOG if k in feats],
                              "linear": [k for k in _LINEAR if k in feats]},
                      time=time, time_source="interpolated from a total",
                      time_note=f"per-epoch seconds: the run's total 'runtime' / {T}",
                      params=feats)
