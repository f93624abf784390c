"""Hyperparameter spaces: unit cube <-> configuration values, and the paper's presets.

A :class:`Space` is an ordered list of hyperparameters.  Every hyperparameter that is not
:class:`Fixed` is one dimension of the unit cube; Sobol points in ``[0, 1)^d`` are mapped to
values exactly as Table I of the paper says:

- integer ``[lo, hi]``: ``lo + floor(u * (hi - lo + 1))``, clipped to ``hi``
- float ``[lo, hi]``: ``lo + u * (hi - lo)``; log float:
  ``10 ** (log10(lo) + u * (log10(hi) - log10(lo)))``
- categorical with ``k`` choices: choice ``floor(u * k)``, clipped to ``k - 1``
- fixed: not a dimension

Examples
--------
>>> from lcore.space import preset
>>> space = preset("mnist_lenet5")
>>> space.d
9
>>> space.configs([[0.0] * 9])[0]["c1_filters"]
1
"""

from __future__ import annotations

import abc
import json
import math
from typing import Any, Iterable, Sequence

import numpy as np

__all__ = [
    "Hyperparameter",
    "Integer",
    "Float",
    "Categorical",
    "Fixed",
    "Space",
    "preset",
    "PRESETS",
]


def _check_name(name: Any) -> str:
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(
            f"a hyperparameter name must be a Python identifier string, got {name!r}"
        )
    return name


def _check_unit_column(u: np.ndarray, name: str) -> np.ndarray:
    u = np.asarray(u, dtype=np.float64)
    if u.size and (not np.all(np.isfinite(u)) or u.min() < 0.0 or u.max() > 1.0):
        bad = u[~(np.isfinite(u) & (u >= 0.0) & (u <= 1.0))][0]
        raise ValueError(
            f"unit-cube values for {name!r} must lie in [0, 1], got {float(bad)!r}; "
            "pass points of the unit cube (e.g. from lcore.sobol)"
        )
    return u


class Hyperparameter(abc.ABC):
    """Base class: one named hyperparameter.  ``is_dim`` says whether it spans a cube axis."""

    kind = "base"
    is_dim = True

    def __init__(self, name: str) -> None:
        self.name = _check_name(name)

    # -- mapping ---------------------------------------------------------------------------
    @abc.abstractmethod
    def from_unit(self, u: np.ndarray) -> np.ndarray:
        """Values for unit-cube coordinates ``u`` (shape (n,)), as Table I's mapping does."""
        ...

    @abc.abstractmethod
    def encode(self, values: Sequence[Any]) -> np.ndarray:
        """Numeric encoding of values, shape (n,) float64 (ints, floats, choice index)."""
        ...

    @abc.abstractmethod
    def to_unit(self, values: Sequence[Any]) -> np.ndarray:
        """Unit-cube coordinate that maps back to each value (the centre of its cell)."""
        ...

    @abc.abstractmethod
    def to_dict(self) -> dict:
        ...

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash(json.dumps(self.to_dict(), sort_keys=True))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.to_dict().items() if k != "type")
        return f"{type(self).__name__}({args})"


