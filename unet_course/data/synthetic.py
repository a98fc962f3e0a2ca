"""Synthetic touching cells: the course's default data set (no download, any size).

Paper, Sec. 1 and 3: the hard part of biomedical segmentation is *touching objects of the same
class*: a plain foreground mask merges touching cells, and only thin background borders tell
them apart (Fig. 3, and the weight map of Eq. 2). ``synthetic_cells`` draws microscopy-like
images of such cells, deterministically for a seed, with their instance labels.

Conventions (CONTRIBUTING.md): images float32 in [0, 1], shape (H, W); instances int,
0 = background, ids > 0.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy import ndimage as ndi

__all__ = ["SyntheticCells", "synthetic_cells", "synthetic_dataset", "touching_pairs"]


def _rng(seed) -> np.random.Generator:
    """A numpy Generator from an int seed >= 0 (or a list of them), or the Generator itself."""
    if isinstance(seed, np.random.Generator):
        return seed
    parts = seed if isinstance(seed, (list, tuple)) and seed else [seed]
    if not all(isinstance(p, (int, np.integer)) and not isinstance(p, bool) and p >= 0 for p in parts):
        raise ValueError(f"seed must be an integer >= 0, a list of them or a numpy Generator, got {seed!r}")
    return np.random.default_rng(seed)


def _side(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be a whole number of pixels, got {value!r}")
    return int(value)


class SyntheticCells(NamedTuple):
    """One synthetic image (or a stack of them, from ``synthetic_dataset``)."""

    image: np.ndarray      # float32 in [0, 1], (H, W) or (N, H, W)
    instances: np.ndarray  # int32, 0 = background, 1..K = cells (ids per image)
    mask: np.ndarray       # int64, 1 = cell, 0 = background: the plain foreground (instances > 0)


def _smooth_noise(rng: np.random.Generator, shape, sigma: float) -> np.ndarray:
    """Gaussian-smoothed white noise, rescaled to zero mean and unit standard deviation."""
    field = ndi.gaussian_filter(rng.standard_normal(shape), sigma)
    return (field - field.mean()) / (field.std() + 1e-12)


def _cell_seeds(rng: np.random.Generator, shape, n_cells: int, min_dist: float,
                clustering: float) -> np.ndarray:
    """Up to n_cells points (row, col), at least min_dist apart, denser where a smooth random
    field is high (clustering in [0, 1]: 0 = uniform, 1 = strong clusters with empty space)."""
    h, w = shape
    density = _smooth_noise(rng, (max(h // 8, 2), max(w // 8, 2)), 3.0)  # coarse: cheap
    candidates = rng.uniform((0, 0), (h, w), size=(20 * n_cells, 2))
    cell = density[(candidates[:, 0] // 8).astype(int).clip(0, density.shape[0] - 1),
                   (candidates[:, 1] // 8).astype(int).clip(0, density.shape[1] - 1)]
    keep = rng.uniform(size=len(candidates)) < 1 / (1 + np.exp(-4 * clustering * cell))
    candidates = candidates[keep]
    accepted = np.empty((n_cells, 2))
    count = 0
    for point in candidates:  # dart throwing: accept a point far enough from all accepted ones
        if count == 0 or np.min(np.sum((accepted[:count] - point) ** 2, axis=1)) >= min_dist ** 2:
            accepted[count] = point
            count += 1
            if count == n_cells:
                break
    return accepted[:count]


def _contacts(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cell pixels 4-adjacent to a *different* cell: (only the side with the higher id, both sides)."""
    high = np.zeros(labels.shape, bool)
    both = np.zeros(labels.shape, bool)
    for axis in (0, 1):
        for step in (1, -1):  # compare each pixel with its neighbour before / after it
            here, there = [slice(None)] * 2, [slice(None)] * 2
            here[axis] = slice(1, None) if step == 1 else slice(None, -1)
            there[axis] = slice(None, -1) if step == 1 else slice(1, None)
            a, b = labels[tuple(here)], labels[tuple(there)]
            touching = (a > 0) & (b > 0) & (a != b)
            both[tuple(here)] |= touching
            high[tuple(here)] |= touching & (a > b)
    return high, both


