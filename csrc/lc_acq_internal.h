/* lc_acq_internal.h: what the parts of the rf-ei chooser share (not an API).
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
#ifndef LC_ACQ_INTERNAL_H
#define LC_ACQ_INTERNAL_H

#include "lc_bits.h"
#include "lc_acq.h"

#include <math.h>
#include <string.h>

#if !defined(_WIN32)
#include <pthread.h>
#define LC_HAVE_THREADS 1
#endif

/* One thread's tree and scratch: every thread of a call has one (thread 0 and the
 * one-thread path use lanes[0]); the context itself is read only while trees are scored. */
typedef struct lc_rfei_lane {
    lc_forest tree;      /* one tree, lc_forest_max_nodes(max_seen) slots */
    int32_t *node_rank;  /* per node of the tree: #{candidates <= its threshold} */
    int32_t *leaf_of;    /* where the tree's leaf of every candidate goes (set per tree) */
    int32_t *order;      /* n_all + 16: ids of per-candidate subtrees (+ 16: vector writes) */
    int32_t *alt;        /* n_all + 16: their partition buffer */
    int32_t *list_tmp;   /* n_all + 16: scratch of the AVX2 partition */
    uint64_t *slots;     /* 2 (bitset_depth + 1) x n_words: left and right child bitsets per
                            level (slot 0: the root) */
    int32_t *wlist;      /* 2 (bitset_depth + 1) x n_words: their nonzero words */
    void *fit_work;      /* lc_forest_fit_workspace_bytes(max_seen, d) */
    int64_t list_used;   /* per tree: entries of order / alt taken by per-candidate subtrees */
    int64_t words;       /* bitset words visited (statistics) */
} lc_rfei_lane;

#define LC_MAX_THREADS 64

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

#define DEFAULT_BITSET_DEPTH 48
#define DEFAULT_LIST_DENSITY 8
/* buckets of the chooser's rank tables: a power of two >= n_all / 4 (so about 4 sorted
 * values per bucket where they spread evenly), at most 2^16 */
static inline int64_t lcq_rank_buckets(int64_t n_all) {
    int64_t nb = 1;
    while (nb < n_all / 4 && nb < ((int64_t)1 << 16)) nb <<= 1;
    return nb;
}
#define ALIGN64(x) (((x) + 63u) & ~(size_t)63u)

/* Bucket tables over ascending values u[0..nu): b(v) = clamp((v - lo) * scale, 0, nb - 1)
 * is monotone in v, so with bstart[b] = #{u_j : b(u_j) < b} every u_j in a bucket below
 * b(x) is < x and every one in a bucket above it is > x: counting the u_j below (or up to)
 * x needs only bucket b(x).  Exact for any values (NaN-free for any v, infinities in the
 * end buckets); only the speed depends on how evenly they spread. */
static inline int64_t lcq_bucket(double v, double lo, double scale, int64_t nb) {
    double t = (v - lo) * scale;
    if (!(t >= 0.0)) t = 0.0;  /* also NaN (inf * 0) */
    if (t > (double)(nb - 1)) t = (double)(nb - 1);
    return (int64_t)t;
}

/* Build the table of nb buckets (fewer: 1 when the finite values do not spread) into
 * bstart[0..nb]; *lo, *scale, *nb_used describe it for lcq_bucket. */
static inline void lcq_bucket_build(const double *u, int64_t nu, int64_t nb, double *lo_out,
                                    double *scale_out, int64_t *nb_used, int32_t *bstart) {
    double lo = 0.0, hi = 0.0;
    int any = 0;
    for (int64_t j = 0; j < nu; j++)
        if (u[j] - u[j] == 0.0) {  /* finite */
            if (!any) lo = u[j];
            hi = u[j];
            any = 1;
        }
    double scale = any && hi > lo ? (double)nb / (hi - lo) : 0.0;
    if (!(scale > 0.0 && scale - scale == 0.0)) { scale = 0.0; nb = 1; }
    int64_t j = 0;
    for (int64_t b = 0; b <= nb; b++) {
        while (j < nu && lcq_bucket(u[j], lo, scale, nb) < b) j++;
        bstart[b] = (int32_t)j;
    }
    *lo_out = lo;
    *scale_out = scale;
    *nb_used = nb;
}

