"""TaskSet (Metz et al. 2020) curves: DyHPO's JSON files and TaskSet's own per-task ``.npz``.

**DyHPO's JSON** (one file per task, e.g.
``FixedTextRNNClassification_imdb_patch32_GRU128_bs128.json``): a JSON list of records
``{"hp": {...}, "train": {"loss": [...]}, "valid": {"loss": [...]}, "test": {"loss": [...]}}``,
one per configuration of Adam's 8 hyperparameters (``learning_rate, beta1, beta2, epsilon, l1,
l2, linear_decay, exponential_decay``), with the loss at each evaluation (51 in the published
files: every 200 steps of a 10,000-step run, the first being the untrained model). The
table's metric is the ``split`` loss (``"valid"`` by default), mode ``"min"``.

**TaskSet's .npz** (``gs://gresearch/task_set_data/<task>/<family>_10000_replica5.npz``, e.g.
``adam8p_wide_grid_1k_10000_replica5.npz``), the layout read by the loading code of TaskSet's
colab and, in the same words, by ``src/mfpbench/taskset_tabular/processing/process.py`` of
automl/mf-prior-bench: three arrays,

===============  ===================================  =========================================
array            shape, dtype                         meaning
===============  ===================================  =========================================
``optimizers``   (n,) bytes                           configuration names, ``<family>_seed<k>``
``xs``           (S,) numbers                         the training step of each evaluation
                                                      (0, 200, ..., 10000: S = 51)
``ys``           (n, R, S, 4) floating point          the loss of configuration i, replica r
                                                      (R = 5), evaluation s, split j: j = 0
                                                      train, 1 inner validation, 2 outer
                                                      validation, 3 test
===============  ===================================  =========================================

(TaskSet's ``train_inner.py`` (google-research/google-research, ``task_set/``) evaluates
every 200 of 10,000 steps, step 0 included, on those four splits in that order.) The file
holds names, not hyperparameters: their values are in TaskSet's configuration file of the
family, ``task_set/optimizers/configs/<family>.json`` in google-research/google-research
(``adam8p_wide_grid.json`` for ``adam8p_wide_grid_1k``), a JSON object ``{name: [{hp: value},
family]}``. Pass it as ``configs=``; without it, a file of that name beside the ``.npz`` (or
one folder up) is used. ``split``: ``"valid"`` (inner validation, the default, as DyHPO's
``valid``), ``"valid_outer"``, ``"test"`` or ``"train"``. Note that DyHPO's JSON ``test`` was
made from column 2 (outer validation), not TaskSet's test column 3 (mf-prior-bench's
``get_curves``). ``replica="mean"`` (default) averages the R replicas as DyHPO's files do (a
replica with NaN/inf makes the mean a failed run); an int picks one replica. The task name
(``dataset``) is the file's folder (the bucket's layout) unless ``dataset=`` names it.

In both: the first evaluation (step 0, the untrained model) is dropped by default
(``initial="keep"`` keeps it, as DyHPO's budgets 1..51 do). A NaN or inf loss (a diverged
run; JSON ``NaN``/``Infinity``/``null``) makes the run failed from there on, counted in
``meta["n_failed_runs"]``.

Features: ``beta1`` and ``beta2`` as ``log(1 - x)`` (TaskSet samples ``1 - beta``
log-uniformly), Adam's other six on a log scale, all min-max scaled over the table (other
families' hyperparameters by the automatic rule of
:func:`~lcore.tables._common.encode_features`). Epoch time: not recorded; one unit per
evaluation interval (200 steps).
"""

from __future__ import annotations

import json
import math
import os
import re

import numpy as np

from lcore.tables._common import ImportFormatError, base_meta, json_floats, make_table

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
CITATION_NPZ = ("Metz, Maheswaranathan, Sun, Freeman, Poole & Sohl-Dickstein, Using a thousand "
                "optimization tasks to learn hyperparameter search strategies, 2020 (TaskSet)")
LICENCE_NPZ = ("TaskSet by Google Research (google-research/google-research, task_set/, "
               "Apache-2.0, which covers the configuration files); the curve files come from "
               "the gs://gresearch/task_set_data bucket, for which TaskSet's README states no "
               "separate licence; downloaded by the user, not shipped")
SOURCE_NPZ = "TaskSet learning curves, gs://gresearch/task_set_data/"
#: ``ys[..., j]``: the split of each column, in TaskSet's order
NPZ_SPLITS = {"train": 0, "valid": 1, "valid_outer": 2, "test": 3}
_LOG1M = ("beta1", "beta2")


