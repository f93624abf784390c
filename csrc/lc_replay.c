/* lc_replay.c: the replay loop of lc_replay.h. */
#include "lc_replay.h"

#include <math.h>
#include <string.h>
#include <time.h>

#include "lc_acq.h"

/* ---- workspace layout ------------------------------------------------------------------ */
typedef struct {
    uint8_t *active;      /* n */
    int32_t *fenwick;     /* n + 1 */
    int64_t *seen_rows;   /* max_evals: rows in the surrogate's data */
    double *y_seen;       /* max_evals */
    double *sorted_avg;   /* T x max_evals: per epoch, completed rows' running averages, sorted */
    double *best_curve;   /* T: curve of the best completed row (ETR-2) */
    double *curve;        /* T: the row being trained */
} lc_ws;

static size_t align8(size_t b) { return (b + 7) & ~(size_t)7; }

size_t lc_replay_workspace_bytes(int64_t n, int32_t T, int64_t max_evals, int32_t with_median) {
    size_t b = 0;
    const int64_t cap_median = with_median ? max_evals : 0;
    b += align8((size_t)n);
    b += align8(sizeof(int32_t) * (size_t)(n + 1));
    b += align8(sizeof(int64_t) * (size_t)max_evals);
    b += align8(sizeof(double) * (size_t)max_evals);
    b += align8(sizeof(double) * (size_t)T * (size_t)cap_median);
    b += align8(sizeof(double) * (size_t)T);
    b += align8(sizeof(double) * (size_t)T);
    return b;
}

static void ws_carve(lc_ws *w, void *mem, int64_t n, int32_t T, int64_t max_evals,
                     int64_t cap_median) {
    char *p = (char *)mem;
    w->active = (uint8_t *)p; p += align8((size_t)n);
    w->fenwick = (int32_t *)p; p += align8(sizeof(int32_t) * (size_t)(n + 1));
    w->seen_rows = (int64_t *)p; p += align8(sizeof(int64_t) * (size_t)max_evals);
    w->y_seen = (double *)p; p += align8(sizeof(double) * (size_t)max_evals);
    w->sorted_avg = (double *)p; p += align8(sizeof(double) * (size_t)T * (size_t)cap_median);
    w->best_curve = (double *)p; p += align8(sizeof(double) * (size_t)T);
    w->curve = (double *)p;
}

/* ---- Fenwick tree over the active mask: k-th candidate in row order in O(log n) -------- */
static void fen_init_ones(int32_t *f, int64_t n) {
    for (int64_t i = 1; i <= n; i++) f[i] = 1;
    for (int64_t i = 1; i <= n; i++) {
        int64_t j = i + (i & -i);
        if (j <= n) f[j] += f[i];
    }
    f[0] = 0;
}

static void fen_remove(int32_t *f, int64_t n, int64_t row) {
    for (int64_t i = row + 1; i <= n; i += i & -i) f[i] -= 1;
}

/* 0-based row of the k-th (0-based) active row. */
static int64_t fen_kth(const int32_t *f, int64_t n, int64_t k) {
    int64_t pos = 0, step = 1;
    while (step * 2 <= n) step *= 2;
    for (; step > 0; step >>= 1) {
        if (pos + step <= n && f[pos + step] <= k) {
            pos += step;
            k -= f[pos];
        }
    }
    return pos; /* 1-based position pos + 1 -> 0-based row pos */
}

/* ---- rules ------------------------------------------------------------------------------ */
typedef struct {
    int64_t n_completed;
    int64_t best_c_valid;
    double best_c_final;
    int32_t tau_c;          /* ETR-2 decision epoch for the current best completed row */
} rule_state;

static void insert_sorted(double *a, int64_t k, double v) {
    /* a[0..k) sorted ascending; insert v keeping order (after equal values). */
    int64_t lo = 0, hi = k;
    while (lo < hi) {
        int64_t mid = (lo + hi) >> 1;
        if (a[mid] <= v) lo = mid + 1; else hi = mid;
    }
    memmove(a + lo + 1, a + lo, sizeof(double) * (size_t)(k - lo));
    a[lo] = v;
}

static void rule_on_completed(const lc_rule *rule, rule_state *st, lc_ws *w, int64_t cap,
                              const double *curve, int32_t T) {
    if (rule->kind == LC_RULE_MEDIAN) {
        double s = 0.0;
        for (int32_t t = 0; t < T; t++) {
            s += curve[t];
            insert_sorted(w->sorted_avg + (size_t)t * (size_t)cap, st->n_completed,
                          s / (double)(t + 1));
        }
    } else if (rule->kind == LC_RULE_ETR2) {
        double fin = curve[T - 1];
        if (!st->best_c_valid || fin > st->best_c_final) {
            st->best_c_valid = 1;
            st->best_c_final = fin;
            memcpy(w->best_curve, curve, sizeof(double) * (size_t)T);
            double thr = rule->q * fin;
            int32_t tau = 1;
            for (int32_t i = T; i >= 1; i--) {
                if (curve[i - 1] <= thr) { tau = i; break; }
            }
            st->tau_c = tau;
        }
    }
    st->n_completed++;
}

