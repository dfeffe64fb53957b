"""The ``cornet:z`` spec and where its pretrained weights live (no torch import here).

Weights
-------
The authors publish the ImageNet-trained CORnet-Z weights at :data:`WEIGHTS_URL`. The only
checksum published with them is the 8-hex suffix of the file name, ``5c427c9c``, which by
torch.hub's naming convention (``name-<sha256 prefix>.ext``) is the first 8 hex digits of the
file's sha256. We could not download the file to compute the full digest, and we do not invent
one, so :data:`WEIGHTS_SHA256` is ``None`` and downloads of the public URL are verified against
:data:`WEIGHTS_SHA256_PREFIX` (32 bits: it catches corruption and a changed file, not a
deliberate collision). Once someone computes the full digest (``sha256sum cornet_z-5c427c9c.pth``)
it belongs in :data:`WEIGHTS_SHA256`; until then a user can pin it themselves with
``parameters={"weights_sha256": "<64 hex>"}``, which routes the download through
:func:`neuroalign.store.fetch` and verifies all 256 bits.
"""

from __future__ import annotations

from neuroalign import ModelSpec, Preprocessing

__all__ = ["CITATION", "CORNET_Z", "WEIGHTS_SHA256", "WEIGHTS_SHA256_PREFIX", "WEIGHTS_URL"]

#: the authors' public CORnet-Z checkpoint: a dict whose "state_dict" has keys
#: "module.V1.conv.weight", ..., "module.decoder.linear.bias"
WEIGHTS_URL = "https://s3.amazonaws.com/cornet-models/cornet_z-5c427c9c.pth"
#: full sha256 of WEIGHTS_URL: not published anywhere we could find, so unknown (see module doc)
WEIGHTS_SHA256: str | None = None
#: sha256 prefix from the published file name (torch.hub convention)
WEIGHTS_SHA256_PREFIX = "5c427c9c"

CITATION = """@article{kubilius2018cornet,
  title   = {CORnet: Modeling the Neural Mechanisms of Core Object Recognition},
  author  = {Kubilius, Jonas and Schrimpf, Martin and Nayebi, Aran and Bear, Daniel and
             Yamins, Daniel L. K. and DiCarlo, James J.},
  journal = {bioRxiv},
  year    = {2018},
  doi     = {10.1101/408385}
}"""

#: Each area's committed layer is the area's output (after conv, ReLU and max-pool); behavior is
#: read out from the decoder's global average pool: the 512 IT features the linear classifier sees.
REGION_LAYERS = {
    "V1": "V1",
    "V2": "V2",
    "V4": "V4",
    "IT": "IT",
    "behavior": "decoder.avgpool",
}

CORNET_Z = ModelSpec(
    id="cornet:z",
    factory="neuroalign_cornet.model:build",
    parameters={
        "pretrained": True,
        "weights_url": WEIGHTS_URL,
        "weights_sha256": WEIGHTS_SHA256,
        "seed": 0,
    },
    # the authors trained with ImageNet's resize-256 / centre-crop-224 and ImageNet statistics
    preprocessing=Preprocessing(input_size=224, interpolation="bilinear", crop_pct=0.875),
    visual_degrees=8.0,
    layers=("V1", "V2", "V4", "IT", "decoder.avgpool"),
    region_layers=REGION_LAYERS,
    metadata={
        "family": "cornet",
        "paper": "Kubilius et al. 2018",
        "citation": CITATION,
        "weights_sha256_prefix": WEIGHTS_SHA256_PREFIX,
    },
    description="CORnet-Z: four conv areas (V1, V2, V4, IT) and a linear decoder; "
    "neuroalign's own implementation of Kubilius et al. 2018",
)