class Integer(Hyperparameter):
    """Integer in ``[low, high]`` (both included)."""

    kind = "int"

    def __init__(self, name: str, low: int, high: int) -> None:
        super().__init__(name)
        for arg, v in (("low", low), ("high", high)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
                raise TypeError(f"{name}: {arg} must be an int, got {v!r}")
        if low > high:
            raise ValueError(f"{name}: low must be <= high, got low={low}, high={high}")
        self.low, self.high = int(low), int(high)

    def from_unit(self, u):
        u = _check_unit_column(u, self.name)
        v = self.low + np.floor(u * (self.high - self.low + 1))
        return np.minimum(v, self.high).astype(np.int64)

    def encode(self, values):
        v = np.asarray(values, dtype=np.float64)
        if v.size and (v.min() < self.low or v.max() > self.high or np.any(v != np.round(v))):
            raise ValueError(
                f"{self.name}: values must be integers in [{self.low}, {self.high}]"
            )
        return v

    def to_unit(self, values):
        v = self.encode(values)
        return (v - self.low + 0.5) / (self.high - self.low + 1)

    def to_dict(self):
        return {"type": "int", "name": self.name, "low": self.low, "high": self.high}


class Float(Hyperparameter):
    """Float in ``[low, high]``; ``log=True`` maps the unit interval log-uniformly."""

    kind = "float"

    def __init__(self, name: str, low: float, high: float, log: bool = False) -> None:
        super().__init__(name)
        low, high = float(low), float(high)
        if not (math.isfinite(low) and math.isfinite(high)) or low > high:
            raise ValueError(
                f"{name}: need finite low <= high, got low={low!r}, high={high!r}"
            )
        if log and low <= 0:
            raise ValueError(f"{name}: a log float needs low > 0, got low={low!r}")
        self.low, self.high, self.log = low, high, bool(log)

    def from_unit(self, u):
        u = _check_unit_column(u, self.name)
        if self.log:
            a, b = math.log10(self.low), math.log10(self.high)
            return 10.0 ** (a + u * (b - a))
        return self.low + u * (self.high - self.low)

    def encode(self, values):
        v = np.asarray(values, dtype=np.float64)
        if v.size and (v.min() < self.low * (1 - 1e-12) or v.max() > self.high * (1 + 1e-12)):
            raise ValueError(f"{self.name}: values must lie in [{self.low}, {self.high}]")
        return v

    def to_unit(self, values):
        v = self.encode(values)
        if self.high == self.low:
            return np.full(v.shape, 0.5)
        if self.log:
            a, b = math.log10(self.low), math.log10(self.high)
            return np.clip((np.log10(v) - a) / (b - a), 0.0, 1.0)
        return np.clip((v - self.low) / (self.high - self.low), 0.0, 1.0)

    def to_dict(self):
        return {
            "type": "float", "name": self.name, "low": self.low, "high": self.high,
            "log": self.log,
        }


class Categorical(Hyperparameter):
    """One of ``choices`` (strings, numbers or booleans)."""

    kind = "categorical"

    def __init__(self, name: str, choices: Iterable[Any]) -> None:
        super().__init__(name)
        choices = list(choices)
        if not choices:
            raise ValueError(f"{name}: choices must not be empty")
        if len(set(map(repr, choices))) != len(choices):
            raise ValueError(f"{name}: choices must be distinct, got {choices!r}")
        self.choices = choices

    def from_unit(self, u):
        u = _check_unit_column(u, self.name)
        k = len(self.choices)
        idx = np.minimum(np.floor(u * k), k - 1).astype(np.int64)
        return np.asarray(self.choices)[idx]

    def index(self, values) -> np.ndarray:
        lookup = {repr(c): i for i, c in enumerate(self.choices)}
        out = np.empty(len(values), dtype=np.int64)
        for j, v in enumerate(values):
            v = v.item() if isinstance(v, np.generic) else v
            try:
                out[j] = lookup[repr(v)]
            except KeyError:
                raise ValueError(
                    f"{self.name}: {v!r} is not one of the choices {self.choices!r}"
                ) from None
        return out

    def encode(self, values):
        return self.index(list(values)).astype(np.float64)

    def to_unit(self, values):
        return (self.encode(values) + 0.5) / len(self.choices)

    def to_dict(self):
        return {"type": "categorical", "name": self.name, "choices": list(self.choices)}


class Fixed(Hyperparameter):
    """A constant: recorded in the configuration, not a dimension of the cube."""

    kind = "fixed"
    is_dim = False

    def __init__(self, name: str, value: Any) -> None:
        super().__init__(name)
        self.value = value

    def from_unit(self, u):  # pragma: no cover - never called for a non-dimension
        raise TypeError(f"{self.name} is fixed and has no unit-cube coordinate")

    def encode(self, values):  # pragma: no cover - never called for a non-dimension
        raise TypeError(f"{self.name} is fixed and has no numeric encoding")

    def to_unit(self, values):  # pragma: no cover - never called for a non-dimension
        raise TypeError(f"{self.name} is fixed and has no unit-cube coordinate")

    def column(self, n: int) -> np.ndarray:
        return np.full(n, self.value)

    def to_dict(self):
        return {"type": "fixed", "name": self.name, "value": self.value}


_TYPES = {"int": Integer, "float": Float, "categorical": Categorical, "fixed": Fixed}


def _hp_from_dict(d: dict) -> Hyperparameter:
    if not isinstance(d, dict) or "type" not in d or "name" not in d:
        raise ValueError(f"a hyperparameter entry needs 'type' and 'name', got {d!r}")
    kind = d["type"]
    if kind not in _TYPES:
        raise ValueError(
            f"unknown hyperparameter type {kind!r} for {d.get('name')!r}; "
            f"known types: {sorted(_TYPES)}"
        )
    args = {k: v for k, v in d.items() if k != "type"}
    try:
        return _TYPES[kind](**args)
    except TypeError as exc:
        raise ValueError(f"bad {kind} hyperparameter {d!r}: {exc}") from None


class Space:
    """An ordered set of hyperparameters.

    Parameters
    ----------
    hyperparameters : sequence of Hyperparameter
        In order; the non-fixed ones are the unit-cube dimensions (``dims``).
    name : str, optional
        A label (the presets use their preset name).
    meta : dict, optional
        JSON-able notes (e.g. which ranges were scaled).
    """

    def __init__(
        self,
        hyperparameters: Sequence[Hyperparameter],
        name: str | None = None,
        meta: dict | None = None,
    ) -> None:
        hps = list(hyperparameters)
        for hp in hps:
            if not isinstance(hp, Hyperparameter):
                raise TypeError(
                    f"Space takes Hyperparameter objects (Integer, Float, Categorical, Fixed), "
                    f"got {hp!r}"
                )
        names = [hp.name for hp in hps]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"hyperparameter names must be unique, repeated: {dup}")
        self.hyperparameters = hps
        self.name = name
        self.meta = dict(meta or {})

    # -- shape -----------------------------------------------------------------------------
    @property
    def names(self) -> list[str]:
        """All hyperparameter names, fixed included, in order."""
        return [hp.name for hp in self.hyperparameters]

    @property
    def dims(self) -> list[str]:
        """Names of the unit-cube dimensions (non-fixed hyperparameters), in column order."""
        return [hp.name for hp in self.hyperparameters if hp.is_dim]

    @property
    def d(self) -> int:
        """Number of unit-cube dimensions."""
        return len(self.dims)

    def __getitem__(self, name: str) -> Hyperparameter:
        for hp in self.hyperparameters:
            if hp.name == name:
                return hp
        raise KeyError(f"no hyperparameter {name!r}; the space has {self.names}")

    def __len__(self) -> int:
        return len(self.hyperparameters)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Space) and self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        label = f"{self.name!r}, " if self.name else ""
        return f"Space({label}d={self.d}, names={self.names})"

    # -- mapping ---------------------------------------------------------------------------
    def _unit_matrix(self, U) -> np.ndarray:
        U = np.asarray(U, dtype=np.float64)
        if U.ndim == 1 and self.d == 1:
            U = U[:, None]
        if U.ndim != 2 or U.shape[1] != self.d:
            raise ValueError(
                f"U must have shape (n, d) = (n, {self.d}) for this space, got {U.shape}"
            )
        return U

    def from_unit(self, U) -> dict[str, np.ndarray]:
        """Map unit-cube points to configuration values.

        Parameters
        ----------
        U : array_like, shape (n, d)
            Points in ``[0, 1]^d``; column j is ``dims[j]``.

        Returns
        -------
        dict of str to ndarray, each shape (n,)
            A column per hyperparameter (fixed ones as constant columns), in ``names`` order:
            int64 for integers, float64 for floats, the choices' dtype for categoricals.
        """
        U = self._unit_matrix(U)
        out: dict[str, np.ndarray] = {}
        j = 0
        for hp in self.hyperparameters:
            if hp.is_dim:
                out[hp.name] = hp.from_unit(U[:, j])
                j += 1
            else:
                out[hp.name] = hp.column(U.shape[0])
        return out

    def configs(self, U) -> list[dict[str, Any]]:
        """One plain-Python dict per row of ``U`` (shape (n, d)); see :meth:`from_unit`."""
        cols = self.from_unit(U)
        n = self._unit_matrix(U).shape[0]
        return [{k: cols[k][i].item() for k in self.names} for i in range(n)]

    def encode(self, params: dict[str, Sequence[Any]]) -> np.ndarray:
        """Numeric encoding of configuration columns, shape (n, d) float64.

        Integers and floats as themselves, categoricals as their choice index.
        """
        cols = [self[name].encode(self._column(params, name)) for name in self.dims]
        return np.column_stack(cols) if cols else np.empty((0, 0))

    def to_unit(self, params: dict[str, Sequence[Any]]) -> np.ndarray:
        """Unit-cube points (shape (n, d)) that :meth:`from_unit` maps back to ``params``."""
        cols = [self[name].to_unit(self._column(params, name)) for name in self.dims]
        return np.column_stack(cols) if cols else np.empty((0, 0))

    @staticmethod
    def _column(params, name):
        try:
            return list(params[name]) if not isinstance(params[name], np.ndarray) else params[
                name
            ]
        except KeyError:
            raise ValueError(f"params has no column {name!r}") from None

    # -- (de)serialisation -----------------------------------------------------------------
    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "hyperparameters": [hp.to_dict() for hp in self.hyperparameters],
            "meta": self.meta,
        }

    @classmethod
    def from_dict(cls, d: dict) -> Space:
        if not isinstance(d, dict) or "hyperparameters" not in d:
            raise ValueError(
                "a space definition is a dict with a 'hyperparameters' list, "
                f"got {type(d).__name__}"
            )
        return cls([_hp_from_dict(h) for h in d["hyperparameters"]], d.get("name"),
                   d.get("meta"))

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=False)

    @classmethod
    def from_json(cls, text: str) -> Space:
        try:
            d = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"space JSON could not be parsed: {exc}") from None
        return cls.from_dict(d)

    def save(self, path) -> None:
        """Write the space as JSON to ``path``."""
        with open(path, "w", encoding="utf-8") as f:
            f.write(self.to_json())

    @classmethod
    def load(cls, path) -> Space:
        """Read a space written by :meth:`save`."""
        with open(path, encoding="utf-8") as f:
            return cls.from_json(f.read())


