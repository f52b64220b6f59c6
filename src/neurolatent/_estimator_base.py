"""scikit-learn's estimator contract without importing scikit-learn.

``sklearn.base`` pulls in scipy.stats and, where installed, pandas: ~70-100 MiB of resident
modules and ~1.3 s before the first step, most of what a fit of a small recording costs
in memory. The estimators here need only the contract: ``get_params`` / ``set_params``
with scikit-learn's semantics (so ``clone``, pipelines and grid searches work), its
``repr`` of the changed parameters, and tags (``fit_transform`` is the estimator's own).
scikit-learn is imported only where it is asked for: by ``__sklearn_tags__`` (which only
scikit-learn calls) and when raising its ``NotFittedError``.
"""

from __future__ import annotations

import inspect
from typing import Any

__all__ = ["EstimatorBase", "not_fitted"]


def not_fitted(estimator: Any, action: str) -> Exception:
    """scikit-learn's ``NotFittedError`` (a ValueError and an AttributeError) for ``action``.

    >>> error = not_fitted(EstimatorBase(), "transform")
    >>> type(error).__name__, isinstance(error, ValueError), isinstance(error, AttributeError)
    ('NotFittedError', True, True)
    """
    from sklearn.exceptions import NotFittedError

    return NotFittedError(f"This {type(estimator).__name__} instance is not fitted yet. "
                          f"Call 'fit' with appropriate arguments before '{action}'.")


class EstimatorBase:
    """Parameters are the constructor's arguments, stored under their own names.

    Examples
    --------
    >>> class Scaler(EstimatorBase):
    ...     def __init__(self, factor=1.0, shift=0.0):
    ...         self.factor, self.shift = factor, shift
    >>> model = Scaler(factor=2.0)
    >>> model
    Scaler(factor=2.0)
    >>> model.set_params(shift=1.0).get_params()
    {'factor': 2.0, 'shift': 1.0}
    >>> model.set_params(scale=3)
    Traceback (most recent call last):
    ...
    ValueError: Invalid parameter 'scale' for estimator Scaler(factor=2.0, shift=1.0). \
Valid parameters are: ['factor', 'shift'].
    """

    @classmethod
    def _init_parameters(cls) -> dict[str, inspect.Parameter]:
        """The constructor's parameters by name (what get_params and the repr read)."""
        if cls.__init__ is object.__init__:
            return {}
        params = {}
        for p in inspect.signature(cls.__init__).parameters.values():
            if p.name == "self" or p.kind == p.VAR_KEYWORD:
                continue
            if p.kind == p.VAR_POSITIONAL:  # scikit-learn's rule: parameters are explicit
                raise RuntimeError(f"{cls.__name__}: estimators must list their parameters "
                                   f"in __init__ explicitly (no *{p.name}).")
            params[p.name] = p
        return params

    @classmethod
    def _get_param_names(cls) -> list[str]:
        return sorted(cls._init_parameters())

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The constructor parameters; with ``deep``, nested estimators' as ``name__key``."""
        out = {}
        for name in self._get_param_names():
            value = getattr(self, name)
            if deep and hasattr(value, "get_params") and not isinstance(value, type):
                out.update((f"{name}__{k}", v) for k, v in value.get_params().items())
            out[name] = value
        return out

    def set_params(self, **params: Any) -> EstimatorBase:
        """Set constructor parameters (``name__key`` sets a nested estimator's); returns self."""
        if not params:
            return self
        valid = self.get_params(deep=True)
        nested: dict[str, dict[str, Any]] = {}
        for key, value in params.items():
            name, sep, sub = key.partition("__")
            if name not in valid:
                raise ValueError(f"Invalid parameter {name!r} for estimator {self!r}. "
                                 f"Valid parameters are: {self._get_param_names()!r}.")
            if sep:
                nested.setdefault(name, {})[sub] = value
            else:
                setattr(self, name, value)
                valid[name] = value
        for name, sub_params in nested.items():
            valid[name].set_params(**sub_params)
        return self

    def __repr__(self) -> str:
        # the parameters that differ from the constructor's defaults, as scikit-learn prints
        defaults = self._init_parameters()
        changed = [f"{name}={value!r}" for name, value in self.get_params(deep=False).items()
                   if not _same(value, defaults[name].default)]
        return f"{type(self).__name__}({', '.join(changed)})"

    def __sklearn_tags__(self):
        """scikit-learn's tags of an unsupervised transformer (only scikit-learn asks)."""
        from sklearn.utils import Tags, TargetTags, TransformerTags

        return Tags(estimator_type=None, target_tags=TargetTags(required=False),
                    transformer_tags=TransformerTags())


def _same(value: Any, default: Any) -> bool:
    if value is default:
        return True
    try:
        return bool(type(value) is type(default) and value == default)
    except Exception:  # arrays and other values without a plain truth value differ
        return False