def read(path, split: str = "valid", initial: str = "drop", dataset: str | None = None,
         configs=None, replica="mean"):
    """Read one TaskSet task file (DyHPO's ``.json`` or TaskSet's ``.npz``) into a table.

    Parameters
    ----------
    path : str or path
        The task's ``.json`` (DyHPO) or ``.npz`` (TaskSet, e.g.
        ``<task>/adam8p_wide_grid_1k_10000_replica5.npz``) file.
    split : str
        Whose loss forms the curves (``metric = f"{split}_loss"``, mode ``"min"``):
        ``"valid"``, ``"train"`` or ``"test"`` for JSON; for ``.npz`` also
        ``"valid_outer"`` (``"valid"`` is TaskSet's inner validation split).
    initial : {"drop", "keep"}
        Drop the first evaluation (the untrained model, step 0) or keep it as epoch 1.
    dataset : str, optional
        The task name. JSON: when given it must match the file's name (a file holds one
        task). ``.npz``: names the task (default: the file's folder, as in the bucket).
    configs : str, path or dict, optional
        ``.npz`` only: TaskSet's configuration file of the family (``{name: [{hp: value},
        family]}``), or that object already parsed; default ``<family>.json`` beside the
        file or one folder up.
    replica : "mean" or int
        ``.npz`` only: average the replicas (default) or take replica ``r`` in [0, R-1].

    Returns
    -------
    LookupTable
        ``acc`` (n, T) holds the loss; one time unit per evaluation interval.
    """
    if initial not in ("drop", "keep"):
        raise ValueError(f"initial must be 'drop' or 'keep', got {initial!r}")
    p = os.fspath(path)
    if not os.path.isfile(p):
        raise FileNotFoundError(f"no TaskSet file at {p!r}")
    if p.lower().endswith(".npz"):
        return _read_npz(p, split, initial, dataset, configs, replica)
    if configs is not None or not (isinstance(replica, str) and replica == "mean"):
        raise ValueError("configs= and replica= are options of TaskSet's .npz files; "
                         f"{os.path.basename(p)!r} is read as DyHPO's JSON (its records hold "
                         "their hyperparameters and the replica mean)")
    return _read_json(p, split, initial, dataset)


def _read_json(p: str, split: str, initial: str, dataset):
    if split not in ("valid", "train", "test"):
        raise ValueError(f"split must be 'valid', 'train' or 'test', got {split!r}")
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
        loss = json_floats(sp["loss"], f"{p!r}: record {i}: {split}.loss")
        if curves and len(loss) != len(curves[0]):
            raise ImportFormatError(
                f"{p!r}: ragged curves: record {i} has {len(loss)} {split} losses, record 0 "
                f"has {len(curves[0])}"
            )
        curves.append(loss)
        for k in HP_NAMES:
            v = hp[k]
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise ImportFormatError(f"{p!r}: record {i}: hp[{k!r}] must be a finite "
                                        f"number, got {v!r}")
            hps[k].append(float(v))
    values = np.asarray(curves, dtype=np.float64)
    if initial == "drop":
        if values.shape[1] < 2:
            raise ImportFormatError(f"{p!r}: curves of one value cannot drop the initial one")
        values, note = values[:, 1:], "dropped"
    else:
        note = "kept"
    meta = base_meta(
        "taskset", p, source=f"{SOURCE}{os.path.basename(p)}", licence=LICENCE,
        citation=CITATION, dataset=task, task=task, metric=f"{split}_loss", mode="min",
        initial_column=note, layout="DyHPO JSON",
        time_note=("the source records no time: every evaluation interval (200 training "
                   "steps) costs 1 unit (not measured)"),
    )
    feats = {k: np.asarray(v) for k, v in hps.items()}
    return make_table(values, meta=meta, features=feats,
                      encode={"log1m": _LOG1M,
                              "log": tuple(k for k in HP_NAMES if k not in _LOG1M)},
                      params=feats)


# -- TaskSet's .npz --------------------------------------------------------------------------
_NPZ_NAME = re.compile(r"^(?P<family>.+)_(?P<steps>\d+)_replica(?P<replicas>\d+)\.npz$")


