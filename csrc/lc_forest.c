/* lc_forest.c: regression forest fitting and prediction (see lc_forest.h). */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

#include "lc_forest.h"
#include "lc_rng.h"

#include <string.h>

#if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__)
#include <immintrin.h>
#define LC_FOREST_AVX2 1
#endif

int64_t lc_forest_max_nodes(int64_t n) { return n < 1 ? 1 : 2 * n - 1; }

/* Stable bottom-up merge sort by key. */
void lc_sort_items(lc_sort_item *a, int64_t n, lc_sort_item *tmp) {
    const int64_t RUN = 16;
    for (int64_t lo = 0; lo < n; lo += RUN) {
        const int64_t hi = lo + RUN < n ? lo + RUN : n;
        for (int64_t i = lo + 1; i < hi; i++) {
            lc_sort_item v = a[i];
            int64_t j = i;
            while (j > lo && a[j - 1].key > v.key) { a[j] = a[j - 1]; j--; }
            a[j] = v;
        }
    }
    lc_sort_item *src = a, *dst = tmp;
    for (int64_t width = RUN; width < n; width *= 2) {
        for (int64_t lo = 0; lo < n; lo += 2 * width) {
            const int64_t mid = lo + width < n ? lo + width : n;
            const int64_t hi = lo + 2 * width < n ? lo + 2 * width : n;
            int64_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi) dst[k++] = (src[j].key < src[i].key) ? src[j++] : src[i++];
            while (i < mid) dst[k++] = src[i++];
            while (j < hi) dst[k++] = src[j++];
        }
        lc_sort_item *sw = src; src = dst; dst = sw;
    }
    if (src != a) memcpy(a, src, sizeof(lc_sort_item) * (size_t)n);
}

#if defined(__SSE2__)
#include <emmintrin.h>
/* c ? a : b and max(a, b) without branches (a, b not NaN) */
static inline double lc_select(int c, double a, double b) {
    const __m128d m = _mm_castsi128_pd(_mm_set1_epi64x(-(int64_t)(c != 0)));
    return _mm_cvtsd_f64(_mm_or_pd(_mm_and_pd(m, _mm_set_sd(a)), _mm_andnot_pd(m, _mm_set_sd(b))));
}
static inline double lc_max(double a, double b) {
    return _mm_cvtsd_f64(_mm_max_sd(_mm_set_sd(a), _mm_set_sd(b)));
}
#else
static inline double lc_select(int c, double a, double b) { return c ? a : b; }
static inline double lc_max(double a, double b) { return a > b ? a : b; }
#endif

/* What the split scan reads of a row besides its rank in the scanned feature (one
 * 16-byte entry, the same for every feature). */
typedef struct {
    double wy;   /* w * y */
    int32_t w;   /* bootstrap count */
    int32_t pad;
} scan_ent;

/* Workspace layout (each part rounded up to 8 bytes). */
typedef struct {
    int64_t cap;       /* rows the workspace holds; each feature's arrays are cap apart */
    double *xc;        /* d x n, column-major copy of X */
    int32_t *ord;      /* d x n, rows sorted by each feature (once per fit) */
    int32_t *idx;      /* d x n, per tree: distinct rows in each feature's order, partitioned */
    int32_t *idx2;     /* d x n: the same, the other buffer (nodes at odd depths read it) */
    int32_t *w;        /* n, bootstrap counts */
    uint8_t *goleft;   /* n */
    int32_t *tmp;      /* n + 1: the partition's right rows */
    int32_t *stack;    /* 4 * n: start, end, depth, parent (negative: -(parent+1) = left) */
    lc_sort_item *s1;  /* n */
    lc_sort_item *s2;  /* n */
    double *recip;     /* n + 1: recip[k] = 1.0 / k (k >= 1) */
    double *wy;        /* n: w[i] * y[i] */
    int32_t *feats;    /* d */
    uint8_t *tried;    /* d */
    int32_t *flist;    /* d: the features a node scans */
    int64_t *fbest;    /* 2 d (+ 8): their best proxy (bits) and position */
    int32_t *xr;       /* d x n: dense rank of each row's value per feature (equal values,
                          equal ranks; once per fit) */
    scan_ent *ent;     /* n: per tree, {w*y, w} of each row */
} fit_ws;

