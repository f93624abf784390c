"""The slow reference of the ``"lce"`` rule: Domhan, Springenberg & Hutter's (IJCAI 2015) MCMC
posterior over a weighted combination of 11 parametric learning-curve families, sampled with
emcee, as their code (``pylrpredictor``: ``curvefunctions.py``, ``curvemodels.py``'s
``MCMCCurveModelCombination``, ``terminationcriterion.py``'s conservative criterion) does it.

Written from that code (Python 2, not installable here), in vectorised NumPy:

- The families, their parameters (in the original's order) and the original's default starting
  values: ``FAMILIES``. The original's "dr_hill" of the ensemble is
  ``dr_hill_zero_background`` (3 parameters); ``loglog_linear`` has no defaults there (1.0 each).
- Each family is fitted alone by least squares (``scipy.optimize.leastsq`` from the defaults,
  residuals weighted by the recency weights ``10 ** (i / n)``, i = 0..n-1) and kept when the fit
  succeeded (MINPACK status 1-4, finite parameters and Jacobian) and its parameters are
  supported by the prior.
- Prior of a family (``ln_model_prior`` with the soft monotonicity constraint): the value at
  ``T`` lies in ``[y_low, y_high]`` (the original's sanity range ``[0, 100]``) and
  ``f(2) <= f(T)``. The parameters themselves have flat, unbounded priors, as there.
- The joint parameter vector is (every kept family's parameters, sigma, one weight per kept
  family); the weights start at 10, sigma at the std of the residuals of the equal-weight
  combination; walkers start in a ball of radius 1e-6 around that point. Weights must be
  >= 0; the curve is ``sum_k (w_k / sum w) f_k(x)``; the likelihood is Gaussian with the
  recency weights on the log densities; a NaN likelihood (sigma <= 0, a family undefined at
  some x) is -inf.
- ``P(y(T) > y_best) = mean over the burned-in, thinned samples of
  1 - Phi((y_best - f(T)) / sigma)`` (``posterior_prob_x_greater_than``, thin 10 as there).
- The decision (``ConservativeTerminationCriterion``): continue when the curve so far already
  beats ``y_best`` or when no family could be fitted; otherwise stop iff ``P < delta``.
  The original's ``cut_beginning`` (dropping a flat start) is not applied: lcore's rule fits
  every observed epoch.

Differences from the original, stated: the original runs 3600 steps with 600 of burn-in; the
defaults here are the same, but a caller may pass fewer (the bench says what it used); the
walkers' random numbers come from a seeded NumPy generator (``seed``). Mode "min" (losses):
every value is negated (a larger negated loss is better) and the sanity range becomes
``[-y_high, -y_low]`` on the negated values, i.e. the loss at ``T`` in ``[y_low, y_high]``.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import leastsq
from scipy.special import ndtr

# name -> (parameter names, default starting values), the original's
FAMILIES = {
    "vap": (("a", "b", "c"), (-0.622028, -0.470050, 0.042322)),
    "ilog2": (("c", "a"), (0.78, 0.43)),
    "weibull": (("alpha", "beta", "kappa", "delta"), (0.7, 0.1, 0.01, 1.0)),
    "pow3": (("c", "a", "alpha"), (0.84, 0.52, 0.01)),
    "pow4": (("c", "a", "b", "alpha"), (0.8, 200.0, 0.0, 0.1)),
    "loglog_linear": (("a", "b"), (1.0, 1.0)),
    "mmf": (("alpha", "beta", "kappa", "delta"), (0.7, 0.1, 0.01, 5.0)),
    "janoschek": (("a", "beta", "k", "delta"), (0.73, 0.07, 0.355, 0.46)),
    "dr_hill": (("theta", "eta", "kappa"), (0.772320, 0.586449, 2.460843)),
    "log_power": (("a", "b", "c"), (0.77, 2.98, -0.51)),
    "exp4": (("c", "a", "b", "alpha"), (0.7, 0.8, -0.8, 0.3)),
}
NAMES = tuple(FAMILIES)


def family(name, x, p):
    """``f(x; p)``; ``x`` broadcasts against the parameter columns ``p[..., j]``."""
    with np.errstate(all="ignore"):
        if name == "vap":
            return np.exp(p[..., 0] + p[..., 1] / x + p[..., 2] * np.log(x))
        if name == "ilog2":
            return p[..., 0] - p[..., 1] / np.log(x + 1.0)
        if name == "weibull":
            a, b, k, d = (p[..., j] for j in range(4))
            return a - (a - b) * np.exp(-((k * x) ** d))
        if name == "pow3":
            return p[..., 0] - p[..., 1] * x ** (-p[..., 2])
        if name == "pow4":
            return p[..., 0] - (p[..., 1] * x + p[..., 2]) ** (-p[..., 3])
        if name == "loglog_linear":
            return np.log(p[..., 0] * np.log(x) + p[..., 1])
        if name == "mmf":
            a, b, k, d = (p[..., j] for j in range(4))
            return a - (a - b) / (1.0 + (k * x) ** d)
        if name == "janoschek":
            a, b, k, d = (p[..., j] for j in range(4))
            return a - (a - b) * np.exp(-k * x ** d)
        if name == "dr_hill":
            th, eta, kap = (p[..., j] for j in range(3))
            return th * x ** eta / (kap ** eta + x ** eta)
        if name == "log_power":
            return p[..., 0] / (1.0 + (x / np.exp(p[..., 1])) ** p[..., 2])
        if name == "exp4":
            c, a, b, al = (p[..., j] for j in range(4))
            return c - np.exp(-a * x ** al + b)
    raise ValueError(f"unknown family {name!r}")


def recency_weights(n):
    """The original's ``10 ** (i / n)``, i = 0..n-1 (the last point weighs ~10x the first)."""
    return (10.0 ** (1.0 / n)) ** np.arange(n)


