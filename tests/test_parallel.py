"""Repeats on any joblib backend: same bits as n_jobs=1, n_jobs=None follows the context,
progress per repeat (lcore._parallel)."""

import io
import os

import numpy as np
import pytest
from joblib import parallel_config

import lcore
from lcore._parallel import n_workers, plan_chunks, run_chunks
from lcore.results import FIELDS
from lcore.table import synthetic


def _table():
    return synthetic("mnist_lenet5", n=400, epochs=6, seed=0)


def _runs():
    """(kwargs, label): the random chooser in C and a small rf-ei case."""
    return [
        (dict(rule=["none", "etr1", "median"], tau=1, repeats=8, seed=11,
              chooser="random"), "random"),
        (dict(rule=["none", "etr2"], p=0.5, repeats=4, seed=5, max_evals=40,
              chooser_params={"n_trees": 6}), "rf-ei"),
    ]


def _same(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        for f in FIELDS:
            np.testing.assert_array_equal(getattr(x, f), getattr(y, f), err_msg=f)


def _baseline(table):
    return {label: lcore.simulate(table, n_jobs=1, progress=False, **kw)
            for kw, label in _runs()}


def _check_backend(table, base, n_jobs):
    for kw, label in _runs():
        got = lcore.simulate(table, n_jobs=n_jobs, progress=False, **kw)
        _same(base[label], got)


# ---- plan_chunks / run_chunks ---------------------------------------------------------------

def test_plan_chunks_cover_the_repeats():
    assert plan_chunks(0, 4) == []
    assert plan_chunks(5, 2) == [(i, i + 1) for i in range(5)]
    assert plan_chunks(10, 3, cheap=True) == [(0, 3), (3, 7), (7, 10)]
    assert plan_chunks(2, 8, cheap=True) == [(0, 1), (1, 2)]


def test_run_chunks_in_order_with_progress_per_task():
    seen = []
    out = run_chunks(lambda lo, hi: list(range(lo, hi)), [(0, 1), (1, 2), (2, 5)], n_jobs=1,
                     progress=lambda done, total: seen.append((done, total)))
    assert out == [[0], [1], [2, 3, 4]]
    # never ahead of the work: the smallest chunks first (1, 1, then 3)
    assert seen == [(1, 5), (2, 5), (5, 5)]


def test_progress_per_repeat_for_a_simulation(monkeypatch):
    import lcore._parallel as par

    seen = []
    real = par.run_chunks

    def spy(task, chunks, n_jobs=1, progress=True, desc="", total=None, **k):
        assert progress is True and desc == "simulate" and total == 5
        return real(task, chunks, n_jobs, lambda d, t: seen.append((d, t)), desc, total, **k)

    monkeypatch.setattr(par, "run_chunks", spy)
    lcore.simulate(_table(), rule="etr1", tau=1, repeats=5, seed=1, max_evals=30,
                   chooser_params={"n_trees": 4}, progress=True)
    assert seen == [(i, 5) for i in range(1, 6)]  # rf-ei: one update per repeat


def test_bar_shows_rate_eta_and_final_state_and_is_quiet_off_a_terminal():
    class Tty(io.StringIO):
        def isatty(self):
            return True

    tty, pipe = Tty(), io.StringIO()
    run_chunks(lambda lo, hi: lo, [(i, i + 1) for i in range(4)], progress=True,
               desc="simulate", file=tty)
    run_chunks(lambda lo, hi: lo, [(i, i + 1) for i in range(4)], progress=True, file=pipe)
    text = tty.getvalue()
    assert "simulate" in text and "4/4" in text and "repeat" in text
    assert "<" in text  # tqdm's "elapsed<remaining" ETA field
    assert pipe.getvalue() == ""
    run_chunks(lambda lo, hi: lo, [(0, 2)], progress="always", file=pipe)
    assert "2/2" in pipe.getvalue()


def test_a_failing_task_leaves_the_bar_at_what_was_done():
    seen = []

    def task(lo, hi):
        if lo == 2:
            raise RuntimeError("boom")
        return lo

    with pytest.raises(RuntimeError, match="boom"):
        run_chunks(task, [(i, i + 1) for i in range(4)], progress=lambda d, t: seen.append(d))
    assert seen == [1, 2]


def test_run_chunks_errors():
    with pytest.raises(ValueError, match=r"chunks must be \(lo, hi\) with 0 <= lo < hi, got"):
        run_chunks(lambda lo, hi: 0, [(3, 3)], progress=False)
    with pytest.raises(ValueError, match="progress must be True, False, 'always' or a callable"):
        run_chunks(lambda lo, hi: 0, [(0, 1)], progress="yes")


# ---- backends ------------------------------------------------------------------------------

def test_none_follows_parallel_config_and_outside_it_runs_here():
    assert n_workers(None) == 1
    pids = run_chunks(lambda lo, hi: os.getpid(), [(0, 1), (1, 2)], n_jobs=None,
                      progress=False)
    assert pids == [os.getpid()] * 2
    with parallel_config("loky", n_jobs=2):
        assert n_workers(None) == 2
        pids = run_chunks(lambda lo, hi: os.getpid(), [(i, i + 1) for i in range(6)],
                          n_jobs=None, progress=False)
    assert os.getpid() not in pids


@pytest.mark.parametrize("backend", ["loky", "threading", "multiprocessing"])
def test_local_backends_equal_one_job(backend):
    table = _table()
    base = _baseline(table)
    with parallel_config(backend):
        _check_backend(table, base, 2)
        seen = []
        run_chunks(lambda lo, hi: lo, [(i, i + 1) for i in range(5)], n_jobs=2,
                   progress=lambda d, t: seen.append((d, t)))
        assert seen == [(i, 5) for i in range(1, 6)]
    with parallel_config(backend, n_jobs=2):
        _check_backend(table, base, None)


def test_dask_local_cluster_equals_one_job():
    distributed = pytest.importorskip("distributed")
    table = _table()
    base = _baseline(table)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        with distributed.Client(cluster) as client:
            with parallel_config("dask"):
                assert n_workers(None) == 2
                _check_backend(table, base, None)  # n_jobs=None: the cluster
                _check_backend(table, base, -1)
                seen = []
                pids = run_chunks(lambda lo, hi: os.getpid(), [(i, i + 1) for i in range(6)],
                                  n_jobs=None, progress=lambda d, t: seen.append(d))
            workers = client.run(os.getpid)
    assert seen == list(range(1, 7))  # one update per finished repeat, from dask's callbacks
    assert set(pids) <= set(workers.values()) and os.getpid() not in pids


def test_ray_local_equals_one_job():
    ray = pytest.importorskip("ray")
    from ray.util.joblib import register_ray

    table = _table()
    base = _baseline(table)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             configure_logging=False)
    try:
        register_ray()
        with parallel_config("ray", n_jobs=2):
            _check_backend(table, base, None)
            pids = run_chunks(lambda lo, hi: os.getpid(), [(0, 1), (1, 2)], n_jobs=None,
                              progress=False)
    finally:
        ray.shutdown()
    assert os.getpid() not in pids
