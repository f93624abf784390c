from libc.stdint cimport int64_t, uint32_t, uint64_t

from lcore._core.lc_rng cimport lc_rng


cdef extern from "lc_sobol.h" nogil:
    int LC_SOBOL_BITS
    int LC_SOBOL_MAXDEG
    void lc_sobol_directions(int64_t d, const uint32_t *poly, const uint32_t *vinit,
                             int64_t vinit_stride, uint32_t *v)
    void lc_sobol_scramble(int64_t d, lc_rng *rng, uint32_t *v, uint32_t *shift)
    void lc_sobol_state(int64_t d, const uint32_t *v, const uint32_t *shift, uint64_t index,
                        uint32_t *quasi)
    void lc_sobol_fill(int64_t n, int64_t d, const uint32_t *v, uint32_t *quasi,
                       uint64_t index, double *out)
