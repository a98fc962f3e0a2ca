"""Checks for exercise 01: the size arithmetic of a valid-convolution U-Net."""
from __future__ import annotations

from .. import sizes
from .core import CheckResult, check_function

__all__ = ["check_conv_output_size", "check_output_size", "check_is_valid_input_size",
           "check_input_size_for"]

_DEPTHS = (1, 2, 3, 4, 5)
# Valid and invalid sizes, tiny ones and the paper's 572, at several depths.
_SIZES = sorted({1, 2, 5, 12, 60, 100, 140, 187, 188, 189, 204, 252, 256, 388, 412, 428,
                 508, 512, 556, 570, 572, 573, 588, 1004} | set(range(180, 240, 3)))


def _conv_ref(n: int, kernel_size: int = 3) -> int:
    if n < kernel_size:
        raise ValueError(f"a {kernel_size}x{kernel_size} valid convolution needs at least "
                         f"{kernel_size} pixels, got {n}")
    return n - kernel_size + 1


def check_conv_output_size(student_fn) -> CheckResult:
    """conv_output_size(n, kernel_size): n - k + 1, ValueError when n < k."""
    cases = [(n, k) for k in (1, 3, 5) for n in (1, 2, 3, 4, 10, 572)]
    return check_function(student_fn, _conv_ref, cases, name="conv_output_size")


def check_output_size(student_fn) -> CheckResult:
    """output_size(n, depth): the U-Net's output size, ValueError for invalid sizes."""
    cases = [(n, d) for d in _DEPTHS for n in _SIZES]
    return check_function(student_fn, sizes.output_size, cases, name="output_size")


def check_is_valid_input_size(student_fn) -> CheckResult:
    """is_valid_input_size(n, depth): True or False, never an exception for n >= 1."""
    cases = [(n, d) for d in _DEPTHS for n in _SIZES]
    return check_function(student_fn, sizes.is_valid_input_size, cases, name="is_valid_input_size")


def check_input_size_for(student_fn) -> CheckResult:
    """input_size_for(out, depth): the input size for a wanted output size."""
    outs = (1, 4, 8, 20, 36, 68, 100, 388, 389, 390, 400, 1000)
    cases = [(o, d) for d in _DEPTHS for o in outs]
    return check_function(student_fn, sizes.input_size_for, cases, name="input_size_for")
