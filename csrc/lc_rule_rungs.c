/* lc_rule_rungs.c: C twins of the rung-based rules (lcore/stopping/rung_rules.py states each
 * decision): Optuna's SuccessiveHalvingPruner ("optuna-sh") and HyperbandPruner
 * ("optuna-hyperband"), Ray Tune's ASHA ("ray-asha") and Syne Tune's ASHA ("synetune-asha").
 *
 * Shared bookkeeping: rungs indexed (bracket, k); each keeps the values recorded there in an
 * order-statistic treap (nodes from one pool: one per trial and rung), so a decision is an
 * O(log n) insert plus an O(log n) rank or select.  Only the rungs whose level is <= T - 1 are kept: the rule is
 * asked at epochs t < T only, so a higher rung is never reached.  Per trial: its bracket and
 * which rungs it recorded.  reset clears the counts and the per-trial arrays. */
#include "lc_rules.h"

#include <math.h>
#include <string.h>

/* ---- shared: the values recorded at each rung, an order-statistic treap per rung ------- */
/* Nodes come from one pool (every record is one node: at most one per trial and rung);
 * priorities are a fixed hash of the node's index, so the shapes, and the cost, are the
 * same at every run.  Insert, rank and select are O(log n) expected. */
typedef struct {
    double key;
    int32_t l, r, size;
    uint32_t pri;
} rnode;

typedef struct {
    rnode *node;               /* capacity + 1 (node 0 is the empty tree) */
    int32_t *root;             /* n_sets */
    int64_t n_sets, capacity, used;
} rung_sets;

static size_t rs_bytes(int64_t n_sets, int64_t capacity) {
    return lc_align64((size_t)(capacity + 1) * sizeof(rnode)) +
           lc_align64((size_t)n_sets * sizeof(int32_t));
}

static void rs_reset(rung_sets *s) {
    memset(s->root, 0, (size_t)s->n_sets * sizeof(int32_t));
    memset(&s->node[0], 0, sizeof(rnode));
    s->used = 0;
}

static int32_t rs_size(const rung_sets *s, int64_t set) { return s->node[s->root[set]].size; }

static void rs_upd(rnode *p, int32_t x) { p[x].size = 1 + p[p[x].l].size + p[p[x].r].size; }

/* t -> (keys <= k, keys > k) */
static void rs_split(rnode *p, int32_t t, double k, int32_t *a, int32_t *b) {
    if (!t) { *a = *b = 0; return; }
    if (p[t].key <= k) {
        rs_split(p, p[t].r, k, &p[t].r, b);
        *a = t;
    } else {
        rs_split(p, p[t].l, k, a, &p[t].l);
        *b = t;
    }
    rs_upd(p, t);
}

static int32_t rs_merge(rnode *p, int32_t a, int32_t b) {
    if (!a) return b;
    if (!b) return a;
    if (p[a].pri > p[b].pri) {
        p[a].r = rs_merge(p, p[a].r, b);
        rs_upd(p, a);
        return a;
    }
    p[b].l = rs_merge(p, a, p[b].l);
    rs_upd(p, b);
    return b;
}

static void rs_insert(rung_sets *s, int64_t set, double v) {
    rnode *p = s->node;
    const int32_t x = (int32_t)(++s->used);
    uint32_t h = (uint32_t)x * 0x9E3779B1u;
    h ^= h >> 15;
    h *= 0x85EBCA77u;
    h ^= h >> 13;
    p[x].key = v;
    p[x].l = p[x].r = 0;
    p[x].size = 1;
    p[x].pri = h;
    int32_t a, b;
    rs_split(p, s->root[set], v, &a, &b);
    s->root[set] = rs_merge(p, rs_merge(p, a, x), b);
}

/* number of values <= v */
static int64_t rs_count_at_most(const rung_sets *s, int64_t set, double v) {
    const rnode *p = s->node;
    int64_t c = 0;
    for (int32_t t = s->root[set]; t;) {
        if (p[t].key <= v) {
            c += p[p[t].l].size + 1;
            t = p[t].r;
        } else {
            t = p[t].l;
        }
    }
    return c;
}

