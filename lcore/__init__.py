"""lcore: replay hyperparameter optimization with early-termination rules on lookup tables.

The public API (imported lazily, so ``import lcore`` stays light: no torch, no
matplotlib, no optuna, and no compiled kernel until one is used)::

    lcore.simulate(table, rule="etr1", tau=1, repeats=50)   # replay HPO on a table
    lcore.load_table("mnist_lenet5_small") / lcore.list_tables()
    lcore.LookupTable.from_arrays(acc, time, unit=...)
    lcore.sobol(n, d) / lcore.Sobol(d)                      # scipy-identical Sobol points
    lcore.RandomForest(n_trees=50)                          # SMAC-style surrogate
    lcore.stopping.ETR1(tau=1) / lcore.stopping.Monitor(...)  # embeddable stopping rules
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0.dev0"

# public name -> module that defines it
_LAZY = {
    "simulate": "lcore.replay",
    "Results": "lcore.results",
    "LookupTable": "lcore.table",
    "load_table": "lcore.table",
    "list_tables": "lcore.table",
    "import_table": "lcore.tables",
    "sobol": "lcore.qmc",
    "Sobol": "lcore.qmc",
    "RandomForest": "lcore.forest",
    "Space": "lcore.space",
}
_SUBMODULES = {
    "space", "table", "qmc", "replay", "stopping", "acquisition", "choosers", "forest",
    "results", "integrations", "tables",
}

__all__ = sorted(_LAZY) + sorted(_SUBMODULES) + ["__version__"]


def __getattr__(name: str):
    if name in _LAZY:
        module = importlib.import_module(_LAZY[name])
        value = getattr(module, name)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        module = importlib.import_module(f"lcore.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'lcore' has no attribute {name!r}")


def __dir__():
    return __all__
