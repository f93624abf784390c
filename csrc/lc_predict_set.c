/* lc_predict_set.c: whole-set prediction of a fitted forest (lc_forest_predict_set). */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

#include "lc_acq_internal.h"

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
                         lc_rfei_ctx *c, lc_rfei_lane *L, set_ws *w) {
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
    TAKE(L->slots, uint64_t, 2 * (size_t)(depth + 1) * (size_t)n_words);
    TAKE(L->wlist, int32_t, 2 * (size_t)(depth + 1) * (size_t)n_words);
    TAKE(L->order, int32_t, (size_t)m + 16);
    TAKE(L->alt, int32_t, (size_t)m + 16);
    TAKE(L->list_tmp, int32_t, (size_t)m + 16);
    TAKE(c->order, int32_t, (size_t)m + 16);
    TAKE(c->acc_mean, double, (size_t)m);
    TAKE(c->acc_m2, double, (size_t)m);
    TAKE(c->acc_lv, double, (size_t)m);
#undef TAKE
    return off + 64;
}

size_t lc_forest_predict_set_bytes(int64_t m, int d, int64_t n_total) {
    set_ws w;
    return set_layout(NULL, m, d, n_total, 0, NULL, NULL, &w); /* the larger of the two */
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
    lcq_word_ranges(c);
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
    lc_rfei_lane lane;
    memset(&lane, 0, sizeof lane);
    set_layout(base, m, d, n_total, 0, &c, &lane, &w);
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
    set_layout(base, m, d, n_total, small, &c, &lane, &w);
    lane.leaf_of = c.leaf_of;
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
        w.node_rank[s] = (int32_t)(lcq_count_below(w.uniq + a, w.ustart[k + 1] - a,
                                                   f->threshold[s]) + 1);
    }
    /* the code of x: a count within its bucket of U_k (lcq_bucket_build) */
    int64_t boff = 0;
    for (int k = 0; k < d; k++) {
        const double *u = w.uniq + w.ustart[k];
        const int64_t nu = w.ustart[k + 1] - w.ustart[k];
        int64_t nb = 1;
        while (nb < 4 * nu && nb < ((int64_t)1 << 16)) nb <<= 1;
        w.boff[k] = boff;
        lcq_bucket_build(u, nu, nb, &w.blo[k], &w.bscale[k], &w.bnb[k], w.bstart + boff);
        boff += w.bnb[k] + 1;
    }
    for (int64_t i = 0; i < m; i++) {  /* row by row: X is read once, in order */
        const double *x = X + (size_t)i * (size_t)d;
        for (int k = 0; k < d; k++) {
            const double v = x[k];
            const double *u = w.uniq + w.ustart[k];
            const int32_t *bstart = w.bstart + w.boff[k];
            const int64_t b = lcq_bucket(v, w.blo[k], w.bscale[k], w.bnb[k]);
            const int64_t a = bstart[b];
            const int64_t cnt = a + lcq_count_below(u + a, bstart[b + 1] - a, v);
            if (small) c.rank16[(size_t)k * (size_t)padded + i] = (int16_t)(cnt - 32768);
            else c.rank32[(size_t)k * (size_t)padded + i] = (int32_t)cnt;
        }
    }
    for (int k = 0; k < d; k++)
        for (int64_t i = m; i < padded; i++) {
            if (small) c.rank16[(size_t)k * (size_t)padded + i] = INT16_MAX;
            else c.rank32[(size_t)k * (size_t)padded + i] = INT32_MAX;
        }
    lcq_word_ranges(&c);
    for (int64_t j = 0; j < m; j++) w.perm[j] = (int32_t)j;
    memset(c.acc_mean, 0, sizeof(double) * (size_t)m);
    memset(c.acc_m2, 0, sizeof(double) * (size_t)m);
    memset(c.acc_lv, 0, sizeof(double) * (size_t)m);
    uint64_t *root = lane.slots;
    for (int64_t q = 0; q < W; q++) {
        root[q] = ~(uint64_t)0;
        lane.wlist[q] = (int32_t)q;
    }
    if (m & 63) root[W - 1] = ((uint64_t)1 << (m & 63)) - 1;
    for (int32_t t = 0; t < n_trees; t++) {
        const int64_t off = f->offset[t];
        lane.tree.feature = f->feature + off;
        lane.tree.left = f->left + off;
        lane.tree.right = f->right + off;
        lane.tree.threshold = f->threshold + off;
        lane.tree.value = f->value + off;
        lane.tree.leaf_var = f->leaf_var + off;
        lane.node_rank = w.node_rank + off;
        lane.list_used = 0;
        lcq_score_node(&c, &lane, 0, 0, root, lane.wlist, W, m);
        lcq_welford_range(&c, lane.tree.value, c.leaf_of, 0, m, 1.0 / (double)(t + 1));
        if (variance_total) {
            const double *lv = lane.tree.leaf_var;
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
