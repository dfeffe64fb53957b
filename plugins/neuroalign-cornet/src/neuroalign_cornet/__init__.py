"""neuroalign-cornet: CORnet-Z as a neuroalign model package (``cornet:z``).

Our own implementation of CORnet-Z from Kubilius et al. (2018), registered with its region
commitments through the ``register_models`` hook. Importing this package does not import torch;
building the model (``neuroalign.get_model("cornet:z")``) does.
"""

from __future__ import annotations

from .specs import CORNET_Z, WEIGHTS_SHA256, WEIGHTS_SHA256_PREFIX, WEIGHTS_URL

__version__ = "0.1.0"

__all__ = ["CORNET_Z", "WEIGHTS_SHA256", "WEIGHTS_SHA256_PREFIX", "WEIGHTS_URL", "__version__"]
