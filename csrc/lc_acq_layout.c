/* lc_acq_layout.c: the rf-ei context -- its block layout, the k-d start order, the
 * candidates' per-feature ranks and word ranges, the renumbering along the last tree's
 * leaves, lc_rfei_prepare and the thread-count settings. */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

#include "lc_acq_internal.h"

int lc_rfei_threads_available(void) {
#ifdef LC_HAVE_THREADS
    return 1;
#else
    return 0;
#endif
}

int lcq_clamp_threads(int n_threads) {
#ifdef LC_HAVE_THREADS
    return n_threads < 1 ? 1 : n_threads > LC_MAX_THREADS ? LC_MAX_THREADS : n_threads;
#else
    (void)n_threads;
    return 1;
#endif
}

/* Trees per round with n_threads > 1: all of them (one barrier per call) while the
 * round's leaf arrays stay within 32 MiB, else fewer (at least one per thread). */
int lcq_round_size_for(int n_threads, int n_trees, int64_t n_all) {
    int64_t r = n_trees;
    const int64_t cap = ((int64_t)32 << 20) / (4 * (n_all > 0 ? n_all : 1));
    if (r > cap) r = cap;
    if (r < n_threads) r = n_threads;
    if (r > n_trees) r = n_trees;
    return r < 1 ? 1 : (int)r;
}

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
        c->rank_bstride = lcq_rank_buckets(n_all) + 1;
        c->bitset_depth = depth;
        c->rank16 = c->rank16_alt = NULL;
        c->rank32 = c->rank32_alt = NULL;
        c->n_threads = n_threads;
        c->round_size = lcq_round_size_for(n_threads, n_trees, n_all);
        c->lanes = NULL;
        c->round_leaf = NULL;
        c->round_val = c->round_lv = NULL;
        c->tree_nodes = c->tree_depth = NULL;
        c->round_next = NULL;
    }
    TAKE(c->Xn, double, na * dd);
    TAKE(c->perm, int32_t, na + 16);  /* swapped with perm_alt by the renumbering */
    TAKE(c->perm_alt, int32_t, na + 16);
    TAKE(c->order, int32_t, na + 16);
    TAKE(c->leaf_count, int32_t, (size_t)stride + 1);
    TAKE(c->inv, int32_t, na);
    TAKE(c->sorted_vals, double, na * dd);
    TAKE(c->rank_bstart, int32_t, dd * (size_t)(lcq_rank_buckets(n_all) + 1));
    TAKE(c->rank_blo, double, dd);
    TAKE(c->rank_bscale, double, dd);
    TAKE(c->rank_bnb, int64_t, dd);
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
    TAKE(c->acc_mean, double, na);
    TAKE(c->acc_m2, double, na);
    TAKE(c->acc_lv, double, na);
    TAKE(c->score, double, na);
    TAKE(c->X_seen, double, (size_t)max_seen * dd);
    TAKE(c->kept_rows, int64_t, (size_t)max_seen);
    /* one tree's slots (every lane's) */
#define TAKE_TREE(tr)                                   \
    do {                                                \
        TAKE((tr).feature, int32_t, stride);            \
        TAKE((tr).left, int32_t, stride);               \
        TAKE((tr).right, int32_t, stride);              \
        TAKE((tr).threshold, double, stride);           \
        TAKE((tr).value, double, stride);               \
        TAKE((tr).leaf_var, double, stride);            \
        TAKE((tr).n_nodes, int32_t, 1);                 \
        TAKE((tr).depth, int32_t, 1);                   \
        TAKE((tr).offset, int64_t, 1);                  \
    } while (0)
    /* sorting scratch */
    const size_t ns = na > (size_t)max_seen ? na : (size_t)max_seen;
    TAKE(*s1, lc_sort_item, ns);
    TAKE(*s2, lc_sort_item, ns);
    TAKE(c->lanes, lc_rfei_lane, n_threads);
    for (int l = 0; l < n_threads; l++) {
        lc_rfei_lane *L = c ? &c->lanes[l] : NULL;
        TAKE_TREE(L->tree);
        TAKE(L->node_rank, int32_t, stride);
        TAKE(L->order, int32_t, na + 16);  /* + 16: lcq_list_bits_avx2 writes past the end */
        TAKE(L->alt, int32_t, na + 16);
        TAKE(L->list_tmp, int32_t, na + 16);
        TAKE(L->slots, uint64_t, 2 * (size_t)(depth + 1) * (size_t)n_words);
        TAKE(L->wlist, int32_t, 2 * (size_t)(depth + 1) * (size_t)n_words);
        TAKE(L->fit_work, char, lc_forest_fit_workspace_bytes(max_seen, d));
    }
    if (n_threads > 1) {
        const int R = lcq_round_size_for(n_threads, n_trees, n_all);
        const size_t nt = (size_t)(n_trees > 0 ? n_trees : 1);
        TAKE(c->round_leaf, int32_t, (size_t)R * padded);  /* padded: word writes */
        TAKE(c->round_val, double, (size_t)R * (size_t)stride);
        TAKE(c->round_lv, double, (size_t)R * (size_t)stride);
        TAKE(c->tree_nodes, int32_t, nt);
        TAKE(c->tree_depth, int32_t, nt);
        TAKE(c->round_next, int32_t, nt);
    }
