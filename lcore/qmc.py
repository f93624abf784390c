"""Sobol' points, bit-identical to ``scipy.stats.qmc.Sobol(d, scramble=False)``.

The points come from the C kernel ``csrc/lc_sobol.c`` (Gray-code recurrence, Joe–Kuo
6.21201 direction numbers shipped in ``lcore/data/sobol_directions.npz``, 30 bits as
SciPy's default).  Scrambling is a (left) linear matrix scramble followed by a digital
shift (LMS + shift, the scheme SciPy uses), drawn from lcore's C RNG: the same seed gives
the same points, but not SciPy's scrambled points.

Examples
--------
>>> import lcore
>>> lcore.sobol(4, 2)
array([[0.  , 0.  ],
       [0.5 , 0.5 ],
       [0.75, 0.25],
       [0.25, 0.75]])
>>> eng = lcore.Sobol(2)
>>> eng.fast_forward(2).random(2)
array([[0.75, 0.25],
       [0.25, 0.75]])
"""

from __future__ import annotations

import os

import numpy as np

from lcore._rng import SeedLike, as_seed_sequence, state_from_seed_sequence

__all__ = ["sobol", "Sobol", "BITS", "MAXDIM"]

#: Bits of every coordinate; the sequence has ``2**BITS`` points (SciPy's default ``bits``).
BITS = 30
#: Largest supported dimension (every Joe–Kuo 6.21201 direction number is shipped).
MAXDIM = 21201
_MAXN = 2**BITS

_DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "sobol_directions.npz")
_TABLE: tuple[np.ndarray, np.ndarray] | None = None


def _core():
    from lcore._core import _sobol

    return _sobol


def _table() -> tuple[np.ndarray, np.ndarray]:
    """(poly (MAXDIM,), vinit_t (18, MAXDIM)) uint32, loaded once (never unpickled)."""
    global _TABLE
    if _TABLE is None:
        with np.load(_DATA, allow_pickle=False) as z:
            poly = np.ascontiguousarray(z["poly"], dtype=np.uint32)
            vinit_t = np.ascontiguousarray(z["vinit_t"], dtype=np.uint32)
        if poly.shape != (MAXDIM,) or vinit_t.shape != (18, MAXDIM):
            raise RuntimeError(
                f"{_DATA} is damaged: expected poly ({MAXDIM},) and vinit_t (18, {MAXDIM}), "
                f"got {poly.shape} and {vinit_t.shape}"
            )
        _TABLE = (poly, vinit_t)
    return _TABLE


def _directions(d: int) -> np.ndarray:
    """Direction numbers of the first d dimensions, (BITS, d) uint32 (already scaled)."""
    poly, vinit_t = _table()
    vinit = np.ascontiguousarray(vinit_t[:, :d].T)
    v = np.empty((BITS, d), dtype=np.uint32)
    _core().directions(poly[:d], vinit, v)
    return v


def _as_int(name: str, value, lo: int, hi: int | None = None) -> int:
    """``value`` as a Python int in [lo, hi] (hi None: no upper bound), else a clear error."""
    want = f"an int in [{lo}, {hi}]" if hi is not None else f"an int >= {lo}"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be {want}, got {value!r} of type {type(value).__name__}")
    value = int(value)
    if value < lo or (hi is not None and value > hi):
        raise ValueError(f"{name} must be {want}, got {value}")
    return value


def _check_out(out, n: int, d: int) -> np.ndarray:
    if out is None:
        return np.empty((n, d), dtype=np.float64)
    if not isinstance(out, np.ndarray):
        raise TypeError(f"out must be a numpy.ndarray, got {type(out).__name__}")
    if out.dtype != np.float64:
        raise TypeError(f"out must have dtype float64, got {out.dtype}")
    if out.shape != (n, d):
        raise ValueError(f"out must have shape (n, d) = ({n}, {d}), got {out.shape}")
    if not out.flags.c_contiguous:
        raise ValueError("out must be C-contiguous, got a non-contiguous array")
    if not out.flags.writeable:
        raise ValueError("out must be writeable, got a read-only array")
    return out


