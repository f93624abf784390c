/* lc_acq_simd.c: the AVX2 kernels of the descent and the Welford pass (x86-64, GCC/clang,
 * compiled with target attributes).  The one dispatch point is ctx->use_avx2, set in
 * lc_rfei_prepare from the CPU; every kernel gives the bits of the portable path. */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

#include "lc_acq_internal.h"

#ifdef LC_HAVE_AVX2_DISPATCH
/* The same bits as below16, with AVX2 (chosen at run time; integer compares, so the
 * result does not depend on the path taken). */
/* leaf_of[64 w + b] = node for the set bits b of `bits`: 8-lane blends for every word (a
 * bit-by-bit loop for sparse words costs more in mispredicted exits than it saves). */
__attribute__((target("avx2,popcnt"))) static inline void write_word_avx2(int32_t *leaf_of,
                                                                        int64_t w,
                                                                        uint64_t bits,
                                                                        int32_t node) {
    int32_t *out = leaf_of + w * 64;
    const __m256i vnode = _mm256_set1_epi32(node);
    const __m256i bit = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
    for (int g = 0; g < 8; g++) {
        const __m256i byte = _mm256_set1_epi32((int)((bits >> (8 * g)) & 0xFF));
        const __m256i m = _mm256_cmpeq_epi32(_mm256_and_si256(byte, bit), bit);
        __m256i *p = (__m256i *)(out + 8 * g);
        _mm256_storeu_si256(p, _mm256_blendv_epi8(_mm256_loadu_si256(p), vnode, m));
    }
}

/* A child that is a leaf (lnode / rnode >= 0) gets its leaf ids written at once instead of
 * a bitset.  (wmn / wmx are not consulted here: comparing every word is cheaper than
 * mispredicting which words straddle k.) */
__attribute__((target("avx2,popcnt"))) void lcq_split_words_avx2(
    const int16_t *r16, int16_t kb, const uint64_t *set, const int32_t *lst, int64_t nw,
    const int32_t *wmn, const int32_t *wmx, int64_t k, uint64_t *lset, uint64_t *rset,
    int32_t *llst, int32_t *rlst, int64_t *nl_out, int64_t *nr_out, int64_t *pop_out,
    int32_t *leaf_of,
    int32_t lnode, int32_t rnode) {
    const __m256i K = _mm256_set1_epi16(kb);
    int64_t nl = 0, nr = 0, pl = 0, pr = 0;
    (void)wmn;
    (void)wmx;
    (void)k;
    for (int64_t i = 0; i < nw; i++) {
        const int32_t w = lst[i];
        const uint64_t m = set[w];
        uint64_t l = m;
        {   /* always compare: cheaper than mispredicting whether the word straddles k */
            const int16_t *r = r16 + (size_t)w * 64;
            const __m256i a0 = _mm256_cmpgt_epi16(K, _mm256_loadu_si256((const __m256i *)r));
            const __m256i a1 = _mm256_cmpgt_epi16(K, _mm256_loadu_si256((const __m256i *)(r + 16)));
            const __m256i a2 = _mm256_cmpgt_epi16(K, _mm256_loadu_si256((const __m256i *)(r + 32)));
            const __m256i a3 = _mm256_cmpgt_epi16(K, _mm256_loadu_si256((const __m256i *)(r + 48)));
            /* packs works per 128-bit lane; vpermq 0xD8 restores the element order */
            const __m256i p0 = _mm256_permute4x64_epi64(_mm256_packs_epi16(a0, a1), 0xD8);
            const __m256i p1 = _mm256_permute4x64_epi64(_mm256_packs_epi16(a2, a3), 0xD8);
            l &= (uint64_t)(uint32_t)_mm256_movemask_epi8(p0) |
                 ((uint64_t)(uint32_t)_mm256_movemask_epi8(p1) << 32);
        }
        const uint64_t r = m & ~l;
        if (lnode >= 0) {
            if (l) write_word_avx2(leaf_of, w, l, lnode);
        } else {
            lset[w] = l;
            llst[nl] = w;
            nl += l != 0;
            pl += __builtin_popcountll(l);
        }
        if (rnode >= 0) {
            if (r) write_word_avx2(leaf_of, w, r, rnode);
        } else {
            rset[w] = r;
            rlst[nr] = w;
            nr += r != 0;
            pr += __builtin_popcountll(r);
        }
    }
    pop_out[0] = pl;
    pop_out[1] = pr;
    *nl_out = nl;
    *nr_out = nr;
}
/* Write `node` to leaf_of at the set bits of the listed words (8-lane blends per word). */
__attribute__((target("avx2,popcnt"))) void lcq_leaf_write_avx2(
    int32_t *leaf_of, const uint64_t *set, const int32_t *lst, int64_t nw, int32_t node) {
    for (int64_t i = 0; i < nw; i++) {
        const int64_t w = lst[i];
        write_word_avx2(leaf_of, w, set[w], node);
    }
}

#endif

