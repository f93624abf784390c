/* lc_replay.h: the one replay loop of lcore -- one simulated HPO run ("repeat") on a lookup
 * table with W workers, driven by pluggable stopping rules and choosers (C99, plus C11's
 * timespec_get for count_chooser_time).  docs/semantics.md states the semantics in full;
 * in short:
 *
 *   - Trials are numbered in start order (the "start counter").  At time 0 the W workers are
 *     filled one after another; a worker freed at time s is refilled at s, after the ended
 *     trial has been reported.  A trial starts only while fewer than max_evals trials have
 *     started, a candidate is left and s < max_time.
 *   - Choosing: the first n_init choices, and every choice for which the chooser answers
 *     LC_CHOOSE_RANDOM, draw k = lc_rng_bounded(rng, #candidates) and take the k-th candidate
 *     in increasing row order (a Fenwick tree finds it).  Rows started are never candidates.
 *   - Row x started at s: epoch t ends at e_t = e_{t-1} + time[x, t-1] (e_0 = s, float64).
 *     Each epoch end is an event keyed (e_t, start counter); events are processed in that
 *     order.  At the event the value acc[x, t-1] is observed; for t < T the rule is asked
 *     and may stop the trial; a trial also ends at t = n_finished[x] (completed when that is
 *     T, failed otherwise).  A row with no finished epoch ends at once at s and reports 0.
 *   - Report: the last observed value; with none, 0 on an accuracy table (mode +1) and
 *     nothing on a loss table (NaN: kept from the surrogate, never the goal).  The
 *     surrogate's data get it
 *     (LC_TERM_REPORT), nothing for a stopped row (EXCLUDE), or a stopped row's objective
 *     when finite (ORACLE).  The first report that reaches the goal (value >= goal for
 *     mode +1, <= goal for mode -1) ends the run: success when its time <= max_time.
 *     Trials still running then are dropped (not reported).
 *
 * Settling (opt.settle; W = 1, no trace, no count_chooser_time, no max_time, the rf-ei
 * chooser and the rule none or a built-in one).  Before each choice the loop asks whether the
 * rest of the run is already decided: every candidate left, trained now under the rule's
 * present state, would end without reaching the goal and without changing that state (it is
 * stopped or fails, or it completes where completing changes nothing: always for none and
 * ETR-1, for ETR-2 when it does not beat the best completed trial, never for median), and
 * max_evals leaves room for all of them.  Then the order in which they would be chosen
 * changes nothing the result reports (counts, epochs, the best reported value; the run is
 * censored), so they are accounted for at once, in row order, and the run ends: the same
 * result as choosing them one by one, without the chooser's steps (for a censored run the
 * steps on the whole table were most of its time).  The check resumes where it stopped:
 * the first candidate that would not settle is kept as a witness until it is started or
 * the rule's state changes, so it costs O(1) per choice and one pass over the candidates
 * per state.
 *
 * With W = 1 this is the sequential replay: the clock adds the epoch times of one row after
 * the other, in the same order as before workers existed (same bits).
 *
 * Interfaces.  A rule is {ops, self}: ops->decide(self, history, trial, t, &stop) is asked
 * after epoch t < T of `trial`; ops->on_end(self, history, trial) hears every trial that
 * ended (its state set); ops->reset(self, history) starts a repeat.  A chooser is {ops, self}:
 * ops->choose(self, view, rng, &row) returns a candidate row or LC_CHOOSE_RANDOM.  Every
 * callback returns 0, or a negative value on error, which ends the run at once and is
 * returned by lc_replay_run (the caller reports the error it stored).  The built-ins are
 * lc_builtin_rule_ops (none, etr1, etr2, median in both modes) and lc_random_chooser_ops /
 * lc_rfei_chooser_ops; lcore/_core/_replay.pyx adapts Python rules and choosers and
 * compiled C callbacks (e.g. numba cfuncs) to the same interfaces.
 */
#ifndef LC_REPLAY_H
#define LC_REPLAY_H

#include <stddef.h>
#include <stdint.h>

#include "lc_rng.h"

