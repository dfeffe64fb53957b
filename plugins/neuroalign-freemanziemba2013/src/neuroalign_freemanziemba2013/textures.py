"""Synthetic stand-ins for Freeman & Ziemba's naturalistic textures and their noise twins.

The real stimuli (Freeman, Ziemba et al. 2013) are 15 texture *families*, each synthesised
(Portilla-Simoncelli) in 15 *samples*, and for every texture a *spectrally matched noise* image
with the same Fourier amplitude spectrum and random phases: the noise keeps the texture's
orientation and spatial-frequency content (what V1 responds to) and loses its higher-order
structure (what V2 is sensitive to). All are grayscale, 320 x 320 px, shown in a 4-degree
circular aperture on mid grey (ours: 160 x 160 px, which is all a 4-degree stimulus shows the
ground-truth network).

Ours keep that structure:

* a family is a small dictionary of oriented, band-limited elements (Gabor-like and bar-like
  kernels with a family-specific orientation spread and spatial frequency) plus a family
  nonlinearity (contrast exponent, sparseness);
* a texture sample scatters the family's elements at random positions and amplitudes (sparse
  Poisson placement) and passes the sum through the nonlinearity: local, higher-order
  structure;
* its noise twin takes the sample's Fourier amplitudes with uniformly random phases;
* both are normalised to mean grey and the same RMS contrast and cut by a soft circular
  aperture whose grey surround is ~31 % of the image (as in Brain-Score's aperture stimuli).

Everything is a deterministic function of ``seed`` and the image's identity.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass

import numpy as np

__all__ = ["TEXTURE_TYPES", "FAMILIES", "IMAGE_SIZE", "Family", "family", "draw_pair", "TextureRecord",
           "draw_set", "stimulus_id"]

#: Freeman & Ziemba's texture family numbers (their readme's ``textureNumOrder``)
FAMILIES: tuple[int, ...] = (327, 336, 393, 402, 13, 18, 23, 30, 38, 48, 52, 56, 60, 71, 99)
TEXTURE_TYPES: tuple[str, ...] = ("noise", "texture")
#: the real images are 320 px; ours are 160 px (the ground-truth network sees 4 degrees as 48 px)
IMAGE_SIZE = 160
#: radius of the aperture in half-widths: grey surround ~ 1 - pi r^2 / 4 = 31 %
_APERTURE_RADIUS = 0.94


def _rng(seed: int, *parts: object) -> np.random.Generator:
    text = "/".join(str(p) for p in ("neuroalign-freemanziemba2013", seed, *parts))
    return np.random.Generator(np.random.PCG64(
        int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")))


def stimulus_id(seed: int, family_number: int, texture_type: str, sample: int) -> str:
    """A 40-hex-digit id (Brain-Score's ids are the images' sha1s)."""
    return hashlib.sha1(f"synthetic-fz2013/{seed}/{family_number}/{texture_type}/{sample}"
                        .encode()).hexdigest()


@dataclass(frozen=True)
class Family:
    """The drawable description of one texture family."""

    number: int
    kernels: tuple[np.ndarray, ...]
    density: float  #: elements per 1,000 px
    exponent: float  #: contrast nonlinearity sign(x)|x|^exponent
    threshold: float  #: sparseness: values below this fraction of the max are damped


def _kernel(rng: np.random.Generator, orientation: float, wavelength: float) -> np.ndarray:
    size = int(np.clip(round(2.2 * wavelength), 9, 41)) | 1
    half = size // 2
    y, x = np.mgrid[-half:half + 1, -half:half + 1].astype(np.float64)
    u = x * np.cos(orientation) + y * np.sin(orientation)
    v = -x * np.sin(orientation) + y * np.cos(orientation)
    sigma_u = wavelength * rng.uniform(0.35, 0.6)
    sigma_v = sigma_u * rng.uniform(0.6, 2.5)  # elongated: bars and edges
    envelope = np.exp(-(u ** 2) / (2 * sigma_u ** 2) - (v ** 2) / (2 * sigma_v ** 2))
    kernel = envelope * np.cos(2 * np.pi * u / wavelength + rng.uniform(0, 2 * np.pi))
    kernel -= kernel.mean()
    return kernel / (np.abs(kernel).sum() + 1e-12)


@functools.lru_cache(maxsize=32)
def family(seed: int, number: int) -> Family:
    """Family ``number``'s element dictionary and nonlinearity (deterministic per seed)."""
    rng = _rng(seed, "family", number)
    base_orientation = rng.uniform(0, np.pi)
    spread = rng.uniform(0.05, 1.2)  # narrow (oriented) to broad (isotropic) families
    wavelength = rng.uniform(6.0, 22.0)
    kernels = tuple(_kernel(rng, base_orientation + spread * rng.standard_normal(),
                            wavelength * rng.uniform(0.7, 1.4)) for _ in range(3))
    return Family(number=number, kernels=kernels, density=float(rng.uniform(0.6, 3.0)),
                  exponent=float(rng.uniform(0.5, 1.6)), threshold=float(rng.uniform(0.0, 0.35)))


