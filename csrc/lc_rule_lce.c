/* lc_rule_lce.c: learning-curve extrapolation ("lce"; Domhan, Springenberg & Hutter, IJCAI
 * 2015), the fast decision (docs/stopping.md, "Learning-curve extrapolation", states it and
 * why; lcore/stopping/lce.py is its Python face, which calls lc_lce_prob through
 * lcore/_core/_rule_lce.pyx, so both decide from the same numbers).
 *
 * The curve so far (x = observed epochs, y = values; negated in mode "min") is fitted by each
 * of the 11 parametric families of the paper: a Levenberg-Marquardt least-squares fit of the
 * recency-weighted residuals (weights 10^(i/n), as the original's) from the original's fixed
 * starting point, Jacobians by forward differences.  A family is kept when the fit converged
 * to finite parameters, and its value at T is strictly inside the sanity range (lo, hi) and
 * not below its value at epoch 2 (the original's prior).  Each kept family then gives
 * P_k(y(T) > y_best) from its profile likelihood at y_best (lc_lce_prob says how), with the
 * noise of the families' equal-weight combination; P is the mean of the P_k.
 *
 * Pure function of (curve, T, y_best, parameters): no state across decisions, no RNG.
 * Compiled without FMA contraction (setup.py), so the Python face's numbers are these.
 */
#include "lc_rules.h"

#include <math.h>
#include <string.h>

#define LCE_NF 11
#define LCE_MAXP 4
#define LCE_MAXIT 100

/* vap, ilog2, weibull, pow3, pow4, loglog_linear, mmf, janoschek, dr_hill (zero background),
 * log_power, exp4 -- the parameters in the original's order and its starting values */
static const int NP[LCE_NF] = {3, 2, 4, 3, 4, 2, 4, 4, 3, 3, 4};
static const double P0[LCE_NF][LCE_MAXP] = {
    {-0.622028, -0.470050, 0.042322, 0},
    {0.78, 0.43, 0, 0},
    {0.7, 0.1, 0.01, 1.0},
    {0.84, 0.52, 0.01, 0},
    {0.8, 200.0, 0.0, 0.1},
    {1.0, 1.0, 0, 0},
    {0.7, 0.1, 0.01, 5.0},
    {0.73, 0.07, 0.355, 0.46},
    {0.772320, 0.586449, 2.460843, 0},
    {0.77, 2.98, -0.51, 0},
    {0.7, 0.8, -0.8, 0.3},
};

int32_t lc_lce_n_families(void) { return LCE_NF; }

static int isfin(double v) { return v - v == 0.0; }

/* f[i] = family k at x[i] (i < n), k in the order of NP / P0 (NaN for another k), the switch
 * out of the loop and the terms free of x computed once; c (2 n doubles) keeps the terms
 * that a Jacobian column can reuse (family_column). */
static void family_eval(int k, const double *x, int n, const double *p, double *f,
                        double *c) {
    double *c1 = c + n;
    switch (k) {
    case 0:
        for (int i = 0; i < n; i++) {
            c[i] = log(x[i]);
            f[i] = exp(p[0] + p[1] / x[i] + p[2] * c[i]);
        }
        return;
    case 1:
        for (int i = 0; i < n; i++) {
            c[i] = log(x[i] + 1.0);
            f[i] = p[0] - p[1] / c[i];
        }
        return;
    case 2:
        for (int i = 0; i < n; i++) {
            c[i] = exp(-pow(p[2] * x[i], p[3]));
            f[i] = p[0] - (p[0] - p[1]) * c[i];
        }
        return;
    case 3:
        for (int i = 0; i < n; i++) {
            c[i] = pow(x[i], -p[2]);
            f[i] = p[0] - p[1] * c[i];
        }
        return;
    case 4:
        for (int i = 0; i < n; i++) {
            c[i] = pow(p[1] * x[i] + p[2], -p[3]);
            f[i] = p[0] - c[i];
        }
        return;
    case 5:
        for (int i = 0; i < n; i++) {
            c[i] = log(x[i]);
            f[i] = log(p[0] * c[i] + p[1]);
        }
        return;
    case 6:
        for (int i = 0; i < n; i++) {
            c[i] = 1.0 + pow(p[2] * x[i], p[3]);
            f[i] = p[0] - (p[0] - p[1]) / c[i];
        }
        return;
    case 7:
        for (int i = 0; i < n; i++) {
            c[i] = pow(x[i], p[3]);
            c1[i] = exp(-p[2] * c[i]);
            f[i] = p[0] - (p[0] - p[1]) * c1[i];
        }
        return;
    case 8: {
        const double cc = pow(p[2], p[1]);
        for (int i = 0; i < n; i++) {
            c[i] = pow(x[i], p[1]);
            f[i] = p[0] * c[i] / (cc + c[i]);
        }
        return;
    }
    case 9: {
        const double e1 = exp(p[1]);
        for (int i = 0; i < n; i++) {
            c[i] = 1.0 + pow(x[i] / e1, p[2]);
            f[i] = p[0] / c[i];
        }
        return;
    }
    case 10:
        for (int i = 0; i < n; i++) {
            c[i] = pow(x[i], p[3]);
            c1[i] = exp(-p[1] * c[i] + p[2]);
            f[i] = p[0] - c1[i];
        }
        return;
    default:
        for (int i = 0; i < n; i++) f[i] = NAN;
    }
}

