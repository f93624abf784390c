from libc.stdint cimport int32_t, int64_t, uint64_t


cdef extern from "lc_forest.h" nogil:
    ctypedef struct lc_forest_params:
        int32_t n_trees
        int32_t max_depth
        int32_t min_samples_split
        int32_t min_samples_leaf
        int32_t max_features
        int32_t bootstrap

    ctypedef struct lc_forest:
        int32_t *feature
        int32_t *left
        int32_t *right
        double *threshold
        double *value
        double *leaf_var
        int32_t *n_nodes
        int32_t *depth
        int64_t *offset

    int64_t lc_forest_max_nodes(int64_t n)
    size_t lc_forest_fit_workspace_bytes(int64_t n, int d)
    void lc_forest_fit(const double *X, const double *y, int64_t n, int d,
                       const lc_forest_params *p, uint64_t seed64, int32_t t_begin,
                       int32_t t_end, lc_forest *f, void *work)
    void lc_forest_presort(const double *X, int64_t n, int d, void *work)
    void lc_forest_fit_tree(const double *y, int64_t n, int d, const lc_forest_params *p,
                            uint64_t seed64, int32_t t, int32_t slot, lc_forest *f, void *work)
    int32_t lc_forest_leaf(const lc_forest *f, int32_t t, const double *x)
    void lc_forest_predict(const lc_forest *f, int32_t n_trees, const double *X, int64_t m,
                           int d, int variance_total, double *mean, double *var)
    void lc_forest_predict_trees(const lc_forest *f, int32_t n_trees, const double *X,
                                 int64_t m, int d, double *out)
    int64_t lc_forest_check(const lc_forest *f, int32_t n_trees, int64_t n_total, int d,
                            int *what)
    void lc_forest_apply(const lc_forest *f, int32_t n_trees, const double *X, int64_t m,
                         int d, int32_t *out)
