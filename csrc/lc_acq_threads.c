/* lc_acq_threads.c: one rf-ei call on n_threads POSIX threads (bit-identical to one). */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

#include "lc_acq_internal.h"

#ifdef LC_HAVE_THREADS
/* One multi-threaded call (n_threads > 1).  Rounds of R trees: the threads take the round's
 * trees one at a time (a shared counter) and fit and score each into its own leaf array;
 * after a barrier each thread runs the Welford passes of the round's trees, in tree order,
 * over its own range of candidates (whole words).  Every candidate sees the same operations
 * in the same order as on one thread: the same bits.  Threads wait in a mutex/condition
 * barrier (they sleep, they do not spin: a busy machine costs wake-ups, not stolen cores). */
typedef struct {
    lc_rfei_ctx *c;
    const double *y_seen;
    int64_t n_seen;
    uint64_t forest_seed;
    const uint64_t *root;
    const int32_t *root_list;
    int64_t nw;
    int nthr;
    int go;
    int bar_waiting;  /* the barrier: threads arrived in this generation */
    int bar_gen;
    pthread_mutex_t mu;
    pthread_cond_t cv;
} mt_job;

/* A barrier of J->nthr threads on the job's mutex and condition (pthread_barrier_t is
 * optional in POSIX: macOS lacks it).  Waiting threads sleep. */
static void mt_barrier(mt_job *J) {
    pthread_mutex_lock(&J->mu);
    const int gen = J->bar_gen;
    if (++J->bar_waiting == J->nthr) {
        J->bar_waiting = 0;
        J->bar_gen++;
        pthread_cond_broadcast(&J->cv);
    } else {
        while (gen == J->bar_gen) pthread_cond_wait(&J->cv, &J->mu);
    }
    pthread_mutex_unlock(&J->mu);
}

typedef struct {
    mt_job *job;
    int l;
} mt_arg;

static void mt_lane(mt_job *J, int l) {
    lc_rfei_ctx *c = J->c;
    const int32_t T = c->params.n_trees;
    const int R = c->round_size, nthr = J->nthr, vtotal = c->variance_total;
    const int64_t n_all = c->n_all, W = c->n_words, padded = W * 64;
    const int64_t stride = lc_forest_max_nodes(c->max_seen);
    lc_rfei_lane *L = &c->lanes[l];
    L->words = 0;
    if (l > 0)  /* lane 0's sorted state (lc_acq.c keeps it across calls) */
        lc_forest_presort_copy(c->lanes[0].fit_work, L->fit_work, J->n_seen, c->d, c->max_seen);
    const int64_t per = ((W + nthr - 1) / nthr) * 64;
    const int64_t j0 = per * l < n_all ? per * l : n_all;
    const int64_t j1 = j0 + per < n_all ? j0 + per : n_all;
    double *acc_lv = c->acc_lv;
    for (int32_t r0 = 0; r0 < T; r0 += R) {
        const int rn = T - r0 < R ? T - r0 : R;
        for (;;) {
            const int q = __atomic_fetch_add(&c->round_next[r0], 1, __ATOMIC_RELAXED);
            if (q >= rn) break;
            L->leaf_of = c->round_leaf + (size_t)q * (size_t)padded;
            lcq_lane_tree(c, L, J->y_seen, J->n_seen, J->forest_seed, r0 + q, J->root, J->root_list,
                      J->nw, n_all);
            const int32_t nn = L->tree.n_nodes[0];
            memcpy(c->round_val + (size_t)q * stride, L->tree.value, sizeof(double) * nn);
            if (vtotal)
                memcpy(c->round_lv + (size_t)q * stride, L->tree.leaf_var, sizeof(double) * nn);
            c->tree_nodes[r0 + q] = nn;
            c->tree_depth[r0 + q] = L->tree.depth[0];
        }
        mt_barrier(J);  /* the round's trees are all scored */
        for (int q = 0; q < rn; q++) {
            const int32_t *lf = c->round_leaf + (size_t)q * (size_t)padded;
            lcq_welford_range(c, c->round_val + (size_t)q * stride, lf, j0, j1,
                          1.0 / (double)(r0 + q + 1));
            if (vtotal) {
                const double *lv = c->round_lv + (size_t)q * stride;
                for (int64_t j = j0; j < j1; j++) acc_lv[j] += lv[lf[j]];
            }
        }
        if (r0 + R < T) mt_barrier(J);  /* before the next round's trees */
    }
}

