"""Conformance kit for plugin authors, pytest fixtures and loopback test servers.

* :func:`parametrize_with_checks` / :func:`checks_for` / :func:`check_plugin` -- named
  conformance checks any plugin runs on itself (:mod:`neuroalign.testing.checks`);
* fixtures ``neuroalign_plugin_manager``, ``neuroalign_memory_fs``, ``neuroalign_home`` and
  ``neuroalign_synthetic_store`` (:mod:`neuroalign.testing.fixtures`, a pytest plugin);
* :func:`synthetic_assembly` and :func:`write_synthetic_store` -- test data helpers;
* loopback servers for store tests (:mod:`neuroalign.testing.servers`).

Names are imported lazily, so importing this package imports neither pytest nor xarray.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "ConformanceError": "checks", "Check": "checks", "parametrize_with_checks": "checks",
    "checks_for": "checks", "check_plugin": "checks", "no_io": "checks",
    "synthetic_assembly": "fixtures", "write_synthetic_store": "fixtures", "store_env": "fixtures",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'neuroalign.testing' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{module}", __name__), name)