/* One family's value: family_eval at one point (the one definition of the families). */
double lc_lce_family(int32_t k, double x, const double *p) {
    double f, c[2];
    family_eval(k, &x, 1, p, &f, c);
    return f;
}

/* out[i] = family k at x[i] for q, which differs from the p of family_eval's terms c only
 * in q[j]: the same values bit for bit, from the kept terms where q[j] does not enter them
 * (no pow per point there); otherwise evaluated afresh (scratch: 2 n doubles). */
static void family_column(int k, int j, const double *x, int n, const double *q,
                          const double *c, double *out, double *scratch) {
    const double *c1 = c + n;
    int i;
    switch (k) {
    case 0:
        for (i = 0; i < n; i++) out[i] = exp(q[0] + q[1] / x[i] + q[2] * c[i]);
        return;
    case 1:
        for (i = 0; i < n; i++) out[i] = q[0] - q[1] / c[i];
        return;
    case 2:
        if (j > 1) break;
        for (i = 0; i < n; i++) out[i] = q[0] - (q[0] - q[1]) * c[i];
        return;
    case 3:
        if (j > 1) break;
        for (i = 0; i < n; i++) out[i] = q[0] - q[1] * c[i];
        return;
    case 4:
        if (j > 0) break;
        for (i = 0; i < n; i++) out[i] = q[0] - c[i];
        return;
    case 5:
        for (i = 0; i < n; i++) out[i] = log(q[0] * c[i] + q[1]);
        return;
    case 6:
        if (j > 1) break;
        for (i = 0; i < n; i++) out[i] = q[0] - (q[0] - q[1]) / c[i];
        return;
    case 7:
        if (j > 2) break;
        if (j == 2)
            for (i = 0; i < n; i++) out[i] = q[0] - (q[0] - q[1]) * exp(-q[2] * c[i]);
        else
            for (i = 0; i < n; i++) out[i] = q[0] - (q[0] - q[1]) * c1[i];
        return;
    case 8: {
        if (j == 1) break;
        const double cc = pow(q[2], q[1]);
        for (i = 0; i < n; i++) out[i] = q[0] * c[i] / (cc + c[i]);
        return;
    }
    case 9:
        if (j > 0) break;
        for (i = 0; i < n; i++) out[i] = q[0] / c[i];
        return;
    case 10:
        if (j > 2) break;
        if (j == 0)
            for (i = 0; i < n; i++) out[i] = q[0] - c1[i];
        else
            for (i = 0; i < n; i++) out[i] = q[0] - exp(-q[1] * c[i] + q[2]);
        return;
    default:
        break;
    }
    family_eval(k, x, n, q, out, scratch);
}

/* Cholesky solve of the m x m system M z = b (M symmetric, row-major); 0 if not positive
 * definite. */
