# cython: language_level=3
"""Binding of csrc/lc_replay.c: the one replay loop, with its rules and choosers.

Built-in rules and choosers are C; a rule or chooser written in Python is called from the
same C loop through the adapters below (they take the GIL, hand the rule the trial's curve
and a :class:`lcore.stopping.History` whose trial arrays are views of the loop's own
buffers, and hand a chooser the repeat's generator as a :class:`lcore._rng.PyRng`); a
compiled C function (e.g. a ``numba.cfunc``) goes into the rule slot directly and runs
without the GIL.  No validation here: lcore.replay checked and converted every input.
"""
import copy

import numpy as np

from libc.stdint cimport int8_t, int32_t, int64_t, uint8_t, uint64_t, uintptr_t
from libc.stdlib cimport free, malloc
from libc.string cimport memset

from lcore._core.lc_replay cimport (
    lc_rule_kind, lc_rule_kind_at, lc_rule_kind_count, lc_rule_kind_find,
    LC_CHOOSE_RANDOM, LC_ERR_CHOOSER, LC_ERR_RULE, LC_RULE_NONE, LC_TRIAL_COMPLETED,
    LC_TRIAL_RUNNING, lc_builtin_rule, lc_builtin_rule_bytes, lc_builtin_rule_init,
    lc_builtin_rule_ops, lc_builtin_rule_called_ops, lc_never_rule_ops, lc_cfunc_rule,
    lc_cfunc_rule_ops, lc_choice_view, lc_chooser,
    lc_chooser_ops, lc_history, lc_random_chooser_ops, lc_replay_opts, lc_replay_result,
    lc_replay_run, lc_replay_trace, lc_replay_workspace_bytes, lc_rfei_chooser,
    lc_rfei_chooser_ops, lc_rule, lc_rule_cfunc, lc_rule_ops, lc_table,
)
from lcore._core.lc_rng cimport lc_rng, lc_rng_seed4

from lcore._core.lc_acq cimport lc_rfei_bytes, lc_rfei_ctx, lc_rfei_prepare
from lcore._core.lc_forest cimport lc_forest_params

RESULT_FIELDS = ("success", "time_to_goal", "n_evaluated", "n_stopped", "epochs_trained",
                 "n_harmful_stops", "best_acc")
TRACE_FIELDS = ("row", "worker", "start", "end", "epochs", "stopped", "reported")


class _BadAnswer(Exception):
    pass


# ---- Python rules ---------------------------------------------------------------------------
cdef class _PyRule:
    """A Python rule (``should_stop(curve, history)``) in the C loop's rule slot."""
    cdef object template, rule, label, history, curves, n_obs, states, exc
    cdef int32_t T, mode
    cdef int64_t where_trial
    cdef int32_t where_t

    def __init__(self, rule, label, curves, n_obs, states, int32_t T, int32_t mode):
        self.template = rule
        self.label = label
        self.curves = curves
        self.n_obs = n_obs
        self.states = states
        self.T = T
        self.mode = mode
        self.exc = None


cdef int _py_rule_reset(void *self, const lc_history *h) noexcept with gil:
    cdef _PyRule a = <_PyRule>self
    try:
        from lcore.stopping.base import History

        # a fresh copy per (rule, repeat), as for choosers: nothing leaks between repeats
        a.rule = copy.deepcopy(a.template)
        a.history = History(horizon=a.T, mode="max" if a.mode > 0 else "min")
        a.history._attach_trials(a.curves, a.n_obs, a.states)
        return 0
    except BaseException as exc:
        a.exc = exc
        a.where_trial = -1
        return LC_ERR_RULE


cdef int _py_rule_decide(void *self, const lc_history *h, int64_t trial, int32_t t,
                         int32_t *stop) noexcept with gil:
    cdef _PyRule a = <_PyRule>self
    try:
        a.history._n_trials = h.n_trials
        a.history._current = trial
        ans = a.rule.should_stop(a.curves[trial, :t].copy(), a.history)
        if ans is True or ans is False or isinstance(ans, np.bool_):
            stop[0] = 1 if ans else 0
            return 0
        raise _BadAnswer(f"should_stop returned {ans!r}; it must return True or False")
    except BaseException as exc:
        a.exc = exc
        a.where_trial = trial
        a.where_t = t
        return LC_ERR_RULE


