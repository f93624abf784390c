# cython: language_level=3
"""Binding of csrc/lc_replay.c: run repeats of the replay loop for several rules.

No validation here: lcore.replay checked and converted every input.
"""
import numpy as np

from libc.stdint cimport int8_t, int32_t, int64_t, uint64_t
from libc.stdlib cimport free, malloc
from libc.string cimport memset

from lcore._core.lc_replay cimport (
    LC_CHOOSER_RFEI, LC_RULE_MEDIAN, lc_replay_opts, lc_replay_result, lc_replay_run, lc_replay_trace,
    lc_replay_workspace_bytes, lc_rule, lc_table,
)
from lcore._core.lc_rng cimport lc_rng, lc_rng_seed4


from lcore._core.lc_acq cimport lc_rfei_bytes, lc_rfei_ctx, lc_rfei_prepare
from lcore._core.lc_forest cimport lc_forest_params


RESULT_FIELDS = ("success", "time_to_goal", "n_evaluated", "n_stopped", "epochs_trained",
                 "n_harmful_stops", "best_acc")


def run_repeats(
    const float[:, ::1] acc,
    const float[:, ::1] time,
    const int32_t[::1] n_finished,
    const double[::1] objective,
    X,
    list rules,
    int chooser,
    dict forest,
    double xi,
    int64_t n_init,
    int64_t max_evals,
    double max_time,
    int terminated,
    double goal,
    bint count_chooser_time,
    const uint64_t[:, ::1] states,
    bint trace,
):
    """Run repeats (one per row of ``states``) for every rule of ``rules``.

    ``rules`` holds dicts with the lc_rule fields.  Returns ``(results, traces)``:
    results[field] is an array of shape (n_rules, n_repeats); traces is None or a list (per
    rule) of lists (per repeat) of dicts of arrays (row, epochs, stopped, reported, clock).
    """
    cdef int64_t n = acc.shape[0]
    cdef int32_t T = <int32_t>acc.shape[1]
    cdef Py_ssize_t R = states.shape[0]
    cdef Py_ssize_t n_rules = len(rules)
    cdef lc_table tab
    tab.acc = &acc[0, 0]
    tab.time = &time[0, 0]
    tab.n_finished = &n_finished[0]
    tab.objective = &objective[0]
    tab.n = n
    tab.T = T

    cdef lc_replay_opts opt
    opt.chooser = chooser
    opt.rfei_ctx = NULL
    opt.xi = xi
    opt.n_init = n_init
    opt.max_evals = max_evals
    opt.max_time = max_time
    opt.terminated = terminated
    opt.goal = goal
    opt.count_chooser_time = count_chooser_time

    cdef lc_rule *crules = <lc_rule *>malloc(sizeof(lc_rule) * max(n_rules, 1))
    if crules == NULL:
        raise MemoryError("could not allocate the rules")
    cdef Py_ssize_t k, i
    cdef int32_t with_median = 0
    for k in range(n_rules):
        rd = rules[k]
        memset(&crules[k], 0, sizeof(lc_rule))
        crules[k].kind = rd["kind"]
        crules[k].tau = rd.get("tau", 0)
        crules[k].r = rd.get("r", 0.0)
        crules[k].eps = rd.get("eps", 0.0)
        crules[k].p = rd.get("p", 0.0)
        crules[k].q = rd.get("q", 0.0)
        crules[k].min_completed = rd.get("min_completed", 1)
        crules[k].warmup = rd.get("warmup", 1)
        if crules[k].kind == LC_RULE_MEDIAN:
            with_median = 1

    cdef lc_rfei_ctx ctx
    cdef lc_forest_params fp
    cdef void *rfei_mem = NULL
    cdef const double[:, ::1] Xv
    cdef int vtotal = 0
    cdef int n_threads = 1
    if chooser == LC_CHOOSER_RFEI:
        Xv = X
        fp.n_trees = forest["n_trees"]
        fp.max_depth = forest["max_depth"]
        fp.min_samples_split = forest["min_samples_split"]
        fp.min_samples_leaf = forest["min_samples_leaf"]
        fp.max_features = forest["max_features"]
        fp.bootstrap = forest["bootstrap"]
        n_threads = int(forest.get("n_threads", 1))
        rfei_mem = malloc(lc_rfei_bytes(n, <int>Xv.shape[1], max_evals, &fp, 0, n_threads) + 64)
        if rfei_mem == NULL:
            free(crules)
            raise MemoryError("could not allocate the rf-ei chooser's workspace")
        vtotal = int(forest["variance_total"])
        with nogil:
            lc_rfei_prepare(&ctx, rfei_mem, &Xv[0, 0], n, <int>Xv.shape[1], max_evals, &fp,
                            vtotal, 0, n_threads)
        opt.rfei_ctx = &ctx

    cdef void *work = malloc(lc_replay_workspace_bytes(n, T, max_evals, with_median) + 64)
    if work == NULL:
        free(crules)
        free(rfei_mem)
        raise MemoryError("could not allocate the replay workspace")

    out = {f: np.empty((n_rules, R), dtype=np.float64) for f in RESULT_FIELDS}
    cdef double[:, ::1] o_succ = out["success"], o_ttg = out["time_to_goal"]
    cdef double[:, ::1] o_neval = out["n_evaluated"], o_nstop = out["n_stopped"]
    cdef double[:, ::1] o_ep = out["epochs_trained"], o_harm = out["n_harmful_stops"]
    cdef double[:, ::1] o_best = out["best_acc"]

    cdef lc_replay_trace tr
    cdef lc_replay_trace *trp = NULL
    cdef int64_t[::1] t_row
    cdef int32_t[::1] t_ep
    cdef int8_t[::1] t_stop
    cdef double[::1] t_rep, t_clock
    traces = None
    if trace:
        traces = [[] for _ in range(n_rules)]
        t_row = np.empty(max_evals, dtype=np.int64)
        t_ep = np.empty(max_evals, dtype=np.int32)
        t_stop = np.empty(max_evals, dtype=np.int8)
        t_rep = np.empty(max_evals, dtype=np.float64)
        t_clock = np.empty(max_evals, dtype=np.float64)
        tr.row = &t_row[0]
        tr.epochs = &t_ep[0]
        tr.stopped = &t_stop[0]
        tr.reported = &t_rep[0]
        tr.clock = &t_clock[0]
        trp = &tr

    cdef lc_rng rng
    cdef lc_replay_result res
    try:
        for i in range(R):
            for k in range(n_rules):
                with nogil:
                    lc_rng_seed4(&rng, &states[i, 0])
                    lc_replay_run(&tab, &crules[k], &opt, &rng, work, &res, trp)
                o_succ[k, i] = res.success
                o_ttg[k, i] = res.time_to_goal
                o_neval[k, i] = res.n_evaluated
                o_nstop[k, i] = res.n_stopped
                o_ep[k, i] = res.epochs_trained
                o_harm[k, i] = res.n_harmful_stops
                o_best[k, i] = res.best_acc
                if trace:
                    m = res.n_evaluated
                    traces[k].append({
                        "row": np.asarray(t_row[:m]).copy(),
                        "epochs": np.asarray(t_ep[:m]).copy(),
                        "stopped": np.asarray(t_stop[:m]).astype(bool),
                        "reported": np.asarray(t_rep[:m]).copy(),
                        "clock": np.asarray(t_clock[:m]).copy(),
                    })
    finally:
        free(work)
        free(crules)
        free(rfei_mem)
    return out, traces