static int chol_solve(const double *M, const double *b, double *z, int m) {
    double L[LCE_MAXP * LCE_MAXP];
    for (int i = 0; i < m; i++) {
        for (int j = 0; j <= i; j++) {
            double s = M[i * m + j];
            for (int q = 0; q < j; q++) s -= L[i * m + q] * L[j * m + q];
            if (i == j) {
                if (!(s > 0.0) || !isfin(s)) return 0;
                L[i * m + i] = sqrt(s);
            } else {
                L[i * m + j] = s / L[j * m + j];
            }
        }
    }
    double w[LCE_MAXP];
    for (int i = 0; i < m; i++) {
        double s = b[i];
        for (int q = 0; q < i; q++) s -= L[i * m + q] * w[q];
        w[i] = s / L[i * m + i];
    }
    for (int i = m - 1; i >= 0; i--) {
        double s = w[i];
        for (int q = i + 1; q < m; q++) s -= L[q * m + i] * z[q];
        z[i] = s / L[i * m + i];
    }
    return 1;
}

/* Weighted sum of squares of family k at p, with the values f(x_i; p) left in f[0 .. n) and
 * family_eval's terms in f[n .. 3 n); NaN when not finite. */
static double wss(int k, const double *x, const double *y, const double *r, int n,
                  const double *p, double *f) {
    family_eval(k, x, n, p, f, f + n);
    double S = 0.0;
    for (int i = 0; i < n; i++) {
        const double e = f[i] - y[i];
        S += r[i] * e * e;
    }
    return isfin(S) ? S : NAN;
}

/* Forward-difference Jacobian J (n x m, row-major) at p, with f = f(x_i; p) and its terms
 * (f + n, as wss leaves them) given; J needs n (m + 3) doubles. */
static int jacobian(int k, const double *x, int n, const double *p, const double *f,
                    double *J) {
    const int m = NP[k];
    double q[LCE_MAXP];
    double *fq = J + (size_t)n * m;  /* n, then 2 n of scratch */
    for (int j = 0; j < m; j++) {
        memcpy(q, p, sizeof q);
        double h = 1.4901161193847656e-08 * fabs(p[j]);
        if (h == 0.0) h = 1.4901161193847656e-08;
        q[j] = p[j] + h;
        h = q[j] - p[j];
        family_column(k, j, x, n, q, f + n, fq, fq + n);
        for (int i = 0; i < n; i++) {
            const double d = (fq[i] - f[i]) / h;
            if (!isfin(d)) return 0;
            J[i * m + j] = d;
        }
    }
    return 1;
}

/* A = J'RJ (m x m) and g = J'R e. */
static void normal_eq(const double *J, const double *r, const double *e, int n, int m,
                      double *A, double *g) {
    for (int a = 0; a < m; a++) {
        g[a] = 0.0;
        for (int b = 0; b < m; b++) A[a * m + b] = 0.0;
    }
    for (int i = 0; i < n; i++) {
        const double *Ji = J + (size_t)i * m;
        for (int a = 0; a < m; a++) {
            const double ra = r[i] * Ji[a];
            g[a] += ra * e[i];
            for (int b = 0; b < m; b++) A[a * m + b] += ra * Ji[b];
        }
    }
}

/* Levenberg-Marquardt fit of family k from the parameters in p (in: start, out: the best
 * point reached) and *S_out set.  1 when it converged (relative decrease or step below
 * 1.49e-8, MINPACK's default tolerances), 0 when it failed (non-finite values, too few
 * points, no step that reduces S at any damping, no convergence in maxit steps). */
