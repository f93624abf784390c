"""Optuna's Median, Percentile, Patient and Wilcoxon pruners as lcore rules: the Python twins
decide as Optuna's own classes on identical studies, the C twins as the Python twins in the
replay loop, by name in simulate and Monitor, and every bad parameter is refused."""

import ctypes
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import lcore
from lcore._core import _replay
from lcore.replay import _rule_spec
from lcore.stopping import (
    ETR1,
    History,
    MedianRule,
    Monitor,
    OptunaMedian,
    OptunaPatient,
    OptunaPercentile,
    OptunaThreshold,
    OptunaWilcoxon,
    Rule,
    get_rule,
)
from lcore.stopping.optuna_rules import wilcoxon_pvalue
from lcore.table import LookupTable, synthetic

sys.path.insert(0, str(Path(__file__).parent))
from _replay_helpers import awkward_max_table, check_c_twin, loss_table  # noqa: E402

optuna = pytest.importorskip("optuna")
stats = pytest.importorskip("scipy.stats")
optuna.logging.set_verbosity(optuna.logging.ERROR)
pytestmark = pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")

NAMES = ("optuna-median", "optuna-percentile", "optuna-patient", "optuna-wilcoxon")


def test_kinds_are_registered_in_c_and_python():
    kinds = _replay.c_rule_kinds()
    for name in NAMES:
        assert name in kinds
        assert name in lcore.stopping.RULES
    assert kinds["optuna-patient"][2] == 1           # wraps a rule
    assert kinds["optuna-median"][1] == 0            # records what it needs itself


# ---- against Optuna's own classes -----------------------------------------------------------

def _value(rng, base, slope, step, T, rounding):
    v = base + slope * np.log1p(step) / np.log1p(T) + rng.normal(0, 0.05)
    return float(np.round(v, rounding)) if rounding is not None else float(v)


def drive(ours, theirs, direction, rng, T=10, n_trials=30, gap_p=0.1, fail_p=0.1,
          rounding=None):
    """Run one study with Optuna's pruner ``theirs`` while asking lcore's rule ``ours`` the same
    question after every report (steps = epochs 1..T, some unreported, some trials failing);
    both must agree; a trial stops when they say so. Returns the decisions."""
    mode = "max" if direction == "maximize" else "min"
    study = optuna.create_study(direction=direction, pruner=theirs,
                                sampler=optuna.samplers.RandomSampler(seed=0))
    hist = History(horizon=T, mode=mode)
    decisions = []
    for _ in range(n_trials):
        trial = study.ask()
        curve = np.full(T, np.nan)
        base, slope = rng.uniform(0.1, 0.6), rng.uniform(-0.1, 0.5)
        if mode == "min":
            base, slope = 2.0 - base, -slope
        fail_at = int(rng.integers(1, T)) if rng.random() < fail_p else None
        stopped = failed = False
        for step in range(1, T + 1):
            if fail_at is not None and step > fail_at:
                failed = True
                break
            if step < T and rng.random() < gap_p:
                continue
            v = _value(rng, base, slope, step, T, rounding)
            trial.report(v, step)
            curve[step - 1] = v
            if step == T:
                break
            a = ours.should_stop(curve[:step].copy(), hist)
            b = trial.should_prune()
            assert a is b or a == b, (ours, step, curve[:step], a, b)
            decisions.append(bool(a))
            if a:
                stopped = True
                break
        if stopped:
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        elif failed:
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
        else:
            study.tell(trial, curve[T - 1])
            hist.append(curve)
    return decisions


def _both_ways(decisions):
    assert any(decisions) and not all(decisions), "the studies should decide both ways"


@pytest.mark.parametrize("direction", ["maximize", "minimize"])
@pytest.mark.parametrize("startup,warmup,interval,min_trials", [
    (5, 0, 1, 1), (0, 2, 3, 1), (2, 1, 2, 3)])
def test_median_equals_optuna(direction, startup, warmup, interval, min_trials):
    rng = np.random.default_rng(startup * 100 + warmup * 10 + interval)
    mode = "max" if direction == "maximize" else "min"
    dec = []
    for k in range(2):
        ours = OptunaMedian(startup, warmup, interval, n_min_trials=min_trials, mode=mode)
        theirs = optuna.pruners.MedianPruner(startup, warmup, interval, n_min_trials=min_trials)
        dec += drive(ours, theirs, direction, rng, rounding=2 if k % 2 else None)
    _both_ways(dec)


