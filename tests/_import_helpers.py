"""Shared checks for the importer tests."""

import numpy as np

META_KEYS = ("format", "source", "source_file", "licence", "citation", "dataset", "metric",
             "mode", "features", "feature_encoding", "features_dropped", "time_source",
             "time_unit", "n_failed_runs", "n_nonfinite_values", "initial_column", "T")


def check_common(t, mode):
    for k in META_KEYS:
        assert k in t.meta, k
    assert t.mode == mode and t.meta["mode"] == mode
    t.validate()
    if t.unit is not None:
        assert t.unit.shape == (t.n, len(t.meta["features"]))
        assert np.isfinite(t.unit).all() and t.unit.min() >= 0 and t.unit.max() <= 1
    assert t.acc.dtype == np.float32 and t.time.dtype == np.float32
    assert ((t.time == 0) | ~np.isnan(t.acc)).all()  # unrun epochs cost nothing


def curves_dir():
    """The real benchmark curves at hand: $LCORE_CURVES, else ../shared/data/curves."""
    import os

    env = os.environ.get("LCORE_CURVES")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for c in (env, os.path.join(root, "..", "shared", "data", "curves"),
              "/work/shared/data/curves"):
        if c and os.path.isdir(c):
            return os.path.abspath(c)
    return os.path.join(root, "..", "shared", "data", "curves")
