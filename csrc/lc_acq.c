/* lc_acq.c: acquisition functions and the fused forest + EI chooser (see lc_acq.h).
 *
 * Scoring all candidates at once: the candidates are fixed for a replay, so each tree is
 * descended with one bitset per node over all of them (left = set AND {x_f <= thr},
 * right = set AND NOT left).  With each feature's candidates ranked once per replay
 * (rank = position in the feature's sorted order), {x_f <= thr} = {rank_f < k} where
 * k = #{x_f <= thr} is found once per node (bucket table + a short binary search); one
 * 64-bit word of the left set is then 64 small-integer compares (SSE2: 8 compares and 4
 * movemasks).  Node bitsets carry the list of their nonzero words and work is done on
 * those only; the internal k-d order keeps deep nodes' candidates in few words.  A node
 * whose candidates are spread thin (fewer than list_density per listed word) lists them
 * once and its subtree is scored per candidate: each split partitions the id list by the
 * same rank compare (AVX2: 8 gathered ranks, compress by a permutation table).  Every
 * candidate ends with the id of its leaf; one pass per tree then adds the leaves' values to
 * the candidates' running mean / variance (lc_forest_welford).
 */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

#include "lc_acq.h"

#include <math.h>
#include <string.h>

#if !defined(_WIN32)
#include <pthread.h>
#define LC_HAVE_THREADS 1
#endif

/* One thread's tree and scratch (n_threads > 1; lane 0 uses the context's own fields). */
struct lc_rfei_lane {
    lc_forest tree;
    int32_t *node_rank;
    int32_t *order;     /* n_all + 16 */
    int32_t *alt;       /* n_all + 16 */
    int32_t *list_tmp;  /* n_all + 16 */
    uint64_t *slots;
    int32_t *wlist;
    void *fit_work;
};

#define LC_MAX_THREADS 64

int lc_rfei_threads_available(void) {
#ifdef LC_HAVE_THREADS
    return 1;
#else
    return 0;
#endif
}

static int clamp_threads(int n_threads) {
#ifdef LC_HAVE_THREADS
    return n_threads < 1 ? 1 : n_threads > LC_MAX_THREADS ? LC_MAX_THREADS : n_threads;
#else
    (void)n_threads;
    return 1;
#endif
}

/* Trees per round with n_threads > 1: all of them (one barrier per call) while the
 * round's leaf arrays stay within 32 MiB, else fewer (at least one per thread). */
static int round_size_for(int n_threads, int n_trees, int64_t n_all) {
    int64_t r = n_trees;
    const int64_t cap = ((int64_t)32 << 20) / (4 * (n_all > 0 ? n_all : 1));
    if (r > cap) r = cap;
    if (r < n_threads) r = n_threads;
    if (r > n_trees) r = n_trees;
    return r < 1 ? 1 : (int)r;
}

#if defined(__SSE2__)
#include <emmintrin.h>
#endif
/* AVX2 kernels compiled with a target attribute and chosen at run time (x86-64, GCC/clang) */
#if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__)
#include <immintrin.h>
#define LC_HAVE_AVX2_DISPATCH 1
#endif

#define LC_INV_SQRT2 0.70710678118654752440
#define LC_INV_SQRT2PI 0.39894228040143267794

double lc_ei(double mu, double sigma, double best, double xi) {
    const double imp = mu - best - xi;
    if (!(sigma > 0.0)) return imp > 0.0 ? imp : 0.0;
    const double z = imp / sigma;
    const double cdf = 0.5 * erfc(-z * LC_INV_SQRT2);
    const double pdf = exp(-0.5 * z * z) * LC_INV_SQRT2PI;
    return imp * cdf + sigma * pdf;
}

double lc_pi(double mu, double sigma, double best, double xi) {
    const double imp = mu - best - xi;
    if (!(sigma > 0.0)) return imp > 0.0 ? 1.0 : 0.0;
    return 0.5 * erfc(-(imp / sigma) * LC_INV_SQRT2);
}

double lc_ucb(double mu, double sigma, double kappa) { return mu + kappa * sigma; }

void lc_ei_array(const double *mu, const double *sigma, int64_t n, double best, double xi,
                 double *out) {
    for (int64_t i = 0; i < n; i++) out[i] = lc_ei(mu[i], sigma[i], best, xi);
}

void lc_pi_array(const double *mu, const double *sigma, int64_t n, double best, double xi,
                 double *out) {
    for (int64_t i = 0; i < n; i++) out[i] = lc_pi(mu[i], sigma[i], best, xi);
}

void lc_ucb_array(const double *mu, const double *sigma, int64_t n, double kappa, double *out) {
    for (int64_t i = 0; i < n; i++) out[i] = lc_ucb(mu[i], sigma[i], kappa);
}

/* ------------------------------------------------------------------------------------ */

#define DEFAULT_BITSET_DEPTH 48
#define DEFAULT_LIST_DENSITY 8
/* every LC_COARSE-th sorted value per feature: the rank search starts there */
#define LC_COARSE 16
#define LC_N_COARSE(n) (((n) + LC_COARSE - 1) / LC_COARSE)
#define ALIGN64(x) (((x) + 63u) & ~(size_t)63u)

static inline int lc_popcount64(uint64_t x) {
    x = x - ((x >> 1) & 0x5555555555555555ull);
    x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
    x = (x + (x >> 4)) & 0x0F0F0F0F0F0F0F0Full;
    return (int)((x * 0x0101010101010101ull) >> 56);
}

#if defined(__GNUC__) || defined(__clang__)
static inline int ctz64(uint64_t x) { return __builtin_ctzll(x); }
#else
static inline int ctz64(uint64_t x) {
    int k = 0;
    while (!(x & 1u)) { x >>= 1; k++; }
    return k;
}
#endif

/* Lay the context's arrays over `mem` (ctx fields set when c != NULL); returns bytes. */
static size_t rfei_layout(lc_rfei_ctx *c, char *mem, int64_t n_all, int d, int64_t max_seen,
                          int bitset_depth, int n_trees, int n_threads, lc_sort_item **s1,
                          lc_sort_item **s2) {
    const int64_t n_words = (n_all + 63) / 64;
    const int depth = bitset_depth > 0 ? bitset_depth : DEFAULT_BITSET_DEPTH;
    const int64_t stride = lc_forest_max_nodes(max_seen);
    const int small = n_all <= 65536;
    const size_t na = (size_t)n_all, dd = (size_t)d, padded = (size_t)n_words * 64;
    size_t off = 0;
#define TAKE(ptr, type, count)                                          \
    do {                                                                \
        if (c) ptr = (type *)(mem + off);                               \
        off += ALIGN64(sizeof(type) * (size_t)(count));                 \
    } while (0)
    if (c) {
        c->n_all = n_all;
        c->d = d;
        c->max_seen = max_seen;
        c->n_words = n_words;
        c->bitset_depth = depth;
        c->rank16 = c->rank16_alt = NULL;
        c->rank32 = c->rank32_alt = NULL;
        c->n_threads = n_threads;
        c->round_size = round_size_for(n_threads, n_trees, n_all);
        c->lanes = NULL;
        c->round_leaf = NULL;
        c->round_val = c->round_lv = NULL;
        c->tree_nodes = c->tree_depth = NULL;
        c->lane_words = NULL;
        c->round_next = NULL;
    }
    TAKE(c->Xn, double, na * dd);
    TAKE(c->perm, int32_t, na + 16);  /* swapped with perm_alt by the renumbering */
    TAKE(c->perm_alt, int32_t, na + 16);
    TAKE(c->list_tmp, int32_t, na + 16);
    TAKE(c->order, int32_t, na + 16);  /* + 16: list_bits_avx2 writes past the end */
    TAKE(c->leaf_count, int32_t, (size_t)stride + 1);
    TAKE(c->inv, int32_t, na);
    TAKE(c->sorted_vals, double, na * dd);
    TAKE(c->coarse_vals, double, dd * (size_t)LC_N_COARSE(n_all));
    if (small) {
        TAKE(c->rank16, int16_t, dd * padded);
        TAKE(c->rank16_alt, int16_t, dd * padded);
    } else {
        TAKE(c->rank32, int32_t, dd * padded);
        TAKE(c->rank32_alt, int32_t, dd * padded);
    }
    TAKE(c->wmin, int32_t, dd * (size_t)n_words);
    TAKE(c->wmax, int32_t, dd * (size_t)n_words);
    TAKE(c->leaf_of, int32_t, padded);  /* padded: word writes */
    TAKE(c->slots, uint64_t, 2 * (size_t)(depth + 1) * (size_t)n_words);
    TAKE(c->wlist, int32_t, 2 * (size_t)(depth + 1) * (size_t)n_words);
    TAKE(c->acc_mean, double, na);
    TAKE(c->acc_m2, double, na);
    TAKE(c->acc_lv, double, na);
    TAKE(c->score, double, na);
    TAKE(c->X_seen, double, (size_t)max_seen * dd);
    TAKE(c->seen_ids, int32_t, (size_t)max_seen);
    TAKE(c->seen_rank, int32_t, dd * (size_t)max_seen);
    TAKE(c->seen_val, double, dd * (size_t)max_seen);
    TAKE(c->seen_pos, int32_t, dd * (size_t)max_seen);
    TAKE(c->fit_work, char, lc_forest_fit_workspace_bytes(max_seen, d));
    /* one tree's slots (the context's and every lane's) */
#define TAKE_TREE(tr)                                   \
    do {                                                \
        TAKE((tr).feature, int32_t, stride);            \
        TAKE((tr).left, int32_t, stride);               \
        TAKE((tr).right, int32_t, stride);              \
        TAKE((tr).threshold, double, stride);           \
        TAKE((tr).value, double, stride);               \
        TAKE((tr).leaf_var, double, stride);            \
        TAKE((tr).split_lo, int32_t, stride);           \
        TAKE((tr).split_hi, int32_t, stride);           \
        TAKE((tr).n_nodes, int32_t, 1);                 \
        TAKE((tr).depth, int32_t, 1);                   \
        TAKE((tr).offset, int64_t, 1);                  \
    } while (0)
    TAKE_TREE(c->tree);
    TAKE(c->node_rank, int32_t, stride);
    /* sorting scratch */
    const size_t ns = na > (size_t)max_seen ? na : (size_t)max_seen;
    TAKE(*s1, lc_sort_item, ns);
    TAKE(*s2, lc_sort_item, ns);
    if (n_threads > 1) {
        const int R = round_size_for(n_threads, n_trees, n_all);
        const size_t nt = (size_t)(n_trees > 0 ? n_trees : 1);
        TAKE(c->lanes, struct lc_rfei_lane, n_threads);
        TAKE(c->round_leaf, int32_t, (size_t)R * padded);  /* padded: word writes */
        TAKE(c->round_val, double, (size_t)R * (size_t)stride);
        TAKE(c->round_lv, double, (size_t)R * (size_t)stride);
        TAKE(c->tree_nodes, int32_t, nt);
        TAKE(c->tree_depth, int32_t, nt);
        TAKE(c->lane_words, int64_t, n_threads);
        TAKE(c->round_next, int32_t, nt);
        for (int l = 1; l < n_threads; l++) {
            struct lc_rfei_lane *L = c ? &c->lanes[l] : NULL;
            TAKE_TREE(L->tree);
            TAKE(L->node_rank, int32_t, stride);
            TAKE(L->order, int32_t, na + 16);
            TAKE(L->alt, int32_t, na + 16);
            TAKE(L->list_tmp, int32_t, na + 16);
            TAKE(L->slots, uint64_t, 2 * (size_t)(depth + 1) * (size_t)n_words);
            TAKE(L->wlist, int32_t, 2 * (size_t)(depth + 1) * (size_t)n_words);
            TAKE(L->fit_work, char, lc_forest_fit_workspace_bytes(max_seen, d));
        }
    }
#undef TAKE_TREE
#undef TAKE
    return off + 64;
}

