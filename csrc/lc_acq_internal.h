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
/* every LC_COARSE-th sorted value per feature: the rank search starts there */
#define LC_COARSE 16
#define LC_N_COARSE(n) (((n) + LC_COARSE - 1) / LC_COARSE)
#define ALIGN64(x) (((x) + 63u) & ~(size_t)63u)

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
