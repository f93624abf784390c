from libc.stdint cimport uint64_t

cdef extern from "lc_rng.h" nogil:
    ctypedef struct lc_rng:
        uint64_t s[4]
    void lc_rng_seed64(lc_rng *r, uint64_t seed)
    void lc_rng_seed4(lc_rng *r, const uint64_t *st)
    uint64_t lc_rng_next(lc_rng *r)
    double lc_rng_uniform(lc_rng *r)
    uint64_t lc_rng_bounded(lc_rng *r, uint64_t n)