static int lm_fit(int k, const double *x, const double *y, const double *r, int n,
                  int maxit, double *work, double *p, double *S_out) {
    const int m = NP[k];
    if (n < m) return 0;
    /* f: the values at p and their terms (3 n); fn: the same at the trial point (they swap
     * when it is taken); J: n x m and 3 n more for jacobian */
    double *f = work, *fn = work + 3 * n, *e = work + 6 * n, *J = work + 7 * n;
    double S = wss(k, x, y, r, n, p, f);
    if (!isfin(S)) return 0;
    double lambda = 1e-3;
    for (int it = 0; it < maxit; it++) {
        for (int i = 0; i < n; i++) e[i] = f[i] - y[i];
        if (!jacobian(k, x, n, p, f, J)) return 0;
        double A[LCE_MAXP * LCE_MAXP], g[LCE_MAXP], M[LCE_MAXP * LCE_MAXP];
        double d[LCE_MAXP], b[LCE_MAXP], q[LCE_MAXP];
        normal_eq(J, r, e, n, m, A, g);
        for (int a = 0; a < m; a++) {
            if (!isfin(g[a])) return 0;
            b[a] = -g[a];
        }
        int accepted = 0, vanished = 0;
        while (lambda <= 1e12) {
            memcpy(M, A, sizeof M);
            for (int a = 0; a < m; a++) M[a * m + a] += lambda * (A[a * m + a] + 1e-12);
            if (!chol_solve(M, b, d, m)) {
                lambda *= 10.0;
                continue;
            }
            memcpy(q, p, sizeof q);
            double dmax = 0.0;
            for (int a = 0; a < m; a++) {
                q[a] = p[a] + d[a];
                const double rel = fabs(d[a]) / (fabs(p[a]) + 1e-10);
                if (rel > dmax) dmax = rel;
            }
            const double Sq = wss(k, x, y, r, n, q, fn);
            if (isfin(Sq) && Sq < S) {
                const double dec = (S - Sq) / S;
                memcpy(p, q, sizeof q);
                double *tmp = f;
                f = fn;
                fn = tmp;
                S = Sq;
                lambda = lambda * 0.1 > 1e-12 ? lambda * 0.1 : 1e-12;
                accepted = 1;
                if (dec < 1.49e-8 || dmax < 1.49e-8 || S == 0.0) {
                    *S_out = S;
                    return 1;
                }
                break;
            }
            if (dmax < 1.49e-8) {        /* the step vanished: at a minimum */
                vanished = 1;
                break;
            }
            lambda *= 10.0;
        }
        if (!accepted) {
            /* at a minimum (MINPACK's xtol test); no step reducing S at any damping is
             * MINPACK's "no further reduction possible" (status 6-8), which the original
             * counts as a failed fit */
            *S_out = S;
            return vanished;
        }
    }
    return 0;
}

/* Family k's fit to the n points (x, y) with recency weights r (already negated in mode
 * "min"): 1 when it is kept (the fit converged to finite parameters from the original's
 * starting point, and f(T) is strictly inside (lo, hi) and not below f(2): the original's
 * prior; strictly, so that a value at the bound reached by underflow is not kept), with
 * p, *S (weighted sum of squares) and *mu = f(T) set.  work: 14 n doubles. */
static int keep_fit(int k, const double *x, const double *y, const double *r, int n, double T,
                    double lo, double hi, double *work, double *p, double *S, double *mu) {
    for (int j = 0; j < LCE_MAXP; j++) p[j] = P0[k][j];
    *S = NAN;
    if (!lm_fit(k, x, y, r, n, LCE_MAXIT, work, p, S)) return 0;
    for (int j = 0; j < NP[k]; j++)
        if (!isfin(p[j])) return 0;
    const double fT = lc_lce_family(k, T, p), f2 = lc_lce_family(k, 2.0, p);
    if (!isfin(fT) || !(fT > lo && fT < hi) || f2 > fT) return 0;
    *mu = fT;
    return 1;
}

/* Recency weights 10^(i/n), i = 0..n-1, into r; returns their sum. */
static double recency(double *r, int n) {
    const double base = pow(10.0, 1.0 / n);
    double rsum = 0.0;
    for (int i = 0; i < n; i++) {
        r[i] = pow(base, (double)i);
        rsum += r[i];
    }
    return rsum;
}

/* Every family's fit to the n points (x, y) with recency weights r: ok[k] (kept), mu[k] =
 * f(T), S[k] (weighted sum of squares; NaN where not kept), par[k * 4 ..] its parameters.
 * work: 14 n doubles.  Returns the number kept. */
static int32_t fit_all(const double *x, const double *y, const double *r, int32_t n, double T,
                       double lo, double hi, double *work, int32_t *ok, double *mu,
                       double *S, double *par) {
    int32_t kept = 0;
    for (int k = 0; k < LCE_NF; k++) {
        ok[k] = keep_fit(k, x, y, r, n, T, lo, hi, work, par + k * LCE_MAXP, &S[k], &mu[k]);
        if (!ok[k]) mu[k] = S[k] = NAN;
        kept += ok[k];
    }
    return kept;
}