#define ALIGN8(x) (((x) + 7u) & ~(size_t)7u)

static size_t fit_ws_layout(int64_t n, int d, void *work, fit_ws *ws) {
    size_t off = 0;
    char *base = (char *)work;
    size_t nn = (size_t)n, dd = (size_t)d;
    if (ws) ws->cap = n;
#define TAKE(field, type, count)                                   \
    do {                                                           \
        if (ws) ws->field = (type *)(base + off);                  \
        off += ALIGN8(sizeof(type) * (size_t)(count));             \
    } while (0)
    TAKE(xc, double, dd * nn);
    TAKE(ord, int32_t, dd * nn);
    TAKE(idx, int32_t, dd * nn);
    TAKE(w, int32_t, nn);
    TAKE(idx2, int32_t, dd * nn);
    TAKE(goleft, uint8_t, nn);
    TAKE(tmp, int32_t, nn + 1);
    TAKE(stack, int32_t, 4 * nn + 4);
    TAKE(s1, lc_sort_item, nn);
    TAKE(s2, lc_sort_item, nn);
    TAKE(recip, double, nn + 1);
    TAKE(wy, double, nn);
    TAKE(feats, int32_t, dd);
    TAKE(tried, uint8_t, dd);
    TAKE(flist, int32_t, dd);
    TAKE(fbest, int64_t, 2 * dd + 8);
    TAKE(xr, int32_t, dd * nn);
    TAKE(ent, scan_ent, nn);
#undef TAKE
    return off;
}

size_t lc_forest_fit_workspace_bytes(int64_t n, int d) { return fit_ws_layout(n, d, NULL, NULL); }

/* Stable partition of src[start..end) by goleft into dst[start..end): the rows going left
 * to [start, mid) and the others to [mid, end), each in order.  Branch-free: every row is
 * written at the left cursor and into tmp at the right one, and tmp then moves to
 * dst + mid (a right row's write at the left cursor is overwritten by a later left row or,
 * at mid, by that copy). */
static void partition_rows(const int32_t *src, int32_t *dst, int32_t start, int32_t mid,
                           int32_t end, const uint8_t *goleft, int32_t *tmp) {
    int32_t *pl = dst + start, *pr = tmp;
    for (const int32_t *sp = src + start, *se = src + end; sp < se; sp++) {
        const int32_t i = *sp;
        const size_t g = goleft[i];
        *pl = i;
        *pr = i;
        pl += g;
        pr += 1 - g;
    }
    memcpy(dst + mid, tmp, sizeof(int32_t) * (size_t)(end - mid));
}

/* The best split of one feature of a node: left = ix[start..q] for q in
 * [start + msl - 1, end - msl - 1]; out[0] = the bit pattern of the largest proxy (proxies are
 * >= 0, so their bit patterns order like them as int64; a position between equal values is
 * -1, below every proxy), out[1] = the first position with it (-1: none). */
static inline void scan1(const int32_t *ix, const int32_t *xr, const scan_ent *e,
                         int32_t start, int32_t end,
                         int32_t msl, double S, int32_t Wi, const double *recip, int64_t *out) {
    int32_t wl = 0;
    double sl = 0.0;
    int32_t q = start;
    for (; q < start + msl - 1; q++) {
        wl += e[ix[q]].w;
        sl += e[ix[q]].wy;
    }
    const int64_t q_last = end - msl - 1;
    int64_t bpb = -1, bq = -1;
    int64_t cw = e[ix[q]].w, cxr = xr[ix[q]], wl64 = wl, wr64 = Wi - wl;
    double cwy = e[ix[q]].wy;
    for (int64_t qq = q; qq <= q_last; qq++) {
        const int32_t inx = ix[qq + 1];
        const scan_ent *nx = e + inx;
        const int64_t nxr = xr[inx];
        wl64 += cw;
        wr64 -= cw;
        sl += cwy;
        const double sr = S - sl;
        /* products with exact-int reciprocals: no division in the scan */
        const double proxy = sl * sl * recip[wl64] + sr * sr * recip[wr64];
        int64_t pb;
        memcpy(&pb, &proxy, sizeof pb);
        pb = cxr < nxr ? pb : -1;
        bq = pb > bpb ? qq : bq;
        bpb = pb > bpb ? pb : bpb;
        cw = nx->w;
        cwy = nx->wy;
        cxr = nxr;
    }
    out[0] = bpb;
    out[1] = bq;
}

