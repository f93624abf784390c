"""Rule names -> rule classes, and :func:`get_rule`."""

from __future__ import annotations

from typing import Any

from .adaptive import Adaptive
from .base import Rule
from .lce import LCE
from .median import MedianRule
from .never import Never
from .optuna_rules import (
    OptunaMedian,
    OptunaPatient,
    OptunaPercentile,
    OptunaThreshold,
    OptunaWilcoxon,
)
from .peer_median import RayMedian, SyneTuneMedian
from .relative import ETR2
from .rung_rules import OptunaHyperband, OptunaSuccessiveHalving, RayASHA, SyneTuneASHA
from .threshold import ETR1

#: the built-in rules by name
RULES = {"none": Never, "etr1": ETR1, "etr2": ETR2, "median": MedianRule,
         "optuna-threshold": OptunaThreshold}
RULES.update({"optuna-sh": OptunaSuccessiveHalving, "optuna-hyperband": OptunaHyperband,
              "synetune-asha": SyneTuneASHA, "ray-asha": RayASHA})
RULES["synetune-median"] = SyneTuneMedian
RULES["ray-median"] = RayMedian
RULES["lce"] = LCE
RULES.update({"optuna-median": OptunaMedian, "optuna-percentile": OptunaPercentile,
              "optuna-patient": OptunaPatient, "optuna-wilcoxon": OptunaWilcoxon})
RULES["adaptive"] = Adaptive


def _known() -> str:
    return ", ".join(repr(k) for k in sorted(RULES))


def get_rule(spec: Any, **params: Any) -> Rule:
    """Turn a rule name (plus parameters) or a rule object into a rule.

    Parameters
    ----------
    spec : str or Rule
        ``"none"``, ``"etr1"``, ``"etr2"`` or ``"median"``; or a rule object (a :class:`Rule`,
        or any object with ``should_stop(curve, history)``), returned as it is.
    **params
        The rule's parameters (e.g. ``tau=1``, ``p=0.5``, ``mode="min"``), only with a name.

    Returns
    -------
    Rule

    Examples
    --------
    >>> from lcore.stopping import get_rule
    >>> get_rule("etr1", tau=3)
    ETR1(tau=3, r=0.1, eps=0.05, mode='max')
    """
    if isinstance(spec, str):
        cls = RULES.get(spec)
        if cls is None:
            raise ValueError(f"unknown rule {spec!r}; known rules: {_known()}, or a Rule object")
        accepted = list(cls.param_defaults())
        unknown = sorted(set(params) - set(accepted))
        if unknown:
            raise TypeError(
                f"rule {spec!r} takes the parameters {', '.join(accepted)}; "
                f"got unknown {', '.join(unknown)}"
            )
        return cls(**params)
    if params:
        given = ", ".join(f"{k}={v!r}" for k, v in params.items())
        raise ValueError(
            f"parameters ({given}) can only be given with a rule name, not with the rule "
            f"object {spec!r}; set them on the object"
        )
    if not callable(getattr(spec, "should_stop", None)):
        raise TypeError(
            f"rule must be a rule name ({_known()}) or an object with a "
            f"should_stop(curve, history) method, got {spec!r}"
        )
    return spec


def rule_flags() -> dict:
    """Every numeric parameter of the registered rules -> its type (``int`` or ``float``),
    from the constructors' annotations; what the command line offers as ``--NAME`` flags."""
    import typing

    out: dict = {}
    for cls in RULES.values():
        hints = typing.get_type_hints(cls.__init__)
        for name in cls.param_defaults():
            hint = hints.get(name)
            args = typing.get_args(hint) or (hint,)
            if name != "mode" and int in args:
                out.setdefault(name, int)
            elif name != "mode" and float in args:
                out.setdefault(name, float)
    return out