cdef int _py_rule_on_end(void *self, const lc_history *h, int64_t trial) noexcept with gil:
    cdef _PyRule a = <_PyRule>self
    cdef int32_t k = h.n_obs[trial]
    try:
        a.history._n_trials = h.n_trials
        a.history._current = -1
        if h.state[trial] == LC_TRIAL_COMPLETED:
            a.history.append(a.curves[trial])
        elif k > 0:
            a.history.observe(a.curves[trial, k - 1])
        return 0
    except BaseException as exc:
        a.exc = exc
        a.where_trial = trial
        a.where_t = k
        return LC_ERR_RULE


cdef lc_rule_ops _py_rule_ops
_py_rule_ops.reset = _py_rule_reset
_py_rule_ops.decide = _py_rule_decide
_py_rule_ops.on_end = _py_rule_on_end


# ---- Python choosers ------------------------------------------------------------------------
cdef class _PyChooser:
    """A Python chooser (``choose(X_seen, y_seen, candidates_mask, rng) -> row``)."""
    cdef object template, obj, label, X, exc, rows, states
    cdef object bad_row

    def __init__(self, template, label, X, rows, states):
        self.template = template
        self.label = label
        self.X = X
        self.rows = rows
        self.states = states
        self.exc = None
        self.bad_row = None


cdef int _py_chooser_reset(void *self) noexcept with gil:
    cdef _PyChooser a = <_PyChooser>self
    try:
        # a fresh chooser per (rule, repeat): state cannot leak from one repeat to the next
        # (results must not depend on n_jobs or chunking)
        a.obj = copy.deepcopy(a.template)
        prepare = getattr(a.obj, "prepare", None)
        if callable(prepare):
            prepare(a.X)
        return 0
    except BaseException as exc:
        a.exc = exc
        return LC_ERR_CHOOSER


cdef int _py_chooser_choose(void *self, const lc_choice_view *v, lc_rng *rng,
                            int64_t *row) noexcept with gil:
    cdef _PyChooser a = <_PyChooser>self
    cdef int64_t k, n = v.n
    from lcore._rng import PyRng
    from lcore.choosers import FunctionChooser

    try:
        if v.n_seen:
            seen = np.asarray(<int64_t[:v.n_seen]><int64_t *>v.seen_rows).copy()
            y = np.asarray(<double[:v.n_seen]><double *>v.y_seen).copy()
        else:
            seen = np.empty(0, dtype=np.int64)
            y = np.empty(0, dtype=np.float64)
        mask = np.asarray(<uint8_t[:n]><uint8_t *>v.active).astype(bool)
        X_seen = None if a.X is None else a.X[seen]
        state = np.array([rng.s[0], rng.s[1], rng.s[2], rng.s[3]], dtype=np.uint64)
        prng = PyRng(state)
        # a plain function is called as it is: the check below is the one check of its row
        fn = a.obj.fn if type(a.obj) is FunctionChooser else a.obj.choose
        ans = fn(X_seen, y, mask, prng)
        for k in range(4):
            rng.s[k] = <uint64_t>prng.s[k]
        if (isinstance(ans, (bool, np.bool_)) or not isinstance(ans, (int, np.integer))
                or not 0 <= ans < n or not v.active[ans]):
            a.bad_row = ans
            raise _BadAnswer(_bad_row_text(ans, n, a.rows, a.states, v.hist.n_trials))
        row[0] = int(ans)
        return 0
    except BaseException as exc:
        a.exc = exc
        return LC_ERR_CHOOSER


def _bad_row_text(ans, n, rows, states, n_trials):
    why = f"not a row index in [0, {n - 1}]"
    if isinstance(ans, (int, np.integer)) and not isinstance(ans, (bool, np.bool_)) and (
            0 <= ans < n):
        started = np.flatnonzero(rows[:n_trials] == ans)
        running = started.size and states[started[0]] == LC_TRIAL_RUNNING
        why = "being trained (running)" if running else "evaluated already"
    return (f"returned row {ans!r}, which is {why}; choose returns a row with "
            "candidates_mask[row] True")