def _prior_ok(name, p, T, lo, hi):
    """The original's family prior: finite f(T) in [lo, hi] and f(2) <= f(T) (per row of p)."""
    yT = family(name, float(T), p)
    y2 = family(name, 2.0, p)
    with np.errstate(invalid="ignore"):
        return ~((yT < lo) | (yT > hi)) & ~(y2 > yT)


def ml_fits(x, y, T, lo, hi):
    """The original's individual ML fits: [(name, params)] for the families kept."""
    w = np.sqrt(recency_weights(len(y)))
    kept = []
    for name in NAMES:
        p0 = np.array(FAMILIES[name][1])

        def res(p, name=name):
            return w * (family(name, x, p) - y)

        try:
            with np.errstate(all="ignore"):
                popt, _cov, info, _msg, status = leastsq(res, x0=p0, full_output=True)
        except Exception:  # noqa: BLE001 - the original catches everything and moves on
            continue
        if np.any(np.isnan(info["fjac"])) or status not in (1, 2, 3, 4):
            continue
        if np.any(~np.isfinite(popt)):
            continue
        if not _prior_ok(name, popt[None, :], T, lo, hi)[0]:
            continue
        kept.append((name, popt))
    return kept


class Combination:
    """The joint posterior of the kept families' parameters, sigma and weights."""

    def __init__(self, x, y, T, fits, lo, hi):
        self.x, self.y, self.T, self.lo, self.hi = x, y, float(T), lo, hi
        self.names = [n for n, _ in fits]
        self.sizes = [len(p) for _, p in fits]
        self.offsets = np.cumsum([0] + self.sizes)
        self.K = len(fits)
        self.rw = recency_weights(len(y))
        self.xx = np.concatenate([x, [2.0, float(T)]])
        params = np.concatenate([p for _, p in fits])
        ws = np.full(self.K, 10.0)
        yhat = self._curve(params[None, :], ws[None, :], x)[0]
        sigma = float((y - yhat).std())
        self.theta0 = np.concatenate([params, [sigma], ws])
        self.ndim = len(self.theta0)

    def _split(self, th):
        P = self.offsets[-1]
        return th[:, :P], th[:, P], th[:, P + 1:]

    def _curve(self, params, ws, x):
        wn = ws / ws.sum(axis=1, keepdims=True)
        out = 0.0
        for k, name in enumerate(self.names):
            p = params[:, self.offsets[k]:self.offsets[k + 1]]
            fx = family(name, np.asarray(x, dtype=float)[None, ...] if np.ndim(x) else x,
                        p[:, None, :] if np.ndim(x) else p)
            out = out + (wn[:, k:k + 1] if np.ndim(x) else wn[:, k]) * fx
        return out

    def log_prob(self, th):
        """Vectorised over walkers: th (m, ndim) -> (m,)."""
        th = np.atleast_2d(th)
        params, sigma, ws = self._split(th)
        ok = np.all(ws >= 0, axis=1)
        wn = ws / ws.sum(axis=1, keepdims=True)
        n = len(self.x)
        yhat = 0.0
        with np.errstate(all="ignore"):
            for k, name in enumerate(self.names):
                f = family(name, self.xx[None, :],
                           params[:, None, self.offsets[k]:self.offsets[k + 1]])
                f2, fT = f[:, n], f[:, n + 1]
                ok &= ~((fT < self.lo) | (fT > self.hi)) & ~(f2 > fT)
                yhat = yhat + wn[:, k:k + 1] * f[:, :n]
            s = sigma[:, None]
            z = (self.y[None, :] - yhat) / s
            logpdf = -0.5 * z * z - np.log(s) - 0.5 * math.log(2 * math.pi)
            ll = (self.rw[None, :] * logpdf).sum(axis=1)
        return np.where(np.isnan(ll) | ~ok, -np.inf, ll)

    def prob_greater(self, samples, y_best):
        params, sigma, ws = self._split(samples)
        fT = self._curve(params, ws, self.T)
        with np.errstate(all="ignore"):
            p = 1.0 - ndtr((y_best - fT) / sigma)
        p = p[np.isfinite(p)]
        return float(p.mean()) if p.size else math.nan


