# cython: language_level=3
"""Binding of the "lce" rule's fast decision (csrc/lc_rule_lce.c), for its Python face
(lcore/stopping/lce.py): the same C function the replay loop calls, so both decide alike."""
import numpy as np

from libc.stdint cimport int32_t, int64_t


cdef extern from * nogil:
    """
    int32_t lc_lce_n_families(void);
    double lc_lce_family(int32_t k, double x, const double *p);
    int32_t lc_lce_fit(const double *x, const double *y, int32_t n, double T, double lo,
                       double hi, double *work, int32_t *ok, double *mu, double *s2,
                       double *par);
    double lc_lce_prob(const double *curve, int32_t t, int32_t T, double y_best,
                       int32_t mode, double lo, double hi, double *work);
    int64_t lc_lce_work(int32_t t);
    """
    int32_t lc_lce_n_families()
    double lc_lce_family(int32_t k, double x, const double *p)
    int32_t lc_lce_fit(const double *x, const double *y, int32_t n, double T, double lo,
                       double hi, double *work, int32_t *ok, double *mu, double *s2,
                       double *par)
    double lc_lce_prob(const double *curve, int32_t t, int32_t T, double y_best,
                       int32_t mode, double lo, double hi, double *work)
    int64_t lc_lce_work(int32_t t)


def prob(const double[::1] curve, int32_t T, double y_best, int32_t mode, double lo,
         double hi):
    """P(y(T) > y_best) (mode +1) or P(y(T) < y_best) (mode -1); NaN when no family fits."""
    cdef int32_t t = curve.shape[0]
    cdef double[::1] work = np.empty(lc_lce_work(t), dtype=np.float64)
    cdef double p
    with nogil:
        p = lc_lce_prob(&curve[0], t, T, y_best, mode, lo, hi, &work[0])
    return p


def fit(const double[::1] x, const double[::1] y, double T, double lo, double hi):
    """Per family (11): ok (kept), mu = f(T), s2 (weighted mean squared residual) and the
    parameters, shape (11, 4) (unused trailing ones arbitrary): the fast fit's numbers."""
    cdef int32_t n = x.shape[0]
    if n == 0 or y.shape[0] != n:
        raise ValueError(f"x and y must be non-empty and of one length; got {n}, {y.shape[0]}")
    cdef int32_t nf = lc_lce_n_families()
    cdef double[::1] work = np.empty(15 * n, dtype=np.float64)
    ok = np.zeros(nf, dtype=np.int32)
    mu = np.empty(nf)
    s2 = np.empty(nf)
    par = np.zeros((nf, 4))
    cdef int32_t[::1] o = ok
    cdef double[::1] m = mu, s = s2
    cdef double[:, ::1] pp = par
    lc_lce_fit(&x[0], &y[0], n, T, lo, hi, &work[0], &o[0], &m[0], &s[0], &pp[0, 0])
    return ok.astype(bool), mu, s2, par


def family(int32_t k, double x, const double[::1] p):
    """Family k's value at x."""
    return lc_lce_family(k, x, &p[0])
