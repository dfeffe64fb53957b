"""Harmonization's preprocessing, checked against direct implementations of TF's operations."""

from __future__ import annotations

import numpy as np
import torch

from neuroalign_clickme.preprocessing import (
    gaussian_blur,
    gaussian_kernel,
    preprocess_heatmaps,
    preprocess_images,
    resize_bilinear,
)


def _tf_resize_bilinear(image: np.ndarray, out: int) -> np.ndarray:
    """TF2 ``resize_bilinear`` (half_pixel_centers=True), written from its kernel's formulas."""
    size = image.shape[0]
    scale = size / out

    def axis(i: int) -> tuple[int, int, float]:
        centre = (i + 0.5) * scale - 0.5
        lower = int(np.floor(centre))
        lerp = centre - lower
        return max(lower, 0), min(lower + 1, size - 1), lerp if centre > 0 else 0.0

    result = np.zeros((out, out))
    for y in range(out):
        y0, y1, wy = axis(y)
        for x in range(out):
            x0, x1, wx = axis(x)
            top = image[y0, x0] + (image[y0, x1] - image[y0, x0]) * wx
            bottom = image[y1, x0] + (image[y1, x1] - image[y1, x0]) * wx
            result[y, x] = top + (bottom - top) * wy
    return result


def test_bilinear_resize_is_tensorflows():
    rng = np.random.default_rng(0)
    image = rng.uniform(0, 255, (32, 32))
    for out in (8, 28, 56):
        ours = resize_bilinear(torch.tensor(image)[None, None], out)[0, 0].numpy()
        np.testing.assert_allclose(ours, _tf_resize_bilinear(image, out), atol=1e-9)


def test_kernel_is_harmonizations():
    kernel = gaussian_kernel()
    assert kernel.shape == (10, 10) and abs(kernel.sum() - 1) < 1e-6
    assert np.unravel_index(kernel.argmax(), kernel.shape) == (4, 5)  # x -5..4, y 4..-5
    assert np.isclose(kernel[4, 0] / kernel[4, 5], np.exp(-25 / 200), rtol=1e-6)


def test_blur_is_tf_same_cross_correlation():
    rng = np.random.default_rng(1)
    heat = rng.uniform(0, 1, (16, 16))
    kernel = gaussian_kernel()
    padded = np.pad(heat, ((4, 5), (4, 5)))  # TF "SAME" for an even kernel: 4 before, 5 after
    expected = np.array([[np.sum(padded[i:i + 10, j:j + 10] * kernel) for j in range(16)]
                         for i in range(16)])
    ours = gaussian_blur(torch.tensor(heat, dtype=torch.float64)[None, None],
                         kernel.astype(np.float64))[0, 0].numpy()
    np.testing.assert_allclose(ours, expected, atol=1e-12)


def test_pipeline_shapes_and_units():
    rng = np.random.default_rng(2)
    images = rng.integers(0, 256, (2, 256, 256, 3), dtype=np.uint8)
    x = preprocess_images(images)
    assert x.shape == (2, 3, 224, 224) and x.dtype == torch.float32
    assert 0 <= float(x.min()) and float(x.max()) <= 1
    heat = np.full((1, 256, 256), 200, dtype=np.uint8)
    h = preprocess_heatmaps(heat)
    assert h.shape == (1, 224, 224)
    # away from the zero padding, a constant map stays constant through resize, blur, resize
    assert np.allclose(h[0, 60:160, 60:160].numpy(), 200, atol=1e-3)
    assert float(h[0, 0, 0]) < 200  # the zero padding darkens the border, as in TF
