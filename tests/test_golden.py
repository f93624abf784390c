"""n_workers=1 reproduces, bit for bit, the replay as it was before the one-engine rewrite."""

import sys
from pathlib import Path

import numpy as np
import pytest

import lcore

sys.path.insert(0, str(Path(__file__).parent))
from golden_cases import CASES, case_table  # noqa: E402

GOLDEN = np.load(Path(__file__).parent / "data" / "golden_replay.npz")


@pytest.mark.parametrize("key", list(CASES))
def test_golden(key):
    table_name, rule, params, chooser, terminated, kw = CASES[key]
    res = lcore.simulate(case_table(table_name), rule=rule, chooser=chooser,
                         terminated=terminated, progress=False, trace=True, **kw, **params)
    for f in ("success", "time_to_goal", "n_evaluated", "n_stopped", "epochs_trained",
              "best_acc", "n_harmful_stops"):
        np.testing.assert_array_equal(np.asarray(getattr(res, f)), GOLDEN[f"{key}|{f}"],
                                      err_msg=f)
    for i, tr in enumerate(res.traces):
        for f in ("row", "epochs", "stopped", "reported", "clock"):
            np.testing.assert_array_equal(np.asarray(tr[f]), GOLDEN[f"{key}|trace{i}|{f}"],
                                          err_msg=f"{f} of repeat {i}")
