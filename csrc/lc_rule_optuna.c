/* lc_rule_optuna.c: C twins of Optuna's pruners (lcore/stopping/optuna_rules.py states each
 * decision; steps are epochs 1..T).  Registered in lc_rules.c. */
#include "lc_rules.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

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

/* ---- optuna-percentile / optuna-median: par = {percentile, n_startup_trials,
 *      n_warmup_steps, interval_steps, n_min_trials} (optuna-median: the same without the
 *      percentile, which is 50).  Per epoch t < T, the sorted values at t of the completed
 *      trials (one sorted insertion per completed trial and epoch); a decision is O(1). ---- */
typedef struct {
    double q;                  /* the quantile in [0, 1] by the rule's direction */
    int64_t startup, warmup, interval, min_trials;
    int32_t T, mode;
    int64_t cap, n_completed;
    double *sorted;            /* (T - 1) x cap: row t - 1 holds the values at epoch t */
    int64_t *cnt;              /* T - 1 */
} percentile_rule;

static size_t pct_bytes_T(int32_t T, int64_t cap) {
    const size_t rows = T > 1 ? (size_t)(T - 1) : 1;
    return lc_align64(sizeof(percentile_rule)) + lc_align64(rows * (size_t)cap * sizeof(double))
           + lc_align64(rows * sizeof(int64_t));
}

static size_t percentile_bytes(const double *par, int32_t T, int64_t cap) {
    (void)par;
    return pct_bytes_T(T, cap);
}

static int pct_init_common(percentile_rule *r, void *mem, double pct, const double *counts,
                           int32_t T, int64_t cap, int32_t mode) {
    char *p = (char *)mem;
    const size_t rows = T > 1 ? (size_t)(T - 1) : 1;
    if (!(pct >= 0.0 && pct <= 100.0) || cap < 1) return -1;
    /* NumPy: np.nanpercentile(values, 100 - percentile when maximizing) = quantile / 100 */
    r->q = (mode > 0 ? 100.0 - pct : pct) / 100.0;
    r->startup = (int64_t)counts[0];
    r->warmup = (int64_t)counts[1];
    r->interval = (int64_t)counts[2];
    r->min_trials = (int64_t)counts[3];
    r->T = T;
    r->mode = mode;
    r->cap = cap;
    p += lc_align64(sizeof(percentile_rule));
    r->sorted = (double *)p;
    p += lc_align64(rows * (size_t)cap * sizeof(double));
    r->cnt = (int64_t *)p;
    return (r->startup >= 0 && r->warmup >= 0 && r->interval >= 1 && r->min_trials >= 1) ? 0
                                                                                          : -1;
}

static int percentile_init(void *mem, const double *par, int32_t T, int64_t cap, int32_t mode,
                           const lc_rule *inner) {
    (void)inner;
    return pct_init_common((percentile_rule *)mem, mem, par[0], par + 1, T, cap, mode);
}

static int median_init(void *mem, const double *par, int32_t T, int64_t cap, int32_t mode,
                       const lc_rule *inner) {
    (void)inner;
    return pct_init_common((percentile_rule *)mem, mem, 50.0, par, T, cap, mode);
}

static int percentile_reset(void *self, const lc_history *h) {
    (void)h;
    percentile_rule *r = (percentile_rule *)self;
    r->n_completed = 0;
    if (r->T > 1) memset(r->cnt, 0, (size_t)(r->T - 1) * sizeof(int64_t));
    return 0;
}

static int percentile_on_end(void *self, const lc_history *h, int64_t trial) {
    percentile_rule *r = (percentile_rule *)self;
    if (h->state[trial] != LC_TRIAL_COMPLETED) return 0;
    if (r->n_completed >= r->cap) return -1;
    const double *curve = LC_CURVE(h, trial);
    for (int32_t t = 1; t < r->T; t++) {
        const double v = curve[t - 1];
        if (v != v) continue;
        lc_sorted_insert(r->sorted + (size_t)(t - 1) * (size_t)r->cap, r->cnt[t - 1], v);
        r->cnt[t - 1]++;
    }
    r->n_completed++;
    return 0;
}

