# cython: language_level=3
"""Thin binding of csrc/lc_rng.h, for tests that check the Python mirror against C."""
import numpy as np

from libc.stdint cimport uint64_t

from lcore._core.lc_rng cimport (
    lc_rng, lc_rng_bounded, lc_rng_next, lc_rng_seed4, lc_rng_seed64, lc_rng_uniform,
)


def draws(uint64_t[::1] state, Py_ssize_t n, str kind="next", uint64_t bound=0):
    """n draws from an lc_rng seeded with ``state`` (4 words); kind: next|uniform|bounded."""
    cdef lc_rng r
    cdef Py_ssize_t i
    lc_rng_seed4(&r, &state[0])
    if kind == "uniform":
        out_d = np.empty(n, dtype=np.float64)
        for i in range(n):
            out_d[i] = lc_rng_uniform(&r)
        return out_d
    out = np.empty(n, dtype=np.uint64)
    cdef uint64_t[::1] o = out
    for i in range(n):
        o[i] = lc_rng_bounded(&r, bound) if kind == "bounded" else lc_rng_next(&r)
    return out


def seed64_state(uint64_t seed):
    """The 4-word state that lc_rng_seed64(seed) produces."""
    cdef lc_rng r
    lc_rng_seed64(&r, seed)
    return np.array([r.s[0], r.s[1], r.s[2], r.s[3]], dtype=np.uint64)
