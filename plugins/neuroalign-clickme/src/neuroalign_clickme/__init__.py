"""neuroalign-clickme: perturbation tolerance and adversarial alignment with ClickMe (paper 003).

* :mod:`.tfrecord` - TFRecord files (masked CRC32C verified) and ``tf.train.Example`` protos,
  without TensorFlow;
* :mod:`.preprocessing` - Harmonization's image and heatmap preprocessing;
* :mod:`.data` - the ClickMe datasets and the builder of a local store from the public release;
* :mod:`.synthetic` - the synthetic twin (coloured objects, blurred-mask "human" maps);
* :mod:`.twin` - ``clickme:groundtruth-harmonized``, an aligned network for the twin;
* :mod:`.search` - the reference minimal-eps L2 PGD search, batched, and the per-image loop;
* :mod:`.alignment` - Spearman alignment and the tolerance-vs-alignment Pareto table;
* :mod:`.benchmarks` - ``ClickMe.{tolerance,alignment}-{pgd_l2,pgd_linf,cw_l2}``.

Importing this package imports neither torch nor the core's heavy modules.
"""

from __future__ import annotations

from neuroalign.lazy import lazy_exports

__version__ = "0.1.0"

_EXPORTS = {
    "read_records": "tfrecord", "write_records": "tfrecord", "parse_example": "tfrecord",
    "serialize_example": "tfrecord", "TFRecordError": "tfrecord", "masked_crc32c": "tfrecord",
    "preprocess_images": "preprocessing", "preprocess_heatmaps": "preprocessing",
    "gaussian_kernel": "preprocessing", "gaussian_blur": "preprocessing",
    "ClickMeDataset": "data", "build_release_store": "data",
    "tolerance_search": "search", "per_image_search": "search", "SearchSchedule": "search",
    "alignment": "alignment", "spearman_rows": "alignment", "pareto_table": "alignment",
    "HUMAN_CEILING": "specs", "ClickMeBenchmark": "benchmarks",
}

__all__ = sorted(_EXPORTS) + ["__version__"]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, __all__)