cdef lc_chooser_ops _py_chooser_ops
_py_chooser_ops.reset = _py_chooser_reset
_py_chooser_ops.choose = _py_chooser_choose


# ---- the loop over repeats and rules --------------------------------------------------------
cdef class _CMem:
    """A 64-byte aligned, zeroed block of C memory, freed with the object."""
    cdef void *raw
    cdef void *ptr

    def __cinit__(self, size_t nbytes):
        self.raw = malloc(nbytes + 64)
        if self.raw == NULL:
            raise MemoryError(f"could not allocate {nbytes} bytes for a rule's state")
        self.ptr = <void *>((<uintptr_t>self.raw + 63) & ~(<uintptr_t>63))
        memset(self.ptr, 0, nbytes)

    def __dealloc__(self):
        free(self.raw)


def _needs_all_curves(tuple spec):
    """Whether rule ``spec`` reads the curves of other running trials (the loop then keeps a
    curve row per trial)."""
    cdef const lc_rule_kind *kd
    if spec[0] in ("python", "cfunc"):
        return True
    if spec[0] == "crule":
        name, par, inner = spec[1]
        kd = lc_rule_kind_find(name.encode())
        return bool(kd == NULL or kd.needs_all_curves) or (
            inner is not None and _needs_all_curves(inner))
    return False


def c_rule_kinds():
    """The names of the rules written in C (csrc/lc_rules.c's registry), with their number of
    parameters and flags: {name: (n_params, needs_all_curves, needs_inner)}."""
    cdef const lc_rule_kind *kd
    out = {}
    for i in range(lc_rule_kind_count()):
        kd = lc_rule_kind_at(i)
        out[kd.name.decode()] = (kd.n_params, kd.needs_all_curves, kd.needs_inner)
    return out


cdef int _build_c_rule(tuple spec, int32_t T, int64_t cap, int32_t mode, lc_rule *out,
                       list keep) except -1:
    """Build the C rule ``spec`` ("builtin", "cfunc" or "crule") into ``out``; its memory goes
    to ``keep``."""
    cdef _CMem m, m2
    cdef lc_builtin_rule *bi
    cdef lc_cfunc_rule *cf
    cdef const lc_rule_kind *kd
    cdef lc_rule inner_rule
    cdef const lc_rule *inner_ptr = NULL
    cdef double[::1] pv
    cdef uintptr_t addr
    kind, body, label = spec
    if kind == "builtin":
        m = _CMem(sizeof(lc_builtin_rule))
        bi = <lc_builtin_rule *>m.ptr
        bi.kind = body["kind"]
        bi.mode = body["mode"]
        bi.tau = body.get("tau", 0)
        bi.threshold = body.get("threshold", 0.0)
        bi.p = body.get("p", 0.0)
        bi.q = body.get("q", 0.0)
        bi.min_completed = body.get("min_completed", 1)
        bi.warmup = body.get("warmup", 1)
        m2 = _CMem(lc_builtin_rule_bytes(bi.kind, T, cap))
        lc_builtin_rule_init(bi, m2.ptr, T, cap)
        keep.extend((m, m2))
        if bi.kind == LC_RULE_NONE:
            out.ops = &lc_never_rule_ops
        elif body.get("called", False):  # through the rule interface, not inlined
            out.ops = &lc_builtin_rule_called_ops
        else:
            out.ops = &lc_builtin_rule_ops
        out.self = bi
        return 0
    if kind == "cfunc":
        m = _CMem(sizeof(lc_cfunc_rule))
        cf = <lc_cfunc_rule *>m.ptr
        addr = body
        cf.fn = <lc_rule_cfunc>addr
        keep.append(m)
        out.ops = &lc_cfunc_rule_ops
        out.self = cf
        return 0
    if kind != "crule":
        raise ValueError(f"rule {label}: no C implementation ({kind!r})")
    name, par, inner = body
    kd = lc_rule_kind_find(name.encode())
    if kd == NULL:
        raise ValueError(f"rule {label}: no C rule named {name!r} in this build")
    params = np.ascontiguousarray(par, dtype=np.float64)
    if params.shape[0] != kd.n_params:
        raise ValueError(f"rule {label}: the C rule {name!r} takes {kd.n_params} parameters, "
                         f"got {params.shape[0]}")
    if (inner is not None) != bool(kd.needs_inner):
        raise ValueError(f"rule {label}: the C rule {name!r} "
                         + ("wraps a rule" if kd.needs_inner else "wraps no rule"))
    if inner is not None:
        _build_c_rule(inner, T, cap, mode, &inner_rule, keep)
        inner_ptr = &inner_rule
    keep.append(params)
    pv = params if params.shape[0] else np.zeros(1)
    m = _CMem(kd.bytes(&pv[0], T, cap))
    if kd.init(m.ptr, &pv[0], T, cap, mode, inner_ptr) != 0:
        raise ValueError(f"rule {label}: the C rule {name!r} refused its parameters "
                         f"{list(par)!r}")
    keep.append(m)
    out.ops = kd.ops
    out.self = m.ptr
    return 0


