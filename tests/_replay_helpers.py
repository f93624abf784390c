"""Helpers shared by the engine tests."""

import numpy as np

RESULT_FIELDS = ("success", "time_to_goal", "n_evaluated", "n_stopped", "epochs_trained",
                 "best_acc", "n_harmful_stops")


def same(a, b):
    """Two simulate results are the same: every per-repeat array and every trace field."""
    for f in RESULT_FIELDS:
        np.testing.assert_array_equal(getattr(a, f), getattr(b, f), err_msg=f)
    for x, y in zip(a.traces or [], b.traces or []):
        assert set(x) == set(y)
        for f in x:
            np.testing.assert_array_equal(x[f], y[f], err_msg=f)
