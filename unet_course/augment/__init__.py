"""Elastic deformation and the paper's other augmentations (Sec. 3.1).

Paper, Sec. 3.1: "we primarily need shift and rotation invariance as well as robustness to
deformations and gray value variations. Especially random elastic deformations of the
training samples seem to be the key concept to train a segmentation network with very few
annotated images. We generate smooth deformations using random displacement vectors on a
coarse 3 by 3 grid. The displacements are sampled from a Gaussian distribution with 10
pixels standard deviation. Per-pixel displacements are then computed using bicubic
interpolation."

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
its values need: the image with cubic splines (order 3), labels, instance ids and the weight
map with the nearest neighbour (order 0): no new label values appear (cubic interpolation of
a label image invents labels between 1 and 3 that are 2, a known bug in other tools), and
Eq. 2's thin ridges of high weight between cells keep their height (linear interpolation
lowers them by a median 11%, lesson 06). Cubic image values are clipped to the input's range,
so an image in [0, 1] stays in [0, 1] (cubic splines overshoot at sharp edges).

``Augment`` composes elastic deformation, shift, rotation (any angle), the eight exact
flips/90-degree rotations of a square tile and grey-value changes (image only) into the
tile sampler's hook ``augment(image, target, weight, rng) -> (image, target, weight)``.
Shift, rotation and elastic deformation are folded into one displacement field, so every
array is interpolated once. ``backend="torch"`` runs the same augmentation with torch
(``unet_course.augment.torch_backend``): the fast path on a CPU, batched on a GPU.

Course choices the paper does not fix: the grey-value change (contrast and brightness), the
rotation range and the composition order (flips, then rotation of the elastically deformed
grid, see ``total_field``).

The modules, none of which imports another that imports it back:

- ``params``: the random choices (coarse grid, flips, rotation, shift, grey value);
- ``numpy_backend``: the field and the warp with scipy (read this one first);
- ``torch_backend``: the same with torch, batched, on any device;
- ``hook``: ``Augment``, the tile sampler's hook, which calls one of the two back ends.

The numpy back end's functions and ``Augment`` are re-exported here:
``from unet_course.augment import Augment, dense_field, warp``.
"""
from .params import (MODE, AugmentParams, as_generator, control_coordinates,  # noqa: F401
                     random_coarse, sample_params)
from .numpy_backend import (TARGET_ORDER, affine_field, dense_field, elastic_deform,  # noqa: F401
                            grey_value, random_displacement, total_field, warp)
from .hook import Augment  # noqa: F401

__all__ = [
    "as_generator", "control_coordinates", "random_coarse", "dense_field", "random_displacement",
    "warp", "TARGET_ORDER", "elastic_deform", "affine_field", "total_field", "grey_value",
    "AugmentParams", "sample_params", "Augment",
]
