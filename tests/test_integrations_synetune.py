"""LcoreScheduler in a real Syne Tune run: trials stopped by an lcore rule, decisions equal to
Monitor on the same reports. Needs syne-tune (the `synetune` extra; in the `test` extra)."""

import pytest

pytest.importorskip("syne_tune")

from syne_tune import StoppingCriterion, Tuner  # noqa: E402
from syne_tune.backend import PythonBackend  # noqa: E402
from syne_tune.config_space import uniform  # noqa: E402
from syne_tune.optimizer.schedulers.single_objective_scheduler import (  # noqa: E402
    SingleObjectiveScheduler,
)
from test_integrations_common import replay  # noqa: E402

from lcore.integrations.synetune import LcoreScheduler  # noqa: E402
from lcore.stopping import ETR2  # noqa: E402

T = 4


def _train(x, z, epochs):
    import time

    from syne_tune import Reporter

    report = Reporter()
    for e in range(1, epochs + 1):
        time.sleep(0.2)  # an epoch takes a while: the tuner sees each result before the next
        report(epoch=e, loss=1.0 - x * (1 - 0.5**e) - 0.05 * z * e)


def test_syne_tune_run_stops_trials_as_monitor_decides(tmp_path, monkeypatch):
    monkeypatch.setenv("SYNETUNE_FOLDER", str(tmp_path))
    monkeypatch.chdir(tmp_path)  # the Python backend writes std.out into the working dir
    cs = {"x": uniform(0, 1), "z": uniform(0, 1), "epochs": T}
    base = SingleObjectiveScheduler(cs, metric="loss", do_minimize=True, random_seed=0)
    # ETR-1 (min form): stop at epoch 1 if the loss is above r - eps = 0.8, i.e. x < ~0.4;
    # which trials it stops does not depend on the order in which they run
    sched = LcoreScheduler(base, "etr1", horizon=T, tau=1, r=0.85, eps=0.05)
    assert sched.metric == "loss" and sched.metric_mode() == "min"
    tuner = Tuner(trial_backend=PythonBackend(_train, cs), scheduler=sched, n_workers=2,
                  stop_criterion=StoppingCriterion(max_num_trials_finished=8), sleep_time=0.1,
                  results_update_interval=5, save_tuner=False, start_jobs_without_delay=True)
    tuner.run()
    decisions = [r[3] for r in sched.reports]
    assert decisions == replay(sched.reports, "etr1", T, "min", tau=1, r=0.85, eps=0.05)
    stopped = {tid: e for tid, e, _, stop in sched.reports if stop}
    # ETR-1 stops exactly the trials whose epoch-1 report the scheduler saw above 0.8 (on a
    # loaded machine a trial may finish before the tuner reads its results)
    assert set(stopped) == {tid for tid, e, v, _ in sched.reports if e == 1 and v > 0.8}
    assert sched.reports  # the scheduler heard results
    last = {}
    for tid, e, _, _ in sched.reports:
        last[tid] = e
    for tid, e in stopped.items():
        assert last[tid] == e < T  # Syne Tune stopped it at that result
    assert any(e == T for e in last.values())


def test_scheduler_errors():
    cs = {"x": uniform(0, 1)}
    base = SingleObjectiveScheduler(cs, metric="loss", do_minimize=True, random_seed=0)
    with pytest.raises(ValueError, match="horizon must be given"):
        LcoreScheduler(base, "median")
    with pytest.raises(ValueError, match="scheduler must be a Syne Tune scheduler"):
        LcoreScheduler("median", "median", horizon=3)
    with pytest.raises(ValueError, match="mode='min' differs from the rule's mode='max'"):
        LcoreScheduler(base, ETR2(p=0.5), horizon=3)
