/* lc_sobol.h: Sobol' low-discrepancy points (Joe-Kuo 6.21201 direction numbers).
 *
 * Bit-identical to scipy.stats.qmc.Sobol(d, scramble=False) with its default
 * bits = 30: point k of dimension j is the XOR of the direction numbers v[b][j]
 * over the set bits b of the Gray code k ^ (k >> 1), scaled by 2^-30; point 0 is 0.
 * Scrambling is a (left) linear matrix scramble (LMS) followed by a digital shift,
 * drawn from lc_rng.
 *
 * Layout: the direction table is (LC_SOBOL_BITS, d) uint32, row-major ("transposed"
 * relative to SciPy's (d, bits)) so that one Gray-code step reads one contiguous row.
 * The caller allocates every buffer and validates every argument; nothing here
 * allocates or checks.
 */
#ifndef LC_SOBOL_H
#define LC_SOBOL_H

#include <stdint.h>

#include "lc_rng.h"

#define LC_SOBOL_BITS 30
#define LC_SOBOL_MAXDEG 18

#ifdef __cplusplus
extern "C" {
#endif

/* Direction numbers of dimensions 0..d-1 into v (LC_SOBOL_BITS, d), from the
 * primitive polynomials poly[d] and initial numbers vinit (d, vinit_stride)
 * (dimension 0 is the van der Corput sequence and ignores both). */
void lc_sobol_directions(int64_t d, const uint32_t *poly, const uint32_t *vinit,
                         int64_t vinit_stride, uint32_t *v);

/* LMS + digital shift, in place on v (LC_SOBOL_BITS, d); writes shift[d].
 * Draws, per dimension: one word for the shift, then one word per bit for the
 * row of the lower-triangular matrix (unit diagonal). */
void lc_sobol_scramble(int64_t d, lc_rng *rng, uint32_t *v, uint32_t *shift);

/* Integer coordinates of point `index` (< 2^LC_SOBOL_BITS) into quasi[d]:
 * shift XOR the directions of the Gray code of index.  O(d * bits); shift may be NULL. */
void lc_sobol_state(int64_t d, const uint32_t *v, const uint32_t *shift, uint64_t index,
                    uint32_t *quasi);

/* Points index, index+1, ..., index+n-1 into out (n, d) float64, C order.  On entry
 * quasi holds the integer coordinates of point `index` (lc_sobol_state); on return it
 * holds those of point index+n (unchanged past the last point 2^bits - 1).
 * Requires index + n <= 2^LC_SOBOL_BITS. */
void lc_sobol_fill(int64_t n, int64_t d, const uint32_t *v, uint32_t *quasi, uint64_t index,
                   double *out);

#ifdef __cplusplus
}
#endif

#endif /* LC_SOBOL_H */
