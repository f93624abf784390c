/* lc_rule_optuna.c: C twins of Optuna's pruners (lcore/stopping/optuna_rules.py states each
 * decision; steps are epochs 1..T).  Registered in lc_rules.c. */
#include "lc_rules.h"

#include <math.h>

/* The largest epoch i < t with a finite curve[i - 1] (0 if none). */
static int32_t prev_observed(const double *curve, int32_t t) {
    int32_t i = t - 1;
    while (i >= 1 && curve[i - 1] != curve[i - 1]) i--;
    return i;
}

/* Optuna's _is_first_in_interval_step for steps 1..T: the previous reported step (-1 if
 * none; Optuna's steps start at 0, lcore's at 1, and 0 is never reported) is below the
 * nearest pruning step <= t.  Needs t >= warmup. */
static int first_in_interval(const double *curve, int32_t t, int64_t warmup, int64_t interval) {
    if (interval == 1) return 1; /* the nearest pruning step is t itself, and prev < t */
    const int64_t nearest = (t - warmup) / interval * interval + warmup;
    const int32_t prev = prev_observed(curve, t);
    const int64_t second_last = prev >= 1 ? prev : -1;
    return second_last < nearest;
}

/* ---- optuna-threshold: par = {lower (-inf: none), upper (+inf: none), n_warmup_steps,
 *      interval_steps} -------------------------------------------------------------------- */
typedef struct {
    double lower, upper;
    int64_t warmup, interval;
} threshold_rule;

static size_t threshold_bytes(const double *par, int32_t T, int64_t cap) {
    (void)par; (void)T; (void)cap;
    return sizeof(threshold_rule);
}

static int threshold_init(void *mem, const double *par, int32_t T, int64_t cap, int32_t mode,
                          const lc_rule *inner) {
    (void)T; (void)cap; (void)mode; (void)inner;
    threshold_rule *r = (threshold_rule *)mem;
    r->lower = par[0];
    r->upper = par[1];
    r->warmup = (int64_t)par[2];
    r->interval = (int64_t)par[3];
    return (r->interval >= 1 && r->warmup >= 0) ? 0 : -1;
}

static int threshold_decide(void *self, const lc_history *h, int64_t trial, int32_t t,
                            int32_t *stop) {
    const threshold_rule *r = (const threshold_rule *)self;
    const double *curve = LC_CURVE(h, trial);
    *stop = 0;
    if (t < r->warmup || !first_in_interval(curve, t, r->warmup, r->interval)) return 0;
    const double v = curve[t - 1];
    *stop = (v != v) || v < r->lower || v > r->upper;
    return 0;
}

static const lc_rule_ops threshold_ops = {NULL, threshold_decide, NULL};
const lc_rule_kind lc_kind_optuna_threshold = {
    "optuna-threshold", 4, 0, 0, threshold_bytes, threshold_init, &threshold_ops};
