"""Procedurally drawn grayscale objects on textured backgrounds, HvM-style (Majaj et al. 2015).

The real HvM image set shows 64 objects (8 categories x 8 objects) pasted on naturalistic
backgrounds at three *variation levels*: 0 (object centred, fixed size and pose), 3 (moderate
jitter of position, size and pose) and 6 (large jitter). We draw a synthetic stand-in with the
same structure and metadata (``object_name``, ``category_name``, ``variation``, ``ty``, ``tz``,
``s``, ``rxy``, ``rxz``, ``ryz``, ``background_id``):

* an *object* is a body (an ellipse with a wobbly, radial-harmonic outline) plus two parts
  (ellipses) laid out by its category, with object-specific jitter of every parameter, a base
  grey level, a shading direction and a surface grating;
* a *pose* moves the object in the image plane (``ty``, ``tz`` in units of the image half-width),
  scales it (``s``), rotates it in plane (``rxy``, degrees) and foreshortens it along x and y to
  mimic depth rotations (``rxz``, ``ryz``, degrees);
* a *background* is 1/f noise plus two oriented gratings, and a soft circular aperture ends the
  image (the paper's circular mask).

Everything is a deterministic function of ``seed`` and the image's identity (category, object,
variation, index), so any subset of the set can be drawn on its own and is identical to the same
images drawn as part of a larger set.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass

import numpy as np

__all__ = [
    "CATEGORIES",
    "OBJECTS",
    "VARIATION_RANGES",
    "ObjectShape",
    "Pose",
    "object_shape",
    "sample_pose",
    "draw_image",
    "stimulus_id",
    "image_rng",
    "StimulusRecord",
    "draw_set",
]

#: HvM's eight categories, in Brain-Score's spelling
CATEGORIES: tuple[str, ...] = (
    "Animals", "Boats", "Cars", "Chairs", "Faces", "Fruits", "Planes", "Tables",
)

#: eight object names per category (synthetic stand-ins for HvM's 3D models)
OBJECTS: dict[str, tuple[str, ...]] = {
    "Animals": ("bear", "cow", "dog", "elephant", "gorilla", "hedgehog", "lioness", "turtle"),
    "Boats": ("sailboat", "yacht", "ferry", "canoe", "tanker", "tug", "raft", "schooner"),
    "Cars": ("beetle", "sedan", "truck", "convertible", "hatchback", "jeep", "van", "racer"),
    "Chairs": ("armchair", "stool", "rocker", "office", "bench", "throne", "deck", "folding"),
    "Faces": ("face0", "face1", "face2", "face3", "face4", "face5", "face6", "face7"),
    "Fruits": ("apple", "pear", "lemon", "plum", "melon", "banana", "orange", "peach"),
    "Planes": ("jet", "glider", "biplane", "airliner", "bomber", "fighter", "seaplane", "drone"),
    "Tables": ("desk", "round", "coffee", "dining", "side", "picnic", "bar", "work"),
}

#: variation level -> (max |ty|,|tz| in half-widths, (min, max) scale, max |rotation| in degrees)
VARIATION_RANGES: dict[int, tuple[float, tuple[float, float], float]] = {
    0: (0.0, (1.0, 1.0), 0.0),
    3: (0.3, (0.75, 1.25), 45.0),
    6: (0.6, (0.55, 1.45), 90.0),
}

# category layout: (body aspect, part offsets (x, y), part axes (a, b)), in object units
_Pairs = tuple[tuple[float, float], ...]
_LAYOUT: dict[str, tuple[float, _Pairs, _Pairs]] = {
    "Animals": (1.6, ((0.55, 0.25), (-0.3, -0.35)), ((0.22, 0.2), (0.12, 0.3))),
    "Boats": (2.4, ((0.0, 0.45), (0.25, 0.35)), ((0.06, 0.45), (0.2, 0.25))),
    "Cars": (2.2, ((-0.35, -0.28), (0.35, -0.28)), ((0.14, 0.14), (0.14, 0.14))),
    "Chairs": (0.7, ((0.0, 0.55), (0.0, -0.55)), ((0.35, 0.1), (0.08, 0.35))),
    "Faces": (0.8, ((-0.18, 0.15), (0.18, 0.15)), ((0.09, 0.06), (0.09, 0.06))),
    "Fruits": (1.05, ((0.0, 0.5), (0.08, 0.58)), ((0.04, 0.12), (0.1, 0.04))),
    "Planes": (3.0, ((0.0, 0.0), (-0.55, 0.2)), ((0.2, 0.75), (0.08, 0.2))),
    "Tables": (2.6, ((-0.45, -0.45), (0.45, -0.45)), ((0.05, 0.4), (0.05, 0.4))),
}


def _digest(*parts: object) -> int:
    text = "/".join(str(p) for p in parts)
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")


def image_rng(seed: int, *parts: object) -> np.random.Generator:
    """A generator keyed by ``seed`` and an identity (stable across numpy versions: PCG64)."""
    return np.random.Generator(np.random.PCG64(_digest("neuroalign-synthetic", seed, *parts)))


def stimulus_id(seed: int, category: str, object_name: str, variation: int, index: int) -> str:
    """A 40-hex-digit id, like HvM's sha1 image ids, unique per image identity and seed."""
    text = f"synthetic-hvm/{seed}/{category}/{object_name}/{variation}/{index}"
    return hashlib.sha1(text.encode()).hexdigest()