class Sobol:
    """Sobol' sequence engine, like ``scipy.stats.qmc.Sobol`` (``bits=30``).

    Parameters
    ----------
    d : int
        Dimension, in [1, MAXDIM] = [1, 21201].
    scramble : bool, default False
        Apply a random LMS + digital shift scramble (unlike SciPy, off by default, since
        lcore's tables use the unscrambled points).
    seed : None, int, numpy.random.SeedSequence or numpy.random.Generator
        Seeds the scramble (ignored when ``scramble`` is False).  Same seed, same points.

    Notes
    -----
    Unscrambled, ``Sobol(d).random(n)`` equals
    ``scipy.stats.qmc.Sobol(d, scramble=False).random(n)`` bit for bit, first point 0
    included, and so do the points after ``fast_forward(k)``.  Unlike SciPy, no warning
    is given when n is not a power of 2.
    """

    def __init__(self, d: int, scramble: bool = False, seed: SeedLike = None) -> None:
        self._d = _as_int("d", d, 1, MAXDIM)
        if not isinstance(scramble, (bool, np.bool_)):
            raise TypeError(f"scramble must be a bool, got {scramble!r}")
        self._scramble = bool(scramble)
        self._v = _directions(self._d)
        self._shift = np.zeros(self._d, dtype=np.uint32)
        if self._scramble:
            state = state_from_seed_sequence(as_seed_sequence(seed))
            _core().scramble(state, self._v, self._shift)
        self._quasi = self._shift.copy()
        self._num_generated = 0

    @property
    def d(self) -> int:
        """Dimension."""
        return self._d

    @property
    def scramble(self) -> bool:
        """Whether the points are scrambled."""
        return self._scramble

    @property
    def bits(self) -> int:
        """Bits per coordinate (the sequence has ``2**bits`` points)."""
        return BITS

    @property
    def num_generated(self) -> int:
        """Index of the next point (points generated or skipped since the last reset)."""
        return self._num_generated

    def _check_room(self, name: str, k: int) -> None:
        if self._num_generated + k > _MAXN:
            raise ValueError(
                f"{name} must be at most 2**{BITS} - num_generated = "
                f"{_MAXN - self._num_generated} (the sequence has 2**{BITS} = {_MAXN} points "
                f"and {self._num_generated} are used), got {k}"
            )

    def random(self, n: int = 1, out: np.ndarray | None = None) -> np.ndarray:
        """The next ``n`` points.

        Parameters
        ----------
        n : int, default 1
            Number of points, >= 0.
        out : numpy.ndarray, optional
            C-contiguous float64 array of shape (n, d), written in place and returned.

        Returns
        -------
        numpy.ndarray
            (n, d) float64 points in [0, 1).
        """
        n = _as_int("n", n, 0)
        self._check_room("n", n)
        out = _check_out(out, n, self._d)
        if n:
            _core().fill(self._v, self._quasi, self._num_generated, out)
            self._num_generated += n
        return out

    def fast_forward(self, k: int) -> Sobol:
        """Skip ``k`` points without generating them (O(d * bits), whatever k).

        Returns
        -------
        Sobol
            The engine itself.
        """
        k = _as_int("k", k, 0)
        self._check_room("k", k)
        self._num_generated += k
        _core().state(self._v, self._shift, self._num_generated, self._quasi)
        return self

    def reset(self) -> Sobol:
        """Go back to the first point (a scrambled engine keeps its scramble).

        Returns
        -------
        Sobol
            The engine itself.
        """
        self._quasi[:] = self._shift
        self._num_generated = 0
        return self

    def __repr__(self) -> str:
        return (
            f"Sobol(d={self._d}, scramble={self._scramble}, num_generated={self._num_generated})"
        )


def sobol(
    n: int,
    d: int,
    skip: int = 0,
    scramble: bool = False,
    seed: SeedLike = None,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """The first ``n`` Sobol' points after skipping ``skip``.

    Parameters
    ----------
    n : int
        Number of points, >= 0.
    d : int
        Dimension, in [1, 21201].
    skip : int, default 0
        Points skipped first (point 0 is the origin when unscrambled); ``skip + n`` must
        be at most ``2**30``.
    scramble : bool, default False
        LMS + digital shift scramble.
    seed : None, int, numpy.random.SeedSequence or numpy.random.Generator
        Seeds the scramble; ignored when ``scramble`` is False.
    out : numpy.ndarray, optional
        C-contiguous float64 array of shape (n, d), written in place and returned.

    Returns
    -------
    numpy.ndarray
        (n, d) float64 in [0, 1); unscrambled, bit-identical to
        ``scipy.stats.qmc.Sobol(d, scramble=False)`` after ``fast_forward(skip)``.

    Examples
    --------
    >>> import lcore
    >>> lcore.sobol(3, 2, skip=1)
    array([[0.5 , 0.5 ],
           [0.75, 0.25],
           [0.25, 0.75]])
    """
    n = _as_int("n", n, 0)
    d = _as_int("d", d, 1, MAXDIM)
    skip = _as_int("skip", skip, 0)
    if skip + n > _MAXN:
        raise ValueError(
            f"skip + n must be at most 2**{BITS} = {_MAXN} (the number of Sobol' points), "
            f"got skip + n = {skip} + {n} = {skip + n}"
        )
    out = _check_out(out, n, d)
    eng = Sobol(d, scramble=scramble, seed=seed)
    if skip:
        eng.fast_forward(skip)
    return eng.random(n, out=out)
