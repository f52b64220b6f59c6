"""Import of optional dependencies, with an error naming the extra that installs them."""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["require"]


def require(module: str, what: str, extra: str) -> ModuleType:
    """Import ``module`` or raise an ImportError saying ``what`` needs it and how to install it.

    Examples
    --------
    >>> require("math", "Square roots", "core").sqrt(4.0)
    2.0
    >>> try:
    ...     require("no_such_package", "Reading .xyz files", "io")
    ... except ImportError as error:
    ...     print(str(error).split(";")[1].strip())
    install it with: pip install 'neurolatent[io]'
    """
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise ImportError(f"{what} needs the optional package '{module}'; install it with: "
                          f"pip install 'neurolatent[{extra}]'") from error