/* NumPy's linear-interpolation quantile of the sorted a[0..n) (n >= 1): virtual index
 * (n - 1) * q, its floor i and fraction g; lerp as numpy's _lerp (from the nearer end). */
static double numpy_quantile_sorted(const double *a, int64_t n, double q) {
    const double vi = (double)(n - 1) * q;
    if (vi >= (double)(n - 1)) return a[n - 1];
    const double fl = floor(vi);
    const int64_t i = (int64_t)fl;
    const double g = vi - fl;
    return lc_numpy_lerp(a[i], a[i + 1], g);
}

static int percentile_decide(void *self, const lc_history *h, int64_t trial, int32_t t,
                             int32_t *stop) {
    const percentile_rule *r = (const percentile_rule *)self;
    *stop = 0;
    if (r->n_completed == 0 || r->n_completed < r->startup) return 0;
    if (t < r->warmup || t >= r->T) return 0;
    const double *curve = LC_CURVE(h, trial);
    if (!first_in_interval(curve, t, r->warmup, r->interval)) return 0;
    const double best = h->best[trial];
    if (best != best) { *stop = 1; return 0; }
    const int64_t n = r->cnt[t - 1];
    if (n == 0 || n < r->min_trials) return 0;
    const double p = numpy_quantile_sorted(r->sorted + (size_t)(t - 1) * (size_t)r->cap, n, r->q);
    *stop = r->mode > 0 ? best < p : best > p;
    return 0;
}

static const lc_rule_ops percentile_ops = {percentile_reset, percentile_decide,
                                           percentile_on_end};
const lc_rule_kind lc_kind_optuna_percentile = {
    "optuna-percentile", 5, 0, 0, percentile_bytes, percentile_init, &percentile_ops};
const lc_rule_kind lc_kind_optuna_median = {
    "optuna-median", 4, 0, 0, percentile_bytes, median_init, &percentile_ops};

/* ---- optuna-patient: par = {patience, min_delta, has_wrapped (0/1)}; wraps a rule (with
 *      has_wrapped = 0 the binding passes "none", which is then ignored).  The wrapped rule
 *      is asked at every epoch; the trial stops when the patience test and it both say so.
 *      Per trial: the best of the values before the last patience + 1 observed ones, folded
 *      in as that boundary moves on (amortised O(1) plus O(patience) per decision). ---- */
typedef struct {
    int64_t patience;
    double min_delta;
    int32_t has_inner, mode;
    lc_rule inner;
    int64_t cap;
    double *pre_best;          /* cap: best (by mode, as mode * value) of the folded values */
    int32_t *pre_k;            /* cap: epochs folded (curve[0 .. pre_k)) */
    int32_t *pre_n;            /* cap: finite values among them */
} patient_rule;

static size_t patient_bytes(const double *par, int32_t T, int64_t cap) {
    (void)par; (void)T;
    return lc_align64(sizeof(patient_rule)) + lc_align64((size_t)cap * sizeof(double))
           + 2 * lc_align64((size_t)cap * sizeof(int32_t));
}

static int patient_init(void *mem, const double *par, int32_t T, int64_t cap, int32_t mode,
                        const lc_rule *inner) {
    (void)T;
    patient_rule *r = (patient_rule *)mem;
    char *p = (char *)mem + lc_align64(sizeof(patient_rule));
    if (inner == NULL || cap < 1) return -1;
    r->patience = (int64_t)par[0];
    r->min_delta = par[1];
    r->has_inner = par[2] != 0.0;
    r->mode = mode;
    r->inner = *inner;
    r->cap = cap;
    r->pre_best = (double *)p;
    p += lc_align64((size_t)cap * sizeof(double));
    r->pre_k = (int32_t *)p;
    p += lc_align64((size_t)cap * sizeof(int32_t));
    r->pre_n = (int32_t *)p;
    return (r->patience >= 0 && r->min_delta >= 0.0) ? 0 : -1;
}

