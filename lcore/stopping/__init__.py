"""Early-termination (stopping) rules, usable online, in Optuna, and by the simulator.

One implementation of every rule, numpy only::

    from lcore.stopping import Monitor
    monitor = Monitor("median", horizon=15)          # or ETR1(tau=1), ETR2(p=0.5), ...
    stop = monitor.report(trial_id, epoch, value)    # after each epoch; True: stop it
    monitor.complete(trial_id)                       # when the trial ends (stopped or not)

A rule is a pure decision ``rule.should_stop(curve, history) -> bool`` on the trial's values at
epochs ``1 .. t`` and a :class:`History` of completed curves (trials that reached the horizon
``T``); :class:`Monitor` keeps the history for you. See :mod:`lcore.stopping.base` for the
conventions every rule follows (gaps, modes, float64 arithmetic) and docs/stopping.md.
"""

from __future__ import annotations

from .adaptive import Adaptive
from .base import COMPLETED, FAILED, RUNNING, STOPPED, History, Rule
from .compiled import CompiledRule, compiled_rule
from .lce import LCE
from .median import MedianRule
from .monitor import Monitor
from .never import Never
from .optuna_rules import (
    OptunaMedian,
    OptunaPatient,
    OptunaPercentile,
    OptunaThreshold,
    OptunaWilcoxon,
)
from .peer_median import RayMedian, SyneTuneMedian
from .registry import RULES, get_rule
from .relative import ETR2
from .rung_rules import OptunaHyperband, OptunaSuccessiveHalving, RayASHA, SyneTuneASHA
from .threshold import ETR1

__all__ = [
    "Adaptive",
    "COMPLETED",
    "CompiledRule",
    "FAILED",
    "RUNNING",
    "STOPPED",
    "compiled_rule",
    "ETR1",
    "ETR2",
    "History",
    "LCE",
    "MedianRule",
    "Monitor",
    "Never",
    "OptunaThreshold",
    "OptunaHyperband",
    "OptunaSuccessiveHalving",
    "RayASHA",
    "SyneTuneASHA",
    "RayMedian",
    "OptunaMedian",
    "OptunaPatient",
    "OptunaPercentile",
    "OptunaWilcoxon",
    "RULES",
    "Rule",
    "SyneTuneMedian",
    "get_rule",
]