@pytest.mark.parametrize("direction", ["maximize", "minimize"])
@pytest.mark.parametrize("pct", [0.0, 25, 37.5, 90.0, 100.0])
def test_percentile_equals_optuna(direction, pct):
    rng = np.random.default_rng(int(pct * 10) + (direction == "minimize"))
    mode = "max" if direction == "maximize" else "min"
    dec = []
    for startup, warmup, interval, min_trials in [(3, 0, 1, 1), (1, 2, 2, 4)]:
        ours = OptunaPercentile(pct, startup, warmup, interval, n_min_trials=min_trials,
                                mode=mode)
        theirs = optuna.pruners.PercentilePruner(pct, startup, warmup, interval,
                                                 n_min_trials=min_trials)
        dec += drive(ours, theirs, direction, rng, rounding=2 if startup == 1 else None)
    if pct not in (100.0,) or direction == "minimize":
        _both_ways(dec)
    else:
        assert not all(dec)


def _patient_pairs(mode):
    return [
        (None, None),
        (OptunaMedian(2, mode=mode), optuna.pruners.MedianPruner(2)),
        (OptunaPercentile(40.0, 1, 1, mode=mode), optuna.pruners.PercentilePruner(40.0, 1, 1)),
        (OptunaThreshold(lower=0.3) if mode == "max" else OptunaThreshold(upper=1.7),
         optuna.pruners.ThresholdPruner(lower=0.3) if mode == "max"
         else optuna.pruners.ThresholdPruner(upper=1.7)),
        (OptunaWilcoxon(p_threshold=0.3, mode=mode),
         optuna.pruners.WilcoxonPruner(p_threshold=0.3)),
    ]


@pytest.mark.parametrize("direction", ["maximize", "minimize"])
@pytest.mark.parametrize("patience,min_delta", [(0, 0.0), (2, 0.02)])
def test_patient_equals_optuna(direction, patience, min_delta):
    rng = np.random.default_rng(patience * 7 + int(min_delta * 100))
    mode = "max" if direction == "maximize" else "min"
    dec_all = []
    for ours_w, theirs_w in _patient_pairs(mode):
        ours = OptunaPatient(ours_w, patience, min_delta, mode=mode)
        theirs = optuna.pruners.PatientPruner(theirs_w, patience, min_delta)
        dec = drive(ours, theirs, direction, rng, T=10, n_trials=15, rounding=2)
        dec_all += dec
        if ours_w is None:
            _both_ways(dec)
    _both_ways(dec_all)


def test_patient_of_patient_equals_optuna():
    rng = np.random.default_rng(11)
    ours = OptunaPatient(OptunaPatient(OptunaMedian(1), 1), 2)
    theirs = optuna.pruners.PatientPruner(
        optuna.pruners.PatientPruner(optuna.pruners.MedianPruner(1), 1), 2)
    _both_ways(drive(ours, theirs, "maximize", rng, T=12, rounding=2))


@pytest.mark.parametrize("direction", ["maximize", "minimize"])
@pytest.mark.parametrize("p_threshold,startup,T,rounding", [
    (0.1, 2, 10, None), (0.3, 0, 8, 1), (0.2, 2, 60, 2), (0.1, 3, 16, 1)])
def test_wilcoxon_equals_optuna(direction, p_threshold, startup, T, rounding):
    rng = np.random.default_rng(int(p_threshold * 100) + T)
    mode = "max" if direction == "maximize" else "min"
    ours = OptunaWilcoxon(p_threshold=p_threshold, n_startup_steps=startup, mode=mode)
    theirs = optuna.pruners.WilcoxonPruner(p_threshold=p_threshold, n_startup_steps=startup)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dec = drive(ours, theirs, direction, rng, T=T, n_trials=6 if T > 20 else 12,
                    rounding=rounding)
    _both_ways(dec)


# ---- the C p-value against SciPy ----------------------------------------------------------

def _c_pvalue():
    lib = ctypes.CDLL(_replay.__file__)
    f = lib.lc_optuna_wilcoxon_pvalue
    f.restype = ctypes.c_double
    f.argtypes = [ctypes.POINTER(ctypes.c_double), ctypes.c_int32, ctypes.c_int32]

    def p(d, greater):
        d = np.ascontiguousarray(d, dtype=np.float64)
        return f(d.ctypes.data_as(ctypes.POINTER(ctypes.c_double)), len(d), int(greater))
    return p


