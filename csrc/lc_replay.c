/* lc_replay.c: the replay loop of lc_replay.h, and the built-in rules and choosers. */
#include "lc_replay.h"

#include <math.h>
#include <string.h>
#include <time.h>

#include "lc_acq.h"
#include "lc_bits.h"
#include "lc_rules.h"  /* lc_sorted_insert */

#if defined(__GNUC__)
#define LC_INLINE static inline __attribute__((always_inline))
#else
#define LC_INLINE static inline
#endif


/* ---- workspace layout ------------------------------------------------------------------ */
typedef struct {
    uint8_t *active;      /* n */
    uint64_t *cand;       /* n_words = ceil(n / 64): bit r = row r not yet started */
    int32_t *fenwick;     /* n_words + 1: Fenwick tree of the words' counts */
    int64_t *seen_rows;   /* max_evals: rows in the surrogate's data */
    double *y_seen;       /* max_evals */
    double *y_key;        /* max_evals: mode * y_seen */
    int64_t *w_trial;     /* n_workers: trial on the worker, -1 idle */
    double *w_time;       /* n_workers: time of its next epoch end */
    int32_t *w_epoch;     /* n_workers: the epoch that ends then */
} lc_ws;

static size_t align8(size_t b) { return (b + 7) & ~(size_t)7; }
static int64_t n_words(int64_t n) { return (n + 63) >> 6; }

size_t lc_replay_workspace_bytes(int64_t n, int64_t max_evals, int32_t n_workers) {
    size_t b = 0;
    b += align8((size_t)n);
    b += sizeof(uint64_t) * (size_t)n_words(n);
    b += align8(sizeof(int32_t) * (size_t)(n_words(n) + 1));
    b += align8(sizeof(int64_t) * (size_t)max_evals);
    b += 2 * align8(sizeof(double) * (size_t)max_evals);
    b += align8(sizeof(int64_t) * (size_t)n_workers);
    b += align8(sizeof(double) * (size_t)n_workers);
    b += align8(sizeof(int32_t) * (size_t)n_workers);
    return b;
}

static void ws_carve(lc_ws *w, void *mem, int64_t n, int64_t max_evals, int32_t n_workers) {
    char *p = (char *)mem;
    w->active = (uint8_t *)p; p += align8((size_t)n);
    w->cand = (uint64_t *)p; p += sizeof(uint64_t) * (size_t)n_words(n);
    w->fenwick = (int32_t *)p; p += align8(sizeof(int32_t) * (size_t)(n_words(n) + 1));
    w->seen_rows = (int64_t *)p; p += align8(sizeof(int64_t) * (size_t)max_evals);
    w->y_seen = (double *)p; p += align8(sizeof(double) * (size_t)max_evals);
    w->y_key = (double *)p; p += align8(sizeof(double) * (size_t)max_evals);
    w->w_trial = (int64_t *)p; p += align8(sizeof(int64_t) * (size_t)n_workers);
    w->w_time = (double *)p; p += align8(sizeof(double) * (size_t)n_workers);
    w->w_epoch = (int32_t *)p;
}

/* ---- the candidates: the k-th row not yet started, in row order ----------------------- */
/* One bit per row, 64 rows to a word, and a Fenwick tree over the words' counts: the k-th
 * candidate is a descent over ceil(n / 64) counts (a few KB, in L1 cache) and a select in one
 * word, with no data-dependent branch (k is random: a branch there is mispredicted every
 * other level, and a descent over one count per row missed the cache at every level; that
 * was most of a random-chooser replay's time). */
static void cand_init(uint64_t *bits, int32_t *f, int64_t n) {
    const int64_t nw = n_words(n);
    for (int64_t w = 0; w < nw; w++) bits[w] = ~0ull;
    if (n & 63) bits[nw - 1] = (1ull << (n & 63)) - 1;
    f[0] = 0;
    for (int64_t i = 1; i <= nw; i++) f[i] = lc_popcount64(bits[i - 1]);
    for (int64_t i = 1; i <= nw; i++) {
        const int64_t j = i + (i & -i);
        if (j <= nw) f[j] += f[i];
    }
}

static void cand_remove(uint64_t *bits, int32_t *f, int64_t nw, int64_t row) {
    bits[row >> 6] &= ~(1ull << (row & 63));
    for (int64_t i = (row >> 6) + 1; i <= nw; i += i & -i) f[i] -= 1;
}

