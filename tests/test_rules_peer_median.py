"""Syne Tune's and Ray Tune's median stopping rules ("synetune-median", "ray-median"): the
twins decide as the peers' own classes on the same result sequences, the C twins as the
Python twins in the replay, by name in simulate / Monitor, and every bad parameter is refused.
"""

import datetime
import logging
import sys
from pathlib import Path

import numpy as np
import pytest

import lcore
from lcore.stopping import History, Monitor, RayMedian, SyneTuneMedian, get_rule
from lcore.table import LookupTable

sys.path.insert(0, str(Path(__file__).parent))
from _replay_helpers import awkward_max_table, check_c_twin, loss_table  # noqa: E402

# ---- random result sequences with several workers ------------------------------------------

def _session(rng, T, n_trials, W):
    """Random trials for ``W`` workers: per trial its curve (ties among values), how it ends
    if not stopped ("complete" at T, "fail": an errored trial, "user": ended early by the
    caller) and per-epoch durations (whole seconds, so epoch ends coincide)."""
    trials = []
    for _ in range(n_trials):
        kind = rng.choice(["complete", "complete", "complete", "fail", "user"])
        L = T if kind == "complete" else int(rng.integers(1, T))
        base = rng.uniform(0.1, 0.9)
        y = base + rng.normal(0, 0.15, L).cumsum() / np.arange(1, L + 1)
        if rng.random() < 0.5:
            y = np.round(y * 5) / 5                  # many exact ties across trials
        trials.append((kind, [float(v) for v in y], rng.integers(1, 4, L).astype(float)))
    return trials


def _events(trials, W, decide):
    """Play the trials on W workers in event order ((time, start counter), as the replay).

    ``decide(i, t, y)`` is asked after each epoch ``t`` of trial ``i`` and returns whether it
    is stopped; yields ("start", i), ("result", i, t, y, stop) and ("end", i, why)."""
    import heapq

    heap, nxt = [], 0
    running = {}

    def start(now):
        nonlocal nxt
        if nxt < len(trials):
            i = nxt
            nxt += 1
            running[i] = 0
            yield ("start", i)
            heapq.heappush(heap, (now + trials[i][2][0], i))

    for _ in range(W):
        yield from start(0.0)
    while heap:
        now, i = heapq.heappop(heap)
        kind, y, dur = trials[i]
        t = running[i] + 1
        running[i] = t
        stop = decide(i, t, y[t - 1])
        yield ("result", i, t, y[t - 1], stop)
        if stop or t == len(y):
            why = "stopped" if stop else kind
            del running[i]
            yield ("end", i, why)
            yield from start(now)
        else:
            heapq.heappush(heap, (now + dur[t], i))


def _play(trials, W, T, ours, peer):
    """Drive the peer (``peer`` = (on_start, on_result -> bool, on_end)) and ``Monitor(ours)``
    with the same sequence; returns [(lcore's decision, the peer's)] at every epoch t < T."""
    mon = Monitor(ours, horizon=T)
    on_start, on_result, on_end = peer
    pairs = []

    def decide(i, t, y):
        theirs = on_result(i, t, y)
        mine = mon.report(i, t, y)
        if t < T:
            pairs.append((mine, theirs))
            return theirs
        assert mine is False
        return False

    last = {}
    for ev in _events(trials, W, decide):
        if ev[0] == "start":
            on_start(ev[1])
        elif ev[0] == "result":
            last[ev[1]] = (ev[2], ev[3])
        else:
            i, why = ev[1], ev[2]
            if why == "fail":
                t, _ = last[i]
                assert mon.report(i, t + 1, float("nan")) is True   # a failed epoch
            on_end(i, why, last[i])
            mon.complete(i)
    return pairs


# ---- Syne Tune ---------------------------------------------------------------------------