/* Ask the rule after epoch t (1-based, t < T); y = curve[t-1]; best = max(curve[0..t)). */
static int rule_stop(const lc_rule *rule, const rule_state *st, const lc_ws *w, int64_t cap,
                     int32_t t, double y, double best) {
    switch (rule->kind) {
    case LC_RULE_ETR1:
        return t == rule->tau && y < rule->r + rule->eps;
    case LC_RULE_ETR2:
        if (!st->best_c_valid || t != st->tau_c) return 0;
        return y < rule->p * w->best_curve[t - 1];
    case LC_RULE_MEDIAN: {
        int64_t k = st->n_completed;
        if (t < rule->warmup || k < rule->min_completed || k == 0) return 0;
        const double *a = w->sorted_avg + (size_t)(t - 1) * (size_t)cap;
        double med = (k & 1) ? a[k / 2] : (a[k / 2 - 1] + a[k / 2]) / 2.0;
        return best < med;
    }
    default:
        return 0;
    }
}

/* timespec_get is C11 (glibc, musl, MSVC have it); used only for count_chooser_time. */
static double now_seconds(void) {
    struct timespec ts;
    timespec_get(&ts, TIME_UTC);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- the loop ---------------------------------------------------------------------------- */
void lc_replay_run(const lc_table *tab, const lc_rule *rule, const lc_replay_opts *opt,
                   lc_rng *rng, void *work, lc_replay_result *res, const lc_replay_trace *trace) {
    const int64_t n = tab->n;
    const int32_t T = tab->T;
    const int64_t cap = opt->max_evals;
    lc_ws w;
    ws_carve(&w, work, n, T, cap, rule->kind == LC_RULE_MEDIAN ? cap : 0);
    memset(w.active, 1, (size_t)n);
    fen_init_ones(w.fenwick, n);

    rule_state st;
    memset(&st, 0, sizeof st);
    int64_t n_active = n, n_eval = 0, n_surr = 0;
    double clock = 0.0;

    res->success = 0;
    res->time_to_goal = INFINITY;
    res->n_stopped = 0;
    res->epochs_trained = 0;
    res->n_harmful_stops = 0;
    res->best_acc = -INFINITY;

    while (n_eval < opt->max_evals && n_active > 0 && clock < opt->max_time) {
        /* 1. choose */
        int64_t row;
        double t0 = opt->count_chooser_time ? now_seconds() : 0.0;
        if (n_eval < opt->n_init || opt->chooser == LC_CHOOSER_RANDOM || n_surr < 2) {
            int64_t k = (int64_t)lc_rng_bounded(rng, (uint64_t)n_active);
            row = fen_kth(w.fenwick, n, k);
        } else {
            uint64_t seed = lc_rng_next(rng);
            /* the incumbent: the largest reported accuracy so far (SPEC §3), whatever the
             * surrogate's data hold under terminated = exclude / oracle */
            row = lc_rfei_choose((lc_rfei_ctx *)opt->rfei_ctx, w.seen_rows, w.y_seen, n_surr,
                                 w.active, res->best_acc, opt->xi, seed, rng);
        }
        if (opt->count_chooser_time) clock += now_seconds() - t0;
        w.active[row] = 0;
        fen_remove(w.fenwick, n, row);
        n_active--;

        /* 2. train */
        const float *acc = tab->acc + (size_t)row * (size_t)T;
        const float *tim = tab->time + (size_t)row * (size_t)T;
        const int32_t nfin = tab->n_finished[row];
        int32_t epochs = 0;
        int stopped = 0;
        double best_row = -INFINITY, y = 0.0;
        for (int32_t t = 1; t <= nfin; t++) {
            clock += (double)tim[t - 1];
            y = (double)acc[t - 1];
            w.curve[t - 1] = y;
            if (y > best_row) best_row = y;
            epochs = t;
            if (t < T && rule->kind != LC_RULE_NONE &&
                rule_stop(rule, &st, &w, cap, t, y, best_row)) {
                stopped = 1;
                break;
            }
        }
        const double reported = epochs > 0 ? y : 0.0;
        n_eval++;
        res->epochs_trained += epochs;
        if (reported > res->best_acc) res->best_acc = reported;

        /* 3. report */
        if (stopped) {
            res->n_stopped++;
            if (tab->objective[row] >= opt->goal) res->n_harmful_stops++;
        }
        int add = 1;
        double y_surr = reported;
        if (stopped && opt->terminated == LC_TERM_EXCLUDE) add = 0;
        if (stopped && opt->terminated == LC_TERM_ORACLE && isfinite(tab->objective[row]))
            y_surr = tab->objective[row];
        if (add) {
            w.seen_rows[n_surr] = row;
            w.y_seen[n_surr] = y_surr;
            n_surr++;
        }
        if (!stopped && epochs == T) rule_on_completed(rule, &st, &w, cap, w.curve, T);

        if (trace) {
            int64_t i = n_eval - 1;
            if (trace->row) trace->row[i] = row;
            if (trace->epochs) trace->epochs[i] = epochs;
            if (trace->stopped) trace->stopped[i] = (int8_t)stopped;
            if (trace->reported) trace->reported[i] = reported;
            if (trace->clock) trace->clock[i] = clock;
        }

        /* 4. goal */
        if (reported >= opt->goal) {
            if (clock <= opt->max_time) {
                res->success = 1;
                res->time_to_goal = clock;
            }
            break;
        }
    }
    res->n_evaluated = n_eval;
    res->clock = clock;
}
