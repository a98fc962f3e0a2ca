"""Elastic deformation and the paper's other augmentations (Sec. 3.1).

Paper, Sec. 3.1: "we primarily need shift and rotation invariance as well as robustness to
deformations and gray value variations. Especially random elastic deformations of the
training samples seem to be the key concept to train a segmentation network with very few
annotated images. We generate smooth deformations using random displacement vectors on a
coarse 3 by 3 grid. The displacements are sampled from a Gaussian distribution with 10
pixels standard deviation. Per-pixel displacements are then computed using bicubic
interpolation."

The recipe in three small steps (read ``numpy_backend`` for each): ``random_coarse`` draws the
(2, 3, 3) control displacements, ``dense_field`` interpolates them into a per-pixel field with a
cubic spline (the field ``elasticdeform`` computes), and ``warp`` moves an array by it with
mirrored borders. ONE field moves image (cubic), label and weight map (both nearest neighbour,
so no label is invented and Eq. 2's thin ridges keep their height).

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
