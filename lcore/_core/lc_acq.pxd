from libc.stdint cimport int32_t, int64_t, uint8_t, uint64_t

from lcore._core.lc_forest cimport lc_forest, lc_forest_params
from lcore._core.lc_rng cimport lc_rng


cdef extern from "lc_acq.h" nogil:
    double lc_ei(double mu, double sigma, double best, double xi)
    double lc_pi(double mu, double sigma, double best, double xi)
    double lc_ucb(double mu, double sigma, double kappa)
    void lc_ei_array(const double *mu, const double *sigma, int64_t n, double best, double xi,
                     double *out)
    void lc_pi_array(const double *mu, const double *sigma, int64_t n, double best, double xi,
                     double *out)
    void lc_ucb_array(const double *mu, const double *sigma, int64_t n, double kappa,
                      double *out)

    ctypedef struct lc_rfei_ctx:
        int64_t n_all
        int d
        int64_t max_seen
        int64_t n_words
        int use_avx2
        int bitset_depth
        int n_threads
        int64_t last_nodes
        int64_t last_words
        int64_t last_depth_sum
        int32_t last_depth_max
        int64_t last_kept

    size_t lc_rfei_bytes(int64_t n_all, int d, int64_t max_seen, const lc_forest_params *p,
                         int bitset_depth, int n_threads)
    void lc_rfei_prepare(lc_rfei_ctx *ctx, void *mem, const double *X_all, int64_t n_all,
                         int d, int64_t max_seen, const lc_forest_params *p,
                         int variance_total, int bitset_depth, int n_threads)
    int lc_rfei_threads_available()
    int64_t lc_rfei_choose(lc_rfei_ctx *ctx, const int64_t *seen_rows, const double *y_seen,
                           int64_t n_seen, const uint8_t *active, double best, double xi,
                           uint64_t forest_seed, lc_rng *tie_rng)
    void lc_rfei_score(lc_rfei_ctx *ctx, const int64_t *seen_rows, const double *y_seen,
                       int64_t n_seen, const uint8_t *active, double best, double xi,
                       uint64_t forest_seed, double *mean, double *var, double *ei)
    size_t lc_forest_predict_set_bytes(int64_t m, int d, int64_t n_total)
    int lc_forest_predict_set(const lc_forest *f, int32_t n_trees, int64_t n_total,
                              const double *X, int64_t m, int d, int variance_total,
                              double *mean, double *var, const double *best_xi, double *ei,
                              void *work)