static int patient_reset(void *self, const lc_history *h) {
    patient_rule *r = (patient_rule *)self;
    memset(r->pre_k, 0, (size_t)r->cap * sizeof(int32_t));
    memset(r->pre_n, 0, (size_t)r->cap * sizeof(int32_t));
    return r->inner.ops->reset ? r->inner.ops->reset(r->inner.self, h) : 0;
}

static int patient_on_end(void *self, const lc_history *h, int64_t trial) {
    patient_rule *r = (patient_rule *)self;
    return r->inner.ops->on_end ? r->inner.ops->on_end(r->inner.self, h, trial) : 0;
}

static int patient_decide(void *self, const lc_history *h, int64_t trial, int32_t t,
                          int32_t *stop) {
    patient_rule *r = (patient_rule *)self;
    int32_t inner_stop = 1;
    if (r->has_inner) {
        inner_stop = 0;
        if (r->inner.ops->decide) {
            const int e = r->inner.ops->decide(r->inner.self, h, trial, t, &inner_stop);
            if (e < 0) return e;
        }
    }
    *stop = 0;
    if (trial >= r->cap) return -1;
    const double *curve = LC_CURVE(h, trial);
    const double sg = r->mode > 0 ? 1.0 : -1.0;
    /* the last patience + 1 observed values ("after"), scanning back from t */
    double after = -INFINITY;
    int64_t need = r->patience + 1;
    int32_t b = t;             /* the boundary: "after" = the observed values in [b, t) */
    while (need > 0 && b > 0) {
        const double v = curve[b - 1];
        b--;
        if (v == v) {
            if (sg * v > after) after = sg * v;
            need--;
        }
    }
    if (need > 0) return 0;    /* fewer than patience + 1 observed values */
    /* fold curve[pre_k .. b) into "before" */
    int32_t k = r->pre_k[trial];
    double pre = r->pre_n[trial] ? r->pre_best[trial] : -INFINITY;
    int32_t n = r->pre_n[trial];
    for (; k < b; k++) {
        const double v = curve[k];
        if (v == v) {
            if (n == 0 || sg * v > pre) pre = sg * v;
            n++;
        }
    }
    r->pre_k[trial] = k;
    r->pre_best[trial] = pre;
    r->pre_n[trial] = n;
    if (n == 0) return 0;      /* n_observed <= patience + 1 */
    /* "max": max(before) - min_delta > max(after); "min": min(before) + min_delta <
     * min(after), i.e. -(-min(before)) + min_delta < -(-min(after)) */
    int maybe;
    if (r->mode > 0) maybe = pre - r->min_delta > after;
    else maybe = (-pre) + r->min_delta < (-after);
    *stop = maybe && inner_stop;
    return 0;
}

static const lc_rule_ops patient_ops = {patient_reset, patient_decide, patient_on_end};
const lc_rule_kind lc_kind_optuna_patient = {
    "optuna-patient", 3, 0, 1, patient_bytes, patient_init, &patient_ops};

/* ---- the Wilcoxon signed-rank p-value, as scipy.stats.wilcoxon(d, alternative=...,
 *      zero_method="zsplit") computes it with method "auto" (SciPy 1.17):
 *   - n > 50, or 13 < n <= 50 with ties in |d| or zeros: the normal approximation,
 *     z = (r_plus - n(n+1)/4) / sqrt((n(n+1)(2n+1) - sum(t^3 - t)/2) / 24) (t: the sizes
 *     of the groups of tied |d|, zeros included), no continuity correction, p = ndtr(z)
 *     ("less") or ndtr(-z) ("greater");
 *   - n <= 50 without ties or zeros: the exact null distribution of r_plus (integer counts
 *     of the subsets of 1..n by sum, / 2^n: exact in double, as SciPy's are);
 *   - n <= 13 with ties or zeros: SciPy's exact sign-flip permutation test (all 2^n flips;
 *     the statistic takes values on a grid of 1/4, so its relative tolerance changes
 *     nothing), counted by dynamic programming over the doubled ranks.
 * r_plus = the sum of the (average) ranks of |d| of the positive d plus half the ranks of
 * the zeros.  ndtr is Cephes' (erf / erfc rational approximations, the ones SciPy uses). */

