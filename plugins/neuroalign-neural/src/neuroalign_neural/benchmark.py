"""The neural-predictivity benchmark template: layer selection, a mapping metric, a ceiling.

:class:`NeuralBenchmark` is the machinery every neural dataset plugin shares (Brain-Score keeps
the same thing in ``benchmark_helpers``): layer selection on a selection split, a mapping metric
and a ceiling on a disjoint reported split. A dataset plugin only says where its splits come from
(:meth:`NeuralBenchmark.load_split`) and how a raw score is normalised by the ceiling
(:meth:`NeuralBenchmark.normalize`).

Layer policy (Schrimpf et al. 2018, "Neural predictivity"; paper 004):

1. ``layers=[...]`` given: those candidates (one layer: scored as is, no selection);
2. else the model's region commitment (``ModelSpec.region_layers[region]``), when it has one;
3. else every candidate layer of the model (``ModelSpec.layers``) is scored on the *selection*
   split and the best one (highest ceiled score) is scored on the *reported* split. Every
   per-layer selection score is kept in ``Score.layers``.

Missing values (Brain-Score's behaviour): NaN trials are skipped when averaging over
repetitions (:func:`average_repetitions`) and in the ceiling's split halves; a neuroid with no
valid trial for some stimulus (a NaN in its averaged response) is skipped by the ceiling and the
metric. The counts go into ``Score.attrs["nan"]`` (per split: NaN values, neuroids skipped and
kept) with a :class:`~neuroalign.errors.DataQualityWarning`; an all-NaN split is an error.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from neuroalign.errors import SpecError
from neuroalign import Benchmark, Model
from neuroalign import Score
from neuroalign.scoring.engine import progress_enabled, track

if TYPE_CHECKING:  # pragma: no cover
    import xarray as xr
    from neuroalign.stimuli import StimulusSet

__all__ = ["INPUT_RULES", "REPORTED_FEATURES", "NeuralBenchmark", "NeuralSplit",
           "apply_input_rule", "average_repetitions", "brainscore_preprocessing",
           "resolve_layers", "skip_nan_neuroids"]

#: values of ``parameters["reported_features"]``
REPORTED_FEATURES = ("full", "reduced")
#: values of ``parameters["preprocessing"]``
INPUT_RULES = ("brainscore", "model")


def brainscore_preprocessing(preprocessing: Any) -> Any:
    """Brain-Score's input rule (``load_preprocess_images``): ``Resize((s, s))`` (bilinear,
    no centre crop) at the model's input size, normalised with the model's mean and std."""
    return preprocessing.model_copy(update={"resize": "square", "crop_pct": 1.0,
                                            "interpolation": "bilinear"})


def apply_input_rule(model: Model, rule: str) -> tuple[Model, dict[str, Any]]:
    """``model`` seeing input by ``rule`` (``"brainscore"`` or ``"model"``), and a note for attrs."""
    own = model.preprocessing
    if rule == "model":
        return model, {"rule": "model", **own.model_dump(mode="json")}
    wanted = brainscore_preprocessing(own)
    try:
        view = model.with_preprocessing(wanted)
    except NotImplementedError:
        return model, {"rule": "model (the model cannot change its preprocessing)",
                       **own.model_dump(mode="json")}
    return view, {"rule": "brainscore", **wanted.model_dump(mode="json")}


def average_repetitions(assembly: xr.DataArray, coord: str = "repetition") -> xr.DataArray:
    """Mean over repetitions of each stimulus: ``presentation x neuroid`` -> one row per stimulus.

    NaN-aware, as Brain-Score's ``average_repetition`` (``mean(skipna=True)``): NaN trials are
    skipped; a stimulus whose trials are all NaN for a neuroid is NaN there. The number of NaN
    trial values is recorded in ``attrs["nan_trials"]``.
    Rows are ordered by first appearance of each ``stimulus_id``. Presentation coords that are
    constant within every stimulus (``object_name``, ``variation``, ...) are kept; ``coord`` and
    the other varying ones are dropped. Neuroid coords are kept.
    """
    import pandas as pd
    import xarray as xr

    if "stimulus_id" not in assembly.coords:
        raise SpecError("the assembly has no 'stimulus_id' coordinate to average repetitions over")
    data = assembly.transpose("presentation", "neuroid")
    codes, unique = pd.factorize(np.asarray(data["stimulus_id"].values).astype(str))
    values = np.asarray(data.values, dtype=np.float64)
    finite = ~np.isnan(values)
    counts = np.zeros((len(unique), data.sizes["neuroid"]), dtype=np.float64)
    np.add.at(counts, codes, finite)
    sums = np.zeros((len(unique), data.sizes["neuroid"]), dtype=np.float64)
    np.add.at(sums, codes, np.where(finite, values, 0.0))
    first = np.unique(codes, return_index=True)[1]
    coords: dict[str, Any] = {"stimulus_id": ("presentation", np.asarray(unique, dtype=object))}
    for name, values in data.coords.items():
        if name in ("stimulus_id", coord, "presentation") or values.dims != ("presentation",):
            continue
        column = np.asarray(values.values)
        if (pd.Series(column).groupby(codes).nunique(dropna=False) <= 1).all():
            coords[str(name)] = ("presentation", column[first])
    for name, values in data.coords.items():
        if values.dims == ("neuroid",):
            coords[str(name)] = ("neuroid", np.asarray(values.values))
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(counts > 0, sums / np.maximum(counts, 1.0), np.nan)
    return xr.DataArray(means, dims=("presentation", "neuroid"), coords=coords,
                        attrs={**assembly.attrs, "nan_trials": int((~finite).sum())})


def skip_nan_neuroids(split: NeuralSplit) -> tuple[NeuralSplit, dict[str, Any] | None]:
    """``split`` without the neuroids that have no valid trial for some stimulus, and the counts.

    Returns ``(split, None)`` when the data holds no NaN. Raises :class:`SpecError` when every
    value, or every neuroid, is NaN.
    """
    values = np.asarray(split.repetitions.values, dtype=np.float64)
    missing = int(np.isnan(values).sum())
    if missing == 0:
        return split, None
    if missing == values.size:
        raise SpecError(
            f"{split.name}: every value of the assembly is NaN ({values.size} values, "
            f"{values.shape[1]} neuroids); the data file is broken or the wrong one: fetch it "
            "again (neuroalign cache clear, then neuroalign fetch)"
        )
    target = np.asarray(split.target.values)
    bad = np.isnan(target).any(axis=0)
    ids = [str(i) for i in split.repetitions["neuroid_id"].values] \
        if "neuroid_id" in split.repetitions.coords else [str(i) for i in range(len(bad))]
    if bad.all():
        raise SpecError(
            f"{split.name}: every neuroid has a stimulus without any valid (non-NaN) trial "
            f"({missing} NaN values); nothing can be scored: check the data file"
        )
    stats = {"nan_values": missing, "values": int(values.size),
             "neuroids_skipped": int(bad.sum()), "neuroids_kept": int((~bad).sum()),
             "skipped_neuroid_ids": [i for i, b in zip(ids, bad) if b][:20]}
    keep = np.flatnonzero(~bad)
    cleaned = NeuralSplit(name=split.name, stimuli=split.stimuli,
                          repetitions=split.repetitions.isel(neuroid=keep), sha256=split.sha256,
                          _target=split.target.isel(neuroid=keep))
    return cleaned, stats


def resolve_layers(model: Model, region: str | None,
                   layers: Sequence[str] | None = None) -> tuple[list[str], str]:
    """Candidate layers and the policy that chose them: ``given``, ``committed`` or ``selected``."""
    if layers is not None:
        layers = [str(layer) for layer in layers]
        if not layers:
            raise SpecError("layers=[] names no layer; give at least one or leave layers=None")
        return layers, "given"
    committed = model.region_layers
    if region is not None and region in committed:
        return [committed[region]], "committed"
    if model.layers:
        return list(model.layers), "selected"
    raise SpecError(
        f"model {model.identifier!r} has no candidate layers and no commitment for region "
        f"{region!r}; pass layers=[...] (e.g. neuroalign score {model.identifier} BENCHMARK "
        "--layer NAME) or give its ModelSpec layers / region_layers"
    )



@dataclass
class NeuralSplit:
    """One split of a neural dataset, restricted to a benchmark's region.

    Attributes
    ----------
    name : str
        Dataset id (e.g. ``MajajHong2015.public``).
    stimuli : StimulusSet
        The images.
    repetitions : xarray.DataArray
        Per-repetition responses ``presentation x neuroid`` (coord ``repetition``).
    sha256 : dict
        File name -> sha256 of the data files behind the split (provenance).
    """

    name: str
    stimuli: StimulusSet
    repetitions: xr.DataArray
    sha256: dict[str, str] = field(default_factory=dict)
    _target: xr.DataArray | None = field(default=None, repr=False)

    @property
    def target(self) -> xr.DataArray:
        """Responses averaged over repetitions (what mapping metrics are fit to)."""
        if self._target is None:
            self._target = average_repetitions(self.repetitions)
        return self._target


def _reference_provenance(reference: dict[str, Any] | None) -> dict[str, str]:
    """The PCA reference set as a provenance entry (its content hash, or 'procedural-vN')."""
    if not reference:
        return {}
    if reference.get("source") == "folder":
        return {"pca_reference_images": str(reference["sha256"])}
    return {"pca_reference_images": f"procedural-v{reference.get('version')}"}


class NeuralBenchmark(Benchmark):
    """Neural predictivity: layer selection + mapping metric + ceiling.

    :meth:`load_split` (``"selection"`` / ``"reported"``) reads the region's neuroids of the
    spec's datasets and :meth:`normalize` applies ``parameters["ceiling_mode"]``; a dataset
    plugin overrides them only where its data differ. Parameters come from the spec:
    ``metric``, ``metric_parameters``, ``ceiling``, ``region``, ``visual_degrees`` and, in
    ``parameters``, ``reduction`` (default ``"pca"``).
    """

    def __init__(self, spec):
        self.spec = spec
        self._splits: dict[str, NeuralSplit] = {}
        self._nan: dict[str, dict[str, Any]] = {}
        self._ceilings: dict[str, Score] = {}
        self._metric: Callable[[Any, Any], Score] | None = None

    def __getstate__(self) -> dict[str, Any]:  # picklable for distributed runs: rebuild lazily
        return {"spec": self.spec}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["spec"])

    # ---------------------------------------------------------------- for subclasses
    #: the selection split's dataset when the spec's ``parameters`` name no
    #: ``selection_dataset`` (None: the spec must name one)
    default_selection_dataset: str | None = None
    #: what the assembly's neuroids are called in error messages ("sites", "units", ...)
    unit_name: str = "sites"

    def load_split(self, role: str) -> NeuralSplit:
        """The ``"selection"`` or ``"reported"`` split, restricted to the region.

        The default reads ``parameters["selection_dataset"]`` (else
        :attr:`default_selection_dataset`) for selection and ``spec.dataset`` for the reported
        split, and keeps the neuroids whose ``region`` coordinate is ``spec.region``. Override it
        for datasets organised otherwise.
        """
        from neuroalign import get_dataset

        if role not in ("selection", "reported"):
            raise ValueError(f"role must be 'selection' or 'reported'; found {role!r}")
        identifier = (self.spec.parameters.get("selection_dataset",
                                                self.default_selection_dataset)
                      if role == "selection" else self.spec.dataset)
        if not identifier:
            raise SpecError(f"benchmark {self.spec.id!r} names no dataset for its {role} split "
                            "(spec.dataset / parameters['selection_dataset'])")
        dataset = get_dataset(identifier)
        assembly = dataset.load()
        regional = assembly.isel(neuroid=(assembly["region"] == self.spec.region).values)
        if regional.sizes["neuroid"] == 0:
            regions = sorted(set(map(str, assembly["region"].values)))
            raise ValueError(f"{identifier} has no {self.spec.region!r} {self.unit_name}; its "
                             f"regions are {regions}")
        return NeuralSplit(name=identifier, stimuli=dataset.stimuli(), repetitions=regional,
                           sha256=dict(getattr(dataset, "sha256", {}) or {}))

    def normalize(self, raw: Score, ceiling: Score) -> Score:
        """The ceiled Score of ``raw`` given ``ceiling``: ``parameters["ceiling_mode"]``
        (default ``"explained_variance"``, Brain-Score's ``raw**2 / ceiling``), clipped to
        [0, 1] only when ``parameters["clip"]`` is true (Brain-Score does not clip)."""
        from .ceiling import ceiled_score

        parameters = self.spec.parameters
        return ceiled_score(raw, ceiling,
                            mode=parameters.get("ceiling_mode", "explained_variance"),
                            clip=bool(parameters.get("clip", False)))

    # ---------------------------------------------------------------- machinery
    def split(self, role: str) -> NeuralSplit:
        """The split ``role`` (``"selection"`` or ``"reported"``), loaded once; neuroids with no
        valid trial for some stimulus are skipped (see :func:`skip_nan_neuroids`)."""
        if role not in self._splits:
            import warnings

            from neuroalign.errors import DataQualityWarning

            split, stats = skip_nan_neuroids(self.load_split(role))
            if stats is not None:
                self._nan[role] = {"split": split.name, **stats}
                warnings.warn(
                    f"{self.spec.id}: {split.name} holds {stats['nan_values']} NaN values of "
                    f"{stats['values']}; NaN trials are skipped in averages, and "
                    f"{stats['neuroids_skipped']} neuroid(s) without a valid trial for some "
                    f"stimulus are skipped by the ceiling and the metric "
                    f"({stats['neuroids_kept']} kept); counts in Score.attrs['nan']",
                    DataQualityWarning, stacklevel=2)
            self._splits[role] = split
        return self._splits[role]

    @property
    def metric(self) -> Callable[[Any, Any], Score]:
        """The mapping metric (``spec.metric`` with ``spec.metric_parameters``), built once."""
        if self._metric is None:
            from neuroalign import get_metric

            self._metric = get_metric(self.spec.metric, parameters=self.spec.metric_parameters)
        return self._metric

    def ceiling(self, role: str = "reported") -> Score:
        """The ceiling of a split (cached)."""
        if role not in self._ceilings:
            from neuroalign import get_ceiling

            self._ceilings[role] = get_ceiling(self.spec.ceiling)(self.split(role).repetitions)
        return self._ceilings[role]

    def dataset_sha256(self) -> dict[str, str]:
        """File -> sha256 of every data file used so far."""
        out: dict[str, str] = {}
        for split in self._splits.values():
            out.update(split.sha256)
        return out

    @property
    def reduction(self) -> Any:
        """How wide layers are reduced for layer selection (``parameters["reduction"]``,
        default ``"pca"``: Brain-Score's ``LayerPCA(1000)`` during ``LayerSelection``).

        ``parameters["pca_images"]`` names the PCA reference folder (ImageNet val); default
        ``$NEUROALIGN_PCA_IMAGES``, else the procedural set (recorded in every Score).
        """
        reduction = self.spec.parameters.get("reduction", "pca")
        folder = self.spec.parameters.get("pca_images")
        if folder and reduction == "pca":
            from neuroalign.extraction.reduction import Reduction

            return Reduction(method="pca", reference=str(folder))
        return reduction

    @property
    def reported_features(self) -> str:
        """``parameters["reported_features"]``: ``"full"`` (default, Brain-Score: the reported
        score uses the chosen layer's full activations) or ``"reduced"`` (the selection
        reduction, cheaper; neuroalign <= 0.1 behaviour)."""
        value = self.spec.parameters.get("reported_features", "full")
        if value not in REPORTED_FEATURES:
            raise SpecError(f"benchmark {self.spec.id!r}: parameters['reported_features']="
                            f"{value!r}; use one of {list(REPORTED_FEATURES)}")
        return value

    @property
    def input_rule(self) -> str:
        """``parameters["preprocessing"]``: ``"brainscore"`` (default: ``Resize((s, s))``, no
        centre crop, bilinear) or ``"model"`` (the model's own, e.g. timm's ``crop_pct``)."""
        value = self.spec.parameters.get("preprocessing", "brainscore")
        if value not in INPUT_RULES:
            raise SpecError(f"benchmark {self.spec.id!r}: parameters['preprocessing']={value!r}; "
                            f"use one of {list(INPUT_RULES)}")
        return value

    def _features(self, model: Model, split: NeuralSplit, layers: list[str],
                  progress: bool | None, reduction: Any = None) -> xr.DataArray:
        # ``progress`` is part of the declared Model.activations contract
        return model.activations(split.stimuli, layers, visual_degrees=self.spec.visual_degrees,
                                 reduction=self.reduction if reduction is None else reduction,
                                 progress=progress)

    def _reported_reduction(self) -> Any:
        """The reduction for the reported score: full activations by default."""
        if self.reported_features == "reduced":
            return self.reduction
        # rotation-invariant metrics see the full layer through its exact Gram embedding
        return "gram" if getattr(self.metric, "rotation_invariant", False) else None

    def _select(self, model: Model, candidates: list[str], progress: bool | None
                ) -> tuple[str, dict[str, float] | None, dict[str, float], Any]:
        """Layer selection on the selection split: ``(chosen, ceiled per layer or None, raw per
        layer, PCA reference)``; ``model`` has the input rule applied."""
        show = progress_enabled(progress)
        per_layer: dict[str, float] | None = None
        per_layer_raw: dict[str, float] = {}
        chosen = candidates[0]
        reference = None
        if len(candidates) > 1:
            selection = self.split("selection")
            features = self._features(model, selection, candidates, progress)
            layer_of = np.asarray(features["layer"].values).astype(str)
            reference = features.attrs.get("pca_reference")
            selection_ceiling = self.ceiling("selection")
            per_layer = {}
            for layer in track(candidates, f"{model.identifier} layers on {selection.name}", show):
                raw = self.metric(features.isel(neuroid=np.flatnonzero(layer_of == layer)),
                                  selection.target)
                per_layer_raw[layer] = float(raw.value)
                per_layer[layer] = float(self.normalize(raw, selection_ceiling).value)
            del features
            # ties go to the higher raw score
            chosen = max(candidates, key=lambda name: (per_layer[name], per_layer_raw[name]))
        return chosen, per_layer, per_layer_raw, reference

    def reported_request(self, model: Model, *, layers: Sequence[str] | None = None,
                         progress: bool | None = None) -> dict[str, Any] | None:
        """The separate extraction pass the reported score will need, after selecting the layer.

        Returns ``{"model", "stimuli", "layers", "visual_degrees", "reduction"}`` (``model``
        with this benchmark's input rule) when the reported score reads the chosen layer in
        another reduction than the selection (full activations, the default), else None. The
        selection is kept for the next call on the same ``model`` object and candidates, so a
        caller that scores several benchmarks (:func:`neuroalign.score` with a list,
        ``score_many``) can run one pass for all the layers they chose on a shared stimulus
        set, which the activation cache then serves to each (Majaj-Hong V4 and IT choosing two
        layers read the 2,560 private images once instead of twice).
        """
        import weakref

        candidates, _ = resolve_layers(model, self.spec.region, layers)
        viewed, _ = apply_input_rule(model, self.input_rule)
        reduction = self._reported_reduction()
        if reduction == self.reduction:
            return None
        outcome = self._plan_for(model, candidates)  # asked twice: the first selection
        if outcome is None:
            outcome = self._select(viewed, candidates, progress)
        try:
            owner: Callable[[], Any] = weakref.ref(model)
        except TypeError:  # a model class without weak references: kept until the next call
            owner = (lambda kept: lambda: kept)(model)
        self._planned = (owner, tuple(candidates), outcome)
        return {"model": viewed, "stimuli": self.split("reported").stimuli,
                "layers": [outcome[0]], "visual_degrees": self.spec.visual_degrees,
                "reduction": reduction or "none"}

    def _plan_for(self, model: Model, candidates: list[str]) -> tuple | None:
        """The selection :meth:`reported_request` kept for this very ``model`` object (as the
        caller passed it) and ``candidates``, else None."""
        planned = getattr(self, "_planned", None)
        if planned is not None and planned[0]() is model and planned[1] == tuple(candidates):
            return planned[2]
        return None

    def __call__(self, model: Model, *, layers: Sequence[str] | None = None,
                 progress: bool | None = None) -> Score:
        """Score ``model``; ``layers`` overrides its candidates and commitments."""
        candidates, policy = resolve_layers(model, self.spec.region, layers)
        # a selection made by reported_request is used once instead of being made again
        planned, self._planned = self._plan_for(model, candidates), None
        model, input_note = apply_input_rule(model, self.input_rule)
        chosen, per_layer, per_layer_raw, reference = (
            planned if planned is not None else self._select(model, candidates, progress))
        reported = self.split("reported")
        reported_reduction = self._reported_reduction()
        if reported_reduction == self.reduction:
            # all candidates in one pass: the cache then serves every benchmark on this split
            features = self._features(model, reported, candidates, progress)
            layer_of = np.asarray(features["layer"].values).astype(str)
            chosen_features = features.isel(neuroid=np.flatnonzero(layer_of == chosen))
            reference = reference or features.attrs.get("pca_reference")
        else:
            chosen_features = self._features(model, reported, [chosen], progress,
                                             reduction=reported_reduction or "none")
        raw = self.metric(chosen_features, reported.target)
        result = self.normalize(raw, self.ceiling("reported"))
        attrs = dict(result.attrs)
        attrs.update({
            "layer_policy": policy,
            "candidate_layers": candidates,
            "region": self.spec.region,
            "metric": self.spec.metric,
            "ceiling_method": self.spec.ceiling,
            "reported_split": reported.name,
            "reported_stimuli": len(reported.stimuli),
            "reduction": str(self.reduction),
            "reported_features": self.reported_features,
            "reported_reduction": str(reported_reduction),
            "preprocessing_rule": self.input_rule,
            "preprocessing": input_note,
            "visual_degrees": self.spec.visual_degrees,
        })
        if self._nan:
            attrs["nan"] = {role: dict(stats) for role, stats in self._nan.items()}
        nan_trials = reported.repetitions.isnull().sum().item()
        if nan_trials:
            attrs["nan_trials_reported"] = int(nan_trials)
        pca_reference = None
        if reference:
            import json

            pca_reference = json.loads(reference) if isinstance(reference, str) else reference
            attrs["pca_reference"] = pca_reference
        if per_layer is not None:
            attrs.update({"selection_split": self.split("selection").name,
                          "layers_raw": per_layer_raw,
                          "layers_measure": "ceiled score on the selection split"})
        seed = getattr(self.metric, "random_state", None)
        provenance = result.provenance.model_copy(update={
            "seed": seed if isinstance(seed, int) else result.provenance.seed,
            "dataset_sha256": {**result.provenance.dataset_sha256, **self.dataset_sha256(),
                               **_reference_provenance(pca_reference)}})
        return result.model_copy(update={"layer": chosen, "layers": per_layer, "attrs": attrs,
                                         "provenance": provenance})
