/* lc_replay.h: one simulated HPO run ("repeat") on a lookup table, SPEC.md §3 (C99, plus
 * C11's timespec_get for count_chooser_time).
 *
 * The loop, per evaluation:
 *   1. stop (censored) when max_evals rows were evaluated, no candidate is left, or the
 *      clock has reached max_time;
 *   2. choose a row: the first n_init evaluations, the "random" chooser, and "rf-ei" while
 *      fewer than 2 rows are in the surrogate's data draw k = lc_rng_bounded(rng, n_active)
 *      and take the k-th candidate in increasing row order (a Fenwick tree finds it);
 *      otherwise "rf-ei" draws forest_seed = lc_rng_next(rng) and calls lc_rfei_choose
 *      (lc_acq.h) with the incumbent = the largest reported accuracy so far; its ties draw
 *      from the same rng;
 *   3. train it: for t = 1 .. n_finished[row] the clock advances by time[row, t-1] and
 *      acc[row, t-1] is observed; after each t < T the rule is asked and may stop it.  A row
 *      that failed (n_finished < T) and was not stopped ends at its last finished epoch;
 *   4. report: the last observed accuracy (0 for a row with no finished epoch).  The
 *      surrogate's data gets the reported value; for a row the rule stopped it gets the
 *      reported value (terminated = REPORT), nothing (EXCLUDE) or the row's objective from
 *      the table when finite (ORACLE).  Failed rows are reported as observed in every mode.
 *      A row that ran all T epochs enters the completed-curve history of ETR-2 and median;
 *   5. success when the reported accuracy >= goal and the clock <= max_time:
 *      time_to_goal = the clock.  A row that crosses max_time is trained to its end (and
 *      counted); the run then ends censored.
 * count_chooser_time adds each chooser call's measured wall time to the clock (this breaks
 * bit-reproducibility, by design).
 *
 * Rules (asked after epoch t < T; y = the row's accuracy at t):
 *   NONE   never;
 *   ETR1   stop at t == tau if y < r + eps;
 *   ETR2   c = the completed row with the largest final accuracy (ties: the earliest; by
 *          final accuracy also when objective = "best", since the rule is defined on y_c^T);
 *          none: never; tau_c = the largest epoch i <= T with y_c^i <= q * y_c^T (1 if none);
 *          stop at t == tau_c if y < p * y_c^tau_c;
 *   MEDIAN at t >= warmup with at least min_completed completed rows, stop if the row's best
 *          accuracy up to t is strictly below the median over completed rows of their running
 *          averages (left-to-right sum of y_c^1..y_c^t) / t; for an even count the median is
 *          (a + b) / 2 of the two middle values.
 * These are lcore.stopping's ETR1, ETR2 and MedianRule in mode "max"; tests check that both
 * decide identically.
 */
#ifndef LC_REPLAY_H
#define LC_REPLAY_H

#include <stddef.h>
#include <stdint.h>

#include "lc_rng.h"

enum { LC_RULE_NONE = 0, LC_RULE_ETR1 = 1, LC_RULE_ETR2 = 2, LC_RULE_MEDIAN = 3 };
enum { LC_CHOOSER_RANDOM = 0, LC_CHOOSER_RFEI = 1 };
enum { LC_TERM_REPORT = 0, LC_TERM_EXCLUDE = 1, LC_TERM_ORACLE = 2 };

typedef struct {
    int32_t kind;
    int32_t tau;                       /* ETR1 */
    double r, eps;                     /* ETR1 */
    double p, q;                       /* ETR2 */
    int32_t min_completed, warmup;     /* MEDIAN */
} lc_rule;

typedef struct {
    const float *acc;          /* n x T, row-major; NaN after a failure */
    const float *time;         /* n x T, row-major; seconds */
    const int32_t *n_finished; /* n: epochs each row finished */
    const double *objective;   /* n: the row's objective (final or best), NaN if none */
    int64_t n;
    int32_t T;
} lc_table;

typedef struct {
    int32_t chooser;           /* LC_CHOOSER_* */
    void *rfei_ctx;            /* lc_rfei_ctx * prepared for this table (rf-ei only) */
    double xi;                 /* EI exploration */
    int64_t n_init;            /* >= 1 */
    int64_t max_evals;         /* 1..n */
    double max_time;           /* seconds, may be +inf */
    int32_t terminated;        /* LC_TERM_* */
    double goal;
    int32_t count_chooser_time;
} lc_replay_opts;

typedef struct {
    int32_t success;
    double time_to_goal;       /* +inf when censored */
    int64_t n_evaluated;
    int64_t n_stopped;
    int64_t epochs_trained;
    int64_t n_harmful_stops;   /* stopped rows whose objective >= goal */
    double best_acc;           /* best reported accuracy (-inf with no evaluation) */
    double clock;              /* the clock when the run ended */
} lc_replay_result;

/* Optional per-evaluation trace, each array max_evals long (any may be NULL). */
typedef struct {
    int64_t *row;
    int32_t *epochs;
    int8_t *stopped;           /* 1 when the rule stopped the row */
    double *reported;
    double *clock;             /* after the row */
} lc_replay_trace;

/* Bytes of workspace (8-byte aligned) one run needs; with_median != 0 when the rule may be
 * LC_RULE_MEDIAN (it keeps T x max_evals sorted running averages). */
size_t lc_replay_workspace_bytes(int64_t n, int32_t T, int64_t max_evals, int32_t with_median);

/* One repeat.  rng is the repeat's generator (advanced in place). */
void lc_replay_run(const lc_table *tab, const lc_rule *rule, const lc_replay_opts *opt,
                   lc_rng *rng, void *work, lc_replay_result *res, const lc_replay_trace *trace);

#endif /* LC_REPLAY_H */
