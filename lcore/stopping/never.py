"""The rule that never stops a trial (the baseline, ``rule="none"``)."""

from __future__ import annotations

import numpy as np

from .base import Rule, check_mode


class Never(Rule):
    """Never stop: every trial trains to the horizon.

    Parameters
    ----------
    mode : {"max", "min"}
        Kept for a uniform interface; it changes nothing.
    """

    name = "none"
    param_names = ()
    mode_free = True

    def __init__(self, mode: str = "max") -> None:
        self.mode = check_mode(mode)

    def should_stop(self, curve: np.ndarray, history) -> bool:
        return False

    def _online(self, t: int, prev: int, value: float, best: float, history) -> bool:
        return False
