"""The Score: a value with everything needed to trust, reproduce and aggregate it."""

from __future__ import annotations

import math
import os
import platform
import socket
from datetime import datetime, timezone
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["Score", "Provenance"]


class Provenance(BaseModel):
    """Where a Score came from. Every field is optional: metrics alone know little of models."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=(), ser_json_inf_nan="constants")

    model_id: str | None = None
    model_weights_sha256: str | None = None
    benchmark_id: str | None = None
    benchmark_version: int | None = None
    dataset_sha256: dict[str, str] = Field(
        default_factory=dict, description="Asset name (or URL) -> sha256 of the data used."
    )
    data_sha256: str = Field(
        "", description="Digest of the data the score was computed on: sha256 of the sorted "
        "'<dataset>/<asset> sha256' lines of every file of every dataset the benchmark declares "
        "(through the active store); '' when it declares none. Part of the results key.",
    )
    plugins: dict[str, str] = Field(
        default_factory=dict, description="Distribution name -> version of every plugin involved."
    )
    request: str = Field(
        "default", min_length=1,
        description="What was asked of the model: 'default' (its own layer commitments or "
        "selection) or e.g. 'layers=layer3'. Part of the results key.",
    )
    member_versions: dict[str, int | None] = Field(
        default_factory=dict,
        description="Composite results: benchmark id -> version of every member below it "
        "(None: the member could not be built). A stored composite is current only while these "
        "match.",
    )
    weights: str | None = Field(
        None, description="Which weights, in words: 'pretrained:<tag> <sha256[:8]>', "
        "'random <sha256[:8]>' or 'weights <sha256[:8]>' (neither said)."
    )
    data_source: str | None = Field(
        None, description="Where the data came from: 'real', 'synthetic <store>' (a generated "
        "store such as the demo's) or 'store <store>'; joined with ' + ' when mixed."
    )
    neuroalign_version: str | None = None
    seed: int | None = None
    wall_time_s: float | None = None
    host: str | None = None
    created: str | None = Field(None, description="ISO 8601 UTC time the score was computed.")

    @classmethod
    def here(cls, **fields: Any) -> Provenance:
        """A provenance stamped with this host, the time and neuroalign's version."""
        from . import __version__

        host = f"{socket.gethostname()} ({platform.system()} {platform.machine()}, pid {os.getpid()})"
        return cls(
            host=host,
            created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            neuroalign_version=__version__,
            **fields,
        )


class Score(BaseModel):
    """A (ceiled) score with its raw value, ceiling, error, breakdowns and provenance.

    ``value`` is what leaderboards show: the ceiled score when a ceiling applies, else the raw
    score. ``splits`` holds the raw value of each cross-validation split; ``layers`` the value of
    every candidate layer when a layer was selected (``layer`` is the chosen one); ``neuroids``
    the per-neuroid values; ``children`` the sub-scores of a composite. JSON round-trips are
    lossless (NaN and infinities included).
    """

    model_config = ConfigDict(extra="forbid", ser_json_inf_nan="constants")

    value: float
    raw: float | None = None
    ceiling: float | None = None
    error: float | None = None
    splits: list[float] = Field(default_factory=list)
    layer: str | None = None
    layers: dict[str, float] | None = None
    neuroids: dict[str, float] | None = None
    children: dict[str, Score] = Field(default_factory=dict)
    attrs: dict[str, Any] = Field(
        default_factory=dict, description="Method details: ceiling mode, clipping, parameters..."
    )
    provenance: Provenance = Field(default_factory=Provenance)

    @model_validator(mode="before")
    @classmethod
    def _typed_keys(cls, data: Any) -> Any:
        """Scores stored before the results key was typed kept ``request`` and
        ``member_versions`` in ``attrs``: move them to :class:`Provenance`."""
        if not isinstance(data, dict):
            return data
        attrs = data.get("attrs")
        if not isinstance(attrs, dict) or not ({"request", "member_versions"} & set(attrs)):
            return data
        attrs = dict(attrs)
        provenance = data.get("provenance") or {}
        provenance = provenance.model_dump() if isinstance(provenance, Provenance) else dict(provenance)
        for key in ("request", "member_versions"):
            if key in attrs:
                provenance[key] = attrs.pop(key)
        return {**data, "attrs": attrs, "provenance": provenance}

    def to_json(self, indent: int | None = None) -> str:
        """Lossless JSON."""
        return self.model_dump_json(indent=indent)

    @classmethod
    def from_json(cls, text: str | bytes) -> Score:
        return cls.model_validate_json(text)

    def __float__(self) -> float:
        return float(self.value)

    def __repr__(self) -> str:
        parts = [f"value={self.value:.4f}"]
        if self.error is not None and not math.isnan(self.error):
            parts.append(f"error={self.error:.4f}")
        if self.raw is not None and self.ceiling is not None:
            parts.append(f"raw={self.raw:.4f}, ceiling={self.ceiling:.4f}")
        if self.layer:
            parts.append(f"layer={self.layer!r}")
        if self.children:
            parts.append(f"children={list(self.children)}")
        return f"Score({', '.join(parts)})"

    __str__ = __repr__

    def walk(self, prefix: str = ""):
        """Yield ``(path, score)`` for this score and every descendant, depth first."""
        yield prefix, self
        for name, child in self.children.items():
            yield from child.walk(f"{prefix}/{name}" if prefix else name)
