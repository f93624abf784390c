"""Shared checks of the Ray Tune / Syne Tune adapters (no tuner needed: _MonitorAdapter)."""

import math

import pytest

from lcore.integrations._common import _MonitorAdapter
from lcore.stopping import MedianRule, Monitor


def replay(reports, rule, horizon, mode, **params):
    """Decisions of a fresh Monitor on the same reports (closing a trial when it stops or
    reaches the horizon, as the tuners do)."""
    mon = Monitor(rule, horizon, mode=mode, **params)
    out = []
    for trial_id, epoch, value, _ in reports:
        if epoch > horizon:
            out.append(False)
            continue
        stop = mon.report(trial_id, epoch, value)
        out.append(stop)
        if stop or epoch == horizon:
            mon.complete(trial_id)
    return out


def test_adapter_decides_as_monitor_and_ignores_epochs_past_the_horizon():
    a = _MonitorAdapter("median", 3, "acc", "max", "epoch", {})
    curves = {"a": [0.2, 0.8, 0.9, 0.95], "b": [0.3, 0.45], "c": [0.5, math.nan]}
    for tid, curve in curves.items():
        for e, v in enumerate(curve, 1):
            if a.report(tid, {"epoch": e, "acc": v}):
                break
        a.complete(tid)
    assert [r[3] for r in a.reports] == replay(a.reports, "median", 3, "max")
    assert [r[3] for r in a.reports] == [False, False, False, False, False, True, False, True]


def test_adapter_errors():
    with pytest.raises(ValueError, match="mode must be 'max' or 'min', got 'up'"):
        _MonitorAdapter("median", 3, "acc", "up", "epoch", {})
    with pytest.raises(ValueError, match="time_attr must be a non-empty str, got ''"):
        _MonitorAdapter("median", 3, "acc", "max", "", {})
    with pytest.raises(ValueError, match="metric must be a non-empty str or None, got 3"):
        _MonitorAdapter("median", 3, 3, "max", "epoch", {})
    with pytest.raises(ValueError, match="mode='min' differs from the rule's mode='max'"):
        _MonitorAdapter(MedianRule(), 3, "acc", "min", "epoch", {})
    with pytest.raises(ValueError, match=r"warmup must be an int in \[1, T-1\]"):
        _MonitorAdapter("median", 3, "acc", None, "epoch", {"warmup": 5})
    a = _MonitorAdapter("median", 3, "acc", None, "epoch", {})
    with pytest.raises(ValueError, match="mode is unknown: give mode='max' or 'min'"):
        a.report(0, {"epoch": 1, "acc": 0.5})
    a = _MonitorAdapter("median", 3, None, "max", "epoch", {})
    with pytest.raises(ValueError, match="metric is unknown: give metric="):
        a.report(0, {"epoch": 1, "acc": 0.5})
    a = _MonitorAdapter("median", 3, "acc", "max", "epoch", {})
    with pytest.raises(ValueError, match=r"result of trial 0 has no metric 'acc'; its keys: \["):
        a.report(0, {"epoch": 1, "loss": 0.5})
    with pytest.raises(ValueError, match="result of trial 0 has no time_attr 'epoch'"):
        a.report(0, {"acc": 0.5})
    b = _MonitorAdapter(MedianRule(), 3, "acc", None, "epoch", {})
    with pytest.raises(ValueError, match="the rule's mode='max' does not match the tuner's"):
        b.set_mode("min")