def run_repeats(
    const float[:, ::1] acc,
    const float[:, ::1] time,
    const int32_t[::1] n_finished,
    const double[::1] objective,
    X,
    list rules,
    tuple chooser,
    dict opts,
    const uint64_t[:, ::1] states,
    bint trace,
    int64_t first_repeat=0,
    on_repeat=None,
):
    """Run repeats (one per row of ``states``) for every rule of ``rules``.

    ``rules`` holds ``("builtin", fields, label)`` (the lc_builtin_rule fields as a dict;
    ``fields["called"]`` true: called through the rule interface instead of inlined),
    ``("cfunc", address, label)``, ``("crule", (name, params, inner), label)`` (a rule of
    csrc/lc_rules.c's registry: its float64 parameter vector and the spec of the rule it wraps,
    or None) or ``("python", rule, label)``; ``chooser`` is
    ``("random",)``, ``("rf-ei", forest_fields)`` or ``("python", chooser, label)``;
    ``opts`` the lc_replay_opts fields.  Returns ``(results, traces)``: results[field] of
    shape (n_rules, n_repeats); traces None or per rule a list (per repeat) of dicts of
    arrays (TRACE_FIELDS plus "clock" = "end").  results["n_settled"]: the trials each run
    accounted for by settling (lc_replay.h) instead of choosing them.
    """
    cdef int64_t n = acc.shape[0]
    cdef int32_t T = <int32_t>acc.shape[1]
    cdef Py_ssize_t R = states.shape[0]
    cdef Py_ssize_t n_rules = len(rules)
    cdef int64_t cap = opts["max_evals"]
    cdef lc_table tab
    tab.acc = &acc[0, 0]
    tab.time = &time[0, 0]
    tab.n_finished = &n_finished[0]
    tab.objective = &objective[0]
    tab.n = n
    tab.T = T

    cdef lc_replay_opts opt
    opt.n_init = opts["n_init"]
    opt.max_evals = cap
    opt.max_time = opts["max_time"]
    opt.terminated = opts["terminated"]
    opt.mode = opts["mode"]
    opt.goal = opts["goal"]
    opt.n_workers = opts["n_workers"]
    opt.count_chooser_time = opts["count_chooser_time"]
    opt.settle = opts.get("settle", 1)
    # rules other than the built-ins read every trial's curve: NaN where not observed
    opt.fill_unobserved = (any(_needs_all_curves(r) for r in rules)
                           or chooser[0] == "python")

    # the trials of the running repeat: numpy buffers, so that Python rules see views of them
    h_curves = np.empty((cap, T), dtype=np.float64)
    h_nobs = np.zeros(cap, dtype=np.int32)
    h_state = np.zeros(cap, dtype=np.int8)
    h_row = np.zeros(cap, dtype=np.int64)
    h_best = np.empty(cap, dtype=np.float64)
    h_slot = np.zeros(cap, dtype=np.int64)
    cdef int64_t[::1] hsl = h_slot
    cdef double[:, ::1] hc = h_curves
    cdef int32_t[::1] hn = h_nobs
    cdef int8_t[::1] hs = h_state
    cdef int64_t[::1] hr = h_row
    cdef double[::1] hb = h_best
    cdef lc_history hist
    hist.curves = &hc[0, 0]
    hist.slot = &hsl[0]
    hist.n_obs = &hn[0]
    hist.state = &hs[0]
    hist.row = &hr[0]
    hist.best = &hb[0]

    cdef lc_rule *crules = <lc_rule *>malloc(sizeof(lc_rule) * n_rules)
    cdef void *work = malloc(lc_replay_workspace_bytes(n, cap, opt.n_workers) + 64)
    cdef void *rfei_mem = NULL
    cdef lc_rfei_ctx ctx
    cdef lc_rfei_chooser rfei
    cdef lc_forest_params fp
    cdef lc_chooser ch
    cdef const double[:, ::1] Xv
    cdef Py_ssize_t k, i
    cdef int vtotal = 0, n_threads = 1
    if crules == NULL or work == NULL:
        free(crules); free(work)
        raise MemoryError("could not allocate the replay workspace")
    adapters = [None] * n_rules
    keep = []          # the C rules' state blocks, freed when the run ends
    try:
        for k in range(n_rules):
            kind, spec, label = rules[k]
            if kind == "python":
                adapters[k] = _PyRule(spec, label, h_curves, h_nobs, h_state, T, opt.mode)
                crules[k].ops = &_py_rule_ops
                crules[k].self = <void *>adapters[k]
            else:
                _build_c_rule(rules[k], T, cap, opt.mode, &crules[k], keep)

        chooser_adapter = None
        if chooser[0] == "random":
            ch.ops = &lc_random_chooser_ops
            ch.self = NULL
        elif chooser[0] == "rf-ei":
            forest = chooser[1]
            Xv = X
            fp.n_trees = forest["n_trees"]
            fp.max_depth = forest["max_depth"]
            fp.min_samples_split = forest["min_samples_split"]
            fp.min_samples_leaf = forest["min_samples_leaf"]
            fp.max_features = forest["max_features"]
            fp.bootstrap = forest["bootstrap"]
            n_threads = int(forest.get("n_threads", 1))
            rfei_mem = malloc(lc_rfei_bytes(n, <int>Xv.shape[1], cap, &fp, 0, n_threads) + 64)
            if rfei_mem == NULL:
                raise MemoryError("could not allocate the rf-ei chooser's workspace")
            vtotal = int(forest["variance_total"])
            with nogil:
                lc_rfei_prepare(&ctx, rfei_mem, &Xv[0, 0], n, <int>Xv.shape[1], cap, &fp,
                                vtotal, 0, n_threads)
            rfei.ctx = &ctx
            rfei.xi = forest["xi"]
            ch.ops = &lc_rfei_chooser_ops
            ch.self = &rfei
        else:
            chooser_adapter = _PyChooser(chooser[1], chooser[2], X, h_row, h_state)
            ch.ops = &_py_chooser_ops
            ch.self = <void *>chooser_adapter

        out = {f: np.empty((n_rules, R), dtype=np.float64) for f in RESULT_FIELDS}
        out["n_settled"] = np.empty((n_rules, R), dtype=np.float64)
        traces = [[] for _ in range(n_rules)] if trace else None
        return _loop(&tab, crules, &ch, &opt, states, &hist, work, out, traces, adapters,
                     chooser_adapter, rules, first_repeat, on_repeat, cap)
    finally:
        keep.clear()
        free(crules)
        free(work)
        free(rfei_mem)