#ifdef LC_FOREST_AVX2
/* scan1 on four features at once, one per lane: each lane takes scan1's IEEE operations in
 * scan1's order (no FMA), so out[2 j], out[2 j + 1] are scan1's results for feature j.  The
 * rows are loaded one by one (gathers are slow on some CPUs). */
__attribute__((target("avx2"))) static void scan4_avx2(const int32_t *const *ixs,
                                                        const int32_t *const *xrs,
                                                        const scan_ent *e,
                                                        int32_t start, int32_t end,
                                                        int32_t msl, double S, int32_t Wi,
                                                        const double *recip, int64_t *out) {
    const int32_t *i0 = ixs[0], *i1 = ixs[1], *i2 = ixs[2], *i3 = ixs[3];
    const int32_t *x0 = xrs[0], *x1 = xrs[1], *x2 = xrs[2], *x3 = xrs[3];
    int64_t wl0 = 0, wl1 = 0, wl2 = 0, wl3 = 0;  /* left weights */
    double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
    int32_t q = start;
    for (; q < start + msl - 1; q++) {
        wl0 += e[i0[q]].w; s0 += e[i0[q]].wy;
        wl1 += e[i1[q]].w; s1 += e[i1[q]].wy;
        wl2 += e[i2[q]].w; s2 += e[i2[q]].wy;
        wl3 += e[i3[q]].w; s3 += e[i3[q]].wy;
    }
    const int64_t q_last = end - msl - 1;
    const double *rr = recip + Wi; /* rr[-wl] = recip[Wi - wl] */
    const scan_ent *c0 = e + i0[q], *c1 = e + i1[q], *c2 = e + i2[q], *c3 = e + i3[q];
    /* wl_j already holds the weight of the next row to add (the left side's after it) */
    wl0 += c0->w; wl1 += c1->w; wl2 += c2->w; wl3 += c3->w;
    __m256d sl = _mm256_setr_pd(s0, s1, s2, s3);
    __m256d cwy = _mm256_setr_pd(c0->wy, c1->wy, c2->wy, c3->wy);
    __m128i cxr = _mm_setr_epi32(x0[i0[q]], x1[i1[q]], x2[i2[q]], x3[i3[q]]);
    const __m256d Sv = _mm256_set1_pd(S);
    const __m256i none = _mm256_set1_epi64x(-1);
    /* two running maxima (even and odd steps from q) halve the compare-blend chain */
    __m256i bpb0 = none, bq0 = none, bpb1 = none, bq1 = none;
#define LC_SCAN4_STEP(qq, bpb, bq)                                                            \
    do {                                                                                  \
        const int32_t j0 = i0[(qq) + 1], j1 = i1[(qq) + 1];                               \
        const int32_t j2 = i2[(qq) + 1], j3 = i3[(qq) + 1];                               \
        const scan_ent *n0 = e + j0, *n1 = e + j1, *n2 = e + j2, *n3 = e + j3;            \
        sl = _mm256_add_pd(sl, cwy);                                                      \
        const __m256d sr = _mm256_sub_pd(Sv, sl);                                         \
        const __m256d rl = _mm256_setr_pd(recip[wl0], recip[wl1], recip[wl2], recip[wl3]); \
        const __m256d rv = _mm256_setr_pd(rr[-wl0], rr[-wl1], rr[-wl2], rr[-wl3]);         \
        const __m256d proxy = _mm256_add_pd(_mm256_mul_pd(_mm256_mul_pd(sl, sl), rl),     \
                                            _mm256_mul_pd(_mm256_mul_pd(sr, sr), rv));    \
        const __m128i nxr = _mm_setr_epi32(x0[j0], x1[j1], x2[j2], x3[j3]);               \
        const __m256i valid = _mm256_cvtepi32_epi64(_mm_cmplt_epi32(cxr, nxr));           \
        const __m256i pb = _mm256_blendv_epi8(none, _mm256_castpd_si256(proxy), valid);   \
        const __m256i gt = _mm256_cmpgt_epi64(pb, bpb);                                   \
        bpb = _mm256_blendv_epi8(bpb, pb, gt);                                            \
        bq = _mm256_blendv_epi8(bq, _mm256_set1_epi64x(qq), gt);                          \
        cwy = _mm256_setr_pd(n0->wy, n1->wy, n2->wy, n3->wy);                             \
        cxr = nxr;                                                                        \
        wl0 += n0->w; wl1 += n1->w; wl2 += n2->w; wl3 += n3->w;                           \
    } while (0)
    int64_t qq = q;
    for (; qq + 1 <= q_last; qq += 2) {
        LC_SCAN4_STEP(qq, bpb0, bq0);
        LC_SCAN4_STEP(qq + 1, bpb1, bq1);
    }
    if (qq <= q_last) LC_SCAN4_STEP(qq, bpb0, bq0);
#undef LC_SCAN4_STEP
    /* the larger maximum; equal maxima: the earlier position */
    const __m256i gt = _mm256_cmpgt_epi64(bpb1, bpb0);
    const __m256i eq = _mm256_cmpeq_epi64(bpb1, bpb0);
    const __m256i earlier = _mm256_cmpgt_epi64(bq0, bq1);
    const __m256i take1 = _mm256_or_si256(gt, _mm256_and_si256(eq, earlier));
    const __m256i bpb = _mm256_blendv_epi8(bpb0, bpb1, take1);
    const __m256i bq = _mm256_blendv_epi8(bq0, bq1, take1);
    int64_t b[4], p[4];
    _mm256_storeu_si256((__m256i *)b, bpb);
    _mm256_storeu_si256((__m256i *)p, bq);
    for (int j = 0; j < 4; j++) {
        out[2 * j] = b[j];
        out[2 * j + 1] = p[j];
    }
}

