"""Helpers shared by the engine tests."""

import numpy as np

from lcore.table import LookupTable, synthetic

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


def awkward_max_table(n=48, T=5, seed=3):
    """Accuracies with ties, failed rows (one with no finished epoch), zero-time epochs and
    whole-second epoch times (1, 2 or 3 s), so that epoch ends coincide across workers."""
    t = synthetic("mnist_lenet5", n=n, epochs=T, seed=seed, failure_rate=0.0)
    rng = np.random.default_rng(seed)
    acc = t.acc.astype(np.float32).copy()
    acc[::4] = np.round(acc[::4] * 10) / 10       # many exact ties
    acc[[1, 6, 17]] = acc[0]                     # whole-curve ties, with the goal row too
    time = rng.integers(1, 4, size=(n, T)).astype(np.float32)
    time[::6, 1] = 0.0                           # zero-time epochs
    time[5, 0] = 0.0                             # a zero-time first epoch
    acc[2] = np.nan                              # no finished epoch
    acc[7, 1:] = np.nan                          # failed after epoch 1
    acc[11, 3:] = np.nan                         # failed after epoch 3
    time[np.isnan(acc)] = 0.0
    return LookupTable(acc, time, unit=t.unit, space=t.space, meta={"dataset": "awkward"})


def loss_table(n=40, T=5, seed=5):
    """Validation losses in about [0.2, 3.2] (mode "min"): ties, failed rows, zero-time and
    whole-second epoch times."""
    rng = np.random.default_rng(seed)
    start = rng.uniform(1.5, 3.0, n)[:, None]
    floor = rng.uniform(0.2, 1.4, n)[:, None]
    rate = rng.uniform(0.5, 3.0, n)[:, None]
    t = np.arange(1, T + 1)[None, :]
    loss = floor + (start - floor) * np.exp(-t / rate) + rng.normal(0, 0.03, (n, T))
    loss[::3] = np.round(loss[::3] * 4) / 4      # exact ties
    loss[[4, 13]] = loss[1]
    loss = loss.astype(np.float32)
    loss[8, 2:] = np.nan                         # failed after epoch 2
    loss[12, 1:] = np.nan                        # failed after epoch 1
    time = rng.integers(1, 4, size=(n, T)).astype(np.float32)
    time[::5, 2] = 0.0
    time[np.isnan(loss)] = 0.0
    unit = rng.random((n, 3))
    return LookupTable(loss, time, unit=unit, meta={"mode": "min", "metric": "valid_loss"})


# ---- a rule's C twin against the same rule run in Python ---------------------------------

def python_twin(rule):
    """A copy of ``rule`` whose class inherits its ``should_stop`` but not its C twin, so the
    simulator runs it through the Python adapter."""
    import copy

    cls = type(rule)
    sub = type("Python" + cls.__name__, (cls,), {})
    twin = object.__new__(sub)
    twin.__dict__.update(copy.deepcopy(rule.__dict__))
    return twin


def check_c_twin(rule, table, *, goal, Ws=(1, 2, 4), choosers=("random", "rf-ei"),
                 repeats=6, seed=0, terminated="report"):
    """``simulate`` with ``rule`` (its C twin) and with its Python twin give the same results
    and traces, for every W and chooser; returns the C results (one per (W, chooser)) so a
    test can also check that the rule stopped something."""
    import lcore
    from lcore.replay import _rule_spec

    assert _rule_spec(rule)[0] == "crule", f"{rule!r} has no C twin in the loop"
    py = python_twin(rule)
    assert _rule_spec(py)[0] == "python"
    out = []
    for W in Ws:
        for chooser in choosers:
            kw = dict(goal=goal, repeats=repeats, seed=seed, n_workers=W, chooser=chooser,
                      trace=True, progress=False, terminated=terminated)
            if chooser == "rf-ei":
                kw["chooser_params"] = {"n_trees": 10}
            a = lcore.simulate(table, rule=rule, **kw)
            b = lcore.simulate(table, rule=py, **kw)
            same(a, b)
            out.append(a)
    return out
