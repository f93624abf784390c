"""The "lce" rule (learning-curve extrapolation): its C twin, by-name use, parameters, and its
decisions against the MCMC reference (tests/lce_reference.py, emcee) on a few curves."""

import math
import sys
from pathlib import Path

import numpy as np
import pytest

import lcore
from lcore._core import _rule_lce
from lcore.stopping import LCE, History, Monitor, get_rule

sys.path.insert(0, str(Path(__file__).parent))
from _replay_helpers import awkward_max_table, check_c_twin, loss_table  # noqa: E402


def test_registered_in_c():
    from lcore._core import _replay

    assert _replay.c_rule_kinds()["lce"] == (4, 0, 0)


def test_c_twin_on_accuracy_table():
    t = awkward_max_table()
    res = check_c_twin(LCE(min_epochs=2), t, goal="top5%")
    assert sum(r.n_stopped.sum() for r in res) > 0


def test_c_twin_on_loss_table():
    t = loss_table()
    res = check_c_twin(LCE(min_epochs=2, mode="min"), t, goal="top5%")
    assert sum(r.n_stopped.sum() for r in res) > 0


def test_by_name_in_simulate_and_monitor():
    t = awkward_max_table()
    a = lcore.simulate(t, rule="lce", min_epochs=2, repeats=3, seed=1, progress=False,
                       chooser="random")
    assert a.n_stopped.sum() > 0
    m = Monitor("lce", horizon=20, min_epochs=3)
    # trial "a" completes at 0.9: the incumbent
    for e in range(1, 21):
        m.report("a", e, 0.9 - 0.5 * 0.7 ** e)
    m.complete("a")
    stops = [m.report("b", e, 0.5 - 0.3 * 0.6 ** e) for e in range(1, 9)]
    assert stops[:2] == [False, False] and stops[-1] is True


def test_decisions_by_hand():
    T = 20
    flat = 0.5 - 0.3 * 0.6 ** np.arange(1, 9)
    rising = 0.95 - 0.9 * 0.9 ** np.arange(1, 6)
    r = LCE()
    assert not r.should_stop(flat, History(horizon=T))                 # no incumbent
    assert not r.should_stop(flat[:2], History(horizon=T, incumbent=0.9))  # t < min_epochs
    assert r.should_stop(flat, History(horizon=T, incumbent=0.9))
    assert not r.should_stop(flat, History(horizon=T, incumbent=0.45))  # already beats it
    assert not r.should_stop(rising, History(horizon=T, incumbent=0.8))  # still climbing
    # mode "min": the mirrored loss curve decides as the accuracy curve
    lm = LCE(mode="min", y_low=-100.0, y_high=0.0)
    h = History(horizon=T, incumbent=-0.9, mode="min")
    assert lm.should_stop(-flat, h)
    assert lm.probability(-flat, h) == r.probability(flat, History(horizon=T, incumbent=0.9))
    # gaps are skipped, not fitted
    gap = flat.copy()
    gap[3] = np.nan
    assert math.isfinite(r.probability(gap, History(horizon=T, incumbent=0.9)))


def test_fast_fit_finds_the_generating_family():
    # pow3 with c=0.8, a=0.5, alpha=0.7: the pow3 fit recovers f(T)
    x = np.arange(1, 11, dtype=float)
    y = 0.8 - 0.5 * x ** -0.7
    ok, mu, s2, _par = _rule_lce.fit(x, y, 40.0, 0.0, 100.0)
    k = 3
    assert ok[k]
    assert mu[k] == pytest.approx(0.8 - 0.5 * 40.0 ** -0.7, abs=1e-6)
    assert s2[k] < 1e-12
    assert _rule_lce.family(k, 2.0, np.array([0.8, 0.5, 0.7])) == pytest.approx(
        0.8 - 0.5 * 2 ** -0.7)


@pytest.mark.parametrize("kw,match", [
    ({"delta": 0.0}, r"rule 'lce': delta must be a number in \(0, 1\), got 0.0"),
    ({"delta": 1.5}, r"rule 'lce': delta must be a number in \(0, 1\), got 1.5"),
    ({"delta": "a"}, r"rule 'lce': delta must be a number in \(0, 1\), got 'a'"),
    ({"min_epochs": 0}, r"rule 'lce': min_epochs must be an int >= 1, got 0"),
    ({"min_epochs": 2.5}, r"rule 'lce': min_epochs must be an int >= 1, got 2.5"),
    ({"y_low": float("nan")}, r"rule 'lce': y_low must be a real number \(inf allowed\), "
                              r"got nan"),
    ({"y_high": None}, r"rule 'lce': y_high must be a real number \(inf allowed\), got None"),
    ({"y_low": 2.0, "y_high": 1.0}, r"rule 'lce': y_low must be < y_high .*got y_low=2.0 >= "
                                    r"y_high=1.0"),
    ({"y_low": 1.0, "y_high": 1.0}, r"rule 'lce': y_low must be < y_high .*got y_low=1.0 >= "),
    ({"mode": "up"}, r"mode must be 'max' or 'min', got 'up'"),
])
def test_bad_parameters(kw, match):
    with pytest.raises(ValueError, match=match):
        get_rule("lce", **kw)


# ---- against the MCMC reference (few, short chains: the full comparison is bench/lce.py) ---

def _cases():
    """Curves whose reference decision is clear either way (real-looking shapes)."""
    e = np.arange(1, 13, dtype=float)
    return [
        # flattened far below the incumbent: both stop
        (0.55 - 0.3 * 0.6 ** e[:10], 30, 0.9, "max", True),
        # a loss that has stopped improving far above the incumbent: both stop
        (1.2 + 0.8 * 0.6 ** e[:10], 30, 0.6, "min", True),
        # still climbing steeply towards the incumbent: both continue
        (0.95 - 0.9 * 0.85 ** e[:6], 30, 0.85, "max", False),
        # close under the incumbent and still rising: both continue
        (0.80 - 0.4 * 0.8 ** e[:8], 20, 0.79, "max", False),
    ]


@pytest.mark.parametrize("case", range(4))
def test_fast_decides_as_the_mcmc_reference(case):
    pytest.importorskip("emcee")
    from lce_reference import reference_decision

    curve, T, y_best, mode, expected = _cases()[case]
    # a shorter chain than the original's 3600 steps (600 burn-in), 100 walkers as there
    stop_ref, p_ref = reference_decision(curve, T, y_best, mode=mode, nsamples=500,
                                         burn_in=200, seed=case)
    h = History(horizon=T, incumbent=y_best, mode=mode)
    stop_fast = LCE(mode=mode).should_stop(curve, h)
    assert stop_ref == expected, p_ref
    assert stop_fast == stop_ref, (p_ref, LCE(mode=mode).probability(curve, h))
