# cython: language_level=3
"""Binding of csrc/lc_sobol.{h,c}.  No validation here: lcore.qmc checks every argument."""
from libc.stdint cimport int64_t, uint32_t, uint64_t

from lcore._core.lc_rng cimport lc_rng, lc_rng_seed4
from lcore._core.lc_sobol cimport (
    LC_SOBOL_BITS, LC_SOBOL_MAXDEG, lc_sobol_directions, lc_sobol_fill, lc_sobol_scramble,
    lc_sobol_state,
)

BITS = LC_SOBOL_BITS
MAXDEG = LC_SOBOL_MAXDEG


def directions(const uint32_t[::1] poly, const uint32_t[:, ::1] vinit, uint32_t[:, ::1] v):
    """Direction numbers of the first d = v.shape[1] dimensions into v (BITS, d)."""
    cdef int64_t d = v.shape[1]
    with nogil:
        lc_sobol_directions(d, &poly[0], &vinit[0, 0], vinit.shape[1], &v[0, 0])


def scramble(const uint64_t[::1] state, uint32_t[:, ::1] v, uint32_t[::1] shift):
    """LMS + digital shift of v (BITS, d) in place, shift (d,) written; lc_rng seeded by state."""
    cdef lc_rng r
    lc_rng_seed4(&r, &state[0])
    with nogil:
        lc_sobol_scramble(v.shape[1], &r, &v[0, 0], &shift[0])


def state(const uint32_t[:, ::1] v, const uint32_t[::1] shift, uint64_t index,
          uint32_t[::1] quasi):
    """Integer coordinates of point ``index`` into quasi (d,)."""
    with nogil:
        lc_sobol_state(v.shape[1], &v[0, 0], &shift[0], index, &quasi[0])


def fill(const uint32_t[:, ::1] v, uint32_t[::1] quasi, uint64_t index, double[:, ::1] out):
    """Points index .. index + n - 1 into out (n, d); quasi holds point ``index`` on entry
    and point ``index + n`` on return."""
    cdef int64_t n = out.shape[0]
    if n == 0:
        return
    with nogil:
        lc_sobol_fill(n, v.shape[1], &v[0, 0], &quasi[0], index, &out[0, 0])