# --------------------------------------------------------------------------------------------
# The paper's Table I, plus the CPU-scaled MNIST space that the shipped table uses.

_LR_LOW, _LR_HIGH = 1e-4, 10.0**-0.5


def _mnist_lenet5() -> Space:
    return Space(
        [
            Integer("c1_filters", 1, 350),
            Integer("c2_filters", 1, 350),
            Integer("fc_units", 1, 1024),
            Integer("filter_size", 2, 10),
            Integer("pool1", 2, 3),
            Integer("pool2", 2, 3),
            Float("learning_rate", _LR_LOW, _LR_HIGH, log=True),
            Float("l2", 0.0, 1.0),
            Float("dropout", 0.0, 0.9),
            Fixed("activation", "relu"),
            Fixed("regularizer", "dropout"),
        ],
        name="mnist_lenet5",
        meta={"model": "LeNet-5 style C1-P1-C2-P2-Fc-Softmax", "source": "paper Table I"},
    )


def _mnist_lenet5_small() -> Space:
    space = _mnist_lenet5()
    scaled = {
        "c1_filters": Integer("c1_filters", 1, 64),
        "c2_filters": Integer("c2_filters", 1, 64),
        "fc_units": Integer("fc_units", 1, 256),
        "filter_size": Integer("filter_size", 2, 5),
    }
    hps = [scaled.get(hp.name, hp) for hp in space.hyperparameters]
    return Space(
        hps,
        name="mnist_lenet5_small",
        meta={
            "model": "LeNet-5 style C1-P1-C2-P2-Fc-Softmax",
            "source": "paper Table I, ranges scaled down to train on a CPU",
            "scaled_ranges": {
                "c1_filters": "1-64 (paper 1-350)",
                "c2_filters": "1-64 (paper 1-350)",
                "fc_units": "1-256 (paper 1-1024)",
                "filter_size": "2-5 (paper 2-10)",
            },
        },
    )