cdef _loop(const lc_table *tab, lc_rule *crules, lc_chooser *ch, const lc_replay_opts *opt,
           const uint64_t[:, ::1] states, lc_history *hist, void *work, dict out, traces,
           list adapters, chooser_adapter, list rules, int64_t first_repeat, on_repeat,
           int64_t cap):
    cdef Py_ssize_t R = states.shape[0], n_rules = len(rules), k, i
    cdef lc_rng rng
    cdef lc_replay_result res
    cdef lc_replay_trace tr
    cdef lc_replay_trace *trp = NULL
    cdef int rc
    cdef double[:, ::1] o_succ = out["success"], o_ttg = out["time_to_goal"]
    cdef double[:, ::1] o_neval = out["n_evaluated"], o_nstop = out["n_stopped"]
    cdef double[:, ::1] o_ep = out["epochs_trained"], o_harm = out["n_harmful_stops"]
    cdef double[:, ::1] o_best = out["best_acc"], o_settled = out["n_settled"]
    cdef int64_t[::1] t_row
    cdef int32_t[::1] t_worker, t_ep
    cdef double[::1] t_start, t_end, t_rep
    cdef int8_t[::1] t_stop
    if traces is not None:
        bufs = {"row": np.empty(cap, np.int64), "worker": np.empty(cap, np.int32),
                "start": np.empty(cap), "end": np.empty(cap), "epochs": np.empty(cap, np.int32),
                "stopped": np.empty(cap, np.int8), "reported": np.empty(cap)}
        t_row = bufs["row"]
        t_worker = bufs["worker"]
        t_start = bufs["start"]
        t_end = bufs["end"]
        t_ep = bufs["epochs"]
        t_stop = bufs["stopped"]
        t_rep = bufs["reported"]
        tr.row = &t_row[0]
        tr.worker = &t_worker[0]
        tr.start = &t_start[0]
        tr.end = &t_end[0]
        tr.epochs = &t_ep[0]
        tr.stopped = &t_stop[0]
        tr.reported = &t_rep[0]
        trp = &tr
    for i in range(R):
        for k in range(n_rules):
            with nogil:
                lc_rng_seed4(&rng, &states[i, 0])
                rc = lc_replay_run(tab, &crules[k], ch, opt, &rng, hist, work, &res, trp)
            if rc != 0:
                _raise(rc, rules[k], adapters[k], chooser_adapter, first_repeat + i, hist)
            o_succ[k, i] = res.success
            o_ttg[k, i] = res.time_to_goal
            o_neval[k, i] = res.n_evaluated
            o_nstop[k, i] = res.n_stopped
            o_ep[k, i] = res.epochs_trained
            o_harm[k, i] = res.n_harmful_stops
            o_best[k, i] = res.best_acc
            o_settled[k, i] = res.n_settled
            if traces is not None:
                m = res.n_started
                d = {f: bufs[f][:m].copy() for f in TRACE_FIELDS}
                d["stopped"] = d["stopped"].astype(bool)
                d["clock"] = d["end"]
                traces[k].append(d)
        if on_repeat is not None:
            on_repeat()
    return out, traces


