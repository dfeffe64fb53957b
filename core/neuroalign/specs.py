"""Specs: the frozen metadata of every component (models, datasets, metrics, ...).

A *spec* is a frozen pydantic model: constructing one does no I/O and imports nothing heavy, so
plugins can register thousands cheaply. The runtime objects built from specs (`Model`, `Dataset`,
`Metric`, ...) are declared in :mod:`neuroalign.interfaces`; each spec's ``factory``, an import
path ``"module:callable"``, is called as ``factory(spec)`` on first use.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .errors import SpecError

__all__ = [
    "MODEL_ID",
    "BENCHMARK_ID",
    "DATASET_ID",
    "COMPONENT_ID",
    "REMOTE_SCHEMES",
    "LOCAL_SCHEMES",
    "Spec",
    "Preprocessing",
    "ModelSpec",
    "AssetSpec",
    "DatasetSpec",
    "MetricSpec",
    "AttackSpec",
    "BenchmarkSpec",
    "AggregatorSpec",
    "FigureSpec",
    "FIGURE_SCOPES",
    "REGIONS",
    "resolve_factory",
]

#: Brain regions (and "behavior") a model can commit a layer to, ordered along the ventral stream.
REGIONS: tuple[str, ...] = ("V1", "V2", "V4", "IT", "behavior")

_FACTORY = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_SHA1 = re.compile(r"^[0-9a-f]{40}$")
#: ``source:name`` with an optional timm-style ``.tag``.
MODEL_ID = re.compile(r"^[a-z0-9][a-z0-9_\-]*:[A-Za-z0-9][\w\-.]*$")
#: ``Family.Region-metric`` e.g. ``MajajHong2015.IT-pls``; the metric part is optional. Also
#: Brain-Score's dotless ``Family-metric`` (``Rajalingham2018-i2n``, ``Brain-Score2018``) and
#: groups below such a family (``Brain-Score2018.V4-mean``): the family may carry one ``-part``
#: and the ``.Region`` is then optional; an id needs a ``.`` or a ``-`` (``MajajHong2015_IT`` is
#: still refused).
BENCHMARK_ID = re.compile(
    r"^(?=[^.\-]*[.\-])[A-Za-z][\w]*(-[A-Za-z0-9_]+)?(\.[A-Za-z0-9_]+(-[A-Za-z0-9_]+)?)?$")
#: ``Family.name`` e.g. ``MajajHong2015.public``.
DATASET_ID = re.compile(r"^[A-Za-z][\w]*\.[A-Za-z0-9_\-]+$")
#: lower-case snake ids for metrics, attacks and aggregators, e.g. ``pls``, ``pgd_linf``.
COMPONENT_ID = re.compile(r"^[a-z][a-z0-9_]*$")

REMOTE_SCHEMES = ("http", "https", "s3", "gs", "gcs")
LOCAL_SCHEMES = ("file", "memory")


class Spec(BaseModel):
    """Base of every spec: frozen, strict about unknown fields, JSON round-trippable."""

    model_config = ConfigDict(frozen=True, extra="forbid", protected_namespaces=())

    #: what the ``id`` must look like; subclasses narrow it
    id_pattern: ClassVar[re.Pattern[str]] = COMPONENT_ID
    id_form: ClassVar[str] = "lower_snake_case"

    id: str = Field(description="Unique identifier within its kind.")
    factory: str = Field(
        description="Import path 'module:callable' called as factory(spec) to build the runtime object."
    )
    parameters: dict[str, Any] = Field(
        default_factory=dict, description="JSON-able parameters the factory reads."
    )
    description: str = ""

    @field_validator("id")
    @classmethod
    def _check_id(cls, value: str) -> str:
        if not cls.id_pattern.match(value):
            raise ValueError(
                f"{cls.__name__} id {value!r} does not have the documented form {cls.id_form}"
            )
        return value

    @field_validator("factory")
    @classmethod
    def _check_factory(cls, value: str) -> str:
        if not _FACTORY.match(value):
            raise ValueError(
                f"factory {value!r} must be an import path 'package.module:callable'"
            )
        return value

    def with_parameters(self, overrides: Mapping[str, Any] | None) -> Spec:
        """A copy whose parameters are updated with ``overrides`` (validated again)."""
        if not overrides:
            return self
        data = self.model_dump()
        data["parameters"] = {**self.parameters, **dict(overrides)}
        return type(self).model_validate(data)

    def build(self) -> Any:
        """Resolve the factory and build the runtime object."""
        return resolve_factory(self.factory)(self)


def resolve_factory(path: str) -> Callable[..., Any]:
    """Import ``"module:attr"`` and return the attribute, with an error that names the path."""
    module_name, _, attr = path.partition(":")
    try:
        obj: Any = importlib.import_module(module_name)
        for part in attr.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as error:
        raise SpecError(
            f"factory {path!r} cannot be imported ({type(error).__name__}: {error}); "
            "is the plugin that provides it installed with all its dependencies?"
        ) from error
    return obj


class Preprocessing(BaseModel):
    """How images are turned into model input (timm's ``pretrained_cfg`` vocabulary)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    input_size: int = Field(224, gt=0, description="Square side in pixels fed to the model.")
    mean: tuple[float, float, float] = (0.485, 0.456, 0.406)
    std: tuple[float, float, float] = (0.229, 0.224, 0.225)
    interpolation: Literal["bilinear", "bicubic", "nearest"] = "bilinear"
    crop_pct: float = Field(1.0, gt=0, le=1.0, description="Centre-crop fraction after resize.")
    resize: Literal["shorter_side", "square"] = Field(
        "shorter_side",
        description="'shorter_side': timm's eval transform (resize the shorter side to "
        "input_size / crop_pct, centre-crop input_size); 'square': Brain-Score's "
        "Resize((input_size, input_size)), no crop (crop_pct ignored).")


class ModelSpec(Spec):
    """A model: how to build it, how it sees, and which layers it commits to which region."""

    id_pattern: ClassVar[re.Pattern[str]] = MODEL_ID
    id_form: ClassVar[str] = "'source:name' (e.g. 'timm:resnet50', optionally with a '.tag')"

    preprocessing: Preprocessing | None = Field(
        None, description="None: the runtime model resolves it (e.g. from timm's pretrained_cfg)."
    )
    visual_degrees: float = Field(8.0, gt=0, description="Degrees of visual angle the input spans.")
    layers: tuple[str, ...] = Field((), description="Candidate layers for layer selection.")
    region_layers: dict[str, str] = Field(
        default_factory=dict, description="Region (V1, V2, V4, IT, behavior) -> committed layer."
    )
    accepts_tags: bool = Field(
        False, description="Whether 'id.tag' resolves to this spec with parameters['tag']=tag."
    )
    metadata: dict[str, Any] = Field(default_factory=dict)

    @field_validator("region_layers")
    @classmethod
    def _check_regions(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value) - set(REGIONS))
        if unknown:
            raise ValueError(f"unknown region(s) {unknown}; valid regions are {list(REGIONS)}")
        return value


