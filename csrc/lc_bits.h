/* lc_bits.h: bit tricks on 64-bit words shared by the replay's candidate set and the rf-ei
 * chooser's bitsets (portable C; gcc/clang builtins where they exist). */
#ifndef LC_BITS_H
#define LC_BITS_H

#include <stdint.h>

/* The set bits of each byte of x, one count per byte. */
static inline uint64_t lc_byte_counts64(uint64_t x) {
    x = x - ((x >> 1) & 0x5555555555555555ull);
    x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
    return (x + (x >> 4)) & 0x0F0F0F0F0F0F0F0Full;
}

static inline int lc_popcount64(uint64_t x) {
    return (int)((lc_byte_counts64(x) * 0x0101010101010101ull) >> 56);
}

#if defined(__GNUC__) || defined(__clang__)
static inline int ctz64(uint64_t x) { return __builtin_ctzll(x); }
#else
static inline int ctz64(uint64_t x) {
    int k = 0;
    while (!(x & 1u)) { x >>= 1; k++; }
    return k;
}
#endif

/* The position (0..63) of the k-th (0-based) set bit of x, for k < popcount(x); no branch:
 * the byte from the bytes' running counts compared all at once, then the nibble, then a
 * 16-entry table of the set bits' positions in a nibble (2 bits each). */
static inline int lc_select64(uint64_t x, uint64_t k) {
    static const uint8_t sel4[16] = {0, 0, 1, 4, 2, 8, 9, 36, 3, 12, 13, 52, 14, 56, 57, 228};
    const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    const uint64_t upto = lc_byte_counts64(x) * ones;  /* byte j: set bits in bytes 0..j */
    /* byte j's high bit: k >= upto_j (every byte of k * ones | highs exceeds every upto_j,
     * so nothing borrows across bytes); the k-th bit lies in the byte after all those */
    const uint64_t past = ((k * ones | highs) - upto) & highs;
    const int b = (int)(((past >> 7) * ones) >> 56);
    k -= ((upto << 8) >> (8 * b)) & 0xFF;  /* the set bits before byte b */
    uint32_t v = (uint32_t)(x >> (8 * b)) & 0xFF;
    int pos = 8 * b;
    const uint32_t low = (uint32_t)((0x4332322132212110ull >> (4 * (v & 15))) & 15);
    const uint32_t hi = (uint32_t)(k >= low);  /* the bit is in the high nibble */
    k -= low & (0u - hi);
    pos += 4 * (int)hi;
    v = (v >> (4 * hi)) & 15;
    return pos + ((sel4[v] >> (2 * k)) & 3);
}

#endif
