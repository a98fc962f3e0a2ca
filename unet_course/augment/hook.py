"""``Augment``: the paper's augmentations as the tile sampler's hook (Sec. 3.1).

    augment = Augment(elastic=True, rotate=True, flip=True, grey=0.1)
    image, target, weight = augment(image, target, weight, rng)

It draws the random choices once (``params.sample_params``) and applies them jointly to image,
label and weight map with one of two back ends: ``numpy_backend`` (scipy, the readable one) or
``torch_backend`` (fast on a CPU, batched on a GPU). Both back ends import ``params`` only.
"""
from __future__ import annotations

import numpy as np

from ..data.files import as_float_image
from . import numpy_backend
from .params import AugmentParams, _check_grid, _check_sigma, sample_params

__all__ = ["Augment"]


class Augment:
    """The paper's augmentations as the tile sampler's hook.

        augment = Augment(elastic=True, rotate=True, flip=True, grey=0.1)
        image, target, weight = augment(image, target, weight, rng)

    elastic: the paper's smooth deformation (`grid` x `grid` control points, `sigma` px).
    shift: largest random shift in pixels (0: none; random tile positions already give shift
        invariance). rotate: True for any angle, a number for the largest angle in degrees,
        False/0 for none. flip: the 8 exact symmetries of a square tile (quarter turns and a
        mirror; only half turns for non-square tiles, so shapes never change).
    grey: largest contrast change (factor 1 +- grey) and brightness change (+- grey), image only.
    backend: "numpy" (scipy, the readable one) or "torch" (fast; `device` picks where it runs).
    The image is interpolated with cubic splines (torch: bicubic convolution), the target and
    the weight map by the nearest neighbour (so Eq. 2's ridges between cells keep their
    height); all three with mirrored borders. The image is float (any finite range: the
    trainer's percentile-normalised images lie a little outside [0, 1]), or uint8, uint16 or
    bool, which are converted (uint8 / 255, uint16 / 65535); it comes back as float32
    (`unet_course.data.files.as_float_image`); anything else is a ValueError.
    """

    def __init__(self, elastic: bool = True, grid: int = 3, sigma: float = 10.0, shift: float = 0.0,
                 rotate=False, flip: bool = True, grey: float = 0.0, backend: str = "numpy",
                 device=None):
        self.elastic = bool(elastic)
        self.grid, self.sigma = _check_grid(grid), _check_sigma(sigma)
        if rotate is True:
            rotate = 180.0
        self.rotate = float(rotate or 0.0)
        self.shift = float(shift)
        if self.shift < 0 or self.rotate < 0:
            raise ValueError(f"shift and rotate must be >= 0, got shift={shift!r}, rotate={rotate!r}")
        self.flip = bool(flip)
        self.grey = float(grey)
        if not 0 <= self.grey < 1:
            raise ValueError(f"grey must be in [0, 1) (largest contrast/brightness change), got {grey!r}")
        if backend not in ("numpy", "torch"):
            raise ValueError(f"backend must be 'numpy' or 'torch', got {backend!r}")
        self.backend, self.device = backend, device

    def __repr__(self) -> str:
        return (f"Augment(elastic={self.elastic}, grid={self.grid}, sigma={self.sigma}, "
                f"shift={self.shift}, rotate={self.rotate}, flip={self.flip}, grey={self.grey}, "
                f"backend={self.backend!r})")

    def sample(self, rng=None, shape=(2, 2)) -> AugmentParams:
        """Draw the random choices for one tile of `shape` (always the same number of draws)."""
        return sample_params(rng, shape, elastic=self.elastic, grid=self.grid, sigma=self.sigma,
                             shift=self.shift, rotate=self.rotate, flip=self.flip, grey=self.grey)

    def __call__(self, image, target, weight=None, rng=None):
        """The hook: one random augmentation applied jointly to image, target and weight."""
        image = as_float_image(image)
        for name, a in (("target", target), ("weight", weight)):
            if a is not None and np.shape(a) != image.shape:
                raise ValueError(f"{name} must have the image's shape {image.shape}, got {np.shape(a)}")
        params = self.sample(rng, image.shape[-2:])
        return self.apply(params, image, target, weight)

    def apply(self, params: AugmentParams, image, target=None, weight=None):
        """Apply given choices (numpy arrays in, numpy arrays out, on either back end)."""
        image = as_float_image(image)
        if self.backend == "torch":
            from . import torch_backend  # torch only when asked for
            return torch_backend.apply_numpy(params, image, target, weight, device=self.device)
        return numpy_backend.apply(params, image, target, weight)