/* The kept families' fits for one curve (x, y: n points, already negated in mode "min").
 * Per family k (arrays of LCE_NF): ok[k], mu[k] = f(T), s2[k] = recency-weighted mean squared
 * residual, par[k * 4 ..] its parameters.  work: 15 n doubles.  Returns the number kept. */
int32_t lc_lce_fit(const double *x, const double *y, int32_t n, double T, double lo,
                   double hi, double *work, int32_t *ok, double *mu, double *s2, double *par) {
    const double rsum = recency(work, n);
    const int32_t kept = fit_all(x, y, work, n, T, lo, hi, work + n, ok, mu, s2, par);
    for (int k = 0; k < LCE_NF; k++) s2[k] /= rsum;
    return kept;
}

/* Standard normal upper tail 1 - Phi(z) (erfc, accurate in the tail). */
static double upper_tail(double z) { return 0.5 * erfc(z * 0.70710678118654752440); }

/* The noise standard deviation used is LCE_NOISE_SHARE^(1/2) times the standard deviation of
 * the residuals of the kept families' equal-weight combination (the MCMC's starting sigma);
 * the constant was chosen against the MCMC reference on a development set of real curves
 * (bench/lce.py --split dev), see docs/stopping.md. */
#define LCE_NOISE_SHARE 0.5
/* The pseudo-observation f(T) = y_best is weighted LCE_PIN times the curve's total weight;
 * the pinned fit counts when it lands within LCE_PIN_TOL (relative to max(1, |y_best|)). */
#define LCE_PIN 1e8
#define LCE_PIN_TOL 1e-3
/* at most this many steps for a pinned fit (it starts at the family's fit) */
#define LCE_PIN_MAXIT 10

/* P(y(T) > y_best) for the curve's t values (NaN: not observed) in the table's units;
 * mode +1 / -1 (-1: values and y_best negated, sanity range [-hi, -lo]).  work:
 * lc_lce_work(t) doubles.  Returns NaN when no family could be kept.
 *
 * Per kept family k: the profile likelihood of f(T) at y_best.  The family is refitted from
 * its fit with the extra pseudo-observation (T, y_best) of weight LCE_PIN * sum(r), which pins
 * f(T) to y_best; dS = S_pinned - S (weighted sums of squares over the observed points) is
 * the cost of reaching y_best, and z = sqrt(dS / sum(r)) / sigma its likelihood-ratio
 * deviate.  That gives the parameter uncertainty of f(T) as sd = |y_best - mu| / z; with the
 * noise, P_k = 1 - Phi((y_best - mu) / sqrt(sd^2 + sigma^2)).  A family that cannot be pinned
 * there gives P_k = 0 (y_best above its fit) or 1 (below).  P = the mean of the P_k. */