#define WX_EXACT_MAX 50
#define WX_PERM_MAX 13

static const double NDTR_P[] = {
    2.46196981473530512524E-10, 5.64189564831068821977E-1, 7.46321056442269912687E0,
    4.86371970985681366614E1, 1.96520832956077098242E2, 5.26445194995477358631E2,
    9.34528527171957607540E2, 1.02755188689515710272E3, 5.57535335369399327526E2};
static const double NDTR_Q[] = {
    1.32281951154744992508E1, 8.67072140885989742329E1, 3.54937778887819891062E2,
    9.75708501743205489753E2, 1.82390916687909736289E3, 2.24633760818710981792E3,
    1.65666309194161350182E3, 5.57535340817727675546E2};
static const double NDTR_R[] = {
    5.64189583547755073984E-1, 1.27536670759978104416E0, 5.01905042251180477414E0,
    6.16021097993053585195E0, 7.40974269950448939160E0, 2.97886665372100240670E0};
static const double NDTR_S[] = {
    2.26052863220117276590E0, 9.39603524938001434673E0, 1.20489539808096656605E1,
    1.70814450747565897222E1, 9.60896809063285878198E0, 3.36907645100081516050E0};
static const double NDTR_T[] = {
    9.60497373987051638749E0, 9.00260197203842689217E1, 2.23200534594684319226E3,
    7.00332514112805075473E3, 5.55923013010394962768E4};
static const double NDTR_U[] = {
    3.35617141647503099647E1, 5.21357949780152679795E2, 4.59432382970980127987E3,
    2.26290000613890934246E4, 4.92673942608635921086E4};

/* c[0] x^n + ... + c[n] (Horner) */
static double horner(double x, const double *c, int n) {
    double a = c[0];
    for (int i = 1; i <= n; i++) a = a * x + c[i];
    return a;
}
/* x^n + c[0] x^(n-1) + ... + c[n-1] */
static double horner1(double x, const double *c, int n) {
    double a = x + c[0];
    for (int i = 1; i < n; i++) a = a * x + c[i];
    return a;
}

static double ceph_erf(double x);

static double ceph_erfc(double a) {
    const double x = a < 0.0 ? -a : a;
    if (x < 1.0) return 1.0 - ceph_erf(a);
    double z = -a * a;
    if (z < -7.09782712893383996843E2) return a < 0 ? 2.0 : 0.0;
    z = exp(z);
    double p, q;
    if (x < 8.0) {
        p = horner(x, NDTR_P, 8);
        q = horner1(x, NDTR_Q, 8);
    } else {
        p = horner(x, NDTR_R, 5);
        q = horner1(x, NDTR_S, 6);
    }
    double y = (z * p) / q;
    if (a < 0) y = 2.0 - y;
    if (y != 0.0) return y;
    return a < 0 ? 2.0 : 0.0;
}

static double ceph_erf(double x) {
    if (x < 0.0) return -ceph_erf(-x);
    if (fabs(x) > 1.0) return 1.0 - ceph_erfc(x);
    const double z = x * x;
    return x * horner(z, NDTR_T, 4) / horner1(z, NDTR_U, 5);
}

static double ceph_ndtr(double a) {
    if (a != a) return a;
    const double x = a * 0.70710678118654752440;
    const double z = fabs(x);
    if (z < 1.0) return 0.5 + 0.5 * ceph_erf(x);
    double y = 0.5 * ceph_erfc(z);
    if (x > 0) y = 1.0 - y;
    return y;
}

