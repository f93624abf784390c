"""Acquisition functions for maximisation, on arrays (the C functions of ``csrc/lc_acq.c``).

With ``imp = mu - best - xi`` and ``z = imp / sigma``:

* expected improvement ``EI = imp * Phi(z) + sigma * phi(z)``, and ``max(imp, 0)`` where
  ``sigma == 0`` (SPEC.md, "Random forest and EI");
* probability of improvement ``PI = Phi(z)``, and ``1 if imp > 0 else 0`` where ``sigma == 0``;
* upper confidence bound ``UCB = mu + kappa * sigma``.

These call the very C function the fused rf-ei chooser uses, so ``ei(mean, np.sqrt(var),
best, xi)`` from :meth:`lcore.RandomForest.predict` reproduces the chooser's scores bit for bit.
"""

from __future__ import annotations

import numbers

import numpy as np

__all__ = ["ei", "expected_improvement", "pi", "probability_of_improvement", "ucb",
           "upper_confidence_bound"]


def _scalar(value, name: str) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a finite real number, got {value!r}")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name} must be a finite real number, got {value!r}")
    return value


def _arrays(mu, sigma):
    mu_a = np.asarray(mu, dtype=np.float64)
    sigma_a = np.asarray(sigma, dtype=np.float64)
    if mu_a.shape != sigma_a.shape:
        raise ValueError(
            f"mu and sigma must have the same shape, got {mu_a.shape} and {sigma_a.shape}"
        )
    if not np.isfinite(mu_a).all():
        raise ValueError("mu must be finite, got NaN or inf")
    if not np.isfinite(sigma_a).all():
        raise ValueError("sigma must be finite, got NaN or inf")
    if (sigma_a < 0).any():
        raise ValueError(
            f"sigma must be >= 0 (a standard deviation), got {sigma_a.min()}"
        )
    shape = mu_a.shape
    return (np.ascontiguousarray(mu_a.ravel()), np.ascontiguousarray(sigma_a.ravel()), shape)


def _out(values: np.ndarray, shape):
    out = values.reshape(shape)
    return float(out) if out.ndim == 0 else out


def expected_improvement(mu, sigma, best: float, xi: float = 0.0):
    """Expected improvement over ``best`` (maximisation).

    Parameters
    ----------
    mu, sigma : array_like, same shape
        Predicted mean and standard deviation (``sqrt`` of the forest's variance), sigma >= 0.
    best : float
        Incumbent (largest observed value).
    xi : float
        Exploration margin (default 0).

    Returns
    -------
    ndarray of mu's shape (a float for scalar input)
    """
    from lcore._core import _forest

    m, s, shape = _arrays(mu, sigma)
    return _out(_forest.acquisition("ei", m, s, _scalar(best, "best"), _scalar(xi, "xi")), shape)


def probability_of_improvement(mu, sigma, best: float, xi: float = 0.0):
    """Probability of improving on ``best + xi`` (maximisation); same arguments as
    :func:`expected_improvement`."""
    from lcore._core import _forest

    m, s, shape = _arrays(mu, sigma)
    return _out(_forest.acquisition("pi", m, s, _scalar(best, "best"), _scalar(xi, "xi")), shape)


def upper_confidence_bound(mu, sigma, kappa: float = 1.96):
    """``mu + kappa * sigma``; mu and sigma as in :func:`expected_improvement`."""
    from lcore._core import _forest

    m, s, shape = _arrays(mu, sigma)
    return _out(_forest.acquisition("ucb", m, s, _scalar(kappa, "kappa"), 0.0), shape)


ei = expected_improvement
pi = probability_of_improvement
ucb = upper_confidence_bound
