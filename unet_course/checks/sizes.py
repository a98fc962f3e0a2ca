"""Checks for exercise 01: the size arithmetic of a valid-convolution U-Net."""
from __future__ import annotations

from .. import sizes
from .core import CheckResult, check_function

__all__ = ["check_conv_output_size", "check_output_size", "check_is_valid_input_size",
           "check_input_size_for"]

# The paper's case (depth 4, 572 and its neighbours) comes first, so the first failure a
# student sees is usually a familiar one; then other depths, tiny sizes and sizes whose maps
# shrink to exactly 0 (16 at depth 1, 40 at depth 2).
_DEPTHS = (4, 1, 2, 3, 5)
_SIZES = [572, 570, 388, 188, 189, 204, 556, 573, 588, 1004, 1, 2, 5, 12, 16, 18, 40, 44, 60,
          100, 140, 172, 187, 252, 256, 412, 428, 508, 512] + list(range(180, 240, 3))


def _cases(values):
    return [((v,), {"depth": d}) for d in _DEPTHS for v in values]


def _conv_ref(n: int, kernel_size: int = 3) -> int:
    if n < kernel_size:
        raise ValueError(f"a {kernel_size}x{kernel_size} valid convolution needs at least "
                         f"{kernel_size} pixels, got {n}")
    return n - kernel_size + 1


def check_conv_output_size(student_fn) -> CheckResult:
    """conv_output_size(n, kernel_size): n - k + 1, ValueError when n < k."""
    cases = [((n,), {"kernel_size": k}) for k in (3, 1, 2, 4, 5) for n in (572, 10, 4, 3, 2, 1)]
    return check_function(student_fn, _conv_ref, cases, name="conv_output_size")


def check_output_size(student_fn) -> CheckResult:
    """output_size(n, depth): the U-Net's output size, ValueError for invalid sizes."""
    return check_function(student_fn, sizes.output_size, _cases(_SIZES), name="output_size")


def check_is_valid_input_size(student_fn) -> CheckResult:
    """is_valid_input_size(n, depth): True or False, never an exception for n >= 1."""
    return check_function(student_fn, sizes.is_valid_input_size, _cases(_SIZES), name="is_valid_input_size")


def check_input_size_for(student_fn) -> CheckResult:
    """input_size_for(out, depth): the input size for a wanted output size."""
    outs = (388, 390, 389, 404, 1, 2, 4, 8, 20, 36, 68, 100, 400, 1000)
    return check_function(student_fn, sizes.input_size_for, _cases(outs), name="input_size_for")
