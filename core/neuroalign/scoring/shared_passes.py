"""One extraction pass for the reported layers of several benchmarks on the same stimuli.

A neural benchmark selects its layer on one split (reduced activations, shared through the
activation cache by every benchmark on that split) and reports its score on the chosen layer's
full activations of another split. Two benchmarks on the same reported stimuli that choose
different layers (Majaj-Hong V4 and IT) would each pass those stimuli through the network.
:func:`share_reported_passes` asks every benchmark to be scored for the pass it will need
(``benchmark.reported_request(model, layers=..., progress=...)``, which selects the layer and
keeps the selection for the benchmark's next call), then runs one pass per stimulus set for the
union of the chosen layers; the activation cache then serves each benchmark its layer.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = ["share_reported_passes"]

log = logging.getLogger(__name__)


def share_reported_passes(model: Any, benchmarks: Iterable[Any], *,
                          layers: Sequence[str] | None = None,
                          progress: bool | None = None) -> list[dict[str, Any]]:
    """Run the reported-layer passes of ``benchmarks`` on ``model``, one per stimulus set.

    Only for models whose activations are cached (``model.caches_activations``, true for torch
    models): otherwise a pass made here would be made again by each benchmark. Benchmarks
    without ``reported_request`` are left alone, as are stimulus sets that only one layer is
    needed on (the benchmark's own pass is then the only one). A benchmark whose selection
    fails here is left to fail in its own call, where the error is reported.

    Returns one ``{"stimuli", "layers", "benchmarks"}`` per pass made.
    """
    if not getattr(model, "caches_activations", False):
        return []
    groups: dict[tuple, dict[str, Any]] = {}
    for benchmark in benchmarks:
        request_of = getattr(benchmark, "reported_request", None)
        if request_of is None:
            continue
        try:
            request = request_of(model, layers=layers, progress=progress)
        except Exception as error:  # noqa: BLE001 - raised again by the benchmark's own call
            log.debug("no shared pass for %s: %s", getattr(benchmark, "identifier", benchmark),
                      error)
            continue
        if request is None:
            continue
        viewed, stimuli = request["model"], request["stimuli"]
        key = (stimuli.sha256, request["visual_degrees"], str(request["reduction"]),
               json.dumps(viewed.preprocessing.model_dump(mode="json"), sort_keys=True))
        group = groups.setdefault(key, {"request": request, "layers": [], "benchmarks": []})
        group["layers"] += [layer for layer in request["layers"] if layer not in group["layers"]]
        group["benchmarks"].append(getattr(benchmark, "identifier", str(benchmark)))
    made = []
    for group in groups.values():
        if len(group["layers"]) < 2:
            continue
        request = group["request"]
        request["model"].activations(request["stimuli"], group["layers"],
                                     visual_degrees=request["visual_degrees"],
                                     reduction=request["reduction"], progress=progress)
        made.append({"stimuli": request["stimuli"].identifier, "layers": group["layers"],
                     "benchmarks": group["benchmarks"]})
    return made
