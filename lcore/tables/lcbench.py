"""LCBench (Zimmer, Lindauer & Hutter 2021) ``data_2k.json`` / ``data_2k_lw.json``.

The file maps each OpenML dataset name to its 2,000 runs, ``{dataset: {config_id: {"config":
{...}, "log": {tag: [per-epoch values]}, "results": {...}}}}`` (the layout LCBench's
``api.Benchmark.query`` reads). One table per dataset (``dataset=``). The curve is the log
tag ``tag`` (``"Train/val_accuracy"`` by default, in percent in the published files and
divided by 100 when any value exceeds 1; a tag with ``loss`` or ``cross_entropy`` in its name
gives mode ``"min"``). The log's ``time`` tag (cumulative seconds) gives measured per-epoch
times (its differences). When the log's ``epoch`` tag starts at 0, that first entry is the
model before training and is dropped (``initial="keep"`` keeps it).

Features: the sampled hyperparameters of the ``config`` (batch_size, learning_rate and
max_units on a log scale, as LCBench samples them; momentum, weight_decay, num_layers,
max_dropout linear); constant config entries are left out.

LCBench's data may not be redistributed with lcore: ``lcore table fetch lcbench`` downloads it.
"""

from __future__ import annotations

import json
import os

import numpy as np

from lcore.tables._common import (
    ImportFormatError,
    base_meta,
    check_dataset,
    json_floats,
    make_table,
)

__all__ = ["read", "LICENCE", "CITATION"]

CITATION = ("Zimmer, Lindauer & Hutter, Auto-PyTorch Tabular: Multi-Fidelity MetaLearning for "
            "Efficient and Robust AutoDL, IEEE TPAMI 2021 (LCBench)")
LICENCE = "Apache License 2.0 (automl/LCBench); data downloaded by the user, not shipped"
SOURCE = "LCBench, github.com/automl/LCBench (figshare project 74151)"
_LOG = ("batch_size", "learning_rate", "max_units")
_LINEAR = ("momentum", "weight_decay", "num_layers", "max_dropout")


def _load(p: str):
    if p.endswith(".gz"):
        import gzip

        with gzip.open(p, "rt", encoding="utf-8") as f:
            return json.load(f)
    with open(p, encoding="utf-8") as f:
        return json.load(f)


def read(path, dataset: str | None = None, tag: str = "Train/val_accuracy",
         initial: str = "drop", data=None):
    """Read one dataset of an LCBench JSON file into a table.

    Parameters
    ----------
    path : str or path
        ``data_2k.json``, ``data_2k_lw.json`` (or the same gzipped).
    dataset : str, optional
        The OpenML dataset name; required when the file holds several.
    tag : str
        The log tag forming the curves.
    initial : {"drop", "keep"}
        What to do with an ``epoch == 0`` entry.
    data : dict, optional
        The already parsed file (to import several datasets without re-reading it).

    Returns
    -------
    LookupTable
    """
    if initial not in ("drop", "keep"):
        raise ValueError(f"initial must be 'drop' or 'keep', got {initial!r}")
    p = os.fspath(path)
    if data is None:
        if not os.path.isfile(p):
            raise FileNotFoundError(f"no LCBench file at {p!r}")
        try:
            data = _load(p)
        except (json.JSONDecodeError, UnicodeDecodeError, OSError) as exc:
            raise ImportFormatError(f"{p!r} is not an LCBench JSON file: {exc}") from None
    if not isinstance(data, dict) or not data:
        raise ImportFormatError(f"{p!r} must map dataset names to their runs")
    name = check_dataset(dataset, list(data), "LCBench", p)
    runs = data[name]
    if not isinstance(runs, dict) or not runs:
        raise ImportFormatError(f"{p!r}: dataset {name!r} must map config ids to runs")
    ids = sorted(runs, key=lambda k: (0, int(k)) if str(k).isdigit() else (1, str(k)))
    curves, times, configs = [], [], []
    has_time = True
    epoch0 = None
    for cid in ids:
        run = runs[cid]
        where = f"{p!r}: {name}/{cid}"
        if not isinstance(run, dict):
            raise ImportFormatError(f"{where} must be an object")
        for key in ("config", "log"):
            if key not in run or not isinstance(run[key], dict):
                raise ImportFormatError(f"{where} lacks the object {key!r}")
        log = run["log"]
        if tag not in log:
            raise ImportFormatError(f"{where}: log lacks the tag {tag!r} (has "
                                    f"{sorted(log)[:12]})")
        c = json_floats(log[tag], f"{where}: log[{tag!r}]")
        if curves and len(c) != len(curves[0]):
            raise ImportFormatError(f"{p!r}: ragged curves: {name}/{cid} has {len(c)} values of "
                                    f"{tag!r}, {name}/{ids[0]} has {len(curves[0])}")
        curves.append(c)
        if "time" in log and has_time:
            tm = json_floats(log["time"], f"{where}: log['time']")
            if len(tm) != len(c):
                raise ImportFormatError(f"{where}: log['time'] has {len(tm)} values, the curve "
                                        f"{len(c)}")
            times.append(tm)
        else:
            has_time = False
        if epoch0 is None and "epoch" in log and isinstance(log["epoch"], list) and log["epoch"]:
            epoch0 = log["epoch"][0]
        configs.append(run["config"])
    values = np.asarray(curves, dtype=np.float64)
    cum = np.asarray(times, dtype=np.float64) if has_time else None
    drop = initial == "drop" and epoch0 == 0
    if cum is not None:
        prev = np.concatenate([np.zeros((len(ids), 1)), cum[:, :-1]], axis=1)
        per = cum - prev
        if drop:
            per = per[:, 1:]
        per = np.where(np.isfinite(per), np.maximum(per, 0.0), 0.0)
    else:
        per = None
    if drop:
        values = values[:, 1:]
    accuracy = "acc" in tag.lower()
    if accuracy:
        fin = values[np.isfinite(values)]
        if fin.size and fin.max() > 1.0:
            values = values / 100.0
    mode = "max" if accuracy else "min"
    metric = tag.split("/")[-1]
    if accuracy and "accuracy" not in metric:
        metric = metric + "_accuracy"
    keys = sorted({k for c in configs for k in c})
    feats: dict[str, np.ndarray] = {}
    for k in keys:
        vals = [c.get(k) for c in configs]
        if any(v is None for v in vals):
            raise ImportFormatError(f"{p!r}: config entry {k!r} is missing in some runs")
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in vals):
            feats[k] = np.asarray(vals, dtype=np.float64)
        else:
            feats[k] = np.asarray([str(v) for v in vals])
    meta = base_meta(
        "lcbench", p, source=f"{SOURCE}, {os.path.basename(p)}", licence=LICENCE,
        citation=CITATION, dataset=name, metric=metric, mode=mode,
        initial_column="dropped" if drop else ("kept" if epoch0 == 0 else "none"),
        tag=tag,
    )
    if accuracy:
        first = runs[ids[0]]
        classes = None
        for part in ("results", "config"):
            if isinstance(first.get(part), dict) and "classes" in first[part]:
                classes = first[part]["classes"]
        if isinstance(classes, (int, float)) and classes >= 2:
            meta["chance"] = 1.0 / float(classes)
    return make_table(
        values, meta=meta, features=feats,
        encode={"log": [k for k in _LOG if k in feats],
                "linear": [k for k in _LINEAR if k in feats]},
        time=per, time_source="measured",
        time_note="per-epoch seconds: differences of the log's cumulative 'time' tag",
        params=feats,
    )