double lc_lce_prob(const double *curve, int32_t t, int32_t T, double y_best, int32_t mode,
                   double lo, double hi, double *work) {
    double *x = work, *y = work + (t + 1), *w = work + 2 * (t + 1);
    int32_t n = 0;
    for (int32_t i = 0; i < t; i++) {
        if (curve[i] != curve[i]) continue;
        x[n] = (double)(i + 1);
        y[n] = mode > 0 ? curve[i] : -curve[i];
        n++;
    }
    if (n == 0) return NAN;
    double L = lo, H = hi, yb = y_best;
    if (mode < 0) {
        L = -hi;
        H = -lo;
        yb = -y_best;
    }
    int32_t ok[LCE_NF];
    double mu[LCE_NF], S[LCE_NF], par[LCE_NF * LCE_MAXP];
    double *r = w, *fw = w + (n + 1);         /* r: n + 1 weights; fw: 14 (n + 1) */
    const double rsum = recency(r, n);
    const int32_t K = fit_all(x, y, r, n, (double)T, L, H, fw, ok, mu, S, par);
    if (K == 0) return NAN;
    /* sigma: the residuals of the equal-weight combination (population std) */
    double rs = 0.0, rq = 0.0;
    for (int i = 0; i < n; i++) {
        double c = 0.0;
        for (int k = 0; k < LCE_NF; k++)
            if (ok[k]) c += lc_lce_family(k, x[i], par + k * LCE_MAXP);
        const double e = y[i] - c / K;
        rs += e;
        rq += e * e;
    }
    const double em = rs / n, sv = rq / n - em * em;
    const double sig2 = LCE_NOISE_SHARE * (sv > 0.0 ? sv : 0.0);
    /* the pinned fits: the observed points plus (T, y_best) */
    x[n] = (double)T;
    y[n] = yb;
    r[n] = LCE_PIN * rsum;
    const double tol = LCE_PIN_TOL * (fabs(yb) > 1.0 ? fabs(yb) : 1.0);
    double P = 0.0;
    for (int k = 0; k < LCE_NF; k++) {
        if (!ok[k]) continue;
        const double d = yb - mu[k];
        double q[LCE_MAXP], Sp;
        memcpy(q, par + k * LCE_MAXP, sizeof q);
        /* q: the best point the fit reached (it need not have converged: a pinned fit that
         * still moves along a flat direction gives an upper bound on the profile cost) */
        (void)lm_fit(k, x, y, r, n + 1, LCE_PIN_MAXIT, fw, q, &Sp);
        const int pinned = fabs(lc_lce_family(k, (double)T, q) - yb) <= tol;
        /* the cost over the observed points only (the pin's own residual left out) */
        const double dS = pinned ? wss(k, x, y, r, n, q, fw) - S[k] : NAN;
        if (!isfin(dS)) {
            P += d > 0.0 ? 0.0 : (d < 0.0 ? 1.0 : 0.5);
            continue;
        }
        /* sd^2 = d^2 sigma^2 sum(r) / dS (infinite when reaching y_best costs nothing) */
        const double var = dS > 0.0 ? d * d * sig2 * rsum / dS + sig2 : INFINITY;
        double pk;
        if (d == 0.0 || var == INFINITY) pk = 0.5;
        else if (!(var > 0.0)) pk = d > 0.0 ? 0.0 : 1.0;
        else pk = upper_tail(d / sqrt(var));
        P += pk;
    }
    return P / K;
}

/* Doubles of work lc_lce_prob needs for a curve of t epochs. */
int64_t lc_lce_work(int32_t t) { return (int64_t)17 * ((int64_t)t + 1); }

/* ---- the rule: par = {delta, min_epochs, y_low, y_high} -------------------------------- */
typedef struct {
    double delta, lo, hi;
    int32_t min_epochs, mode, T;
    double *work;              /* lc_lce_work(T) doubles */
} lce_rule;

static size_t lce_bytes(const double *par, int32_t T, int64_t cap) {
    (void)par; (void)cap;
    return lc_align64(sizeof(lce_rule)) + (size_t)lc_lce_work(T) * sizeof(double);
}

static int lce_init(void *mem, const double *par, int32_t T, int64_t cap, int32_t mode,
                    const lc_rule *inner) {
    (void)cap; (void)inner;
    lce_rule *r = (lce_rule *)mem;
    r->delta = par[0];
    r->min_epochs = (int32_t)par[1];
    r->lo = par[2];
    r->hi = par[3];
    r->mode = mode;
    r->T = T;
    r->work = (double *)((char *)mem + lc_align64(sizeof(lce_rule)));
    return (r->delta > 0.0 && r->delta < 1.0 && par[1] >= 1.0 && r->lo < r->hi) ? 0 : -1;
}

static int lce_decide(void *self, const lc_history *h, int64_t trial, int32_t t,
                      int32_t *stop) {
    lce_rule *r = (lce_rule *)self;
    const double *curve = LC_CURVE(h, trial);
    const double inc = h->incumbent;
    *stop = 0;
    if (inc != inc || t < r->min_epochs) return 0;
    for (int32_t i = 0; i < t; i++) {   /* the curve already beats the incumbent */
        const double v = curve[i];
        if (v != v) continue;
        if (r->mode > 0 ? v > inc : v < inc) return 0;
    }
    const double p = lc_lce_prob(curve, t, r->T, inc, r->mode, r->lo, r->hi, r->work);
    *stop = (p == p) && p < r->delta;
    return 0;
}

static const lc_rule_ops lce_ops = {NULL, lce_decide, NULL};
const lc_rule_kind lc_kind_lce = {"lce", 4, 0, 0, lce_bytes, lce_init, &lce_ops};
