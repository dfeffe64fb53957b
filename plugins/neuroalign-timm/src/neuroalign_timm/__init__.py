"""neuroalign-timm: every timm architecture as a neuroalign model.

``timm:<name>`` (e.g. ``timm:resnet50``) and ``timm:<name>.<tag>`` (``timm:resnet50.a1_in1k``)
are registered lazily from a shipped catalog; building one creates the timm module, loads
pretrained weights through timm's own loader, and resolves preprocessing and candidate layers.
Importing this package imports neither torch nor timm.
"""

from __future__ import annotations

from .specs import COMMITMENTS, Catalog, CatalogEntry, catalog, model_specs

__version__ = "0.1.0"

__all__ = ["COMMITMENTS", "Catalog", "CatalogEntry", "__version__", "catalog", "model_specs"]
