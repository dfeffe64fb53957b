"""NSD's layout constants and the registered specs (cheap: no numpy, no I/O).

Everything the raw Natural Scenes Dataset fixes (file paths, subjects, completed sessions, trials
per session, ROI definitions) lives here, so the preparation code, the synthetic twin and the
benchmarks agree on one description.
"""

from __future__ import annotations

from neuroalign import AssetSpec, BenchmarkSpec, DatasetSpec, FigureSpec

__all__ = [
    "BUCKET", "SUBJECTS", "SESSIONS", "TRIALS_PER_SESSION", "SHARED_REPETITIONS", "ROIS",
    "CATEGORIES", "TVAL_FILES", "TVAL_THRESHOLD", "VISUAL_DEGREES", "MAPPINGS",
    "STIMULUS_SET_ID", "STIMULUS_ID_FORMAT", "DATASET_VERSION", "subject_dataset_id",
    "DESIGN_PATH", "STIMULI_PATH", "betas_path", "roi_path", "tval_path", "ctab_path",
    "dataset_specs", "benchmark_specs", "sensitivity_specs", "sensitivity_id", "EPSILONS",
    "CITATION", "PAPER_CITATION",
]

#: the public bucket (us-east-2, anonymous reads work; users must accept NSD's Data Access
#: Agreement, https://naturalscenesdataset.org)
BUCKET = "s3://natural-scenes-dataset"
SUBJECTS: tuple[int, ...] = (1, 2, 3, 4, 5, 6, 7, 8)
#: sessions each subject completed (NSD data paper, Allen et al. 2022)
SESSIONS: tuple[int, ...] = (40, 40, 32, 30, 40, 32, 40, 30)
TRIALS_PER_SESSION = 750
SHARED_REPETITIONS = 3
#: ROI -> (floc category, label names in that category's ROI file)
ROIS: dict[str, tuple[str, tuple[str, ...]]] = {
    "FFA": ("faces", ("FFA-1", "FFA-2")),
    "EBA": ("bodies", ("EBA",)),
    "PPA": ("places", ("PPA",)),
    "VWFA": ("words", ("VWFA-1", "VWFA-2")),
}
CATEGORIES: tuple[str, ...] = ("faces", "bodies", "places", "words")
#: floc category -> its t-map file name (NSD spells the words map without the plural 's')
TVAL_FILES: dict[str, str] = {"faces": "floc_facestval.nii.gz",
                              "bodies": "floc_bodiestval.nii.gz",
                              "places": "floc_placestval.nii.gz",
                              "words": "floc_wordtval.nii.gz"}
TVAL_THRESHOLD = 7.0
#: NSD images span 8.4 degrees of visual angle (Allen et al. 2022)
VISUAL_DEGREES = 8.4
MAPPINGS: tuple[str, ...] = ("ols", "ridge", "lasso", "mlp", "cnn")
STIMULUS_SET_ID = "NSD.shared515"
STIMULUS_ID_FORMAT = "nsd-{:05d}"
DATASET_VERSION = 1

DESIGN_PATH = "nsddata/experiments/nsd/nsd_expdesign.mat"
STIMULI_PATH = "nsddata_stimuli/stimuli/nsd/nsd_stimuli.hdf5"

CITATION = """@article{allen2022massive,
  title={A massive 7T fMRI dataset to bridge cognitive neuroscience and artificial intelligence},
  author={Allen, Emily J and St-Yves, Ghislain and Wu, Yihan and Breedlove, Jesse L and Prince,
          Jacob S and Dowdle, Logan T and Nau, Matthias and Caron, Brad and Pestilli, Franco and
          Charest, Ian and Hutchinson, J Benjamin and Naselaris, Thomas and Kay, Kendrick},
  journal={Nature Neuroscience}, volume={25}, number={1}, pages={116--126}, year={2022}
}"""
PAPER_CITATION = ("Small-scale adversarial perturbations expose differences between predictive "
                  "encoding models of human fMRI responses (paper 002)")
_LICENSE = ("NSD Terms and Conditions: every user must accept the NSD Data Access Agreement "
            "(https://naturalscenesdataset.org) before using the data")


def subject_dataset_id(subject: int) -> str:
    """``NSD.subjAA`` for subject ``subject`` (1-8)."""
    return f"NSD.subj{int(subject):02d}"