size_t lc_rfei_bytes(int64_t n_all, int d, int64_t max_seen, const lc_forest_params *p,
                     int bitset_depth, int n_threads) {
    lc_sort_item *s1, *s2;
    return rfei_layout(NULL, NULL, n_all, d, max_seen, bitset_depth, p->n_trees,
                       clamp_threads(n_threads), &s1, &s2);
}

/* Order the candidates along a k-d tree (median splits on the widest feature) so that
 * boxes of the forest cover few bitset words. */
static void kd_order(const double *X, int64_t n, int d, int32_t *perm, lc_sort_item *s1,
                     lc_sort_item *s2) {
    int64_t stack[2 * 256];
    int sp = 0;
    stack[sp++] = 0;
    stack[sp++] = n;
    while (sp > 0) {
        const int64_t b = stack[--sp], a = stack[--sp];
        if (b - a <= 16) continue;
        int best = -1;
        double best_spread = 0.0;
        for (int k = 0; k < d; k++) {
            double lo = X[(size_t)perm[a] * d + k], hi = lo;
            for (int64_t i = a + 1; i < b; i++) {
                const double v = X[(size_t)perm[i] * d + k];
                if (v < lo) lo = v;
                if (v > hi) hi = v;
            }
            if (hi - lo > best_spread) { best_spread = hi - lo; best = k; }
        }
        if (best < 0) continue;
        for (int64_t i = a; i < b; i++) {
            s1[i - a].key = X[(size_t)perm[i] * d + best];
            s1[i - a].idx = perm[i];
        }
        lc_sort_items(s1, b - a, s2);
        for (int64_t i = a; i < b; i++) perm[i] = s1[i - a].idx;
        /* split at a word boundary so that words are cells of the k-d tree */
        const int64_t words = (b - a + 63) / 64;
        const int64_t mid = words > 1 ? a + 64 * (words / 2) : a + (b - a) / 2;
        if (sp + 4 > (int)(sizeof(stack) / sizeof(stack[0]))) continue;
        stack[sp++] = mid;
        stack[sp++] = b;
        stack[sp++] = a;
        stack[sp++] = mid;
    }
}

/* Rank range of each word's candidates, per feature. */
static void word_ranges(lc_rfei_ctx *c) {
    const int64_t W = c->n_words, padded = W * 64, n_all = c->n_all;
    for (int k = 0; k < c->d; k++) {
        int32_t *wmn = c->wmin + (size_t)k * W, *wmx = c->wmax + (size_t)k * W;
        for (int64_t w = 0; w < W; w++) {
            const int64_t hi = (w + 1) * 64 < n_all ? (w + 1) * 64 : n_all;
            int32_t mn = INT32_MAX, mx = -1;
            for (int64_t j = w * 64; j < hi; j++) {
                const int32_t r = c->rank16 ? (int32_t)c->rank16[(size_t)k * padded + j] + 32768
                                            : c->rank32[(size_t)k * padded + j];
                if (r < mn) mn = r;
                if (r > mx) mx = r;
            }
            wmn[w] = mn;
            wmx[w] = mx;
        }
    }
}

/* Renumber the candidates in the pre-order of the leaves they reached in the tree just
 * scored (stable): the next forest, fitted on nearly the same rows, splits them much like
 * this one, so its nodes' candidates then sit in few words.  Only speed depends on the
 * internal order; every result is the same in any order. */
static void reorder_by_leaves(lc_rfei_ctx *c) {
    const int64_t n_all = c->n_all, n_nodes = c->final_nodes;
    const int d = c->d;
    const int64_t padded = c->n_words * 64;
    const int32_t *leaf_of = c->final_leaf;
    int32_t *cnt = c->leaf_count, *order = c->order;
    memset(cnt, 0, sizeof(int32_t) * (size_t)(n_nodes + 1));
    for (int64_t j = 0; j < n_all; j++) cnt[leaf_of[j] + 1]++;
    for (int64_t v = 0; v < n_nodes; v++) cnt[v + 1] += cnt[v];
    for (int64_t j = 0; j < n_all; j++) order[cnt[leaf_of[j]]++] = (int32_t)j;
    for (int64_t q = 0; q < n_all; q++) c->perm_alt[q] = c->perm[order[q]];
    for (int k = 0; k < d; k++) {
        if (c->rank16) {
            /* the word ranges on the way (word_ranges() for the 16-bit ranks) */
            const int16_t *src = c->rank16 + (size_t)k * padded;
            int16_t *dst = c->rank16_alt + (size_t)k * padded;
            int32_t *wmn = c->wmin + (size_t)k * c->n_words, *wmx = c->wmax + (size_t)k * c->n_words;
            for (int64_t w = 0; w < c->n_words; w++) {
                const int64_t q0 = w * 64, q1 = q0 + 64 < n_all ? q0 + 64 : n_all;
                int16_t mn = INT16_MAX, mx = INT16_MIN;
                for (int64_t q = q0; q < q1; q++) {
                    const int16_t v = src[order[q]];
                    dst[q] = v;
                    mn = v < mn ? v : mn;
                    mx = v > mx ? v : mx;
                }
                wmn[w] = (int32_t)mn + 32768;
                wmx[w] = (int32_t)mx + 32768;
            }
            for (int64_t q = n_all; q < padded; q++) dst[q] = INT16_MAX;
        } else {
            const int32_t *src = c->rank32 + (size_t)k * padded;
            int32_t *dst = c->rank32_alt + (size_t)k * padded;
            for (int64_t q = 0; q < n_all; q++) dst[q] = src[order[q]];
            for (int64_t q = n_all; q < padded; q++) dst[q] = INT32_MAX;
        }
    }
    int32_t *tp = c->perm; c->perm = c->perm_alt; c->perm_alt = tp;
    int16_t *t16 = c->rank16; c->rank16 = c->rank16_alt; c->rank16_alt = t16;
    int32_t *t32 = c->rank32; c->rank32 = c->rank32_alt; c->rank32_alt = t32;
    for (int64_t q = 0; q < n_all; q++) c->inv[c->perm[q]] = (int32_t)q;
    if (!c->rank16) word_ranges(c);
}

void lc_rfei_prepare(lc_rfei_ctx *ctx, void *mem, const double *X_all, int64_t n_all, int d,
                     int64_t max_seen, const lc_forest_params *p, int variance_total,
                     int bitset_depth, int n_threads) {
    lc_sort_item *s1 = NULL, *s2 = NULL;
    char *base = (char *)mem;
    base += (64 - ((uintptr_t)base & 63)) & 63;
    rfei_layout(ctx, base, n_all, d, max_seen, bitset_depth, p->n_trees,
                clamp_threads(n_threads), &s1, &s2);
    for (int l = 1; l < ctx->n_threads; l++) ctx->lanes[l].tree.offset[0] = 0;
    ctx->sort1 = s1;
    ctx->sort2 = s2;
    ctx->tree.offset[0] = 0;
    ctx->params = *p;
#ifdef LC_HAVE_AVX2_DISPATCH
    __builtin_cpu_init();
    ctx->use_avx2 = __builtin_cpu_supports("avx2") ? 1 : 0;
#else
    ctx->use_avx2 = 0;
#endif
    ctx->variance_total = variance_total;
    ctx->list_density = DEFAULT_LIST_DENSITY;
    ctx->last_nodes = ctx->last_depth_sum = ctx->last_words = 0;
    ctx->last_depth_max = 0;
    for (int64_t i = 0; i < n_all; i++) ctx->perm[i] = (int32_t)i;
    kd_order(X_all, n_all, d, ctx->perm, s1, s2);
    for (int64_t j = 0; j < n_all; j++) ctx->inv[ctx->perm[j]] = (int32_t)j;
    memcpy(ctx->Xn, X_all, sizeof(double) * (size_t)n_all * (size_t)d);
    const int64_t padded = ctx->n_words * 64;
    for (int k = 0; k < d; k++) {
        for (int64_t j = 0; j < n_all; j++) {
            s1[j].key = X_all[(size_t)ctx->perm[j] * d + k];
            s1[j].idx = (int32_t)j;
        }
        lc_sort_items(s1, n_all, s2);
        double *sv = ctx->sorted_vals + (size_t)k * n_all;
        for (int64_t q = 0; q < n_all; q++) sv[q] = s1[q].key;
        double *cv = ctx->coarse_vals + (size_t)k * LC_N_COARSE(n_all);
        for (int64_t g = 0; g < LC_N_COARSE(n_all); g++) cv[g] = sv[g * LC_COARSE];
        if (ctx->rank16) {
            int16_t *r = ctx->rank16 + (size_t)k * padded;
            for (int64_t q = 0; q < n_all; q++) r[s1[q].idx] = (int16_t)(q - 32768);
            for (int64_t j = n_all; j < padded; j++) r[j] = INT16_MAX;
        } else {
            int32_t *r = ctx->rank32 + (size_t)k * padded;
            for (int64_t q = 0; q < n_all; q++) r[s1[q].idx] = (int32_t)q;
            for (int64_t j = n_all; j < padded; j++) r[j] = INT32_MAX;
        }
    }
    word_ranges(ctx);
}