/* doubles in the exact tables for n = 1 .. nmax: cumulative counts of r_plus = 0..n(n+1)/2 */
static size_t wx_table_len(int32_t nmax) {
    size_t len = 0;
    for (int32_t n = 1; n <= nmax; n++) len += (size_t)n * (size_t)(n + 1) / 2 + 1;
    return len;
}

static size_t wx_table_off(int32_t n) { return wx_table_len(n - 1); }

/* fill the cumulative tables; scratch: nmax(nmax+1)/2 + 1 doubles */
static void wx_table_fill(double *tab, int32_t nmax, double *scratch) {
    /* counts of the subsets of 1..n by sum, exact integers (< 2^50) in double */
    scratch[0] = 1.0;
    int64_t top = 0;
    for (int32_t n = 1; n <= nmax; n++) {
        const int64_t ntop = top + n;
        for (int64_t s = ntop; s >= 0; s--) {
            const double keep = s <= top ? scratch[s] : 0.0;
            scratch[s] = keep + (s >= n ? scratch[s - n] : 0.0);
        }
        top = ntop;
        double *c = tab + wx_table_off(n);
        double acc = 0.0;
        for (int64_t s = 0; s <= top; s++) {
            acc += scratch[s];
            c[s] = acc;
        }
    }
}

typedef struct {
    double a;                  /* |d| */
    double d;
} wx_item;

static int wx_cmp(const void *x, const void *y) {
    const double a = ((const wx_item *)x)->a, b = ((const wx_item *)y)->a;
    return (a > b) - (a < b);
}

/* p-value for d[0..n) (n >= 1, finite): greater = 1 for alternative "greater", else "less".
 * items: n; tab: the exact tables for n' <= nmax (nmax >= min(n, 50)); dp: at least
 * WX_PERM_MAX * (WX_PERM_MAX + 1) + 1 doubles. */
static double wx_pvalue(const double *d, int32_t n, int greater, wx_item *items,
                        const double *tab, double *dp) {
    for (int32_t i = 0; i < n; i++) {
        items[i].d = d[i];
        items[i].a = fabs(d[i]);
    }
    qsort(items, (size_t)n, sizeof(wx_item), wx_cmp);
    /* doubled average ranks: a group at sorted positions i..j (0-based) has rank (i+j+2)/2 */
    int64_t r4 = 0;            /* 4 * r_plus */
    double tie = 0.0;          /* sum over groups of g^3 - g */
    int has_ties = 0, n_zero = 0;
    for (int32_t i = 0; i < n;) {
        int32_t j = i;
        while (j + 1 < n && items[j + 1].a == items[i].a) j++;
        const int64_t r2 = (int64_t)i + j + 2;
        const double g = (double)(j - i + 1);
        if (j > i) has_ties = 1;
        tie += g * g * g - g;
        for (int32_t k = i; k <= j; k++) {
            if (items[k].d > 0) r4 += 2 * r2;
            else if (items[k].d == 0) { r4 += r2; n_zero++; }
        }
        i = j + 1;
    }
    const double r_plus = (double)r4 / 4.0;
    if (n <= WX_EXACT_MAX && !has_ties && n_zero == 0) {
        /* r_plus is an integer k: P(R <= k) or P(R >= k) = 1 - P(R <= k - 1) */
        const int64_t k = r4 / 4, top = (int64_t)n * (n + 1) / 2;
        const double *c = tab + wx_table_off(n);
        const double scale = ldexp(1.0, -n);
        if (!greater) return (k >= top ? c[top] : c[k]) * scale;
        return (k <= 0 ? c[top] : c[top] - c[k - 1]) * scale;
    }
    if (n <= WX_PERM_MAX) {
        /* the flips move the nonzero items only: count the subsets of their doubled ranks
         * with sum <= (less) or >= (greater) the observed sum */
        int64_t obs = 0, total = 0;
        dp[0] = 1.0;
        for (int32_t i = 0; i < n;) {
            int32_t j = i;
            while (j + 1 < n && items[j + 1].a == items[i].a) j++;
            const int64_t r2 = (int64_t)i + j + 2;
            for (int32_t k = i; k <= j; k++) {
                if (items[k].d == 0) continue;
                if (items[k].d > 0) obs += r2;
                for (int64_t s = total + r2; s >= 0; s--)
                    dp[s] = (s <= total ? dp[s] : 0.0) + (s >= r2 ? dp[s - r2] : 0.0);
                total += r2;
            }
            i = j + 1;
        }
        double cnt = 0.0;
        if (!greater) for (int64_t s = 0; s <= obs; s++) cnt += dp[s];
        else for (int64_t s = obs; s <= total; s++) cnt += dp[s];
        /* each zero doubles every count (its two flips give the same statistic) */
        return cnt * ldexp(1.0, n_zero) / ldexp(1.0, n);
    }
    const double cn = (double)n;
    const double mn = cn * (cn + 1.) * 0.25;
    double se = cn * (cn + 1.) * (2. * cn + 1.);
    se = sqrt((se - tie / 2) / 24);
    const double z = (r_plus - mn) / se;
    return greater ? ceph_ndtr(-z) : ceph_ndtr(z);
}

