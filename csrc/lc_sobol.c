/* lc_sobol.c: see lc_sobol.h. */
#include "lc_sobol.h"

#define LC_SOBOL_SCALE (1.0 / 1073741824.0) /* 2^-30, exact */

static inline int lc_ctz64(uint64_t x) {
#if defined(__GNUC__) || defined(__clang__)
    return __builtin_ctzll(x);
#else
    int i = 0;
    while (!(x & 1u)) { x >>= 1; i++; }
    return i;
#endif
}

static inline uint32_t lc_parity32(uint32_t x) {
    x ^= x >> 16;
    x ^= x >> 8;
    x ^= x >> 4;
    x ^= x >> 2;
    x ^= x >> 1;
    return x & 1u;
}

void lc_sobol_directions(int64_t d, const uint32_t *poly, const uint32_t *vinit,
                         int64_t vinit_stride, uint32_t *v) {
    const int B = LC_SOBOL_BITS;
    uint32_t col[LC_SOBOL_BITS];
    for (int64_t j = 0; j < d; j++) {
        if (j == 0) {
            for (int b = 0; b < B; b++) col[b] = 1u;
        } else {
            const uint32_t p = poly[j];
            int m = 0; /* degree = bit length - 1 */
            while ((p >> (m + 1)) != 0) m++;
            const uint32_t *vi = vinit + j * vinit_stride;
            for (int b = 0; b < m && b < B; b++) col[b] = vi[b];
            /* Bratley & Fox recurrence on the unscaled numbers m_b. */
            for (int b = m; b < B; b++) {
                uint32_t nv = col[b - m];
                uint32_t pow2 = 1u;
                for (int k = 0; k < m; k++) {
                    pow2 <<= 1;
                    if ((p >> (m - 1 - k)) & 1u) nv ^= pow2 * col[b - k - 1];
                }
                col[b] = nv;
            }
        }
        /* v_b = m_b * 2^(bits - 1 - b) */
        for (int b = 0; b < B; b++) v[(int64_t)b * d + j] = col[b] << (B - 1 - b);
    }
}

void lc_sobol_scramble(int64_t d, lc_rng *rng, uint32_t *v, uint32_t *shift) {
    const int B = LC_SOBOL_BITS;
    const uint32_t all = (uint32_t)((1ULL << B) - 1);
    uint32_t mask[LC_SOBOL_BITS];
    for (int64_t j = 0; j < d; j++) {
        shift[j] = (uint32_t)(lc_rng_next(rng) >> (64 - B));
        /* Output bit b is the parity of (mask[b] & x): bit b itself (unit diagonal)
         * plus a random subset of the more significant bits (lower triangular in the
         * most-significant-first digit order), so the scramble keeps the net property. */
        for (int b = 0; b < B; b++) {
            const uint32_t above = all & ~(uint32_t)((2ULL << b) - 1);
            mask[b] = ((uint32_t)(lc_rng_next(rng) >> (64 - B)) & above) | (1u << b);
        }
        for (int c = 0; c < B; c++) {
            const uint32_t x = v[(int64_t)c * d + j];
            uint32_t y = 0;
            for (int b = 0; b < B; b++) y |= lc_parity32(mask[b] & x) << b;
            v[(int64_t)c * d + j] = y;
        }
    }
}

void lc_sobol_state(int64_t d, const uint32_t *v, const uint32_t *shift, uint64_t index,
                    uint32_t *quasi) {
    const uint64_t gray = index ^ (index >> 1);
    for (int64_t j = 0; j < d; j++) quasi[j] = shift ? shift[j] : 0u;
    for (int b = 0; b < LC_SOBOL_BITS; b++) {
        if (!((gray >> b) & 1u)) continue;
        const uint32_t *row = v + (int64_t)b * d;
        for (int64_t j = 0; j < d; j++) quasi[j] ^= row[j];
    }
}

void lc_sobol_fill(int64_t n, int64_t d, const uint32_t *v, uint32_t *quasi, uint64_t index,
                   double *out) {
    const double scale = LC_SOBOL_SCALE;
    for (int64_t i = 0; i < n; i++) {
        double *o = out + i * d;
        for (int64_t j = 0; j < d; j++) o[j] = (double)quasi[j] * scale;
        /* Gray code: point k+1 differs from point k by direction ctz(k+1). */
        const int l = lc_ctz64(index + (uint64_t)i + 1);
        if (l < LC_SOBOL_BITS) {
            const uint32_t *row = v + (int64_t)l * d;
            for (int64_t j = 0; j < d; j++) quasi[j] ^= row[j];
        }
    }
}
