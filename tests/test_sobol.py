"""lcore.sobol / lcore.qmc.Sobol against scipy.stats.qmc.Sobol and slow references."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from lcore._rng import PyRng, as_seed_sequence, state_from_seed_sequence
from lcore.qmc import BITS, MAXDIM, Sobol, sobol

qmc = pytest.importorskip("scipy.stats.qmc")


def scipy_points(n: int, d: int, skip: int = 0) -> np.ndarray:
    eng = qmc.Sobol(d, scramble=False)
    if skip:
        eng.fast_forward(skip)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy warns when n is not a power of 2
        return eng.random(n)


def same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()


def gray_reference(index: int, d: int) -> np.ndarray:
    """Point ``index`` from scipy's own direction numbers by the Gray-code formula."""
    sv = qmc.Sobol(d, scramble=False)._sv  # (d, bits) uint32, scipy's table
    gray = index ^ (index >> 1)
    q = np.zeros(d, dtype=np.uint32)
    for b in range(BITS):
        if (gray >> b) & 1:
            q ^= sv[:, b]
    return q.astype(np.float64) / 2.0**BITS


# ---------------------------------------------------------------- bit-for-bit vs scipy

CASES = [
    (1, 0),
    (2, 0),
    (5, 0),
    (256, 0),
    (1000, 0),
    (1, 1),
    (257, 1),
    (333, 7),
    (64, 64),
    (100, 12345),
]


@pytest.mark.parametrize("d", [1, 2, 9, 21, 100, 1111])
@pytest.mark.parametrize("n,skip", CASES)
def test_equals_scipy(d, n, skip):
    got = sobol(n, d, skip=skip)
    assert same_bits(got, scipy_points(n, d, skip))


def test_equals_scipy_all_dimensions():
    got = sobol(5, MAXDIM, skip=3)
    assert same_bits(got, scipy_points(5, MAXDIM, 3))


def test_first_point_is_origin():
    assert np.all(sobol(1, 50) == 0.0)


def test_end_of_sequence_matches_gray_reference():
    # scipy's fast_forward walks every point, so check the last points against the formula
    d, n = 7, 5
    skip = 2**BITS - n
    got = sobol(n, d, skip=skip)
    want = np.stack([gray_reference(skip + i, d) for i in range(n)])
    assert same_bits(got, want)
    eng = Sobol(d).fast_forward(skip)
    assert same_bits(eng.random(n), want)
    assert eng.num_generated == 2**BITS
    with pytest.raises(ValueError, match=r"n must be at most 2\*\*30 - num_generated = 0"):
        eng.random(1)


def test_large_skip_matches_gray_reference():
    for skip in (2**20 + 3, 987654321):
        got = sobol(3, 4, skip=skip)
        want = np.stack([gray_reference(skip + i, 4) for i in range(3)])
        assert same_bits(got, want)


def test_numpy_integer_arguments_accepted():
    assert same_bits(sobol(np.int64(9), np.int32(3), skip=np.uint8(2)), scipy_points(9, 3, 2))


def test_zero_points():
    out = sobol(0, 4)
    assert out.shape == (0, 4) and out.dtype == np.float64
    eng = Sobol(4)
    assert eng.random(0).shape == (0, 4) and eng.num_generated == 0


# ---------------------------------------------------------------- engine


@pytest.mark.parametrize("scramble", [False, True])
def test_random_in_pieces_equals_one_call(scramble):
    whole = Sobol(6, scramble=scramble, seed=3).random(1000)
    eng = Sobol(6, scramble=scramble, seed=3)
    parts = [eng.random(k) for k in (1, 0, 2, 61, 300, 636)]
    assert eng.num_generated == 1000
    assert same_bits(np.concatenate(parts), whole)


@pytest.mark.parametrize("scramble", [False, True])
def test_fast_forward_equals_generate_and_discard(scramble):
    ref = Sobol(11, scramble=scramble, seed=5)
    ref.random(37)
    ref.random(100)
    want = ref.random(50)

    eng = Sobol(11, scramble=scramble, seed=5)
    assert eng.fast_forward(0) is eng
    eng.random(37)
    eng.fast_forward(100)
    assert eng.num_generated == 137
    assert same_bits(eng.random(50), want)

    eng2 = Sobol(11, scramble=scramble, seed=5).fast_forward(137)
    assert same_bits(eng2.random(50), want)