/* the k-th smallest value (0-based), k < size */
static double rs_select(const rung_sets *s, int64_t set, int64_t k) {
    const rnode *p = s->node;
    int32_t t = s->root[set];
    for (;;) {
        const int64_t ls = p[p[t].l].size;
        if (k < ls) {
            t = p[t].l;
        } else if (k == ls) {
            return p[t].key;
        } else {
            k -= ls + 1;
            t = p[t].r;
        }
    }
}

typedef struct {
    int32_t n_rungs;           /* rungs with level <= T - 1 */
    int32_t first;             /* index of its rung 0 in the rung arrays */
} bracket_info;

/* carve helper */
static char *carve(char **p, size_t n) {
    char *out = *p;
    *p += lc_align64(n);
    return out;
}

/* ---- Optuna: successive halving and Hyperband ------------------------------------------- */
typedef struct {
    int32_t T;
    int64_t cap;
    int32_t maximize;
    int32_t wait_completed;    /* "auto": nothing before the first completed trial */
    int64_t rf, bootstrap;
    int32_t hyperband;
    uint32_t crc_prefix;
    int64_t n_brackets, total_budget;
    int64_t *budget;           /* n_brackets */
    bracket_info *br;          /* n_brackets (1 for SH) */
    int64_t n_rungs_all;
    int64_t *level;            /* n_rungs_all: promotion step of each rung */
    rung_sets sets;            /* n_rungs_all sets, cap x (rungs of bracket 0) nodes */
    int32_t *nrec;             /* cap: rungs recorded by each trial */
    int32_t *tbracket;         /* cap: bracket + 1 (0: not computed yet) */
} optuna_rungs;

/* min_res * rf^(s + k) for k = 0, 1, ... while <= T - 1; returns the count (levels may be
 * NULL). */
static int64_t mul_sat(int64_t p, int64_t rf, int64_t lim) {
    return p > lim / rf ? lim + 1 : p * rf;   /* p * rf, or lim + 1 when that exceeds lim */
}
static int32_t optuna_levels(int64_t min_res, int64_t rf, int64_t s, int32_t T, int64_t *out) {
    int64_t p = min_res;
    for (int64_t i = 0; i < s && p <= T; i++) p = mul_sat(p, rf, T);
    int32_t n = 0;
    while (p <= (int64_t)T - 1) {
        if (out) out[n] = p;
        n++;
        p = mul_sat(p, rf, T);
    }
    return n;
}

/* Optuna's n_brackets for HyperbandPruner: floor(log(R / r) / log(eta)) + 1 (math.log). */
static int64_t optuna_n_brackets(int64_t max_res, int64_t min_res, int64_t rf) {
    return (int64_t)floor(log((double)max_res / (double)min_res) / log((double)rf)) + 1;
}

typedef struct {
    int64_t min_res, max_res, rf, bootstrap, mesr;
    int32_t wait, hyperband;
    uint32_t crc;
} optuna_par;

static optuna_par optuna_params(const double *par, int32_t T, int hyperband) {
    optuna_par o;
    memset(&o, 0, sizeof o);
    o.hyperband = hyperband;
    if (!hyperband) {          /* {min_resource (0: auto), rf, min_early_stopping_rate, boot} */
        o.wait = par[0] == 0.0;
        o.min_res = o.wait ? (T / 100 > 1 ? T / 100 : 1) : (int64_t)par[0];
        o.rf = (int64_t)par[1];
        o.mesr = (int64_t)par[2];
        o.bootstrap = (int64_t)par[3];
    } else {                   /* {min_resource, max_resource (0: auto), rf, boot, crc} */
        o.min_res = (int64_t)par[0];
        o.wait = par[1] == 0.0;
        o.max_res = o.wait ? (int64_t)T + 1 : (int64_t)par[1];
        o.rf = (int64_t)par[2];
        o.bootstrap = (int64_t)par[3];
        o.crc = (uint32_t)par[4];
    }
    return o;
}

static int64_t optuna_nb(const optuna_par *o) {
    return o->hyperband ? optuna_n_brackets(o->max_res, o->min_res, o->rf) : 1;
}

