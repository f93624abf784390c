"""LcoreTuneScheduler in a real Ray Tune run: trials stopped by an lcore rule, decisions equal
to Monitor on the same reports. Needs ray[tune] (the `ray` extra; in the `test` extra)."""

import pytest

ray = pytest.importorskip("ray")
tune = pytest.importorskip("ray.tune")

from test_integrations_common import replay  # noqa: E402

from lcore.integrations.ray import LcoreTuneScheduler  # noqa: E402
from lcore.stopping import MedianRule  # noqa: E402

T = 5


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()


def test_ray_tune_run_stops_trials_as_monitor_decides(local_ray, tmp_path):
    def _train(config):  # local: pickled by value for the workers
        x, z = config["x"], config["z"]
        for e in range(1, T + 2):  # one result past the horizon: never stopped there
            tune.report({"acc": float(x * (1 - 0.5**e) + 0.05 * z * e)})

    sched = LcoreTuneScheduler("median", horizon=T)
    tuner = tune.Tuner(
        _train,
        param_space={"x": tune.uniform(0, 1), "z": tune.uniform(0, 1)},
        tune_config=tune.TuneConfig(
            metric="acc", mode="max", num_samples=8, scheduler=sched,
            max_concurrent_trials=2,
            search_alg=tune.search.BasicVariantGenerator(random_state=0),
        ),
        run_config=tune.RunConfig(storage_path=str(tmp_path), verbose=0),
    )
    grid = tuner.fit()
    assert not grid.errors
    decisions = [r[3] for r in sched.reports]
    assert decisions == replay(sched.reports, "median", T, "max")
    stopped = {tid: e for tid, e, _, stop in sched.reports if stop}
    assert stopped and len(stopped) < 8
    last = {}
    for tid, e, _, _ in sched.reports:
        last[tid] = e
    for tid, e in stopped.items():
        assert last[tid] == e < T  # Ray stopped it at that result
    iterations = sorted(r.metrics["training_iteration"] for r in grid)
    assert iterations.count(T + 1) == 8 - len(stopped)
    assert sched.monitor.n_completed == 8 - len(stopped)


def test_scheduler_errors():
    with pytest.raises(ValueError, match="horizon must be given"):
        LcoreTuneScheduler("median")
    sched = LcoreTuneScheduler(MedianRule(), horizon=3)
    with pytest.raises(ValueError, match="the rule's mode='max' does not match the tuner's"):
        sched.set_search_properties("acc", "min")
    sched = LcoreTuneScheduler("median", horizon=3, metric="acc", mode="max")
    assert not sched.set_search_properties("loss", None)
    assert sched.set_search_properties("acc", "max")
