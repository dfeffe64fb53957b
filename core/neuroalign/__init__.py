"""neuroalign: score vision models against the brain and human perception.

The public API is re-exported here and imported lazily, so ``import neuroalign`` stays cheap
(no torch, no xarray until something needs them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .lazy import lazy_exports

__version__ = "0.1.0"

#: public name -> module that defines it
_EXPORTS: dict[str, str] = {
    # specs and interfaces
    "Spec": "interfaces", "Preprocessing": "interfaces", "ModelSpec": "interfaces",
    "AssetSpec": "interfaces", "DatasetSpec": "interfaces", "MetricSpec": "interfaces",
    "AttackSpec": "interfaces", "BenchmarkSpec": "interfaces", "AggregatorSpec": "interfaces",
    "Model": "interfaces", "Dataset": "interfaces", "Metric": "interfaces",
    "Ceiling": "interfaces", "Attack": "interfaces", "AttackResult": "interfaces",
    "Benchmark": "interfaces", "Aggregator": "interfaces", "REGIONS": "interfaces",
    "Score": "scores", "Provenance": "scores",
    # plugins and registry
    "hookimpl": "hookspecs", "PluginManager": "plugins",
    "get_plugin_manager": "registry", "use_plugin_manager": "registry", "get_spec": "registry",
    "get_model": "registry", "get_dataset": "registry", "get_metric": "registry",
    "get_ceiling": "registry", "get_attack": "registry", "get_benchmark": "registry",
    "get_aggregator": "registry", "list_models": "registry", "list_datasets": "registry",
    "list_metrics": "registry", "list_ceilings": "registry", "list_attacks": "registry",
    "list_benchmarks": "registry", "list_aggregators": "registry",
    # composing and ranking
    "compose": "composite", "rank": "aggregate",
    "score": "scoring", "score_many": "scoring", "StimulusSet": "stimuli",
    "load_model": "registry",
    # errors
    "NeuroalignError": "errors", "UnknownIdError": "errors", "DuplicateIdError": "errors",
    "SpecError": "errors", "PluginLoadWarning": "errors", "AssetError": "errors",
    "ChecksumMismatchError": "errors", "OfflineError": "errors",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, __all__)


if TYPE_CHECKING:  # pragma: no cover
    from .aggregate import rank  # noqa: F401
    from .composite import compose  # noqa: F401
    from .errors import *  # noqa: F403
    from .hookspecs import hookimpl  # noqa: F401
    from .interfaces import *  # noqa: F403
    from .plugins import PluginManager  # noqa: F401
    from .registry import *  # noqa: F403
    from .scores import Provenance, Score  # noqa: F401
    from .scoring import score, score_many  # noqa: F401
    from .stimuli import StimulusSet  # noqa: F401
