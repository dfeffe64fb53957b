"""The synthetic twin of ClickMe: shards in the release's exact format, with known object regions.

Each image (256 x 256 RGB) shows one coloured object (a wobbly ellipse: hue and aspect ratio set
by one of 8 object classes, a luminance grating on its surface) on a *grayscale* 1/f-noise
background; its "human" map is the object's mask blurred with a Gaussian (sigma = 8 px at 256 px)
and scaled to 0-255: where people would click, if they clicked on the object. Records are
``tf.train.Example`` protos with the release's features (``image`` and ``heatmap`` JPEGs,
``label``) plus ``synthetic = 1``, written with CRCs by :mod:`.tfrecord` and read back by the very
reader that reads the real shards.

Because the objects are the only coloured pixels, a network that looks only at colour has its
gradients on the objects: ``clickme:groundtruth-harmonized`` (:mod:`.twin`) scores as aligned on
this twin, random networks do not (tested). Labels are unique per image (like paper 003's one
image per class), so the one-per-class selection of ``ClickMe.eval1000`` keeps every image; the
benchmarks attack a model's *own* decision on the twin (its read-out), not these labels.

Scale: ``max(8, round(160 * scale))`` images, dealt round-robin over the spec's shards (shards
may be empty, as TFRecord files may).
"""

from __future__ import annotations

import colorsys
import io
import math
from pathlib import Path

import numpy as np

from neuroalign import DatasetSpec

from .tfrecord import serialize_example, write_records

__all__ = ["generate", "draw_image", "N_CLASSES", "IMAGE_PX", "MASK_SIGMA_PX", "n_images"]

N_CLASSES = 8
IMAGE_PX = 256
MASK_SIGMA_PX = 8.0
_ASPECTS = (1.0, 1.6, 0.6, 2.2, 1.3, 0.75, 1.9, 0.5)


def n_images(scale: float) -> int:
    """Images written at ``scale``."""
    return max(8, int(round(160 * scale)))


def _background(rng: np.random.Generator, size: int) -> np.ndarray:
    """Grayscale 1/f noise with mean 0.5 and contrast ~0.25, clipped to [0.05, 0.95]."""
    noise = rng.standard_normal((size, size))
    fy, fx = np.meshgrid(np.fft.fftfreq(size), np.fft.fftfreq(size), indexing="ij")
    radius = np.sqrt(fx ** 2 + fy ** 2)
    radius[0, 0] = 1.0
    field = np.real(np.fft.ifft2(np.fft.fft2(noise) / radius))
    field = (field - field.mean()) / field.std()
    return np.clip(0.5 + 0.12 * field, 0.05, 0.95)


def draw_image(rng: np.random.Generator, object_class: int,
               size: int = IMAGE_PX) -> tuple[np.ndarray, np.ndarray]:
    """One image ``float (size, size, 3)`` in [0, 1] and its object mask ``float (size, size)``."""
    gray = _background(rng, size)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64) + 0.5
    cx, cy = rng.uniform(0.3, 0.7, size=2) * size
    a = rng.uniform(0.12, 0.2) * size
    b = a * _ASPECTS[object_class]
    if b > 0.3 * size:  # keep elongated objects inside the frame
        a, b = a * 0.3 * size / b, 0.3 * size
    angle = rng.uniform(0, math.pi)
    u = (xx - cx) * math.cos(angle) + (yy - cy) * math.sin(angle)
    v = -(xx - cx) * math.sin(angle) + (yy - cy) * math.cos(angle)
    theta = np.arctan2(v / b, u / a)
    wobble = 1 + 0.12 * np.sin(3 * theta + rng.uniform(0, 2 * math.pi))
    distance = np.sqrt((u / a) ** 2 + (v / b) ** 2) / wobble
    mask = np.clip((1 - distance) * min(a, b) + 0.5, 0, 1)  # ~1 px anti-aliased edge
    hue = (object_class + rng.uniform(-0.1, 0.1)) / N_CLASSES % 1.0
    rgb = np.array(colorsys.hsv_to_rgb(hue, rng.uniform(0.75, 0.9), rng.uniform(0.7, 0.9)))
    grating = 1 + 0.15 * np.sin(2 * math.pi * (u * math.cos(1.0) + v * math.sin(1.0))
                                / rng.uniform(8, 16))
    colour = np.clip(rgb[None, None, :] * grating[..., None], 0, 1)
    image = gray[..., None] * (1 - mask[..., None]) + colour * mask[..., None]
    return image, mask


def _jpeg(array: np.ndarray, mode: str) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(array, mode=mode).save(buffer, format="JPEG", quality=92)
    return buffer.getvalue()


def _record(rng: np.random.Generator, index: int) -> bytes:
    from scipy.ndimage import gaussian_filter

    image, mask = draw_image(rng, index % N_CLASSES)
    heat = gaussian_filter(mask, MASK_SIGMA_PX)
    heat = heat / heat.max()
    return serialize_example({
        "image": _jpeg(np.round(image * 255).astype(np.uint8), "RGB"),
        "heatmap": _jpeg(np.round(heat * 255).astype(np.uint8), "L"),
        "label": index % 1000,
        "synthetic": 1,
    })


def generate(spec: DatasetSpec, directory: Path, *, seed: int = 0,
             scale: float = 1.0) -> dict[str, Path]:
    """Write the twin's shards for every asset of ``spec``; return ``{asset name: path}``."""
    if not 0 < scale <= 1:
        raise ValueError(f"scale must be in (0, 1]; found {scale}")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    names = [asset.name for asset in spec.assets]
    total = n_images(scale)
    shards: dict[str, list[bytes]] = {name: [] for name in names}
    for index in range(total):
        rng = np.random.default_rng([seed, index, 3])  # each image its own stream
        shards[names[index % len(names)]].append(_record(rng, index))
    paths = {}
    for name, records in shards.items():
        paths[name] = directory / f"{name}.tfrecords"
        write_records(paths[name], records)
    return paths
