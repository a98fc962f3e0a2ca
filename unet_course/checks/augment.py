"""Checks for exercise 06: elastic deformation (paper Sec. 3.1).

The reference is `unet_course.augment`, itself plain scipy (``ndimage.map_coordinates``).
Inputs include sizes, grids and displacements the exercise notebook never shows: odd and
non-square images, 2x2 to 5x5 grids, fields large enough to reach past the border.
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage

from .. import augment
from .core import CheckResult, check_function, describe_difference

__all__ = ["check_dense_field", "check_warp"]


def _dense_cases():
    rng = np.random.default_rng(20150518)  # not the seeds the notebook uses
    shapes = [(2, 2), (5, 5), (9, 17), (64, 64), (33, 100), (101, 40)]
    cases = []
    for gy, gx in [(2, 2), (3, 3), (4, 4), (5, 5), (3, 4), (2, 5)]:
        for shape in shapes:
            cases.append((rng.normal(0, 10, (2, gy, gx)), shape))
    return cases


def check_dense_field(student_fn) -> CheckResult:
    """dense_field(coarse, shape): the (2, H, W) cubic-spline field through the control values."""
    def compare(expected, actual):
        why = describe_difference(expected, actual, rtol=1e-5, atol=1e-4)
        if why is None:
            return None
        swapped = ("Hint: height and width are swapped: build the pixel grid with "
                   "np.meshgrid(rows, cols, indexing='ij') (indexing='xy', the default, swaps them)")
        if np.ndim(actual) == 3 and np.shape(actual) == (2,) + np.shape(expected)[:0:-1] \
                and np.shape(actual) != np.shape(expected):
            return f"{why}. {swapped}"
        if np.shape(actual) != np.shape(expected):
            return why
        actual = np.asarray(actual)
        if np.allclose(actual, np.swapaxes(expected, 1, 2), atol=1e-4):
            return f"{why}. {swapped}"
        if np.allclose(actual, expected[::-1], atol=1e-4):
            return (f"{why}. Hint: field[0] must hold the row (y) displacements, from coarse[0], "
                    f"and field[1] the column (x) ones")
        corners = (slice(None), [0, 0, -1, -1], [0, -1, 0, -1])
        if not np.allclose(actual[corners], expected[corners], atol=1e-4):
            return (f"{why}. Hint: the corner pixels must sit ON the corner control points "
                    f"(pixel y is at grid coordinate y * (g - 1) / (H - 1)), so the field "
                    f"there equals the control values")
        return f"{why}. Hint: the corners are right; use a cubic spline (order=3, mode='mirror')"
    return check_function(student_fn, augment.dense_field, _dense_cases(), name="dense_field",
                          compare=compare)


def _warp_cases():
    rng = np.random.default_rng(1505)
    cases = []
    for shape, sigma in [((20, 20), 3), ((31, 17), 10), ((64, 48), 10), ((40, 40), 30), ((7, 50), 20)]:
        image = ndimage.gaussian_filter(rng.random(shape), 1.5)
        labels = np.digitize(image, np.quantile(image, [0.3, 0.6, 0.8])).astype(np.int64) * 5
        field = augment.random_displacement(shape, grid=int(rng.integers(2, 5)), sigma=sigma, rng=rng)
        cases += [(image, field, 3), (image, field, 1), (labels, field, 0)]
    shift = np.zeros((2, 12, 12))
    shift[0], shift[1] = 4.0, -15.0  # a plain shift, far past the border
    cases += [(np.arange(144.0).reshape(12, 12), shift, 1), (np.arange(144).reshape(12, 12), shift, 0)]
    # Sharp edges (a checkerboard of 0.2 and 0.7, moved by half a pixel and more): the cubic
    # spline overshoots below 0.2 and above 0.7, so only a warp clipped to the input's range
    # matches the course's.
    board = 0.2 + 0.5 * (np.indices((16, 16)).sum(axis=0) // 4 % 2)  # values 0.2 and 0.7
    field = augment.random_displacement(board.shape, grid=3, sigma=3, rng=rng) + 0.5
    cases += [(board, field, 3)]
    return cases


def _reference_warp(array, field, order):
    return augment.warp(array, field, order)  # the course's warp: clipped to the input's range


def _unclipped(array, field, order):
    return augment.warp(array, field, order, clip=False)


CLIP = ("values outside the input's range: a cubic spline overshoots next to sharp edges (a dark "
        "pixel beside a bright one can become negative), so the course's warp clips an order-3 "
        "result to the input's own range, np.clip(out, array.min(), array.max()) (lesson 06, section 3)")


def check_warp(student_fn) -> CheckResult:
    """warp(array, field, order): output pixel x takes the input at x + field(x), mirrored borders,
    an order-3 result clipped to the input's range (as unet_course.augment.warp)."""
    last = {}

    def reference(array, field, order):
        last.update(array=array, field=field, order=order)
        return _reference_warp(array, field, order)

    def compare(expected, actual):
        why = describe_difference(expected, actual, rtol=1e-5, atol=1e-5)
        if why is None or np.shape(actual) != np.shape(expected):
            return why
        a, f, o = last["array"], last["field"], last["order"]
        hints = [
            (lambda: _unclipped(a, f, o), CLIP),
            (lambda: _unclipped(a, -f, o), "you move the image the other way: output pixel x "
             "takes the input AT x + field(x) (not x - field(x))"),
            (lambda: _unclipped(a, f[::-1], o), "field[0] holds the row (y) displacements and "
             "field[1] the column (x) ones"),
            (lambda: ndimage.map_coordinates(a.astype(float) if o else a, _where(f), order=o, mode="reflect"),
             "the border is handled differently: use mode='mirror' (reflect about the edge pixel)"),
            (lambda: ndimage.map_coordinates(a.astype(float) if o else a, _where(f), order=o, mode="constant"),
             "the border is handled differently: use mode='mirror' (reflect about the edge pixel)"),
        ]
        hints += [(lambda other=other: _unclipped(a, f, other),
                   f"your result is order-{other} interpolation, but this call asked for order={o}: "
                   f"pass the `order` argument on to the interpolation")
                  for other in (0, 1, 3) if other != o]
        for make, hint in hints:
            try:
                wrong = make()
                # a slip is named whether or not the student also clipped
                clipped = np.clip(wrong, np.min(a), np.max(a)) if o > 1 else wrong
                if any(describe_difference(w, actual, rtol=1e-5, atol=1e-5) is None
                       for w in (wrong, clipped)):
                    return f"{why}. Hint: {hint}"
            except Exception:  # a hint that cannot be computed is no hint
                pass
        return why
    return check_function(student_fn, reference, _warp_cases(), name="warp", compare=compare)


def _where(field):
    h, w = field.shape[1:]
    rows, cols = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    return np.stack([rows + field[0], cols + field[1]])
