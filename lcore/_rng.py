"""Pure-Python mirror of csrc/lc_rng.h (xoshiro256**), and seeding helpers.

Slow, exact: reference implementations in tests use it to reproduce the C kernels'
random draws bit for bit.  Library code turns every user ``seed`` into generator
state here, once.
"""

from __future__ import annotations

from typing import Union

import numpy as np

MASK64 = (1 << 64) - 1

SeedLike = Union[None, int, np.random.SeedSequence, np.random.Generator]


def as_seed_sequence(seed: SeedLike, name: str = "seed") -> np.random.SeedSequence:
    """Turn ``seed`` (None, int >= 0, SeedSequence or Generator) into a SeedSequence."""
    if isinstance(seed, np.random.SeedSequence):
        return seed
    if isinstance(seed, np.random.Generator):
        # Draw entropy from the generator: reproducible for a seeded generator.
        return np.random.SeedSequence(int(seed.integers(0, 2**63 - 1)))
    if seed is None:
        return np.random.SeedSequence()
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)):
        raise TypeError(
            f"{name} must be None, a non-negative int, a numpy SeedSequence or Generator, "
            f"got {seed!r} of type {type(seed).__name__}"
        )
    if seed < 0:
        raise ValueError(f"{name} must be a non-negative int, got {seed}")
    return np.random.SeedSequence(int(seed))


def state_from_seed_sequence(ss: np.random.SeedSequence) -> np.ndarray:
    """The 4-word uint64 state that seeds a C ``lc_rng`` (and :class:`PyRng`)."""
    st = ss.generate_state(4, dtype=np.uint64)
    if not st.any():  # pragma: no cover - probability 2**-256
        st[0] = 1
    return st


def _splitmix64(x: int) -> tuple[int, int]:
    x = (x + 0x9E3779B97F4A7C15) & MASK64
    z = x
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return x, z ^ (z >> 31)


def _rotl(x: int, k: int) -> int:
    return ((x << k) | (x >> (64 - k))) & MASK64


class PyRng:
    """xoshiro256** in pure Python, draw-for-draw identical to ``lc_rng``."""

    def __init__(self, state) -> None:
        s = [int(v) & MASK64 for v in np.asarray(state, dtype=np.uint64).ravel()]
        if len(s) != 4:
            raise ValueError(f"state must have 4 uint64 words, got {len(s)}")
        if not any(s):
            s = PyRng.from_seed64(0).s
        self.s = s

    @classmethod
    def from_seed64(cls, seed: int) -> PyRng:
        x = int(seed) & MASK64
        s = []
        for _ in range(4):
            x, z = _splitmix64(x)
            s.append(z)
        r = cls.__new__(cls)
        r.s = s
        return r

    def next(self) -> int:
        s = self.s
        result = (_rotl((s[1] * 5) & MASK64, 7) * 9) & MASK64
        t = (s[1] << 17) & MASK64
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = _rotl(s[3], 45)
        return result

    def uniform(self) -> float:
        return (self.next() >> 11) * 2.0**-53

    def bounded(self, n: int) -> int:
        if n <= 1:
            return 0
        lo = (1 << 64) % n
        while True:
            x = self.next()
            if x >= lo:
                return x % n
