"""Baker, Gupta, Raskar & Naik (2018) learning-curve CSVs (MITAutoML/accelerating_nas, data/).

Each file holds one row per trained network: descriptive columns, then the curve in columns
``acc_<k>`` (or ``ep_<k>``), k consecutive. Per the authors' README, a first curve column
numbered 0 (``acc_0`` / ``ep_0``) is the randomly initialised model, not an epoch: it is
dropped by default (``initial="keep"`` keeps it as epoch 1). The curves are validation
accuracy (a fraction), except the LSTM / Penn Treebank file whose values are validation
perplexity (lower is better); ``metric=None`` detects that from the values (any value > 1
means perplexity; accuracies in these files are fractions) and the file's
``training_dataset`` / name.

Configuration columns become ``unit`` features (see :func:`lcore.tables._common.encode_features`;
``num_params``, learning rates, weight decays and step sizes on a log scale). A MetaQNN ``net``
column (``[C(64,1,1), P(2,2), FC(128), SM(10)]``) is summarised into numbers, each min-max
scaled over the table:

==================  ======================================================================
feature             meaning
==================  ======================================================================
n_conv              number of convolution layers ``C(n, f, l)``
n_pool              number of pooling layers ``P(f, l)``
n_fc                number of fully connected layers ``FC(n)``
n_dropout           number of dropout layers ``D(i, k)``
gap                 1 if the net ends in global average pooling ``GAP(n)``
conv_filters_total  sum of the convolutions' filters (log(1 + x) scale)
conv_filters_max    the largest number of filters of a convolution (log(1 + x))
conv_field_mean     mean receptive field size of the convolutions
conv_stride_max     largest convolution stride
pool_field_mean     mean receptive field of the pooling layers
fc_units_total      sum of the fully connected layers' units (log(1 + x))
==================  ======================================================================

Epoch time: these files record none, so every epoch costs one unit.
"""

from __future__ import annotations

import os
import re

import numpy as np

from lcore.tables._common import ImportFormatError, base_meta, make_table

__all__ = ["read", "metaqnn_features", "LICENCE", "CITATION"]

CITATION = ("Baker, Gupta, Raskar & Naik, Accelerating Neural Architecture Search using "
            "Performance Prediction, ICLR Workshop 2018")
LICENCE = ("MIT licence, Copyright (c) 2018 MITAutoML "
           "(github.com/MITAutoML/accelerating_nas); the notice ships as lcore/data/"
           "BAKER2018_LICENSE.txt")
SOURCE = "Baker et al. 2018, github.com/MITAutoML/accelerating_nas, data/"
_CURVE = re.compile(r"^(acc|ep)_(\d+)$")
_LAYER = re.compile(r"([A-Za-z]+)\(([^()]*)\)")
_LOG_COLUMNS = ("num_params", "lr", "base_lr", "ss", "weight_decay", "f4_l2", "lrn_scale")
# chance accuracy of the classification datasets in that repository
_CHANCE = {"cifar10": 0.1, "svhn": 0.1, "tinyimagenet": 1 / 200, "imagenet": 1 / 1000}

METAQNN_FEATURES = ("n_conv", "n_pool", "n_fc", "n_dropout", "gap", "conv_filters_total",
                    "conv_filters_max", "conv_field_mean", "conv_stride_max",
                    "pool_field_mean", "fc_units_total")


