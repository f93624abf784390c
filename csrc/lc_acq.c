/* lc_acq.c: the rf-ei step (lc_rfei_choose / lc_rfei_score, see lc_acq.h).
 *
 * The parts: lc_ei.c (EI, PI, UCB), lc_acq_layout.c (the context: layout, ranks,
 * renumbering), lc_acq_descent.c (one tree over the candidates), lc_acq_simd.c (AVX2
 * kernels), lc_acq_threads.c (n_threads > 1), lc_predict_set.c (whole-set prediction of a
 * given forest); lc_acq_internal.h holds what they share.
 */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

#include "lc_acq_internal.h"

/* The seen rows' sorted state: the fit workspace's presorted orders and value ranks.
 * Within a replay the seen rows only grow by rows appended at the end, so a call whose first
 * rows are the previous call's rows keeps that state and inserts the new rows (the same
 * arrays a full sort would give). */
static void rfei_seen_state(lc_rfei_ctx *c, const int64_t *seen_rows, int64_t n_seen) {
    const int d = c->d;
    const int64_t ms = c->max_seen;
    int64_t kept = c->kept_n;
    if (kept > n_seen || (kept > 0 && memcmp(c->kept_rows, seen_rows,
                                             sizeof(int64_t) * (size_t)kept) != 0))
        kept = 0;
    c->last_kept = kept;
    for (int64_t i = kept; i < n_seen; i++) {
        c->kept_rows[i] = seen_rows[i];
        memcpy(c->X_seen + (size_t)i * d, c->Xn + (size_t)seen_rows[i] * d,
               sizeof(double) * d);
    }
    c->kept_n = n_seen;
    lc_rfei_lane *L0 = &c->lanes[0];
    if (kept == n_seen) return;
    if (kept == 0)
        lc_forest_presort_cap(c->X_seen, n_seen, d, ms, L0->fit_work);
    else
        lc_forest_presort_append(c->X_seen + (size_t)kept * d, kept, n_seen, d, ms,
                                 L0->fit_work);
}

/* Fit tree by tree and accumulate mean / m2 / leaf variance for the active candidates. */
static void rfei_accumulate(lc_rfei_ctx *c, const int64_t *seen_rows, const double *y_seen,
                            int64_t n_seen, const uint8_t *active, uint64_t forest_seed) {
    const int64_t n_all = c->n_all, W = c->n_words;
    rfei_seen_state(c, seen_rows, n_seen);
    memset(c->acc_mean, 0, sizeof(double) * (size_t)n_all);
    memset(c->acc_m2, 0, sizeof(double) * (size_t)n_all);
    memset(c->acc_lv, 0, sizeof(double) * (size_t)n_all);
    lc_rfei_lane *L0 = &c->lanes[0];
    c->last_nodes = 0;
    c->last_words = 0;
    c->last_depth_sum = 0;
    c->last_depth_max = 0;
    double *acc_lv = c->acc_lv;
    const int32_t T = c->params.n_trees;
    if (c->n_threads <= 1 || T <= 1) {
        /* root set = the active candidates (slot 0) */
        uint64_t *root = L0->slots;
        memset(root, 0, sizeof(uint64_t) * (size_t)W);
        for (int64_t j = 0; j < n_all; j++)
            root[j >> 6] |= (uint64_t)(active[c->perm[j]] != 0) << (j & 63);
        int64_t nw = 0, n_active = 0;
        for (int64_t w = 0; w < W; w++) {
            if (root[w]) L0->wlist[nw++] = (int32_t)w;
            n_active += lc_popcount64(root[w]);
        }
        memset(c->leaf_of, 0, sizeof(int32_t) * (size_t)n_all);  /* inactive rows: any leaf */
        const int32_t *leaf_of = c->leaf_of;
        L0->leaf_of = c->leaf_of;
        L0->words = 0;
        const lc_forest *tree = &L0->tree;
        for (int32_t t = 0; t < T; t++) {
            lcq_lane_tree(c, L0, y_seen, n_seen, forest_seed, t, root, L0->wlist, nw, n_active);
            c->last_nodes += tree->n_nodes[0];
            c->last_depth_sum += tree->depth[0];
            if (tree->depth[0] > c->last_depth_max) c->last_depth_max = tree->depth[0];
            /* one sequential pass: every candidate takes its leaf's value */
            const double inv_count = 1.0 / (double)(t + 1);
            lcq_welford_range(c, tree->value, leaf_of, 0, n_all, inv_count);
            if (c->variance_total) {
                const double *leaf_var = tree->leaf_var;
                for (int64_t j = 0; j < n_all; j++) acc_lv[j] += leaf_var[leaf_of[j]];
            }
        }
        c->last_words = L0->words;
        c->final_leaf = c->leaf_of;
        c->final_nodes = tree->n_nodes[0];
        return;
    }
#ifdef LC_HAVE_THREADS
    lcq_accumulate_threads(c, y_seen, n_seen, forest_seed);
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
    lcq_reorder_by_leaves(ctx);
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
    lcq_reorder_by_leaves(ctx);
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