/* The p-value of d[0..n) on its own (for tests, through ctypes); NaN when out of memory. */
double lc_optuna_wilcoxon_pvalue(const double *d, int32_t n, int32_t greater) {
    if (n < 1) return NAN;
    const int32_t nmax = n < WX_EXACT_MAX ? n : WX_EXACT_MAX;
    double *tab = (double *)malloc(wx_table_len(nmax) * sizeof(double));
    double *scratch = (double *)malloc(((size_t)nmax * (nmax + 1) / 2 + 1) * sizeof(double));
    double *dp = (double *)malloc((WX_PERM_MAX * (WX_PERM_MAX + 1) + 1) * sizeof(double));
    wx_item *items = (wx_item *)malloc((size_t)n * sizeof(wx_item));
    double p = NAN;
    if (tab && scratch && dp && items) {
        wx_table_fill(tab, nmax, scratch);
        p = wx_pvalue(d, n, greater, items, tab, dp);
    }
    free(tab); free(scratch); free(dp); free(items);
    return p;
}

/* ---- optuna-wilcoxon: par = {p_threshold, n_startup_steps}.  Keeps a copy of the best
 *      completed curve (by final value; ties: the earliest) with its sum and count. ---- */
typedef struct {
    double p_threshold;
    int64_t startup;
    int32_t T, mode, nmax;
    int64_t best;              /* -1: no completed trial yet */
    double best_final, best_sum;
    int32_t best_n, best_bad;
    double *best_curve;        /* T */
    double *diff;              /* T */
    wx_item *items;            /* T */
    double *dp;                /* WX_PERM_MAX * (WX_PERM_MAX + 1) + 1 */
    double *tab;               /* exact tables for n <= nmax */
} wilcoxon_rule;

static int32_t wx_nmax(int32_t T) { return T < WX_EXACT_MAX ? (T > 1 ? T : 1) : WX_EXACT_MAX; }

static size_t wilcoxon_bytes(const double *par, int32_t T, int64_t cap) {
    (void)par; (void)cap;
    const int32_t nmax = wx_nmax(T);
    const size_t tl = (size_t)(T > 1 ? T : 1);
    return lc_align64(sizeof(wilcoxon_rule)) + 2 * lc_align64(tl * sizeof(double))
           + lc_align64(tl * sizeof(wx_item))
           + lc_align64((WX_PERM_MAX * (WX_PERM_MAX + 1) + 1) * sizeof(double))
           + lc_align64(wx_table_len(nmax) * sizeof(double))
           + lc_align64(((size_t)nmax * (nmax + 1) / 2 + 1) * sizeof(double));
}

