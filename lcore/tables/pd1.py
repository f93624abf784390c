"""PD1 (Wang et al. 2021, HyperBO): ``pd1_{matched,unmatched}_phase{0,1}_results.jsonl.gz``.

One JSON record per line and training run, with the columns ``dataset``, ``model``,
``hps.batch_size``, ``hps.activation_fn``, the four tuned hyperparameters
``hps.lr_hparams.initial_value``, ``hps.lr_hparams.power``,
``hps.lr_hparams.decay_steps_factor``, ``hps.opt_hparams.momentum``, and per-evaluation lists
``valid/error_rate``, ``valid/ce_loss``, ``eval_time``, ``global_step``, ``epoch`` (null when
the run logged none). A task is one (dataset, model, activation, batch size); ``dataset=``
picks it by the name Syne Tune gives it, e.g. ``"imagenet_resnet_batch_size_512"`` or
``"lm1b_transformer_2048"`` style names (the error lists them). The curve is ``metric``
(``"valid/error_rate"`` by default; mode ``"min"``). Runs of one task may log different
numbers of evaluations (diverged runs stop early): a shorter curve is padded with NaN,
i.e. a failed run (``meta["n_short_runs"]`` counts them), as Syne Tune's converter does.
``eval_time`` (seconds per evaluation interval) gives measured per-step times when present.

Features: the four hyperparameters (initial learning rate on a log scale, the others by
the automatic rule).

The data may not be redistributed with lcore: ``lcore table fetch pd1`` downloads it.
"""

from __future__ import annotations

import gzip
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

__all__ = ["read", "task_name", "LICENCE", "CITATION"]

CITATION = ("Wang, Dahl, Swersky, Lee, Nado, Gilmer, Snoek & Ghahramani, Pre-trained Gaussian "
            "processes for Bayesian optimization (HyperBO), 2021 (PD1)")
LICENCE = ("CC BY 4.0 (google-research/hyperbo PD1 data); downloaded by the user, not shipped")
SOURCE = "PD1, google-research/hyperbo (storage.googleapis.com/gresearch/pint/pd1.tar.gz)"
HPS = ("hps.lr_hparams.initial_value", "hps.lr_hparams.power",
       "hps.lr_hparams.decay_steps_factor", "hps.opt_hparams.momentum")
METRICS = ("valid/error_rate", "valid/ce_loss", "train/error_rate", "train/ce_loss")


def task_name(rec: dict) -> str:
    """Syne Tune's name for the task of a PD1 record."""
    act = rec.get("hps.activation_fn")
    act = "" if act is None else f"_{act}"
    return f"{rec.get('dataset')}_{rec.get('model')}{act}_batch_size_{rec.get('hps.batch_size')}"


def read(path, dataset: str | None = None, metric: str = "valid/error_rate", records=None):
    """Read one task of a PD1 results file into a table.

    Parameters
    ----------
    path : str or path
        A ``pd1_*_results.jsonl.gz`` (or uncompressed ``.jsonl``).
    dataset : str, optional
        The task name (see :func:`task_name`); required when the file holds several.
    metric : str
        The per-evaluation column forming the curves.
    records : list of dict, optional
        The already parsed lines.

    Returns
    -------
    LookupTable
    """
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {METRICS}, got {metric!r}")
    p = os.fspath(path)
    if records is None:
        if not os.path.isfile(p):
            raise FileNotFoundError(f"no PD1 file at {p!r}")
        opener = gzip.open if p.endswith(".gz") else open
        records = []
        try:
            with opener(p, "rt", encoding="utf-8") as f:
                for ln, line in enumerate(f):
                    if not line.strip():
                        continue
                    try:
                        rec = json.loads(line)
                    except json.JSONDecodeError as exc:
                        raise ImportFormatError(f"{p!r}: line {ln + 1} is not JSON: "
                                                f"{exc}") from None
                    if not isinstance(rec, dict):
                        raise ImportFormatError(f"{p!r}: line {ln + 1} must be an object")
                    records.append(rec)
        except (OSError, EOFError, UnicodeDecodeError) as exc:
            raise ImportFormatError(f"{p!r} is not a (gzipped) JSON-lines file: {exc}") from None
    if not records:
        raise ImportFormatError(f"{p!r} holds no records")
    for i, rec in enumerate(records):
        missing = [k for k in ("dataset", "model", "hps.batch_size", metric, *HPS)
                   if k not in rec]
        if missing:
            raise ImportFormatError(f"{p!r}: record {i} lacks {missing}")
    names = sorted({task_name(r) for r in records})
    name = check_dataset(dataset, names, "PD1", p)
    recs = [r for r in records if task_name(r) == name]
    curves, times = [], []
    has_time = all(r.get("eval_time") is not None or r.get(metric) is None for r in recs)
    for i, r in enumerate(recs):
        c = json_floats(r[metric], f"{p!r}: {name} run {i}: {metric}", allow_null=True,
                        allow_empty=True) or []
        curves.append(c)
        if has_time:
            tm = json_floats(r.get("eval_time"), f"{p!r}: {name} run {i}: eval_time",
                             allow_null=True, allow_empty=True) or []
            if len(tm) != len(c):
                raise ImportFormatError(f"{p!r}: {name} run {i}: eval_time has {len(tm)} values, "
                                        f"{metric} {len(c)}")
            times.append(tm)
    T = max(len(c) for c in curves)
    if T == 0:
        raise ImportFormatError(f"{p!r}: task {name} has no run with a {metric} curve")
    n_short = sum(len(c) < T for c in curves)
    values = np.full((len(recs), T), np.nan)
    for i, c in enumerate(curves):
        values[i, :len(c)] = c
    time = None
    if has_time:
        time = np.zeros((len(recs), T))
        for i, tm in enumerate(times):
            time[i, :len(tm)] = np.nan_to_num(np.asarray(tm, dtype=np.float64), nan=0.0)
        time = np.maximum(time, 0.0)
    feats = {}
    for k in HPS:
        vals = [r[k] for r in recs]
        if any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in vals):
            raise ImportFormatError(f"{p!r}: {k!r} must be numbers in task {name}")
        feats[k] = np.asarray(vals, dtype=np.float64)
    first = recs[0]
    meta = base_meta("pd1", p, source=f"{SOURCE}, {os.path.basename(p)}", licence=LICENCE,
                     citation=CITATION, dataset=name, task=name,
                     model=str(first.get("model")), metric=metric.replace("/", "_"),
                     mode="min", n_short_runs=int(n_short),
                     epoch_is="one evaluation interval of the run (PD1 logs evaluations, "
                              "not epochs)")
    return make_table(values, meta=meta, features=feats,
                      encode={"log": ("hps.lr_hparams.initial_value",)},
                      time=time, time_source="measured",
                      time_note="per-step seconds: the run's 'eval_time' list",
                      params=feats)