static int lc_forest_has_avx2(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") ? 1 : 0;
}
#endif

/* Fit tree t into slot `slot` (node slots from offset[slot] on). */
static void fit_tree(const fit_ws *ws, const double *y, int64_t n, int d,
                     const lc_forest_params *p, uint64_t seed64, int32_t t, int32_t slot,
                     lc_forest *f) {
    lc_rng r;
    lc_rng_seed64(&r, seed64 + (uint64_t)t);
    const size_t cs = (size_t)ws->cap;
#ifdef LC_FOREST_AVX2
    const int avx2 = lc_forest_has_avx2();
#endif
    int32_t *w = ws->w;
    if (p->bootstrap) {
        memset(w, 0, sizeof(int32_t) * (size_t)n);
        for (int64_t i = 0; i < n; i++) w[lc_rng_bounded(&r, (uint64_t)n)]++;
    } else {
        for (int64_t i = 0; i < n; i++) w[i] = 1;
    }
    double *wy = ws->wy;
    for (int64_t i = 0; i < n; i++) wy[i] = (double)w[i] * y[i];
    /* Distinct rows in each feature's order (branch-free), and the scan entries. */
    int32_t m = 0;
    for (int k = 0; k < d; k++) {
        const int32_t *o = ws->ord + (size_t)k * cs;
        int32_t *ix = ws->idx + (size_t)k * cs;
        int32_t c = 0;
        for (int64_t i = 0; i < n; i++) {
            const int32_t r = o[i];
            ix[c] = r;
            c += w[r] > 0;
        }
        m = c;
    }
    for (int64_t i = 0; i < n; i++) {
        ws->ent[i].wy = wy[i];
        ws->ent[i].w = w[i];
        ws->ent[i].pad = 0;
    }
    const int64_t base = f->offset[slot];
    int32_t *feature = f->feature + base, *left = f->left + base, *right = f->right + base;
    double *threshold = f->threshold + base, *value = f->value + base;
    double *leaf_var = f->leaf_var + base;
    const int mf = p->max_features < 1 ? 1 : (p->max_features > d ? d : p->max_features);
    const int32_t msl = p->min_samples_leaf < 1 ? 1 : p->min_samples_leaf;
    const int32_t mss = p->min_samples_split;

    int32_t *st = ws->stack;
    int32_t sp = 0, next = 0, max_depth_seen = 0;
    st[0] = 0; st[1] = m; st[2] = 0; st[3] = -1;  /* root: parent -1 means none */
    sp = 1;
    while (sp > 0) {
        sp--;
        const int32_t start = st[4 * sp], end = st[4 * sp + 1], depth = st[4 * sp + 2];
        const int32_t par = st[4 * sp + 3];
        const int32_t node = next++;
        if (par >= 0) right[par] = node;                 /* right child */
        else if (par < -1) left[-(par + 2)] = node;      /* left child, encoded -(parent+2) */
        const int32_t nd = end - start;
        /* Node statistics over the rows (order of feature 0). */
        /* this node's rows in each feature's order: idx at even depths, idx2 at odd ones */
        int32_t *const IX = (depth & 1) ? ws->idx2 : ws->idx;
        int32_t *const OX = (depth & 1) ? ws->idx : ws->idx2;
        const int32_t *ix0 = IX;
        int32_t Wi = 0;
        double S = 0.0;
        double ymin = y[ix0[start]], ymax = ymin;
        for (int32_t q = start; q < end; q++) {
            const int32_t i = ix0[q];
            const double yi = y[i];
            Wi += w[i];
            S += wy[i];
            if (yi < ymin) ymin = yi;
            if (yi > ymax) ymax = yi;
        }
        const double W = (double)Wi;
        const double mean = S / W;
        value[node] = mean;
        leaf_var[node] = 0.0;
        feature[node] = -1;
        left[node] = -1;
        right[node] = -1;
        threshold[node] = 0.0;
        /* 64-bit: 2 * msl overflows int32 for msl >= 2^30 */
        int is_leaf = (p->max_depth > 0 && depth >= p->max_depth) || nd < mss ||
                      (int64_t)nd < 2 * (int64_t)msl || ymin == ymax;
        int best_f = -1;
        int32_t best_pos = -1;
        double best_proxy = 0.0;
        if (!is_leaf) {
            if (mf < d) {
                for (int k = 0; k < d; k++) { ws->feats[k] = k; ws->tried[k] = 0; }
                for (int k = 0; k < mf; k++) {
                    int j = k + (int)lc_rng_bounded(&r, (uint64_t)(d - k));
                    int32_t tmpf = ws->feats[k];
                    ws->feats[k] = ws->feats[j];
                    ws->feats[j] = tmpf;
                    ws->tried[ws->feats[k]] = 1;
                }
            }
            best_proxy = -1.0;  /* every proxy is >= 0: the first valid position wins */
            const double *recip = ws->recip;
            if (nd == 2) {
                /* Two rows (so min_samples_leaf == 1): each feature either cannot split them
                 * or puts one of two rows first; both proxies once, then the same choice as
                 * the scan below.  Both children are leaves (one row < min_samples_split):
                 * written at once, nothing partitioned. */
                const int32_t ra = ix0[start], rb = ix0[start + 1];
                double pa, pb;
                {
                    double sl = 0.0;
                    sl += wy[ra];
                    const double sr = S - sl;
                    pa = sl * sl * recip[w[ra]] + sr * sr * recip[Wi - w[ra]];
                }
                {
                    double sl = 0.0;
                    sl += wy[rb];
                    const double sr = S - sl;
                    pb = sl * sl * recip[w[rb]] + sr * sr * recip[Wi - w[rb]];
                }
                for (int k = 0; k < d; k++) {
                    if (mf < d && !ws->tried[k]) continue;
                    const int32_t *ix = IX + (size_t)k * cs;
                    const int32_t *xr = ws->xr + (size_t)k * cs;
                    const int32_t r0 = ix[start];
                    if (!(xr[r0] < xr[ix[start + 1]])) continue;
                    const double proxy = r0 == ra ? pa : pb;
                    if (proxy > best_proxy) {
                        best_proxy = proxy;
                        best_f = k;
                        best_pos = start;
                    }
                }
                if (best_f >= 0) {
                    const int32_t *ixb = IX + (size_t)best_f * cs;
                    const double *xb = ws->xc + (size_t)best_f * cs;
                    const int32_t r0 = ixb[start], r1 = ixb[start + 1];
                    const double a = xb[r0], b = xb[r1];
                    double thr = a / 2.0 + b / 2.0;
                    if (thr == b) thr = a;
                    feature[node] = best_f;
                    threshold[node] = thr;
                    for (int c = 0; c < 2; c++) {
                        const int32_t i = c == 0 ? r0 : r1;
                        const int32_t leaf = next++;
                        double Sc = 0.0;
                        Sc += wy[i];
                        const double Wc = (double)w[i];
                        const double mc = Sc / Wc;
                        const double dv = y[i] - mc;
                        double V = 0.0;
                        V += (double)w[i] * dv * dv;
                        value[leaf] = mc;
                        leaf_var[leaf] = V / Wc;
                        feature[leaf] = -1;
                        left[leaf] = -1;
                        right[leaf] = -1;
                        threshold[leaf] = 0.0;
                        if (c == 0) left[node] = leaf;
                        else right[node] = leaf;
                    }
                    if (depth + 1 > max_depth_seen) max_depth_seen = depth + 1;
                    continue;
                }
            }
            if (nd > 2) {
                /* the features to scan, ascending (a feature constant here cannot split) */
                int nf = 0;
                for (int k = 0; k < d; k++) {
                    if (mf < d && !ws->tried[k]) continue;
                    const int32_t *ix = IX + (size_t)k * cs;
                    const int32_t *xr = ws->xr + (size_t)k * cs;
                    if (xr[ix[start]] < xr[ix[end - 1]]) ws->flist[nf++] = k;
                }
                int f = 0;
#ifdef LC_FOREST_AVX2
                if (avx2 && nd >= 8) {
                    for (; f + 4 <= nf; f += 4) {
                        const int32_t *ixs[4];
                        const int32_t *xrs[4];
                        for (int j = 0; j < 4; j++) {
                            ixs[j] = IX + (size_t)ws->flist[f + j] * cs;
                            xrs[j] = ws->xr + (size_t)ws->flist[f + j] * cs;
                        }
                        scan4_avx2(ixs, xrs, ws->ent, start, end, msl, S, Wi, recip,
                                   ws->fbest + 2 * f);
                    }
                }
#endif
                for (; f < nf; f++) {
                    const int k = ws->flist[f];
                    scan1(IX + (size_t)k * cs, ws->xr + (size_t)k * cs, ws->ent, start, end, msl,
                          S, Wi, recip, ws->fbest + 2 * f);
                }
                for (f = 0; f < nf; f++) {  /* in feature order: the lowest index wins ties */
                    const int64_t bpb = ws->fbest[2 * f], bq = ws->fbest[2 * f + 1];
                    double bp;
                    memcpy(&bp, &bpb, sizeof bp);
                    if (bq >= 0 && bp > best_proxy) {  /* strictly better than the earlier */
                        best_proxy = bp;
                        best_f = ws->flist[f];
                        best_pos = (int32_t)bq;
                    }
                }
            }
            if (best_f < 0) is_leaf = 1;
        }
        if (is_leaf) {
            double V = 0.0;
            for (int32_t q = start; q < end; q++) {
                const int32_t i = ix0[q];
                const double dv = y[i] - mean;
                V += (double)w[i] * dv * dv;
            }
            leaf_var[node] = V / W;
            if (depth > max_depth_seen) max_depth_seen = depth;
            continue;
        }
        /* Split: rows ix[start..best_pos] of the best feature go left. */
        const int32_t *ixb = IX + (size_t)best_f * cs;
        const double *xb = ws->xc + (size_t)best_f * cs;
        const double a = xb[ixb[best_pos]], b = xb[ixb[best_pos + 1]];
        double thr = a / 2.0 + b / 2.0;
        if (thr == b) thr = a;
        feature[node] = best_f;
        threshold[node] = thr;
        const int32_t mid = best_pos + 1;
        for (int32_t q = start; q < mid; q++) ws->goleft[ixb[q]] = 1;
        for (int32_t q = mid; q < end; q++) ws->goleft[ixb[q]] = 0;
        for (int k = 0; k < d; k++) {  /* the children's orders, in the other buffer */
            const int32_t *src = IX + (size_t)k * cs;
            int32_t *dst = OX + (size_t)k * cs;
            if (k == best_f)
                memcpy(dst + start, src + start, sizeof(int32_t) * (size_t)nd);
            else
                partition_rows(src, dst, start, mid, end, ws->goleft, ws->tmp);
        }
        /* Push right, then left (popped first: pre-order, left child = node + 1). */
        st[4 * sp] = mid; st[4 * sp + 1] = end; st[4 * sp + 2] = depth + 1; st[4 * sp + 3] = node;
        sp++;
        st[4 * sp] = start; st[4 * sp + 1] = mid; st[4 * sp + 2] = depth + 1;
        st[4 * sp + 3] = -(node + 2);
        sp++;
    }
    f->n_nodes[slot] = next;
    f->depth[slot] = max_depth_seen;
}

