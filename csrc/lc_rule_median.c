/* lc_rule_median.c: C twins of Syne Tune's and Ray Tune's median stopping rules
 * (lcore/stopping/peer_median.py states each decision; the peer's time_attr is the epoch
 * t = 1..T).  Registered in lc_rules.c.
 *
 * Both rules compare a trial at epoch t with other trials' values at t, running trials
 * included.  decide() is called after every epoch t < T of every trial, in event order, so
 * each rule records the trial's value at t in a per-epoch structure as the trial reports it:
 *   - synetune-median: per epoch, the sorted "smaller is better" keys of every trial that
 *     reported t (binary search for the rank, then an insert: O(log n) comparisons and a
 *     memmove of the larger keys);
 *   - ray-median: per epoch, the running means of the trials that reached t in two heaps (a
 *     max-heap of the lower half, a min-heap of the upper half): the median in O(1), an
 *     insert in O(log n).
 * The curve of the trial being decided is read to form its own value (O(t)).  The replay's
 * curves have no gaps (a table's NaN only trails), which the per-epoch records rely on. */
#include "lc_rules.h"

#include <math.h>
#include <string.h>

/* NumPy's pairwise summation (np.add.reduce of a contiguous float64 array, hence np.mean):
 * sequential below 8 values, 8 interleaved partial sums up to 128, halves beyond.  Not
 * static: tests/test_rules_peer_median.py calls it through ctypes against np.sum. */
double lc_np_pairwise_sum(const double *a, int64_t n);
double lc_np_pairwise_sum(const double *a, int64_t n) {
    if (n < 8) {
        double res = 0.0;
        for (int64_t i = 0; i < n; i++) res += a[i];
        return res;
    }
    if (n <= 128) {
        double r[8];
        for (int j = 0; j < 8; j++) r[j] = a[j];
        int64_t i;
        for (i = 8; i < n - (n % 8); i += 8)
            for (int j = 0; j < 8; j++) r[j] += a[i + j];
        double res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for (; i < n; i++) res += a[i];
        return res;
    }
    int64_t n2 = n / 2;
    n2 -= n2 % 8;
    return lc_np_pairwise_sum(a, n2) + lc_np_pairwise_sum(a + n2, n - n2);
}

/* np.mean of the finite values among v[0..n) times mult, gathered into buf (room for n). */
static double np_mean_finite(const double *v, int64_t n, double mult, double *buf,
                             int64_t *count) {
    int64_t k = 0;
    for (int64_t i = 0; i < n; i++)
        if (v[i] == v[i]) buf[k++] = v[i] * mult;
    *count = k;
    return k ? lc_np_pairwise_sum(buf, k) / (double)k : NAN;
}

/* ---- synetune-median: par = {running_average (0/1), grace_time (NaN: None),
 *      grace_population (NaN: None), rank_cutoff} ------------------------------------- */
typedef struct {
    int32_t running_average, has_grace_time, has_grace_pop, T;
    double grace_time, grace_pop, rank_cutoff, mult;
    int64_t cap;
    int64_t *count;            /* T: keys recorded at epoch t (index t - 1) */
    double *keys;              /* T x cap: sorted ascending */
    double *buf;               /* T: scratch */
} st_rule;

static size_t st_bytes(const double *par, int32_t T, int64_t cap) {
    (void)par;
    return lc_align64(sizeof(st_rule)) + lc_align64(sizeof(int64_t) * (size_t)T) +
           lc_align64(sizeof(double) * (size_t)T * (size_t)cap) +
           lc_align64(sizeof(double) * (size_t)T);
}

static int st_init(void *mem, const double *par, int32_t T, int64_t cap, int32_t mode,
                   const lc_rule *inner) {
    (void)inner;
    st_rule *r = (st_rule *)mem;
    char *p = (char *)mem + lc_align64(sizeof(st_rule));
    r->count = (int64_t *)p;
    p += lc_align64(sizeof(int64_t) * (size_t)T);
    r->keys = (double *)p;
    p += lc_align64(sizeof(double) * (size_t)T * (size_t)cap);
    r->buf = (double *)p;
    r->T = T;
    r->cap = cap;
    r->running_average = par[0] != 0.0;
    r->has_grace_time = par[1] == par[1];
    r->grace_time = par[1];
    r->has_grace_pop = par[2] == par[2];
    r->grace_pop = par[2];
    r->rank_cutoff = par[3];
    r->mult = mode > 0 ? -1.0 : 1.0;   /* Syne Tune's metric_multiplier (1: minimise) */
    return (r->rank_cutoff >= 0.0 && r->rank_cutoff <= 1.0) ? 0 : -1;
}

