"""Input normalisation: the ONE place where training and inference scale the input.

Measured in this course (course guide, synthetic cells, base 16, SGD momentum 0.99): with raw
[0, 1] inputs the He-initialised U-Net learned nothing in 3 minutes at lr 1e-4, 1e-3 or 1e-2
(all background); with standardised inputs (zero mean, unit variance) the same recipe learned.
He initialisation (Sec. 3) assumes inputs of roughly unit variance; an image in [0, 1] with
mean 0.5 is far from it. The paper does not say how its Caffe set-up scaled the input.

So the network we train and save standardises its input itself: ``StandardizedUNet`` is the
U-Net of Fig. 1 with two constants (the training images' mean and standard deviation, stored
as buffers in the state dict, so ``checkpoint.save_model``/``load_model`` keep them) and
``forward(x) = UNet.forward((x - mean) / std)``. Training, overlap-tile prediction and any
user call all go through the same forward, so they cannot disagree, and because the map is
the same at every pixel, predicting tile by tile equals predicting the whole (mirror-padded)
image at once. Inputs stay the course's images: float in [0, 1].

Deviation from the course guide's measurement: it standardised each tile by its own
statistics; a fixed data-set mean/std does the same for the network's first layer but keeps
the prediction of a pixel independent of which tile it falls in (exact overlap-tile).
"""
from __future__ import annotations

import numpy as np
import torch

from .model import UNet

__all__ = ["input_statistics", "StandardizedUNet"]


def input_statistics(images) -> tuple[float, float]:
    """(mean, std) over all pixels of a list/stack of images (float, [0, 1]); std >= 1e-6."""
    values = np.concatenate([np.asarray(im, np.float64).ravel() for im in images])
    if values.size == 0 or not np.isfinite(values).all():
        raise ValueError("input_statistics needs non-empty, finite images")
    return float(values.mean()), float(max(values.std(), 1e-6))


class StandardizedUNet(UNet):
    """UNet(...) whose forward first maps x to (x - input_mean) / input_std.

    Same arguments as ``UNet`` plus ``input_mean`` and ``input_std`` (floats, e.g. from
    ``input_statistics(training_images)``). No extra parameters: the two numbers are buffers.
    """

    def __init__(self, *args, input_mean: float = 0.0, input_std: float = 1.0, **kwargs):
        super().__init__(*args, **kwargs)
        if not (np.isfinite(input_mean) and np.isfinite(input_std) and input_std > 0):
            raise ValueError(f"input_mean must be finite and input_std > 0, got "
                             f"{input_mean!r}, {input_std!r}")
        self.register_buffer("input_mean", torch.tensor(float(input_mean)))
        self.register_buffer("input_std", torch.tensor(float(input_std)))

    def extra_repr(self) -> str:
        return (super().extra_repr() + f", input_mean={float(self.input_mean):.4g}, "
                f"input_std={float(self.input_std):.4g}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.check_input(x)
        return super().forward((x - self.input_mean) / self.input_std)
