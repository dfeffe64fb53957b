"""Exceptions and warnings raised by neuroalign.

Every user-facing error says what failed, shows the bad value, lists the valid choices or the
closest match, and gives the fix.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any

__all__ = [
    "NeuroalignError",
    "FigureUnavailable",
    "UnknownIdError",
    "DuplicateIdError",
    "SpecError",
    "PluginLoadWarning",
    "CacheWarning",
    "DataQualityWarning",
    "AssetError",
    "ChecksumMismatchError",
    "OfflineError",
    "closest",
]


class NeuroalignError(Exception):
    """Base class of every error neuroalign raises on purpose."""


class UnknownIdError(NeuroalignError, KeyError):
    """An id that no installed plugin registered.

    When a configured registry index lists a distribution that provides it, the error says so
    and carries the install hint as fields: ``providers`` (every
    :class:`~neuroalign.plugins.providers.Provider` found), and for the first one ``distribution``,
    ``distribution_version``, ``registry`` and ``install_command``
    (``"neuroalign install <distribution>"``); all None when no registry lists the id.
    """

    def __init__(self, kind: str, identifier: str, known: Iterable[str],
                 providers: Iterable[Any] = ()):
        self.kind = kind
        self.identifier = identifier
        self.matches = closest(identifier, known)
        self.providers = list(providers)
        first = self.providers[0] if self.providers else None
        self.distribution = first.distribution if first else None
        self.distribution_version = first.version if first else None
        self.registry = first.registry if first else None
        self.install_command = first.install_command if first else None
        if first is not None:
            others = [f"{p.distribution!r} {p.version} ({p.registry})" for p in self.providers[1:]]
            also = f"; also listed by {', '.join(others)}" if others else ""
            message = f"unknown {kind} {identifier!r}: {first.message()}{also}"
        else:
            hint = f"; did you mean {_quoted(self.matches)}?" if self.matches else ""
            message = (
                f"unknown {kind} {identifier!r}{hint} "
                f"(list the valid ids with: neuroalign list {kind}s)"
            )
        super().__init__(message)

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0])


class DuplicateIdError(NeuroalignError):
    """Two distributions registered the same id; neither wins silently."""


class SpecError(NeuroalignError, ValueError):
    """A spec or a runtime object breaks a documented rule."""


class AssetError(NeuroalignError):
    """An asset could not be resolved, downloaded or opened."""


class ChecksumMismatchError(AssetError):
    """A downloaded asset's sha256 differs from the one its spec promises."""


class OfflineError(AssetError):
    """``NEUROALIGN_OFFLINE=1`` and the asset is not in the local cache."""


class FigureUnavailable(NeuroalignError):
    """A report figure cannot be drawn from the data at hand; the message says what is missing
    (the report lists it under "Figures not shown")."""


class PluginLoadWarning(UserWarning):
    """A plugin failed to import or one of its hooks raised; the others still load."""


class CacheWarning(UserWarning):
    """A damaged cache file was discarded and its content is recomputed."""


class DataQualityWarning(UserWarning):
    """The data holds values a score skips (e.g. NaN trials or neuroids); counts in the Score."""


def closest(identifier: str, known: Iterable[str], n: int = 3) -> list[str]:
    """The up-to-``n`` known ids closest to ``identifier`` (case-insensitive)."""
    known = list(known)
    lowered = {k.lower(): k for k in known}
    hits = difflib.get_close_matches(identifier.lower(), list(lowered), n=n, cutoff=0.6)
    return [lowered[h] for h in hits]


def _quoted(names: list[str]) -> str:
    quoted = [repr(n) for n in names]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]
