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
    """A number in ``[low, high]`` (``None`` = unbounded); ``kind`` is int or float.

    >>> Interval(int, 1).accepts(3), Interval(int, 1).accepts(0), str(Interval(float, 0))
    (True, False, 'a float in the range [0, inf)')
    """

    kind: type
    low: float | None = None
    high: float | None = None
    open_low: bool = False

    def type_ok(self, value: Any) -> bool:
        if isinstance(value, bool):
            return False
        return isinstance(value, numbers.Integral if self.kind is int else numbers.Real)

    def accepts(self, value: Any) -> bool:
        if not self.type_ok(value):
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
    """One of a fixed set of values.

    >>> OneOf(("adam",)).accepts("adam"), OneOf((True, False)).accepts(1)
    (True, False)
    """

    options: tuple

    def accepts(self, value: Any) -> bool:
        return any(value is option or (type(value) is type(option) and value == option)
                   for option in self.options)

    def __str__(self) -> str:
        return "one of {" + ", ".join(repr(o) for o in self.options) + "}"


@dataclass(frozen=True)
class Predicate:
    """Anything ``check`` accepts, described by ``text``.

    >>> Predicate(lambda v: v > 0, "positive").accepts("x")  # errors count as rejection
    False
    """

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
    ValueError: The 'batch_size' parameter of CEBRA must be an int in the range [1, inf) or ...
    """
    for name, constraints in table.items():
        value = params[name]
        if any(value is None if c is None else c.accepts(value) for c in constraints):
            continue
        text = " or ".join("None" if c is None else str(c) for c in constraints)
        intervals = [c for c in constraints if isinstance(c, Interval)]
        numeric = len(intervals) == sum(c is not None for c in constraints)
        wrong_type = numeric and not any(c.type_ok(value) for c in intervals)
        error = TypeError if wrong_type else ValueError
        raise error(f"The {name!r} parameter of {owner} must be {text}. Got {value!r} instead.")