@dataclass(frozen=True)
class ObjectShape:
    """The drawable description of one object (see the module docstring)."""

    category: str
    name: str
    aspect: float
    harmonics: tuple[tuple[float, float], ...]  # (amplitude, phase) for k = 2, 3, ...
    parts: tuple[tuple[float, float, float, float], ...]  # (x, y, a, b) per part
    grey: float
    part_grey: float
    light: float  # shading direction, radians
    grating: tuple[float, float, float]  # (cycles per object, orientation, amplitude)


def object_shape(seed: int, category: str, object_index: int) -> ObjectShape:
    """The shape of object ``object_index`` (0-7) of ``category``: layout + seeded jitter."""
    if category not in _LAYOUT:
        raise ValueError(f"unknown category {category!r}; valid categories are {list(CATEGORIES)}")
    name = OBJECTS[category][object_index]
    rng = image_rng(seed, "object", category, name)
    cat_rng = image_rng(seed, "category", category)
    aspect, offsets, axes = _LAYOUT[category]
    # category-wide outline (shared harmonics) + object-specific deviations
    base = cat_rng.normal(0.0, 0.08, size=5)
    phases = cat_rng.uniform(0, 2 * np.pi, size=5)
    amplitudes = base + rng.normal(0.0, 0.05, size=5)
    phases = phases + rng.normal(0.0, 0.4, size=5)
    parts = tuple(
        (ox + rng.normal(0, 0.06), oy + rng.normal(0, 0.06),
         max(0.03, a * rng.uniform(0.75, 1.3)), max(0.03, b * rng.uniform(0.75, 1.3)))
        for (ox, oy), (a, b) in zip(offsets, axes)
    )
    return ObjectShape(
        category=category,
        name=name,
        aspect=float(aspect * rng.uniform(0.85, 1.15)),
        harmonics=tuple((float(a), float(p)) for a, p in zip(amplitudes, phases)),
        parts=parts,
        grey=float(rng.uniform(0.25, 0.85)),
        part_grey=float(rng.uniform(0.1, 0.95)),
        light=float(rng.uniform(0, 2 * np.pi)),
        grating=(float(rng.uniform(2, 7)), float(rng.uniform(0, np.pi)),
                 float(rng.uniform(0.03, 0.15))),
    )


@dataclass(frozen=True)
class Pose:
    """Where and how an object is shown (HvM's metadata names)."""

    ty: float
    tz: float
    s: float
    rxy: float
    rxz: float
    ryz: float


def sample_pose(rng: np.random.Generator, variation: int) -> Pose:
    """A pose drawn uniformly within the ranges of ``variation`` (0, 3 or 6)."""
    if variation not in VARIATION_RANGES:
        raise ValueError(f"unknown variation level {variation!r}; valid levels are "
                         f"{list(VARIATION_RANGES)}")
    shift, (low, high), rotation = VARIATION_RANGES[variation]
    return Pose(
        ty=float(rng.uniform(-shift, shift)),
        tz=float(rng.uniform(-shift, shift)),
        s=float(rng.uniform(low, high)),
        rxy=float(rng.uniform(-rotation, rotation)),
        rxz=float(rng.uniform(-rotation, rotation)),
        ryz=float(rng.uniform(-rotation, rotation)),
    )


