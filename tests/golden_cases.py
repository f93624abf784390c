"""The cases of tests/data/golden_replay.npz (see tests/make_golden_replay.py)."""

from __future__ import annotations

import numpy as np

import lcore
from lcore.table import LookupTable, synthetic


def awkward_table(n=300, T=6, seed=3):
    """Synthetic curves with exact ties, failed rows (one with no finished epoch), zero times."""
    t = synthetic("mnist_lenet5", n=n, epochs=T, seed=seed, failure_rate=0.05)
    acc, time = t.acc.copy(), t.time.copy()
    acc[::5] = np.round(acc[::5] * 20) / 20
    time[::7, 2] = 0.0
    acc[3], time[3] = np.nan, 0.0
    acc[10, 2:], time[10, 2:] = np.nan, 0.0
    return LookupTable(acc, time, unit=t.unit, space=t.space, meta={"dataset": "awkward"})


_TABLES = {}


def case_table(name):
    if name not in _TABLES:
        _TABLES[name] = awkward_table() if name == "awkward" else lcore.load_table(name)
    return _TABLES[name]


RULES = [
    ("none", {}),
    ("etr1", {"tau": 1}),
    ("etr1", {"tau": 3}),
    ("etr2", {"p": 0.8}),
    ("etr2", {"p": 0.95}),
    ("median", {}),
    ("median", {"min_completed": 3, "warmup": 2}),
]

CASES = {}
for _table in ("mnist_lenet5_small", "synthetic_mnist_small", "awkward"):
    for _chooser in ("random", "rf-ei"):
        for _term in ("report", "exclude", "oracle"):
            for _rule, _params in RULES:
                if _term != "report" and _rule == "none":
                    continue  # nothing is ever stopped: the same as "report"
                _kw = {"repeats": 3, "seed": 7, "max_evals": 120}
                if _chooser == "random":
                    _kw = {"repeats": 6, "seed": 7, "max_evals": 500}
                _key = f"{_table}|{_chooser}|{_term}|{_rule}|{sorted(_params.items())}"
                CASES[_key] = (_table, _rule, _params, _chooser, _term, _kw)
