"""The datasets ``FreemanZiemba2013.public`` and ``FreemanZiemba2013.private``.

Where the files come from
-------------------------
Every file goes through the core store (:func:`neuroalign.store.assets_for` and
:func:`neuroalign.store.fetch`: cache, mirrors, offline mode, locks, checksums), as for the
Majaj-Hong files (the fetching code is :class:`neuroalign_majaj2015.data.MajajHong2015Dataset`'s):

1. **A store** (``NEUROALIGN_STORE``, e.g. the offline demo store) that lists the dataset;
2. **Brain-Score's bucket** otherwise: the objects brainscore-vision 2.4.2's
   ``data/freemanziemba2013/__init__.py`` loads, in the bucket ``brainscore-storage`` under the
   folder ``brainio-brainscore/`` (brainscore-core's ``get_path``: ``assy_<identifier with '.'
   -> '_'>.nc`` and ``stimulus_<identifier>.csv`` / ``.zip``), pinned by S3 ``version_id``
   (``"null"``: the object written before the bucket was versioned) and verified against
   Brain-Score's ``sha1`` (no sha256 is published; the store computes it on arrival).

The private split is access-controlled (anonymous reads fail); configure credentials as for
``MajajHong2015.private``.

What ``load()`` returns
-----------------------
``presentation x neuroid`` mean spike rate over the 1-ms bins 50-199 ms (Brain-Score's
``time_bin=[(t, t + 1) for t in range(50, 200)]``), every repetition kept, with coords
``stimulus_id``, ``texture_family``, ``texture_type`` (``texture``/``noise``), ``sample``,
``resolution``, ``repetition`` (presentation) and ``neuroid_id``, ``region`` (neuroid). The
real data: 102 V1 and 103 V2 single units; the private split 315 images, the public split 135
(450 = 15 texture families x 2 types x 15 samples), 20 repetitions, stimuli spanning 4 degrees.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from neuroalign import DatasetSpec

from neuroalign_majaj2015.data import MajajHong2015Dataset, brainscore_assets

if TYPE_CHECKING:  # pragma: no cover
    import xarray as xr


__all__ = [
    "BUCKET",
    "BRAINSCORE_FILES",
    "CITATION",
    "TIME_WINDOW",
    "VISUAL_DEGREES",
    "dataset_specs",
    "FreemanZiemba2013Dataset",
]

#: Brain-Score's ``bucket="brainscore-storage/brainio-brainscore"``: bucket + folder
BUCKET = "brainscore-storage"
FOLDER = "brainio-brainscore"
VISUAL_DEGREES = 4.0
#: Brain-Score's ``time_window = (50, 200)``: the 1-ms bins starting at 50, ..., 199
TIME_WINDOW = (50, 200)
#: columns of the stimulus CSV carried to the stimulus set and the assembly
STIMULUS_COLUMNS = ("texture_family", "texture_type", "sample", "resolution")

#: brainscore-vision 2.4.2 ``data/freemanziemba2013/__init__.py`` (keys: brainscore-core
#: ``supported_data_standards/brainio/s3.py:get_path``)
BRAINSCORE_FILES: dict[str, dict[str, dict[str, str]]] = {
    "public": {
        "assembly": {"key": f"{FOLDER}/assy_movshon_FreemanZiemba2013_public.nc",
                     "format": "netcdf", "sha1": "761c08f796db4e342555cdb60eef23a4f19ead43",
                     "version_id": "W2vx7jdh9utZdVumHHarXa4L1zOrA8Fd"},
        "stimuli_csv": {"key": f"{FOLDER}/stimulus_FreemanZiemba2013_aperture-public.csv",
                        "format": "csv", "sha1": "194c9b301a4e3e9cff02481d4c19b39331d52660",
                        "version_id": "null"},
        "stimuli_zip": {"key": f"{FOLDER}/stimulus_FreemanZiemba2013_aperture-public.zip",
                        "format": "zip", "sha1": "3a6fec1fc28c212882d6833e267ea8654d289611",
                        "version_id": "null"},
    },
    "private": {
        "assembly": {"key": f"{FOLDER}/assy_movshon_FreemanZiemba2013_private.nc",
                     "format": "netcdf", "sha1": "63f636fa2e2b51b47a676768a69b06ce95efdd8f",
                     "version_id": "wx5LB7Nq42SV74RQ8Cw6EtyabywsnSyG"},
        "stimuli_csv": {"key": f"{FOLDER}/stimulus_FreemanZiemba2013_aperture-private.csv",
                        "format": "csv", "sha1": "65bee31483dd743ae2a19c6af03b9abe5f4d5a41",
                        "version_id": "Klo0lMygUX0IZPkLoypccXH55a1hZjf2"},
        "stimuli_zip": {"key": f"{FOLDER}/stimulus_FreemanZiemba2013_aperture-private.zip",
                        "format": "zip", "sha1": "daa724a4797b23929df59c18744923790edf71cb",
                        "version_id": "nZES.el0vF3KXuRrB2ELQOqzCcxumFMY"},
    },
}

CITATION = """@article{freeman2013functional,
  title={A functional and perceptual signature of the second visual area in primates},
  author={Freeman, Jeremy and Ziemba, Corey M and Heeger, David J and Simoncelli, Eero P and
          Movshon, J Anthony},
  journal={Nature Neuroscience}, volume={16}, number={7}, pages={974--981}, year={2013},
  doi={10.1038/nn.3402}
}"""

_SIZES = {"public": "135 images", "private": "315 images"}

def dataset_specs() -> list[DatasetSpec]:
    """The registered specs (cheap: no I/O)."""
    return [DatasetSpec(
        id=f"FreemanZiemba2013.{access}",
        factory="neuroalign_freemanziemba2013.data:FreemanZiemba2013Dataset",
        version=1,
        assets=brainscore_assets(BRAINSCORE_FILES[access], bucket=BUCKET),
        kind="neural",
        license="Brain-Score data terms (public split: open; private split: access on request)",
        citation=CITATION,
        synthetic="neuroalign_freemanziemba2013.synthetic:generate",
        description=f"Freeman, Ziemba et al. 2013 single units, 102 V1 + 103 V2, {access} split "
                    f"({_SIZES[access]} of textures and spectrally matched noise, 4 degrees "
                    "aperture), mean rate over the 1-ms bins 50-199 ms, 20 repetitions kept.",
        parameters={
            "access": access,
            "assembly_identifier": f"movshon.FreemanZiemba2013.{access}",
            "stimulus_set_identifier": f"FreemanZiemba2013.aperture-{access}",
            "visual_degrees": VISUAL_DEGREES,
            "time_window": list(TIME_WINDOW),
        },
    ) for access in ("public", "private")]


class FreemanZiemba2013Dataset(MajajHong2015Dataset):
    """A Freeman-Ziemba 2013 split (see the module docstring).

    Fetching, caching, offline and credential errors are those of
    :class:`~neuroalign_majaj2015.data.MajajHong2015Dataset`; the conversion of the 1-ms
    binned assembly is :func:`~neuroalign_freemanziemba2013.formats.to_neuroalign`.

    Parameters
    ----------
    spec : DatasetSpec
        ``assets``: ``assembly``, ``stimuli_csv``, ``stimuli_zip``; ``parameters``: ``access``,
        ``stimulus_set_identifier``, ``visual_degrees``, ``time_window`` (start, stop) in ms.
    """

    default_visual_degrees = VISUAL_DEGREES
    stimulus_columns = STIMULUS_COLUMNS

    def _read_assembly(self) -> xr.DataArray:
        """The 1-ms binned assembly averaged over ``time_window`` (see the module docstring)."""
        from neuroalign_majaj2015.formats import read_assembly, read_stimulus_csv

        from .formats import to_neuroalign

        paths = self.files()
        window = tuple(int(t) for t in self.spec.parameters.get("time_window", TIME_WINDOW))
        return to_neuroalign(read_assembly(paths["assembly"]),
                             read_stimulus_csv(paths["stimuli_csv"]), time_window=window,
                             source=f"{self.spec.id} assembly ({paths['assembly']})")
