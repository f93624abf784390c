/* lc_acq_descent.c: one tree over the candidates -- the threshold ranks of its nodes,
 * the bitset descent, the per-candidate subtrees and the Welford pass. */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

#include "lc_acq_internal.h"

/* #{x_k <= thr} over the candidates: a count within thr's bucket of feature k. */
static inline int64_t node_rank_of(const lc_rfei_ctx *c, int k, double thr) {
    const int32_t *bs = c->rank_bstart + (size_t)k * (size_t)c->rank_bstride;
    const int64_t g = lcq_bucket(thr, c->rank_blo[k], c->rank_bscale[k], c->rank_bnb[k]);
    const int64_t a = bs[g];
    return a + lcq_count_le(c->sorted_vals + (size_t)k * c->n_all + a, bs[g + 1] - a, thr);
}

/* Bit b of the result: rank of candidate 64 * w + b below kk (ranks biased by -32768). */
static inline uint64_t below16(const int16_t *r, int16_t kb) {
#if defined(__SSE2__)
    const __m128i K = _mm_set1_epi16(kb);
    uint64_t m = 0;
    for (int g = 0; g < 4; g++) {
        const __m128i a = _mm_loadu_si128((const __m128i *)(r + 16 * g));
        const __m128i b = _mm_loadu_si128((const __m128i *)(r + 16 * g + 8));
        const __m128i p = _mm_packs_epi16(_mm_cmplt_epi16(a, K), _mm_cmplt_epi16(b, K));
        m |= (uint64_t)(uint32_t)_mm_movemask_epi8(p) << (16 * g);
    }
    return m;
#else
    uint64_t m = 0;
    for (int b = 0; b < 64; b++) m |= (uint64_t)(r[b] < kb) << b;
    return m;
#endif
}

static inline uint64_t below32(const int32_t *r, int32_t k) {
    uint64_t m = 0;
    for (int b = 0; b < 64; b++) m |= (uint64_t)(r[b] < k) << b;
    return m;
}

/* Score the subtree at `node` per candidate: its candidates are the n internal ids in `ids`;
 * each split partitions them into `alt` (the left ones first; scalar path: left from the
 * front, right from the back, branch-free) and the children continue there with the two
 * buffers swapped.  A child that is a leaf takes its leaf ids at once.  Sibling subtrees
 * own disjoint ranges of both buffers, and no write leaves the node's range [0, n). */
static void score_list(const lc_rfei_ctx *c, lc_rfei_lane *L, int32_t node, int32_t *ids,
                       int32_t *alt, int64_t n) {
    const lc_forest *f = &L->tree;
    const int32_t feat = f->feature[node];
    int32_t *leaf_of = L->leaf_of;
    if (feat < 0) {
        for (int64_t i = 0; i < n; i++) leaf_of[ids[i]] = node;
        return;
    }
    const int64_t k = L->node_rank[node];
    const int64_t padded = c->n_words * 64;
    const int32_t ln = f->left[node], rn = f->right[node];
    const int lleaf = f->feature[ln] < 0, rleaf = f->feature[rn] < 0;
    int64_t l = 0, h = n - 1;
    /* the comparison of candidate j: rank below k (x <= threshold) */
#define LC_LT(j) (c->rank16 ? (int64_t)(r16[j] < kb) : (int64_t)(r32[j] < (int32_t)k))
    const int16_t *r16 = c->rank16 ? c->rank16 + (size_t)feat * padded : NULL;
    const int32_t *r32 = c->rank32 ? c->rank32 + (size_t)feat * padded : NULL;
    const int16_t kb = (int16_t)(k >= 65536 ? 32767 : k - 32768);
    if (lleaf && rleaf) {  /* both children are leaves: no partition */
        for (int64_t i = 0; i < n; i++) {
            const int32_t j = ids[i];
            leaf_of[j] = LC_LT(j) ? ln : rn;
        }
        return;
    }
    if (lleaf) {  /* the left leaf is written now (right ones are overwritten later) */
        for (int64_t i = 0; i < n; i++) {
            const int32_t j = ids[i];
            const int64_t lt = LC_LT(j);
            leaf_of[j] = ln;
            alt[h] = j;
            h -= 1 - lt;
        }
        if (h + 1 < n) score_list(c, L, rn, alt + h + 1, ids + h + 1, n - h - 1);
        return;
    }
    if (rleaf) {
        for (int64_t i = 0; i < n; i++) {
            const int32_t j = ids[i];
            const int64_t lt = LC_LT(j);
            leaf_of[j] = rn;
            alt[l] = j;
            l += lt;
        }
        if (l) score_list(c, L, ln, alt, ids, l);
        return;
    }
#ifdef LC_HAVE_AVX2_DISPATCH
    if (c->use_avx2 && c->rank16) {
        int64_t nr = 0;
        l = lcq_partition16_avx2(ids, n, r16, kb, alt, L->list_tmp, &nr);
        memcpy(alt + l, L->list_tmp, sizeof(int32_t) * (size_t)nr);
    } else
#endif
    for (int64_t i = 0; i < n; i++) {
        const int32_t j = ids[i];
        const int64_t lt = LC_LT(j);
        alt[l] = j;
        alt[h] = j;
        l += lt;
        h -= 1 - lt;
    }
#undef LC_LT
    if (l) score_list(c, L, f->left[node], alt, ids, l);
    if (n - l) score_list(c, L, f->right[node], alt + l, ids + l, n - l);
}