def _synetune_peer(kw, mode):
    pytest.importorskip("syne_tune")
    from syne_tune.backend.trial_status import Trial
    from syne_tune.optimizer.scheduler import SchedulerDecision, TrialScheduler
    from syne_tune.optimizer.schedulers.median_stopping_rule import MedianStoppingRule

    logging.getLogger("syne_tune").setLevel(logging.WARNING)
    # the wrapped scheduler: Syne Tune's base class, whose on_trial_result always continues
    sched = MedianStoppingRule(TrialScheduler(random_seed=0), time_attr="epoch", metric="y",
                               do_minimize=(mode == "min"), random_seed=0, **kw)
    objs = {}
    now = datetime.datetime(2026, 1, 1)

    def on_start(i):
        objs[i] = Trial(trial_id=i, config={}, creation_time=now)
        sched.on_trial_add(objs[i])

    def on_result(i, t, y):
        return sched.on_trial_result(objs[i], {"epoch": t, "y": y}) == SchedulerDecision.STOP

    def on_end(i, why, last):
        if why == "fail":
            sched.on_trial_error(objs[i])
        else:
            sched.on_trial_complete(objs[i], {"epoch": last[0], "y": last[1]})

    return on_start, on_result, on_end


SYNE_PARAMS = [
    {},
    {"grace_population": 3},
    {"grace_population": None, "grace_time": None, "rank_cutoff": 0.25},
    {"running_average": False, "grace_population": 2},
    {"running_average": False, "grace_time": 3, "rank_cutoff": 0.75, "grace_population": 0},
    {"rank_cutoff": 0.0, "grace_population": 1, "grace_time": 2},
    {"rank_cutoff": 1.0},
]


@pytest.mark.parametrize("mode", ["max", "min"])
@pytest.mark.parametrize("kw", SYNE_PARAMS)
def test_synetune_median_equals_syne_tune(kw, mode):
    rng = np.random.default_rng(len(str(kw)) * 7 + (mode == "min"))
    stops = conts = 0
    for study in range(12):
        T = int(rng.integers(2, 12))
        W = int(rng.choice([1, 2, 4]))
        trials = _session(rng, T, int(rng.integers(5, 25)), W)
        pairs = _play(trials, W, T, SyneTuneMedian(mode=mode, **kw),
                      _synetune_peer(kw, mode))
        assert [m for m, _ in pairs] == [p for _, p in pairs], (kw, mode, study)
        stops += sum(p for _, p in pairs)
        conts += sum(not p for _, p in pairs)
    assert conts > 0
    if kw.get("rank_cutoff", 0.5) < 1.0:
        assert stops > 0                   # decisions go both ways
    else:
        assert stops == 0                  # rank / n <= 1 always


# ---- Ray Tune ----------------------------------------------------------------------------

class _FakeController:
    """What MedianStoppingRule reads of Ray's TuneController (as ray's own scheduler tests
    mock it): the live trials. In the replay no trial waits for a worker: all are RUNNING."""

    def __init__(self):
        self.live = set()

    def get_live_trials(self):
        return set(self.live)