def _load_npz(p: str) -> dict:
    """The three arrays of a TaskSet ``.npz``, loaded without unpickling anything."""
    try:
        z = np.load(p, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise ImportFormatError(f"{p!r} is not a NumPy .npz archive: {exc}") from None
    if not isinstance(z, np.lib.npyio.NpzFile):
        raise ImportFormatError(f"{p!r} holds one array, not a TaskSet .npz archive of "
                                "'optimizers', 'xs' and 'ys'")
    with z:
        missing = [k for k in ("optimizers", "xs", "ys") if k not in z.files]
        if missing:
            raise ImportFormatError(f"{p!r} lacks the arrays {missing} (a TaskSet .npz holds "
                                    f"'optimizers', 'xs' and 'ys'; this one has "
                                    f"{sorted(z.files)})")
        out = {}
        for k in ("optimizers", "xs", "ys"):
            try:
                out[k] = z[k]
            except ValueError as exc:  # an object array: refused, pickles are not loaded
                raise ImportFormatError(f"{p!r}: array {k!r} cannot be read without "
                                        f"unpickling ({exc}); TaskSet's arrays are plain "
                                        "numbers and bytes") from None
    return out


def _npz_configs(p: str, configs, family: str) -> tuple[dict, str]:
    """TaskSet's configuration object ``{name: [{hp: value}, family]}`` and where it came from."""
    if isinstance(configs, dict):
        return configs, "configs= (an object)"
    if configs is None:
        here = os.path.dirname(os.path.abspath(p))
        tried = [os.path.join(d, f"{family}.json") for d in (here, os.path.dirname(here))]
        found = [c for c in tried if os.path.isfile(c)]
        if not found:
            raise FileNotFoundError(
                f"{p!r} names its configurations ({family}_seed<k>) but holds no "
                f"hyperparameters; they are in TaskSet's {family}.json (google-research/"
                "google-research, task_set/optimizers/configs/): pass configs=PATH (CLI: "
                f"--set configs=PATH) or put it at {tried[0]}"
            )
        configs = found[0]
    c = os.fspath(configs)
    if not os.path.isfile(c):
        raise FileNotFoundError(f"configs={c!r}: no such file (TaskSet's {family}.json)")
    try:
        with open(c, encoding="utf-8") as f:
            data = json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ImportFormatError(f"configs file {c!r} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ImportFormatError(f"configs file {c!r} must be a JSON object {{name: [{{hp: "
                                f"value}}, family]}}, got {type(data).__name__}")
    return data, os.path.basename(c)


def _hparams(entry, name: str, where: str) -> dict:
    if isinstance(entry, (list, tuple)) and entry and isinstance(entry[0], dict):
        return entry[0]
    if isinstance(entry, dict):
        return entry
    raise ImportFormatError(f"{where}: the entry of {name!r} must be [{{hp: value}}, family], "
                            f"got {type(entry).__name__}")


def _read_npz(p: str, split: str, initial: str, dataset, configs, replica):
    if split not in NPZ_SPLITS:
        raise ValueError(f"split must be one of {sorted(NPZ_SPLITS)} for a TaskSet .npz, got "
                         f"{split!r}")
    arrays = _load_npz(p)
    opt, xs, ys = arrays["optimizers"], arrays["xs"], arrays["ys"]
    if opt.ndim != 1 or opt.dtype.kind not in "SU" or opt.shape[0] == 0:
        raise ImportFormatError(f"{p!r}: 'optimizers' must be a non-empty 1-d array of names "
                                f"(bytes), got shape {opt.shape} dtype {opt.dtype}")
    if xs.ndim != 1 or xs.dtype.kind not in "iuf" or xs.shape[0] == 0:
        raise ImportFormatError(f"{p!r}: 'xs' must be a non-empty 1-d array of training steps, "
                                f"got shape {xs.shape} dtype {xs.dtype}")
    if ys.dtype.kind != "f":
        raise ImportFormatError(f"{p!r}: 'ys' must hold floating-point losses, got dtype "
                                f"{ys.dtype}")
    n, S = opt.shape[0], xs.shape[0]
    if ys.ndim != 4 or ys.shape[0] != n or ys.shape[2] != S or ys.shape[3] != 4:
        raise ImportFormatError(
            f"{p!r}: 'ys' must have shape (configurations, replicas, evaluations, 4 splits) = "
            f"({n}, R, {S}, 4) to match 'optimizers' ({n},) and 'xs' ({S},), got {ys.shape}"
        )
    steps = xs.astype(np.float64)
    if not np.isfinite(steps).all() or (steps < 0).any() or (np.diff(steps) <= 0).any():
        raise ImportFormatError(f"{p!r}: 'xs' must be finite training steps >= 0 in increasing "
                                f"order, got {steps[:6].tolist()}...")
    R = ys.shape[1]
    if R == 0:
        raise ImportFormatError(f"{p!r}: 'ys' holds no replica (shape {ys.shape})")
    if isinstance(replica, str) and replica == "mean":
        with np.errstate(invalid="ignore", over="ignore"):
            values = ys[:, :, :, NPZ_SPLITS[split]].astype(np.float64).mean(axis=1)
        rep_note = f"mean of the {R} replicas"
    elif isinstance(replica, (int, np.integer)) and not isinstance(replica, bool) \
            and 0 <= int(replica) < R:
        values = ys[:, int(replica), :, NPZ_SPLITS[split]].astype(np.float64)
        rep_note = f"replica {int(replica)} of {R}"
    else:
        raise ValueError(f"replica must be 'mean' or an int in [0, {R - 1}], got {replica!r}")
    names = [x.decode("utf-8", "replace") if isinstance(x, bytes) else str(x)
             for x in opt.tolist()]
    families = sorted({nm.rsplit("_seed", 1)[0] for nm in names})
    if len(families) != 1 or not all("_seed" in nm for nm in names):
        raise ImportFormatError(f"{p!r}: configuration names must be <family>_seed<k> of one "
                                f"family, got {names[:3]}... (families {families[:4]})")
    family = families[0]
    cfg, cfg_source = _npz_configs(p, configs, family)
    absent = [nm for nm in names if nm not in cfg]
    if absent:
        raise ImportFormatError(f"configs ({cfg_source}) lacks {len(absent)} of the file's "
                                f"configurations, e.g. {absent[:3]}; it must be TaskSet's "
                                f"{family}.json")
    hp = [_hparams(cfg[nm], nm, cfg_source) for nm in names]
    keys = list(hp[0])
    order = [k for k in HP_NAMES if k in keys] + sorted(k for k in keys if k not in HP_NAMES)
    cols: dict[str, list] = {k: [] for k in order}
    for nm, h in zip(names, hp):
        if set(h) != set(keys):
            raise ImportFormatError(f"configs ({cfg_source}): {nm!r} has the hyperparameters "
                                    f"{sorted(h)}, {names[0]!r} has {sorted(keys)}")
        for k in order:
            v = h[k]
            if isinstance(v, float) and not math.isfinite(v):
                raise ImportFormatError(f"configs ({cfg_source}): {nm!r}: {k!r} must be "
                                        f"finite, got {v!r}")
            if not isinstance(v, (int, float, str, bool)):
                raise ImportFormatError(f"configs ({cfg_source}): {nm!r}: {k!r} must be a "
                                        f"number, a string or a boolean, got {v!r}")
            cols[k].append(v)
    feats = {k: np.asarray(v) for k, v in cols.items()}
    m = _NPZ_NAME.match(os.path.basename(p))
    task = dataset if dataset is not None else os.path.basename(
        os.path.dirname(os.path.abspath(p)))
    if not isinstance(task, str) or not task:
        raise ValueError(f"dataset must be a non-empty task name, got {task!r}")
    if initial == "drop" and steps[0] == 0:
        if S < 2:
            raise ImportFormatError(f"{p!r}: curves of one value cannot drop the initial one")
        values, steps, note = values[:, 1:], steps[1:], "dropped"
    else:
        note = "kept" if steps[0] == 0 else "none"
    gaps = np.diff(steps)
    if gaps.size and not np.allclose(gaps, gaps[0]):
        raise ImportFormatError(
            f"{p!r}: evaluations are unevenly spaced (steps {steps[:4].tolist()}... with gaps "
            f"{sorted(set(gaps.tolist()))[:4]}); lcore costs one time unit per evaluation "
            "interval and needs them evenly spaced"
        )
    every = float(gaps[0]) if gaps.size else float(steps[0])
    enc_log1m = tuple(k for k in _LOG1M if k in feats and feats[k].dtype.kind in "iuf")
    enc_log = tuple(k for k in HP_NAMES if k in feats and k not in _LOG1M
                    and feats[k].dtype.kind in "iuf")
    meta = base_meta(
        "taskset", p, source=f"{SOURCE_NPZ}{task}/{os.path.basename(p)}",
        licence=LICENCE_NPZ, citation=CITATION_NPZ, dataset=task, task=task,
        metric=f"{split}_loss", mode="min", initial_column=note, layout="TaskSet npz",
        split_column=NPZ_SPLITS[split], optimizer_family=family, configs_file=cfg_source,
        replicas=int(R), replica=rep_note, steps=[float(steps[0]), float(steps[-1])],
        steps_per_evaluation=every,
        file_family=m.group("family") if m else None,
        time_note=(f"the source records no time: every evaluation interval ({every:g} "
                   "training steps) costs 1 unit (not measured)"),
    )
    params = dict(feats)
    params["optimizer"] = np.asarray(names)
    return make_table(values, meta=meta, features=feats,
                      encode={"log1m": enc_log1m, "log": enc_log}, params=params)