/* ------------------------------------------------------------------------------------ */

/* Position of candidate `id` in feature k's sorted order. */
static inline int64_t rank_of(const lc_rfei_ctx *c, int k, int64_t id) {
    const int64_t padded = c->n_words * 64;
    return c->rank16 ? (int64_t)c->rank16[(size_t)k * padded + id] + 32768
                     : (int64_t)c->rank32[(size_t)k * padded + id];
}

/* #{x_k <= thr} over the candidates.  thr lies in [a, b), the values of the seen rows s_lo
 * and s_hi; between them in the feature's order of the seen rows (seen_val) the first seen
 * value above thr is found, and the answer lies between the positions of it and of the seen
 * row before it in the candidates' order (a short binary search in one place of sorted_vals,
 * ~n_all / n_seen values). */
static inline int64_t rank_between(const lc_rfei_ctx *c, int k, double thr, int64_t s_lo,
                                   int64_t s_hi) {
    const size_t off = (size_t)k * c->max_seen;
    const double *sv = c->seen_val + off;
    const int32_t *sr = c->seen_rank + off;
    /* first position in (p0, p1] with a value > thr (sv[p0] <= thr < sv[p1]) */
    int64_t p0 = c->seen_pos[off + s_lo], p1 = c->seen_pos[off + s_hi];
    while (p1 - p0 > 1) {
        const int64_t mid = (p0 + p1) >> 1;
        const int le = sv[mid] <= thr;
        p0 = le ? mid : p0;
        p1 = le ? p1 : mid;
    }
    const double *vals = c->sorted_vals + (size_t)k * c->n_all;
    /* positions a..b-1: vals[a - 1] <= thr < vals[b]; first the every-16th values (a small
     * array that stays in cache) narrow it to at most 15 positions */
    int64_t a = sr[p0] + 1, b = sr[p1];
    {
        const double *cv = c->coarse_vals + (size_t)k * LC_N_COARSE(c->n_all);
        const int64_t g0 = (a + LC_COARSE - 1) / LC_COARSE, g1 = (b - 1) / LC_COARSE;
        /* first g in [g0, g1] with cv[g] > thr (g1 + 1 if none) */
        const double *cg = cv + g0;
        int64_t m = g1 - g0 + 1;
        while (m > 0) {
            const int64_t half = m >> 1;
            const int le = cg[half] <= thr;
            cg = le ? cg + half + 1 : cg;
            m = le ? m - half - 1 : half;
        }
        const int64_t g = cg - cv;
        if (g <= g1) b = g * LC_COARSE;             /* vals[b] > thr */
        if (g > g0) a = (g - 1) * LC_COARSE + 1;    /* vals[a - 1] <= thr */
    }
    const double *q = vals + a;
    int64_t n = b - a;
    while (n > 0) {  /* branch-free: first value > thr */
        const int64_t half = n >> 1;
        const int le = q[half] <= thr;
        q = le ? q + half + 1 : q;
        n = le ? n - half - 1 : half;
    }
    return q - vals;
}

/* Bit b of the result: rank of candidate 64 * w + b below kk (ranks biased by -32768). */
static inline uint64_t below16(const int16_t *r, int16_t kb) {
#if defined(__SSE2__)
    const __m128i K = _mm_set1_epi16(kb);
    uint64_t m = 0;
    for (int g = 0; g < 4; g++) {
        const __m128i a = _mm_loadu_si128((const __m128i *)(r + 16 * g));
        const __m128i b = _mm_loadu_si128((const __m128i *)(r + 16 * g + 8));
        const __m128i p = _mm_packs_epi16(_mm_cmplt_epi16(a, K), _mm_cmplt_epi16(b, K));
        m |= (uint64_t)(uint32_t)_mm_movemask_epi8(p) << (16 * g);
    }
    return m;
#else
    uint64_t m = 0;
    for (int b = 0; b < 64; b++) m |= (uint64_t)(r[b] < kb) << b;
    return m;
#endif
}

static inline uint64_t below32(const int32_t *r, int32_t k) {
    uint64_t m = 0;
    for (int b = 0; b < 64; b++) m |= (uint64_t)(r[b] < k) << b;
    return m;
}

#ifdef LC_HAVE_AVX2_DISPATCH
/* The same bits as below16, with AVX2 (chosen at run time; integer compares, so the
 * result does not depend on the path taken). */
/* leaf_of[64 w + b] = node for the set bits b of `bits`: 8-lane blends for every word (a
 * bit-by-bit loop for sparse words costs more in mispredicted exits than it saves). */
__attribute__((target("avx2,popcnt"))) static inline void write_word_avx2(int32_t *leaf_of,
                                                                        int64_t w,
                                                                        uint64_t bits,
                                                                        int32_t node) {
    int32_t *out = leaf_of + w * 64;
    const __m256i vnode = _mm256_set1_epi32(node);
    const __m256i bit = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
    for (int g = 0; g < 8; g++) {
        const __m256i byte = _mm256_set1_epi32((int)((bits >> (8 * g)) & 0xFF));
        const __m256i m = _mm256_cmpeq_epi32(_mm256_and_si256(byte, bit), bit);
        __m256i *p = (__m256i *)(out + 8 * g);
        _mm256_storeu_si256(p, _mm256_blendv_epi8(_mm256_loadu_si256(p), vnode, m));
    }
}

/* A child that is a leaf (lnode / rnode >= 0) gets its leaf ids written at once instead of
 * a bitset.  (wmn / wmx are not consulted here: comparing every word is cheaper than
 * mispredicting which words straddle k.) */
__attribute__((target("avx2,popcnt"))) static void split_words_avx2(
    const int16_t *r16, int16_t kb, const uint64_t *set, const int32_t *lst, int64_t nw,
    const int32_t *wmn, const int32_t *wmx, int64_t k, uint64_t *lset, uint64_t *rset,
    int32_t *llst, int32_t *rlst, int64_t *nl_out, int64_t *nr_out, int64_t *pop_out,
    int32_t *leaf_of,
    int32_t lnode, int32_t rnode) {
    const __m256i K = _mm256_set1_epi16(kb);
    int64_t nl = 0, nr = 0, pl = 0, pr = 0;
    (void)wmn;
    (void)wmx;
    (void)k;
    for (int64_t i = 0; i < nw; i++) {
        const int32_t w = lst[i];
        const uint64_t m = set[w];
        uint64_t l = m;
        {   /* always compare: cheaper than mispredicting whether the word straddles k */
            const int16_t *r = r16 + (size_t)w * 64;
            const __m256i a0 = _mm256_cmpgt_epi16(K, _mm256_loadu_si256((const __m256i *)r));
            const __m256i a1 = _mm256_cmpgt_epi16(K, _mm256_loadu_si256((const __m256i *)(r + 16)));
            const __m256i a2 = _mm256_cmpgt_epi16(K, _mm256_loadu_si256((const __m256i *)(r + 32)));
            const __m256i a3 = _mm256_cmpgt_epi16(K, _mm256_loadu_si256((const __m256i *)(r + 48)));
            /* packs works per 128-bit lane; vpermq 0xD8 restores the element order */
            const __m256i p0 = _mm256_permute4x64_epi64(_mm256_packs_epi16(a0, a1), 0xD8);
            const __m256i p1 = _mm256_permute4x64_epi64(_mm256_packs_epi16(a2, a3), 0xD8);
            l &= (uint64_t)(uint32_t)_mm256_movemask_epi8(p0) |
                 ((uint64_t)(uint32_t)_mm256_movemask_epi8(p1) << 32);
        }
        const uint64_t r = m & ~l;
        if (lnode >= 0) {
            if (l) write_word_avx2(leaf_of, w, l, lnode);
        } else {
            lset[w] = l;
            llst[nl] = w;
            nl += l != 0;
            pl += __builtin_popcountll(l);
        }
        if (rnode >= 0) {
            if (r) write_word_avx2(leaf_of, w, r, rnode);
        } else {
            rset[w] = r;
            rlst[nr] = w;
            nr += r != 0;
            pr += __builtin_popcountll(r);
        }
    }
    pop_out[0] = pl;
    pop_out[1] = pr;
    *nl_out = nl;
    *nr_out = nr;
}
/* Write `node` to leaf_of at the set bits of the listed words (8-lane blends per word). */
__attribute__((target("avx2,popcnt"))) static void leaf_write_avx2(
    int32_t *leaf_of, const uint64_t *set, const int32_t *lst, int64_t nw, int32_t node) {
    for (int64_t i = 0; i < nw; i++) {
        const int64_t w = lst[i];
        write_word_avx2(leaf_of, w, set[w], node);
    }
}

#endif