@functools.lru_cache(maxsize=4)
def _grids(size: int) -> dict[str, np.ndarray]:
    """Pixel grids and the 1/f filter for one image size (computed once)."""
    coords = ((np.arange(size) + 0.5) / size * 2 - 1).astype(np.float32)  # [-1, 1], y down
    y, x = np.meshgrid(coords, coords, indexing="ij")
    fy = np.fft.fftfreq(size)[:, None]
    fx = np.fft.rfftfreq(size)[None, :]
    radius = np.sqrt(fx ** 2 + fy ** 2)
    radius[0, 0] = 1.0
    pink = radius ** -1.4
    pink[0, 0] = 0.0
    aperture = 1.0 / (1.0 + np.exp(np.clip((np.sqrt(x ** 2 + y ** 2) - 0.97) / 0.01, -50, 50)))
    return {"x": x, "y": y, "u01": (x + 1) / 2, "v01": (y + 1) / 2, "pink": pink,
            "aperture": aperture.astype(np.float32)}


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(np.clip(z, -50, 50)))


def _background(rng: np.random.Generator, size: int) -> np.ndarray:
    """1/f noise plus two gratings, scaled to mean 0.5 and moderate contrast."""
    grids = _grids(size)
    pink = grids["pink"]
    spectrum = (rng.normal(size=pink.shape) + 1j * rng.normal(size=pink.shape)) * pink
    noise = np.fft.irfft2(spectrum, s=(size, size)).astype(np.float32)
    noise /= noise.std() + 1e-12
    x, y = grids["u01"], grids["v01"]
    for _ in range(2):
        theta, freq, phase = rng.uniform(0, np.pi), rng.uniform(3, 12), rng.uniform(0, 2 * np.pi)
        noise += np.float32(rng.uniform(0.2, 0.5)) * np.sin(
            np.float32(2 * np.pi * freq) * (x * np.float32(np.cos(theta))
                                            + y * np.float32(np.sin(theta))) + np.float32(phase))
    noise /= noise.std() + 1e-12
    return 0.5 + np.float32(rng.uniform(0.06, 0.12)) * noise


def draw_image(shape: ObjectShape, pose: Pose, background_rng: np.random.Generator,
               size: int = 256) -> np.ndarray:
    """Render one grayscale image, ``uint8`` of shape ``(size, size)``.

    Parameters
    ----------
    shape : ObjectShape
        The object.
    pose : Pose
        Position, scale and rotations.
    background_rng : numpy.random.Generator
        Draws the background texture.
    size : int
        Side in pixels (HvM: 256).
    """
    grids = _grids(size)
    x, y = grids["x"], grids["y"]
    # image plane -> object frame: translate, scale, rotate in plane, undo foreshortening
    radius_object = 0.8 * pose.s
    u = (x - pose.tz) / radius_object
    v = -(y - pose.ty) / radius_object
    angle = np.deg2rad(pose.rxy)
    u, v = u * np.cos(angle) + v * np.sin(angle), -u * np.sin(angle) + v * np.cos(angle)
    u = u / max(0.45, abs(np.cos(np.deg2rad(pose.rxz))))
    v = v / max(0.45, abs(np.cos(np.deg2rad(pose.ryz))))
    edge = 2.0 / (size * radius_object)  # about one pixel of soft edge

    # body: an ellipse with a wobbly outline
    half_width = np.sqrt(shape.aspect) * 0.55
    half_height = 0.55 / np.sqrt(shape.aspect)
    bu, bv = u / half_width, v / half_height
    rho = np.sqrt(bu ** 2 + bv ** 2)
    # cos(k theta + p) = Re(e^{ip} z^k) with z = e^{i theta}: one division instead of k cosines
    z = (bu + 1j * bv) / np.maximum(rho, 1e-6)
    power = z * z
    outline = np.ones_like(rho)
    for amplitude, phase in shape.harmonics:  # k = 2, 3, ...
        outline += amplitude * (np.exp(1j * phase) * power).real
        power = power * z
    body = _sigmoid((rho - outline) / edge)
    shading = 0.18 * rho / np.maximum(outline, 0.2) * (np.exp(-1j * shape.light) * z).real
    cycles, orientation, amplitude = shape.grating
    along = u * np.cos(orientation) + v * np.sin(orientation)
    grating = amplitude * np.sin(np.pi * cycles * along)
    intensity = np.where(body > 0, shape.grey + shading + grating, 0.0)

    mask = body
    for px, py, a, b in shape.parts:
        d = np.sqrt(((u - px) / a) ** 2 + ((v - py) / b) ** 2)
        part = _sigmoid((d - 1.0) / (edge / min(a, b)))
        intensity = intensity * (1 - part) + (shape.part_grey + 0.5 * grating) * part
        mask = np.maximum(mask, part)

    image = _background(background_rng, size) * (1 - mask) + intensity * mask
    # soft circular aperture onto mid grey
    image = 0.5 + (image - 0.5) * grids["aperture"]
    return np.clip(np.round(image * 255), 0, 255).astype(np.uint8)