@functools.lru_cache(maxsize=2)
def _aperture(size: int) -> np.ndarray:
    coords = (np.arange(size) + 0.5) / size * 2 - 1
    y, x = np.meshgrid(coords, coords, indexing="ij")
    radius = np.sqrt(x ** 2 + y ** 2)
    return 1.0 / (1.0 + np.exp(np.clip((radius - _APERTURE_RADIUS) / 0.012, -50, 50)))


def _convolve(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Circular convolution through the FFT (textures tile, so no edge artefacts)."""
    size = image.shape[0]
    padded = np.zeros_like(image)
    k = kernel.shape[0]
    padded[:k, :k] = kernel
    padded = np.roll(padded, (-(k // 2), -(k // 2)), axis=(0, 1))
    return np.fft.irfft2(np.fft.rfft2(image) * np.fft.rfft2(padded), s=(size, size))


def _to_uint8(field: np.ndarray, size: int) -> np.ndarray:
    field = field - field.mean()
    field = field / (field.std() + 1e-12) * 0.18  # equal RMS contrast for every image
    image = 0.5 + field * _aperture(size)
    return np.clip(np.round(image * 255), 0, 255).astype(np.uint8)


def draw_pair(seed: int, number: int, sample: int, size: int = IMAGE_SIZE
              ) -> dict[str, np.ndarray]:
    """The texture sample and its spectrally matched noise: ``{"texture": ..., "noise": ...}``."""
    fam = family(seed, number)
    rng = _rng(seed, "sample", number, sample)
    field = np.zeros((size, size))
    for kernel in fam.kernels:
        count = rng.poisson(fam.density * size * size / 1000.0 / len(fam.kernels))
        sparse = np.zeros((size, size))
        rows, cols = rng.integers(0, size, count), rng.integers(0, size, count)
        np.add.at(sparse, (rows, cols), rng.choice([-1.0, 1.0], count) * rng.uniform(0.5, 1.5, count))
        field += _convolve(sparse, kernel)
    field /= np.abs(field).max() + 1e-12
    # the family's nonlinearity: higher-order structure that phase scrambling destroys
    field = np.sign(field) * np.maximum(np.abs(field) - fam.threshold, 0.0) ** fam.exponent
    amplitude = np.abs(np.fft.rfft2(field - field.mean()))
    phases = rng.uniform(0, 2 * np.pi, amplitude.shape)
    noise = np.fft.irfft2(amplitude * np.exp(1j * phases), s=(size, size))
    return {"texture": _to_uint8(field, size), "noise": _to_uint8(noise, size)}


@dataclass(frozen=True)
class TextureRecord:
    """The metadata of one image (Brain-Score's CSV columns)."""

    stimulus_id: str
    texture_family: int
    texture_type: str
    sample: int


def draw_set(seed: int, samples: range | list[int], families: tuple[int, ...] = FAMILIES,
             size: int = IMAGE_SIZE) -> tuple[list[TextureRecord], np.ndarray]:
    """Every family x type x sample image: records and ``uint8`` images ``(n, size, size)``."""
    records, images = [], []
    for number in families:
        for sample in samples:
            pair = draw_pair(seed, number, sample, size)
            for texture_type in TEXTURE_TYPES:
                records.append(TextureRecord(stimulus_id(seed, number, texture_type, sample),
                                             number, texture_type, int(sample)))
                images.append(pair[texture_type])
    return records, np.stack(images)
