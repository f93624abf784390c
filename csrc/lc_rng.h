/* lc_rng.h: the one C random number generator of lcore (header only).
 *
 * xoshiro256** 1.0 (Blackman & Vigna), state seeded from Python with
 * numpy.random.SeedSequence(...).generate_state(4, dtype=np.uint64), or from a
 * single 64-bit word through splitmix64 (lc_rng_seed64).  Every draw lcore makes
 * in C goes through these few functions; lcore/_rng.py mirrors them in pure
 * Python so that reference implementations can reproduce a C run bit for bit.
 */
#ifndef LC_RNG_H
#define LC_RNG_H

#include <stdint.h>

typedef struct {
    uint64_t s[4];
} lc_rng;

static inline uint64_t lc_rotl64(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static inline uint64_t lc_splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Seed from one 64-bit word (used for per-tree generators: seed = base + tree index). */
static inline void lc_rng_seed64(lc_rng *r, uint64_t seed) {
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) r->s[i] = lc_splitmix64(&x);
}

/* Seed from four words; an all-zero state (invalid for xoshiro) is replaced by seed64(0). */
static inline void lc_rng_seed4(lc_rng *r, const uint64_t st[4]) {
    if ((st[0] | st[1] | st[2] | st[3]) == 0) { lc_rng_seed64(r, 0); return; }
    for (int i = 0; i < 4; i++) r->s[i] = st[i];
}

static inline uint64_t lc_rng_next(lc_rng *r) {
    uint64_t *s = r->s;
    const uint64_t result = lc_rotl64(s[1] * 5, 7) * 9;
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = lc_rotl64(s[3], 45);
    return result;
}

/* Uniform double in [0, 1) with 53 random bits. */
static inline double lc_rng_uniform(lc_rng *r) {
    return (double)(lc_rng_next(r) >> 11) * 0x1.0p-53;
}

/* Unbiased integer in [0, n), n >= 1 (rejection of the low remainder, as OpenBSD's
 * arc4random_uniform does).  n == 1 consumes no draw. */
static inline uint64_t lc_rng_bounded(lc_rng *r, uint64_t n) {
    if (n <= 1) return 0;
    uint64_t x = lc_rng_next(r);
    /* reject x < 2^64 mod n; as 2^64 mod n < n, only an x < n can be rejected, so the
     * (slow) remainder is computed only then -- the same draws as computing it always */
    if (x < n) {
        const uint64_t min = (0 - n) % n;
        while (x < min) x = lc_rng_next(r);
    }
    return x % n;
}

#endif /* LC_RNG_H */
