/* lc_acq.h: acquisition functions (maximisation) and the fused random-forest + EI chooser.
 *
 * Acquisition (SPEC.md, "Random forest and EI"), with imp = mu - best - xi:
 *   EI  = imp * Phi(imp / sigma) + sigma * phi(imp / sigma);   sigma == 0: max(imp, 0)
 *   PI  = Phi(imp / sigma);                                    sigma == 0: imp > 0 ? 1 : 0
 *   UCB = mu + kappa * sigma
 * Phi(z) = 0.5 * erfc(-z / sqrt(2)), phi(z) = exp(-z*z/2) / sqrt(2*pi).  sigma must be >= 0.
 *
 * The chooser ("rf-ei")
 * ---------------------
 * A context is prepared ONCE per replay for a fixed candidate matrix X_all (n_all x d,
 * row-major float64, finite); everything that depends only on X_all (an internal row order
 * along a k-d tree, each feature's sorted values and the candidates' ranks in them) lives in
 * one caller-allocated block:
 *
 *     lc_rfei_ctx ctx;                                   // plain struct, caller-owned
 *     size_t bytes = lc_rfei_bytes(n_all, d, max_seen, &params, 0);
 *     void *mem = aligned_alloc(64, round_up(bytes, 64)); // any 8-byte aligned block
 *     lc_rfei_prepare(&ctx, mem, X_all, n_all, d, max_seen, &params, variance_total, 0);
 *     ... per iteration:
 *     int64_t row = lc_rfei_choose(&ctx, seen_rows, y_seen, n_seen, active, best, xi,
 *                                  forest_seed, &tie_rng);
 *
 * X_all is copied; the caller may free it after prepare.  Nothing is allocated later.
 * The internal order starts along a k-d tree and, after every call, follows the leaves of
 * the last tree scored (the next forest splits the candidates much like this one); only
 * the speed depends on it.  A context is therefore used by one thread at a time (one
 * context per worker).  params->max_features is clamped to [1, d] (a large value = all).
 * Scoring descends each tree with one candidate bitset per node; where a node's
 * candidates are spread thin (fewer than list_density = 8 per nonzero 64-bit word) its
 * subtree goes per candidate over a list of ids instead (only the speed differs).
 * The split search runs AVX2 code where the CPU has it (chosen in prepare; integer compares
 * and the same IEEE operations lane by lane, so the results do not depend on it).
 *
 * lc_rfei_choose fits the forest of lc_forest.h with seed `forest_seed` on
 * (X_all[seen_rows], y_seen) -- exactly what lc_forest_fit does on that gathered data -- and
 * predicts every active row (active[row] != 0) with the mean/variance formula of
 * lc_forest.h (same operations, same order: bit-identical to lc_forest_predict), takes
 * sigma = sqrt(var) and EI = lc_ei(mu, sigma, best, xi).  It returns the active row with the
 * largest EI.  Ties (exactly equal EI): the rows equal to the maximum are counted in
 * increasing row order; when count > 1 ONE draw k = lc_rng_bounded(tie_rng, count) picks the
 * k-th of them (0-based, row order); when count == 1 nothing is drawn.  Returns -1 (and draws
 * nothing) when no row is active.  Requires 1 <= n_seen <= max_seen, seen rows in
 * [0, n_all), finite y_seen.
 */
#ifndef LC_ACQ_H
#define LC_ACQ_H

#include <stddef.h>
#include <stdint.h>

#include "lc_forest.h"
#include "lc_rng.h"

double lc_ei(double mu, double sigma, double best, double xi);
double lc_pi(double mu, double sigma, double best, double xi);
double lc_ucb(double mu, double sigma, double kappa);

/* Elementwise over n values: out[i] = lc_ei(mu[i], sigma[i], best, xi), and so on. */
void lc_ei_array(const double *mu, const double *sigma, int64_t n, double best, double xi,
                 double *out);
void lc_pi_array(const double *mu, const double *sigma, int64_t n, double best, double xi,
                 double *out);
void lc_ucb_array(const double *mu, const double *sigma, int64_t n, double kappa, double *out);

struct lc_rfei_lane;

