"""The C RNG (csrc/lc_rng.h, through lcore._core._rng) against its pure-Python mirror."""

from __future__ import annotations

import numpy as np
import pytest

from lcore._core import _rng as crng
from lcore._rng import PyRng, as_seed_sequence, state_from_seed_sequence

STATES = [
    state_from_seed_sequence(np.random.SeedSequence(0)),
    state_from_seed_sequence(np.random.SeedSequence(12345)),
    np.array([1, 0, 0, 0], dtype=np.uint64),
    np.array([2**64 - 1] * 4, dtype=np.uint64),
]


@pytest.mark.parametrize("state", STATES)
def test_next_matches_mirror(state):
    py = PyRng(state)
    want = np.array([py.next() for _ in range(500)], dtype=np.uint64)
    assert np.array_equal(crng.draws(state, 500, "next"), want)


@pytest.mark.parametrize("state", STATES)
def test_uniform_matches_mirror(state):
    py = PyRng(state)
    want = np.array([py.uniform() for _ in range(300)])
    got = crng.draws(state, 300, "uniform")
    assert got.tobytes() == want.tobytes()
    assert got.min() >= 0.0 and got.max() < 1.0


@pytest.mark.parametrize("bound", [1, 2, 3, 10, 2**32 + 7, 2**63 + 1, 2**64 - 1])
def test_bounded_matches_mirror(bound):
    state = STATES[1]
    py = PyRng(state)
    want = np.array([py.bounded(bound) for _ in range(200)], dtype=np.uint64)
    got = crng.draws(state, 200, "bounded", bound)
    assert np.array_equal(got, want)
    assert np.all(got < bound)


def test_bounded_rejects_low_remainder_like_mirror():
    # bound 2^63 + 1: almost half of all words are rejected, so the draw counts must agree
    state = STATES[0]
    py = PyRng(state)
    [py.bounded(2**63 + 1) for _ in range(50)]
    after = crng.draws(state, 200, "next")  # C stream, to locate where the mirror stopped
    nxt = py.next()
    assert nxt in after.tolist()
    assert after.tolist().index(nxt) > 50  # rejections consumed extra words


def test_bounded_is_roughly_uniform():
    got = crng.draws(STATES[0], 60000, "bounded", 6)
    counts = np.bincount(got.astype(np.int64), minlength=6)
    assert np.all(np.abs(counts / 60000 - 1 / 6) < 0.01)


@pytest.mark.parametrize("seed", [0, 1, 2**63, 2**64 - 1])
def test_seed64_matches_mirror(seed):
    assert crng.seed64_state(seed).tolist() == PyRng.from_seed64(seed).s


def test_all_zero_state_falls_back_to_seed64_zero():
    zero = np.zeros(4, dtype=np.uint64)
    assert np.array_equal(crng.draws(zero, 20), crng.draws(crng.seed64_state(0), 20))
    assert PyRng(zero).s == PyRng.from_seed64(0).s


def test_seed_sequence_state_deterministic():
    a = state_from_seed_sequence(as_seed_sequence(7))
    b = state_from_seed_sequence(as_seed_sequence(np.random.SeedSequence(7)))
    c = state_from_seed_sequence(as_seed_sequence(8))
    assert a.dtype == np.uint64 and a.shape == (4,)
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    g1 = as_seed_sequence(np.random.default_rng(3))
    g2 = as_seed_sequence(np.random.default_rng(3))
    assert g1.entropy == g2.entropy


@pytest.mark.parametrize(
    "seed,exc,match",
    [
        (-1, ValueError, r"seed must be a non-negative int, got -1"),
        (True, TypeError, r"seed must be None, .* got True of type bool"),
        (1.5, TypeError, r"seed must be None, .* got 1.5 of type float"),
        ("7", TypeError, r"seed must be None, .* got '7' of type str"),
    ],
)
def test_bad_seed(seed, exc, match):
    with pytest.raises(exc, match=match):
        as_seed_sequence(seed)


def test_pyrng_bad_state():
    with pytest.raises(ValueError, match=r"state must have 4 uint64 words, got 3"):
        PyRng(np.zeros(3, dtype=np.uint64))
