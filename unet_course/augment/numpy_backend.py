"""The numpy/scipy back end of the augmentations: the readable one (Sec. 3.1).

The paper: "We generate smooth deformations using random displacement vectors on a coarse 3 by 3
grid. The displacements are sampled from a Gaussian distribution with 10 pixels standard
deviation. Per-pixel displacements are then computed using bicubic interpolation."

How this module does it, in three small steps:

1. ``random_coarse``: a (2, g, g) array of displacements (rows, then columns), N(0, sigma).
2. ``dense_field``: a (2, H, W) per-pixel displacement. The g control points sit evenly from
   the first pixel to the last (``np.linspace(0, n - 1, g)``), and the field between them is
   a cubic spline that *passes through* the control values (scipy's order-3 spline with
   prefilter, mirror boundary). The paper says "bicubic"; a cubic spline is the smooth
   (twice differentiable) member of that family. It is exactly the field that the
   ``elasticdeform`` package computes from the same coarse grid.
3. ``warp``: output pixel x takes the input at x + field(x) (``scipy.ndimage.map_coordinates``).
   Outside the image the input is mirrored about the edge pixel (scipy ``mode="mirror"``,
   numpy ``np.pad(mode="reflect")``: ``d c b | a b c d | c b a``), as the paper's
   overlap-tile strategy mirrors the border.

ONE field moves the image, its label and its weight map together, each interpolated the way
its values need: the image with cubic splines (order 3); labels, instance ids AND the weight map
with the nearest neighbour (order 0). For labels, so that no new label values appear (cubic
interpolation of a label image invents labels between 1 and 3 that are 2, a known bug in other
tools). For the weight map, because Eq. 2's border term is a sharp ridge one or two pixels wide
in the gaps between cells: linear interpolation averages the ridge with its lower neighbours, and
on gap pixels whose border term is above 5 the warped weights come out a median 11% below Eq. 2
recomputed on the deformed labels (a fifth of them below 70%); nearest-neighbour weights are off
by a median of about 1% (lesson 06 measures both, and recomputing Eq. 2 after the deformation). Cubic
image values are clipped to the input's range, so an image in [0, 1] stays in [0, 1] (cubic
splines overshoot at sharp edges).

``Augment`` (``hook``) composes elastic deformation, shift, rotation (any angle), the eight
exact flips/90-degree rotations of a square tile and grey-value changes (image only) into the
tile sampler's hook ``augment(image, target, weight, rng) -> (image, target, weight)``.
Shift, rotation and elastic deformation are folded into one displacement field, so every
array is interpolated once.

The random choices come from ``params`` (shared with the torch back end); ``apply`` is what
``Augment`` calls with ``backend="numpy"``.
"""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
from scipy import ndimage

from .params import (MODE, AugmentParams, _check_coarse, _check_field, _check_shape,
                     random_coarse)

__all__ = ["dense_field", "random_displacement", "warp", "TARGET_ORDER", "SCIPY_MODES", "elastic_deform",
           "affine_field", "total_field", "grey_value", "apply"]


def dense_field(coarse, shape) -> np.ndarray:
    """The per-pixel displacement (2, H, W) that interpolates a coarse (2, g, g) grid.

    Pixel (y, x) lies at grid coordinate (y * (gy - 1) / (H - 1), x * (gx - 1) / (W - 1)), so
    the corner pixels sit on the corner control points. There we evaluate a cubic spline
    through the control values (order 3, mirror boundary): field[:, cy, cx] == coarse at
    every control point.
    """
    coarse = _check_coarse(coarse)
    h, w = _check_shape(shape)
    gy, gx = coarse.shape[1:]
    rows = np.linspace(0, gy - 1, h)  # grid coordinate of every pixel row
    cols = np.linspace(0, gx - 1, w)
    where = np.meshgrid(rows, cols, indexing="ij")
    return np.stack([ndimage.map_coordinates(c, where, order=3, mode=MODE) for c in coarse])