/* Sort the rows of feature k (ord: stable by value; xr: dense ranks). */
static void presort_feature(const fit_ws *ws, int64_t n, int k) {
    const double *xk = ws->xc + (size_t)k * (size_t)ws->cap;
    for (int64_t i = 0; i < n; i++) { ws->s1[i].key = xk[i]; ws->s1[i].idx = (int32_t)i; }
    lc_sort_items(ws->s1, n, ws->s2);
    int32_t *o = ws->ord + (size_t)k * (size_t)ws->cap;
    int32_t *xr = ws->xr + (size_t)k * (size_t)ws->cap;
    int32_t r = 0;
    for (int64_t i = 0; i < n; i++) {
        o[i] = ws->s1[i].idx;
        r += i > 0 && ws->s1[i].key > ws->s1[i - 1].key;
        xr[ws->s1[i].idx] = r;
    }
}

void lc_forest_presort_cap(const double *X, int64_t n, int d, int64_t cap, void *work) {
    fit_ws ws;
    fit_ws_layout(cap, d, work, &ws);
    ws.recip[0] = 0.0;
    for (int64_t k = 1; k <= cap; k++) ws.recip[k] = 1.0 / (double)k;
    for (int k = 0; k < d; k++) {
        double *xk = ws.xc + (size_t)k * (size_t)cap;
        for (int64_t i = 0; i < n; i++) xk[i] = X[(size_t)i * (size_t)d + (size_t)k];
        presort_feature(&ws, n, k);
    }
}