#ifdef LC_HAVE_AVX2_DISPATCH
/* Positions of the set bits of each byte value, packed 4 bits each (lowest first). */
static const uint32_t lc_byte_pos[256] = {
    0x00000000u, 0x00000000u, 0x00000001u, 0x00000010u, 0x00000002u, 0x00000020u,
    0x00000021u, 0x00000210u, 0x00000003u, 0x00000030u, 0x00000031u, 0x00000310u,
    0x00000032u, 0x00000320u, 0x00000321u, 0x00003210u, 0x00000004u, 0x00000040u,
    0x00000041u, 0x00000410u, 0x00000042u, 0x00000420u, 0x00000421u, 0x00004210u,
    0x00000043u, 0x00000430u, 0x00000431u, 0x00004310u, 0x00000432u, 0x00004320u,
    0x00004321u, 0x00043210u, 0x00000005u, 0x00000050u, 0x00000051u, 0x00000510u,
    0x00000052u, 0x00000520u, 0x00000521u, 0x00005210u, 0x00000053u, 0x00000530u,
    0x00000531u, 0x00005310u, 0x00000532u, 0x00005320u, 0x00005321u, 0x00053210u,
    0x00000054u, 0x00000540u, 0x00000541u, 0x00005410u, 0x00000542u, 0x00005420u,
    0x00005421u, 0x00054210u, 0x00000543u, 0x00005430u, 0x00005431u, 0x00054310u,
    0x00005432u, 0x00054320u, 0x00054321u, 0x00543210u, 0x00000006u, 0x00000060u,
    0x00000061u, 0x00000610u, 0x00000062u, 0x00000620u, 0x00000621u, 0x00006210u,
    0x00000063u, 0x00000630u, 0x00000631u, 0x00006310u, 0x00000632u, 0x00006320u,
    0x00006321u, 0x00063210u, 0x00000064u, 0x00000640u, 0x00000641u, 0x00006410u,
    0x00000642u, 0x00006420u, 0x00006421u, 0x00064210u, 0x00000643u, 0x00006430u,
    0x00006431u, 0x00064310u, 0x00006432u, 0x00064320u, 0x00064321u, 0x00643210u,
    0x00000065u, 0x00000650u, 0x00000651u, 0x00006510u, 0x00000652u, 0x00006520u,
    0x00006521u, 0x00065210u, 0x00000653u, 0x00006530u, 0x00006531u, 0x00065310u,
    0x00006532u, 0x00065320u, 0x00065321u, 0x00653210u, 0x00000654u, 0x00006540u,
    0x00006541u, 0x00065410u, 0x00006542u, 0x00065420u, 0x00065421u, 0x00654210u,
    0x00006543u, 0x00065430u, 0x00065431u, 0x00654310u, 0x00065432u, 0x00654320u,
    0x00654321u, 0x06543210u, 0x00000007u, 0x00000070u, 0x00000071u, 0x00000710u,
    0x00000072u, 0x00000720u, 0x00000721u, 0x00007210u, 0x00000073u, 0x00000730u,
    0x00000731u, 0x00007310u, 0x00000732u, 0x00007320u, 0x00007321u, 0x00073210u,
    0x00000074u, 0x00000740u, 0x00000741u, 0x00007410u, 0x00000742u, 0x00007420u,
    0x00007421u, 0x00074210u, 0x00000743u, 0x00007430u, 0x00007431u, 0x00074310u,
    0x00007432u, 0x00074320u, 0x00074321u, 0x00743210u, 0x00000075u, 0x00000750u,
    0x00000751u, 0x00007510u, 0x00000752u, 0x00007520u, 0x00007521u, 0x00075210u,
    0x00000753u, 0x00007530u, 0x00007531u, 0x00075310u, 0x00007532u, 0x00075320u,
    0x00075321u, 0x00753210u, 0x00000754u, 0x00007540u, 0x00007541u, 0x00075410u,
    0x00007542u, 0x00075420u, 0x00075421u, 0x00754210u, 0x00007543u, 0x00075430u,
    0x00075431u, 0x00754310u, 0x00075432u, 0x00754320u, 0x00754321u, 0x07543210u,
    0x00000076u, 0x00000760u, 0x00000761u, 0x00007610u, 0x00000762u, 0x00007620u,
    0x00007621u, 0x00076210u, 0x00000763u, 0x00007630u, 0x00007631u, 0x00076310u,
    0x00007632u, 0x00076320u, 0x00076321u, 0x00763210u, 0x00000764u, 0x00007640u,
    0x00007641u, 0x00076410u, 0x00007642u, 0x00076420u, 0x00076421u, 0x00764210u,
    0x00007643u, 0x00076430u, 0x00076431u, 0x00764310u, 0x00076432u, 0x00764320u,
    0x00764321u, 0x07643210u, 0x00000765u, 0x00007650u, 0x00007651u, 0x00076510u,
    0x00007652u, 0x00076520u, 0x00076521u, 0x00765210u, 0x00007653u, 0x00076530u,
    0x00076531u, 0x00765310u, 0x00076532u, 0x00765320u, 0x00765321u, 0x07653210u,
    0x00007654u, 0x00076540u, 0x00076541u, 0x00765410u, 0x00076542u, 0x00765420u,
    0x00765421u, 0x07654210u, 0x00076543u, 0x00765430u, 0x00765431u, 0x07654310u,
    0x00765432u, 0x07654320u, 0x07654321u, 0x76543210u,
};
/* The internal ids of the set bits of the listed words, ascending (8 lanes per byte; the
 * buffer may be written up to 8 entries past the end). */
__attribute__((target("avx2,popcnt"))) static int64_t list_bits_avx2(
    int32_t *ids, const uint64_t *set, const int32_t *lst, int64_t nw) {
    const __m256i shifts = _mm256_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28);
    const __m256i nib = _mm256_set1_epi32(15);
    int64_t n = 0;
    for (int64_t i = 0; i < nw; i++) {
        const int32_t w = lst[i];
        const uint64_t bits = set[w];
        for (int g = 0; g < 8; g++) {
            const unsigned v = (unsigned)(bits >> (8 * g)) & 0xFFu;
            const __m256i pos = _mm256_and_si256(
                _mm256_srlv_epi32(_mm256_set1_epi32((int)lc_byte_pos[v]), shifts), nib);
            _mm256_storeu_si256((__m256i *)(ids + n),
                                _mm256_add_epi32(pos, _mm256_set1_epi32(w * 64 + 8 * g)));
            n += __builtin_popcount(v);
        }
    }
    return n;
}
/* Partition the n ids by rank16 < kb: those below to `left`, the others to `right` (both
 * in order); returns the count below.  Writes at most 8 entries at a time, never past
 * left[n - 1] or right[n - 1]... except that `right` may take up to 7 more (scratch). */
__attribute__((target("avx2,popcnt"))) static int64_t partition16_avx2(
    const int32_t *ids, int64_t n, const int16_t *r16, int16_t kb, int32_t *left,
    int32_t *right, int64_t *nr_out) {
    const __m256i shifts = _mm256_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28);
    const __m256i nib = _mm256_set1_epi32(15);
    const __m256i K = _mm256_set1_epi32(kb);
    int64_t l = 0, r = 0, i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256i J = _mm256_loadu_si256((const __m256i *)(ids + i));
        /* 32-bit loads at the 16-bit ranks (the padded arrays sit inside the context's
         * block, so the 2 bytes past the last one are readable); low halves sign-extended */
        __m256i R = _mm256_i32gather_epi32((const int *)r16, J, 2);
        R = _mm256_srai_epi32(_mm256_slli_epi32(R, 16), 16);
        const int m = _mm256_movemask_ps(_mm256_castsi256_ps(_mm256_cmpgt_epi32(K, R)));
        const __m256i pl = _mm256_and_si256(
            _mm256_srlv_epi32(_mm256_set1_epi32((int)lc_byte_pos[m]), shifts), nib);
        const __m256i pr = _mm256_and_si256(
            _mm256_srlv_epi32(_mm256_set1_epi32((int)lc_byte_pos[~m & 255]), shifts), nib);
        _mm256_storeu_si256((__m256i *)(left + l), _mm256_permutevar8x32_epi32(J, pl));
        _mm256_storeu_si256((__m256i *)(right + r), _mm256_permutevar8x32_epi32(J, pr));
        const int cnt = __builtin_popcount((unsigned)m);
        l += cnt;
        r += 8 - cnt;
    }
    for (; i < n; i++) {
        const int32_t j = ids[i];
        const int64_t lt = r16[j] < kb;
        left[l] = j;
        right[r] = j;
        l += lt;
        r += 1 - lt;
    }
    *nr_out = r;
    return l;
}
#endif

/* Score the subtree at `node` per candidate: its candidates are the n internal ids in `ids`;
 * each split partitions them into `alt` (the left ones first; scalar path: left from the
 * front, right from the back, branch-free) and the children continue there with the two
 * buffers swapped.  A child that is a leaf takes its leaf ids at once.  Sibling subtrees
 * own disjoint ranges of both buffers, and no write leaves the node's range [0, n). */
static void score_list(lc_rfei_ctx *c, int32_t node, int32_t *ids, int32_t *alt, int64_t n) {
    const lc_forest *f = &c->tree;
    const int32_t feat = f->feature[node];
    int32_t *leaf_of = c->leaf_of;
    if (feat < 0) {
        for (int64_t i = 0; i < n; i++) leaf_of[ids[i]] = node;
        return;
    }
    const int64_t k = c->node_rank[node];
    const int64_t padded = c->n_words * 64;
    const int32_t ln = f->left[node], rn = f->right[node];
    const int lleaf = f->feature[ln] < 0, rleaf = f->feature[rn] < 0;
    int64_t l = 0, h = n - 1;
    /* the comparison of candidate j: rank below k (x <= threshold) */
#define LC_LT(j) (c->rank16 ? (int64_t)(r16[j] < kb) : (int64_t)(r32[j] < (int32_t)k))
    const int16_t *r16 = c->rank16 ? c->rank16 + (size_t)feat * padded : NULL;
    const int32_t *r32 = c->rank32 ? c->rank32 + (size_t)feat * padded : NULL;
    const int16_t kb = (int16_t)(k >= 65536 ? 32767 : k - 32768);
    if (lleaf && rleaf) {  /* both children are leaves: no partition */
        for (int64_t i = 0; i < n; i++) {
            const int32_t j = ids[i];
            leaf_of[j] = LC_LT(j) ? ln : rn;
        }
        return;
    }
    if (lleaf) {  /* the left leaf is written now (right ones are overwritten later) */
        for (int64_t i = 0; i < n; i++) {
            const int32_t j = ids[i];
            const int64_t lt = LC_LT(j);
            leaf_of[j] = ln;
            alt[h] = j;
            h -= 1 - lt;
        }
        if (h + 1 < n) score_list(c, rn, alt + h + 1, ids + h + 1, n - h - 1);
        return;
    }
    if (rleaf) {
        for (int64_t i = 0; i < n; i++) {
            const int32_t j = ids[i];
            const int64_t lt = LC_LT(j);
            leaf_of[j] = rn;
            alt[l] = j;
            l += lt;
        }
        if (l) score_list(c, ln, alt, ids, l);
        return;
    }
#ifdef LC_HAVE_AVX2_DISPATCH
    if (c->use_avx2 && c->rank16) {
        int64_t nr = 0;
        l = partition16_avx2(ids, n, r16, kb, alt, c->list_tmp, &nr);
        memcpy(alt + l, c->list_tmp, sizeof(int32_t) * (size_t)nr);
    } else
#endif
    for (int64_t i = 0; i < n; i++) {
        const int32_t j = ids[i];
        const int64_t lt = LC_LT(j);
        alt[l] = j;
        alt[h] = j;
        l += lt;
        h -= 1 - lt;
    }
#undef LC_LT
    if (l) score_list(c, f->left[node], alt, ids, l);
    if (n - l) score_list(c, f->right[node], alt + l, ids + l, n - l);
}