def _ray_peer(kw, mode):
    pytest.importorskip("ray.tune")
    from ray.tune.experiment import Trial
    from ray.tune.schedulers import MedianStoppingRule, TrialScheduler

    rule = MedianStoppingRule(time_attr="training_iteration", metric="y", mode=mode, **kw)
    ctl = _FakeController()
    objs = {}

    def on_start(i):
        tr = objs[i] = Trial("__fake", stub=True)
        tr.set_status(Trial.RUNNING)
        ctl.live.add(tr)
        rule.on_trial_add(ctl, tr)

    def on_result(i, t, y):
        res = {"training_iteration": t, "y": y}
        if t == T_of[i]:
            # TuneController: the stop criterion (training_iteration >= T) ends the trial
            # without asking the scheduler; stop_trial then calls on_trial_complete
            rule.on_trial_complete(ctl, objs[i], res)
            return False
        d = rule.on_trial_result(ctl, objs[i], res)
        assert d in (TrialScheduler.CONTINUE, TrialScheduler.STOP), d   # never PAUSE here
        if d == TrialScheduler.STOP:
            # TuneController.stop_trial of a RUNNING trial: on_trial_complete(last_result)
            rule.on_trial_complete(ctl, objs[i], res)
        return d == TrialScheduler.STOP

    def on_end(i, why, last):
        tr = objs[i]
        if why == "fail":
            rule.on_trial_error(ctl, tr)
            tr.set_status(Trial.ERROR)
        else:
            if why == "user":   # ended by the caller: stop_trial -> on_trial_complete
                rule.on_trial_complete(ctl, tr, {"training_iteration": last[0], "y": last[1]})
            tr.set_status(Trial.TERMINATED)
        ctl.live.discard(tr)

    T_of = {}
    return on_start, on_result, on_end, T_of


RAY_PARAMS = [
    {"grace_period": 1.0, "min_samples_required": 1},
    {"grace_period": 2.0},
    {"grace_period": 2.5, "min_samples_required": 2},
    {"grace_period": 0.0, "min_samples_required": 4, "min_time_slice": 3},
    {"grace_period": 3, "min_samples_required": 1},
    {},                                   # Ray's defaults: grace_period=60 stops nothing here
]


@pytest.mark.parametrize("mode", ["max", "min"])
@pytest.mark.parametrize("kw", RAY_PARAMS)
def test_ray_median_equals_ray_tune(kw, mode):
    rng = np.random.default_rng(len(str(kw)) * 11 + (mode == "min"))
    stops = conts = 0
    for study in range(12):
        T = int(rng.integers(2, 12))
        W = int(rng.choice([1, 2, 4]))
        trials = _session(rng, T, int(rng.integers(5, 25)), W)
        on_start, on_result, on_end, T_of = _ray_peer(kw, mode)
        T_of.update({i: T for i in range(len(trials))})
        pairs = _play(trials, W, T, RayMedian(mode=mode, **kw), (on_start, on_result, on_end))
        assert [m for m, _ in pairs] == [p for _, p in pairs], (kw, mode, study)
        stops += sum(p for _, p in pairs)
        conts += sum(not p for _, p in pairs)
    assert conts > 0
    if kw:
        assert stops > 0
    else:
        assert stops == 0


def test_ray_stopped_trial_counts_its_last_value_twice():
    # a (stopped at 2 after 0.1, 0.1, by a median of 0.5), b (running) and c report at t=2;
    # Ray's running mean of a at t=2 over epochs 1..2 is mean(0.1, 0.1, 0.1) after
    # on_trial_complete repeated its last result
    h = History(horizon=5)
    for curve, state in (([0.1, 0.1], 1), ([0.9, 0.9], 0), ([0.5, 0.5, 0.5], 2)):
        i = h.add_trial()
        for e, v in enumerate(curve, 1):
            h.observe_trial(i, e, v)
        if state:
            h.end_trial(i, state)
    r = RayMedian(grace_period=1, min_samples_required=1)
    # others at t=2: 0.1 (a), 0.9 (b), 0.5 (c) -> median 0.5
    assert r.should_stop(np.array([0.45, 0.45]), h)
    assert not r.should_stop(np.array([0.5, 0.45]), h)
    h2 = History(horizon=5)
    i = h2.add_trial()
    for e, v in enumerate([0.0, 0.6], 1):
        h2.observe_trial(i, e, v)
    h2.end_trial(i, 1)
    # a stopped at 2: mean(0.0, 0.6, 0.6) = 0.4 (not 0.3); the trial's best 0.35 < 0.4 stops
    r = RayMedian(grace_period=1, min_samples_required=1)
    assert r.should_stop(np.array([0.35, 0.2]), h2) is True
    assert r.should_stop(np.array([0.41, 0.2]), h2) is False


