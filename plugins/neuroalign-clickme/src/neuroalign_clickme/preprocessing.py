"""ClickMe preprocessing, as Harmonization's loader does it (serre-lab/Harmonization,
``harmonization/common/clickme_dataset.py`` and ``common/blur.py``; paper 003's repository reads
the same records).

* image: JPEG (256 x 256 x 3) -> float -> ``tf.image.resize(..., (224, 224), "bilinear")``;
* heatmap: JPEG (256 x 256 x 1) -> float -> bilinear resize to 64 x 64 -> Gaussian blur
  (``gaussian_kernel(size=10, sigma=10)``, ``tf.nn.conv2d(..., "SAME")``) -> bilinear resize to
  224 x 224.

TensorFlow 2's ``tf.image.resize(method="bilinear")`` samples at half-pixel centres without
anti-aliasing, which is exactly ``torch.nn.functional.interpolate(mode="bilinear",
align_corners=False, antialias=False)`` (tested against a direct implementation of TF's kernel).
The 10 x 10 kernel is built as Harmonization builds it: x offsets -5..4 and y offsets 4..-5, so
its peak sits at row 4, column 5; TF's "SAME" padding of an even kernel pads 4 before and 5
after. Together the blur moves the map by one pixel to the right at 64 px (3.5 px at 224) — a
property of the reference we reproduce rather than fix. With sigma = 10 on a 10-pixel support
the kernel is nearly flat (edge weight 0.88 of the peak): effectively a 10 x 10 box blur.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    import torch

__all__ = ["IMAGE_SIZE", "HEATMAP_BLUR_SIZE", "BLUR_KERNEL_SIZE", "BLUR_SIGMA",
           "decode_jpeg", "gaussian_kernel", "gaussian_blur", "resize_bilinear",
           "preprocess_images", "preprocess_heatmaps"]

IMAGE_SIZE = 224
HEATMAP_BLUR_SIZE = 64
BLUR_KERNEL_SIZE = 10
BLUR_SIGMA = 10.0


def decode_jpeg(data: bytes, channels: int, *, label: str = "record") -> np.ndarray:
    """Decode JPEG bytes to ``uint8 (H, W, channels)``; the channel count must match.

    Pillow's libjpeg decoder with its defaults (islow DCT, fancy upsampling), as
    ``tf.io.decode_jpeg``'s defaults.
    """
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format != "JPEG":
                raise ValueError(f"format {image.format}")
            array = np.asarray(image)
    except Exception as error:  # noqa: BLE001 - any decoder failure is a bad record
        from .tfrecord import TFRecordError

        raise TFRecordError(f"{label}: cannot decode JPEG ({type(error).__name__}: {error})") \
            from error
    if array.ndim == 2:
        array = array[..., None]
    if array.shape[-1] != channels:
        from .tfrecord import TFRecordError

        raise TFRecordError(f"{label}: expected a JPEG with {channels} channel(s), found shape "
                            f"{array.shape}")
    return array


def gaussian_kernel(size: int = BLUR_KERNEL_SIZE, sigma: float = BLUR_SIGMA) -> np.ndarray:
    """Harmonization's ``(size, size)`` Gaussian kernel, normalised to sum 1 (float32)."""
    xs = np.arange(-(size - 1) // 2, (size - 1) // 2 + 1)       # -5 .. 4 for size 10
    ys = np.arange((size - 1) // 2, -(size - 1) // 2 - 1, -1)   # 4 .. -5
    grid_x, grid_y = np.meshgrid(xs, ys)                        # [row, col] = (ys[row], xs[col])
    kernel = np.exp(-(grid_x ** 2 + grid_y ** 2) / (2 * sigma ** 2)) / (2 * np.pi * sigma ** 2)
    return (kernel / kernel.sum()).astype(np.float32)


def gaussian_blur(maps: torch.Tensor, kernel: np.ndarray | None = None) -> torch.Tensor:
    """Cross-correlate ``(N, 1, H, W)`` maps with ``kernel`` with TF's "SAME" zero padding."""
    import torch
    import torch.nn.functional as F

    kernel = gaussian_kernel() if kernel is None else kernel
    kh, kw = kernel.shape
    top, left = (kh - 1) // 2, (kw - 1) // 2
    padded = F.pad(maps, (left, kw - 1 - left, top, kh - 1 - top))
    weight = torch.as_tensor(kernel, dtype=maps.dtype, device=maps.device)[None, None]
    return F.conv2d(padded, weight)


def resize_bilinear(images: torch.Tensor, size: int) -> torch.Tensor:
    """``tf.image.resize(..., method="bilinear")`` (TF2: half-pixel centres, no anti-aliasing)."""
    import torch.nn.functional as F

    if images.shape[-2:] == (size, size):
        return images
    return F.interpolate(images, size=(size, size), mode="bilinear", align_corners=False,
                         antialias=False)


def preprocess_images(images: np.ndarray, size: int = IMAGE_SIZE) -> torch.Tensor:
    """``uint8 (N, H, W, 3)`` -> float32 ``(N, 3, size, size)`` in [0, 1] (bilinear, then /255).

    Dividing by 255 (instead of the public notebook's min-max rescaling of each batch) keeps
    every image's pixels in their own units, so L2 budgets mean the same for every image.
    """
    import torch

    x = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float()
    return (resize_bilinear(x, size) / 255.0).clamp_(0.0, 1.0)


def preprocess_heatmaps(heatmaps: np.ndarray, size: int = IMAGE_SIZE) -> torch.Tensor:
    """``(N, H, W)`` heatmaps -> float32 ``(N, size, size)``: 64 px, blur, ``size`` px."""
    import torch

    x = torch.from_numpy(np.ascontiguousarray(heatmaps, dtype=np.float32))[:, None]
    x = resize_bilinear(x, HEATMAP_BLUR_SIZE)
    x = gaussian_blur(x)
    return resize_bilinear(x, size)[:, 0]
