"""TaskSet (Metz et al. 2020) curves in the JSON layout DyHPO publishes.

One file per task (e.g. ``FixedTextRNNClassification_imdb_patch32_GRU128_bs128.json``): a
JSON list of records ``{"hp": {...}, "train": {"loss": [...]}, "valid": {"loss": [...]},
"test": {"loss": [...]}}``, one per configuration of Adam's 8 hyperparameters
(``learning_rate, beta1, beta2, epsilon, l1, l2, linear_decay, exponential_decay``), with the
loss at each evaluation (51 in the published files: every 200 steps of a 10,000-step run,
the first being the untrained model). The table's metric is the ``split`` loss (``"valid"`` by
default), mode ``"min"``. The first evaluation (the untrained model) is dropped by default
(``initial="keep"`` keeps all 51, as DyHPO's budgets 1..51 do). A NaN or inf loss (a
diverged run; JSON ``NaN``/``Infinity``/``null``) makes the run failed from there on.

Features: ``beta1`` and ``beta2`` as ``log(1 - x)`` (TaskSet samples ``1 - beta``
log-uniformly), the other six on a log scale, all min-max scaled over the table. Epoch time:
not recorded; one unit per evaluation interval.

TaskSet's original per-task ``.npz`` archives are not read (their layout could not be
checked here); the DyHPO JSON files are the supported input.
"""

from __future__ import annotations

import json
import math
import os

import numpy as np

from lcore.tables._common import ImportFormatError, base_meta, make_table

__all__ = ["read", "HP_NAMES", "LICENCE", "CITATION"]

HP_NAMES = ("learning_rate", "beta1", "beta2", "epsilon", "l1", "l2", "linear_decay",
            "exponential_decay")
CITATION = ("Metz, Maheswaranathan, Sun, Freeman, Poole & Sohl-Dickstein, Using a thousand "
            "optimization tasks to learn hyperparameter search strategies, 2020; curves as "
            "published with Wistuba, Kadra & Grabocka, Supervising the Multi-Fidelity Race of "
            "Hyperparameter Configurations (DyHPO), NeurIPS 2022")
LICENCE = ("Apache License 2.0 (machinelearningnuremberg/DyHPO; TaskSet by Google Research, "
           "Apache-2.0); the licence text ships as lcore/data/TASKSET_LICENSE.txt")
SOURCE = "TaskSet curves from github.com/machinelearningnuremberg/DyHPO, data/taskset/"


def _number(x, where: str) -> float:
    if x is None:
        return math.nan
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        raise ImportFormatError(f"{where} must be a number, got {x!r}")
    return float(x)


def read(path, split: str = "valid", initial: str = "drop", dataset: str | None = None):
    """Read one TaskSet task file (DyHPO's JSON) into a table.

    Parameters
    ----------
    path : str or path
        The task's ``.json`` file.
    split : {"valid", "train", "test"}
        Whose loss forms the curves (``metric = f"{split}_loss"``, mode ``"min"``).
    initial : {"drop", "keep"}
        Drop the first evaluation (the untrained model) or keep it as epoch 1.
    dataset : str, optional
        The task name; when given it must match the file's name (a file holds one task).

    Returns
    -------
    LookupTable
        ``acc`` (n, T) holds the loss; one time unit per evaluation interval.
    """
    if split not in ("valid", "train", "test"):
        raise ValueError(f"split must be 'valid', 'train' or 'test', got {split!r}")
    if initial not in ("drop", "keep"):
        raise ValueError(f"initial must be 'drop' or 'keep', got {initial!r}")
    p = os.fspath(path)
    if not os.path.isfile(p):
        raise FileNotFoundError(f"no TaskSet file at {p!r}")
    task = os.path.splitext(os.path.basename(p))[0]
    if dataset is not None and dataset != task:
        raise ValueError(f"dataset={dataset!r} does not match the task file {task!r} (one task "
                         "per file)")
    try:
        with open(p, encoding="utf-8") as f:
            data = json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ImportFormatError(f"{p!r} is not valid JSON: {exc}") from None
    if not isinstance(data, list) or not data:
        raise ImportFormatError(f"{p!r} must hold a non-empty JSON list of records "
                                "{'hp': {...}, 'valid': {'loss': [...]}, ...}")
    hps = {k: [] for k in HP_NAMES}
    curves = []
    for i, rec in enumerate(data):
        if not isinstance(rec, dict):
            raise ImportFormatError(f"{p!r}: record {i} must be an object, got "
                                    f"{type(rec).__name__}")
        for key in ("hp", split):
            if key not in rec:
                raise ImportFormatError(f"{p!r}: record {i} lacks the key {key!r} (has "
                                        f"{sorted(rec)})")
        hp, sp = rec["hp"], rec[split]
        if not isinstance(hp, dict):
            raise ImportFormatError(f"{p!r}: record {i}: 'hp' must be an object")
        missing = [k for k in HP_NAMES if k not in hp]
        if missing:
            raise ImportFormatError(f"{p!r}: record {i}: 'hp' lacks {missing}")
        if not isinstance(sp, dict) or "loss" not in sp:
            raise ImportFormatError(f"{p!r}: record {i}: {split!r} must be an object with a "
                                    "'loss' list")
        loss = sp["loss"]
        if not isinstance(loss, list) or not loss:
            raise ImportFormatError(f"{p!r}: record {i}: {split}.loss must be a non-empty list")
        if curves and len(loss) != len(curves[0]):
            raise ImportFormatError(
                f"{p!r}: ragged curves: record {i} has {len(loss)} {split} losses, record 0 "
                f"has {len(curves[0])}"
            )
        curves.append([_number(x, f"{p!r}: record {i}: {split}.loss[{t}]")
                       for t, x in enumerate(loss)])
        for k in HP_NAMES:
            v = hp[k]
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise ImportFormatError(f"{p!r}: record {i}: hp[{k!r}] must be a finite "
                                        f"number, got {v!r}")
            hps[k].append(float(v))
    values = np.asarray(curves, dtype=np.float64)
    note = "none"
    if initial == "drop":
        if values.shape[1] < 2:
            raise ImportFormatError(f"{p!r}: curves of one value cannot drop the initial one")
        values, note = values[:, 1:], "dropped"
    else:
        note = "kept"
    meta = base_meta(
        "taskset", p, source=f"{SOURCE}{os.path.basename(p)}", licence=LICENCE,
        citation=CITATION, dataset=task, task=task, metric=f"{split}_loss", mode="min",
        initial_column=note,
        time_note=("the source records no time: every evaluation interval (200 training "
                   "steps) costs 1 unit (not measured)"),
    )
    feats = {k: np.asarray(v) for k, v in hps.items()}
    return make_table(values, meta=meta, features=feats,
                      encode={"log1m": ("beta1", "beta2"),
                              "log": ("learning_rate", "epsilon", "l1", "l2", "linear_decay",
                                      "exponential_decay")},
                      params=feats)
