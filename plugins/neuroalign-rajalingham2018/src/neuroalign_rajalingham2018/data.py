"""The datasets ``Rajalingham2018.public`` and ``Rajalingham2018.private`` (human trials).

Where the files come from
-------------------------
Through the core store, exactly as the Majaj-Hong 2015 files (this dataset reuses
:class:`neuroalign_majaj2015.data.MajajHong2015Dataset`'s fetching: store override, mirrors,
offline mode, sha1 verification, sha256 recorded for provenance):

1. **A store** (``NEUROALIGN_STORE``, e.g. the offline demo store) that lists the dataset;
2. **Brain-Score's bucket** otherwise: the objects brainscore-vision 2.4.2's
   ``data/rajalingham2018/__init__.py`` loads from ``brainscore-storage/brainio-brainscore``
   (bucket ``brainscore-storage``, folder ``brainio-brainscore``; keys built by
   ``brainscore_core``'s ``get_path``: ``assy_<identifier with . -> _>.nc`` and
   ``stimulus_<identifier with . -> _>.csv/.zip``), pinned by Brain-Score's sha1 and S3 version
   ``"null"`` (objects uploaded before the bucket was versioned), see :data:`BRAINSCORE_FILES`.

What ``load()`` returns
-----------------------
One element per human trial (``presentation``), the chosen object's name, with coords
``stimulus_id``, ``truth``, ``sample_obj``, ``dist_obj`` and the file's other per-trial coords:
the ``trials`` input of the ``i2n`` metric. Real data: the private split has 341,785 trials on
240 images (24 objects x 10), the public one 585,511 trials on 2,160 images.
``stimuli()`` gives the images (``image_label`` / ``object_name``: the object shown).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from neuroalign import AssetSpec, DatasetSpec
from neuroalign_majaj2015.data import MajajHong2015Dataset

if TYPE_CHECKING:  # pragma: no cover
    import xarray as xr

    from neuroalign.stimuli import StimulusSet

__all__ = ["BUCKET", "FOLDER", "BRAINSCORE_FILES", "OBJECTS", "brainscore_assets",
           "dataset_specs", "Rajalingham2018Dataset", "CITATION"]

BUCKET = "brainscore-storage"
FOLDER = "brainio-brainscore"
VISUAL_DEGREES = 8.0

#: brainscore-vision 2.4.2 ``data/rajalingham2018/__init__.py`` (identifier, sha1, version "null")
BRAINSCORE_FILES: dict[str, dict[str, dict[str, str]]] = {
    "public": {
        "assembly": {"key": "assy_dicarlo_Rajalingham2018_public.nc", "format": "netcdf",
                     "sha1": "34c6a8b6f7c523589c1861e4123232e5f7c7df4c", "version_id": "null"},
        "stimuli_csv": {"key": "stimulus_objectome_public.csv", "format": "csv",
                        "sha1": "47884e17106a3be471d6481279cab33889b80850", "version_id": "null"},
        "stimuli_zip": {"key": "stimulus_objectome_public.zip", "format": "zip",
                        "sha1": "064f2955f98e63867755fee2e3ead8cddf6bfab8", "version_id": "null"},
    },
    "private": {
        "assembly": {"key": "assy_dicarlo_Rajalingham2018_private.nc", "format": "netcdf",
                     "sha1": "516f13793d1c5b72bb445bb4008448ce97a02d23", "version_id": "null"},
        "stimuli_csv": {"key": "stimulus_objectome_private.csv", "format": "csv",
                        "sha1": "ac38e8f7c08fa8294ed25a3bf84a6adb108bf3fc", "version_id": "null"},
        "stimuli_zip": {"key": "stimulus_objectome_private.zip", "format": "zip",
                        "sha1": "ccd39f7f9b8b4a92da06e3960d06225e46208593", "version_id": "null"},
    },
}

#: the 24 objects of the objectome (Rajalingham et al. 2018), Brain-Score's spelling
OBJECTS: tuple[str, ...] = (
    "MB27346", "MB28699", "MB29874", "MB30203", "MB30758", "MB30798", "antique_furniture_item_18",
    "breed_pug", "build51", "calc01", "dromedary", "flarenut_spanner", "Hanger_02",
    "interior_details_103_4", "interior_details_130_2", "kitchen_equipment_knife2",
    "lo_poly_animal_BEAR_BLK", "lo_poly_animal_CHICKDEE", "lo_poly_animal_ELE_AS1",
    "lo_poly_animal_RHINO_2", "lo_poly_animal_TRANTULA", "weimaraner", "womens_stockings_01M",
    "zebra",
)

CITATION = """@article{rajalingham2018large,
  title={Large-scale, high-resolution comparison of the core visual object recognition behavior
         of humans, monkeys, and state-of-the-art deep artificial neural networks},
  author={Rajalingham, Rishi and Issa, Elias B and Bashivan, Pouya and Kar, Kohitij and
          Schmidt, Kailyn and DiCarlo, James J},
  journal={Journal of Neuroscience}, volume={38}, number={33}, pages={7255--7269}, year={2018},
  doi={10.1523/JNEUROSCI.0388-18.2018}
}"""


def brainscore_assets(files: dict[str, dict[str, str]], bucket: str = BUCKET,
                      folder: str = FOLDER) -> tuple[AssetSpec, ...]:
    """``s3://<bucket>/<folder>/<key>`` assets pinned by sha1 and S3 version (no sha256)."""
    return tuple(AssetSpec(name=name, url=f"s3://{bucket}/{folder}/{entry['key']}",
                           sha1=entry["sha1"], version_id=entry.get("version_id"),
                           format=entry["format"])
                 for name, entry in files.items())