def random_displacement(shape, grid: int = 3, sigma: float = 10.0, rng=None, coarse=None) -> np.ndarray:
    """A smooth random displacement field (2, H, W) in pixels: the paper's recipe.

    `grid` x `grid` control points with N(0, sigma**2) displacements, interpolated by a cubic
    spline. Pass `coarse` (2, g, g) to use given control values instead of random ones.
    """
    if coarse is None:
        coarse = random_coarse(grid, sigma, rng)
    return dense_field(coarse, shape)


# ----------------------------------------------------------------------------- warping
def warp(array, field, order: int = 3, mode: str = MODE, clip: bool = True) -> np.ndarray:
    """Output pixel x takes the input at x + field(x); field is (2, H, W), rows then columns.

    order: 3 (cubic spline) for images, 0 (nearest) for labels and weight maps.
    mode: what lies outside the image: "mirror" by default (reflection about the edge pixel), or
    one of scipy's other modes ("reflect", "nearest", "constant", "wrap", "grid-wrap", ...).
    clip: keep the output inside the input's [min, max] (cubic splines overshoot at edges;
    orders 0 and 1 never leave it anyway).
    `array` may have leading axes (..., H, W); each 2-D slice moves with the same field.
    Order 0 keeps the dtype; higher orders return floats (float32 stays float32).
    """
    array = np.asarray(array)
    if array.ndim < 2:
        raise ValueError(f"array must have at least 2 dimensions (..., H, W), got shape {array.shape}")
    if mode not in SCIPY_MODES:
        raise ValueError(f"mode must be one of {', '.join(map(repr, SCIPY_MODES))} (what lies outside "
                         f"the image; the course mirrors: 'mirror'), got {mode!r}")
    if isinstance(order, bool) or order not in range(6):
        raise ValueError(f"order must be an integer from 0 to 5 (0 labels, 1 weights, 3 images), got {order!r}")
    field = _check_field(field, array.shape[-2:])
    h, w = array.shape[-2:]
    rows, cols = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    where = np.stack([rows + field[0], cols + field[1]])  # where each output pixel looks
    if order > 0 and array.dtype.kind != "f":
        array = array.astype(np.float64)  # interpolated labels are not integers
    flat = array.reshape(-1, h, w)
    out = np.stack([ndimage.map_coordinates(a, where, order=order, mode=mode) for a in flat])
    if clip and order > 1:  # each 2-D slice stays within its own range
        out = np.clip(out, flat.min(axis=(1, 2), keepdims=True), flat.max(axis=(1, 2), keepdims=True))
    return out.reshape(array.shape)


# the boundary modes of scipy.ndimage.map_coordinates
SCIPY_MODES = ("mirror", "reflect", "nearest", "constant", "wrap", "grid-mirror", "grid-constant", "grid-wrap")
TARGET_ORDER = 0  # labels, instance ids and weight maps: nearest neighbour (see the module doc)


def elastic_deform(image, *targets, grid: int = 3, sigma: float = 10.0, rng=None,
                   orders: Optional[Sequence[int]] = None, coarse=None):
    """Deform an image and its targets with ONE random smooth field (Sec. 3.1).

    orders: one per array; by default 3 for the image and 0 (nearest neighbour) for every
    target: labels, instance ids and weight maps alike (see the module doc). Returns the image alone when no
    targets are given, else a tuple (image, *targets).
    """
    arrays = (np.asarray(image),) + tuple(np.asarray(t) for t in targets)
    for i, a in enumerate(arrays[1:], 1):
        if a.shape[-2:] != arrays[0].shape[-2:]:
            raise ValueError(f"all arrays must have the image's size {arrays[0].shape[-2:]}, "
                             f"but array {i} has shape {a.shape}")
    if orders is None:
        orders = [3] + [TARGET_ORDER] * len(targets)
    if len(orders) != len(arrays):
        raise ValueError(f"orders must give one order per array ({len(arrays)}), got {orders!r}")
    field = random_displacement(arrays[0].shape[-2:], grid, sigma, rng, coarse)
    out = tuple(warp(a, field, order) for a, order in zip(arrays, orders))
    return out if targets else out[0]