def metaqnn_features(nets) -> dict[str, np.ndarray]:
    """Summarise MetaQNN layer strings into numbers (see the module docstring).

    Parameters
    ----------
    nets : sequence of str, length n

    Returns
    -------
    dict of str to ndarray (n,) float64, keys :data:`METAQNN_FEATURES`.
    """
    out = {k: np.zeros(len(nets)) for k in METAQNN_FEATURES}
    for i, net in enumerate(nets):
        layers = _LAYER.findall(str(net))
        if not layers:
            raise ImportFormatError(
                f"row {i}: the net column must be a MetaQNN layer string such as "
                f"'[C(64,1,1), P(2,2), SM(10)]', got {str(net)[:60]!r}"
            )
        conv_f, conv_s, conv_n, pool_f, fc_n = [], [], [], [], []
        for kind, args in layers:
            try:
                nums = [float(x) for x in args.split(",") if x.strip()]
            except ValueError:
                raise ImportFormatError(f"row {i}: layer {kind}({args}) has non-numeric "
                                        "arguments") from None
            kind = kind.upper()
            if kind == "C" and len(nums) >= 3:
                conv_n.append(nums[0])
                conv_f.append(nums[1])
                conv_s.append(nums[2])
            elif kind == "P" and nums:
                pool_f.append(nums[0])
            elif kind == "FC" and nums:
                fc_n.append(nums[0])
            elif kind == "D":
                out["n_dropout"][i] += 1
            elif kind == "GAP":
                out["gap"][i] = 1.0
        out["n_conv"][i] = len(conv_n)
        out["n_pool"][i] = len(pool_f)
        out["n_fc"][i] = len(fc_n)
        out["conv_filters_total"][i] = sum(conv_n)
        out["conv_filters_max"][i] = max(conv_n, default=0.0)
        out["conv_field_mean"][i] = float(np.mean(conv_f)) if conv_f else 0.0
        out["conv_stride_max"][i] = max(conv_s, default=0.0)
        out["pool_field_mean"][i] = float(np.mean(pool_f)) if pool_f else 0.0
        out["fc_units_total"][i] = sum(fc_n)
    return out