void lc_forest_presort_append(const double *X, int64_t n_old, int64_t n, int d, int64_t cap,
                              void *work) {
    fit_ws ws;
    fit_ws_layout(cap, d, work, &ws);
    for (int64_t i = n_old; i < n; i++) {
        for (int k = 0; k < d; k++) {
            double *xk = ws.xc + (size_t)k * (size_t)cap;
            int32_t *o = ws.ord + (size_t)k * (size_t)cap;
            int32_t *xr = ws.xr + (size_t)k * (size_t)cap;
            const double v = X[(size_t)(i - n_old) * (size_t)d + (size_t)k];
            xk[i] = v;
            /* p = #{rows <= v}: the new row (the largest index) goes after its equals, where
             * the stable sort puts it */
            int64_t lo = 0, hi = i;
            while (lo < hi) {
                const int64_t mid = (lo + hi) >> 1;
                if (xk[o[mid]] <= v) lo = mid + 1;
                else hi = mid;
            }
            const int64_t p = lo;
            int32_t r;
            if (p > 0 && xk[o[p - 1]] == v) {
                r = xr[o[p - 1]];
            } else {  /* a new distinct value: the ranks above it move up by one */
                r = p > 0 ? xr[o[p - 1]] + 1 : 0;
                if (p < i)
                    for (int64_t j = 0; j < i; j++) xr[j] += xr[j] >= r;
            }
            memmove(o + p + 1, o + p, sizeof(int32_t) * (size_t)(i - p));
            o[p] = (int32_t)i;
            xr[i] = r;
        }
    }
}