/* Score the subtree at `node`, whose candidates are the bitset `set`, read only at its nw
 * listed nonzero words `lst` (other words are stale).  Its children's sets go to the two
 * slots of level lvl + 1 (left: slot 2(lvl+1), right: slot 2(lvl+1) + 1), which deeper
 * levels do not touch. */
static void score_node(lc_rfei_ctx *c, int32_t node, int lvl, const uint64_t *set,
                       const int32_t *lst, int64_t nw, int64_t pop) {
    const lc_forest *f = &c->tree;
    const int64_t W = c->n_words;
    const int32_t feat = f->feature[node];
    int32_t *leaf_of = c->leaf_of;
    if (feat < 0) {
#ifdef LC_HAVE_AVX2_DISPATCH
        if (c->use_avx2) {
            leaf_write_avx2(leaf_of, set, lst, nw, node);
            return;
        }
#endif
        for (int64_t i = 0; i < nw; i++) {
            const int64_t w = lst[i];
            uint64_t bits = set[w];
            if (bits == ~(uint64_t)0) {
                for (int b = 0; b < 64; b++) leaf_of[w * 64 + b] = node;
                continue;
            }
            while (bits) {
                leaf_of[w * 64 + ctz64(bits)] = node;
                bits &= bits - 1;
            }
        }
        return;
    }
    if (lvl >= c->bitset_depth || pop < (int64_t)c->list_density * nw) {
        /* few candidates per word: list them once and score the subtree per candidate */
        int32_t *ids = c->order + c->list_used, *alt = c->perm_alt + c->list_used;
        int64_t n = 0;
#ifdef LC_HAVE_AVX2_DISPATCH
        if (c->use_avx2) n = list_bits_avx2(ids, set, lst, nw);
        else
#endif
        for (int64_t i = 0; i < nw; i++) {
            const int64_t w = lst[i];
            uint64_t bits = set[w];
            while (bits) {
                ids[n++] = (int32_t)(w * 64 + ctz64(bits));
                bits &= bits - 1;
            }
        }
        c->list_used += n;
        score_list(c, node, ids, alt, n);
        return;
    }
    c->last_words += nw;
    const int64_t k = c->node_rank[node];
    const size_t slot = 2 * (size_t)(lvl + 1);
    uint64_t *lset = c->slots + slot * W, *rset = lset + W;
    int32_t *llst = c->wlist + slot * W, *rlst = llst + W;
    const int64_t padded = W * 64;
    int64_t nl = 0, nr = 0, pops[2] = {0, 0};
    /* words wholly below / above the threshold need no compares */
    const int32_t *wmn = c->wmin + (size_t)feat * W, *wmx = c->wmax + (size_t)feat * W;
    if (c->rank16 && c->use_avx2) {
#ifdef LC_HAVE_AVX2_DISPATCH
        const int16_t *r16 = c->rank16 + (size_t)feat * padded;
        const int16_t kb = (int16_t)(k >= 65536 ? 32767 : k - 32768);
        const int32_t ln = f->left[node], rn = f->right[node];
        const int32_t lleaf = f->feature[ln] < 0 ? ln : -1;
        const int32_t rleaf = f->feature[rn] < 0 ? rn : -1;
        split_words_avx2(r16, kb, set, lst, nw, wmn, wmx, k, lset, rset, llst, rlst, &nl, &nr,
                         pops, leaf_of, lleaf, rleaf);
        if (lleaf >= 0) nl = 0;  /* done */
        if (rleaf >= 0) nr = 0;
#endif
    } else if (c->rank16) {
        const int16_t *r16 = c->rank16 + (size_t)feat * padded;
        const int16_t kb = (int16_t)(k >= 65536 ? 32767 : k - 32768);
        for (int64_t i = 0; i < nw; i++) {
            const int32_t w = lst[i];
            const uint64_t m = set[w];
            uint64_t l = m;
            if (wmn[w] >= k) l = 0;
            else if (wmx[w] >= k) l &= below16(r16 + (size_t)w * 64, kb);
            const uint64_t r = m & ~l;
            lset[w] = l;
            rset[w] = r;
            llst[nl] = w;
            rlst[nr] = w;
            nl += l != 0;
            nr += r != 0;
            pops[0] += lc_popcount64(l);
            pops[1] += lc_popcount64(r);
        }
    } else {
        const int32_t *r32 = c->rank32 + (size_t)feat * padded;
        for (int64_t i = 0; i < nw; i++) {
            const int32_t w = lst[i];
            const uint64_t m = set[w];
            uint64_t l = m;
            if (wmn[w] >= k) l = 0;
            else if (wmx[w] >= k) l &= below32(r32 + (size_t)w * 64, (int32_t)k);
            const uint64_t r = m & ~l;
            lset[w] = l;
            rset[w] = r;
            llst[nl] = w;
            rlst[nr] = w;
            nl += l != 0;
            nr += r != 0;
            pops[0] += lc_popcount64(l);
            pops[1] += lc_popcount64(r);
        }
    }
    if (nl) score_node(c, f->left[node], lvl + 1, lset, llst, nl, pops[0]);
    if (nr) score_node(c, f->right[node], lvl + 1, rset, rlst, nr, pops[1]);
}

#ifdef LC_HAVE_AVX2_DISPATCH
/* lc_forest_welford on 4 candidates at a time: the same IEEE operations lane by lane (no
 * FMA), so the same bits as the scalar loop. */
__attribute__((target("avx2"))) static void welford_pass_avx2(double *mean, double *m2,
                                                              const int32_t *leaf_of,
                                                              const double *value, int64_t n,
                                                              double inv_count) {
    const __m256d vinv = _mm256_set1_pd(inv_count);
    int64_t j = 0;
    for (; j + 4 <= n; j += 4) {
        /* four scalar loads beat vgatherdpd on some CPUs (AMD Zen) */
        const __m256d v = _mm256_set_pd(value[leaf_of[j + 3]], value[leaf_of[j + 2]],
                                        value[leaf_of[j + 1]], value[leaf_of[j]]);
        const __m256d mu = _mm256_loadu_pd(mean + j);
        const __m256d delta = _mm256_sub_pd(v, mu);
        const __m256d mn = _mm256_add_pd(mu, _mm256_mul_pd(delta, vinv));
        const __m256d q = _mm256_add_pd(_mm256_loadu_pd(m2 + j),
                                        _mm256_mul_pd(delta, _mm256_sub_pd(v, mn)));
        _mm256_storeu_pd(mean + j, mn);
        _mm256_storeu_pd(m2 + j, q);
    }
    for (; j < n; j++) lc_forest_welford(&mean[j], &m2[j], value[leaf_of[j]], inv_count);
}
#endif

/* Candidates [j0, j1) take their leaf's value in one tree (a sequential pass). */
static void welford_range(const lc_rfei_ctx *c, const double *value, const int32_t *leaf_of,
                          int64_t j0, int64_t j1, double inv_count) {
    double *mean = c->acc_mean, *m2 = c->acc_m2;
#ifdef LC_HAVE_AVX2_DISPATCH
    if (c->use_avx2) {
        welford_pass_avx2(mean + j0, m2 + j0, leaf_of + j0, value, j1 - j0, inv_count);
        return;
    }
#endif
    for (int64_t j = j0; j < j1; j++)
        lc_forest_welford(&mean[j], &m2[j], value[leaf_of[j]], inv_count);
}

/* The view of thread l: the context with that lane's tree and scratch. */
static void lane_view(const lc_rfei_ctx *c, int l, lc_rfei_ctx *v) {
    *v = *c;
    v->last_words = 0;
    if (l == 0) return;
    const struct lc_rfei_lane *L = &c->lanes[l];
    v->tree = L->tree;
    v->node_rank = L->node_rank;
    v->order = L->order;
    v->perm_alt = L->alt;
    v->list_tmp = L->list_tmp;
    v->slots = L->slots;
    v->wlist = L->wlist;
    v->fit_work = L->fit_work;
}

/* Fit tree t into v's tree (v's fit workspace presorted) and write the leaf of every
 * candidate of the root set to v->leaf_of. */
static void lane_tree(lc_rfei_ctx *v, const double *y_seen, int64_t n_seen,
                      uint64_t forest_seed, int32_t t, const uint64_t *root,
                      const int32_t *root_list, int64_t nw, int64_t n_active) {
    lc_forest_fit_tree(y_seen, n_seen, v->d, &v->params, forest_seed, t, 0, &v->tree,
                       v->fit_work);
    /* every split's rank first: independent searches overlap their cache misses */
    const lc_forest *tr = &v->tree;
    for (int32_t i = 0; i < tr->n_nodes[0]; i++)  /* warm the places searched */
        if (tr->feature[i] >= 0) {
            const int k = tr->feature[i];
            const size_t off = (size_t)k * v->max_seen;
            const int32_t *sr = v->seen_rank + off;
            const int64_t lo = sr[v->seen_pos[off + tr->split_lo[i]]];
            const int64_t hi = sr[v->seen_pos[off + tr->split_hi[i]]];
            __builtin_prefetch(v->sorted_vals + (size_t)k * v->n_all + ((lo + hi) >> 1));
        }
    for (int32_t i = 0; i < tr->n_nodes[0]; i++)
        if (tr->feature[i] >= 0)
            v->node_rank[i] = (int32_t)rank_between(v, tr->feature[i], tr->threshold[i],
                                                    tr->split_lo[i], tr->split_hi[i]);
    v->list_used = 0;
    if (nw) score_node(v, 0, 0, root, root_list, nw, n_active);
}

#ifdef LC_HAVE_THREADS
/* One multi-threaded call (n_threads > 1).  Rounds of R trees: the threads take the round's
 * trees one at a time (a shared counter) and fit and score each into its own leaf array;
 * after a barrier each thread runs the Welford passes of the round's trees, in tree order,
 * over its own range of candidates (whole words).  Every candidate sees the same operations
 * in the same order as on one thread: the same bits.  Threads wait in a mutex/condition
 * barrier (they sleep, they do not spin: a busy machine costs wake-ups, not stolen cores). */
typedef struct {
    lc_rfei_ctx *c;
    const double *y_seen;
    int64_t n_seen;
    uint64_t forest_seed;
    const uint64_t *root;
    const int32_t *root_list;
    int64_t nw;
    int nthr;
    int go;
    int bar_waiting;  /* the barrier: threads arrived in this generation */
    int bar_gen;
    pthread_mutex_t mu;
    pthread_cond_t cv;
} mt_job;