static int64_t optuna_count_rungs(const optuna_par *o, int32_t T, int64_t nb) {
    int64_t n = 0;
    for (int64_t b = 0; b < nb; b++)
        n += optuna_levels(o->min_res, o->rf, o->hyperband ? b : o->mesr, T, NULL);
    return n;
}

/* most rungs of one bracket: bracket 0's (its levels are the lowest) */
static int64_t optuna_rmax(const optuna_par *o, int32_t T) {
    return optuna_levels(o->min_res, o->rf, o->hyperband ? 0 : o->mesr, T, NULL);
}

static int optuna_valid(const optuna_par *o) {
    return o->min_res >= 1 && o->rf >= 2 && o->bootstrap >= 0 && o->mesr >= 0 &&
           (!o->hyperband || o->max_res >= o->min_res);
}

static size_t optuna_bytes_(const double *par, int32_t T, int64_t cap, int hyperband) {
    optuna_par o = optuna_params(par, T, hyperband);
    if (!optuna_valid(&o)) return 64;
    const int64_t nb = optuna_nb(&o);
    const int64_t nr = optuna_count_rungs(&o, T, nb);
    return lc_align64(sizeof(optuna_rungs)) + lc_align64((size_t)nb * sizeof(int64_t)) +
           lc_align64((size_t)nb * sizeof(bracket_info)) +
           lc_align64((size_t)nr * sizeof(int64_t)) + rs_bytes(nr, cap * optuna_rmax(&o, T)) +
           lc_align64((size_t)cap * sizeof(int32_t)) * 2;
}
static size_t sh_bytes(const double *par, int32_t T, int64_t cap) {
    return optuna_bytes_(par, T, cap, 0);
}
static size_t hb_bytes(const double *par, int32_t T, int64_t cap) {
    return optuna_bytes_(par, T, cap, 1);
}

static int optuna_init_(void *mem, const double *par, int32_t T, int64_t cap, int32_t mode,
                        int hyperband) {
    optuna_par o = optuna_params(par, T, hyperband);
    if (!optuna_valid(&o)) return -1;
    char *p = (char *)mem;
    optuna_rungs *r = (optuna_rungs *)carve(&p, sizeof(optuna_rungs));
    r->T = T;
    r->cap = cap;
    r->maximize = mode > 0;
    r->wait_completed = o.wait;
    r->rf = o.rf;
    r->bootstrap = o.bootstrap;
    r->hyperband = hyperband;
    r->crc_prefix = o.crc;
    r->n_brackets = optuna_nb(&o);
    r->n_rungs_all = optuna_count_rungs(&o, T, r->n_brackets);
    r->budget = (int64_t *)carve(&p, (size_t)r->n_brackets * sizeof(int64_t));
    r->br = (bracket_info *)carve(&p, (size_t)r->n_brackets * sizeof(bracket_info));
    r->level = (int64_t *)carve(&p, (size_t)r->n_rungs_all * sizeof(int64_t));
    r->sets.n_sets = r->n_rungs_all;
    r->sets.capacity = cap * optuna_rmax(&o, T);
    r->sets.node = (rnode *)carve(&p, (size_t)(r->sets.capacity + 1) * sizeof(rnode));
    r->sets.root = (int32_t *)carve(&p, (size_t)r->n_rungs_all * sizeof(int32_t));
    r->nrec = (int32_t *)carve(&p, (size_t)cap * sizeof(int32_t));
    r->tbracket = (int32_t *)carve(&p, (size_t)cap * sizeof(int32_t));
    int32_t first = 0;
    r->total_budget = 0;
    for (int64_t b = 0; b < r->n_brackets; b++) {
        const int64_t s = hyperband ? b : o.mesr;
        r->br[b].first = first;
        r->br[b].n_rungs = optuna_levels(o.min_res, o.rf, s, T, r->level + first);
        first += r->br[b].n_rungs;
        if (hyperband) {
            /* ceil(n_brackets * rf^s' / (s' + 1)), s' = n_brackets - 1 - b */
            const int64_t sp = r->n_brackets - 1 - b;
            int64_t num = r->n_brackets;
            for (int64_t i = 0; i < sp; i++) num *= o.rf;
            r->budget[b] = (int64_t)ceil((double)num / (double)(sp + 1));
            r->total_budget += r->budget[b];
        }
    }
    return 0;
}
static int sh_init(void *mem, const double *par, int32_t T, int64_t cap, int32_t mode,
                   const lc_rule *inner) {
    (void)inner;
    return optuna_init_(mem, par, T, cap, mode, 0);
}
static int hb_init(void *mem, const double *par, int32_t T, int64_t cap, int32_t mode,
                   const lc_rule *inner) {
    (void)inner;
    return optuna_init_(mem, par, T, cap, mode, 1);
}