def _diffs(rng, k):
    """Differences of sizes 2..200 in the regimes SciPy's method "auto" distinguishes: exact
    (n <= 50, no ties, no zeros), permutation (n <= 13 with ties or zeros), normal."""
    n = int([rng.integers(2, 14), rng.integers(14, 51), rng.integers(51, 201)][k % 3])
    kind = (k // 3) % 4
    if kind == 0:
        return rng.normal(size=n)
    if kind == 1:
        return np.round(rng.normal(size=n), 1)
    if kind == 2:
        return rng.integers(-3, 4, size=n).astype(float) * 0.25
    return np.round(rng.normal(0.3, 1, size=n), 2)


def test_c_wilcoxon_pvalue_is_scipys_bit_for_bit():
    p = _c_pvalue()
    rng = np.random.default_rng(5)
    seen = set()
    for k in range(120):
        d = _diffs(rng, k)
        ties = len(np.unique(np.abs(d))) < len(d) or (d == 0).any()
        seen.add("exact" if len(d) <= 50 and not ties else
                  "perm" if len(d) <= 13 else "normal")
        for alt in ("less", "greater"):
            ref = wilcoxon_pvalue(d, alt)
            assert p(d, alt == "greater") == ref, (alt, d)
    assert seen == {"exact", "perm", "normal"}
    # edge cases: all zeros, one nonzero, all of one sign, the largest exact size
    for d in ([0.0, 0.0], [0.0, 0.0, 0.0, 1.0], [-1.0, -2.0], np.arange(1.0, 51.0),
              -np.arange(1.0, 51.0), np.arange(1.0, 52.0), np.zeros(60), [1.0, -1.0]):
        for alt in ("less", "greater"):
            assert p(d, alt == "greater") == wilcoxon_pvalue(np.asarray(d, float), alt)


def test_python_wilcoxon_pvalue_is_scipys():
    d = np.array([-0.3, -0.1, 0.2, -0.4, -0.5])
    assert wilcoxon_pvalue(d, "less") == stats.wilcoxon(d, alternative="less",
                                                        zero_method="zsplit").pvalue


# ---- C twin == Python twin in the replay loop ----------------------------------------------

def long_table(n=40, T=60, seed=2, mode="max"):
    """A table with long curves (so that the Wilcoxon test sees every method), rounded for
    ties, with failed rows."""
    t = synthetic("mnist_lenet5", n=n, epochs=T, seed=seed, failure_rate=0.0)
    acc = np.round(t.acc.astype(np.float64), 2).astype(np.float32)
    acc[3, 20:] = np.nan
    acc[9, 45:] = np.nan
    time = t.time.copy()
    time[np.isnan(acc)] = 0.0
    if mode == "min":
        acc = (1.0 - acc).astype(np.float32)
    meta = {"dataset": "long"} if mode == "max" else {"mode": "min", "metric": "error"}
    return LookupTable(acc, time, unit=t.unit, space=t.space, meta=meta)


def _stopped(res):
    return sum(int(r.n_stopped.sum()) for r in res)


@pytest.mark.parametrize("rule", [
    OptunaMedian(), OptunaMedian(0, 1, 2, n_min_trials=2), OptunaPercentile(25.0, 2),
    OptunaPercentile(75.0, 0, 2, 1), OptunaPercentile(0.0, 1), OptunaPercentile(100.0, 1),
])
@pytest.mark.parametrize("which", ["awkward", "loss"])
def test_percentile_c_twin(rule, which):
    if which == "awkward":
        res = check_c_twin(rule, awkward_max_table(), goal="top5%")
    else:
        rule = type(rule)(**{**rule.params, "mode": "min"})
        res = check_c_twin(rule, loss_table(), goal="top5%")
    if rule.params.get("percentile") != (100.0 if rule.mode == "max" else 0.0):
        assert _stopped(res) > 0


@pytest.mark.parametrize("make", [
    lambda m: OptunaPatient(None, 0, mode=m),
    lambda m: OptunaPatient(None, 0, 0.001, mode=m),
    lambda m: OptunaPatient(OptunaMedian(2, mode=m), 1, mode=m),
    lambda m: OptunaPatient(OptunaWilcoxon(p_threshold=0.5, mode=m), 0, mode=m),
    lambda m: OptunaPatient(MedianRule(min_completed=2, mode=m), 1, mode=m),
    lambda m: OptunaPatient(OptunaPatient(OptunaPercentile(60.0, 1, mode=m), 0, mode=m), 1,
                            mode=m),
])
@pytest.mark.parametrize("which", ["awkward", "loss"])
def test_patient_c_twin(make, which):
    if which == "awkward":
        rule = make("max")
        res = check_c_twin(rule, awkward_max_table(), goal="top5%")
    else:
        rule = make("min")
        res = check_c_twin(rule, loss_table(), goal="top5%")
    # the loss table's 5-epoch curves keep improving: only patience 0 stops there
    # (test_c_twins_on_long_curves stops trials with patience 3 in both modes)
    if which == "awkward" or rule.patience == 0:
        assert _stopped(res) > 0


@pytest.mark.parametrize("p_threshold,startup", [(0.1, 2), (0.3, 0), (0.5, 3)])
@pytest.mark.parametrize("which", ["awkward", "loss"])
def test_wilcoxon_c_twin(p_threshold, startup, which):
    mode = "max" if which == "awkward" else "min"
    rule = OptunaWilcoxon(p_threshold=p_threshold, n_startup_steps=startup, mode=mode)
    table = awkward_max_table() if which == "awkward" else loss_table()
    res = check_c_twin(rule, table, goal="top5%")
    if p_threshold > 0.1:
        assert _stopped(res) > 0


@pytest.mark.parametrize("mode", ["max", "min"])
def test_c_twins_on_long_curves(mode):
    """T = 60: the Wilcoxon test goes through its exact, permutation and normal branches."""
    t = long_table(mode=mode)
    for rule in (OptunaWilcoxon(p_threshold=0.1, mode=mode),
                 OptunaPatient(OptunaMedian(2, 5, 3, mode=mode), 3, 0.005, mode=mode),
                 OptunaPercentile(30.0, 3, 10, 5, n_min_trials=2, mode=mode)):
        res = check_c_twin(rule, t, goal="top10%", Ws=(1, 3), repeats=3)
        assert _stopped(res) > 0, rule


# ---- how the rules run --------------------------------------------------------------------

def test_c_specs():
    assert _rule_spec(OptunaMedian())[0] == "crule"
    spec = _rule_spec(OptunaPatient(OptunaMedian(), 2))
    assert spec[0] == "crule" and spec[1][2][1][0] == "optuna-median"
    assert _rule_spec(OptunaPatient(None, 2))[1][2][0] == "builtin"     # the ignored "none"
    assert _rule_spec(OptunaPatient(ETR1(tau=1), 2))[0] == "crule"       # built-in inner

    class Mine(Rule):
        def should_stop(self, curve, history):
            return len(curve) >= 3

    # a wrapped rule without a C twin: the whole rule runs in Python
    assert _rule_spec(OptunaPatient(Mine(), 0))[0] == "python"
    t = awkward_max_table()
    res = lcore.simulate(t, rule=OptunaPatient(Mine(), 0), repeats=2, seed=1, progress=False,
                         chooser="random")
    assert res.n_stopped.sum() > 0


@pytest.mark.parametrize("name,params", [
    ("optuna-median", {"n_startup_trials": 2}),
    ("optuna-percentile", {"percentile": 30.0, "n_startup_trials": 2}),
    ("optuna-patient", {"patience": 1}),
    ("optuna-patient", {"wrapped_rule": "optuna-median", "patience": 0}),
    ("optuna-wilcoxon", {"p_threshold": 0.5}),
])
def test_by_name_in_simulate(name, params):
    t = awkward_max_table()
    a = lcore.simulate(t, rule=name, repeats=3, seed=1, progress=False, chooser="random",
                       **params)
    b = lcore.simulate(t, rule=get_rule(name, **params), repeats=3, seed=1, progress=False,
                       chooser="random")
    np.testing.assert_array_equal(a.n_stopped, b.n_stopped)
    assert a.n_stopped.sum() > 0


def test_by_name_in_monitor():
    m = Monitor("optuna-median", horizon=3, n_startup_trials=1)
    for e, v in [(1, 0.5), (2, 0.6), (3, 0.7)]:
        assert m.report("a", e, v) is False
    m.complete("a")
    assert m.report("b", 1, 0.4) is True           # 0.4 < median 0.5
    assert m.report("c", 1, 0.55) is False

    m = Monitor("optuna-percentile", horizon=3, percentile=50.0, n_startup_trials=1,
                mode="min")
    for e, v in [(1, 0.5), (2, 0.4), (3, 0.3)]:
        m.report("a", e, v)
    m.complete("a")
    assert m.report("b", 1, 0.6) is True           # loss 0.6 > 0.5
    assert m.report("c", 1, 0.45) is False

    m = Monitor("optuna-patient", horizon=6, patience=1)
    assert [m.report("a", e, v) for e, v in [(1, 0.5), (2, 0.4), (3, 0.45)]] == \
        [False, False, True]

    m = Monitor("optuna-wilcoxon", horizon=6, p_threshold=0.1)
    for e, v in enumerate([0.5, 0.6, 0.7, 0.8, 0.85, 0.9], start=1):
        m.report("a", e, v)
    m.complete("a")
    out = [m.report("b", e, v) for e, v in enumerate([0.4, 0.5, 0.6, 0.7], start=1)]
    assert out == [False, False, False, True]      # p = 1/16 < 0.1 at 4 common epochs


def test_decisions_by_hand():
    h = History(horizon=4, completed=[[0.2, 0.4, 0.5, 0.6], [0.6, 0.7, 0.8, 0.9],
                                      [0.1, np.nan, 0.3, 0.4]])
    r = OptunaMedian(n_startup_trials=3)
    assert r.should_stop(np.array([0.19]), h)            # median of .2, .6, .1 = .2
    assert not r.should_stop(np.array([0.2]), h)         # not strictly worse
    assert not r.should_stop(np.array([0.6, 0.1]), h)    # best so far .6 > median .55
    assert r.should_stop(np.array([0.3, 0.5]), h)        # epoch 2: median(.4, .7) = .55
    assert not OptunaMedian(n_startup_trials=4).should_stop(np.array([0.0]), h)
    assert not OptunaMedian(n_startup_trials=3, n_min_trials=3).should_stop(
        np.array([0.3, 0.5]), h)                          # only 2 observed epoch 2
    # the percentile interpolates linearly (NumPy): 75th of (.1, .2, .6) = .4 in "max" mode
    p = OptunaPercentile(25.0, 3)
    assert p.should_stop(np.array([0.39]), h) and not p.should_stop(np.array([0.4]), h)
    # patience: "min" mode and min_delta
    q = OptunaPatient(None, 1, 0.05, mode="min")
    assert q.should_stop(np.array([0.5, 0.6, 0.56]), History(horizon=5))   # .5 + .05 < .56
    assert not q.should_stop(np.array([0.5, 0.6, 0.55]), History(horizon=5))
    assert not q.should_stop(np.array([0.5, np.nan, 0.6]), History(horizon=5))  # 2 observed


def test_labels_and_equality():
    a = OptunaPatient(OptunaMedian(2), 3)
    assert a == OptunaPatient(OptunaMedian(2), 3) and a != OptunaPatient(OptunaMedian(3), 3)
    assert a.label == "optuna-patient(wrapped_rule=optuna-median(n_startup_trials=2), " \
                      "patience=3)"
    assert OptunaPatient(None, 1).label == "optuna-patient(patience=1)"
    assert OptunaWilcoxon(mode="min").label == "optuna-wilcoxon(mode=min)"
    assert get_rule("optuna-patient", wrapped_rule="optuna-median", patience=1,
                    mode="min").wrapped_rule == OptunaMedian(mode="min")


# ---- bad parameters -----------------------------------------------------------------------

@pytest.mark.parametrize("name,kw,match", [
    ("optuna-percentile", {}, r"missing 1 required positional argument: 'percentile'"),
    ("optuna-percentile", {"percentile": 101},
     r"rule 'optuna-percentile': percentile must be a number in \[0, 100\], got 101"),
    ("optuna-percentile", {"percentile": -0.5},
     r"rule 'optuna-percentile': percentile must be a number in \[0, 100\], got -0.5"),
    ("optuna-percentile", {"percentile": float("nan")},
     r"rule 'optuna-percentile': percentile must be a number in \[0, 100\], got nan"),
    ("optuna-percentile", {"percentile": "50"},
     r"rule 'optuna-percentile': percentile must be a number in \[0, 100\], got '50'"),
    ("optuna-percentile", {"percentile": 50, "n_startup_trials": -1},
     r"rule 'optuna-percentile': n_startup_trials must be an int >= 0, got -1"),
    ("optuna-median", {"n_startup_trials": 2.0},
     r"rule 'optuna-median': n_startup_trials must be an int >= 0, got 2.0"),
    ("optuna-median", {"n_warmup_steps": -1},
     r"rule 'optuna-median': n_warmup_steps must be an int >= 0, got -1"),
    ("optuna-median", {"interval_steps": 0},
     r"rule 'optuna-median': interval_steps must be an int >= 1, got 0"),
    ("optuna-median", {"n_min_trials": 0},
     r"rule 'optuna-median': n_min_trials must be an int >= 1, got 0"),
    ("optuna-median", {"n_min_trials": True},
     r"rule 'optuna-median': n_min_trials must be an int >= 1, got True"),
    ("optuna-median", {"mode": "maximize"}, r"mode must be 'max' or 'min', got 'maximize'"),
    ("optuna-median", {"percentile": 20}, r"rule 'optuna-median' takes the parameters"),
    ("optuna-patient", {}, r"rule 'optuna-patient' needs patience \(an int >= 0"),
    ("optuna-patient", {"patience": -1},
     r"rule 'optuna-patient': patience must be an int >= 0, got -1"),
    ("optuna-patient", {"patience": 1.5},
     r"rule 'optuna-patient': patience must be an int >= 0, got 1.5"),
    ("optuna-patient", {"patience": 1, "min_delta": -0.1},
     r"rule 'optuna-patient': min_delta must be a finite number >= 0, got -0.1"),
    ("optuna-patient", {"patience": 1, "min_delta": float("inf")},
     r"rule 'optuna-patient': min_delta must be a finite number >= 0, got inf"),
    ("optuna-patient", {"patience": 1, "wrapped_rule": "no-such"},
     r"rule 'optuna-patient': wrapped_rule must be a rule object, a rule name \(.*'optuna-"
     r"median'.*\) or None, got 'no-such'"),
    ("optuna-patient", {"patience": 1, "wrapped_rule": 3},
     r"rule 'optuna-patient': wrapped_rule must be a rule object \(with should_stop\(curve, "
     r"history\)\), a rule name or None, got 3"),
    ("optuna-patient", {"patience": 1, "wrapped_rule": OptunaMedian},
     r"rule 'optuna-patient': wrapped_rule must be a rule object"),
    ("optuna-patient", {"patience": 1, "wrapped_rule": OptunaMedian(mode="min")},
     r"rule 'optuna-patient': wrapped_rule has mode='min' but this rule has mode='max'; "
     r"build both with the same mode"),
    ("optuna-wilcoxon", {"p_threshold": 1.5},
     r"rule 'optuna-wilcoxon': p_threshold must be a number in \[0, 1\], got 1.5"),
    ("optuna-wilcoxon", {"p_threshold": -0.1},
     r"rule 'optuna-wilcoxon': p_threshold must be a number in \[0, 1\], got -0.1"),
    ("optuna-wilcoxon", {"p_threshold": None},
     r"rule 'optuna-wilcoxon': p_threshold must be a number in \[0, 1\], got None"),
    ("optuna-wilcoxon", {"n_startup_steps": -1},
     r"rule 'optuna-wilcoxon': n_startup_steps must be an int >= 0, got -1"),
    ("optuna-wilcoxon", {"n_startup_steps": "2"},
     r"rule 'optuna-wilcoxon': n_startup_steps must be an int >= 0, got '2'"),
])
def test_bad_parameters(name, kw, match):
    with pytest.raises((ValueError, TypeError), match=match):
        get_rule(name, **kw)


def test_patient_checks_the_wrapped_rules_horizon():
    r = OptunaPatient(ETR1(tau=9), 1)
    with pytest.raises(ValueError, match=r"tau must be an int in \[1, T-1\]"):
        r.check(5)
    with pytest.raises(ValueError, match=r"tau must be an int in \[1, T-1\]"):
        lcore.simulate(awkward_max_table(), rule=r, repeats=1, progress=False)


def test_mode_must_match_the_table():
    with pytest.raises(ValueError, match="mode"):
        lcore.simulate(loss_table(), rule=OptunaMedian(), repeats=1, progress=False)
