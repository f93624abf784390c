/* lc_rule_adaptive.c: the C twin of lcore/stopping/adaptive.py ("adaptive"), which states the
 * decision.  par = {k}: the size of the reference set (the k best completed curves).
 *
 * State (carved from the rule's block): per epoch the sorted keys of the completed curves
 * (key = mode * value), the completed curves in key form, their ranking by final key (ties:
 * earliest completed first) and the envelope theta[t] = min over the k best of their key at t.
 * A decision is O(log n) (one binary search); a completion is O(n T) (sorted inserts) plus
 * O(k T) when it enters the k best. */
#include "lc_rules.h"

#include <math.h>
#include <string.h>

typedef struct {
    int32_t T;
    int32_t mode;
    int64_t k, cap;
    int64_t n;          /* completed trials so far */
    double *sorted;     /* T x cap: sorted[t * cap + i], ascending, cnt[t] finite keys */
    int64_t *cnt;       /* T */
    double *keys;       /* cap x T: completed curves in key form, by completion index */
    int64_t *rank;      /* cap: completion indices, best final key first */
    double *theta;      /* T: envelope of the k best (NaN: none at t) */
} adaptive_rule;

static size_t adaptive_bytes(const double *par, int32_t T, int64_t cap) {
    (void)par;
    const size_t c = (size_t)(cap > 0 ? cap : 1), TT = (size_t)T;
    return lc_align64(sizeof(adaptive_rule)) + lc_align64(TT * c * sizeof(double)) +
           lc_align64(TT * sizeof(int64_t)) + lc_align64(c * TT * sizeof(double)) +
           lc_align64(c * sizeof(int64_t)) + lc_align64(TT * sizeof(double));
}

static int adaptive_init(void *mem, const double *par, int32_t T, int64_t cap, int32_t mode,
                         const lc_rule *inner) {
    (void)inner;
    adaptive_rule *r = (adaptive_rule *)mem;
    const double kk = par[0];
    if (!(kk >= 1.0) || kk != floor(kk) || kk > 1e15 || T < 1) return -1;
    const size_t c = (size_t)(cap > 0 ? cap : 1), TT = (size_t)T;
    char *p = (char *)mem + lc_align64(sizeof(adaptive_rule));
    r->T = T;
    r->mode = mode >= 0 ? 1 : -1;
    r->k = (int64_t)kk;
    r->cap = (int64_t)c;
    r->sorted = (double *)p; p += lc_align64(TT * c * sizeof(double));
    r->cnt = (int64_t *)p; p += lc_align64(TT * sizeof(int64_t));
    r->keys = (double *)p; p += lc_align64(c * TT * sizeof(double));
    r->rank = (int64_t *)p; p += lc_align64(c * sizeof(int64_t));
    r->theta = (double *)p;
    r->n = 0;
    return 0;
}

static int adaptive_reset(void *self, const lc_history *h) {
    (void)h;
    adaptive_rule *r = (adaptive_rule *)self;
    r->n = 0;
    memset(r->cnt, 0, (size_t)r->T * sizeof(int64_t));
    return 0;
}

/* First index i in a[0..n) with a[i] >= v (a ascending). */
static int64_t lower_bound(const double *a, int64_t n, double v) {
    int64_t lo = 0, hi = n;
    while (lo < hi) {
        const int64_t mid = lo + (hi - lo) / 2;
        if (a[mid] < v) lo = mid + 1; else hi = mid;
    }
    return lo;
}

static int adaptive_on_end(void *self, const lc_history *h, int64_t trial) {
    adaptive_rule *r = (adaptive_rule *)self;
    if (h->state[trial] != LC_TRIAL_COMPLETED) return 0;
    if (r->n >= r->cap) return -1;  /* cannot happen: at most cap trials per repeat */
    const int32_t T = r->T;
    const double *curve = LC_CURVE(h, trial);
    const int64_t i = r->n;
    double *row = r->keys + (size_t)i * (size_t)T;
    for (int32_t t = 0; t < T; t++) {
        const double v = curve[t];
        row[t] = r->mode > 0 ? v : -v;
        if (v == v) {
            lc_sorted_insert(r->sorted + (size_t)t * (size_t)r->cap, r->cnt[t], row[t]);
            r->cnt[t]++;
        }
    }
    /* rank: best final key first; a new curve goes after the ones with an equal final key
     * (they completed earlier) */
    const double f = row[T - 1];
    int64_t lo = 0, hi = i;
    while (lo < hi) {
        const int64_t mid = lo + (hi - lo) / 2;
        const double g = r->keys[(size_t)r->rank[mid] * (size_t)T + (size_t)(T - 1)];
        if (g >= f) lo = mid + 1; else hi = mid;
    }
    memmove(r->rank + lo + 1, r->rank + lo, (size_t)(i - lo) * sizeof(int64_t));
    r->rank[lo] = i;
    r->n = i + 1;
    if (lo < r->k && r->n >= r->k) {
        for (int32_t t = 0; t < T; t++) {
            double m = NAN;
            for (int64_t j = 0; j < r->k; j++) {
                const double v = r->keys[(size_t)r->rank[j] * (size_t)T + (size_t)t];
                if (v == v && (m != m || v < m)) m = v;
            }
            r->theta[t] = m;
        }
    }
    return 0;
}

static int adaptive_decide(void *self, const lc_history *h, int64_t trial, int32_t t,
                           int32_t *stop) {
    const adaptive_rule *r = (const adaptive_rule *)self;
    *stop = 0;
    if (r->n <= r->k) return 0;
    const double th = r->theta[t - 1];
    if (th != th) return 0;
    const double *col = r->sorted + (size_t)(t - 1) * (size_t)r->cap;
    const int64_t e = lower_bound(col, r->cnt[t - 1], th);
    if (e == 0) return 0;
    const double v = LC_CURVE(h, trial)[t - 1];
    const double y = r->mode > 0 ? v : -v;
    const double lo = col[0];
    *stop = y < th - (th - lo) / (double)(e + 1);
    return 0;
}

static const lc_rule_ops adaptive_ops = {adaptive_reset, adaptive_decide, adaptive_on_end};
const lc_rule_kind lc_kind_adaptive = {
    "adaptive", 1, 0, 0, adaptive_bytes, adaptive_init, &adaptive_ops};