@dataclass(frozen=True)
class StimulusRecord:
    """The metadata of one drawn image (HvM's column names)."""

    stimulus_id: str
    object_name: str
    category_name: str
    variation: int
    index: int
    background_id: str
    pose: Pose


def draw_set(
    *,
    seed: int = 0,
    variations: tuple[int, ...] = (0, 3, 6),
    images_per_object: dict[int, int] | None = None,
    objects_per_category: int = 8,
    size: int = 256,
    index_offset: int = 0,
) -> tuple[list[StimulusRecord], np.ndarray]:
    """Draw an HvM-like image set.

    Parameters
    ----------
    seed : int
        World seed: objects, poses and backgrounds are deterministic functions of it.
    variations : tuple of int
        Variation levels to include (0, 3, 6).
    images_per_object : dict, optional
        Variation level -> images per object. Default HvM's ``{0: 10, 3: 40, 6: 40}``.
    objects_per_category : int
        How many of each category's 8 objects to use (the first ones).
    size : int
        Image side in pixels.
    index_offset : int
        First image index per object and level (disjoint offsets give disjoint images).

    Returns
    -------
    records : list of StimulusRecord
        One per image, ordered by variation, category, object, index.
    images : numpy.ndarray
        ``uint8`` array ``(n, size, size)``.
    """
    if not 1 <= objects_per_category <= 8:
        raise ValueError(f"objects_per_category must be in 1..8, found {objects_per_category}")
    counts = {0: 10, 3: 40, 6: 40} if images_per_object is None else dict(images_per_object)
    records, images = _draw_set(seed, tuple(variations),
                                tuple(sorted((int(k), int(v)) for k, v in counts.items())),
                                objects_per_category, size, index_offset)
    return list(records), images.copy()


@functools.lru_cache(maxsize=4)  # generators draw the same split several times per process
def _draw_set(seed: int, variations: tuple[int, ...], count_items: tuple[tuple[int, int], ...],
              objects_per_category: int, size: int,
              index_offset: int) -> tuple[tuple[StimulusRecord, ...], np.ndarray]:
    counts = dict(count_items)
    records: list[StimulusRecord] = []
    images: list[np.ndarray] = []
    for variation in variations:
        for category in CATEGORIES:
            for object_index in range(objects_per_category):
                shape = object_shape(seed, category, object_index)
                for index in range(index_offset, index_offset + counts[variation]):
                    rng = image_rng(seed, "image", category, shape.name, variation, index)
                    pose = sample_pose(rng, variation)
                    background_seed = int(rng.integers(0, 2 ** 63))
                    background_id = hashlib.sha1(
                        f"background/{background_seed}".encode()).hexdigest()
                    background_rng = np.random.Generator(np.random.PCG64(background_seed))
                    images.append(draw_image(shape, pose, background_rng, size))
                    records.append(StimulusRecord(
                        stimulus_id(seed, category, shape.name, variation, index), shape.name,
                        category, variation, index, background_id, pose))
    array = np.stack(images) if images else np.zeros((0, size, size), np.uint8)
    array.flags.writeable = False
    return tuple(records), array
