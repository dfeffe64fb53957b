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
    # specs (frozen metadata) and the runtime interfaces built from them
    "Spec": "specs", "Preprocessing": "specs", "ModelSpec": "specs",
    "AssetSpec": "specs", "DatasetSpec": "specs", "MetricSpec": "specs",
    "AttackSpec": "specs", "BenchmarkSpec": "specs", "AggregatorSpec": "specs",
    "FigureSpec": "specs", "REGIONS": "specs",
    "Model": "interfaces", "Dataset": "interfaces", "Metric": "interfaces",
    "Ceiling": "interfaces", "Attack": "interfaces", "AttackResult": "interfaces",
    "Benchmark": "interfaces", "Aggregator": "interfaces", "LayerView": "interfaces", "Figure": "interfaces",
    "Score": "scores", "Provenance": "scores",
    # plugins and the registry
    "hookimpl": "plugins.hookspecs", "PluginManager": "plugins.manager",
    "get_plugin_manager": "plugins.lookup", "use_plugin_manager": "plugins.lookup",
    "get_spec": "plugins.lookup", "get_model": "plugins.lookup", "get_dataset": "plugins.lookup",
    "get_metric": "plugins.lookup", "get_ceiling": "plugins.lookup",
    "get_attack": "plugins.lookup", "get_benchmark": "plugins.lookup",
    "get_aggregator": "plugins.lookup", "list_models": "plugins.lookup",
    "list_datasets": "plugins.lookup", "list_metrics": "plugins.lookup",
    "list_ceilings": "plugins.lookup", "list_attacks": "plugins.lookup",
    "list_benchmarks": "plugins.lookup", "list_aggregators": "plugins.lookup",
    "load_model": "plugins.lookup", "install": "plugins.install",
    # models, stimuli, scoring, composing and ranking
    "TorchModel": "extraction.torch_model", "StimulusSet": "stimuli",
    "score": "scoring.engine", "score_many": "scoring.engine", "grid": "scoring.grid",
    "compose": "scoring.composite", "rank": "scoring.aggregate",
    # report figures (neuroalign report): what a Figure receives and returns
    "FigureContext": "app.report.charts", "BarChart": "app.report.charts",
    "LineChart": "app.report.charts", "ScatterChart": "app.report.charts",
    "Heatmap": "app.report.charts", "StripChart": "app.report.charts",
    "Bar": "app.report.charts", "Series": "app.report.charts", "Point": "app.report.charts",
    "StripPoint": "app.report.charts",
    # errors
    "NeuroalignError": "errors", "UnknownIdError": "errors", "DuplicateIdError": "errors",
    "SpecError": "errors", "PluginLoadWarning": "errors", "AssetError": "errors",
    "ChecksumMismatchError": "errors", "OfflineError": "errors", "FigureUnavailable": "errors",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, __all__)


if TYPE_CHECKING:  # pragma: no cover
    from .errors import *  # noqa: F403
    from .app.report.charts import *  # noqa: F403
    from .extraction.torch_model import TorchModel  # noqa: F401
    from .interfaces import *  # noqa: F403
    from .plugins.hookspecs import hookimpl  # noqa: F401
    from .plugins.lookup import *  # noqa: F403
    from .plugins.manager import PluginManager  # noqa: F401
    from .plugins.install import install  # noqa: F401
    from .scores import Provenance, Score  # noqa: F401
    from .scoring.aggregate import rank  # noqa: F401
    from .scoring.composite import compose  # noqa: F401
    from .scoring.engine import score, score_many  # noqa: F401
    from .scoring.grid import grid  # noqa: F401
    from .specs import *  # noqa: F403
    from .stimuli import StimulusSet  # noqa: F401