def synthetic_cells(size: int | tuple[int, int] = 512, n_cells: int | None = None, seed=0, *,
                    touching: float = 0.6, clustering: float = 0.6, irregularity: float = 1.0,
                    contact_contrast: float = 0.35, illumination: float = 0.3,
                    noise: float = 0.04, blur: float = 1.0, min_area: int = 40) -> SyntheticCells:
    """A microscopy-like image of many cells that touch each other, with instance labels.

    The paper's hard case made common: neighbouring cells share long borders, so the plain
    foreground mask (``mask``) merges them; in other places they are separated by a gap of
    1-3 background pixels. Recipe: random seed points (clustered), a noisy Voronoi partition
    grown by watershed, each cell cut to a noisy radius, gaps opened along a random part of the
    shared borders; then rendered with bright cell borders (fainter where cells touch),
    darker nuclei, texture, uneven illumination, blur and noise.

    Args:
        size: image side (int) or (height, width).
        n_cells: number of seed points (default: one per 40x40 px). Some may end up merged
            into their neighbour's area or dropped when smaller than ``min_area``.
        seed: int (or Generator): the same seed gives the same image.
        touching: fraction of shared cell borders left touching (0 = always a gap, 1 = never).
        clustering: 0 = cells spread evenly, 1 = clusters with empty space between them.
        irregularity: how wavy the cell outlines are (0 = polygons).
        contact_contrast: brightness of the border between touching cells relative to the
            outer border (0 = invisible: only the shape tells cells apart).
        illumination: strength of the smooth multiplicative shading (0 = flat).
        noise: standard deviation of the additive Gaussian noise.
        blur: sigma (px) of the Gaussian blur of the optics.
        min_area: cell fragments smaller than this (px) become background.

    Returns:
        SyntheticCells(image float32 (H, W) in [0, 1], instances int32 (H, W) with ids 1..K
        numbered consecutively, mask int64 (H, W) = instances > 0).

    Deviation: the paper uses real light-microscopy and EM images; this generator exists so
    the course runs offline, fast and at any size, with exact instance labels.
    """
    sides = (size, size) if np.ndim(size) == 0 else tuple(size)
    if len(sides) != 2:
        raise ValueError(f"size must be an int or (height, width), got {size!r}")
    h, w = (_side(v, "size") for v in sides)
    if h < 16 or w < 16:
        raise ValueError(f"size must be at least 16 px per side, got {size!r}")
    if not 0 <= touching <= 1:
        raise ValueError(f"touching must be a fraction in [0, 1], got {touching!r}")
    rng = _rng(seed)
    n_cells = max(1, round(h * w / 1600)) if n_cells is None else _side(n_cells, "n_cells")
    if n_cells < 1:
        raise ValueError(f"n_cells must be >= 1, got {n_cells}")
    spacing = np.sqrt(h * w / n_cells)  # mean distance between neighbouring seeds

    # Seeds and a noisy Voronoi partition: watershed of (distance to nearest seed + noise).
    seeds = _cell_seeds(rng, (h, w), n_cells, 0.55 * spacing, clustering)
    k = len(seeds)
    markers = np.zeros((h, w), np.int32)
    rows, cols = seeds.astype(int).T
    markers[rows, cols] = np.arange(1, k + 1)
    from skimage.segmentation import watershed  # a heavy import, only needed here
    distance = ndi.distance_transform_edt(markers == 0)
    wobble = irregularity * 0.12 * spacing * _smooth_noise(rng, (h, w), 0.08 * spacing)
    labels = watershed(distance + wobble, markers)

    # Cut each cell to a noisy radius around its own seed: cells with close neighbours touch.
    radius = spacing * rng.uniform(0.45, 0.8, k + 1)
    yy, xx = np.mgrid[:h, :w]
    sy, sx = np.r_[0, seeds[:, 0]], np.r_[0, seeds[:, 1]]
    own = np.hypot(yy - sy[labels], xx - sx[labels])  # distance to the cell's own seed
    outline = 1 + irregularity * 0.1 * _smooth_noise(rng, (h, w), 0.15 * spacing)
    labels[own > radius[labels] * outline] = 0

    # Open gaps of 1, 2 or 3 px along part of the shared borders (a smooth random field
    # decides where), so some neighbours touch and others are separated by thin background.
    high, both = _contacts(labels)
    gap_field = _smooth_noise(rng, (h, w), 0.25 * spacing)
    if high.any():
        cut = np.quantile(gap_field[high], [touching, touching + (1 - touching) / 3,
                                            touching + 2 * (1 - touching) / 3])
        cut[0] = -np.inf if touching == 0 else cut[0]  # no pixel left touching
        wide = ndi.binary_dilation(high) & (labels > 0)
        remove = ((gap_field > cut[0]) & high) | ((gap_field > cut[1]) & both) | \
                 ((gap_field > cut[2]) & wide)
        labels[remove] = 0

    # Connected pieces become separate instances; small fragments become background.
    from skimage.measure import label as connected
    labels = connected(labels, background=0, connectivity=1)
    area = np.bincount(labels.ravel())
    keep = area >= min_area
    keep[0] = False
    new_id = np.zeros(len(area), np.int32)
    new_id[keep] = np.arange(1, keep.sum() + 1)
    labels = new_id[labels]
    image = _render(rng, labels, own, spacing, contact_contrast, illumination, noise, blur)
    return SyntheticCells(image, labels, (labels > 0).astype(np.int64))


