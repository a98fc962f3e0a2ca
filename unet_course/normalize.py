"""Input normalisation: the ONE place where training and inference scale the input.

Two steps, both stored in the saved model so that training and prediction cannot disagree:

1. Per image, by its own percentiles (``percentile_normalize``):
   ``x -> (x - P1(x)) / (P99.8(x) - P1(x))``, the rule of CSBDeep/StarDist's
   ``normalize(img, 1, 99.8)`` (Cellpose does likewise). A microscope writes uint8, uint16
   (often using a small part of its range, e.g. 0-235) or float raw intensities; this map
   makes the network's input independent of how the file stores its pixels: the same pixels
   as uint8, as uint16 scaled by 257 or as float raw intensities give the same normalised
   image (an increasing affine map of the pixels leaves the result unchanged). No clipping
   (CSBDeep's default): the brightest 0.2% lie a little above 1. The map is exactly
   idempotent (percentiles move with any increasing affine map), so normalising twice is the
   same as once. It is applied to the WHOLE image before tiling (``prepare_image``), so
   overlap-tile prediction stays exact. Course choice: the paper does not say how its Caffe
   set-up scaled the input.
2. Per network, fixed constants: ``StandardizedUNet`` maps the normalised image to
   ``(x - mean) / std`` with the training images' mean and standard deviation, stored as
   buffers in the state dict. Measured in this course (synthetic cells, base 16, SGD momentum
   0.99): with raw [0, 1] inputs the He-initialised U-Net learned nothing in 3 minutes at lr
   1e-4, 1e-3 or 1e-2 (all background); with standardised inputs the same recipe learned. He
   initialisation (Sec. 3) assumes inputs of roughly unit variance. A fixed map (not each
   tile's own statistics) keeps a pixel's prediction independent of the tile it falls in.

The trainer (``unet_course.train``) normalises every image it reads (synthetic cells, ISBI
2012, a folder of the user's files) by step 1; ``unet_course.tiling.predict_tiled`` (and
with it the predict command and validation) applies the model's stored rule to the whole
image before it cuts tiles. A model saved before step 1 existed has no percentiles and takes
images as float in [0, 1], as then.
"""
from __future__ import annotations

import numpy as np
import torch

from .model import UNet

__all__ = ["PERCENTILES", "percentile_normalize", "prepare_image", "input_statistics",
           "StandardizedUNet"]

# CSBDeep/StarDist's default normalize(img, pmin=1, pmax=99.8)
PERCENTILES = (1.0, 99.8)


def percentile_normalize(image, low: float = PERCENTILES[0], high: float = PERCENTILES[1],
                         eps: float = 1e-20) -> np.ndarray:
    """``(x - P_low) / (P_high - P_low + eps)`` over all pixels of ``image`` (any real dtype:
    bool, integers, floats of any range), as float32, not clipped. A constant image gives 0."""
    if not 0 <= low < high <= 100:
        raise ValueError(f"need percentiles 0 <= low < high <= 100, got low={low!r}, high={high!r}")
    x = np.asarray(image)
    if x.dtype == bool:
        x = x.astype(np.uint8)
    if x.size == 0 or not (np.issubdtype(x.dtype, np.integer) or np.issubdtype(x.dtype, np.floating)):
        raise ValueError(f"percentile_normalize needs a non-empty image of integer or float "
                         f"pixels, got dtype {x.dtype} and shape {x.shape}")
    x = x.astype(np.float64)
    if not np.isfinite(x).all():
        raise ValueError(f"the image holds {np.count_nonzero(~np.isfinite(x))} NaN or infinite "
                         f"pixel(s); replace them (e.g. np.nan_to_num) before predicting")
    lo, hi = np.percentile(x, (low, high))
    return ((x - lo) / (hi - lo + eps)).astype(np.float32)


def prepare_image(model, image) -> np.ndarray:
    """The whole image as ``model`` was trained to see it: its stored percentile rule
    (``StandardizedUNet.prepare``); a network without one takes the course's [0, 1] images
    (uint8 / uint16 scaled by 255 / 65535; floats must lie in [0, 1])."""
    prepare = getattr(model, "prepare", None)
    return prepare(image) if prepare is not None else _unit_range(image)


def _unit_range(image) -> np.ndarray:
    from .data.files import as_float_image
    x = as_float_image(image, "image")
    if x.size and (x.min() < 0 or x.max() > 1):
        raise ValueError(f"this network has no stored normalisation, so it takes images in "
                         f"[0, 1]; got values in [{x.min():.4g}, {x.max():.4g}]: scale the "
                         f"image (uint8 / 255), or use a trained model, which normalises by "
                         f"percentiles (unet_course.normalize.percentile_normalize)")
    return x


def input_statistics(images) -> tuple[float, float]:
    """(mean, std) over all pixels of a list/stack of (normalised) images; std >= 1e-6."""
    values = np.concatenate([np.asarray(im, np.float64).ravel() for im in images])
    if values.size == 0 or not np.isfinite(values).all():
        raise ValueError("input_statistics needs non-empty, finite images")
    return float(values.mean()), float(max(values.std(), 1e-6))


class StandardizedUNet(UNet):
    """UNet(...) that normalises whole images by their percentiles (``prepare``) and whose
    forward first maps x to (x - input_mean) / input_std.

    Same arguments as ``UNet`` plus ``input_mean`` and ``input_std`` (floats, e.g. from
    ``input_statistics(normalised_training_images)``) and ``percentiles`` ((low, high) of
    ``percentile_normalize``, or None for a model that takes [0, 1] images as they are). No
    extra parameters: mean and std are buffers, the percentiles are saved by ``save_model``.
    """

    def __init__(self, *args, input_mean: float = 0.0, input_std: float = 1.0,
                 percentiles=None, **kwargs):
        super().__init__(*args, **kwargs)
        if not (np.isfinite(input_mean) and np.isfinite(input_std) and input_std > 0):
            raise ValueError(f"input_mean must be finite and input_std > 0, got "
                             f"{input_mean!r}, {input_std!r}")
        if percentiles is not None:
            low, high = (float(p) for p in percentiles)
            percentile_normalize(np.zeros(1), low, high)  # ValueError for a bad pair
            percentiles = (low, high)
        self.percentiles = percentiles
        self.register_buffer("input_mean", torch.tensor(float(input_mean)))
        self.register_buffer("input_std", torch.tensor(float(input_std)))

    def extra_repr(self) -> str:
        return (super().extra_repr() + f", input_mean={float(self.input_mean):.4g}, "
                f"input_std={float(self.input_std):.4g}, percentiles={self.percentiles}")

    def prepare(self, image) -> np.ndarray:
        """A whole image (H, W) or (C, H, W), any dtype, as this network's input: percentile-
        normalised float32 (no percentiles stored: uint8/uint16 scaled, floats in [0, 1])."""
        if self.percentiles is None:
            return _unit_range(image)
        return percentile_normalize(image, *self.percentiles)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.check_input(x)
        return super().forward((x - self.input_mean) / self.input_std)