#ifdef LC_HAVE_AVX2_DISPATCH
#include "lc_acq_bytepos.h"
/* The internal ids of the set bits of the listed words, ascending (8 lanes per byte; the
 * buffer may be written up to 8 entries past the end). */
__attribute__((target("avx2,popcnt"))) int64_t lcq_list_bits_avx2(
    int32_t *ids, const uint64_t *set, const int32_t *lst, int64_t nw) {
    const __m256i shifts = _mm256_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28);
    const __m256i nib = _mm256_set1_epi32(15);
    int64_t n = 0;
    for (int64_t i = 0; i < nw; i++) {
        const int32_t w = lst[i];
        const uint64_t bits = set[w];
        for (int g = 0; g < 8; g++) {
            const unsigned v = (unsigned)(bits >> (8 * g)) & 0xFFu;
            const __m256i pos = _mm256_and_si256(
                _mm256_srlv_epi32(_mm256_set1_epi32((int)lc_byte_pos[v]), shifts), nib);
            _mm256_storeu_si256((__m256i *)(ids + n),
                                _mm256_add_epi32(pos, _mm256_set1_epi32(w * 64 + 8 * g)));
            n += __builtin_popcount(v);
        }
    }
    return n;
}
/* Partition the n ids by rank16 < kb: those below to `left`, the others to `right` (both
 * in order); returns the count below.  Writes at most 8 entries at a time, never past
 * left[n - 1] or right[n - 1]... except that `right` may take up to 7 more (scratch). */
__attribute__((target("avx2,popcnt"))) int64_t lcq_partition16_avx2(
    const int32_t *ids, int64_t n, const int16_t *r16, int16_t kb, int32_t *left,
    int32_t *right, int64_t *nr_out) {
    const __m256i shifts = _mm256_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28);
    const __m256i nib = _mm256_set1_epi32(15);
    const __m256i K = _mm256_set1_epi32(kb);
    int64_t l = 0, r = 0, i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256i J = _mm256_loadu_si256((const __m256i *)(ids + i));
        /* 32-bit loads at the 16-bit ranks (the padded arrays sit inside the context's
         * block, so the 2 bytes past the last one are readable); low halves sign-extended */
        __m256i R = _mm256_i32gather_epi32((const int *)r16, J, 2);
        R = _mm256_srai_epi32(_mm256_slli_epi32(R, 16), 16);
        const int m = _mm256_movemask_ps(_mm256_castsi256_ps(_mm256_cmpgt_epi32(K, R)));
        const __m256i pl = _mm256_and_si256(
            _mm256_srlv_epi32(_mm256_set1_epi32((int)lc_byte_pos[m]), shifts), nib);
        const __m256i pr = _mm256_and_si256(
            _mm256_srlv_epi32(_mm256_set1_epi32((int)lc_byte_pos[~m & 255]), shifts), nib);
        _mm256_storeu_si256((__m256i *)(left + l), _mm256_permutevar8x32_epi32(J, pl));
        _mm256_storeu_si256((__m256i *)(right + r), _mm256_permutevar8x32_epi32(J, pr));
        const int cnt = __builtin_popcount((unsigned)m);
        l += cnt;
        r += 8 - cnt;
    }
    for (; i < n; i++) {
        const int32_t j = ids[i];
        const int64_t lt = r16[j] < kb;
        left[l] = j;
        right[r] = j;
        l += lt;
        r += 1 - lt;
    }
    *nr_out = r;
    return l;
}
#endif

#ifdef LC_HAVE_AVX2_DISPATCH
/* lc_forest_welford on 4 candidates at a time: the same IEEE operations lane by lane (no
 * FMA), so the same bits as the scalar loop. */
__attribute__((target("avx2"))) void lcq_welford_pass_avx2(double *mean, double *m2,
                                                              const int32_t *leaf_of,
                                                              const double *value, int64_t n,
                                                              double inv_count) {
    const __m256d vinv = _mm256_set1_pd(inv_count);
    int64_t j = 0;
    for (; j + 4 <= n; j += 4) {
        /* four scalar loads beat vgatherdpd on some CPUs (AMD Zen) */
        const __m256d v = _mm256_set_pd(value[leaf_of[j + 3]], value[leaf_of[j + 2]],
                                        value[leaf_of[j + 1]], value[leaf_of[j]]);
        const __m256d mu = _mm256_loadu_pd(mean + j);
        const __m256d delta = _mm256_sub_pd(v, mu);
        const __m256d mn = _mm256_add_pd(mu, _mm256_mul_pd(delta, vinv));
        const __m256d q = _mm256_add_pd(_mm256_loadu_pd(m2 + j),
                                        _mm256_mul_pd(delta, _mm256_sub_pd(v, mn)));
        _mm256_storeu_pd(mean + j, mn);
        _mm256_storeu_pd(m2 + j, q);
    }
    for (; j < n; j++) lc_forest_welford(&mean[j], &m2[j], value[leaf_of[j]], inv_count);
}
#endif
