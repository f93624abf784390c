"""Rules compiled to C (with numba): they run inside the replay loop without the GIL.

A compiled rule is a plain function with this C signature (numba types)::

    int32 rule(float64* curve, int32 t, int32 T, int64 n_trials,
               float64* curves, int32* n_obs, int8* states, float64 incumbent)

``curve[0 .. t-1]`` is the trial's values at epochs ``1 .. t`` (the rule is asked after epoch
``t < T``); ``curves`` is the (n_trials, T) row-major array of every trial so far in start
order (NaN where not observed; ``numba.carray(curves, (n_trials, T))`` views it), ``n_obs``
their observed epochs and ``states`` their states (0 running, 1 stopped, 2 completed,
3 failed); ``incumbent`` is the best value reported so far (NaN: none). Return 1 to stop,
0 to continue; anything else is an error.
"""

from __future__ import annotations

import ctypes
from typing import Callable

import numpy as np

from .base import Rule, check_mode

__all__ = ["CompiledRule", "compiled_rule", "SIGNATURE"]

#: the C signature of a compiled rule, as text
SIGNATURE = ("int32(float64*, int32, int32, int64, float64*, int32*, int8*, float64)")


def _numba_signature():
    from numba import types

    return types.int32(types.CPointer(types.float64), types.int32, types.int32, types.int64,
                       types.CPointer(types.float64), types.CPointer(types.int32),
                       types.CPointer(types.int8), types.float64)


class CompiledRule(Rule):
    """A rule compiled with ``numba.cfunc`` (see the module docstring for the signature).

    Made by :func:`compiled_rule`. Only the Python function is pickled: each process compiles
    it once, on first use. Online (:class:`~lcore.stopping.Monitor`, the Optuna pruner) it
    decides through the same compiled code, called with ctypes.

    Parameters
    ----------
    fn : callable
        The rule function.
    name : str, optional
        Its label in results (default: the function's name).
    mode : {"max", "min"}
        The direction the rule is written for.
    """

    param_names = ()

    def __init__(self, fn: Callable, name: str | None = None, mode: str = "max") -> None:
        if not callable(fn):
            raise TypeError(f"fn must be a function, got {fn!r}")
        self.fn = fn
        self.name = name or getattr(fn, "__name__", "compiled")
        self.mode = check_mode(mode)
        self._cfunc = None

    def __getstate__(self):
        # the function by value (cloudpickle): a decorated function's module-level name is
        # the CompiledRule, so it cannot be pickled by reference
        import cloudpickle

        return {"fn": cloudpickle.dumps(self.fn), "name": self.name, "mode": self.mode}

    def __setstate__(self, state):
        import pickle

        self.fn = pickle.loads(state["fn"])
        self.name, self.mode, self._cfunc = state["name"], state["mode"], None

    def __repr__(self) -> str:
        return f"CompiledRule({self.name!r}, mode={self.mode!r})"

    def __eq__(self, other):
        return isinstance(other, CompiledRule) and (self.fn, self.mode) == (other.fn, other.mode)

    def __hash__(self):
        return hash((self.fn, self.mode))

    @property
    def label(self) -> str:
        return str(self.name)

    def _compiled(self):
        if self._cfunc is None:
            try:
                import numba
            except ImportError:  # pragma: no cover - numba is an optional extra
                raise ImportError(
                    "compiled rules need numba: pip install 'lcore[numba]'"
                ) from None
            self._cfunc = numba.cfunc(_numba_signature(), nopython=True)(self.fn)
        return self._cfunc

    @property
    def address(self) -> int:
        """The address of the compiled C function (compiled on first use)."""
        return int(self._compiled().address)

    def should_stop(self, curve: np.ndarray, history) -> bool:
        c = np.ascontiguousarray(curve, dtype=np.float64)
        t = c.shape[0]
        T = int(history.horizon)
        n_trials = int(getattr(history, "n_trials", 0))
        if n_trials:
            curves = np.ascontiguousarray(history.trial_curves, dtype=np.float64)
            n_obs = np.ascontiguousarray(history.trial_epochs, dtype=np.int32)
            states = np.ascontiguousarray(history.trial_states, dtype=np.int8)
        else:
            curves = np.full((1, T), np.nan)
            n_obs = np.zeros(1, np.int32)
            states = np.zeros(1, np.int8)
        ans = self._compiled().ctypes(
            c.ctypes.data_as(ctypes.POINTER(ctypes.c_double)), t, T, n_trials,
            curves.ctypes.data_as(ctypes.POINTER(ctypes.c_double)),
            n_obs.ctypes.data_as(ctypes.POINTER(ctypes.c_int32)),
            states.ctypes.data_as(ctypes.POINTER(ctypes.c_int8)),
            float(getattr(history, "incumbent", np.nan)))
        if ans not in (0, 1):
            raise RuntimeError(
                f"compiled rule {self.name!r} returned {ans}; it must return 0 (continue) or "
                "1 (stop)"
            )
        return bool(ans)


def compiled_rule(fn: Callable | None = None, *, name: str | None = None, mode: str = "max"):
    """Make a :class:`CompiledRule` from a function with the compiled-rule signature.

    Use as a decorator (``@compiled_rule`` or ``@compiled_rule(mode="min")``) or call it.

    Examples
    --------
    >>> from lcore.stopping import compiled_rule
    >>> @compiled_rule
    ... def chance_at_2(curve, t, T, n_trials, curves, n_obs, states, incumbent):
    ...     return 1 if t == 2 and curve[1] < 0.15 else 0
    >>> chance_at_2                                            # doctest: +SKIP
    CompiledRule('chance_at_2', mode='max')
    """
    if fn is None:
        return lambda f: CompiledRule(f, name=name, mode=mode)
    return CompiledRule(fn, name=name, mode=mode)