enum { LC_RULE_NONE = 0, LC_RULE_ETR1 = 1, LC_RULE_ETR2 = 2, LC_RULE_MEDIAN = 3 };
enum { LC_TERM_REPORT = 0, LC_TERM_EXCLUDE = 1, LC_TERM_ORACLE = 2 };
enum { LC_TRIAL_RUNNING = 0, LC_TRIAL_STOPPED = 1, LC_TRIAL_COMPLETED = 2, LC_TRIAL_FAILED = 3 };
enum { LC_ERR_RULE = -1, LC_ERR_CHOOSER = -2 };
#define LC_CHOOSE_RANDOM (-1)

typedef struct {
    const float *acc;          /* n x T, row-major; NaN after a failure */
    const float *time;         /* n x T, row-major; seconds */
    const int32_t *n_finished; /* n: epochs each row finished */
    const double *objective;   /* n: the row's objective (final or best), NaN if none */
    int64_t n;
    int32_t T;
} lc_table;

/* Every trial of the repeat so far, in start order; what rules read.  The buffers are the
 * caller's (capacity max_evals); the loop fills them. */
typedef struct {
    int32_t T;
    int32_t mode;              /* +1: larger is better; -1: smaller is better */
    int64_t n_trials;          /* trials started so far */
    int64_t n_completed;
    double *curves;            /* rows of T: trial i's curve is LC_CURVE(h, i); NaN where
                                  not observed yet when opts.fill_unobserved */
    int64_t *slot;             /* cap: the row of curves that holds trial i's curve: i when
                                  opts.fill_unobserved, else its worker (the built-in rules
                                  read a curve only while its trial runs or as it ends, so
                                  W rows kept hot in cache are enough) */
    int32_t *n_obs;            /* cap: epochs observed */
    int8_t *state;             /* cap: LC_TRIAL_* */
    int64_t *row;              /* cap: table row */
    double *best;              /* cap: best observed value by mode (NaN before the first) */
    double incumbent;          /* best value reported by a trial with >= 1 epoch; NaN none */
} lc_history;

#define LC_CURVE(h, i) ((h)->curves + (size_t)(h)->slot[i] * (size_t)(h)->T)

typedef int (*lc_rule_decide)(void *self, const lc_history *h, int64_t trial, int32_t t,
                              int32_t *stop);
typedef struct {
    int (*reset)(void *self, const lc_history *h);
    lc_rule_decide decide;     /* NULL: never stops */
    int (*on_end)(void *self, const lc_history *h, int64_t trial);
} lc_rule_ops;

typedef struct {
    const lc_rule_ops *ops;
    void *self;
} lc_rule;

/* What a chooser sees.  y_seen are the surrogate's values as reported (table units);
 * y_key = mode * y_seen and best_key = mode * incumbent are the same in "larger is better"
 * form (what the forest and EI maximise). */
typedef struct {
    int64_t n;
    const uint8_t *active;     /* n: 1 = candidate */
    int64_t n_active;
    const int64_t *seen_rows;  /* n_seen: rows in the surrogate's data */
    const double *y_seen;
    const double *y_key;
    int64_t n_seen;
    double best_key;           /* mode * best reported value; -inf with none */
    int64_t n_started;
    const lc_history *hist;
} lc_choice_view;

typedef struct {
    int (*reset)(void *self);
    int (*choose)(void *self, const lc_choice_view *v, lc_rng *rng, int64_t *row);
} lc_chooser_ops;

typedef struct {
    const lc_chooser_ops *ops;
    void *self;
} lc_chooser;

typedef struct {
    int64_t n_init;            /* >= 0 */
    int64_t max_evals;         /* 1..n: trials started at most */
    double max_time;           /* seconds, may be +inf */
    int32_t terminated;        /* LC_TERM_* */
    int32_t mode;              /* +1 / -1 */
    double goal;
    int32_t n_workers;         /* >= 1 */
    int32_t count_chooser_time;
    int32_t fill_unobserved;   /* 1: NaN-fill a trial's curve at its start (rules that read
                                  all of hist->curves need it; the built-ins do not) */
    int32_t settle;            /* 1: end a run early once its outcome is settled (below) */
} lc_replay_opts;