static int wilcoxon_init(void *mem, const double *par, int32_t T, int64_t cap, int32_t mode,
                         const lc_rule *inner) {
    (void)cap; (void)inner;
    wilcoxon_rule *r = (wilcoxon_rule *)mem;
    const int32_t nmax = wx_nmax(T);
    const size_t tl = (size_t)(T > 1 ? T : 1);
    char *p = (char *)mem + lc_align64(sizeof(wilcoxon_rule));
    r->p_threshold = par[0];
    r->startup = (int64_t)par[1];
    r->T = T;
    r->mode = mode;
    r->nmax = nmax;
    r->best_curve = (double *)p; p += lc_align64(tl * sizeof(double));
    r->diff = (double *)p; p += lc_align64(tl * sizeof(double));
    r->items = (wx_item *)p; p += lc_align64(tl * sizeof(wx_item));
    r->dp = (double *)p; p += lc_align64((WX_PERM_MAX * (WX_PERM_MAX + 1) + 1) * sizeof(double));
    r->tab = (double *)p; p += lc_align64(wx_table_len(nmax) * sizeof(double));
    wx_table_fill(r->tab, nmax, (double *)p);
    r->best = -1;
    return (r->p_threshold >= 0.0 && r->p_threshold <= 1.0 && r->startup >= 0) ? 0 : -1;
}

static int wilcoxon_reset(void *self, const lc_history *h) {
    (void)h;
    wilcoxon_rule *r = (wilcoxon_rule *)self;
    r->best = -1;
    return 0;
}

static int wilcoxon_on_end(void *self, const lc_history *h, int64_t trial) {
    wilcoxon_rule *r = (wilcoxon_rule *)self;
    if (h->state[trial] != LC_TRIAL_COMPLETED) return 0;
    const double *curve = LC_CURVE(h, trial);
    const double fin = curve[r->T - 1];
    if (fin != fin) return 0;
    if (r->best >= 0 && !(r->mode > 0 ? fin > r->best_final : fin < r->best_final)) return 0;
    r->best = trial;
    r->best_final = fin;
    memcpy(r->best_curve, curve, (size_t)r->T * sizeof(double));
    double s = 0.0;
    int32_t n = 0, bad = 0;
    for (int32_t i = 0; i < r->T; i++) {
        const double v = curve[i];
        if (v != v) continue;
        if (!isfinite(v)) bad = 1;
        s += v;
        n++;
    }
    r->best_sum = s;
    r->best_n = n;
    r->best_bad = bad;
    return 0;
}

static int wilcoxon_decide(void *self, const lc_history *h, int64_t trial, int32_t t,
                           int32_t *stop) {
    wilcoxon_rule *r = (wilcoxon_rule *)self;
    *stop = 0;
    if (r->best < 0 || r->best_bad || t >= r->T) return 0;
    const double *curve = LC_CURVE(h, trial);
    double s = 0.0;
    int32_t n = 0, m = 0;
    for (int32_t i = 0; i < t; i++) {
        const double v = curve[i];
        if (v != v) continue;
        if (!isfinite(v)) return 0;
        s += v;
        n++;
        const double b = r->best_curve[i];
        if (b == b) r->diff[m++] = v - b;
    }
    if (n == 0) return 0;
    const int64_t need = r->startup > 2 ? r->startup : 2;
    if (m < need) return 0;
    /* Optuna's safety: never stop a trial whose mean is at least as good as the best's */
    const double mb = r->best_sum / r->best_n, mt = s / n;
    if (r->mode > 0 ? mb <= mt : mb >= mt) return 0;
    const double p = wx_pvalue(r->diff, m, r->mode < 0, r->items, r->tab, r->dp);
    *stop = p < r->p_threshold;
    return 0;
}

static const lc_rule_ops wilcoxon_ops = {wilcoxon_reset, wilcoxon_decide, wilcoxon_on_end};
const lc_rule_kind lc_kind_optuna_wilcoxon = {
    "optuna-wilcoxon", 2, 0, 0, wilcoxon_bytes, wilcoxon_init, &wilcoxon_ops};