def dataset_specs() -> list[DatasetSpec]:
    """The registered specs (cheap: no I/O)."""
    return [DatasetSpec(
        id=f"Rajalingham2018.{access}",
        factory="neuroalign_rajalingham2018.data:Rajalingham2018Dataset",
        version=1,
        assets=brainscore_assets(BRAINSCORE_FILES[access]),
        kind="behavioral",
        license="Brain-Score data terms (public split: open; private split: access on request)",
        citation=CITATION,
        synthetic="neuroalign_rajalingham2018.synthetic:generate",
        description=f"Rajalingham et al. 2018 human binary object-discrimination trials on the "
                    f"objectome ({images}; 24 objects), one element per trial: the chosen object, "
                    "with stimulus_id, truth, sample_obj, dist_obj.",
        parameters={"access": access, "stimulus_set_identifier": f"objectome.{access}",
                    "visual_degrees": VISUAL_DEGREES},
    ) for access, images in (("public", "2,160 images, 585,511 trials"),
                             ("private", "240 images, 341,785 trials"))]


class Rajalingham2018Dataset(MajajHong2015Dataset):
    """A Rajalingham 2018 split (see the module docstring).

    Parameters
    ----------
    spec : DatasetSpec
        ``assets``: ``assembly``, ``stimuli_csv``, ``stimuli_zip``; ``parameters``: ``access``,
        ``stimulus_set_identifier``, ``visual_degrees``.
    """

    default_visual_degrees = VISUAL_DEGREES

    def _read_assembly(self) -> xr.DataArray:
        """The trials: chosen object per trial, coords ``stimulus_id``, ``truth``, ``sample_obj``,
        ``dist_obj`` (+ the file's others); :meth:`load` returns them."""
        from neuroalign_majaj2015.formats import read_assembly, read_stimulus_csv

        from .formats import to_trials

        paths = self.files()
        csv = read_stimulus_csv(paths["stimuli_csv"])
        return to_trials(read_assembly(paths["assembly"]), csv["stimulus_id"].to_numpy(),
                         source=f"{self.spec.id} assembly")

    def _read_stimuli(self) -> StimulusSet:
        """The images with ``image_label`` and ``object_name`` (the object each one shows)."""
        from neuroalign.stimuli import StimulusSet
        from neuroalign_majaj2015.formats import read_stimulus_csv, read_stimulus_set

        from .formats import label_column

        paths = self.files()
        column = label_column(read_stimulus_csv(paths["stimuli_csv"]),
                              source=f"{self.spec.id} stimulus set")
        stimuli = read_stimulus_set(
            paths["stimuli_csv"], paths["stimuli_zip"], identifier=self.spec.id,
            degrees=float(self.spec.parameters.get("visual_degrees", self.default_visual_degrees)),
            columns=(column,))
        labels = stimuli.metadata[column].astype(str).tolist()
        return StimulusSet.from_arrays(
            self.spec.id, stimuli.ids, stimuli.images(), stimuli.degrees,
            image_label=labels, object_name=labels)

    def labels(self) -> list[str]:
        """The object each stimulus shows, in :meth:`stimuli` order (the read-out's labels)."""
        return self.stimuli().metadata["image_label"].astype(str).tolist()