void lc_forest_presort_copy(const void *src, void *dst, int64_t n, int d, int64_t cap) {
    fit_ws a, b;
    fit_ws_layout(cap, d, (void *)src, &a);
    fit_ws_layout(cap, d, dst, &b);
    memcpy(b.recip, a.recip, sizeof(double) * (size_t)(cap + 1));
    for (int k = 0; k < d; k++) {
        const size_t o = (size_t)k * (size_t)cap;
        memcpy(b.xc + o, a.xc + o, sizeof(double) * (size_t)n);
        memcpy(b.ord + o, a.ord + o, sizeof(int32_t) * (size_t)n);
        memcpy(b.xr + o, a.xr + o, sizeof(int32_t) * (size_t)n);
    }
}

void lc_forest_presort(const double *X, int64_t n, int d, void *work) {
    lc_forest_presort_cap(X, n, d, n, work);
}

void lc_forest_fit_tree_cap(const double *y, int64_t n, int d, int64_t cap,
                            const lc_forest_params *p, uint64_t seed64, int32_t t, int32_t slot,
                            lc_forest *f, void *work) {
    fit_ws ws;
    fit_ws_layout(cap, d, work, &ws);
    fit_tree(&ws, y, n, d, p, seed64, t, slot, f);
}

void lc_forest_fit_tree(const double *y, int64_t n, int d, const lc_forest_params *p,
                        uint64_t seed64, int32_t t, int32_t slot, lc_forest *f, void *work) {
    lc_forest_fit_tree_cap(y, n, d, n, p, seed64, t, slot, f, work);
}

