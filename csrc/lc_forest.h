/* lc_forest.h: the SMAC-style regression forest of lcore (pure C99, caller allocates).
 *
 * Fitting
 * -------
 * Each tree t of a forest fitted with seed `seed64` draws from its own generator
 *     lc_rng r;  lc_rng_seed64(&r, seed64 + t);          (uint64 wrap-around)
 * first the bootstrap, n draws of lc_rng_bounded(&r, n) (a row drawn k times gets weight k;
 * without bootstrap every row has weight 1 and nothing is drawn), then, only when
 * max_features < d, a partial Fisher-Yates shuffle of the
 * feature indices 0..d-1 taking max_features of them (draw i: lc_rng_bounded(&r, d - i)),
 * at every node whose split is searched (it passed the leaf tests below); the drawn
 * features are then tried in increasing index order.
 * A tree therefore does not depend on the other trees or on how many threads fit them.
 *
 * Splits minimise the weighted squared error (scikit-learn's criterion: maximise
 * S_l^2 / W_l + S_r^2 / W_r with S = sum of w*y, W = sum of w, evaluated as
 * S_l * S_l * (1.0 / W_l) + S_r * S_r * (1.0 / W_r)).  Candidate thresholds lie
 * halfway between neighbouring distinct values of the node's rows, computed as
 * a/2 + b/2 (or a itself when that rounds to b).  A row goes left when x <= threshold.
 * Within a feature the lowest threshold with the largest gain wins; across features the
 * lowest feature index wins among exactly equal gains (scikit-learn visits the features in
 * a random order instead).  min_samples_split and min_samples_leaf count distinct rows
 * (as scikit-learn does with bootstrap weights).  A node is a leaf when depth == max_depth
 * (max_depth <= 0: unlimited), it has fewer than min_samples_split or fewer than
 * 2 * min_samples_leaf distinct rows, all its y are equal, or no feature can be split.
 *
 * Nodes are numbered in depth-first pre-order per tree (the left child of node i is i + 1).
 * Leaves have feature == -1, left == right == -1, value = weighted mean of y, leaf_var =
 * weighted variance of y (ddof 0).  Internal nodes store the mean of their rows as value and
 * 0 as leaf_var.
 *
 * Prediction
 * ----------
 * For a row x, trees t = 0..T-1 in order give leaf values v_t (and leaf variances u_t):
 *     mean_t = mean_{t-1} + (v_t - mean_{t-1}) * (1.0 / (t + 1))   (Welford, mean_{-1} = 0)
 *     m2_t   = m2_{t-1}  + (v_t - mean_{t-1}) * (v_t - mean_t)
 *     mean = mean_{T-1};  var = m2_{T-1} / T   (+ (sum_t u_t) / T with variance "total")
 * The fused chooser (lc_acq.h) accumulates exactly the same operations in the same order,
 * so that Python's predict and the chooser agree bit for bit.
 */
#ifndef LC_FOREST_H
#define LC_FOREST_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    int32_t n_trees;           /* >= 1 */
    int32_t max_depth;         /* <= 0: unlimited */
    int32_t min_samples_split; /* >= 2 */
    int32_t min_samples_leaf;  /* >= 1 */
    int32_t max_features;      /* features tried per split, 1..d */
    int32_t bootstrap;         /* 1: bootstrap sample per tree, 0: every row once */
} lc_forest_params;

/* Node arrays of a forest, structure of arrays.  Tree t owns the slots
 * [offset[t], offset[t] + n_nodes[t]); child indices are relative to the tree's first
 * slot.  Fitting on n rows needs lc_forest_max_nodes(n) free slots from offset[t] on (e.g.
 * offset[t] = t * lc_forest_max_nodes(n)); a fitted forest may then be compacted. */
typedef struct {
    int32_t *feature;  /* -1 for a leaf */
    int32_t *left;     /* -1 for a leaf */
    int32_t *right;    /* -1 for a leaf */
    double *threshold; /* go left when x[feature] <= threshold */
    double *value;     /* weighted mean of the node's y */
    double *leaf_var;  /* weighted variance of the node's y (ddof 0) */
    int32_t *n_nodes;  /* per tree */
    int32_t *depth;    /* per tree: depth of its deepest leaf (root = 0) */
    int64_t *offset;   /* per tree: its first slot */
} lc_forest;

/* Largest node count of one tree fitted on n rows (2n - 1). */
int64_t lc_forest_max_nodes(int64_t n);

/* Bytes of workspace that lc_forest_fit needs for n rows and d features (8-aligned). */
size_t lc_forest_fit_workspace_bytes(int64_t n, int d);