/* Score the subtree at `node`, whose candidates are the bitset `set`, read only at its nw
 * listed nonzero words `lst` (other words are stale).  Its children's sets go to the two
 * slots of level lvl + 1 (left: slot 2(lvl+1), right: slot 2(lvl+1) + 1), which deeper
 * levels do not touch. */
void lcq_score_node(const lc_rfei_ctx *c, lc_rfei_lane *L, int32_t node, int lvl,
                    const uint64_t *set, const int32_t *lst, int64_t nw, int64_t pop) {
    const lc_forest *f = &L->tree;
    const int64_t W = c->n_words;
    const int32_t feat = f->feature[node];
    int32_t *leaf_of = L->leaf_of;
    if (feat < 0) {
#ifdef LC_HAVE_AVX2_DISPATCH
        if (c->use_avx2) {
            lcq_leaf_write_avx2(leaf_of, set, lst, nw, node);
            return;
        }
#endif
        for (int64_t i = 0; i < nw; i++) {
            const int64_t w = lst[i];
            uint64_t bits = set[w];
            if (bits == ~(uint64_t)0) {
                for (int b = 0; b < 64; b++) leaf_of[w * 64 + b] = node;
                continue;
            }
            while (bits) {
                leaf_of[w * 64 + ctz64(bits)] = node;
                bits &= bits - 1;
            }
        }
        return;
    }
    if (lvl >= c->bitset_depth || pop < (int64_t)c->list_density * nw) {
        /* few candidates per word: list them once and score the subtree per candidate */
        int32_t *ids = L->order + L->list_used, *alt = L->alt + L->list_used;
        int64_t n = 0;
#ifdef LC_HAVE_AVX2_DISPATCH
        if (c->use_avx2) n = lcq_list_bits_avx2(ids, set, lst, nw);
        else
#endif
        for (int64_t i = 0; i < nw; i++) {
            const int64_t w = lst[i];
            uint64_t bits = set[w];
            while (bits) {
                ids[n++] = (int32_t)(w * 64 + ctz64(bits));
                bits &= bits - 1;
            }
        }
        L->list_used += n;
        score_list(c, L, node, ids, alt, n);
        return;
    }
    L->words += nw;
    const int64_t k = L->node_rank[node];
    const size_t slot = 2 * (size_t)(lvl + 1);
    uint64_t *lset = L->slots + slot * W, *rset = lset + W;
    int32_t *llst = L->wlist + slot * W, *rlst = llst + W;
    const int64_t padded = W * 64;
    int64_t nl = 0, nr = 0, pops[2] = {0, 0};
    /* words wholly below / above the threshold need no compares */
    const int32_t *wmn = c->wmin + (size_t)feat * W, *wmx = c->wmax + (size_t)feat * W;
    if (c->rank16 && c->use_avx2) {
#ifdef LC_HAVE_AVX2_DISPATCH
        const int16_t *r16 = c->rank16 + (size_t)feat * padded;
        const int16_t kb = (int16_t)(k >= 65536 ? 32767 : k - 32768);
        const int32_t ln = f->left[node], rn = f->right[node];
        const int32_t lleaf = f->feature[ln] < 0 ? ln : -1;
        const int32_t rleaf = f->feature[rn] < 0 ? rn : -1;
        lcq_split_words_avx2(r16, kb, set, lst, nw, wmn, wmx, k, lset, rset, llst, rlst, &nl, &nr,
                         pops, leaf_of, lleaf, rleaf);
        if (lleaf >= 0) nl = 0;  /* done */
        if (rleaf >= 0) nr = 0;
#endif
    } else {
        /* portable path (SSE2 or plain), one body for 16- and 32-bit ranks (the width is
         * fixed per context: the test is loop-invariant) */
        const int16_t *r16 = c->rank16 ? c->rank16 + (size_t)feat * padded : NULL;
        const int32_t *r32 = c->rank32 ? c->rank32 + (size_t)feat * padded : NULL;
        const int16_t kb = (int16_t)(k >= 65536 ? 32767 : k - 32768);
        for (int64_t i = 0; i < nw; i++) {
            const int32_t w = lst[i];
            const uint64_t m = set[w];
            uint64_t l = m;
            if (wmn[w] >= k) l = 0;
            else if (wmx[w] >= k)
                l &= r16 ? below16(r16 + (size_t)w * 64, kb)
                         : below32(r32 + (size_t)w * 64, (int32_t)k);
            const uint64_t r = m & ~l;
            lset[w] = l;
            rset[w] = r;
            llst[nl] = w;
            rlst[nr] = w;
            nl += l != 0;
            nr += r != 0;
            pops[0] += lc_popcount64(l);
            pops[1] += lc_popcount64(r);
        }
    }
    if (nl) lcq_score_node(c, L, f->left[node], lvl + 1, lset, llst, nl, pops[0]);
    if (nr) lcq_score_node(c, L, f->right[node], lvl + 1, rset, rlst, nr, pops[1]);
}

