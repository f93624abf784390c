"""The argument checks every public entry point uses (one definition of each).

Each returns the value converted to a plain Python type or raises with a message that names
the argument, the value it got and what would be right.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Sequence

import numpy as np

__all__ = ["is_int", "check_int", "check_real", "check_bool", "check_choice"]


def is_int(x: Any) -> bool:
    """True for Python and NumPy integers (bool excluded)."""
    return isinstance(x, numbers.Integral) and not isinstance(x, (bool, np.bool_))


def check_int(name: str, value: Any, low: int, high: int | None = None, desc: str = "") -> int:
    """Return ``int(value)`` if it is an int in ``[low, high]``; else raise a ValueError.

    ``desc`` replaces the default range text of the message (e.g. ``"in [1, T-1] = [1, 14]"``).
    """
    if not (is_int(value) and value >= low and (high is None or value <= high)):
        if not desc:
            desc = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise ValueError(f"{name} must be an int {desc}, got {_shown(value)}")
    return int(value)


def _shown(value: Any) -> str:
    """``repr(value)``, or "an int of N digits" for a huge int (no screenfuls of digits)."""
    if is_int(value) and abs(value) >= 10**30:
        return f"an int of {len(str(abs(value)))} digits"
    return repr(value)


def check_real(name: str, value: Any, what: str = "a finite number", low: float | None = None,
               low_open: bool = False, allow_inf: bool = False) -> float:
    """Return ``float(value)`` for a real number (finite unless ``allow_inf``), at least
    ``low`` (strictly above it with ``low_open``); raise ValueError otherwise."""
    ok = not isinstance(value, (bool, np.bool_)) and isinstance(value, numbers.Real)
    x = math.nan
    if ok:
        try:
            x = float(value)
        except OverflowError:  # an int beyond float range: +-inf
            x = math.inf if value > 0 else -math.inf
        ok = not math.isnan(x) and (allow_inf or math.isfinite(x))
    if ok and low is not None:
        ok = x > low if low_open else x >= low
    if not ok:
        raise ValueError(f"{name} must be {what}, got {_shown(value)}")
    return x


def check_bool(name: str, value: Any) -> bool:
    """Return ``bool(value)`` for True/False (NumPy bools included); raise TypeError otherwise."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def check_choice(name: str, value: Any, choices: Sequence[str]) -> str:
    """Return ``value`` if it is one of ``choices``; raise ValueError otherwise."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {tuple(choices)}, got {value!r}")
    return value
