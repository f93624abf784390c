from libc.stdint cimport int8_t, int32_t, int64_t, uint64_t

from lcore._core.lc_rng cimport lc_rng


cdef extern from "lc_replay.h" nogil:
    enum:
        LC_RULE_NONE
        LC_RULE_ETR1
        LC_RULE_ETR2
        LC_RULE_MEDIAN
        LC_CHOOSER_RANDOM
        LC_CHOOSER_RFEI
        LC_TERM_REPORT
        LC_TERM_EXCLUDE
        LC_TERM_ORACLE

    ctypedef struct lc_rule:
        int32_t kind
        int32_t tau
        double r, eps
        double p, q
        int32_t min_completed, warmup

    ctypedef struct lc_table:
        const float *acc
        const float *time
        const int32_t *n_finished
        const double *objective
        int64_t n
        int32_t T

    ctypedef struct lc_replay_opts:
        int32_t chooser
        void *rfei_ctx
        double xi
        int64_t n_init
        int64_t max_evals
        double max_time
        int32_t terminated
        double goal
        int32_t count_chooser_time

    ctypedef struct lc_replay_result:
        int32_t success
        double time_to_goal
        int64_t n_evaluated
        int64_t n_stopped
        int64_t epochs_trained
        int64_t n_harmful_stops
        double best_acc
        double clock

    ctypedef struct lc_replay_trace:
        int64_t *row
        int32_t *epochs
        int8_t *stopped
        double *reported
        double *clock

    size_t lc_replay_workspace_bytes(int64_t n, int32_t T, int64_t max_evals,
                                     int32_t with_median)
    void lc_replay_run(const lc_table *tab, const lc_rule *rule, const lc_replay_opts *opt,
                       lc_rng *rng, void *work, lc_replay_result *res,
                       const lc_replay_trace *trace)