/* A barrier of J->nthr threads on the job's mutex and condition (pthread_barrier_t is
 * optional in POSIX: macOS lacks it).  Waiting threads sleep. */
static void mt_barrier(mt_job *J) {
    pthread_mutex_lock(&J->mu);
    const int gen = J->bar_gen;
    if (++J->bar_waiting == J->nthr) {
        J->bar_waiting = 0;
        J->bar_gen++;
        pthread_cond_broadcast(&J->cv);
    } else {
        while (gen == J->bar_gen) pthread_cond_wait(&J->cv, &J->mu);
    }
    pthread_mutex_unlock(&J->mu);
}

typedef struct {
    mt_job *job;
    int l;
} mt_arg;

static void mt_lane(mt_job *J, int l) {
    lc_rfei_ctx *c = J->c;
    const int32_t T = c->params.n_trees;
    const int R = c->round_size, nthr = J->nthr, vtotal = c->variance_total;
    const int64_t n_all = c->n_all, W = c->n_words, padded = W * 64;
    const int64_t stride = lc_forest_max_nodes(c->max_seen);
    lc_rfei_ctx v;
    lane_view(c, l, &v);
    if (l > 0) lc_forest_presort(c->X_seen, J->n_seen, c->d, v.fit_work);
    const int64_t per = ((W + nthr - 1) / nthr) * 64;
    const int64_t j0 = per * l < n_all ? per * l : n_all;
    const int64_t j1 = j0 + per < n_all ? j0 + per : n_all;
    double *acc_lv = c->acc_lv;
    for (int32_t r0 = 0; r0 < T; r0 += R) {
        const int rn = T - r0 < R ? T - r0 : R;
        for (;;) {
            const int q = __atomic_fetch_add(&c->round_next[r0], 1, __ATOMIC_RELAXED);
            if (q >= rn) break;
            v.leaf_of = c->round_leaf + (size_t)q * (size_t)padded;
            lane_tree(&v, J->y_seen, J->n_seen, J->forest_seed, r0 + q, J->root, J->root_list,
                      J->nw, n_all);
            const int32_t nn = v.tree.n_nodes[0];
            memcpy(c->round_val + (size_t)q * stride, v.tree.value, sizeof(double) * nn);
            if (vtotal)
                memcpy(c->round_lv + (size_t)q * stride, v.tree.leaf_var, sizeof(double) * nn);
            c->tree_nodes[r0 + q] = nn;
            c->tree_depth[r0 + q] = v.tree.depth[0];
        }
        mt_barrier(J);  /* the round's trees are all scored */
        for (int q = 0; q < rn; q++) {
            const int32_t *lf = c->round_leaf + (size_t)q * (size_t)padded;
            welford_range(c, c->round_val + (size_t)q * stride, lf, j0, j1,
                          1.0 / (double)(r0 + q + 1));
            if (vtotal) {
                const double *lv = c->round_lv + (size_t)q * stride;
                for (int64_t j = j0; j < j1; j++) acc_lv[j] += lv[lf[j]];
            }
        }
        if (r0 + R < T) mt_barrier(J);  /* before the next round's trees */
    }
    c->lane_words[l] = v.last_words;
}

static void *mt_main(void *p) {
    mt_arg *a = (mt_arg *)p;
    mt_job *J = a->job;
    pthread_mutex_lock(&J->mu);
    while (!J->go) pthread_cond_wait(&J->cv, &J->mu);
    pthread_mutex_unlock(&J->mu);
    mt_lane(J, a->l);
    return NULL;
}
#endif

/* Fit tree by tree and accumulate mean / m2 / leaf variance for the active candidates. */
static void rfei_accumulate(lc_rfei_ctx *c, const int64_t *seen_rows, const double *y_seen,
                            int64_t n_seen, const uint8_t *active, uint64_t forest_seed) {
    const int d = c->d;
    const int64_t n_all = c->n_all, W = c->n_words;
    for (int64_t i = 0; i < n_seen; i++) {
        c->seen_ids[i] = c->inv[seen_rows[i]];
        memcpy(c->X_seen + (size_t)i * d, c->Xn + (size_t)seen_rows[i] * d,
               sizeof(double) * d);
    }
    /* the seen rows in each feature's order, for rank_between */
    for (int k = 0; k < d; k++) {
        lc_sort_item *s1 = c->sort1;
        for (int64_t i = 0; i < n_seen; i++) {
            s1[i].key = (double)rank_of(c, k, c->seen_ids[i]);
            s1[i].idx = (int32_t)i;
        }
        lc_sort_items(s1, n_seen, c->sort2);
        int32_t *sr = c->seen_rank + (size_t)k * c->max_seen;
        int32_t *sp = c->seen_pos + (size_t)k * c->max_seen;
        double *sv = c->seen_val + (size_t)k * c->max_seen;
        const double *vals = c->sorted_vals + (size_t)k * n_all;
        for (int64_t i = 0; i < n_seen; i++) {
            sr[i] = (int32_t)s1[i].key;
            sv[i] = vals[sr[i]];
            sp[s1[i].idx] = (int32_t)i;
        }
    }
    memset(c->acc_mean, 0, sizeof(double) * (size_t)n_all);
    memset(c->acc_m2, 0, sizeof(double) * (size_t)n_all);
    memset(c->acc_lv, 0, sizeof(double) * (size_t)n_all);
    lc_forest_presort(c->X_seen, n_seen, d, c->fit_work);
    c->last_nodes = 0;
    c->last_words = 0;
    c->last_depth_sum = 0;
    c->last_depth_max = 0;
    double *acc_lv = c->acc_lv;
    const int32_t T = c->params.n_trees;
    if (c->n_threads <= 1 || T <= 1) {
        /* root set = the active candidates (slot 0) */
        uint64_t *root = c->slots;
        memset(root, 0, sizeof(uint64_t) * (size_t)W);
        for (int64_t j = 0; j < n_all; j++)
            root[j >> 6] |= (uint64_t)(active[c->perm[j]] != 0) << (j & 63);
        int64_t nw = 0, n_active = 0;
        for (int64_t w = 0; w < W; w++) {
            if (root[w]) c->wlist[nw++] = (int32_t)w;
            n_active += lc_popcount64(root[w]);
        }
        memset(c->leaf_of, 0, sizeof(int32_t) * (size_t)n_all);  /* inactive rows: any leaf */
        const int32_t *leaf_of = c->leaf_of;
        for (int32_t t = 0; t < T; t++) {
            lane_tree(c, y_seen, n_seen, forest_seed, t, root, c->wlist, nw, n_active);
            c->last_nodes += c->tree.n_nodes[0];
            c->last_depth_sum += c->tree.depth[0];
            if (c->tree.depth[0] > c->last_depth_max) c->last_depth_max = c->tree.depth[0];
            /* one sequential pass: every candidate takes its leaf's value */
            const double inv_count = 1.0 / (double)(t + 1);
            welford_range(c, c->tree.value, leaf_of, 0, n_all, inv_count);
            if (c->variance_total) {
                const double *leaf_var = c->tree.leaf_var;
                for (int64_t j = 0; j < n_all; j++) acc_lv[j] += leaf_var[leaf_of[j]];
            }
        }
        c->final_leaf = c->leaf_of;
        c->final_nodes = c->tree.n_nodes[0];
        return;
    }
#ifdef LC_HAVE_THREADS
    /* Here every candidate, active or not, is scored (slot 1 of the slots, unused by the
     * descent, holds them all): the leaf arrays then hold only this tree's leaves, without
     * clearing them per call, for the renumbering.  The active ones get what the
     * single-thread path gives them. */
    const int64_t padded = W * 64;
    uint64_t *all = c->slots + (size_t)W;
    int32_t *all_list = c->wlist + (size_t)W;
    for (int64_t w = 0; w < W; w++) {
        all[w] = ~(uint64_t)0;
        all_list[w] = (int32_t)w;
    }
    if (n_all & 63) all[W - 1] = ((uint64_t)1 << (n_all & 63)) - 1;
    mt_job job;
    job.c = c;
    job.y_seen = y_seen;
    job.n_seen = n_seen;
    job.forest_seed = forest_seed;
    job.root = all;
    job.root_list = all_list;
    job.nw = W;
    job.go = 0;
    job.bar_waiting = 0;
    job.bar_gen = 0;
    for (int32_t t = 0; t < T; t++) c->round_next[t] = 0;
    for (int l = 0; l < c->n_threads; l++) c->lane_words[l] = 0;
    /* workers wait for `go`, so that the barrier counts only the threads that started */
    pthread_t tid[LC_MAX_THREADS];
    mt_arg args[LC_MAX_THREADS];
    pthread_mutex_init(&job.mu, NULL);
    pthread_cond_init(&job.cv, NULL);
    /* the per-row subtrees recurse once per tree level: a stack as large as glibc's default
     * everywhere (musl's default is 128 KiB) */
    pthread_attr_t attr;
    const int have_attr = pthread_attr_init(&attr) == 0;
    if (have_attr) pthread_attr_setstacksize(&attr, (size_t)8 << 20);
    int started = 0;
    for (int l = 1; l < c->n_threads; l++) {
        args[l].job = &job;
        args[l].l = l;
        if (pthread_create(&tid[l], have_attr ? &attr : NULL, mt_main, &args[l]) != 0) break;
        started++;
    }
    if (have_attr) pthread_attr_destroy(&attr);
    job.nthr = started + 1;  /* a thread that did not start is not waited for */
    pthread_mutex_lock(&job.mu);
    job.go = 1;
    pthread_cond_broadcast(&job.cv);
    pthread_mutex_unlock(&job.mu);
    mt_lane(&job, 0);
    for (int l = 1; l <= started; l++) pthread_join(tid[l], NULL);
    pthread_cond_destroy(&job.cv);
    pthread_mutex_destroy(&job.mu);
    for (int l = 0; l < c->n_threads; l++) c->last_words += c->lane_words[l];
    for (int32_t t = 0; t < T; t++) {
        c->last_nodes += c->tree_nodes[t];
        c->last_depth_sum += c->tree_depth[t];
        if (c->tree_depth[t] > c->last_depth_max) c->last_depth_max = c->tree_depth[t];
    }
    c->final_leaf = c->round_leaf + (size_t)((T - 1) % c->round_size) * (size_t)padded;
    c->final_nodes = c->tree_nodes[T - 1];
#endif
}