void lc_forest_fit(const double *X, const double *y, int64_t n, int d,
                   const lc_forest_params *p, uint64_t seed64, int32_t t_begin, int32_t t_end,
                   lc_forest *f, void *work) {
    lc_forest_presort(X, n, d, work);
    fit_ws ws;
    fit_ws_layout(n, d, work, &ws);
    for (int32_t t = t_begin; t < t_end; t++) fit_tree(&ws, y, n, d, p, seed64, t, t, f);
}

int32_t lc_forest_leaf(const lc_forest *f, int32_t t, const double *x) {
    const int64_t base = f->offset[t];
    const int32_t *feature = f->feature + base, *left = f->left + base, *right = f->right + base;
    const double *threshold = f->threshold + base;
    int32_t node = 0;
    while (feature[node] >= 0) node = x[feature[node]] <= threshold[node] ? left[node] : right[node];
    return node;
}

void lc_forest_predict(const lc_forest *f, int32_t n_trees, const double *X, int64_t m, int d,
                       int variance_total, double *mean, double *var) {
    for (int64_t i = 0; i < m; i++) {
        const double *x = X + (size_t)i * (size_t)d;
        double mu = 0.0, m2 = 0.0, lv = 0.0;
        for (int32_t t = 0; t < n_trees; t++) {
            const int32_t leaf = lc_forest_leaf(f, t, x);
            const int64_t s = f->offset[t] + leaf;
            lc_forest_welford(&mu, &m2, f->value[s], 1.0 / (double)(t + 1));
            lv += f->leaf_var[s];
        }
        mean[i] = mu;
        if (var) {
            double v = m2 / (double)n_trees;
            if (variance_total) v = v + lv / (double)n_trees;
            var[i] = v;
        }
    }
}

void lc_forest_predict_trees(const lc_forest *f, int32_t n_trees, const double *X, int64_t m,
                             int d, double *out) {
    for (int64_t i = 0; i < m; i++) {
        const double *x = X + (size_t)i * (size_t)d;
        for (int32_t t = 0; t < n_trees; t++)
            out[i * n_trees + t] = f->value[f->offset[t] + lc_forest_leaf(f, t, x)];
    }
}

void lc_forest_apply(const lc_forest *f, int32_t n_trees, const double *X, int64_t m, int d,
                     int32_t *out) {
    for (int64_t i = 0; i < m; i++) {
        const double *x = X + (size_t)i * (size_t)d;
        for (int32_t t = 0; t < n_trees; t++) out[i * n_trees + t] = lc_forest_leaf(f, t, x);
    }
}


int64_t lc_forest_check(const lc_forest *f, int32_t n_trees, int64_t n_total, int d,
                        int *what) {
    *what = 0;
    if (n_trees < 1 || n_total < n_trees) { *what = 5; return 0; }
    for (int32_t t = 0; t < n_trees; t++) {
        const int64_t lo = f->offset[t];
        const int64_t hi = t + 1 < n_trees ? f->offset[t + 1] : n_total;
        if ((t == 0 && lo != 0) || lo < 0 || hi <= lo || hi > n_total ||
            hi - lo > INT32_MAX) {
            *what = 5;
            return t;
        }
        const int64_t nn = hi - lo;
        for (int64_t i = 0; i < nn; i++) {
            const int64_t s = lo + i;
            const int32_t ft = f->feature[s];
            if (ft == -1) continue;
            if (ft < 0 || ft >= d) { *what = 1; return s; }
            if (f->left[s] <= i || f->left[s] >= nn) { *what = 2; return s; }
            if (f->right[s] <= i || f->right[s] >= nn) { *what = 3; return s; }
            if (f->threshold[s] != f->threshold[s]) { *what = 4; return s; }
        }
    }
    return -1;
}