static int st_reset(void *self, const lc_history *h) {
    (void)h;
    st_rule *r = (st_rule *)self;
    memset(r->count, 0, sizeof(int64_t) * (size_t)r->T);
    return 0;
}

static int st_decide(void *self, const lc_history *h, int64_t trial, int32_t t,
                     int32_t *stop) {
    st_rule *r = (st_rule *)self;
    const double *curve = LC_CURVE(h, trial);
    double key;
    if (r->running_average) {
        int64_t k;
        key = np_mean_finite(curve, t, r->mult, r->buf, &k);
    } else {
        key = curve[t - 1] * r->mult;
    }
    *stop = 0;
    if (key != key) return 0;            /* not reached: the loop's curves have no gaps */
    double *a = r->keys + (size_t)(t - 1) * (size_t)r->cap;
    const int64_t n0 = r->count[t - 1];
    if (n0 >= r->cap) return -1;
    /* np.searchsorted(a, key) (side "left"): the number of keys < key */
    int64_t lo = 0, hi = n0;
    while (lo < hi) {
        const int64_t mid = lo + (hi - lo) / 2;
        if (a[mid] < key) lo = mid + 1; else hi = mid;
    }
    const int64_t rank = lo;
    memmove(a + rank + 1, a + rank, (size_t)(n0 - rank) * sizeof(double));
    a[rank] = key;
    const int64_t n = n0 + 1;
    r->count[t - 1] = n;
    if (r->has_grace_pop && (double)n < r->grace_pop) return 0;
    if (r->has_grace_time && (double)t < r->grace_time) return 0;
    *stop = (double)rank / (double)n > r->rank_cutoff;
    return 0;
}

static const lc_rule_ops st_ops = {st_reset, st_decide, NULL};
const lc_rule_kind lc_kind_synetune_median = {
    "synetune-median", 4, 0, 0, st_bytes, st_init, &st_ops};

/* ---- ray-median: par = {grace_period, min_samples_required} ------------------------- */
typedef struct {
    int32_t T, mode, g;        /* g: the first epoch >= grace_period (T when none < T) */
    int64_t min_samples, cap, half;
    int64_t *nlo, *nhi;        /* T: heap sizes at epoch t (index t - 1) */
    double *lo, *hi;           /* T x half each: max-heap of the lower half, min-heap of the
                                  upper half of the running means recorded at t */
    double *buf;               /* T + 1: scratch */
} ray_rule;

static int64_t ray_half(int64_t cap) { return cap / 2 + 2; }

static size_t ray_bytes(const double *par, int32_t T, int64_t cap) {
    (void)par;
    const size_t heap = lc_align64(sizeof(double) * (size_t)T * (size_t)ray_half(cap));
    return lc_align64(sizeof(ray_rule)) + 2 * lc_align64(sizeof(int64_t) * (size_t)T) +
           2 * heap + lc_align64(sizeof(double) * ((size_t)T + 1));
}

static int ray_init(void *mem, const double *par, int32_t T, int64_t cap, int32_t mode,
                    const lc_rule *inner) {
    (void)inner;
    ray_rule *r = (ray_rule *)mem;
    const int64_t half = ray_half(cap);
    const size_t heap = lc_align64(sizeof(double) * (size_t)T * (size_t)half);
    char *p = (char *)mem + lc_align64(sizeof(ray_rule));
    r->nlo = (int64_t *)p;
    p += lc_align64(sizeof(int64_t) * (size_t)T);
    r->nhi = (int64_t *)p;
    p += lc_align64(sizeof(int64_t) * (size_t)T);
    r->lo = (double *)p;
    p += heap;
    r->hi = (double *)p;
    p += heap;
    r->buf = (double *)p;
    r->T = T;
    r->mode = mode;
    r->cap = cap;
    r->half = half;
    const double gp = par[0];
    r->min_samples = (int64_t)par[1];
    if (!(gp >= 0.0) || r->min_samples < 1) return -1;
    /* the first epoch t >= 1 with t >= grace_period; T (never asked) when none is < T */
    r->g = gp <= 1.0 ? 1 : (gp >= (double)T ? T : (int32_t)ceil(gp));
    return 0;
}