def reference_prob(curve, T, y_best, *, mode="max", y_low=0.0, y_high=100.0, nwalkers=100,
                   nsamples=3600, burn_in=600, thin=10, seed=0):
    """``P(y(T) > y_best)`` from the MCMC posterior (None when no family could be fitted).

    Parameters
    ----------
    curve : array_like, shape (t,)
        The values at epochs ``1 .. t`` (NaN: not observed; skipped).
    T : int
        The horizon (the epoch predicted).
    y_best : float
        The incumbent, in the table's units.
    mode : {"max", "min"}
        "min": values and ``y_best`` are negated (the probability is that the loss at ``T``
        is below ``y_best``).
    """
    import emcee

    curve = np.asarray(curve, dtype=float)
    obs = np.isfinite(curve)
    x = np.arange(1, len(curve) + 1, dtype=float)[obs]
    y = curve[obs]
    lo, hi = y_low, y_high
    if mode == "min":
        y, y_best, lo, hi = -y, -y_best, -y_high, -y_low
    fits = ml_fits(x, y, T, lo, hi)
    if not fits:
        return None
    comb = Combination(x, y, T, fits, lo, hi)
    nw = max(nwalkers, 2 * comb.ndim)
    rng = np.random.default_rng(seed)
    pos = comb.theta0[None, :] + 1e-6 * rng.standard_normal((nw, comb.ndim))
    sampler = emcee.EnsembleSampler(nw, comb.ndim, comb.log_prob, vectorize=True)
    sampler._random = np.random.mtrand.RandomState(seed)
    sampler.run_mcmc(pos, nsamples, progress=False)
    chain = sampler.get_chain()                      # (nsamples, nw, ndim)
    samples = chain[burn_in:].transpose(1, 0, 2).reshape(-1, comb.ndim)
    return comb.prob_greater(samples[::thin], y_best)


def reference_decision(curve, T, y_best, *, delta=0.05, min_epochs=3, mode="max", **kw):
    """The conservative criterion's decision (True: stop); continues with no incumbent, before
    ``min_epochs``, while the curve already beats ``y_best``, or when no family fits."""
    curve = np.asarray(curve, dtype=float)
    t = len(curve)
    if y_best is None or not math.isfinite(y_best) or t < min_epochs:
        return False, None
    best = np.nanmax(curve) if mode == "max" else np.nanmin(curve)
    if (best > y_best) if mode == "max" else (best < y_best):
        return False, None
    p = reference_prob(curve, T, y_best, mode=mode, **kw)
    if p is None or math.isnan(p):
        return False, p
    return p < delta, p