# ---- C twins in the replay ------------------------------------------------------------------

C_CASES = [
    (SyneTuneMedian(), "awkward"),
    (SyneTuneMedian(running_average=False, grace_population=2, rank_cutoff=0.25), "awkward"),
    (SyneTuneMedian(mode="min", grace_population=3, grace_time=2), "loss"),
    (SyneTuneMedian(mode="min", running_average=False, grace_population=None), "loss"),
    (RayMedian(grace_period=2, min_samples_required=1), "awkward"),
    (RayMedian(grace_period=1.5), "awkward"),
    (RayMedian(grace_period=0, mode="min"), "loss"),
    (RayMedian(grace_period=3, min_samples_required=2, mode="min"), "loss"),
]


@pytest.mark.parametrize("rule,table", C_CASES, ids=lambda x: getattr(x, "label", x))
def test_c_twin(rule, table):
    t = awkward_max_table() if table == "awkward" else loss_table()
    res = check_c_twin(rule, t, goal="top5%")
    assert sum(r.n_stopped.sum() for r in res) > 0


def _cancelling_table(T, n, seed):
    """Loss values whose float64 sums depend on the summation order (2**60 next to small
    values): a C twin that summed left to right instead of NumPy's pairwise way would rank
    and take medians differently."""
    rng = np.random.default_rng(seed)
    big = 2.0 ** 60
    loss = rng.choice([big, -big, 1.0, 2.0, 3.0, 0.5], size=(n, T)).astype(np.float32)
    time = rng.integers(1, 4, size=(n, T)).astype(np.float32)
    return LookupTable(loss, time, unit=rng.random((n, 2)), meta={"mode": "min"})


def test_c_sum_is_numpys_pairwise_sum():
    """The C twins' running averages use NumPy's summation (what np.mean does in the peers),
    on every length: below 8, the 8 interleaved sums up to 128, the halving beyond."""
    import ctypes

    from lcore._core import _replay

    f = ctypes.CDLL(_replay.__file__).lc_np_pairwise_sum
    f.restype = ctypes.c_double
    f.argtypes = [ctypes.c_void_p, ctypes.c_int64]
    rng = np.random.default_rng(0)
    for n in list(range(0, 300)) + [511, 512, 513, 1000, 1031]:
        a = np.ascontiguousarray(rng.normal(size=n) * 10.0 ** rng.uniform(-8, 8, n))
        s = f(a.ctypes.data, n)
        assert s == np.add.reduce(a), n
        assert n == 0 or s / n == np.mean(a), n


@pytest.mark.parametrize("T", [20])
def test_c_twin_sums_as_numpy(T):
    t = _cancelling_table(T, 16, T)
    for rule in (SyneTuneMedian(mode="min", grace_population=2),
                 RayMedian(grace_period=2, min_samples_required=1, mode="min")):
        res = check_c_twin(rule, t, goal="top1%", Ws=(1, 3), choosers=("random",),
                           repeats=3)
        assert sum(r.n_stopped.sum() for r in res) > 0


# ---- by name ---------------------------------------------------------------------------------

def test_by_name_in_simulate_and_monitor():
    t = awkward_max_table()
    a = lcore.simulate(t, rule="synetune-median", grace_population=3, repeats=3, seed=1,
                       progress=False, chooser="random")
    assert a.n_stopped.sum() > 0
    b = lcore.simulate(t, rule="ray-median", grace_period=2, min_samples_required=1,
                       repeats=3, seed=1, progress=False, chooser="random", n_workers=2)
    assert b.n_stopped.sum() > 0
    none = lcore.simulate(t, rule="ray-median", repeats=3, seed=1, progress=False,
                          chooser="random")    # Ray's default grace_period=60 > T
    assert none.n_stopped.sum() == 0
    m = Monitor("synetune-median", horizon=4, grace_population=2)
    assert m.report("a", 1, 0.8) is False
    assert m.report("b", 1, 0.5) is False
    assert m.report("c", 1, 0.4) is True
    m = Monitor("ray-median", horizon=4, grace_period=1, min_samples_required=1, mode="min")
    assert m.report("a", 1, 0.5) is False
    assert m.report("b", 1, 0.6) is True           # 0.5 < 0.6: worse than the median
    assert get_rule("ray-median", grace_period=3).grace_period == 3.0