/* Candidates [j0, j1) take their leaf's value in one tree (a sequential pass). */
void lcq_welford_range(const lc_rfei_ctx *c, const double *value, const int32_t *leaf_of,
                          int64_t j0, int64_t j1, double inv_count) {
    double *mean = c->acc_mean, *m2 = c->acc_m2;
#ifdef LC_HAVE_AVX2_DISPATCH
    if (c->use_avx2) {
        lcq_welford_pass_avx2(mean + j0, m2 + j0, leaf_of + j0, value, j1 - j0, inv_count);
        return;
    }
#endif
    for (int64_t j = j0; j < j1; j++)
        lc_forest_welford(&mean[j], &m2[j], value[leaf_of[j]], inv_count);
}

/* Fit tree t into lane L's tree (its fit workspace presorted) and write the leaf of every
 * candidate of the root set to L->leaf_of. */
void lcq_lane_tree(const lc_rfei_ctx *c, lc_rfei_lane *L, const double *y_seen,
                   int64_t n_seen, uint64_t forest_seed, int32_t t, const uint64_t *root,
                   const int32_t *root_list, int64_t nw, int64_t n_active) {
    lc_forest_fit_tree_cap(y_seen, n_seen, c->d, c->max_seen, &c->params, forest_seed, t, 0,
                           &L->tree, L->fit_work);
    const lc_forest *tr = &L->tree;
    L->list_used = 0;
    if (n_active * 4 <= (int64_t)tr->n_nodes[0]) {
        /* few candidates (the end of a replay that exhausts its table): each walks down the
         * tree (x <= threshold: the same leaf as rank < node rank), no node ranks needed */
        for (int64_t i = 0; i < nw; i++) {
            const int32_t w = root_list[i];
            uint64_t bits = root[w];
            while (bits) {
                const int64_t id = (int64_t)w * 64 + ctz64(bits);
                bits &= bits - 1;
                L->leaf_of[id] = lc_forest_leaf(tr, 0, c->Xn + (size_t)c->perm[id] * c->d);
            }
        }
        return;
    }
    for (int32_t i = 0; i < tr->n_nodes[0]; i++)
        if (tr->feature[i] >= 0)
            L->node_rank[i] = (int32_t)node_rank_of(c, tr->feature[i], tr->threshold[i]);
    if (nw) lcq_score_node(c, L, 0, 0, root, root_list, nw, n_active);
}