typedef struct {
    /* sizes and settings */
    int64_t n_all;
    int d;
    int64_t max_seen;
    lc_forest_params params;
    int variance_total;
    int64_t n_words;    /* 64-bit words per candidate bitset: ceil(n_all / 64) */
    int use_avx2;       /* 1: split words with AVX2 (same bits as the SSE2 / plain path) */
    int bitset_depth;   /* tree levels scored with bitsets at most; deeper subtrees go per row */
    int list_density;   /* a node with fewer candidates per listed word goes per row */
    int n_threads;      /* threads of one call (1: none started) */
    int round_size;     /* n_threads > 1: trees fitted and scored per round */
    /* carved from the caller's block */
    double *Xn;          /* n_all x d, X_all's rows in row order (not renumbered) */
    int32_t *perm;       /* internal id -> row */
    int32_t *perm_alt;   /* n_all + 16: the renumbering's other perm buffer */
    int32_t *order;      /* n_all + 16: scratch of the renumbering */
    int32_t *leaf_count; /* lc_forest_max_nodes(max_seen) + 1: scratch of the renumbering */
    int32_t *inv;        /* row -> internal id */
    double *sorted_vals; /* d x n_all, each feature ascending */
    int64_t rank_bstride; /* lcq_rank_buckets(n_all) + 1: entries per feature below */
    int32_t *rank_bstart; /* d x rank_bstride: per feature, the bucket table of sorted_vals
                             (node ranks: a count within one bucket) */
    double *rank_blo;     /* d: each table's lowest finite value */
    double *rank_bscale;  /* d: its buckets per unit */
    int64_t *rank_bnb;    /* d: its bucket count */
    int16_t *rank16;     /* d x 64 n_words: position in the sorted order - 32768, by
                            internal id (n_all <= 65536; else NULL) */
    int32_t *rank32;     /* d x 64 n_words: the same for larger tables (else NULL) */
    int16_t *rank16_alt; /* renumbering buffers of the two */
    int32_t *rank32_alt;
    int32_t *wmin;       /* d x n_words: smallest rank among the word's candidates */
    int32_t *wmax;       /* d x n_words: largest */
    int32_t *leaf_of;    /* n_all: leaf of each candidate in the current tree (one thread) */
    double *acc_mean;    /* n_all, internal order: running mean of each candidate */
    double *acc_m2;      /* n_all: running sum of squared deviations */
    double *acc_lv;      /* n_all: summed leaf variances */
    double *score;       /* n_all, by row: EI of active rows */
    double *X_seen;      /* max_seen x d: the seen rows' features, in the order given */
    int64_t *kept_rows;  /* max_seen: the seen rows of the last call */
    int64_t kept_n;      /* how many (0: none; lane 0's fit workspace holds their presort) */
    lc_sort_item *sort1; /* max(n_all, max_seen) items: sorting scratch */
    lc_sort_item *sort2;
    struct lc_rfei_lane *lanes; /* n_threads: each thread's tree and scratch (thread 0's
                                   too: the one-thread path is lane 0) */
    /* n_threads > 1 only (else NULL) */
    int32_t *round_leaf; /* round_size x n_all: leaf of each candidate, per tree of a round */
    double *round_val;   /* round_size x stride: those trees' node values */
    double *round_lv;    /* round_size x stride: their leaf variances */
    int32_t *tree_nodes; /* n_trees: node count of each tree (statistics) */
    int32_t *tree_depth; /* n_trees */
    int32_t *round_next; /* n_trees: per round, the next of its trees to take */
    const int32_t *final_leaf; /* after a call: the leaves of its last tree */
    int32_t final_nodes;       /* and that tree's node count */
    /* statistics of the last call (for benchmarks) */
    int64_t last_nodes;      /* nodes summed over trees */
    int64_t last_words;      /* bitset words visited at internal nodes, summed */
    int64_t last_depth_sum;  /* deepest-leaf depths summed over trees */
    int32_t last_depth_max;
    int64_t last_kept;       /* seen rows whose sorted state the last call kept (0: sorted) */
} lc_rfei_ctx;

/* Bytes of the block lc_rfei_prepare needs.  bitset_depth <= 0 picks the default (48).
 * n_threads: threads per call (clamped to [1, 64]; 1 on platforms without POSIX threads).  With n_threads > 1 the trees of a call are fitted and scored in parallel (each
 * thread its own tree and scratch; a tree's result does not depend on the thread) into
 * per-tree leaf arrays, and the running mean / variance then takes the trees in order,
 * in parallel over candidate ranges: every result is bit-identical for any n_threads. */
size_t lc_rfei_bytes(int64_t n_all, int d, int64_t max_seen, const lc_forest_params *p,
                     int bitset_depth, int n_threads);

/* Prepare ctx over `mem` (lc_rfei_bytes(...) bytes, 8-byte aligned) for candidates X_all. */
void lc_rfei_prepare(lc_rfei_ctx *ctx, void *mem, const double *X_all, int64_t n_all, int d,
                     int64_t max_seen, const lc_forest_params *p, int variance_total,
                     int bitset_depth, int n_threads);

/* 1 where n_threads > 1 takes effect (POSIX threads), else 0. */
int lc_rfei_threads_available(void);

/* One chooser step (see above). */
int64_t lc_rfei_choose(lc_rfei_ctx *ctx, const int64_t *seen_rows, const double *y_seen,
                       int64_t n_seen, const uint8_t *active, double best, double xi,
                       uint64_t forest_seed, lc_rng *tie_rng);

/* The scores behind one step, by row, for active rows only (others are left untouched):
 * mean, var (either may be NULL) and EI.  Draws nothing. */
void lc_rfei_score(lc_rfei_ctx *ctx, const int64_t *seen_rows, const double *y_seen,
                   int64_t n_seen, const uint8_t *active, double best, double xi,
                   uint64_t forest_seed, double *mean, double *var, double *ei);

/* Whole-set prediction of a fitted forest f (n_trees trees, n_total nodes, checked with
 * lc_forest_check for d features) on the m rows of X (m x d, row-major): mean, var (either
 * may be NULL) and, when ei is not NULL, ei[i] = lc_ei(mean, sqrt(var), best_xi[0],
 * best_xi[1]).  Bit-identical to lc_forest_predict (then lc_ei on its results): the rows
 * are ranked once against the forest's distinct thresholds and every tree is descended
 * with the chooser's candidate bitsets.  `work` holds lc_forest_predict_set_bytes(m, d,
 * n_total) bytes (8-byte aligned).  Returns 0, computing nothing, when a tree is deeper
 * than 4096 levels (use lc_forest_predict then), else 1. */
size_t lc_forest_predict_set_bytes(int64_t m, int d, int64_t n_total);
int lc_forest_predict_set(const lc_forest *f, int32_t n_trees, int64_t n_total,
                          const double *X, int64_t m, int d, int variance_total, double *mean,
                          double *var, const double *best_xi, double *ei, void *work);

#endif /* LC_ACQ_H */