static inline double finish_var(const lc_rfei_ctx *c, int64_t j) {
    const double T = (double)c->params.n_trees;
    double v = c->acc_m2[j] / T;
    if (c->variance_total) v = v + c->acc_lv[j] / T;
    return v;
}

void lc_rfei_score(lc_rfei_ctx *ctx, const int64_t *seen_rows, const double *y_seen,
                   int64_t n_seen, const uint8_t *active, double best, double xi,
                   uint64_t forest_seed, double *mean, double *var, double *ei) {
    rfei_accumulate(ctx, seen_rows, y_seen, n_seen, active, forest_seed);
    for (int64_t i = 0; i < ctx->n_all; i++) {
        if (!active[i]) continue;
        const int64_t j = ctx->inv[i];
        const double mu = ctx->acc_mean[j], v = finish_var(ctx, j);
        if (mean) mean[i] = mu;
        if (var) var[i] = v;
        ei[i] = lc_ei(mu, sqrt(v), best, xi);
    }
    reorder_by_leaves(ctx);
}

int64_t lc_rfei_choose(lc_rfei_ctx *ctx, const int64_t *seen_rows, const double *y_seen,
                       int64_t n_seen, const uint8_t *active, double best, double xi,
                       uint64_t forest_seed, lc_rng *tie_rng) {
    const int64_t n_all = ctx->n_all;
    int64_t first = -1, count = 0;
    for (int64_t i = 0; i < n_all; i++)
        if (active[i]) { first = i; break; }
    if (first < 0) return -1;
    rfei_accumulate(ctx, seen_rows, y_seen, n_seen, active, forest_seed);
    /* EI only where it can reach the maximum.  EI = E[max(mu + sigma Z - best - xi, 0)]
     * <= max(imp, 0) + sigma / sqrt(2 pi), and for imp < 0 (z = imp / sigma = -a, Mills-ratio
     * bound Phi(-a) >= a phi(a) / (1 + a^2)) EI = sigma (phi(a) - a Phi(-a))
     * <= sigma phi(a) / (1 + a^2) <= sigma phi(0) sigma^2 / (sigma^2 + imp^2); the computed
     * lc_ei exceeds its exact value by at
     * most a few ulps of |imp| and sigma (its two terms), covered by the margin below.  Pass 1
     * stores that bound per active row; the exact EI of the rows with the largest bound and
     * the largest max(imp, 0) gives a level T <= the largest EI; pass 2 computes lc_ei exactly
     * (same operations as lc_rfei_score) for the rows whose bound reaches T and marks the
     * others -1 (below every EI, which is >= 0).  Any row whose EI equals the maximum has
     * bound >= EI >= T, so the arg-max and the tie count below are those of the full pass. */
    double *sc = ctx->score;
    const int32_t *inv = ctx->inv;
    const double *acc_mean = ctx->acc_mean;
    double bu = -1.0, bl = -1.0;
    int64_t iu = first, il = first;
    for (int64_t i = first; i < n_all; i++) {
        if (!active[i]) continue;
        const int64_t j = inv[i];
        const double s = sqrt(finish_var(ctx, j));
        const double imp = acc_mean[j] - best - xi;
        const double lo = imp > 0.0 ? imp : 0.0;
        const double s2 = s * s;
        const double hb = imp >= 0.0 ? s : s * (s2 / (s2 + imp * imp));
        const double u = lo + hb * LC_INV_SQRT2PI + 1e-9 * (fabs(imp) + s) + 1e-300;
        sc[i] = u;
        if (u > bu) { bu = u; iu = i; }
        if (lo > bl) { bl = lo; il = i; }
    }
    const double eu = lc_ei(acc_mean[inv[iu]], sqrt(finish_var(ctx, inv[iu])), best, xi);
    const double el = lc_ei(acc_mean[inv[il]], sqrt(finish_var(ctx, inv[il])), best, xi);
    const double level = eu > el ? eu : el;
    for (int64_t i = first; i < n_all; i++) {
        if (!active[i]) continue;
        if (sc[i] >= level) {
            const int64_t j = inv[i];
            sc[i] = lc_ei(acc_mean[j], sqrt(finish_var(ctx, j)), best, xi);
        } else {
            sc[i] = -1.0;
        }
    }
    reorder_by_leaves(ctx);
    double top = ctx->score[first];
    for (int64_t i = first; i < n_all; i++) {
        if (!active[i]) continue;
        const double e = ctx->score[i];
        if (e > top) { top = e; count = 1; }
        else if (e == top) count++;
    }
    int64_t k = count > 1 ? (int64_t)lc_rng_bounded(tie_rng, (uint64_t)count) : 0;
    for (int64_t i = first; i < n_all; i++) {
        if (active[i] && ctx->score[i] == top) {
            if (k == 0) return i;
            k--;
        }
    }
    return -1; /* not reached */
}

/* ------------------------------------------------------------------------------------ */
/* Whole-set prediction of a given forest (lc_forest_predict_set in lc_acq.h).
 *
 * The candidates are ranked against the forest's own thresholds: per feature k the distinct
 * split thresholds, ascending (U_k, u_k of them), give every candidate the code
 * c = #{U_k < x_k} and every node on k the number j + 1 where U_k[j] is its threshold;
 * then x_k <= threshold  <=>  c < j + 1 (IEEE compares only, so exactly the per-row walk's
 * decision).  With those codes as the ranks, every tree is descended with the chooser's
 * bitset / per-candidate machinery above, and the running mean / variance takes the trees
 * in order with the same operations as lc_forest_predict: the same bits. */

#define LC_SET_MAX_DEPTH 4096 /* deeper trees: per-row walk (the descent recurses per level) */

typedef struct {
    double *uniq;       /* n_total: each feature's distinct thresholds, ascending */
    int64_t *ustart;    /* d + 1: feature k's are uniq[ustart[k] .. ustart[k + 1]) */
    int32_t *node_rank; /* n_total */
    int32_t *depth;     /* n_total: node depths */
    lc_sort_item *s1;   /* n_total */
    lc_sort_item *s2;   /* n_total */
    int32_t *bstart;    /* 8 n_total + 2 d: every feature's bucket starts */
    int64_t *boff;      /* d: feature k's start in bstart */
    int64_t *bnb;       /* d: its bucket count */
    double *blo;        /* d: its lowest finite threshold */
    double *bscale;     /* d: buckets per unit */
    int32_t *perm;      /* m: internal id -> row (the renumbering) */
    int32_t *cnt;       /* n_total + 1: leaf counts of the renumbering */
    double *tmpd;       /* m */
    int16_t *tmp16;     /* m + 64 */
    int32_t *tmp32;     /* m + 64 */
} set_ws;

/* The workspace; the parts before the codes sit at the same offsets for both code widths. */
static size_t set_layout(char *mem, int64_t m, int d, int64_t n_total, int small,
                         lc_rfei_ctx *c, set_ws *w) {
    const int64_t n_words = (m + 63) / 64;
    const size_t padded = (size_t)n_words * 64, dd = (size_t)d, nt = (size_t)n_total;
    const int depth = DEFAULT_BITSET_DEPTH;
    size_t off = 0;
#define TAKE(ptr, type, count)                                          \
    do {                                                                \
        if (c) ptr = (type *)(mem + off);                               \
        off += ALIGN64(sizeof(type) * (size_t)(count));                 \
    } while (0)
    TAKE(w->uniq, double, nt);
    TAKE(w->ustart, int64_t, dd + 1);
    TAKE(w->node_rank, int32_t, nt);
    TAKE(w->depth, int32_t, nt);
    TAKE(w->s1, lc_sort_item, nt);
    TAKE(w->s2, lc_sort_item, nt);
    TAKE(w->bstart, int32_t, 8 * nt + 2 * dd);
    TAKE(w->boff, int64_t, dd);
    TAKE(w->bnb, int64_t, dd);
    TAKE(w->blo, double, dd);
    TAKE(w->bscale, double, dd);
    TAKE(w->perm, int32_t, (size_t)m);
    TAKE(w->cnt, int32_t, nt + 1);
    TAKE(w->tmpd, double, (size_t)m);
    TAKE(w->tmp16, int16_t, padded);
    TAKE(w->tmp32, int32_t, padded);
    if (small) {
        TAKE(c->rank16, int16_t, dd * padded + 2); /* + 2: the gathers read 4 bytes */
    } else {
        TAKE(c->rank32, int32_t, dd * padded);
    }
    TAKE(c->wmin, int32_t, dd * (size_t)n_words);
    TAKE(c->wmax, int32_t, dd * (size_t)n_words);
    TAKE(c->leaf_of, int32_t, padded);
    TAKE(c->slots, uint64_t, 2 * (size_t)(depth + 1) * (size_t)n_words);
    TAKE(c->wlist, int32_t, 2 * (size_t)(depth + 1) * (size_t)n_words);
    TAKE(c->order, int32_t, (size_t)m + 16);
    TAKE(c->perm_alt, int32_t, (size_t)m + 16);
    TAKE(c->list_tmp, int32_t, (size_t)m + 16);
    TAKE(c->acc_mean, double, (size_t)m);
    TAKE(c->acc_m2, double, (size_t)m);
    TAKE(c->acc_lv, double, (size_t)m);
#undef TAKE
    return off + 64;
}

size_t lc_forest_predict_set_bytes(int64_t m, int d, int64_t n_total) {
    set_ws w;
    return set_layout(NULL, m, d, n_total, 0, NULL, &w); /* the larger of the two */
}

/* Bucket of v: clamp((v - lo) * scale, 0, nb - 1), monotone in v (NaN-free for any v). */
static inline int64_t set_bucket(double v, double lo, double scale, int64_t nb) {
    double t = (v - lo) * scale;
    if (!(t >= 0.0)) t = 0.0;  /* also NaN (inf * 0) */
    if (t > (double)(nb - 1)) t = (double)(nb - 1);
    return (int64_t)t;
}

/* #{u[0..n) < x} (u ascending), branch-free. */
static inline int64_t count_below(const double *u, int64_t n, double x) {
    const double *b = u;
    while (n > 1) {
        const int64_t half = n >> 1;
        b = b[half - 1] < x ? b + half : b;
        n -= half;
    }
    return (b - u) + (n == 1 && b[0] < x);
}