static void *mt_main(void *p) {
    mt_arg *a = (mt_arg *)p;
    mt_job *J = a->job;
    pthread_mutex_lock(&J->mu);
    while (!J->go) pthread_cond_wait(&J->cv, &J->mu);
    pthread_mutex_unlock(&J->mu);
    mt_lane(J, a->l);
    return NULL;
}

/* The multi-threaded call of rfei_accumulate (n_threads > 1), after the per-call setup. */
void lcq_accumulate_threads(lc_rfei_ctx *c, const double *y_seen, int64_t n_seen,
                            uint64_t forest_seed) {
    const int64_t n_all = c->n_all, W = c->n_words;
    const int32_t T = c->params.n_trees;
    /* Here every candidate, active or not, is scored (slot 1 of the slots, unused by the
     * descent, holds them all): the leaf arrays then hold only this tree's leaves, without
     * clearing them per call, for the renumbering.  The active ones get what the
     * single-thread path gives them. */
    const int64_t padded = W * 64;
    uint64_t *all = c->lanes[0].slots + (size_t)W;
    int32_t *all_list = c->lanes[0].wlist + (size_t)W;
    for (int64_t w = 0; w < W; w++) {
        all[w] = ~(uint64_t)0;
        all_list[w] = (int32_t)w;
    }
    if (n_all & 63) all[W - 1] = ((uint64_t)1 << (n_all & 63)) - 1;
    mt_job job;
    job.c = c;
    job.y_seen = y_seen;
    job.n_seen = n_seen;
    job.forest_seed = forest_seed;
    job.root = all;
    job.root_list = all_list;
    job.nw = W;
    job.go = 0;
    job.bar_waiting = 0;
    job.bar_gen = 0;
    for (int32_t t = 0; t < T; t++) c->round_next[t] = 0;
    /* workers wait for `go`, so that the barrier counts only the threads that started */
    pthread_t tid[LC_MAX_THREADS];
    mt_arg args[LC_MAX_THREADS];
    pthread_mutex_init(&job.mu, NULL);
    pthread_cond_init(&job.cv, NULL);
    /* the per-row subtrees recurse once per tree level: a stack as large as glibc's default
     * everywhere (musl's default is 128 KiB) */
    pthread_attr_t attr;
    const int have_attr = pthread_attr_init(&attr) == 0;
    if (have_attr) pthread_attr_setstacksize(&attr, (size_t)8 << 20);
    int started = 0;
    for (int l = 1; l < c->n_threads; l++) {
        args[l].job = &job;
        args[l].l = l;
        if (pthread_create(&tid[l], have_attr ? &attr : NULL, mt_main, &args[l]) != 0) break;
        started++;
    }
    if (have_attr) pthread_attr_destroy(&attr);
    job.nthr = started + 1;  /* a thread that did not start is not waited for */
    pthread_mutex_lock(&job.mu);
    job.go = 1;
    pthread_cond_broadcast(&job.cv);
    pthread_mutex_unlock(&job.mu);
    mt_lane(&job, 0);
    for (int l = 1; l <= started; l++) pthread_join(tid[l], NULL);
    pthread_cond_destroy(&job.cv);
    pthread_mutex_destroy(&job.mu);
    for (int l = 0; l < c->n_threads; l++) c->last_words += c->lanes[l].words;
    for (int32_t t = 0; t < T; t++) {
        c->last_nodes += c->tree_nodes[t];
        c->last_depth_sum += c->tree_depth[t];
        if (c->tree_depth[t] > c->last_depth_max) c->last_depth_max = c->tree_depth[t];
    }
    c->final_leaf = c->round_leaf + (size_t)((T - 1) % c->round_size) * (size_t)padded;
    c->final_nodes = c->tree_nodes[T - 1];
}
#endif
