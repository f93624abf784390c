"""NAS-Bench-201 / NATS-Bench topology search space (Dong & Yang 2020; Dong et al. 2021).

Reads the benchmark file ``NATS-tss-v1_0-3ffb9.pickle.pbz2`` (a bz2-compressed pickle; a
plain ``.pickle`` / ``.pkl`` of the same content is read too). Its content is plain data:
``{"total_archs": 15625, "arch2infos": {index: {"12": ..., "200": {"arch_str": ...,
"all_results": {(dataset, seed): {"eval_acc1es": {"x-valid@<e>": acc %, "ori-test@<e>": ...},
"train_times": {e: s}, "eval_times": {"x-valid@<e>": s}, ...}}}}}}``.

**Security**: a pickle can run code when loaded. This importer never calls ``pickle.load``;
it uses :class:`RestrictedUnpickler`, which rebuilds only plain containers and numbers
(dict, list, tuple, set, str, int, float, bool, None, and ``collections.OrderedDict``) and
refuses every other class or function with :class:`UnsafePickleError`.

Options: ``dataset`` (``"cifar10-valid"``, ``"cifar10"``, ``"cifar100"``,
``"ImageNet16-120"``), ``split`` (``"x-valid"`` by default; cifar10 has only ``"ori-test"``),
``seed`` (e.g. 777, 888, 999, or ``"mean"``: the mean over the seeds each architecture has,
the default), ``hp`` (``"200"`` epochs, or ``"12"``). The curve is the split's accuracy
(percent / 100), mode ``"max"``; epoch time is measured (train time + that split's eval
time of the epoch; the mean over the seeds with ``seed="mean"``). An architecture without
results for the dataset / seed is a row with no finished epoch. Features: the 6 edges of the
cell, each one of 5 operations, one-hot encoded (30 columns).

The data may not be redistributed with lcore: ``lcore table fetch nasbench201`` downloads it.
"""

from __future__ import annotations

import bz2
import io
import os
import pickle

import numpy as np

from lcore.tables._common import ImportFormatError, base_meta, check_dataset, make_table

__all__ = ["read", "RestrictedUnpickler", "UnsafePickleError", "safe_load", "arch_ops"]

CITATION = ("Dong & Yang, NAS-Bench-201: Extending the Scope of Reproducible Neural "
            "Architecture Search, ICLR 2020; Dong, Liu, Musial & Gabrys, NATS-Bench, TPAMI 2021")
LICENCE = "MIT licence (D-X-Y/NATS-Bench); data downloaded by the user, not shipped"
SOURCE = "NATS-Bench topology search space (NAS-Bench-201), github.com/D-X-Y/NATS-Bench"
OPS = ("avg_pool_3x3", "nor_conv_1x1", "nor_conv_3x3", "none", "skip_connect")
_CHANCE = {"cifar10-valid": 0.1, "cifar10": 0.1, "cifar100": 0.01, "ImageNet16-120": 1 / 120}