/* #{u[0..n) < x} and #{u[0..n) <= x} (u ascending), branch-free. */
static inline int64_t lcq_count_below(const double *u, int64_t n, double x) {
    const double *b = u;
    while (n > 1) {
        const int64_t half = n >> 1;
        b = b[half - 1] < x ? b + half : b;
        n -= half;
    }
    return (b - u) + (n == 1 && b[0] < x);
}
static inline int64_t lcq_count_le(const double *u, int64_t n, double x) {
    const double *b = u;
    while (n > 1) {
        const int64_t half = n >> 1;
        b = b[half - 1] <= x ? b + half : b;
        n -= half;
    }
    return (b - u) + (n == 1 && b[0] <= x);
}

/* Position of candidate `id` in feature k's sorted order. */
static inline int64_t rank_of(const lc_rfei_ctx *c, int k, int64_t id) {
    const int64_t padded = c->n_words * 64;
    return c->rank16 ? (int64_t)c->rank16[(size_t)k * padded + id] + 32768
                     : (int64_t)c->rank32[(size_t)k * padded + id];
}

/* across the parts (lcq_: internal, not exported from the extension modules) */
#if defined(__GNUC__) || defined(__clang__)
#pragma GCC visibility push(hidden)
#endif
int lcq_clamp_threads(int n_threads);
int lcq_round_size_for(int n_threads, int n_trees, int64_t n_all);
void lcq_word_ranges(lc_rfei_ctx *c);
void lcq_reorder_by_leaves(lc_rfei_ctx *c);
void lcq_score_node(const lc_rfei_ctx *c, lc_rfei_lane *L, int32_t node, int lvl,
                    const uint64_t *set, const int32_t *lst, int64_t nw, int64_t pop);
void lcq_welford_range(const lc_rfei_ctx *c, const double *value, const int32_t *leaf_of,
                       int64_t j0, int64_t j1, double inv_count);
void lcq_lane_tree(const lc_rfei_ctx *c, lc_rfei_lane *L, const double *y_seen,
                   int64_t n_seen, uint64_t forest_seed, int32_t t, const uint64_t *root,
                   const int32_t *root_list, int64_t nw, int64_t n_active);
#ifdef LC_HAVE_THREADS
void lcq_accumulate_threads(lc_rfei_ctx *c, const double *y_seen, int64_t n_seen,
                            uint64_t forest_seed);
#endif
#ifdef LC_HAVE_AVX2_DISPATCH
void lcq_split_words_avx2(const int16_t *r16, int16_t kb, const uint64_t *set,
                          const int32_t *lst, int64_t nw, const int32_t *wmn,
                          const int32_t *wmx, int64_t k, uint64_t *lset, uint64_t *rset,
                          int32_t *llst, int32_t *rlst, int64_t *nl_out, int64_t *nr_out,
                          int64_t *pop_out, int32_t *leaf_of, int32_t lnode, int32_t rnode);
void lcq_leaf_write_avx2(int32_t *leaf_of, const uint64_t *set, const int32_t *lst,
                         int64_t nw, int32_t node);
int64_t lcq_list_bits_avx2(int32_t *ids, const uint64_t *set, const int32_t *lst, int64_t nw);
int64_t lcq_partition16_avx2(const int32_t *ids, int64_t n, const int16_t *r16, int16_t kb,
                             int32_t *left, int32_t *right, int64_t *nr_out);
void lcq_welford_pass_avx2(double *mean, double *m2, const int32_t *leaf_of,
                           const double *value, int64_t n, double inv_count);
#endif
#if defined(__GNUC__) || defined(__clang__)
#pragma GCC visibility pop
#endif

#endif /* LC_ACQ_INTERNAL_H */