/* The largest power of two <= nw (nw >= 1): cand_kth's first step. */
static int64_t fen_top(int64_t nw) {
    int64_t step = 1;
    while (step * 2 <= nw) step *= 2;
    return step;
}

/* 0-based row of the k-th (0-based) candidate, k < the number of candidates;
 * top = fen_top(nw). */
static int64_t cand_kth(const uint64_t *bits, const int32_t *f, int64_t nw, int64_t top,
                        int64_t k) {
    int64_t pos = 0;  /* words 0 .. pos-1 hold fewer than k + 1 candidates */
    for (int64_t step = top; step > 0; step >>= 1) {
        const int64_t nxt = pos + step;
        const int64_t v = f[nxt <= nw ? nxt : nw];
        const int64_t take = -(int64_t)((nxt <= nw) & (v <= k));  /* all ones or zero */
        pos += step & take;
        k -= v & take;
    }
    return (pos << 6) + lc_select64(bits[pos], (uint64_t)k);
}

/* timespec_get is C11 (glibc, musl, MSVC have it); used only for count_chooser_time. */
static double now_seconds(void) {
    struct timespec ts;
    timespec_get(&ts, TIME_UTC);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- the loop ---------------------------------------------------------------------------- */
/* The built-in rules' decision, inlined into the loop (and behind lc_builtin_rule_ops). */
LC_INLINE int32_t builtin_stop(const lc_builtin_rule *r, int32_t kind, int32_t t, double y,
                               double best) {
    /* kind = r->kind; y: the trial's value at epoch t; best: its best value so far (by mode) */
    switch (kind) {
    case LC_RULE_ETR1:
        return t == r->tau && (r->mode > 0 ? y < r->threshold : y > r->threshold);
    case LC_RULE_ETR2:
        if (r->best_c < 0 || t != r->tau_c) return 0;
        return r->mode > 0 ? y < r->p * r->y_tau : r->p * y > r->y_tau;
    case LC_RULE_MEDIAN: {
        const int64_t k = r->n_completed;
        if (t < r->warmup || k < r->min_completed || k == 0) return 0;
        const double *a = r->sorted_avg + (size_t)(t - 1) * (size_t)r->cap;
        const double med = (k & 1) ? a[k / 2] : (a[k / 2 - 1] + a[k / 2]) / 2.0;
        return r->mode > 0 ? best < med : best > med;
    }
    default:
        return 0;
    }
}
LC_INLINE int builtin_on_end(void *self, const lc_history *h, int64_t trial);

/* How a decision is taken in alone(): the built-in kinds (LC_RULE_*), a compiled rule
 * function called directly, or the rule's ops. */
enum { ASK_CFUNC = 100, ASK_OPS = 101 };

typedef struct {
    const lc_builtin_rule *br;  /* LC_RULE_*: the built-in rule */
    lc_rule_cfunc cfn;          /* ASK_CFUNC */
    const lc_rule *rule;        /* ASK_OPS */
    lc_history *h;
    int64_t i;                  /* the trial */
} lc_asker;

/* One trial alone on one worker (W = 1) from epoch *t to its end: nothing else can happen
 * before it ends.  `how` is a constant at every call (a built-in kind, ASK_CFUNC or ASK_OPS),
 * so each call is specialised; the same events and decisions as the general loop.  Returns
 * 1 when the rule stopped the trial, 0 when it ran to its end, or a negative error. */
LC_INLINE int32_t alone(const lc_asker *a, const int32_t how, const float *acc,
                        const float *tim, double *curve, int32_t nfin, int32_t T, double sg,
                        int32_t *pt, double *pnow, double *pbk, int64_t *pev) {
    int32_t t = *pt, stop = 0;
    double now = *pnow, bk = *pbk;
    int64_t ev = 0;
    for (;;) {
        const double y = (double)acc[t - 1];
        curve[t - 1] = y;
        if (sg * y > bk) bk = sg * y;
        ev++;
        if (how != LC_RULE_NONE && t < T) {
            if (how == ASK_CFUNC) {
                a->h->n_obs[a->i] = t;
                const int32_t v = a->cfn(curve, t, T, a->h->n_trials, a->h->curves,
                                         a->h->n_obs, a->h->state, a->h->incumbent);
                if (v < 0 || v > 1) { stop = LC_ERR_RULE; break; }
                stop = v;
            } else if (how == ASK_OPS) {
                a->h->n_obs[a->i] = t;
                a->h->best[a->i] = sg * bk;
                const int e = a->rule->ops->decide(a->rule->self, a->h, a->i, t, &stop);
                if (e < 0) { stop = e; break; }
            } else {
                stop = builtin_stop(a->br, how, t, y, sg * bk);
            }
        }
        if (stop || t == nfin) break;
        now += (double)tim[t];
        t++;
    }
    *pt = t;
    *pnow = now;
    *pbk = bk;
    *pev += ev;
    return stop;
}

typedef struct {
    const lc_table *tab;
    const lc_rule *rule;
    const lc_chooser *chooser;
    const lc_replay_opts *opt;
    lc_rng *rng;
    lc_history *h;
    lc_ws w;
    lc_replay_result *res;
    const lc_replay_trace *trace;
    int64_t n_active, n_surr;
    int64_t fen_top;           /* fen_top(n_words(n)) */
    int own_slot;              /* trial i's curve in row i (else its worker's row) */
    int random_only;           /* the chooser is the random one: no view, no surrogate */
    int (*on_end)(void *, const lc_history *, int64_t);  /* NULL: nothing to tell */
    int32_t settle_kind;       /* the rule's LC_RULE_* when the run may settle, else -1 */
    int64_t st_pos;            /* settling: candidates below st_pos settle under st_key */
    int64_t st_key;            /* the rule state they were checked under */
    int st_bad;                /* 1: the candidate at st_pos does not settle under st_key */
    int done;
    int err;
} lc_run;

static int reaches(int32_t mode, double v, double goal) {
    return mode > 0 ? v >= goal : v <= goal;
}

/* Report trial i, ended at `time` (its state already set).  Sets r->done at the goal. */
LC_INLINE void report(lc_run *r, int64_t i, double time, int stopped) {
    lc_history *h = r->h;
    const lc_replay_opts *opt = r->opt;
    lc_replay_result *res = r->res;
    const int32_t mode = opt->mode;
    const int64_t row = h->row[i];
    const int32_t epochs = h->n_obs[i];
    /* no finished epoch: accuracy 0 (mode +1); a loss table has nothing to report (NaN:
     * kept from the surrogate's data, never the goal) */
    const double reported = epochs > 0 ? LC_CURVE(h, i)[epochs - 1] : (mode > 0 ? 0.0 : NAN);
    res->n_evaluated++;
    if (mode > 0 ? reported > res->best_acc : reported < res->best_acc) res->best_acc = reported;
    if (epochs > 0) {
        double inc = h->incumbent;
        if (inc != inc || (mode > 0 ? reported > inc : reported < inc)) h->incumbent = reported;
    }
    if (stopped) {
        res->n_stopped++;
        if (reaches(mode, r->tab->objective[row], opt->goal)) res->n_harmful_stops++;
    }
    int add = 1;
    double y_surr = reported;
    if (r->random_only || (stopped && opt->terminated == LC_TERM_EXCLUDE) || reported != reported)
        add = 0;  /* the random chooser reads no surrogate data */
    if (stopped && opt->terminated == LC_TERM_ORACLE && isfinite(r->tab->objective[row]))
        y_surr = r->tab->objective[row];
    if (add) {
        r->w.seen_rows[r->n_surr] = row;
        r->w.y_seen[r->n_surr] = y_surr;
        r->w.y_key[r->n_surr] = mode > 0 ? y_surr : -y_surr;
        r->n_surr++;
    }
    if (h->state[i] == LC_TRIAL_COMPLETED) h->n_completed++;
    if (r->on_end) {
        int e = r->rule->ops == &lc_builtin_rule_ops ? builtin_on_end(r->rule->self, h, i)
                                                       : r->on_end(r->rule->self, h, i);
        if (e < 0) { r->err = e; r->done = 1; return; }
    }
    if (r->trace) {
        if (r->trace->end) r->trace->end[i] = time;
        if (r->trace->epochs) r->trace->epochs[i] = epochs;
        if (r->trace->stopped) r->trace->stopped[i] = (int8_t)stopped;
        if (r->trace->reported) r->trace->reported[i] = reported;
    }
    if (reaches(mode, reported, opt->goal)) {
        if (time <= opt->max_time) {
            res->success = 1;
            res->time_to_goal = time;
        }
        r->done = 1;
    }
}

/* ---- settling (lc_replay.h): the rest of a run decided before it is chosen ---------------- */
/* The rule's state as far as the candidates' outcomes are concerned: ETR-2's best completed
 * trial, median's number of completed trials (each one moves the medians), nothing else. */
static int64_t settle_key(const lc_run *r) {
    const lc_builtin_rule *br = (const lc_builtin_rule *)r->rule->self;
    if (r->settle_kind == LC_RULE_ETR2) return br->best_c;
    if (r->settle_kind == LC_RULE_MEDIAN) return br->n_completed;
    return 0;
}

/* Row x trained now under the rule's present state, as the loop would (alone()): its epochs,
 * whether the rule stopped it, its reported value and the sum of its epoch times.  Returns 1
 * when it settles: it does not reach the goal and its end leaves the rule's state as it is. */
static int settle_row(const lc_run *r, int64_t x, int32_t *epochs, int *stopped,
                      double *reported, double *seconds) {
    const lc_table *tab = r->tab;
    const int32_t T = tab->T, mode = r->opt->mode, kind = r->settle_kind;
    const int32_t nfin = tab->n_finished[x];
    const lc_builtin_rule *br = (const lc_builtin_rule *)r->rule->self;
    const float *acc = tab->acc + (size_t)x * (size_t)T;
    const float *tim = tab->time + (size_t)x * (size_t)T;
    const double sg = mode > 0 ? 1.0 : -1.0;
    *stopped = 0;
    *seconds = 0.0;
    if (nfin <= 0) {  /* ends at once: fails, reports 0 (accuracy) or nothing (loss) */
        *epochs = 0;
        *reported = mode > 0 ? 0.0 : NAN;
        return !reaches(mode, *reported, r->opt->goal);
    }
    int32_t t = 1, stop = 0;
    double bk = -INFINITY, sec = 0.0;
    for (;;) {
        const double y = (double)acc[t - 1];
        if (sg * y > bk) bk = sg * y;
        sec += (double)tim[t - 1];
        if (kind != LC_RULE_NONE && t < T) stop = builtin_stop(br, kind, t, y, sg * bk);
        if (stop || t == nfin) break;
        t++;
    }
    *epochs = t;
    *stopped = stop;
    *reported = (double)acc[t - 1];
    *seconds = sec;
    if (reaches(mode, *reported, r->opt->goal)) return 0;
    /* -0.0 and +0.0 tie in best_acc's comparison, so which one it keeps depends on the order
     * in which they are reported: a row that would report -0.0 does not settle */
    if (*reported == 0.0 && signbit(*reported)) return 0;
    if (stop || t < T) return 1;  /* stopped or failed: the built-in rules hear nothing */
    switch (kind) {               /* completed */
    case LC_RULE_NONE:
    case LC_RULE_ETR1:
        return 1;
    case LC_RULE_ETR2:            /* changes nothing unless it beats the best completed */
        return br->best_c >= 0 &&
               !(mode > 0 ? *reported > br->best_final : *reported < br->best_final);
    default:
        return 0;
    }
}

/* 1 when every candidate left settles (and max_evals lets them all start). */
static int settled(lc_run *r) {
    const int64_t n = r->tab->n;
    if (r->h->n_trials + r->n_active > r->opt->max_evals) return 0;
    const int64_t key = settle_key(r);
    if (key != r->st_key) {
        r->st_key = key;
        r->st_pos = 0;
        r->st_bad = 0;
    }
    for (; r->st_pos < n; r->st_pos++, r->st_bad = 0) {
        if (!r->w.active[r->st_pos]) continue;
        if (r->st_bad) return 0;  /* the witness: still a candidate, same state */
        int32_t ep;
        int stopped;
        double rep, sec;
        if (!settle_row(r, r->st_pos, &ep, &stopped, &rep, &sec)) {
            r->st_bad = 1;
            return 0;
        }
    }
    return 1;
}

/* Account for every candidate left, in row order, as if each had been chosen; ends the run
 * (censored: none reaches the goal).  s: the clock when the first would have started. */
static void settle_all(lc_run *r, double s) {
    lc_replay_result *res = r->res;
    const int32_t mode = r->opt->mode;
    const int64_t n = r->tab->n;
    for (int64_t x = 0; x < n; x++) {
        if (!r->w.active[x]) continue;
        int32_t ep;
        int stopped;
        double rep, sec;
        (void)settle_row(r, x, &ep, &stopped, &rep, &sec);
        r->w.active[x] = 0;
        res->n_started++;
        res->n_evaluated++;
        res->n_settled++;
        res->epochs_trained += ep;
        if (mode > 0 ? rep > res->best_acc : rep < res->best_acc) res->best_acc = rep;
        if (stopped) {
            res->n_stopped++;
            if (reaches(mode, r->tab->objective[x], r->opt->goal)) res->n_harmful_stops++;
        }
        s += sec;
    }
    r->h->n_trials += r->n_active;
    r->n_active = 0;
    res->clock = s;
    r->done = 1;
}

/* Start trials on worker `wk` at time s until one has an epoch to train (or none can). */
LC_INLINE void fill(lc_run *r, int32_t wk, double s) {
    lc_history *h = r->h;
    const lc_replay_opts *opt = r->opt;
    const lc_table *tab = r->tab;
    const int64_t n = tab->n;
    const int32_t T = tab->T;
    r->w.w_trial[wk] = -1;
    while (!r->done && h->n_trials < opt->max_evals && r->n_active > 0 && s < opt->max_time) {
        if (r->settle_kind >= 0 && settled(r)) {
            settle_all(r, s);
            return;
        }
        int64_t row = LC_CHOOSE_RANDOM;
        double t0 = opt->count_chooser_time ? now_seconds() : 0.0;
        if (!r->random_only && h->n_trials >= opt->n_init) {
            lc_choice_view v;
            v.n = n;
            v.active = r->w.active;
            v.n_active = r->n_active;
            v.seen_rows = r->w.seen_rows;
            v.y_seen = r->w.y_seen;
            v.y_key = r->w.y_key;
            v.n_seen = r->n_surr;
            v.best_key = opt->mode > 0 ? r->res->best_acc : -r->res->best_acc;
            v.n_started = h->n_trials;
            v.hist = h;
            int e = r->chooser->ops->choose(r->chooser->self, &v, r->rng, &row);
            if (e < 0) { r->err = e; r->done = 1; return; }
        }
        if (row == LC_CHOOSE_RANDOM) {
            int64_t k = (int64_t)lc_rng_bounded(r->rng, (uint64_t)r->n_active);
            row = cand_kth(r->w.cand, r->w.fenwick, n_words(n), r->fen_top, k);
        }
        if (opt->count_chooser_time) s += now_seconds() - t0;
        r->w.active[row] = 0;
        cand_remove(r->w.cand, r->w.fenwick, n_words(n), row);
        r->n_active--;

        const int64_t i = h->n_trials++;
        h->slot[i] = r->own_slot ? i : wk;
        if (opt->fill_unobserved) {
            double *c = LC_CURVE(h, i);
            for (int32_t t = 0; t < T; t++) c[t] = NAN;
        }
        h->n_obs[i] = 0;
        h->state[i] = LC_TRIAL_RUNNING;
        h->row[i] = row;
        h->best[i] = NAN;
        r->res->n_started++;
        if (r->trace) {
            if (r->trace->row) r->trace->row[i] = row;
            if (r->trace->worker) r->trace->worker[i] = wk;
            if (r->trace->start) r->trace->start[i] = s;
            if (r->trace->end) r->trace->end[i] = NAN;
            if (r->trace->epochs) r->trace->epochs[i] = 0;
            if (r->trace->stopped) r->trace->stopped[i] = 0;
            if (r->trace->reported) r->trace->reported[i] = NAN;
        }
        if (tab->n_finished[row] > 0) {
            r->w.w_trial[wk] = i;
            r->w.w_time[wk] = s + (double)tab->time[(size_t)row * (size_t)T];
            r->w.w_epoch[wk] = 1;
            return;
        }
        h->state[i] = LC_TRIAL_FAILED; /* no finished epoch: ends at once, reports 0 */
        report(r, i, s, 0);
    }
}

int lc_replay_run(const lc_table *tab, const lc_rule *rule, const lc_chooser *chooser,
                  const lc_replay_opts *opt, lc_rng *rng, lc_history *hist, void *work,
                  lc_replay_result *res, const lc_replay_trace *trace) {
    const int64_t n = tab->n;
    const int32_t T = tab->T, W = opt->n_workers, mode = opt->mode;
    lc_run r;
    r.tab = tab;
    r.rule = rule;
    r.chooser = chooser;
    r.opt = opt;
    r.rng = rng;
    r.h = hist;
    r.res = res;
    r.trace = trace;
    r.n_active = n;
    r.fen_top = fen_top(n_words(n));
    r.own_slot = opt->fill_unobserved || opt->n_workers > opt->max_evals;
    r.random_only = chooser->ops == &lc_random_chooser_ops;
    r.on_end = rule->ops->on_end;
    if (rule->ops == &lc_builtin_rule_ops &&
        ((const lc_builtin_rule *)rule->self)->kind == LC_RULE_ETR1)
        r.on_end = NULL;  /* ETR-1 keeps nothing between trials */
    /* settling needs a rule whose state it can read (none or a built-in one), one worker, no
     * trace (the order is in it), no time budget (start times depend on the order), an
     * unmeasured chooser, and the rf-ei chooser: its step scores every candidate, so that
     * the check (at most one pass over the candidates per rule state) costs next to nothing
     * beside it; beside the random chooser's draw it would cost as much as the replay */
    r.settle_kind = -1;
    if (opt->settle && W == 1 && !trace && !opt->count_chooser_time &&
        opt->max_time == INFINITY && chooser->ops == &lc_rfei_chooser_ops) {
        if (rule->ops == &lc_never_rule_ops)
            r.settle_kind = LC_RULE_NONE;
        else if (rule->ops == &lc_builtin_rule_ops || rule->ops == &lc_builtin_rule_called_ops)
            r.settle_kind = ((const lc_builtin_rule *)rule->self)->kind;
    }
    r.st_pos = 0;
    r.st_key = INT64_MIN;
    r.st_bad = 0;
    r.n_surr = 0;
    r.done = 0;
    r.err = 0;
    ws_carve(&r.w, work, n, opt->max_evals, W);
    memset(r.w.active, 1, (size_t)n);
    cand_init(r.w.cand, r.w.fenwick, n);

    hist->T = T;
    hist->mode = mode;
    hist->n_trials = 0;
    hist->n_completed = 0;
    hist->incumbent = NAN;

    res->success = 0;
    res->time_to_goal = INFINITY;
    res->n_evaluated = 0;
    res->n_started = 0;
    res->n_stopped = 0;
    res->epochs_trained = 0;
    res->n_harmful_stops = 0;
    res->best_acc = mode > 0 ? -INFINITY : INFINITY;
    res->clock = 0.0;
    res->n_settled = 0;

    int e = rule->ops->reset ? rule->ops->reset(rule->self, hist) : 0;
    if (e == 0 && chooser->ops->reset) e = chooser->ops->reset(chooser->self);
    if (e < 0) return e;

    for (int32_t wk = 0; wk < W; wk++) r.w.w_trial[wk] = -1;
    for (int32_t wk = 0; wk < W && !r.done; wk++) fill(&r, wk, 0.0);

    const lc_rule_decide decide = rule->ops->decide;
    const int builtin = rule->ops == &lc_builtin_rule_ops;
    const lc_rule_cfunc cfn = rule->ops == &lc_cfunc_rule_ops
                                  ? ((const lc_cfunc_rule *)rule->self)->fn : NULL;
    const lc_builtin_rule *brule = (const lc_builtin_rule *)rule->self;
    const double sg = mode > 0 ? 1.0 : -1.0;
    while (!r.done) {
        /* the next event: the smallest (time, start counter) among busy workers, and the
         * smallest among the others (the trial runs on without a new scan until then) */
        int32_t wk = -1;
        double lim_t = INFINITY;
        int64_t lim_i = INT64_MAX;
        if (W == 1) {
            if (r.w.w_trial[0] < 0) break;
            wk = 0;
        } else {
            for (int32_t k = 0; k < W; k++) {
                const int64_t i = r.w.w_trial[k];
                if (i < 0) continue;
                if (wk < 0 || r.w.w_time[k] < r.w.w_time[wk] ||
                    (r.w.w_time[k] == r.w.w_time[wk] && i < r.w.w_trial[wk]))
                    wk = k;
            }
            if (wk < 0) break;
        }
        for (int32_t k = 0; W > 1 && k < W; k++) {
            const int64_t i = r.w.w_trial[k];
            if (i < 0 || k == wk) continue;
            if (r.w.w_time[k] < lim_t || (r.w.w_time[k] == lim_t && i < lim_i)) {
                lim_t = r.w.w_time[k];
                lim_i = i;
            }
        }
        const int64_t i = r.w.w_trial[wk];
        const int64_t row = hist->row[i];
        const float *acc = tab->acc + (size_t)row * (size_t)T;
        const float *tim = tab->time + (size_t)row * (size_t)T;
        const int32_t nfin = tab->n_finished[row];
        double *curve = LC_CURVE(hist, i);
        double now = r.w.w_time[wk];
        /* the trial's best so far as sg * value ("larger is better"): one comparison */
        int32_t t = r.w.w_epoch[wk], stop = 0, ended = 0;
        /* (nothing observed before the first epoch: hist->best[i] is NaN then) */
        double bk = t == 1 ? -INFINITY : sg * hist->best[i];
        int64_t events = 0;
        if (W == 1) {
            /* the common case, kept tight: one worker, specialised by how the rule decides */
            const lc_asker ask = {brule, cfn, rule, hist, i};
            const int32_t how = !decide ? LC_RULE_NONE : builtin ? brule->kind
                                : cfn ? ASK_CFUNC : ASK_OPS;
            int32_t st;
            switch (how) {
#define LC_ALONE(HOW) alone(&ask, HOW, acc, tim, curve, nfin, T, sg, &t, &now, &bk, &events)
            case LC_RULE_ETR1: st = LC_ALONE(LC_RULE_ETR1); break;
            case LC_RULE_ETR2: st = LC_ALONE(LC_RULE_ETR2); break;
            case LC_RULE_MEDIAN: st = LC_ALONE(LC_RULE_MEDIAN); break;
            case ASK_CFUNC: st = LC_ALONE(ASK_CFUNC); break;
            case ASK_OPS: st = LC_ALONE(ASK_OPS); break;
            default: st = LC_ALONE(LC_RULE_NONE);
#undef LC_ALONE
            }
            if (st < 0) return st;
            stop = st;
            ended = 1;
        } else for (;;) {
            const double y = (double)acc[t - 1];
            curve[t - 1] = y;
            if (sg * y > bk) bk = sg * y;
            events++;
            if (decide && t < T) {
                if (builtin) {  /* inline; reads no history array */
                    stop = builtin_stop(brule, brule->kind, t, y, sg * bk);
                } else {
                    hist->n_obs[i] = t;
                    hist->best[i] = sg * bk;
                    e = decide(rule->self, hist, i, t, &stop);
                    if (e < 0) return e;
                }
            }
            if (stop || t == nfin) { ended = 1; break; }
            const double next = now + (double)tim[t];
            t++;
            if (W > 1 && !(next < lim_t || (next == lim_t && i < lim_i))) {
                r.w.w_time[wk] = next;
                r.w.w_epoch[wk] = t;
                break;
            }
            now = next;
        }
        hist->n_obs[i] = ended ? t : t - 1;
        hist->best[i] = sg * bk;
        res->epochs_trained += events;
        res->clock = now;
        if (ended) {
            hist->state[i] = stop ? LC_TRIAL_STOPPED
                                  : (t == T ? LC_TRIAL_COMPLETED : LC_TRIAL_FAILED);
            r.w.w_trial[wk] = -1;
            report(&r, i, now, stop != 0);
            if (r.err) return r.err;
            fill(&r, wk, now);
            if (r.err) return r.err;
        }
    }
    /* trials still running are dropped: their trace keeps the epochs they trained */
    if (trace && trace->epochs) {
        for (int32_t k = 0; k < W; k++) {
            const int64_t i = r.w.w_trial[k];
            if (i >= 0) trace->epochs[i] = hist->n_obs[i];
        }
    }
    return r.err;
}

/* ---- built-in rules ---------------------------------------------------------------------- */
size_t lc_builtin_rule_bytes(int32_t kind, int32_t T, int64_t max_evals) {
    if (kind != LC_RULE_MEDIAN) return 8;
    return align8(sizeof(double) * (size_t)T * (size_t)max_evals);
}

void lc_builtin_rule_init(lc_builtin_rule *r, void *mem, int32_t T, int64_t max_evals) {
    r->T = T;
    r->cap = max_evals;
    r->sorted_avg = (double *)mem;
    r->n_completed = 0;
    r->best_c = -1;
    r->tau_c = 0;
    r->y_tau = NAN;
}

static int builtin_reset(void *self, const lc_history *h) {
    (void)h;
    lc_builtin_rule *r = (lc_builtin_rule *)self;
    r->n_completed = 0;
    r->best_c = -1;
    r->tau_c = 0;
    r->y_tau = NAN;
    return 0;
}

LC_INLINE int builtin_on_end(void *self, const lc_history *h, int64_t trial) {
    lc_builtin_rule *r = (lc_builtin_rule *)self;
    if (h->state[trial] != LC_TRIAL_COMPLETED) return 0;
    const int32_t T = h->T;
    const double *curve = LC_CURVE(h, trial);
    if (r->kind == LC_RULE_MEDIAN) {
        double s = 0.0;
        for (int32_t t = 0; t < T; t++) {
            s += curve[t];
            lc_sorted_insert(r->sorted_avg + (size_t)t * (size_t)r->cap, r->n_completed,
                          s / (double)(t + 1));
        }
    } else if (r->kind == LC_RULE_ETR2) {
        const double fin = curve[T - 1];
        if (r->best_c < 0 || (r->mode > 0 ? fin > r->best_final : fin < r->best_final)) {
            r->best_c = trial;
            r->best_final = fin;
            int32_t tau = 1;
            for (int32_t i = T; i >= 1; i--) {
                const int ok = r->mode > 0 ? curve[i - 1] <= r->q * fin
                                           : r->q * curve[i - 1] >= fin;
                if (ok) { tau = i; break; }
            }
            r->tau_c = tau;
            r->y_tau = curve[tau - 1];
        }
    }
    r->n_completed++;
    return 0;
}

static int builtin_decide(void *self, const lc_history *h, int64_t trial, int32_t t,
                          int32_t *stop) {
    const lc_builtin_rule *r = (const lc_builtin_rule *)self;
    *stop = builtin_stop(r, r->kind, t, LC_CURVE(h, trial)[t - 1], h->best[trial]);
    return 0;
}

static int builtin_on_end_op(void *self, const lc_history *h, int64_t trial) {
    return builtin_on_end(self, h, trial);
}

const lc_rule_ops lc_builtin_rule_ops = {builtin_reset, builtin_decide, builtin_on_end_op};
const lc_rule_ops lc_builtin_rule_called_ops = {builtin_reset, builtin_decide,
                                                builtin_on_end_op};
const lc_rule_ops lc_never_rule_ops = {NULL, NULL, NULL};

static int cfunc_decide(void *self, const lc_history *h, int64_t trial, int32_t t,
                        int32_t *stop) {
    const lc_cfunc_rule *r = (const lc_cfunc_rule *)self;
    const int32_t v = r->fn(LC_CURVE(h, trial), t, h->T, h->n_trials,
                            h->curves, h->n_obs, h->state, h->incumbent);
    if (v < 0 || v > 1) return LC_ERR_RULE;
    *stop = v;
    return 0;
}

const lc_rule_ops lc_cfunc_rule_ops = {NULL, cfunc_decide, NULL};

/* ---- built-in choosers ------------------------------------------------------------------- */
static int random_choose(void *self, const lc_choice_view *v, lc_rng *rng, int64_t *row) {
    (void)self;
    (void)v;
    (void)rng;
    *row = LC_CHOOSE_RANDOM;
    return 0;
}

const lc_chooser_ops lc_random_chooser_ops = {NULL, random_choose};

static int rfei_choose(void *self, const lc_choice_view *v, lc_rng *rng, int64_t *row) {
    const lc_rfei_chooser *c = (const lc_rfei_chooser *)self;
    if (v->n_seen < 2) { *row = LC_CHOOSE_RANDOM; return 0; }
    const uint64_t seed = lc_rng_next(rng);
    /* the incumbent: the best reported value so far, whatever the surrogate's data hold
     * under terminated = exclude / oracle; EI maximises mode * value */
    *row = lc_rfei_choose((lc_rfei_ctx *)c->ctx, v->seen_rows, v->y_key, v->n_seen, v->active,
                          v->best_key, c->xi, seed, rng);
    return 0;
}

const lc_chooser_ops lc_rfei_chooser_ops = {NULL, rfei_choose};