def _render(rng, labels, own, spacing, contact_contrast, illumination, noise, blur):
    """Draw cells: bright outer border, faint contact border, darker nucleus, texture, shading.

    `own`: each pixel's distance to the seed point of the cell it was grown from."""
    h, w = labels.shape
    k = int(labels.max())
    cells = labels > 0
    _, contact = _contacts(labels)
    to_background = ndi.distance_transform_edt(cells)      # 0 on background
    to_contact = ndi.distance_transform_edt(~contact)      # 0 on contact pixels
    base = np.r_[0.0, rng.uniform(0.3, 0.55, k)]             # per-cell brightness
    texture = _smooth_noise(rng, (h, w), 1.5)
    image = np.where(cells, base[labels] + 0.05 * texture, 0.12 + 0.02 * texture)
    image += cells * (0.35 * np.exp(-0.5 * ((to_background - 1) / 1.5) ** 2)
                      + 0.35 * contact_contrast * np.exp(-0.5 * (to_contact / 1.2) ** 2))
    # nucleus: a darker, slightly irregular disk around the cell's seed point
    nucleus_r = 0.3 * spacing * (1 + 0.15 * _smooth_noise(rng, (h, w), 3.0))
    image -= cells * 0.12 * (own < nucleus_r)
    # uneven illumination: a smooth multiplicative field from a coarse random grid
    coarse = rng.uniform(-1, 1, (4, 4))
    shading = ndi.zoom(coarse, (h / 4, w / 4), order=3, mode="nearest", grid_mode=True)[:h, :w]
    image *= 1 + illumination * np.clip(shading, -1, 1)
    image = ndi.gaussian_filter(image, blur) if blur > 0 else image
    image += noise * rng.standard_normal((h, w))
    return np.clip(image, 0, 1).astype(np.float32)


def synthetic_dataset(n_images: int, size: int | tuple[int, int] = 256, seed=0,
                      progress: bool = False, **kwargs) -> SyntheticCells:
    """A stack of ``n_images`` synthetic images: image (N, H, W), instances (N, H, W), mask.

    Image i uses the seed sequence [seed, i], so image i is the same whatever n_images is.
    ``kwargs`` go to ``synthetic_cells`` (e.g. ``n_cells``, ``touching``).
    """
    if int(n_images) < 1:
        raise ValueError(f"n_images must be >= 1, got {n_images!r}")
    if not isinstance(seed, (int, np.integer)):
        raise ValueError(f"seed must be an int for a data set (image i uses [seed, i]), got {seed!r}")
    indices = range(int(n_images))
    if progress:
        from tqdm.auto import tqdm
        indices = tqdm(indices, desc="synthetic images")
    samples = [synthetic_cells(size, seed=[int(seed), i], **kwargs) for i in indices]
    return SyntheticCells(*(np.stack(parts) for parts in zip(*samples)))


def touching_pairs(instances: np.ndarray, gap: int = 0) -> set[tuple[int, int]]:
    """Pairs (a, b), a < b, of distinct instances that touch (4-adjacent) when gap = 0, or are
    separated along a row or column by at most ``gap`` background pixels."""
    labels = np.asarray(instances)
    if labels.dtype.kind not in "biu":
        raise ValueError(f"instances must be integer (or bool) cell ids, got dtype {labels.dtype}; "
                         f"float labels would give pairs such as (1.5, 2.5): convert whole-number "
                         f"ids with .astype(int)")
    if labels.ndim != 2 or isinstance(gap, bool) or not isinstance(gap, (int, np.integer)) or gap < 0:
        raise ValueError(f"need a 2-D label image and an integer gap >= 0, got shape {labels.shape}, gap {gap!r}")
    pairs: set[tuple[int, int]] = set()
    for arr in (labels, labels.T):
        for step in range(1, min(int(gap) + 2, arr.shape[1])):
            a, b = arr[:, :-step], arr[:, step:]
            ok = (a > 0) & (b > 0) & (a != b)
            for middle in range(1, step):  # everything in between must be background
                ok &= arr[:, middle:arr.shape[1] - step + middle] == 0
            lo, hi = np.minimum(a[ok], b[ok]), np.maximum(a[ok], b[ok])
            pairs.update(zip(lo.tolist(), hi.tolist()))
    return pairs