def test_engine_matches_scipy_engine():
    ours, theirs = Sobol(9), qmc.Sobol(9, scramble=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for op, k in [("random", 3), ("ff", 10), ("random", 17), ("ff", 1), ("random", 64)]:
            if op == "ff":
                ours.fast_forward(k)
                theirs.fast_forward(k)
            else:
                assert same_bits(ours.random(k), theirs.random(k))
    assert ours.num_generated == theirs.num_generated


@pytest.mark.parametrize("scramble", [False, True])
def test_reset(scramble):
    eng = Sobol(3, scramble=scramble, seed=8)
    first = eng.random(20)
    eng.fast_forward(1000)
    assert eng.reset() is eng and eng.num_generated == 0
    assert same_bits(eng.random(20), first)


def test_engine_properties():
    eng = Sobol(4, scramble=True, seed=0)
    assert (eng.d, eng.scramble, eng.bits, eng.num_generated) == (4, True, 30, 0)
    assert "d=4" in repr(eng)


def test_out_written_in_place():
    out = np.full((100, 5), -1.0)
    res = sobol(100, 5, skip=3, out=out)
    assert res is out
    assert same_bits(out, scipy_points(100, 5, 3))
    eng = Sobol(5)
    out2 = np.empty((10, 5))
    assert eng.random(10, out=out2) is out2
    assert same_bits(out2, scipy_points(10, 5))


# ---------------------------------------------------------------- validation


@pytest.mark.parametrize(
    "kwargs,exc,match",
    [
        (dict(n=-1, d=2), ValueError, r"n must be an int >= 0, got -1"),
        (dict(n=2.0, d=2), TypeError, r"n must be an int >= 0, got 2.0 of type float"),
        (dict(n=True, d=2), TypeError, r"n must be an int >= 0, got True of type bool"),
        (dict(n=2, d=0), ValueError, r"d must be an int in \[1, 21201\], got 0"),
        (dict(n=2, d=21202), ValueError, r"d must be an int in \[1, 21201\], got 21202"),
        (dict(n=2, d="3"), TypeError, r"d must be an int in \[1, 21201\], got '3'"),
        (dict(n=2, d=2, skip=-5), ValueError, r"skip must be an int >= 0, got -5"),
        (dict(n=2, d=2, skip=1.5), TypeError, r"skip must be an int >= 0, got 1.5"),
        (
            dict(n=2, d=2, skip=2**30 - 1),
            ValueError,
            r"skip \+ n must be at most 2\*\*30 = 1073741824 .* got skip \+ n = 1073741823 \+ 2",
        ),
        (dict(n=2**30 + 1, d=1), ValueError, r"skip \+ n must be at most 2\*\*30"),
        (dict(n=2, d=2, scramble="yes"), TypeError, r"scramble must be a bool, got 'yes'"),
        (dict(n=2, d=2, scramble=True, seed=-1), ValueError, r"seed must be a non-negative int"),
        (dict(n=2, d=2, scramble=True, seed="x"), TypeError, r"seed must be None"),
    ],
)
def test_bad_arguments(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        sobol(**kwargs)


@pytest.mark.parametrize(
    "out,exc,match",
    [
        ([[0.0, 0.0]] * 3, TypeError, r"out must be a numpy.ndarray, got list"),
        (
            np.zeros((3, 2), dtype=np.float32),
            TypeError,
            r"out must have dtype float64, got float32",
        ),
        (np.zeros((3, 3)), ValueError, r"out must have shape \(n, d\) = \(3, 2\), got \(3, 3\)"),
        (np.zeros(6), ValueError, r"out must have shape \(n, d\) = \(3, 2\), got \(6,\)"),
        (np.zeros((2, 3)).T, ValueError, r"out must be C-contiguous"),
        (np.zeros((6, 2))[::2], ValueError, r"out must be C-contiguous"),
    ],
)
def test_bad_out(out, exc, match):
    with pytest.raises(exc, match=match):
        sobol(3, 2, out=out)
    with pytest.raises(exc, match=match):
        Sobol(2).random(3, out=out)


def test_read_only_out():
    out = np.zeros((3, 2))
    out.flags.writeable = False
    with pytest.raises(ValueError, match=r"out must be writeable"):
        sobol(3, 2, out=out)


def test_engine_bad_arguments():
    with pytest.raises(ValueError, match=r"d must be an int in \[1, 21201\], got -3"):
        Sobol(-3)
    eng = Sobol(2)
    with pytest.raises(ValueError, match=r"n must be an int >= 0, got -2"):
        eng.random(-2)
    with pytest.raises(ValueError, match=r"k must be an int >= 0, got -1"):
        eng.fast_forward(-1)
    with pytest.raises(TypeError, match=r"k must be an int >= 0, got 2.5"):
        eng.fast_forward(2.5)
    eng.random(5)
    with pytest.raises(
        ValueError,
        match=r"k must be at most 2\*\*30 - num_generated = 1073741819 .* got 1073741824",
    ):
        eng.fast_forward(2**30)
    assert eng.num_generated == 5  # a rejected call changes nothing


# ---------------------------------------------------------------- scrambling


def test_scrambled_deterministic_per_seed():
    a = sobol(256, 7, scramble=True, seed=42)
    b = sobol(256, 7, scramble=True, seed=42)
    c = sobol(256, 7, scramble=True, seed=np.random.SeedSequence(42))
    d = sobol(256, 7, scramble=True, seed=43)
    g1 = sobol(256, 7, scramble=True, seed=np.random.default_rng(1))
    g2 = sobol(256, 7, scramble=True, seed=np.random.default_rng(1))
    assert same_bits(a, b) and same_bits(a, c) and same_bits(g1, g2)
    assert not np.any(a == d)  # different seeds: different scramble in every coordinate
    assert not np.any(a[0] == 0.0)  # the shift moves the origin


def test_unscrambled_ignores_seed():
    assert same_bits(sobol(50, 3, seed=1), sobol(50, 3, seed=2))


@pytest.mark.parametrize("seed", [0, 1, 2024])
def test_scrambled_range_and_mean(seed):
    x = sobol(2**14, 32, scramble=True, seed=seed)
    assert x.min() >= 0.0 and x.max() < 1.0
    assert np.all(np.abs(x.mean(axis=0) - 0.5) < 0.01)
    # scrambled points stay distinct in every coordinate (the scramble is a bijection)
    assert all(np.unique(x[:, j]).size == x.shape[0] for j in range(x.shape[1]))


@pytest.mark.parametrize("scramble", [False, True])
def test_net_property(scramble):
    # The first 2^m points of dimensions 1 and 2 form a (0, m, 2)-net: each elementary box
    # of area 2^-m holds exactly one point; LMS + digital shift keeps that.
    m = 8
    x = sobol(2**m, 2, scramble=scramble, seed=11)
    for a in range(m + 1):
        i = np.floor(x[:, 0] * 2**a).astype(np.int64)
        j = np.floor(x[:, 1] * 2 ** (m - a)).astype(np.int64)
        counts = np.bincount(i * 2 ** (m - a) + j, minlength=2**m)
        assert np.all(counts == 1)


def scramble_reference(n: int, d: int, seed: int) -> np.ndarray:
    """LMS + shift in pure Python with the PyRng mirror, on scipy's direction numbers."""
    rng = PyRng(state_from_seed_sequence(as_seed_sequence(seed)))
    sv = qmc.Sobol(d, scramble=False)._sv.astype(np.int64)  # (d, bits)
    full = (1 << BITS) - 1
    shift = np.zeros(d, dtype=np.int64)
    v = np.zeros_like(sv)
    for j in range(d):
        shift[j] = rng.next() >> (64 - BITS)
        masks = []
        for b in range(BITS):
            above = full & ~((1 << (b + 1)) - 1)
            masks.append(((rng.next() >> (64 - BITS)) & above) | (1 << b))
        for c in range(BITS):
            x = int(sv[j, c])
            v[j, c] = sum((bin(masks[b] & x).count("1") & 1) << b for b in range(BITS))
    pts = np.zeros((n, d), dtype=np.float64)
    for k in range(n):
        gray = k ^ (k >> 1)
        q = shift.copy()
        for b in range(BITS):
            if (gray >> b) & 1:
                q ^= v[:, b]
        pts[k] = q / 2.0**BITS
    return pts


def test_scramble_matches_python_reference():
    assert same_bits(sobol(40, 5, scramble=True, seed=7), scramble_reference(40, 5, 7))
