"""The random choices of the paper's augmentations (Sec. 3.1), shared by both back ends.

"We generate smooth deformations using random displacement vectors on a coarse 3 by 3 grid. The
displacements are sampled from a Gaussian distribution with 10 pixels standard deviation."
(Sec. 3.1.) This module draws those choices (the coarse displacements, flips, rotation, shift,
grey-value change) into an ``AugmentParams``; the numpy back end (``numpy_backend``) and the
torch back end (``torch_backend``) each import it and apply the same choices. Nothing here
imports a back end.
"""
from __future__ import annotations

from dataclasses import dataclass, field as dataclass_field
from typing import Optional, Tuple

import numpy as np

__all__ = ["as_generator", "control_coordinates", "random_coarse", "AugmentParams", "sample_params"]

MODE = "mirror"  # scipy's name; numpy's np.pad calls the same thing "reflect"


def as_generator(rng=None) -> np.random.Generator:
    """A numpy Generator from a Generator, an int seed or None (fresh entropy)."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        return np.random.default_rng(rng)
    raise ValueError(f"rng must be a numpy.random.Generator, an int seed or None, got {rng!r}")


def _check_grid(grid) -> int:
    if isinstance(grid, bool) or not isinstance(grid, (int, np.integer)) or grid < 2:
        raise ValueError(f"grid must be an integer >= 2 (control points per side; the paper "
                         f"uses 3), got {grid!r}")
    return int(grid)


def _check_sigma(sigma) -> float:
    try:
        value = float(sigma)
    except (TypeError, ValueError):
        raise ValueError(f"sigma must be a number of pixels >= 0 (the paper uses 10), "
                         f"got {sigma!r}") from None
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"sigma must be a number of pixels >= 0 (the paper uses 10), got {sigma!r}")
    return value


def _check_shape(shape) -> Tuple[int, int]:
    try:
        h, w = (int(s) for s in shape)
    except (TypeError, ValueError):
        raise ValueError(f"shape must be (height, width), got {shape!r}") from None
    if h < 2 or w < 2:
        raise ValueError(f"shape must be at least (2, 2) pixels, got {tuple(shape)!r}")
    return h, w


def _check_coarse(coarse) -> np.ndarray:
    coarse = np.asarray(coarse, dtype=np.float64)
    if coarse.ndim != 3 or coarse.shape[0] != 2 or min(coarse.shape[1:]) < 2:
        raise ValueError(f"coarse must have shape (2, gy, gx) with gy, gx >= 2 (row and column "
                         f"displacements at the control points), got shape {coarse.shape}")
    return coarse


def _check_field(field, shape) -> np.ndarray:
    field = np.asarray(field)
    if field.shape != (2,) + tuple(shape):
        raise ValueError(f"field must have shape (2, H, W) = {(2,) + tuple(shape)} to match the "
                         f"array of shape {tuple(shape)}, got {field.shape}")
    return field


def control_coordinates(n: int, grid: int) -> np.ndarray:
    """Pixel positions of `grid` control points spread evenly from pixel 0 to pixel n - 1."""
    return np.linspace(0, n - 1, _check_grid(grid))


def random_coarse(grid: int = 3, sigma: float = 10.0, rng=None) -> np.ndarray:
    """Random displacements (2, grid, grid) in pixels, drawn from N(0, sigma**2) (Sec. 3.1)."""
    grid, sigma = _check_grid(grid), _check_sigma(sigma)
    return as_generator(rng).normal(0.0, sigma, size=(2, grid, grid))


@dataclass
class AugmentParams:
    """The random choices of one augmentation, drawn once and applied to all arrays."""

    k90: int = 0              # quarter turns (np.rot90); odd only for square tiles
    flip: bool = False        # mirror left-right (after the quarter turns)
    angle: float = 0.0        # rotation in degrees about the centre
    shift: Tuple[float, float] = (0.0, 0.0)  # rows, columns in pixels
    coarse: Optional[np.ndarray] = dataclass_field(default=None, repr=False)  # (2, g, g) or None
    contrast: float = 1.0
    brightness: float = 0.0

    @property
    def moves(self) -> bool:
        """True if any interpolation is needed (elastic, rotation or shift)."""
        return self.coarse is not None or self.angle != 0 or any(s != 0 for s in self.shift)


def sample_params(rng, shape, *, elastic: bool, grid: int, sigma: float, shift: float,
                  rotate: float, flip: bool, grey: float) -> AugmentParams:
    """Draw the random choices for one tile of `shape` (always the same number of draws, so
    switching an augmentation off does not change the others' random values)."""
    rng = as_generator(rng)
    k90, flipped = int(rng.integers(4)), bool(rng.integers(2))
    angle = float(rng.uniform(-rotate, rotate))
    offset = tuple(float(s) for s in rng.uniform(-shift, shift, size=2))
    coarse = rng.normal(0.0, sigma, size=(2, grid, grid))
    contrast = float(rng.uniform(1 - grey, 1 + grey))
    brightness = float(rng.uniform(-grey, grey))
    if not flip:
        k90, flipped = 0, False
    elif shape[0] != shape[1]:
        k90 = k90 // 2 * 2  # a quarter turn would swap height and width
    return AugmentParams(k90, flipped, angle, offset, coarse if elastic else None,
                         contrast, brightness)