# ----------------------------------------------------------------------------- shift, rotation
def affine_field(shape, angle: float = 0.0, shift=(0.0, 0.0)) -> np.ndarray:
    """Displacement (2, H, W) of a rotation by `angle` degrees about the centre plus a shift."""
    return total_field(shape, None, angle, shift)


def total_field(shape, coarse=None, angle: float = 0.0, shift=(0.0, 0.0)) -> np.ndarray:
    """Elastic deformation, rotation and shift as ONE displacement field (2, H, W).

    Output pixel x looks at c + R(x + d(x) - c) + t in the input: the elastically deformed
    grid x + d(x) is rotated by R about the centre c and shifted by t. So the arrays are
    interpolated once, however many of these augmentations are on.
    """
    h, w = _check_shape(shape)
    angle, shift = _check_angle(angle), _check_shift(shift)
    rows, cols = np.meshgrid(np.arange(h, dtype=np.float64), np.arange(w, dtype=np.float64), indexing="ij")
    y, x = rows, cols
    if coarse is not None:
        d = dense_field(coarse, (h, w))
        y, x = rows + d[0], cols + d[1]
    cy, cx = (h - 1) / 2, (w - 1) / 2
    a = np.deg2rad(angle)
    cos, sin = np.cos(a), np.sin(a)
    y2 = cy + cos * (y - cy) - sin * (x - cx) + shift[0]
    x2 = cx + sin * (y - cy) + cos * (x - cx) + shift[1]
    return np.stack([y2 - rows, x2 - cols])


def _check_angle(angle) -> float:
    if isinstance(angle, bool) or not isinstance(angle, (int, float, np.integer, np.floating)) \
            or not np.isfinite(angle):
        raise ValueError(f"angle must be a number of degrees, got {angle!r}")
    return float(angle)


def _check_shift(shift) -> tuple[float, float]:
    """A (rows, columns) shift in pixels; a single number is ambiguous, so it is refused."""
    try:
        dy, dx = (float(v) for v in shift)
    except (TypeError, ValueError):
        raise ValueError(f"shift must be a pair (rows, columns) of pixels, e.g. (0.0, 3.5), "
                         f"got {shift!r}") from None
    if not (np.isfinite(dy) and np.isfinite(dx)):
        raise ValueError(f"shift must be finite, got {shift!r}")
    return dy, dx


def grey_value(image, contrast: float = 1.0, brightness: float = 0.0) -> np.ndarray:
    """Grey-value variation (image only): contrast about the mean, brightness, clipped to [0, 1].

    The image must be float in [0, 1] (an integer image would be clipped to 0 and 1: convert
    it first, e.g. uint8 / 255)."""
    image = np.asarray(image)
    if image.dtype.kind != "f":
        raise ValueError(f"grey_value needs a float image in [0, 1], got dtype {image.dtype} "
                         f"(convert first: uint8 / 255, or unet_course.data.files.as_float_image)")
    mean = image.mean()
    out = (image - mean) * contrast + mean + brightness
    return np.clip(out, 0.0, 1.0).astype(image.dtype, copy=False)


def _dihedral(array: np.ndarray, k90: int, flip: bool) -> np.ndarray:
    """Quarter turns then a left-right mirror: exact, no interpolation."""
    array = np.rot90(array, k90, axes=(-2, -1))
    if flip:
        array = array[..., ::-1]
    return np.ascontiguousarray(array)


def apply(params: AugmentParams, image, target=None, weight=None):
    """Apply drawn choices to numpy arrays: flips first, then ONE field (elastic, rotation,
    shift) for all arrays, then the grey-value change (image only)."""
    arrays = [None if a is None else np.asarray(a) for a in (image, target, weight)]
    arrays = [None if a is None else _dihedral(a, params.k90, params.flip) for a in arrays]
    image, target, weight = arrays
    if params.moves:
        field = total_field(image.shape[-2:], params.coarse, params.angle, params.shift)
        image = warp(image, field, order=3)
        target = None if target is None else warp(target, field, order=0)
        weight = None if weight is None else warp(weight, field, order=TARGET_ORDER)
    if params.contrast != 1 or params.brightness != 0:
        image = grey_value(image, params.contrast, params.brightness)
    return image, target, weight