/* Fit trees t_begin..t_end-1 of the forest on X (n x d, row-major float64, finite), y (n,
 * finite), n >= 1.  Trees outside the range are not touched, so disjoint ranges may be
 * fitted concurrently with separate workspaces (the result is the same as one call).
 * `work` holds lc_forest_fit_workspace_bytes(n, d) bytes, 8-byte aligned. */
void lc_forest_fit(const double *X, const double *y, int64_t n, int d,
                   const lc_forest_params *p, uint64_t seed64, int32_t t_begin, int32_t t_end,
                   lc_forest *f, void *work);

/* The two halves of lc_forest_fit, for callers that fit and use one tree at a time:
 * lc_forest_presort sorts X's rows per feature into `work` (once per data set), then
 * lc_forest_fit_tree fits tree t (its generator is seeded with seed64 + t) into slot `slot`
 * of f (n_nodes[slot], depth[slot] and the slots from offset[slot] on). */
void lc_forest_presort(const double *X, int64_t n, int d, void *work);
void lc_forest_fit_tree(const double *y, int64_t n, int d, const lc_forest_params *p,
                        uint64_t seed64, int32_t t, int32_t slot, lc_forest *f, void *work);

/* The same with room for `cap` >= n rows (work: lc_forest_fit_workspace_bytes(cap, d) bytes),
 * for a data set that only ever grows by rows appended at its end: lc_forest_presort_cap sorts
 * the n rows of X; lc_forest_presort_append adds rows n_old..n-1 (n <= cap; X holds those
 * n - n_old rows only, row-major) by insertion into the sorted orders and the dense ranks,
 * leaving `work` exactly as lc_forest_presort_cap on all n rows would (a new row goes after
 * the rows of equal value, as the stable sort puts it); lc_forest_presort_copy copies the
 * sorted state of n rows from one such workspace to another; lc_forest_fit_tree_cap fits a
 * tree as lc_forest_fit_tree does. */
void lc_forest_presort_cap(const double *X, int64_t n, int d, int64_t cap, void *work);
void lc_forest_presort_append(const double *X, int64_t n_old, int64_t n, int d, int64_t cap,
                              void *work);
void lc_forest_presort_copy(const void *src, void *dst, int64_t n, int d, int64_t cap);
void lc_forest_fit_tree_cap(const double *y, int64_t n, int d, int64_t cap,
                            const lc_forest_params *p, uint64_t seed64, int32_t t, int32_t slot,
                            lc_forest *f, void *work);

/* Leaf slot (relative to the tree's first slot) that row x reaches in tree t. */
int32_t lc_forest_leaf(const lc_forest *f, int32_t t, const double *x);

/* Mean and variance (formula above) for m rows of X (m x d, row-major).  var may be NULL;
 * variance_total != 0 adds the mean leaf variance. */
void lc_forest_predict(const lc_forest *f, int32_t n_trees, const double *X, int64_t m, int d,
                       int variance_total, double *mean, double *var);

/* Per-tree predictions: out[i * n_trees + t] = leaf value of row i in tree t. */
void lc_forest_predict_trees(const lc_forest *f, int32_t n_trees, const double *X, int64_t m,
                             int d, double *out);

/* Per-tree leaves: out[i * n_trees + t] = leaf slot of row i in tree t. */
void lc_forest_apply(const lc_forest *f, int32_t n_trees, const double *X, int64_t m, int d,
                     int32_t *out);

/* Check that the node arrays of a forest (n_trees trees, n_total nodes in all, tree t owning
 * [offset[t], offset[t + 1]) and the last tree the slots up to n_total) can be walked
 * safely on d features: offset[0] == 0 and offsets strictly increasing; every internal node
 * (feature != -1) has 0 <= feature < d, children after it within its tree
 * (i < left, right < n_nodes, relative) and a threshold that is not NaN.  Children after
 * their parent make every walk end within n_nodes steps.  Returns -1 when the forest is
 * sound, else the first bad slot (the tree for bad offsets) with *what = 1 feature,
 * 2 left, 3 right, 4 threshold, 5 offset. */
int64_t lc_forest_check(const lc_forest *f, int32_t n_trees, int64_t n_total, int d,
                        int *what);

/* Stable sort of (key, idx) items by key (merge sort; tmp holds n items).  A utility that
 * lc_acq.c shares. */
typedef struct {
    double key;
    int32_t idx;
} lc_sort_item;
void lc_sort_items(lc_sort_item *a, int64_t n, lc_sort_item *tmp);

/* The shared Welford step used by every code path (see the formula above). */
static inline void lc_forest_welford(double *mean, double *m2, double v, double inv_count) {
    double delta = v - *mean;
    double mn = *mean + delta * inv_count;
    *m2 = *m2 + delta * (v - mn);
    *mean = mn;
}

#endif /* LC_FOREST_H */
