"""Fuzzing ``lcore.simulate``'s arguments and misbehaving rules and choosers (hypothesis,
derandomized, fixed budget).

Every case must end in a correct result or in the documented exception: ``ValueError`` /
``TypeError`` whose message names the argument (or the rule / chooser, the repeat and the
row), or ``RuntimeError`` for a rule or chooser that raised. No crash, no other exception.
"""

import math

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import lcore  # noqa: E402
from lcore.stopping import Rule  # noqa: E402
from lcore.table import LookupTable, synthetic  # noqa: E402


def fuzz(n):
    return settings(max_examples=n, derandomize=True, database=None, deadline=None,
                    suppress_health_check=list(HealthCheck), print_blob=False)


_T = synthetic("mnist_lenet5", n=40, epochs=4, seed=0)
_LOSS = LookupTable(1.0 - _T.acc, _T.time, unit=_T.unit, meta={"mode": "min"})

ANY = st.one_of(
    st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(allow_nan=True),
    st.text(max_size=12), st.just("top0.5%"), st.just("top" + "9" * 300 + "%"),
    st.lists(st.integers(0, 3), max_size=3), st.just(np.int64(3)), st.just(np.float32(0.5)),
    st.just(math.inf), st.just(10**400), st.just(object()),
)

ARGS = {
    "goal": st.one_of(ANY, st.floats(0, 1), st.sampled_from(["top1%", "top50%", "top0%"])),
    "repeats": st.one_of(ANY, st.integers(1, 3)),
    "seed": st.one_of(ANY, st.integers(0, 2**64)),
    "n_init": st.one_of(ANY, st.integers(0, 45)),
    "max_evals": st.one_of(ANY, st.integers(0, 45)),
    "max_time": st.one_of(ANY, st.floats(0, 1e4)),
    "terminated": st.one_of(ANY, st.sampled_from(["report", "exclude", "oracle"])),
    "objective": st.one_of(ANY, st.sampled_from(["final", "best"])),
    "n_workers": st.one_of(ANY, st.integers(0, 6)),
    "n_jobs": st.one_of(ANY, st.sampled_from([1, -1, None])),
    "rule": st.one_of(ANY, st.sampled_from(["none", "etr1", "etr2", "median", "nope"])),
    "tau": st.one_of(ANY, st.integers(0, 5)),
    "p": st.one_of(ANY, st.floats(-1, 2)),
    "min_completed": st.one_of(ANY, st.integers(0, 2**45)),
    "chooser": st.one_of(ANY, st.sampled_from(["random", "rf-ei"])),
    "chooser_params": st.one_of(
        st.none(), st.dictionaries(st.sampled_from(["n_trees", "bootstrap", "xi",
                                                    "min_samples_leaf", "bogus"]),
                                   ANY, max_size=2)),
    "trace": st.one_of(ANY, st.booleans()),
}


def _ok_error(exc, names):
    text = str(exc)
    return isinstance(exc, (ValueError, TypeError)) and (
        any(n in text for n in names) or "rule" in text or "chooser" in text or "goal" in text
        or "table" in text)


@fuzz(3000)
@given(data=st.data())
def test_fuzz_simulate_arguments(data):
    names = data.draw(st.lists(st.sampled_from(sorted(ARGS)), max_size=4, unique=True))
    kw = {k: data.draw(ARGS[k], label=k) for k in names}
    table = data.draw(st.sampled_from([_T, _LOSS]), label="table")
    kw.setdefault("repeats", 2)
    kw.setdefault("chooser", "random")
    kw["progress"] = False
    if kw.get("n_jobs") not in (1, None):
        kw["n_jobs"] = 1  # processes would make the budget minutes; n_jobs is checked below
    try:
        res = lcore.simulate(table, **kw)
    except (ValueError, TypeError) as exc:
        assert _ok_error(exc, names + ["n_jobs", "progress"]), (kw, exc)
        return
    results = res if isinstance(res, lcore.results.ResultsList) else [res]
    for r in results:
        assert r.success.shape == (r.settings["repeats"],)
        assert np.all(np.isfinite(r.time_to_goal) == r.success.astype(bool))


class Erratic(Rule):
    """A rule whose answer is drawn from anything at all."""

    name = "erratic"

    def __init__(self, answers, mode="max"):
        self.answers = list(answers)
        self.mode = mode
        self.k = 0

    def should_stop(self, curve, history):
        a = self.answers[self.k % len(self.answers)]
        self.k += 1
        if isinstance(a, type) and issubclass(a, Exception):
            raise a("erratic")
        return a


ANSWERS = st.lists(st.one_of(st.booleans(), st.just(np.True_), st.just(np.False_), ANY,
                             st.sampled_from([ZeroDivisionError, KeyError])),
                   min_size=1, max_size=4)


@fuzz(1000)
@given(answers=ANSWERS, rows=st.lists(st.one_of(st.integers(-3, 45), ANY), min_size=1,
                                      max_size=4),
       W=st.integers(1, 3), use_chooser=st.booleans())
def test_fuzz_misbehaving_rules_and_choosers(answers, rows, W, use_chooser):
    rows = list(rows)

    def chooser(X, y, mask, rng):
        return rows[int(mask.sum()) % len(rows)]

    try:
        res = lcore.simulate(_T, rule=Erratic(answers), chooser=chooser if use_chooser else
                             "random", repeats=2, n_workers=W, progress=False, trace=True)
    except (TypeError, ValueError) as exc:
        text = str(exc)
        assert ("rule erratic (repeat" in text and "must return True or False" in text) or (
            "chooser" in text and "(repeat" in text and "returned row" in text), text
        return
    except RuntimeError as exc:
        assert "raised" in str(exc) and "(repeat" in str(exc), str(exc)
        return
    for tr in res.traces:
        assert len(set(tr["row"].tolist())) == len(tr["row"])  # no row twice