def _cifar10_cnn() -> Space:
    return Space(
        [
            Integer("c1_filters", 8, 32),
            Integer("c2_filters", 32, 64),
            Integer("c3_filters", 64, 128),
            Integer("c4_filters", 64, 128),
            Integer("fc_units", 10, 1000),
            Integer("filter_size", 2, 3),
            Fixed("pool1", 2),
            Fixed("pool2", 2),
            Fixed("pool3", 2),
            Float("learning_rate", _LR_LOW, _LR_HIGH, log=True),
            Float("l2", 0.0, 1.0),
            Fixed("dropout", 0.5),
            Categorical("activation", ["relu", "elu", "tanh"]),
            Categorical("regularizer", ["none", "dropout", "batchnorm"]),
        ],
        name="cifar10_cnn",
        meta={"model": "C1-C2-P1-C3-P2-C4-P3-Fc-Softmax", "source": "paper Table I"},
    )


PRESETS = {
    "mnist_lenet5": _mnist_lenet5,
    "mnist_lenet5_small": _mnist_lenet5_small,
    "cifar10_cnn": _cifar10_cnn,
}


def preset(name: str) -> Space:
    """The paper's spaces: ``"mnist_lenet5"``, ``"cifar10_cnn"``; and ``"mnist_lenet5_small"``.

    ``mnist_lenet5_small`` is the MNIST space with the ranges scaled down so that it trains on
    a CPU (C1/C2 1-64 filters, Fc 1-256 units, filter size 2-5); its ``meta`` lists them.
    """
    try:
        return PRESETS[name]()
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown space preset {name!r}; known presets: {sorted(PRESETS)}"
        ) from None