#undef TAKE_TREE
#undef TAKE
    return off + 64;
}

size_t lc_rfei_bytes(int64_t n_all, int d, int64_t max_seen, const lc_forest_params *p,
                     int bitset_depth, int n_threads) {
    lc_sort_item *s1, *s2;
    return rfei_layout(NULL, NULL, n_all, d, max_seen, bitset_depth, p->n_trees,
                       lcq_clamp_threads(n_threads), &s1, &s2);
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
void lcq_word_ranges(lc_rfei_ctx *c) {
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
void lcq_reorder_by_leaves(lc_rfei_ctx *c) {
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
        /* one body for 16- and 32-bit ranks; the word ranges on the way */
        const int16_t *s16 = c->rank16 ? c->rank16 + (size_t)k * padded : NULL;
        const int32_t *s32 = c->rank32 ? c->rank32 + (size_t)k * padded : NULL;
        int16_t *d16 = c->rank16 ? c->rank16_alt + (size_t)k * padded : NULL;
        int32_t *d32 = c->rank32 ? c->rank32_alt + (size_t)k * padded : NULL;
        int32_t *wmn = c->wmin + (size_t)k * c->n_words, *wmx = c->wmax + (size_t)k * c->n_words;
        for (int64_t w = 0; w < c->n_words; w++) {
            const int64_t q0 = w * 64, q1 = q0 + 64 < n_all ? q0 + 64 : n_all;
            int32_t mn = INT32_MAX, mx = -1;
            for (int64_t q = q0; q < q1; q++) {
                const int32_t v = s16 ? (int32_t)s16[order[q]] + 32768 : s32[order[q]];
                if (d16) d16[q] = (int16_t)(v - 32768);
                else d32[q] = v;
                mn = v < mn ? v : mn;
                mx = v > mx ? v : mx;
            }
            wmn[w] = mn;
            wmx[w] = mx;
        }
        for (int64_t q = n_all; q < padded; q++) {
            if (d16) d16[q] = INT16_MAX;
            else d32[q] = INT32_MAX;
        }
    }
    int32_t *tp = c->perm; c->perm = c->perm_alt; c->perm_alt = tp;
    int16_t *t16 = c->rank16; c->rank16 = c->rank16_alt; c->rank16_alt = t16;
    int32_t *t32 = c->rank32; c->rank32 = c->rank32_alt; c->rank32_alt = t32;
    for (int64_t q = 0; q < n_all; q++) c->inv[c->perm[q]] = (int32_t)q;
}

void lc_rfei_prepare(lc_rfei_ctx *ctx, void *mem, const double *X_all, int64_t n_all, int d,
                     int64_t max_seen, const lc_forest_params *p, int variance_total,
                     int bitset_depth, int n_threads) {
    lc_sort_item *s1 = NULL, *s2 = NULL;
    char *base = (char *)mem;
    base += (64 - ((uintptr_t)base & 63)) & 63;
    rfei_layout(ctx, base, n_all, d, max_seen, bitset_depth, p->n_trees,
                lcq_clamp_threads(n_threads), &s1, &s2);
    for (int l = 0; l < ctx->n_threads; l++) ctx->lanes[l].tree.offset[0] = 0;
    ctx->sort1 = s1;
    ctx->sort2 = s2;
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
    ctx->kept_n = ctx->last_kept = 0;
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
        lcq_bucket_build(sv, n_all, ctx->rank_bstride - 1, &ctx->rank_blo[k],
                         &ctx->rank_bscale[k], &ctx->rank_bnb[k],
                         ctx->rank_bstart + (size_t)k * (size_t)ctx->rank_bstride);
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
    lcq_word_ranges(ctx);
}