class AssetSpec(BaseModel):
    """One file of a dataset in a store. Remote assets must carry a sha256 (preferred) or a sha1.

    ``sha1`` exists for sources that publish nothing else (Brain-Score); ``version_id`` pins an
    S3 object version (``s3://`` URLs only), so a later upload under the same key is not read.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(description="Short name the dataset uses to ask for this asset.")
    url: str
    sha256: str | None = None
    sha1: str | None = Field(
        None, description="Hex sha1, for sources that publish no sha256 (sha256 is preferred)."
    )
    version_id: str | None = Field(
        None, min_length=1, description="S3 object version to read (s3:// URLs only)."
    )
    size: int | None = Field(None, ge=0, description="Bytes, for progress bars and sanity checks.")
    format: Literal["netcdf", "zip", "csv", "npz", "json", "pt", "other"] = "netcdf"

    @field_validator("sha256")
    @classmethod
    def _check_sha(cls, value: str | None) -> str | None:
        if value is not None and not _SHA256.match(value):
            raise ValueError(f"sha256 {value!r} is not 64 lower-case hex digits")
        return value

    @field_validator("sha1")
    @classmethod
    def _check_sha1(cls, value: str | None) -> str | None:
        if value is not None and not _SHA1.match(value):
            raise ValueError(f"sha1 {value!r} is not 40 lower-case hex digits")
        return value

    @model_validator(mode="after")
    def _remote_needs_sha(self) -> AssetSpec:
        scheme = self.url.split("://", 1)[0].lower() if "://" in self.url else "file"
        if scheme not in REMOTE_SCHEMES + LOCAL_SCHEMES:
            raise ValueError(
                f"asset {self.name!r}: scheme {scheme!r} of {self.url!r} is not allowed; "
                f"use one of {list(LOCAL_SCHEMES + REMOTE_SCHEMES)}"
            )
        if scheme in REMOTE_SCHEMES and self.sha256 is None and self.sha1 is None:
            raise ValueError(
                f"asset {self.name!r} at {self.url!r} is remote and needs a sha256 (preferred; "
                "compute it with: sha256sum FILE) or, where the source publishes only that, "
                "a sha1 (sha1sum FILE)"
            )
        if self.version_id is not None and scheme != "s3":
            raise ValueError(
                f"asset {self.name!r}: version_id is an S3 object version and needs an s3:// "
                f"URL, not {self.url!r}; drop it or use the s3:// URL"
            )
        return self


class DatasetSpec(Spec):
    """A dataset: versioned assets in a store, and an offline generator of the same format."""

    id_pattern: ClassVar[re.Pattern[str]] = DATASET_ID
    id_form: ClassVar[str] = "'Family.name' (e.g. 'MajajHong2015.public')"

    version: int = Field(1, ge=1)
    assets: tuple[AssetSpec, ...] = ()
    kind: Literal["neural", "behavioral", "stimuli", "labelled"] = "neural"
    license: str = ""
    citation: str = ""
    synthetic: str | None = Field(
        None, description="Import path 'module:callable' of a generator writing the same format."
    )

    @field_validator("synthetic")
    @classmethod
    def _check_synthetic(cls, value: str | None) -> str | None:
        if value is not None and not _FACTORY.match(value):
            raise ValueError(f"synthetic {value!r} must be an import path 'module:callable'")
        return value

    def asset(self, name: str) -> AssetSpec:
        """The asset called ``name``."""
        for asset in self.assets:
            if asset.name == name:
                return asset
        raise SpecError(
            f"dataset {self.id!r} has no asset {name!r}; it has {[a.name for a in self.assets]}"
        )


class MetricSpec(Spec):
    """A metric comparing a source to a target, or a ceiling estimated from a target alone."""

    kind: Literal["mapping", "similarity", "ceiling", "behavioral"] = "mapping"
    citation: str = ""


class AttackSpec(Spec):
    """A gradient attack."""

    norm: Literal["linf", "l2"] | None = None
    citation: str = ""


class BenchmarkSpec(Spec):
    """A benchmark: data + metric + ceiling, versioned so that stored scores stay comparable."""

    id_pattern: ClassVar[re.Pattern[str]] = BENCHMARK_ID
    id_form: ClassVar[str] = ("'Family.Region-metric' (e.g. 'MajajHong2015.IT-pls') or "
                              "Brain-Score's 'Family-metric' (e.g. 'Rajalingham2018-i2n')")

    version: int = Field(1, ge=1)
    dataset: str | None = Field(None, description="Dataset id the benchmark scores against.")
    metric: str | None = Field(None, description="Metric id.")
    metric_parameters: dict[str, Any] = Field(default_factory=dict)
    ceiling: str | None = Field(None, description="Ceiling id, or None for an unceiled benchmark.")
    region: str | None = None
    kind: Literal["neural", "behavioral", "engineering", "adversarial", "composite"] = "neural"
    visual_degrees: float | None = Field(None, gt=0)
    number_of_trials: int = Field(1, ge=1)
    citation: str = Field("", description="BibTeX of the paper the benchmark implements.")
    paper_section: str = ""
    higher_is_better: bool = Field(
        True, description="Direction of the score: False for benchmarks where lower is better "
        "(errors, sensitivities). Aggregators and the report respect it.",
    )


class AggregatorSpec(Spec):
    """An aggregator of scores into one score (a tree) or a ranking (a model x benchmark table)."""

    citation: str = ""


#: where a figure appears in the report, and what it is called for (see :class:`FigureSpec`)
FIGURE_SCOPES: tuple[str, ...] = ("benchmark", "model", "global")


class FigureSpec(Spec):
    """A figure of the HTML report (``neuroalign report``), contributed by a plugin.

    The factory builds a :class:`~neuroalign.Figure`; the report calls it with a
    :class:`~neuroalign.FigureContext` and draws the charts it returns as inline SVG, with their
    data downloadable as CSV and JSON.

    ``scope`` says where the figure goes and how often it is called: ``"benchmark"`` once per
    benchmark whose id matches ``benchmarks`` (in that benchmark's section), ``"model"`` once per
    model (on its card), ``"global"`` once (in the section named ``section``).
    """

    scope: Literal["benchmark", "model", "global"] = "global"
    benchmarks: str = Field(
        "*", min_length=1,
        description="fnmatch pattern of the benchmark ids whose results the figure reads.",
    )
    section: str = Field(
        "Paper figures", min_length=1, description="Report section of a global figure."
    )
    order: int = Field(100, description="Position among the figures of its section (ascending).")
    inputs: tuple[str, ...] = Field(
        (), description="Per-model columns the figure needs from the user's CSV "
        "(``neuroalign report --models-csv``), e.g. ('imagenet_top1',).",
    )
    citation: str = ""
    paper_section: str = ""
