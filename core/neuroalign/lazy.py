"""Lazy re-exports for package ``__init__`` modules (the core's and any plugin's).

A package lists ``name -> submodule`` and gets a module ``__getattr__`` that imports the
submodule on first access, so ``import package`` stays cheap (no torch, no xarray)::

    _EXPORTS = {"PLSCorrelation": "pls", "ceiled_score": "ceiling"}
    __all__ = sorted(_EXPORTS)
    __getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, __all__)
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(package: str, exports: Mapping[str, str], names: Sequence[str]
                 ) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package`` resolving ``exports`` on first access.

    Parameters
    ----------
    package : str
        The package's ``__name__``.
    exports : mapping
        Public name -> submodule (relative to ``package``) that defines it.
    names : sequence of str
        What ``dir(package)`` lists (usually its ``__all__``).
    """

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f".{module}", package), name)
        setattr(sys.modules[package], name, value)  # later lookups skip __getattr__
        return value

    def __dir__() -> list[str]:
        return list(names)

    return __getattr__, __dir__