typedef struct {
    int32_t success;
    double time_to_goal;       /* +inf when censored */
    int64_t n_evaluated;       /* trials reported */
    int64_t n_started;
    int64_t n_stopped;
    int64_t epochs_trained;    /* epoch events processed (dropped trials' included) */
    int64_t n_harmful_stops;   /* stopped rows whose objective reaches the goal */
    double best_acc;           /* best reported value by mode (-inf / +inf with none) */
    double clock;              /* time of the last event processed (settled: the rows'
                                  times added in row order) */
    int64_t n_settled;         /* trials accounted for by settling, not chosen one by one */
} lc_replay_result;

/* Optional per-trial trace in start order, each array max_evals long (any may be NULL).
 * Dropped trials: end and reported NaN. */
typedef struct {
    int64_t *row;
    int32_t *worker;
    double *start;
    double *end;
    int32_t *epochs;
    int8_t *stopped;
    double *reported;
} lc_replay_trace;

/* Bytes of workspace (8-byte aligned) one run needs. */
size_t lc_replay_workspace_bytes(int64_t n, int64_t max_evals, int32_t n_workers);

/* One repeat.  rng is the repeat's generator (advanced in place); hist's buffers hold
 * max_evals trials.  Returns 0, or the negative code of the callback that failed. */
int lc_replay_run(const lc_table *tab, const lc_rule *rule, const lc_chooser *chooser,
                  const lc_replay_opts *opt, lc_rng *rng, lc_history *hist, void *work,
                  lc_replay_result *res, const lc_replay_trace *trace);

/* ---- built-in rules -------------------------------------------------------------------- */
typedef struct {
    int32_t kind;              /* LC_RULE_* */
    int32_t mode;              /* +1 / -1 */
    int32_t tau;               /* ETR1 */
    double threshold;          /* ETR1: r + eps (mode +1) or r - eps (mode -1) */
    double p, q;               /* ETR2 */
    int32_t min_completed, warmup; /* MEDIAN */
    /* state, carved by lc_builtin_rule_init */
    int32_t T;
    int64_t cap;
    double *sorted_avg;        /* MEDIAN: T x cap running averages of completed trials */
    int64_t n_completed;
    int64_t best_c;            /* ETR2: best completed trial (-1: none) */
    double best_final;         /* ETR2: its final value */
    int32_t tau_c;
    double y_tau;
} lc_builtin_rule;

size_t lc_builtin_rule_bytes(int32_t kind, int32_t T, int64_t max_evals);
/* r->kind, mode and the parameters set; carves the state from mem. */
void lc_builtin_rule_init(lc_builtin_rule *r, void *mem, int32_t T, int64_t max_evals);
extern const lc_rule_ops lc_builtin_rule_ops;
/* The same rules under another address: the loop calls them through the interface like any
 * other C rule instead of inlining them (to check the inlined path and to time a call). */
extern const lc_rule_ops lc_builtin_rule_called_ops;
extern const lc_rule_ops lc_never_rule_ops;  /* "none": asks nothing */

/* A compiled rule function (numba.cfunc and the like): 1 = stop, 0 = continue, < 0 error.
 * curve: the trial's t values; the arrays describe all n_trials trials as in lc_history. */
typedef int32_t (*lc_rule_cfunc)(const double *curve, int32_t t, int32_t T, int64_t n_trials,
                                 const double *curves, const int32_t *n_obs,
                                 const int8_t *states, double incumbent);
typedef struct {
    lc_rule_cfunc fn;
} lc_cfunc_rule;
extern const lc_rule_ops lc_cfunc_rule_ops;

/* ---- built-in choosers ------------------------------------------------------------------ */
extern const lc_chooser_ops lc_random_chooser_ops;   /* self unused (NULL) */
typedef struct {
    void *ctx;                 /* lc_rfei_ctx * prepared for this table */
    double xi;
} lc_rfei_chooser;
extern const lc_chooser_ops lc_rfei_chooser_ops;

#endif /* LC_REPLAY_H */