static void finish_outputs(const double *acc_mean, const double *acc_m2, const double *acc_lv,
                           int64_t m, int32_t n_trees, int variance_total, double *mean,
                           double *var, const double *best_xi, double *ei) {
    const double T = (double)n_trees;
    for (int64_t i = 0; i < m; i++) {
        const double mu = acc_mean[i];
        double v = acc_m2[i] / T;
        if (variance_total) v = v + acc_lv[i] / T;
        if (mean) mean[i] = mu;
        if (var) var[i] = v;
        if (ei) ei[i] = lc_ei(mu, sqrt(v), best_xi[0], best_xi[1]);
    }
}

/* Renumber the candidates in the pre-order of their leaves in the tree just scored (its
 * n_nodes nodes): the next trees split them much alike, so their nodes' candidates sit in
 * fewer words.  Accumulators, codes and perm follow; only the speed depends on it. */
static void set_renumber(lc_rfei_ctx *c, set_ws *w, int64_t n_nodes) {
    const int64_t m = c->n_all, padded = c->n_words * 64;
    int32_t *cnt = w->cnt, *order = c->order;
    memset(cnt, 0, sizeof(int32_t) * (size_t)(n_nodes + 1));
    for (int64_t j = 0; j < m; j++) cnt[c->leaf_of[j] + 1]++;
    for (int64_t v = 0; v < n_nodes; v++) cnt[v + 1] += cnt[v];
    for (int64_t j = 0; j < m; j++) order[cnt[c->leaf_of[j]]++] = (int32_t)j;
    for (int64_t q = 0; q < m; q++) w->tmp32[q] = w->perm[order[q]];
    memcpy(w->perm, w->tmp32, sizeof(int32_t) * (size_t)m);
    double *accs[3] = {c->acc_mean, c->acc_m2, c->acc_lv};
    for (int a = 0; a < 3; a++) {
        for (int64_t q = 0; q < m; q++) w->tmpd[q] = accs[a][order[q]];
        memcpy(accs[a], w->tmpd, sizeof(double) * (size_t)m);
    }
    for (int k = 0; k < c->d; k++) {
        if (c->rank16) {
            int16_t *r = c->rank16 + (size_t)k * (size_t)padded;
            for (int64_t q = 0; q < m; q++) w->tmp16[q] = r[order[q]];
            memcpy(r, w->tmp16, sizeof(int16_t) * (size_t)m);
        } else {
            int32_t *r = c->rank32 + (size_t)k * (size_t)padded;
            for (int64_t q = 0; q < m; q++) w->tmp32[q] = r[order[q]];
            memcpy(r, w->tmp32, sizeof(int32_t) * (size_t)m);
        }
    }
    word_ranges(c);
}

int lc_forest_predict_set(const lc_forest *f, int32_t n_trees, int64_t n_total,
                          const double *X, int64_t m, int d, int variance_total, double *mean,
                          double *var, const double *best_xi, double *ei, void *work) {
    if (m <= 0) return 1;
    char *base = (char *)work;
    base += (64 - ((uintptr_t)base & 63)) & 63;
    set_ws w;
    lc_rfei_ctx c;
    memset(&c, 0, sizeof c);
    set_layout(base, m, d, n_total, 0, &c, &w);
    /* node depths (children come after their parent) */
    int32_t max_depth = 0;
    for (int32_t t = 0; t < n_trees; t++) {
        const int64_t lo = f->offset[t], hi = t + 1 < n_trees ? f->offset[t + 1] : n_total;
        w.depth[lo] = 0;
        for (int64_t s = lo; s < hi; s++) {
            if (f->feature[s] < 0) continue;
            const int32_t dc = w.depth[s] + 1;
            w.depth[lo + f->left[s]] = dc;
            w.depth[lo + f->right[s]] = dc;
            if (dc > max_depth) max_depth = dc;
        }
    }
    if (max_depth > LC_SET_MAX_DEPTH) return 0;
    /* each feature's distinct thresholds, ascending */
    int64_t umax = 0;
    w.ustart[0] = 0;
    for (int k = 0; k < d; k++) {
        const int64_t a = w.ustart[k];
        int64_t n = 0;
        for (int64_t s = 0; s < n_total; s++)
            if (f->feature[s] == k) {
                w.s1[n].key = f->threshold[s];
                w.s1[n].idx = 0;
                n++;
            }
        lc_sort_items(w.s1, n, w.s2);
        int64_t u = 0;
        for (int64_t i = 0; i < n; i++)
            if (u == 0 || w.s1[i].key > w.uniq[a + u - 1]) w.uniq[a + u++] = w.s1[i].key;
        w.ustart[k + 1] = a + u;
        if (u > umax) umax = u;
    }
    /* 16-bit codes (biased by -32768) while every count fits */
    const int small = umax <= 65534;
    set_layout(base, m, d, n_total, small, &c, &w);
    c.n_all = m;
    c.d = d;
    c.n_words = (m + 63) / 64;
    c.bitset_depth = DEFAULT_BITSET_DEPTH;
    c.list_density = DEFAULT_LIST_DENSITY;
    c.params.n_trees = n_trees;
    c.variance_total = variance_total;
#ifdef LC_HAVE_AVX2_DISPATCH
    __builtin_cpu_init();
    c.use_avx2 = __builtin_cpu_supports("avx2") ? 1 : 0;
#endif
    const int64_t W = c.n_words, padded = W * 64;
    for (int64_t s = 0; s < n_total; s++) {
        const int32_t k = f->feature[s];
        if (k < 0) { w.node_rank[s] = 0; continue; }
        const int64_t a = w.ustart[k];
        w.node_rank[s] = (int32_t)(count_below(w.uniq + a, w.ustart[k + 1] - a,
                                               f->threshold[s]) + 1);
    }
    /* Buckets per feature: b(v) = clamp((v - lo) * scale, 0, nb - 1) is monotone in v, so
     * with bstart[b] = #{U_j : b(U_j) < b} the code of x is bstart[b(x)] plus a count within
     * bucket b(x) (exact for any values; only the speed depends on them). */
    int64_t boff = 0;
    for (int k = 0; k < d; k++) {
        const double *u = w.uniq + w.ustart[k];
        const int64_t nu = w.ustart[k + 1] - w.ustart[k];
        double lo = 0.0, hi = 0.0;
        int any = 0;
        for (int64_t j = 0; j < nu; j++)
            if (u[j] - u[j] == 0.0) {  /* finite */
                if (!any) lo = u[j];
                hi = u[j];
                any = 1;
            }
        int64_t nb = 1;
        while (nb < 4 * nu && nb < ((int64_t)1 << 16)) nb <<= 1;
        double scale = any && hi > lo ? (double)nb / (hi - lo) : 0.0;
        if (!(scale > 0.0 && scale - scale == 0.0)) { scale = 0.0; nb = 1; }
        w.blo[k] = lo;
        w.bscale[k] = scale;
        w.bnb[k] = nb;
        w.boff[k] = boff;
        int32_t *bstart = w.bstart + boff;
        int64_t j = 0;
        for (int64_t b = 0; b <= nb; b++) {
            while (j < nu && set_bucket(u[j], lo, scale, nb) < b) j++;
            bstart[b] = (int32_t)j;
        }
        boff += nb + 1;
    }
    for (int64_t i = 0; i < m; i++) {  /* row by row: X is read once, in order */
        const double *x = X + (size_t)i * (size_t)d;
        for (int k = 0; k < d; k++) {
            const double v = x[k];
            const double *u = w.uniq + w.ustart[k];
            const int32_t *bstart = w.bstart + w.boff[k];
            const int64_t b = set_bucket(v, w.blo[k], w.bscale[k], w.bnb[k]);
            const int64_t a = bstart[b];
            const int64_t cnt = a + count_below(u + a, bstart[b + 1] - a, v);
            if (small) c.rank16[(size_t)k * (size_t)padded + i] = (int16_t)(cnt - 32768);
            else c.rank32[(size_t)k * (size_t)padded + i] = (int32_t)cnt;
        }
    }
    for (int k = 0; k < d; k++)
        for (int64_t i = m; i < padded; i++) {
            if (small) c.rank16[(size_t)k * (size_t)padded + i] = INT16_MAX;
            else c.rank32[(size_t)k * (size_t)padded + i] = INT32_MAX;
        }
    word_ranges(&c);
    for (int64_t j = 0; j < m; j++) w.perm[j] = (int32_t)j;
    memset(c.acc_mean, 0, sizeof(double) * (size_t)m);
    memset(c.acc_m2, 0, sizeof(double) * (size_t)m);
    memset(c.acc_lv, 0, sizeof(double) * (size_t)m);
    uint64_t *root = c.slots;
    for (int64_t q = 0; q < W; q++) {
        root[q] = ~(uint64_t)0;
        c.wlist[q] = (int32_t)q;
    }
    if (m & 63) root[W - 1] = ((uint64_t)1 << (m & 63)) - 1;
    for (int32_t t = 0; t < n_trees; t++) {
        const int64_t off = f->offset[t];
        c.tree.feature = f->feature + off;
        c.tree.left = f->left + off;
        c.tree.right = f->right + off;
        c.tree.threshold = f->threshold + off;
        c.tree.value = f->value + off;
        c.tree.leaf_var = f->leaf_var + off;
        c.node_rank = w.node_rank + off;
        c.list_used = 0;
        score_node(&c, 0, 0, root, c.wlist, W, m);
        welford_range(&c, c.tree.value, c.leaf_of, 0, m, 1.0 / (double)(t + 1));
        if (variance_total) {
            const double *lv = c.tree.leaf_var;
            for (int64_t j = 0; j < m; j++) c.acc_lv[j] += lv[c.leaf_of[j]];
        }
        if (t == 0 && n_trees > 1) set_renumber(&c, &w, f->offset[1] - f->offset[0]);
    }
    /* back to row order */
    double *outs[3] = {c.acc_mean, c.acc_m2, c.acc_lv};
    for (int q = 0; q < 3; q++) {
        for (int64_t j = 0; j < m; j++) w.tmpd[w.perm[j]] = outs[q][j];
        memcpy(outs[q], w.tmpd, sizeof(double) * (size_t)m);
    }
    finish_outputs(c.acc_mean, c.acc_m2, c.acc_lv, m, n_trees, variance_total, mean, var,
                   best_xi, ei);
    return 1;
}