def betas_path(subject: int, session: int) -> str:
    """Key of one session's single-trial betas (1.8 mm, GLMsingle fithrf_GLMdenoise_RR)."""
    return (f"nsddata_betas/ppdata/subj{subject:02d}/func1pt8mm/betas_fithrf_GLMdenoise_RR/"
            f"betas_session{session:02d}.hdf5")


def roi_path(subject: int, category: str) -> str:
    """Key of a subject's floc ROI label volume (``floc-faces.nii.gz`` ...)."""
    return f"nsddata/ppdata/subj{subject:02d}/func1pt8mm/roi/floc-{category}.nii.gz"


def tval_path(subject: int, category: str) -> str:
    """Key of a subject's floc t-map for ``category``."""
    return f"nsddata/ppdata/subj{subject:02d}/func1pt8mm/{TVAL_FILES[category]}"


def ctab_path(category: str) -> str:
    """Key of the colour table naming the labels of ``floc-<category>``."""
    return f"nsddata/freesurfer/fsaverage/label/floc-{category}.mgz.ctab"


def _prepared_asset(name: str, path: str, fmt: str) -> AssetSpec:
    # NSD publishes no prepared files: these relative paths exist only inside a store written
    # by `neuroalign nsd prepare` (NEUROALIGN_STORE points at it and supplies sha256s)
    return AssetSpec(name=name, url=path, format=fmt)  # type: ignore[arg-type]


def dataset_specs() -> list[DatasetSpec]:
    """``NSD.shared515`` (stimuli) and ``NSD.subj01`` ... ``NSD.subj08`` (cheap: no I/O)."""
    folder = f"{STIMULUS_SET_ID}/v{DATASET_VERSION}"
    specs = [DatasetSpec(
        id=STIMULUS_SET_ID, factory="neuroalign_nsd.data:NSDStimuli", version=DATASET_VERSION,
        assets=(_prepared_asset("stimuli_csv", f"{folder}/stimuli.csv", "csv"),
                _prepared_asset("stimuli_zip", f"{folder}/stimuli.zip", "zip")),
        kind="stimuli", license=_LICENSE, citation=CITATION,
        synthetic="neuroalign_nsd.synthetic:generate",
        description="The 515 NSD images every subject saw three times (PNG, 425 px, 8.4 deg), "
                    "written by `neuroalign nsd prepare` from nsd_stimuli.hdf5.",
        parameters={"visual_degrees": VISUAL_DEGREES},
    )]
    for subject in SUBJECTS:
        identifier = subject_dataset_id(subject)
        specs.append(DatasetSpec(
            id=identifier, factory="neuroalign_nsd.data:NSDSubject", version=DATASET_VERSION,
            assets=(_prepared_asset("assembly", f"{identifier}/v{DATASET_VERSION}/"
                                                f"{identifier}.nc", "netcdf"),),
            kind="neural", license=_LICENSE, citation=CITATION,
            synthetic="neuroalign_nsd.synthetic:generate",
            description=f"NSD subject {subject}: z-scored single-trial betas (%BOLD) of the "
                        "FFA, EBA, PPA and VWFA voxels with t > 7, the 1,545 trials of the "
                        "shared 515 images (presentation x neuroid).",
            parameters={"subject": subject, "stimulus_set": STIMULUS_SET_ID},
        ))
    return specs


_MAPPING_TEXT = {
    "ols": "ordinary least squares (minimum-norm when features outnumber images)",
    "ridge": "ridge regression, alpha per subject by efficient leave-one-out",
    "lasso": "lasso, one alpha from {1e-4, 1e-3, 5e-3, 1e-2, 5e-2, 1e-1} chosen by inner CV on "
             "subject 2's training images",
    "mlp": "an MLP with one hidden layer of 128 ReLU units (seeded)",
    "cnn": "a CNN read-out: 1x1 convolution to 128 ReLU channels, then a linear read-out "
           "(seeded)",
}