def read(path, metric: str | None = None, initial: str = "drop", dataset: str | None = None):
    """Read one CSV of the Baker et al. (2018) repository into a table.

    Parameters
    ----------
    path : str or path
        A CSV of that repository's ``data/`` folder (any of its files).
    metric : {None, "val_accuracy", "val_perplexity"}
        None detects it (see the module docstring).
    initial : {"drop", "keep"}
        What to do with a curve column numbered 0 (the untrained model).
    dataset : str, optional
        Keep only the rows whose ``training_dataset`` is this value.

    Returns
    -------
    LookupTable
        ``acc`` (n, T) with the metric, one time unit per epoch, ``unit`` features.
    """
    import pandas as pd

    if initial not in ("drop", "keep"):
        raise ValueError(f"initial must be 'drop' or 'keep', got {initial!r}")
    if metric not in (None, "val_accuracy", "val_perplexity"):
        raise ValueError(f"metric must be None, 'val_accuracy' or 'val_perplexity', got "
                         f"{metric!r}")
    p = os.fspath(path)
    if not os.path.isfile(p):
        raise FileNotFoundError(f"no Baker et al. CSV at {p!r}")
    import csv

    try:
        with open(p, newline="", encoding="utf-8") as f:
            rows = csv.reader(f)
            header = next(rows, None)
            if not header:
                raise ImportFormatError(f"{p!r} is empty (expected a CSV header)")
            for ln, row in enumerate(rows, start=2):
                if len(row) > len(header):
                    raise ImportFormatError(
                        f"{p!r} is not a readable CSV: ragged line {ln} has {len(row)} fields, "
                        f"the header {len(header)}"
                    )
    except UnicodeDecodeError as exc:
        raise ImportFormatError(f"{p!r} is not a readable CSV: {exc}") from None
    try:
        df = pd.read_csv(p, index_col=False)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise ImportFormatError(f"{p!r} is not a readable CSV (rows must have the header's "
                                f"columns): {exc}") from None
    found = sorted((int(m.group(2)), c) for c in df.columns if (m := _CURVE.match(str(c))))
    if not found:
        raise ImportFormatError(
            f"{p!r} has no curve columns: expected acc_1, acc_2, ... (or acc_0 / ep_0, ...) "
            f"after the descriptive columns, got columns {list(df.columns)[:8]}"
        )
    nums = [k for k, _ in found]
    if nums != list(range(nums[0], nums[0] + len(nums))):
        raise ImportFormatError(f"{p!r}: curve columns must be numbered consecutively, got "
                                f"{[c for _, c in found][:5]}...")
    curve_cols = [c for _, c in found]
    if dataset is not None:
        if "training_dataset" not in df.columns:
            raise ValueError(f"dataset={dataset!r} needs a training_dataset column, which "
                             f"{p!r} lacks")
        have = sorted(df["training_dataset"].astype(str).unique().tolist())
        if dataset not in have:
            raise ValueError(f"dataset={dataset!r} is not in {p!r}; it holds {have}")
        df = df[df["training_dataset"].astype(str) == dataset].reset_index(drop=True)
    for c in curve_cols:
        if df[c].dtype.kind not in "iuf":
            bad = pd.to_numeric(df[c], errors="coerce").isna() & df[c].notna()
            i = int(np.argmax(bad.to_numpy()))
            raise ImportFormatError(f"{p!r}: curve column {c!r} must hold numbers, got "
                                    f"{df[c].iloc[i]!r} in row {i}")
    values = df[curve_cols].to_numpy(dtype=np.float64)
    initial_note = "none"
    if nums[0] == 0:
        if initial == "drop":
            values = values[:, 1:]
            curve_cols = curve_cols[1:]
            initial_note = "dropped"
        else:
            initial_note = "kept"
        if values.shape[1] == 0:
            raise ImportFormatError(f"{p!r} has only the untrained model's column")
    desc = [c for c in df.columns if not _CURVE.match(str(c))]
    train_ds = None
    if "training_dataset" in df.columns:
        u = df["training_dataset"].astype(str).unique().tolist()
        train_ds = u[0] if len(u) == 1 else None
    name = os.path.basename(p)
    if train_ds is None and "training_dataset" not in df.columns:
        # files without the column name their dataset: deep_resnets_cifar10.csv, ...
        stem = os.path.splitext(name)[0].lower()
        for key in ("tinyimagenet", "imagenet", "cifar100", "cifar10", "svhn"):
            if stem.endswith(key):
                train_ds = key
                break
    if metric is None:
        fin = values[np.isfinite(values)]
        lm = (str(train_ds).lower() in ("penntreebank", "ptb")
              or name.lower().startswith("lstm") or (fin.size and fin.max() > 1.0))
        metric = "val_perplexity" if lm else "val_accuracy"
    mode = "min" if metric == "val_perplexity" else "max"
    meta = base_meta(
        "baker2018", p, source=f"{SOURCE}{name}", licence=LICENCE, citation=CITATION,
        dataset=train_ds or os.path.splitext(name)[0], metric=metric, mode=mode,
        initial_column=initial_note,
        curve_columns=[curve_cols[0], curve_cols[-1]],
    )
    if mode == "max" and train_ds is not None:
        key = str(train_ds).lower().replace("-", "").replace("_", "")
        if key in _CHANCE:
            meta["chance"] = _CHANCE[key]
    features: dict[str, np.ndarray] = {}
    params: dict[str, np.ndarray] = {}
    extra = None
    for c in desc:
        col = df[c]
        if c == "net":
            summ = metaqnn_features(col.astype(str).tolist())
            params["net"] = col.astype(str).to_numpy()
            from lcore.tables._common import encode_features
            u, f, d = encode_features(summ, log1p=("conv_filters_total", "conv_filters_max",
                                                   "fc_units_total"),
                                      linear=METAQNN_FEATURES)
            for item in f:
                item["column"] = "net"
            extra = (u, f)
            meta["net_features"] = "MetaQNN layer string summarised: " + ", ".join(
                METAQNN_FEATURES) + " (see lcore.tables.baker2018)"
            if d:
                meta["net_features_dropped"] = d
            continue
        a = col.to_numpy()
        if col.dtype == object:
            a = col.astype(str).to_numpy()
        elif col.isna().any():
            raise ImportFormatError(f"{p!r}: column {c!r} has missing values")
        features[c] = a
        params[c] = a
    return make_table(values, meta=meta, features=features,
                      encode={"log": [c for c in _LOG_COLUMNS if c in features]},
                      params=params, extra_features=extra)
