"""The abstract runtime interfaces built from specs, with their declared call contracts.

A runtime object (:class:`Model`, :class:`Dataset`, :class:`Metric`, :class:`Ceiling`,
:class:`Attack`, :class:`Benchmark`, :class:`Aggregator`) is built from its spec
(:mod:`neuroalign.specs`) by the spec's ``factory``. The signatures here are the contracts the
core relies on: scoring calls ``benchmark(model, layers=..., progress=...)`` and
``model.activations(..., progress=...)`` exactly as declared, never by inspecting signatures.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .specs import (
    AggregatorSpec,
    AttackSpec,
    BenchmarkSpec,
    DatasetSpec,
    FigureSpec,
    MetricSpec,
    ModelSpec,
    Preprocessing,
    resolve_factory,
)

if TYPE_CHECKING:  # pragma: no cover - typing only
    import pandas as pd
    import xarray as xr

    from .app.report.charts import Chart, FigureContext
    from .scores import Score
    from .stimuli import StimulusSet

__all__ = [
    "Model",
    "Dataset",
    "Metric",
    "Ceiling",
    "Attack",
    "AttackResult",
    "Benchmark",
    "Aggregator",
    "Figure",
    "LayerView",
]

#: where :meth:`Model.from_module` finds its torch implementation (imported on first use, like
#: a spec's factory, so this abstract layer never imports the extraction package)
FROM_MODULE_FACTORY = "neuroalign.extraction.torch_model:model_from_module"


class Model(ABC):
    """A model at run time. The torch implementation is :class:`neuroalign.extraction.TorchModel`."""

    spec: ModelSpec

    @property
    def identifier(self) -> str:
        return self.spec.id

    @classmethod
    def from_module(
        cls,
        module: Any,
        *,
        identifier: str = "custom:model",
        preprocessing: Preprocessing | Mapping[str, Any] | None = None,
        layers: tuple[str, ...] | list[str] = (),
        region_layers: Mapping[str, str] | None = None,
        visual_degrees: float = 8.0,
        metadata: Mapping[str, Any] | None = None,
    ) -> Model:
        """Wrap any ``torch.nn.Module`` as a Model, without writing a plugin.

        Parameters
        ----------
        module : torch.nn.Module
            The network; layer names are those of ``module.named_modules()``.
        identifier : str
            ``source:name`` id used in scores and in the activation cache key.
        preprocessing : Preprocessing or dict, optional
            Input size, mean, std, interpolation; default 224 px with ImageNet statistics.
        layers : sequence of str
            Candidate layers for layer selection.
        region_layers : dict, optional
            Region (V1, V2, V4, IT, behavior) -> committed layer.
        visual_degrees : float
            Degrees of visual angle the model's input spans.
        metadata : dict, optional
            Extra spec metadata (e.g. ``{"label_space": ...}`` for benchmarks that read it).

        Returns
        -------
        neuroalign.extraction.TorchModel
        """
        return resolve_factory(FROM_MODULE_FACTORY)(
            module, identifier=identifier, preprocessing=preprocessing, layers=layers,
            region_layers=region_layers, visual_degrees=visual_degrees, metadata=metadata,
        )

    @property
    @abstractmethod
    def preprocessing(self) -> Preprocessing:
        """Resolved preprocessing (never None at run time)."""

    @property
    def visual_degrees(self) -> float:
        return self.spec.visual_degrees

    @property
    def layers(self) -> tuple[str, ...]:
        return self.spec.layers

    @property
    def region_layers(self) -> dict[str, str]:
        return dict(self.spec.region_layers)

    @abstractmethod
    def module(self) -> Any:
        """The underlying ``torch.nn.Module`` (for gradients and hooks)."""

    def with_preprocessing(self, preprocessing: Preprocessing) -> Model:
        """This model (same module and weights) fed input prepared by ``preprocessing``.

        Benchmarks use it to apply their input rule (e.g. Brain-Score's square resize without a
        centre crop). A model that cannot change its input pipeline raises
        ``NotImplementedError`` (the default); the benchmark then records that it kept the
        model's own preprocessing.
        """
        raise NotImplementedError(f"{type(self).__name__} cannot change its preprocessing")

    @abstractmethod
    def weights_hash(self) -> str:
        """sha256 of the state dict in a stable order; goes into every Score's provenance."""

    @abstractmethod
    def activations(
        self,
        stimuli: StimulusSet,
        layers: list[str] | tuple[str, ...],
        *,
        visual_degrees: float | None = None,
        reduction: str | None = "pca",
        progress: bool | None = None,
    ) -> xr.DataArray:
        """Activations ``presentation x neuroid`` of ``layers`` for every stimulus.

        ``progress`` asks for a progress report of long extractions (None: the default policy,
        see :func:`neuroalign.scoring.progress_enabled`); a model may ignore it.
        """

    @abstractmethod
    def logits(self, stimuli: StimulusSet, *, visual_degrees: float | None = None) -> xr.DataArray:
        """Class logits ``presentation x choice``."""