def benchmark_specs() -> list[BenchmarkSpec]:
    """``NSD.{FFA,EBA,PPA,VWFA}-{ols,ridge,lasso,mlp,cnn}`` (cheap: no I/O)."""
    specs = []
    for roi in ROIS:
        for mapping in MAPPINGS:
            specs.append(BenchmarkSpec(
                id=f"NSD.{roi}-{mapping}",
                factory="neuroalign_nsd.benchmarks:NSDBenchmark",
                version=1,
                dataset=STIMULUS_SET_ID,
                region=roi,
                kind="neural",
                visual_degrees=VISUAL_DEGREES,
                number_of_trials=SHARED_REPETITIONS,
                citation=CITATION,
                paper_section="paper 002 §2.1 (fMRI dataset), §2.2 (encoding model, mappings, "
                              "400/115 cross-validation), Fig. 2C (ceiling)",
                description=f"{roi} encoding on NSD's shared 515 images: {_MAPPING_TEXT[mapping]} "
                            f"from model features to the {roi}'s voxel- and trial-averaged "
                            "response (t > 7 voxels), fit on 400 images, Pearson r on 115, mean "
                            "over 8 subjects; ceiling: split-half reliability over the three "
                            "trials (Spearman-Brown), median over subjects.",
                parameters={
                    "mapping": mapping,
                    "subjects": [subject_dataset_id(s) for s in SUBJECTS],
                    "n_test": 115,
                    "split_seed": 0,
                    "selection_folds": 5,
                    "selection_mapping": mapping if mapping in ("ols", "ridge") else "ridge",
                    "lasso_alphas": [1e-4, 1e-3, 5e-3, 1e-2, 5e-2, 1e-1],
                    "lasso_subject": subject_dataset_id(2),
                    "hidden_units": 128,
                    "cnn_max_features": 1 << 18,
                    "seed": 0,
                    "ceiling_mode": "explained_variance",
                    "reduction": "pca",
                },
            ))
    return specs


#: FGSM budgets of paper 002 Fig. 3B (pixel units); the score is taken at the last
EPSILONS: tuple[float, ...] = (1 / 255, 2 / 255, 3 / 255)


def sensitivity_id(roi: str, mapping: str = "ols") -> str:
    """``NSD.<ROI>-fgsm_sensitivity`` (OLS, the paper's default) or ``..._<mapping>``."""
    suffix = "" if mapping == "ols" else f"_{mapping}"
    return f"NSD.{roi}-fgsm_sensitivity{suffix}"


def sensitivity_specs() -> list[BenchmarkSpec]:
    """``NSD.{FFA,EBA,PPA,VWFA}-fgsm_sensitivity[_{ridge,lasso,mlp,cnn}]`` (cheap: no I/O)."""
    specs = []
    base = {s.id: s for s in benchmark_specs()}
    for roi in ROIS:
        for mapping in MAPPINGS:
            parameters = dict(base[f"NSD.{roi}-{mapping}"].parameters)
            parameters.pop("ceiling_mode", None)
            parameters.pop("reduction", None)
            parameters.update({
                "rois": list(ROIS), "epsilons": list(EPSILONS), "score_epsilon": EPSILONS[-1],
                "shuffle_seed": 0, "batch_size": 16, "gradient": "loop",
                "memory_format": "auto", "fold_batchnorm": True,
            })
            specs.append(BenchmarkSpec(
                id=sensitivity_id(roi, mapping),
                factory="neuroalign_nsd.adversarial:NSDSensitivityBenchmark",
                version=2, dataset=STIMULUS_SET_ID, region=roi, kind="adversarial",
                visual_degrees=VISUAL_DEGREES, number_of_trials=SHARED_REPETITIONS,
                citation=CITATION, higher_is_better=False,
                paper_section="paper 002 §2.3 (FGSM sensitivity), §3.2-3.3 and Fig. 3 "
                              "(curve over epsilon, shuffled control), §3.5 / Table 1 (mappings)",
                description=f"FGSM sensitivity of the {roi} encoding model (the network at its "
                            f"layer + {_MAPPING_TEXT[mapping]}, fit on NSD's 400 training "
                            "images): s = g(f(x)) - g(f(x + delta)), delta = -eps sign(grad), "
                            "in the model's input pixels, at eps 1, 2, 3 / 255 on the 115 "
                            "held-out images, with a shuffled-noise control; score: mean s at "
                            "3/255 over images and subjects (lower is more robust).",
                parameters=parameters,
            ))
    return specs


def figure_specs() -> list[FigureSpec]:
    """The report figure of the sensitivity benchmarks (cheap: no I/O)."""
    return [FigureSpec(
        id="nsd_sensitivity_curve", factory="neuroalign_nsd.figures:SensitivityCurve",
        scope="benchmark", benchmarks="NSD.*-fgsm_sensitivity*", order=30,
        parameters={"max_series": 6, "control": True},
        description="Sensitivity over epsilon of the most robust models, with the shuffled "
                    "control.",
        citation=PAPER_CITATION, paper_section="§3.2 and Figure 3B")]