static int optuna_reset(void *self, const lc_history *h) {
    (void)h;
    optuna_rungs *r = (optuna_rungs *)self;
    rs_reset(&r->sets);
    memset(r->nrec, 0, (size_t)r->cap * sizeof(int32_t));
    memset(r->tbracket, 0, (size_t)r->cap * sizeof(int32_t));
    return 0;
}

/* binascii.crc32(digits, prefix) over the decimal digits of n */
static uint32_t crc32_digits(uint32_t prefix, int64_t n) {
    char buf[24];
    int len = 0;
    do {
        buf[len++] = (char)('0' + n % 10);
        n /= 10;
    } while (n > 0);
    uint32_t c = prefix ^ 0xFFFFFFFFu;
    for (int i = len - 1; i >= 0; i--) {
        c ^= (uint32_t)(unsigned char)buf[i];
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
    }
    return c ^ 0xFFFFFFFFu;
}

static int optuna_decide(void *self, const lc_history *h, int64_t trial, int32_t t,
                         int32_t *stop) {
    optuna_rungs *r = (optuna_rungs *)self;
    *stop = 0;
    if (r->wait_completed && h->n_completed == 0) return 0;
    int32_t b = 0;
    if (r->hyperband) {
        if (r->tbracket[trial] == 0) {
            int64_t n = (int64_t)(crc32_digits(r->crc_prefix, trial) %
                                  (uint32_t)r->total_budget);
            int32_t k = 0;
            for (; k < r->n_brackets; k++) {
                n -= r->budget[k];
                if (n < 0) break;
            }
            r->tbracket[trial] = k + 1;
        }
        b = r->tbracket[trial] - 1;
    }
    const bracket_info *bi = &r->br[b];
    const double v = LC_CURVE(h, trial)[t - 1];
    int32_t rung = r->nrec[trial];
    for (;;) {
        if (rung >= bi->n_rungs) return 0;            /* its level is > T - 1 >= t */
        const int64_t ri = bi->first + rung;
        if (t < r->level[ri]) return 0;
        rs_insert(&r->sets, ri, v);            /* the competing values, its own included */
        const int64_t n = rs_size(&r->sets, ri);
        r->nrec[trial] = rung + 1;
        if (n <= r->bootstrap) { *stop = 1; return 0; }
        int64_t idx = n / r->rf - 1;
        if (idx == -1) idx = 0;
        const int ok = r->maximize ? (v >= rs_select(&r->sets, ri, n - 1 - idx))
                                   : (v <= rs_select(&r->sets, ri, idx));
        if (!ok) { *stop = 1; return 0; }
        rung++;
    }
}

static const lc_rule_ops optuna_rung_ops = {optuna_reset, optuna_decide, NULL};
const lc_rule_kind lc_kind_optuna_sh = {
    "optuna-sh", 4, 0, 0, sh_bytes, sh_init, &optuna_rung_ops};
const lc_rule_kind lc_kind_optuna_hyperband = {
    "optuna-hyperband", 5, 0, 0, hb_bytes, hb_init, &optuna_rung_ops};

/* ---- Ray Tune / Syne Tune ASHA --------------------------------------------------------- */
/* par = {max_t, grace_period, reduction_factor, brackets, flag, bracket_seed, x}
 * flag: 0 / 1 Ray's stop_last_trials, 2 Syne Tune; x = log(max_t / grace) / log(rf) as NumPy
 * computes it (the peers' rung count of bracket s is (int)(x - s + 1)). */
