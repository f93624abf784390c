"""lcore.acquisition against a SciPy implementation of the formulas of docs/semantics.md."""

import numpy as np
import pytest

from lcore import acquisition

stats = pytest.importorskip("scipy.stats")


def _ei_scipy(mu, sigma, best, xi):
    imp = mu - best - xi
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        z = imp / sigma
        ei = imp * stats.norm.cdf(z) + sigma * stats.norm.pdf(z)
    return np.where(sigma > 0, ei, np.maximum(imp, 0.0))


def _cases(seed=0, n=5000):
    rng = np.random.default_rng(seed)
    mu = rng.normal(0.5, 0.3, n)
    sigma = rng.exponential(0.1, n)
    sigma[::7] = 0.0  # the sigma == 0 case, mixed in
    sigma[1::11] = 1e-300  # tiny but positive
    return mu, sigma


@pytest.mark.parametrize("xi", [0.0, 0.01, -0.05])
def test_ei_equals_scipy_formula(xi):
    mu, sigma = _cases()
    got = acquisition.ei(mu, sigma, 0.6, xi)
    np.testing.assert_allclose(got, _ei_scipy(mu, sigma, 0.6, xi), rtol=1e-12, atol=1e-12)
    assert (got >= 0).all()


def test_ei_sigma_zero_is_positive_part_of_improvement():
    mu = np.array([0.2, 0.7, 0.5, 0.5])
    got = acquisition.expected_improvement(mu, np.zeros(4), best=0.5, xi=0.0)
    np.testing.assert_array_equal(got, [0.0, 0.7 - 0.5, 0.0, 0.0])


def test_pi_and_ucb_equal_scipy():
    mu, sigma = _cases(1)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        pi_ref = np.where(sigma > 0, stats.norm.cdf((mu - 0.6 - 0.01) / sigma),
                          (mu - 0.6 - 0.01 > 0).astype(float))
    np.testing.assert_allclose(acquisition.pi(mu, sigma, 0.6, 0.01), pi_ref, rtol=1e-12,
                               atol=1e-12)
    np.testing.assert_array_equal(acquisition.ucb(mu, sigma, 2.0), mu + 2.0 * sigma)


def test_shapes_and_scalars():
    mu, sigma = _cases(2, 12)
    got = acquisition.ei(mu.reshape(3, 4), sigma.reshape(3, 4), 0.5)
    assert got.shape == (3, 4)
    np.testing.assert_array_equal(got.ravel(), acquisition.ei(mu, sigma, 0.5))
    s = acquisition.ei(0.7, 0.1, 0.5)
    assert isinstance(s, float)
    assert s == pytest.approx(float(_ei_scipy(np.array(0.7), np.array(0.1), 0.5, 0.0)),
                              rel=1e-12)
    assert acquisition.ei(np.array([]), np.array([]), 0.5).shape == (0,)


def test_bad_inputs():
    with pytest.raises(ValueError, match=r"mu and sigma must have the same shape, got \(3,\) "
                                         r"and \(2,\)"):
        acquisition.ei(np.zeros(3), np.zeros(2), 0.5)
    with pytest.raises(ValueError, match="mu must be finite"):
        acquisition.ei([np.nan], [0.1], 0.5)
    with pytest.raises(ValueError, match="sigma must be finite"):
        acquisition.ei([0.1], [np.inf], 0.5)
    with pytest.raises(ValueError, match=r"sigma must be >= 0 \(a standard deviation\), "
                                         r"got -0.1"):
        acquisition.ei([0.1], [-0.1], 0.5)
    with pytest.raises(ValueError, match="best must be a finite real number, got nan"):
        acquisition.ei([0.1], [0.1], np.nan)
    with pytest.raises(ValueError, match="xi must be a finite real number, got 'a'"):
        acquisition.pi([0.1], [0.1], 0.5, "a")
    with pytest.raises(ValueError, match="kappa must be a finite real number, got inf"):
        acquisition.ucb([0.1], [0.1], np.inf)