class UnsafePickleError(ImportFormatError):
    """A pickle that asks for a class or function other than plain containers and numbers."""


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that rebuilds only plain containers and numbers; refuses anything else."""

    ALLOWED = {
        ("builtins", "dict"), ("builtins", "list"), ("builtins", "tuple"),
        ("builtins", "set"), ("builtins", "frozenset"), ("builtins", "str"),
        ("builtins", "int"), ("builtins", "float"), ("builtins", "bool"),
        ("builtins", "complex"), ("builtins", "bytes"),
        ("collections", "OrderedDict"),
    }

    def find_class(self, module, name):  # noqa: D102 - see the class docstring
        if (module, name) in self.ALLOWED:
            return super().find_class(module, name)
        raise UnsafePickleError(
            f"refusing to unpickle {module}.{name}: NAS-Bench-201 files hold only plain "
            "containers and numbers, and anything else could run code"
        )

    def persistent_load(self, pid):  # noqa: D102
        raise UnsafePickleError("refusing a pickle with persistent ids (not plain data)")


def safe_load(fileobj):
    """Unpickle plain data from a binary file object with :class:`RestrictedUnpickler`."""
    try:
        return RestrictedUnpickler(fileobj).load()
    except UnsafePickleError:
        raise
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError,
            IndexError, KeyError) as exc:
        raise ImportFormatError(f"not a readable pickle: {type(exc).__name__}: {exc}") from None


def arch_ops(arch_str: str) -> list[str]:
    """The 6 operations of an architecture string ``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|``."""
    ops = []
    for node in str(arch_str).split("+"):
        for item in (x for x in node.split("|") if x):
            parts = item.split("~")
            if len(parts) != 2:
                raise ImportFormatError(f"invalid architecture string {arch_str!r}")
            ops.append(parts[0])
    if len(ops) != 6:
        raise ImportFormatError(f"an architecture string has 6 edges, got {len(ops)} in "
                                f"{arch_str!r}")
    return ops


def _open(p: str):
    with open(p, "rb") as f:
        head = f.read(3)
    if head == b"BZh":
        with bz2.open(p, "rb") as f:
            return safe_load(io.BufferedReader(f))
    with open(p, "rb") as f:
        return safe_load(f)


def _epoch_dict(d, where: str):
    if not isinstance(d, dict):
        raise ImportFormatError(f"{where} must be a dict")
    return d


def read(path, dataset: str | None = None, split: str = "x-valid", seed="mean", hp="200",
         data=None):
    """Read NATS-Bench topology results for one dataset into a table (see module docstring).

    Returns
    -------
    LookupTable
        n = number of architectures, T = ``hp`` epochs, ``unit`` (n, 30).
    """
    p = os.fspath(path)
    hp = str(hp)
    if data is None:
        if not os.path.isfile(p):
            raise FileNotFoundError(f"no NAS-Bench-201 file at {p!r}")
        try:
            data = _open(p)
        except OSError as exc:
            raise ImportFormatError(f"{p!r} could not be read: {exc}") from None
    if not isinstance(data, dict) or "arch2infos" not in data:
        raise ImportFormatError(f"{p!r} is not a NATS-Bench topology file: expected a dict with "
                                "'arch2infos'")
    a2i = data["arch2infos"]
    if not isinstance(a2i, dict) or not a2i:
        raise ImportFormatError(f"{p!r}: 'arch2infos' must be a non-empty dict")
    idx = sorted(a2i)
    n = int(data.get("total_archs", len(idx)))
    if sorted(idx) != list(range(n)):
        raise ImportFormatError(f"{p!r}: 'arch2infos' must have the keys 0..{n - 1}")
    datasets, seeds = set(), set()
    for i in idx:
        info = a2i[i]
        if not isinstance(info, dict) or hp not in info:
            raise ImportFormatError(f"{p!r}: architecture {i} lacks results for hp={hp!r}")
        res = info[hp].get("all_results") if isinstance(info[hp], dict) else None
        if not isinstance(res, dict) or "arch_str" not in info[hp]:
            raise ImportFormatError(f"{p!r}: architecture {i}: hp {hp!r} needs 'arch_str' and "
                                    "'all_results'")
        for key in res:
            if not (isinstance(key, tuple) and len(key) == 2):
                raise ImportFormatError(f"{p!r}: all_results keys must be (dataset, seed), got "
                                        f"{key!r}")
            datasets.add(str(key[0]))
            seeds.add(key[1])
    ds = check_dataset(dataset, sorted(datasets), "NAS-Bench-201", p)
    if seed != "mean" and seed not in seeds:
        raise ValueError(f"seed must be 'mean' or one of {sorted(seeds)}, got {seed!r}")
    T = None
    vals, tims, ops = [], [], []
    for i in idx:
        info = a2i[i][hp]
        ops.append(arch_ops(info["arch_str"]))
        res = info["all_results"]
        use = [k for k in res if str(k[0]) == ds and (seed == "mean" or k[1] == seed)]
        curves, times = [], []
        for k in use:
            e = res[k]
            where = f"{p!r}: architecture {i} {k}"
            if not isinstance(e, dict) or "eval_acc1es" not in e:
                raise ImportFormatError(f"{where} lacks 'eval_acc1es'")
            acc = _epoch_dict(e["eval_acc1es"], f"{where} eval_acc1es")
            ep = sorted(int(s.rsplit("@", 1)[1]) for s in acc if str(s).startswith(split + "@"))
            if not ep:
                have = sorted({str(s).rsplit("@", 1)[0] for s in acc})
                raise ValueError(f"split={split!r} is not recorded for dataset {ds!r}; it has "
                                 f"{have}")
            if T is None:
                T = len(ep)
            if ep != list(range(len(ep))) or len(ep) != T:
                raise ImportFormatError(f"{where}: ragged curves: {split} epochs {ep[:3]}..."
                                        f"({len(ep)}), expected 0..{T - 1}")
            c = []
            for t in ep:
                v = acc[f"{split}@{t}"]
                if isinstance(v, bool) or not isinstance(v, (int, float)):
                    raise ImportFormatError(f"{where}: {split}@{t} must be a number, got {v!r}")
                c.append(float(v) / 100.0)
            tt = e.get("train_times", {})
            et = e.get("eval_times", {})
            tm = []
            for t in ep:
                a = tt.get(t, tt.get(str(t), 0.0)) if isinstance(tt, dict) else 0.0
                b = et.get(f"{split}@{t}", 0.0) if isinstance(et, dict) else 0.0
                tm.append(float(a or 0.0) + float(b or 0.0))
            curves.append(c)
            times.append(tm)
        vals.append(curves)
        tims.append(times)
    if T is None:
        raise ImportFormatError(f"{p!r}: no architecture has results for {ds!r}")
    values = np.full((n, T), np.nan)
    time = np.zeros((n, T))
    for i in range(n):
        if vals[i]:
            with np.errstate(invalid="ignore"):
                c = np.asarray(vals[i], dtype=np.float64)
                v = c.mean(axis=0)
                v[~np.isfinite(c).all(axis=0)] = np.nan
            values[i] = v
            time[i] = np.asarray(tims[i], dtype=np.float64).mean(axis=0)
    feats = {f"edge_{j}": np.asarray([o[j] for o in ops]) for j in range(6)}
    meta = base_meta("nasbench201", p, source=f"{SOURCE}, {os.path.basename(p)}",
                     licence=LICENCE, citation=CITATION, dataset=ds, metric=f"{split}_accuracy",
                     mode="max", seed=seed, hp=hp, chance=_CHANCE.get(ds, None))
    if meta["chance"] is None:
        del meta["chance"]
    return make_table(values, meta=meta, features=feats, encode={"categorical": list(feats)},
                      time=time, time_source="measured",
                      time_note=f"per-epoch seconds: train_times + eval_times['{split}@e']",
                      params=feats)
