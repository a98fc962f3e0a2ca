"""Checks for exercise 00: mirror extrapolation at the image border (Fig. 2 of the paper).

The reference is numpy itself: ``numpy.pad(mode="reflect")`` mirrors about the edge pixel
without repeating it, as the course's `unet_course.data.mirror_pad` does.
"""
from __future__ import annotations

import numpy as np

from .core import CheckResult, check_function, describe_difference, short

__all__ = ["check_mirror_index", "check_mirror_pad"]


def _mirror_index_ref(i: int, n: int) -> int:
    """Where position i of an n-pixel axis comes from, read off numpy.pad."""
    pad = abs(int(i)) + int(n)
    return int(np.pad(np.arange(n), pad, mode="reflect")[int(i) + pad])


def check_mirror_index(student_fn) -> CheckResult:
    """mirror_index(i, n): the pixel 0..n-1 that position i mirrors to, for any integer i."""
    # first the positions just outside the edges (the table of the exercise), then everything
    cases = [(-1, 4), (4, 4), (-2, 4), (5, 4), (-4, 4), (8, 4)]
    cases += [(i, n) for n in (1, 2, 3, 4, 5, 7, 10) for i in range(-3 * n - 2, 4 * n + 3)]
    cases += [(-92, 512), (603, 512), (-1, 512), (512, 512), (-2000, 512), (5000, 388)]

    def compare(expected, actual):
        why = describe_difference(expected, actual)  # an int: 1.0 and True are not pixel indices
        if why and isinstance(actual, (int, np.integer)) and abs(int(actual) - expected) == 1:
            why += (" (off by one: is the edge pixel repeated? It must not be: position -1 shows "
                    "pixel 1, position n shows pixel n - 2)")
        return why

    return check_function(student_fn, _mirror_index_ref, cases, name="mirror_index", compare=compare)


def _mirror_pad_ref(image, pad):
    return np.pad(image, pad, mode="reflect")


def check_mirror_pad(student_fn) -> CheckResult:
    """mirror_pad(image, pad): the same as numpy.pad(image, pad, mode="reflect")."""
    rng = np.random.default_rng(0)
    shapes = [(3, 4), (4, 3), (5, 5), (2, 7), (1, 4), (8, 6)]
    cases = [(rng.integers(0, 100, shape), pad) for shape in shapes for pad in (0, 1, 2, 3, 6, 11)]
    cases.append((rng.uniform(size=(40, 30)).astype(np.float32), 92))  # pad larger than the image

    def compare(expected, actual):
        if not isinstance(actual, np.ndarray):
            return f"expected a numpy array, got {short(actual)} ({type(actual).__name__})"
        if actual.shape == expected.shape and actual.dtype != expected.dtype:
            return (f"expected an array of dtype {expected.dtype} (the input's), got {actual.dtype}: "
                    f"mirroring only copies pixels, it must not change their type")
        return describe_difference(expected, actual)

    return check_function(student_fn, _mirror_pad_ref, cases, name="mirror_pad", compare=compare)