class Dataset(ABC):
    """A dataset at run time."""

    spec: DatasetSpec

    @abstractmethod
    def load(self) -> xr.DataArray | xr.Dataset:
        """The data with the standard dims and coords (see docs/architecture.md)."""

    def stimuli(self) -> StimulusSet:
        """The stimulus set the data was recorded on."""
        raise NotImplementedError(f"dataset {self.spec.id!r} has no stimulus set")


class Metric(ABC):
    """``metric(source, target) -> Score``; both ``presentation x neuroid`` DataArrays."""

    spec: MetricSpec

    @abstractmethod
    def __call__(self, source: xr.DataArray, target: xr.DataArray) -> Score: ...


class Ceiling(ABC):
    """``ceiling(assembly) -> Score`` on the per-repetition assembly."""

    spec: MetricSpec

    @abstractmethod
    def __call__(self, assembly: xr.DataArray) -> Score: ...


@dataclass
class AttackResult:
    """What an attack returns. Tensors are torch tensors with the batch as first dim."""

    adversarial: Any
    perturbation: Any
    l2: Any
    linf: Any
    success: Any
    gradient_evaluations: int
    extras: dict[str, Any] = field(default_factory=dict)


class Attack(ABC):
    """A gradient attack in pixel space [0, 1]."""

    spec: AttackSpec

    @abstractmethod
    def __call__(
        self,
        module: Any,
        images: Any,
        *,
        labels: Any | None = None,
        objective: Callable[[Any], Any] | None = None,
        targeted: bool = False,
    ) -> AttackResult: ...


class Benchmark(ABC):
    """``benchmark(model) -> Score``. A composite benchmark is a benchmark too."""

    spec: BenchmarkSpec

    @property
    def identifier(self) -> str:
        return self.spec.id

    @property
    def version(self) -> int:
        return self.spec.version

    @property
    def region(self) -> str | None:
        return self.spec.region

    @abstractmethod
    def __call__(self, model: Model, *, layers: Sequence[str] | None = None,
                 progress: bool | None = None) -> Score:
        """Score ``model``.

        Parameters
        ----------
        model : Model
            The model to score.
        layers : sequence of str, optional
            Candidate layers requested by the caller; they override the model's candidates and
            region commitments. A benchmark that does not select layers itself scores
            ``LayerView(model, layers)`` (see :class:`LayerView`).
        progress : bool, optional
            Progress reports for long work (None: the default policy).
        """


class Aggregator(ABC):
    """Combines child scores into one Score, or ranks models in a model x benchmark table."""

    spec: AggregatorSpec

    @abstractmethod
    def combine(self, children: Mapping[str, Score]) -> Score:
        """One Score whose children are ``children``."""

    @abstractmethod
    def rank(self, table: pd.DataFrame) -> pd.Series:
        """One value per model (rows) from a model x benchmark table of ceiled scores."""


class Figure(ABC):
    """A report figure: ``figure(context) -> Chart | list[Chart]`` (see :class:`FigureSpec`).

    Called once per benchmark, once per model, or once for the whole report, as the spec's
    ``scope`` says (``context.subject`` names the benchmark or model). Raise
    :class:`~neuroalign.errors.FigureUnavailable` with the reason when the data needed is absent;
    the report shows the reason instead of the figure.
    """

    spec: FigureSpec

    @abstractmethod
    def __call__(self, context: FigureContext) -> Chart | Sequence[Chart]:
        """The chart(s) of this figure drawn from ``context``."""


class LayerView(Model):
    """A model seen with other candidate layers and no region commitments (``layers=`` override).

    Everything else (module, weights, preprocessing, activations) is the wrapped model's.
    """

    def __init__(self, model: Model, layers: Sequence[str]):
        self._model = model
        self._layers = tuple(layers)
        self.spec = model.spec.model_copy(update={"layers": self._layers, "region_layers": {}})

    def __getattr__(self, name: str) -> Any:  # batch_size, device, ... of the wrapped model
        if name.startswith("_"):  # never recurse while unpickling (no _model yet)
            raise AttributeError(name)
        return getattr(self._model, name)

    @property
    def preprocessing(self) -> Preprocessing:
        return self._model.preprocessing

    def module(self) -> Any:
        return self._model.module()

    def weights_hash(self) -> str:
        return self._model.weights_hash()

    def activations(self, stimuli: StimulusSet, layers: list[str] | tuple[str, ...], *,
                    visual_degrees: float | None = None, reduction: Any = "pca",
                    progress: bool | None = None, **options: Any) -> xr.DataArray:
        return self._model.activations(stimuli, layers, visual_degrees=visual_degrees,
                                       reduction=reduction, progress=progress, **options)

    def logits(self, stimuli: StimulusSet, *, visual_degrees: float | None = None,
               **options: Any) -> xr.DataArray:
        return self._model.logits(stimuli, visual_degrees=visual_degrees, **options)
