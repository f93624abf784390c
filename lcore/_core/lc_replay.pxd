from libc.stdint cimport int8_t, int32_t, int64_t, uint8_t, uint64_t

from lcore._core.lc_rng cimport lc_rng


cdef extern from "lc_replay.h" nogil:
    enum:
        LC_RULE_NONE
        LC_RULE_ETR1
        LC_RULE_ETR2
        LC_RULE_MEDIAN
        LC_TERM_REPORT
        LC_TERM_EXCLUDE
        LC_TERM_ORACLE
        LC_TRIAL_RUNNING
        LC_TRIAL_STOPPED
        LC_TRIAL_COMPLETED
        LC_TRIAL_FAILED
        LC_ERR_RULE
        LC_ERR_CHOOSER
    int64_t LC_CHOOSE_RANDOM

    ctypedef struct lc_table:
        const float *acc
        const float *time
        const int32_t *n_finished
        const double *objective
        int64_t n
        int32_t T

    ctypedef struct lc_history:
        int32_t T
        int32_t mode
        int64_t n_trials
        int64_t n_completed
        double *curves
        int64_t *slot
        int32_t *n_obs
        int8_t *state
        int64_t *row
        double *best
        double incumbent

    ctypedef struct lc_rule_ops:
        int (*reset)(void *self, const lc_history *h)
        int (*decide)(void *self, const lc_history *h, int64_t trial, int32_t t,
                      int32_t *stop)
        int (*on_end)(void *self, const lc_history *h, int64_t trial)

    ctypedef struct lc_rule:
        const lc_rule_ops *ops
        void *self

    ctypedef struct lc_choice_view:
        int64_t n
        const uint8_t *active
        int64_t n_active
        const int64_t *seen_rows
        const double *y_seen
        const double *y_key
        int64_t n_seen
        double best_key
        int64_t n_started
        const lc_history *hist

    ctypedef struct lc_chooser_ops:
        int (*reset)(void *self)
        int (*choose)(void *self, const lc_choice_view *v, lc_rng *rng, int64_t *row)

    ctypedef struct lc_chooser:
        const lc_chooser_ops *ops
        void *self

    ctypedef struct lc_replay_opts:
        int64_t n_init
        int64_t max_evals
        double max_time
        int32_t terminated
        int32_t mode
        double goal
        int32_t n_workers
        int32_t count_chooser_time
        int32_t fill_unobserved
        int32_t settle

    ctypedef struct lc_replay_result:
        int32_t success
        double time_to_goal
        int64_t n_evaluated
        int64_t n_started
        int64_t n_stopped
        int64_t epochs_trained
        int64_t n_harmful_stops
        double best_acc
        double clock
        int64_t n_settled

    ctypedef struct lc_replay_trace:
        int64_t *row
        int32_t *worker
        double *start
        double *end
        int32_t *epochs
        int8_t *stopped
        double *reported

    size_t lc_replay_workspace_bytes(int64_t n, int64_t max_evals, int32_t n_workers)
    int lc_replay_run(const lc_table *tab, const lc_rule *rule, const lc_chooser *chooser,
                      const lc_replay_opts *opt, lc_rng *rng, lc_history *hist, void *work,
                      lc_replay_result *res, const lc_replay_trace *trace)

    ctypedef struct lc_builtin_rule:
        int32_t kind
        int32_t mode
        int32_t tau
        double threshold
        double p, q
        int32_t min_completed, warmup

    size_t lc_builtin_rule_bytes(int32_t kind, int32_t T, int64_t max_evals)
    void lc_builtin_rule_init(lc_builtin_rule *r, void *mem, int32_t T, int64_t max_evals)
    const lc_rule_ops lc_builtin_rule_ops
    const lc_rule_ops lc_builtin_rule_called_ops
    const lc_rule_ops lc_never_rule_ops

    ctypedef int32_t (*lc_rule_cfunc)(const double *curve, int32_t t, int32_t T,
                                      int64_t n_trials, const double *curves,
                                      const int32_t *n_obs, const int8_t *states,
                                      double incumbent)
    ctypedef struct lc_cfunc_rule:
        lc_rule_cfunc fn
    const lc_rule_ops lc_cfunc_rule_ops

    const lc_chooser_ops lc_random_chooser_ops
    ctypedef struct lc_rfei_chooser:
        void *ctx
        double xi
    const lc_chooser_ops lc_rfei_chooser_ops


cdef extern from "lc_rules.h" nogil:
    ctypedef struct lc_rule_kind:
        const char *name
        int32_t n_params
        int32_t needs_all_curves
        int32_t needs_inner
        size_t (*bytes)(const double *par, int32_t T, int64_t cap)
        int (*init)(void *mem, const double *par, int32_t T, int64_t cap, int32_t mode,
                    const lc_rule *inner)
        const lc_rule_ops *ops

    const lc_rule_kind *lc_rule_kind_find(const char *name)
    int32_t lc_rule_kind_count()
    const lc_rule_kind *lc_rule_kind_at(int32_t i)