cdef _raise(int rc, tuple rule, adapter, chooser_adapter, int64_t repeat, lc_history *hist):
    if rc == LC_ERR_CHOOSER and chooser_adapter is not None:
        a = <_PyChooser>chooser_adapter
        exc = a.exc
        who = f"chooser {a.label} (repeat {repeat}, choice {hist.n_trials + 1})"
        if isinstance(exc, _BadAnswer):
            raise ValueError(f"{who} {exc}") from None
        if isinstance(exc, (KeyboardInterrupt, SystemExit, MemoryError)):
            raise exc
        raise RuntimeError(f"{who} raised {type(exc).__name__}: {exc}") from exc
    if rule[0] == "python" and adapter is not None:
        r = <_PyRule>adapter
        exc = r.exc
        if r.where_trial >= 0:
            row = int(hist.row[r.where_trial])
            who = f"rule {r.label} (repeat {repeat}, row {row}, epoch {r.where_t})"
        else:
            who = f"rule {r.label} (repeat {repeat})"
        if isinstance(exc, _BadAnswer):
            raise TypeError(f"{who}: {exc}") from None
        if isinstance(exc, (KeyboardInterrupt, SystemExit, MemoryError)):
            raise exc
        raise RuntimeError(f"{who} raised {type(exc).__name__}: {exc}") from exc
    raise RuntimeError(
        f"compiled rule {rule[2]} (repeat {repeat}) returned a value other than 0 (continue) "
        "or 1 (stop)"
    )