# ---- bad parameters ----------------------------------------------------------------------------

@pytest.mark.parametrize("name,kw,match", [
    ("synetune-median", {"running_average": 1},
     r"rule 'synetune-median': running_average must be True or False, got 1"),
    ("synetune-median", {"grace_time": -1},
     r"rule 'synetune-median': grace_time must be an int >= 0 or None, got -1"),
    ("synetune-median", {"grace_time": 1.5},
     r"rule 'synetune-median': grace_time must be an int >= 0 or None, got 1.5"),
    ("synetune-median", {"grace_population": -2},
     r"rule 'synetune-median': grace_population must be an int >= 0 or None, got -2"),
    ("synetune-median", {"rank_cutoff": 1.5},
     r"rule 'synetune-median': rank_cutoff must be a real number in \[0, 1\], got 1.5"),
    ("synetune-median", {"rank_cutoff": -0.1},
     r"rule 'synetune-median': rank_cutoff must be a real number in \[0, 1\], got -0.1"),
    ("synetune-median", {"rank_cutoff": float("nan")},
     r"rule 'synetune-median': rank_cutoff must be a real number in \[0, 1\], got nan"),
    ("synetune-median", {"rank_cutoff": "x"},
     r"rule 'synetune-median': rank_cutoff must be a real number in \[0, 1\], got 'x'"),
    ("synetune-median", {"mode": "up"}, r"mode must be 'max' or 'min', got 'up'"),
    ("synetune-median", {"do_minimize": True},
     r"rule 'synetune-median' takes the parameters .*; got unknown do_minimize"),
    ("ray-median", {"grace_period": -1},
     r"rule 'ray-median': grace_period must be a finite real number >= 0, got -1"),
    ("ray-median", {"grace_period": float("inf")},
     r"rule 'ray-median': grace_period must be a finite real number >= 0, got inf"),
    ("ray-median", {"min_samples_required": 0},
     r"rule 'ray-median': min_samples_required must be an int >= 1, got 0"),
    ("ray-median", {"min_samples_required": 2.0},
     r"rule 'ray-median': min_samples_required must be an int >= 1, got 2.0"),
    ("ray-median", {"min_time_slice": -0.5},
     r"rule 'ray-median': min_time_slice must be a finite real number >= 0, got -0.5"),
    ("ray-median", {"hard_stop": False},
     r"rule 'ray-median': hard_stop must be True \(Ray's hard_stop=False pauses"),
    ("ray-median", {"hard_stop": "yes"},
     r"rule 'ray-median': hard_stop must be True or False, got 'yes'"),
    ("ray-median", {"mode": None}, r"mode must be 'max' or 'min', got None"),
    ("ray-median", {"time_attr": "time_total_s"},
     r"rule 'ray-median' takes the parameters .*; got unknown time_attr"),
])
def test_bad_parameters(name, kw, match):
    with pytest.raises((ValueError, TypeError), match=match):
        get_rule(name, **kw)


def test_mode_must_match_the_table():
    with pytest.raises(ValueError, match=r"has mode='max', but the table's mode is 'min'"):
        lcore.simulate(loss_table(), rule=RayMedian(grace_period=1), repeats=1,
                       progress=False, chooser="random")
    # by name, the rule takes the table's direction
    r = lcore.simulate(loss_table(), rule="ray-median", grace_period=1, repeats=2,
                       progress=False, chooser="random")
    assert r.n_stopped.sum() > 0