static int ray_reset(void *self, const lc_history *h) {
    (void)h;
    ray_rule *r = (ray_rule *)self;
    memset(r->nlo, 0, sizeof(int64_t) * (size_t)r->T);
    memset(r->nhi, 0, sizeof(int64_t) * (size_t)r->T);
    return 0;
}

/* heap of n values: sgn = +1 a max-heap, -1 a min-heap */
static void heap_push(double *a, int64_t n, double v, double sgn) {
    int64_t i = n;
    while (i > 0) {
        const int64_t up = (i - 1) / 2;
        if (!(sgn * a[up] < sgn * v)) break;
        a[i] = a[up];
        i = up;
    }
    a[i] = v;
}

static double heap_pop(double *a, int64_t n, double sgn) {
    const double top = a[0], v = a[n - 1];
    const int64_t m = n - 1;
    int64_t i = 0;
    for (;;) {
        int64_t c = 2 * i + 1;
        if (c >= m) break;
        if (c + 1 < m && sgn * a[c + 1] > sgn * a[c]) c++;
        if (!(sgn * a[c] > sgn * v)) break;
        a[i] = a[c];
        i = c;
    }
    if (m > 0) a[i] = v;
    return top;
}

static void ray_record(ray_rule *r, int32_t t, double v) {
    double *lo = r->lo + (size_t)(t - 1) * (size_t)r->half;
    double *hi = r->hi + (size_t)(t - 1) * (size_t)r->half;
    int64_t nl = r->nlo[t - 1], nh = r->nhi[t - 1];
    if (nl == 0 || v <= lo[0]) heap_push(lo, nl++, v, 1.0);
    else heap_push(hi, nh++, v, -1.0);
    if (nl > nh + 1) {
        const double x = heap_pop(lo, nl--, 1.0);
        heap_push(hi, nh++, x, -1.0);
    } else if (nh > nl) {
        const double x = heap_pop(hi, nh--, -1.0);
        heap_push(lo, nl++, x, 1.0);
    }
    r->nlo[t - 1] = nl;
    r->nhi[t - 1] = nh;
}

static int ray_decide(void *self, const lc_history *h, int64_t trial, int32_t t,
                      int32_t *stop) {
    ray_rule *r = (ray_rule *)self;
    *stop = 0;
    if (t < r->g) return 0;              /* time < grace_period: nothing is computed */
    const int64_t nl = r->nlo[t - 1], n = nl + r->nhi[t - 1];
    if (n >= r->min_samples) {
        const double *lo = r->lo + (size_t)(t - 1) * (size_t)r->half;
        const double *hi = r->hi + (size_t)(t - 1) * (size_t)r->half;
        /* np.median: the middle value, or the np.mean (a + b) / 2 of the two middle ones */
        const double med = (n % 2) ? lo[0] : (lo[0] + hi[0]) / 2.0;
        const double best = h->best[trial];
        *stop = r->mode > 0 ? med > best : med < best;
    }
    /* record this trial's running mean at t over epochs g..t, for the trials deciding at t
     * after it; a stopped trial's last result is repeated (Ray's on_trial_complete) */
    const double *curve = LC_CURVE(h, trial);
    const int64_t m = t - r->g + 1;
    if (n >= r->cap) return -1;
    memcpy(r->buf, curve + (r->g - 1), (size_t)m * sizeof(double));
    int64_t k = m;
    if (*stop) r->buf[k++] = curve[t - 1];
    const double mean = lc_np_pairwise_sum(r->buf, k) / (double)k;
    ray_record(r, t, mean);
    return 0;
}

static const lc_rule_ops ray_ops = {ray_reset, ray_decide, NULL};
const lc_rule_kind lc_kind_ray_median = {
    "ray-median", 2, 0, 0, ray_bytes, ray_init, &ray_ops};
