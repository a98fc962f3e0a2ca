"""Mirror extrapolation (Fig. 2 of the paper): the ONE implementation the course uses.

"To predict the pixels in the border region of the image, the missing context is extrapolated
by mirroring the input image." (Sec. 1; Fig. 2's caption: "Missing input data is extrapolated
by mirroring".) The tile sampler (``unet_course.data.tiles``) and overlap-tile inference
(``unet_course.tiling``) both cut their windows with the functions here.

Mirroring is about the edge pixel, which is not repeated: ``... 2 1 | 0 1 2 ... n-1 | n-2 ...``
(``numpy.pad(mode="reflect")``, scipy's ``mode="mirror"``), repeated as often as needed for
windows that reach further than the image is wide.
"""
from __future__ import annotations

import numbers

import numpy as np

__all__ = ["mirror_indices", "mirror_pad", "mirrored_window"]


def _int(value, name: str) -> int:
    """An integer argument, or a ValueError naming it (2.5 or True are not pixel counts)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be a whole number of pixels, got {value!r}")
    return int(value)


def mirror_indices(start: int, length: int, n: int) -> np.ndarray:
    """Indices into an axis of n pixels for positions start .. start+length-1, mirrored about
    the edge pixels outside 0..n-1 (numpy.pad mode "reflect": ... 2 1 | 0 1 2 ... n-1 | n-2 ...),
    repeating the reflection as often as needed."""
    start, length, n = _int(start, "start"), _int(length, "length"), _int(n, "n")
    if n < 1:
        raise ValueError(f"cannot mirror an empty axis (n = {n})")
    positions = np.arange(start, start + length)
    if n == 1:
        return np.zeros(length, dtype=np.intp)
    period = 2 * (n - 1)
    positions = np.mod(positions, period)
    return np.where(positions < n, positions, period - positions).astype(np.intp)


def mirrored_window(array: np.ndarray, top: int, left: int, height: int,
                    width: int | None = None) -> np.ndarray:
    """``array[..., top:top+height, left:left+width]``, mirrored where the window leaves the
    array (the last two axes are rows and columns; leading axes, e.g. channels, are kept).

    A window inside the array is a plain copy; one that reaches out is gathered with
    ``mirror_indices``, so no padded copy of the whole image is ever made."""
    array = np.asarray(array)
    if array.ndim < 2:
        raise ValueError(f"need an array with at least 2 dimensions (rows, columns), "
                         f"got shape {array.shape}")
    width = height if width is None else width
    h, w = array.shape[-2:]
    if top >= 0 and left >= 0 and top + height <= h and left + width <= w:
        return array[..., top:top + height, left:left + width].copy()
    rows = mirror_indices(top, height, h)
    cols = mirror_indices(left, width, w)
    return np.take(np.take(array, rows, axis=-2), cols, axis=-1)


def mirror_pad(image: np.ndarray, pad: int) -> np.ndarray:
    """Extend an image by ``pad`` pixels on every side by mirroring (Fig. 2 of the paper).

    ``image`` is (H, W) or (C, H, W) (only the last two axes are padded). The same as
    ``numpy.pad(image, pad, mode="reflect")`` on those axes: mirrored about the edge pixel, which
    is not repeated; unlike numpy, ``pad`` may exceed the image size (the reflection repeats)."""
    image = np.asarray(image)
    if image.ndim not in (2, 3):
        raise ValueError(f"mirror_pad takes a 2-D image (H, W) or a stack (C, H, W), "
                         f"got shape {image.shape}")
    pad = _int(pad, "pad")
    if pad < 0:
        raise ValueError(f"pad must be >= 0, got {pad!r}")
    h, w = image.shape[-2:]
    return mirrored_window(image, -pad, -pad, h + 2 * pad, w + 2 * pad)