typedef struct {
    int32_t T;
    int64_t cap;
    int32_t maximize;
    int32_t kind;              /* 0, 1: Ray (stop_last_trials); 2: Syne Tune */
    int64_t max_t;
    double rf, quantile;
    int64_t brackets;
    uint64_t seed_mix;
    int32_t n_live;            /* brackets with a rung <= T - 1 (a prefix) */
    int32_t rmax;              /* most such rungs in one bracket */
    double *cdf;               /* n_live: cumulative bracket probabilities */
    bracket_info *br;          /* n_live */
    int64_t n_rungs_all;
    double *level;             /* n_rungs_all */
    int32_t *top;              /* n_live x T: rungs with level <= t */
    rung_sets sets;            /* n_rungs_all sets of rewards, cap x rmax nodes */
    int32_t *tbracket;         /* cap: bracket + 1; 0: not drawn; n_live + 1: no live rung */
    int32_t *nlow;             /* cap: rungs 0..nlow-1 all recorded */
    uint8_t *rec;              /* cap x rmax */
} asha_rule;

static uint64_t splitmix64(uint64_t x) {
    uint64_t z = x + 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static int64_t asha_size(double x, int64_t s) {
    const double v = (x - (double)s) + 1.0;
    const int64_t n = (int64_t)v;             /* truncation toward zero, as Python's int() */
    return n > 0 ? n : 0;
}

static double asha_level(int64_t grace, double rf, int64_t e) {
    return (double)grace * pow(rf, (double)e);
}

/* live rungs of bracket s: levels grace * rf^(k + s) <= T - 1, k < size */
static int32_t asha_live(const double *par, int32_t T, int64_t s) {
    const int64_t size = asha_size(par[6], s);
    int32_t n = 0;
    while (n < size && asha_level((int64_t)par[1], par[2], n + s) <= (double)(T - 1)) n++;
    return n;
}

static int asha_valid(const double *par) {
    return par[0] >= 1 && par[1] >= 1 && par[1] <= par[0] && par[2] > 1.0 && par[3] >= 1 &&
           par[4] >= 0 && par[4] <= 2 && par[6] == par[6];
}

static void asha_shape(const double *par, int32_t T, int32_t *n_live, int32_t *rmax,
                       int64_t *nr) {
    *n_live = 0;
    *rmax = 0;
    *nr = 0;
    for (int64_t s = 0; s < (int64_t)par[3]; s++) {
        const int32_t n = asha_live(par, T, s);
        if (n == 0) break;     /* levels grow with s: no later bracket has one either */
        (*n_live)++;
        if (n > *rmax) *rmax = n;
        *nr += n;
    }
}

/* records one trial makes at most: one per rung, and one per decision (t < T) plus two at
 * its end */
static int64_t asha_per_trial(int32_t rmax, int32_t T) {
    return rmax < (int64_t)T + 1 ? rmax : (int64_t)T + 1;
}

static size_t asha_bytes(const double *par, int32_t T, int64_t cap) {
    if (!asha_valid(par)) return 64;
    int32_t nl, rmax;
    int64_t nr;
    asha_shape(par, T, &nl, &rmax, &nr);
    return lc_align64(sizeof(asha_rule)) + lc_align64((size_t)nl * sizeof(double)) +
           lc_align64((size_t)nl * sizeof(bracket_info)) +
           lc_align64((size_t)nr * sizeof(double)) +
           lc_align64((size_t)nl * (size_t)T * sizeof(int32_t)) +
           rs_bytes(nr, cap * asha_per_trial(rmax, T)) +
           lc_align64((size_t)cap * sizeof(int32_t)) * 2 +
           lc_align64((size_t)cap * (size_t)(rmax > 0 ? rmax : 1));
}

static int asha_init(void *mem, const double *par, int32_t T, int64_t cap, int32_t mode,
                     const lc_rule *inner) {
    (void)inner;
    if (!asha_valid(par)) return -1;
    char *p = (char *)mem;
    asha_rule *r = (asha_rule *)carve(&p, sizeof(asha_rule));
    r->T = T;
    r->cap = cap;
    r->maximize = mode > 0;
    r->max_t = (int64_t)par[0];
    const int64_t grace = (int64_t)par[1];
    r->rf = par[2];
    r->brackets = (int64_t)par[3];
    r->kind = (int32_t)par[4];
    r->seed_mix = splitmix64((uint64_t)par[5]);
    r->quantile = (1.0 - 1.0 / r->rf) * 100.0 / 100.0;
    int64_t nr;
    asha_shape(par, T, &r->n_live, &r->rmax, &nr);
    r->n_rungs_all = nr;
    r->cdf = (double *)carve(&p, (size_t)r->n_live * sizeof(double));
    r->br = (bracket_info *)carve(&p, (size_t)r->n_live * sizeof(bracket_info));
    r->level = (double *)carve(&p, (size_t)nr * sizeof(double));
    r->top = (int32_t *)carve(&p, (size_t)r->n_live * (size_t)T * sizeof(int32_t));
    r->sets.n_sets = nr;
    r->sets.capacity = cap * asha_per_trial(r->rmax, T);
    r->sets.node = (rnode *)carve(&p, (size_t)(r->sets.capacity + 1) * sizeof(rnode));
    r->sets.root = (int32_t *)carve(&p, (size_t)nr * sizeof(int32_t));
    r->tbracket = (int32_t *)carve(&p, (size_t)cap * sizeof(int32_t));
    r->nlow = (int32_t *)carve(&p, (size_t)cap * sizeof(int32_t));
    r->rec = (uint8_t *)carve(&p, (size_t)cap * (size_t)(r->rmax > 0 ? r->rmax : 1));
    /* bracket probabilities e^(size - max size) / total, cumulated left to right */
    int64_t zmax = 0;
    for (int64_t s = 0; s < r->brackets; s++) {
        const int64_t z = asha_size(par[6], s);
        if (z > zmax) zmax = z;
    }
    double total = 0.0;
    for (int64_t s = 0; s < r->brackets; s++)
        total += exp((double)(asha_size(par[6], s) - zmax));
    double c = 0.0;
    int32_t first = 0;
    for (int32_t s = 0; s < r->n_live; s++) {
        c += exp((double)(asha_size(par[6], s) - zmax)) / total;
        r->cdf[s] = c;
        bracket_info *bi = &r->br[s];
        bi->first = first;
        bi->n_rungs = asha_live(par, T, s);
        for (int32_t k = 0; k < bi->n_rungs; k++) r->level[first + k] = asha_level(grace, r->rf, k + s);
        int32_t *top = r->top + (size_t)s * (size_t)T;
        int32_t m = 0;
        for (int32_t t = 0; t < T; t++) {
            while (m < bi->n_rungs && r->level[first + m] <= (double)t) m++;
            top[t] = m;
        }
        first += bi->n_rungs;
    }
    return 0;
}

static int asha_reset(void *self, const lc_history *h) {
    (void)h;
    asha_rule *r = (asha_rule *)self;
    rs_reset(&r->sets);
    memset(r->tbracket, 0, (size_t)r->cap * sizeof(int32_t));
    memset(r->nlow, 0, (size_t)r->cap * sizeof(int32_t));
    memset(r->rec, 0, (size_t)r->cap * (size_t)(r->rmax > 0 ? r->rmax : 1));
    return 0;
}

/* NumPy's linear quantile of the n >= 1 values of a set (rung_rules.numpy_linear_quantile) */
static double linear_quantile(const rung_sets *s, int64_t set, int64_t n, double q) {
    const double v = (double)(n - 1) * q;
    if (v >= (double)(n - 1)) return rs_select(s, set, n - 1);
    const double fi = floor(v);
    const int64_t i = (int64_t)fi;
    const double lo = rs_select(s, set, i), hi = rs_select(s, set, i + 1);
    return lc_numpy_lerp(lo, hi, v - fi);
}

/* The peers' Bracket.on_result at epoch t (<= T) with `reward`: records at most one rung;
 * returns 1 for "stop". */
static int asha_on_result(asha_rule *r, int64_t trial, int32_t t, double reward) {
    if (r->tbracket[trial] == 0) {
        int32_t b = 0;
        if (r->brackets > 1) {
            const uint64_t z = splitmix64(r->seed_mix + (uint64_t)trial);
            const double u = (double)(z >> 11) * 0x1.0p-53;
            while (b < r->n_live && !(u < r->cdf[b])) b++;
        }
        r->tbracket[trial] = b < r->n_live ? b + 1 : r->n_live + 1;
    }
    const int32_t b = r->tbracket[trial] - 1;
    if (b >= r->n_live) return 0;             /* a bracket without a rung below T */
    const bracket_info *bi = &r->br[b];
    uint8_t *rec = r->rec + (size_t)trial * (size_t)r->rmax;
    const int32_t tt = t < r->T ? t : r->T - 1;   /* rungs above T - 1 are not kept */
    for (int32_t k = r->top[(size_t)b * (size_t)r->T + (size_t)tt] - 1; k >= 0; k--) {
        if (rec[k]) {
            if (r->kind == 0) return 0;       /* Ray, stop_last_trials=False: break */
            if (k < r->nlow[trial]) return 0; /* every lower rung recorded too */
            continue;
        }
        const int64_t ri = bi->first + k;
        const int64_t n = rs_size(&r->sets, ri);
        int stop = 0;
        if (n > 0) {
            if (r->kind == 2) {
                const int64_t better = n - rs_count_at_most(&r->sets, ri, reward);
                stop = (double)better / (double)(n + 1) > 1.0 / r->rf;
            } else {
                stop = reward < linear_quantile(&r->sets, ri, n, r->quantile);
            }
        }
        rs_insert(&r->sets, ri, reward);
        rec[k] = 1;
        while (r->nlow[trial] < bi->n_rungs && rec[r->nlow[trial]]) r->nlow[trial]++;
        return stop;
    }
    return 0;
}

static int asha_decide(void *self, const lc_history *h, int64_t trial, int32_t t,
                       int32_t *stop) {
    asha_rule *r = (asha_rule *)self;
    const double y = LC_CURVE(h, trial)[t - 1];
    if (r->kind != 0 && t >= r->max_t) { *stop = 1; return 0; }
    *stop = asha_on_result(r, trial, t, r->maximize ? y : -y);
    return 0;
}

/* The peers' end-of-trial hooks (rung_rules._ASHA._on_end): Ray records a stopped trial's
 * last result (on_trial_complete) and a completed trial's twice (on_trial_result, unless
 * stopped at max_t, then on_trial_complete); Syne Tune records a completed trial's last
 * result through on_trial_result (not at t >= max_t) and, unless that said stop,
 * on_trial_complete; failed trials record nothing (on_trial_error). */
static int asha_on_end(void *self, const lc_history *h, int64_t trial) {
    asha_rule *r = (asha_rule *)self;
    const int8_t state = h->state[trial];
    const int32_t t = h->n_obs[trial];
    if (state == LC_TRIAL_FAILED || t == 0) return 0;
    const double y = LC_CURVE(h, trial)[t - 1];
    const double reward = r->maximize ? y : -y;
    const int completed = state == LC_TRIAL_COMPLETED;
    if (r->kind == 2) {
        if (completed && t < r->max_t && !asha_on_result(r, trial, t, reward))
            asha_on_result(r, trial, t, reward);
    } else {
        if (completed && !(r->kind == 1 && t >= r->max_t)) asha_on_result(r, trial, t, reward);
        asha_on_result(r, trial, t, reward);
    }
    return 0;
}

static const lc_rule_ops asha_ops = {asha_reset, asha_decide, asha_on_end};
const lc_rule_kind lc_kind_ray_asha = {
    "ray-asha", 7, 0, 0, asha_bytes, asha_init, &asha_ops};
const lc_rule_kind lc_kind_synetune_asha = {
    "synetune-asha", 7, 0, 0, asha_bytes, asha_init, &asha_ops};
