"""Outside data on a terminal: printed as text, never interpreted (no markup, no escapes)."""

from __future__ import annotations

import re
from typing import Any

__all__ = ["plain"]

#: C0/C1 control characters and the bidirectional overrides that can disguise text
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def plain(value: Any) -> str:
    """``str(value)`` safe for a terminal: control characters (ESC, CR, ...) escaped as
    ``\\xNN`` / ``\\uNNNN``. Rich output wraps it in :class:`rich.text.Text`, so markup such as
    ``[conceal]`` is shown, never interpreted."""
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), str(value))
