"""Training tiles (Sec. 2 and 3, Fig. 2): a mirror-extended input tile, and the target and
weight map in the valid output window that the U-Net predicts from it.

``training_targets`` turns instance labels into the paper's training pair: class 1 on cells
except the separation borders between touching cells, and Eq. 2's weight map.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from ..sizes import output_size
from ..weights import separation_border, weight_map
from .files import as_float_image
from .mirror import mirrored_window

__all__ = ["TileDataset", "training_targets"]

class TileDataset:
    """Random training tiles: a mirror-extended input tile, and the target and weight in the
    valid output window that the U-Net predicts from it (Sec. 2 and 3, Fig. 2).

    ``dataset[i]`` returns ``(image, target, weight)`` as torch tensors: image float32
    (1, input_size, input_size), target int64 (out, out), weight float32 (out, out), with
    out = ``output_size(input_size, depth)`` (572 -> 388). An invalid ``input_size`` raises
    the ValueError of ``unet_course.sizes`` naming the nearest valid sizes.

    How a tile is drawn: an image at random, then the output window's corner uniformly among
    the positions that keep the window inside the image, so every labelled pixel can be an
    output pixel. The input window reaches (input - out) / 2 pixels (92 for 572) beyond it on
    every side; where that falls outside the image it is filled by mirroring the image about
    its edge pixel (numpy.pad mode "reflect"). If an image is smaller than the output window,
    the window is placed so that it covers the image's pixels, and its pixels outside the
    image get weight 0 (the loss ignores them).

    ``augment(image, target, weight, rng) -> (image, target, weight)`` (optional) gets the
    three input-sized arrays (target and weight mirrored like the image) and a numpy Generator;
    target and weight are cropped to the output window after it (e.g. elastic deformation,
    ``unet_course.augment``). The mirrored margin keeps its weight then: a deformation pulls
    some output pixels from it, and the mirrored target is right there (`_outside_window`).

    Images are float (the trainer gives percentile-normalised images, about [0, 1]), or
    uint8/uint16/bool, converted to float32 in [0, 1] (`data.files.as_float_image`); targets are class numbers (integers, or floats holding
    whole numbers; 0.5 is a ValueError).

    Randomness: tile i is drawn with the generator ``default_rng([seed, epoch, i])``, so it
    does not depend on the order of access, on global random state or on which DataLoader
    worker draws it: several workers give the same tiles as one, without repeats. Call
    ``set_epoch(e)`` before each epoch for new tiles (``len`` tiles per epoch); a DataLoader
    copies the data set into its workers when an epoch's iteration starts (unless
    ``persistent_workers=True``, which keeps the first copy).

    Deviation: the paper trains on a batch of one large tile per step; batches of smaller
    tiles (e.g. 252 -> 68) train faster on a CPU.
    """

    def __init__(self, images, targets, weights=None, input_size: int = 572, depth: int = 4,
                 tiles_per_epoch: int | None = None,
                 augment: Callable | None = None, seed: int = 0):
        self.out_size = output_size(input_size, depth)  # ValueError for an invalid size
        self.input_size = int(input_size)
        self.depth = depth
        self.margin = (self.input_size - self.out_size) // 2
        self.images = [as_float_image(im, f"image {i}") for i, im in enumerate(images)]
        self.targets = [_as_class_target(t, f"target {i}") for i, t in enumerate(targets)]
        if weights is None:
            self.weights = [np.ones(t.shape, np.float32) for t in self.targets]
        else:
            self.weights = [np.asarray(wt).astype(np.float32, copy=False) for wt in weights]
        if not self.images or not len(self.images) == len(self.targets) == len(self.weights):
            raise ValueError(f"need as many images as targets (and weights), at least one: got "
                             f"{len(self.images)} images, {len(self.targets)} targets, "
                             f"{len(self.weights)} weights")
        for i, (im, t, wt) in enumerate(zip(self.images, self.targets, self.weights)):
            if im.ndim != 2 or im.shape != t.shape or im.shape != wt.shape:
                raise ValueError(f"image {i}: image, target and weight must be 2-D arrays of the "
                                 f"same shape, got {im.shape}, {t.shape}, {wt.shape}")
        if tiles_per_epoch is None:  # about enough output windows to cover every image once
            tiles_per_epoch = sum(-(-im.shape[0] // self.out_size) * -(-im.shape[1] // self.out_size)
                                  for im in self.images)
        if int(tiles_per_epoch) < 1:
            raise ValueError(f"tiles_per_epoch must be >= 1, got {tiles_per_epoch!r}")
        self.tiles_per_epoch = int(tiles_per_epoch)
        self.augment = augment
        self.seed = int(seed)
        self.epoch = 0

    def __len__(self) -> int:
        return self.tiles_per_epoch

    def set_epoch(self, epoch: int) -> None:
        """Draw other tiles from now on (call it before each epoch; tile i of an epoch is fixed)."""
        self.epoch = int(epoch)

    def position(self, index: int) -> tuple[int, int, int]:
        """(image number, row, column) of the output window's top-left corner for tile `index`."""
        return self._draw(index)[1:]

    def _draw(self, index: int):
        if not 0 <= index < len(self):
            raise IndexError(f"tile index {index} out of range 0..{len(self) - 1}")
        rng = np.random.default_rng([self.seed, self.epoch, int(index)])
        k = int(rng.integers(len(self.images)))
        h, w = self.images[k].shape
        # corner range: inside the image, or (image smaller than the window) covering it
        y = int(rng.integers(min(0, h - self.out_size), max(0, h - self.out_size) + 1))
        x = int(rng.integers(min(0, w - self.out_size), max(0, w - self.out_size) + 1))
        return rng, k, y, x

    def tile(self, index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Tile `index` as numpy arrays (image (S, S), target (s, s), weight (s, s))."""
        rng, k, y, x = self._draw(index)
        image, target, weight = self.images[k], self.targets[k], self.weights[k]
        top, left = y - self.margin, x - self.margin  # input window, in image coordinates
        tile_image = mirrored_window(image, top, left, self.input_size)
        if self.augment is None:  # only the output window of target and weight is needed
            top, left, size = y, x, self.out_size
        else:  # the hook gets input-sized arrays, mirrored like the image
            size = self.input_size
        tile_target = mirrored_window(target, top, left, size)
        tile_weight = mirrored_window(weight, top, left, size)
        h, w = image.shape
        if top < 0 or left < 0 or top + size > h or left + size > w:
            rows, cols = np.arange(top, top + size), np.arange(left, left + size)
            counts = np.outer((rows >= 0) & (rows < h), (cols >= 0) & (cols < w))
            if self.augment is not None:  # the mirrored margin around the output window keeps
                counts |= _outside_window(size, self.margin, self.out_size)  # its weight
            tile_weight = tile_weight * counts  # output-window pixels outside the image do not count
        if self.augment is not None:
            tile_image, tile_target, tile_weight = self.augment(tile_image, tile_target,
                                                                tile_weight, rng)
            crop = slice(self.margin, self.margin + self.out_size)
            tile_target, tile_weight = tile_target[crop, crop], tile_weight[crop, crop]
        return (np.ascontiguousarray(tile_image, dtype=np.float32),
                np.ascontiguousarray(tile_target, dtype=np.int64),
                np.ascontiguousarray(tile_weight, dtype=np.float32))

    def __getitem__(self, index: int):
        import torch
        image, target, weight = self.tile(index)
        return torch.from_numpy(image)[None], torch.from_numpy(target), torch.from_numpy(weight)


def _outside_window(size: int, margin: int, out_size: int) -> np.ndarray:
    """True on the margin of a size x size tile around its central out_size x out_size window.

    Why the margin keeps its weight under augmentation: a deformation pulls some output pixels
    from the mirrored margin, and there the mirrored target IS the target of the mirrored
    image, so those pixels are supervised correctly (zeroing them took up to 13% of a 68x68
    output window near the image border out of the loss). Output-window pixels outside an
    image smaller than the window still get weight 0, with or without augmentation."""
    outside = np.ones((size, size), bool)
    outside[margin:margin + out_size, margin:margin + out_size] = False
    return outside


def _as_class_target(target, name: str) -> np.ndarray:
    """A target as int64 class numbers; float targets must hold whole numbers (0.5 is no class)."""
    target = np.asarray(target)
    if target.dtype.kind == "f":
        if target.size and not (np.isfinite(target).all() and (target == np.round(target)).all()):
            bad = target[~(np.isfinite(target) & (target == np.round(target)))].flat[0]
            raise ValueError(f"{name}: targets are class numbers (0 background, 1 cell, ...), got "
                             f"the non-integer value {float(bad):g} in a {target.dtype} array; "
                             f"threshold soft labels first (e.g. target > 0.5)")
    elif target.dtype.kind not in "biu":
        raise ValueError(f"{name}: targets are integer class numbers, got dtype {target.dtype}")
    return target.astype(np.int64, copy=False)


def training_targets(instances: np.ndarray, w0: float = 10.0, sigma: float = 5.0
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Instances -> (target int64, weight float32) for training, as in the paper (Sec. 3):
    target = 1 on cells except the separation borders between touching cells (class 0, so the
    network learns to draw them), weight = Eq. 2's weight map (``unet_course.weights``).

    Works on one (H, W) label image or a stack (N, H, W)."""
    instances = np.asarray(instances)
    if instances.ndim == 3:
        pairs = [training_targets(one, w0, sigma) for one in instances]
        return np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs])
    border = np.asarray(separation_border(instances), bool)
    target = ((instances > 0) & ~border).astype(np.int64)
    return target, np.asarray(weight_map(instances, w0=w0, sigma=sigma), np.float32)


