/* lc_ei.c: EI, PI and UCB (lc_acq.h). */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

#include "lc_acq_internal.h"

double lc_ei(double mu, double sigma, double best, double xi) {
    const double imp = mu - best - xi;
    if (!(sigma > 0.0)) return imp > 0.0 ? imp : 0.0;
    const double z = imp / sigma;
    const double cdf = 0.5 * erfc(-z * LC_INV_SQRT2);
    const double pdf = exp(-0.5 * z * z) * LC_INV_SQRT2PI;
    return imp * cdf + sigma * pdf;
}

double lc_pi(double mu, double sigma, double best, double xi) {
    const double imp = mu - best - xi;
    if (!(sigma > 0.0)) return imp > 0.0 ? 1.0 : 0.0;
    return 0.5 * erfc(-(imp / sigma) * LC_INV_SQRT2);
}

double lc_ucb(double mu, double sigma, double kappa) { return mu + kappa * sigma; }

void lc_ei_array(const double *mu, const double *sigma, int64_t n, double best, double xi,
                 double *out) {
    for (int64_t i = 0; i < n; i++) out[i] = lc_ei(mu[i], sigma[i], best, xi);
}

void lc_pi_array(const double *mu, const double *sigma, int64_t n, double best, double xi,
                 double *out) {
    for (int64_t i = 0; i < n; i++) out[i] = lc_pi(mu[i], sigma[i], best, xi);
}

void lc_ucb_array(const double *mu, const double *sigma, int64_t n, double kappa, double *out) {
    for (int64_t i = 0; i < n; i++) out[i] = lc_ucb(mu[i], sigma[i], kappa);
}
