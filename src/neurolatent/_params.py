"""Declarative constructor-parameter constraints, checked by one routine.

Each estimator declares a table ``name -> constraint``; :func:`validate_params` raises the
same kind of message for every parameter.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["Interval", "OneOf", "Predicate", "validate_params"]


@dataclass(frozen=True)
class Interval:
    """A number in ``[low, high]`` (``None`` = unbounded); ``kind`` is int or float."""

    kind: type
    low: float | None = None
    high: float | None = None
    open_low: bool = False

    def accepts(self, value: Any) -> bool:
        if isinstance(value, bool):
            return False
        if self.kind is int and not isinstance(value, numbers.Integral):
            return False
        if self.kind is float and not isinstance(value, numbers.Real):
            return False
        if isinstance(value, float) and not math.isfinite(value):
            return False
        if self.low is not None and (value < self.low or (self.open_low and value == self.low)):
            return False
        return self.high is None or value <= self.high

    def __str__(self) -> str:
        low = "-inf" if self.low is None else self.low
        high = "inf" if self.high is None else self.high
        return (f"{'an int' if self.kind is int else 'a float'} in the range "
                f"{'(' if self.open_low or self.low is None else '['}{low}, {high}"
                f"{')' if self.high is None else ']'}")


@dataclass(frozen=True)
class OneOf:
    """One of a fixed set of values."""

    options: tuple

    def accepts(self, value: Any) -> bool:
        return any(value is option or (type(value) is type(option) and value == option)
                   for option in self.options)

    def __str__(self) -> str:
        return "one of {" + ", ".join(repr(o) for o in self.options) + "}"


@dataclass(frozen=True)
class Predicate:
    """Anything ``check`` accepts, described by ``text``."""

    check: Callable[[Any], bool]
    text: str

    def accepts(self, value: Any) -> bool:
        try:
            return bool(self.check(value))
        except (TypeError, ValueError):
            return False

    def __str__(self) -> str:
        return self.text


def validate_params(owner: str, params: dict[str, Any], table: dict[str, list]) -> None:
    """Raise ``ValueError``/``TypeError`` for the first parameter no constraint accepts.

    Examples
    --------
    >>> validate_params("CEBRA", {"batch_size": -3}, {"batch_size": [Interval(int, 1), None]})
    Traceback (most recent call last):
    ...
    ValueError: The 'batch_size' parameter of CEBRA must be an int in the range [1, inf) or None. Got -3 instead.
    """
    for name, constraints in table.items():
        value = params[name]
        if any(value is None if c is None else c.accepts(value) for c in constraints):
            continue
        text = " or ".join("None" if c is None else str(c) for c in constraints)
        numeric = all(isinstance(c, Interval) or c is None for c in constraints)
        wrong_type = numeric and not isinstance(value, numbers.Real) and value is not None
        error = TypeError if wrong_type or isinstance(value, bool) and numeric else ValueError
        raise error(f"The {name!r} parameter of {owner} must be {text}. Got {value!r} instead.")
