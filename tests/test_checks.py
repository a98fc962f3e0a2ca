"""The learner-facing checks can fail, and say why in plain words."""
import numpy as np
import pytest
import torch

from unet_course import checks, sizes
from unet_course.checks.core import describe_difference


def stub(*args, **kwargs):
    raise NotImplementedError("Exercise: write the body of stub")


@pytest.mark.parametrize("check, reference", [
    (checks.check_output_size, sizes.output_size),
    (checks.check_is_valid_input_size, sizes.is_valid_input_size),
    (checks.check_input_size_for, sizes.input_size_for),
])
def test_reference_passes_and_stub_is_not_implemented(check, reference, capsys):
    assert check(reference).status == "passed"
    assert "✓" in capsys.readouterr().out
    result = check(stub)
    assert not result and result.status == "not implemented"
    assert "not implemented yet" in capsys.readouterr().out


def test_forgotten_validation_is_named(capsys):
    result = checks.check_output_size(lambda n, depth=4: n - 184 if depth == 4 else 0)
    assert not result
    out = capsys.readouterr().out
    assert out.startswith("✗ output_size(") and "expected a ValueError" in out


def test_wrong_value_shows_expected_and_actual(capsys):
    def off_by_two(n, depth=4):
        return sizes.output_size(n, depth) + 2
    assert not checks.check_output_size(off_by_two)
    out = capsys.readouterr().out
    assert "expected 388" in out or "expected" in out and "got" in out


def test_crash_is_reported_in_one_line(capsys):
    assert not checks.check_conv_output_size(lambda n, kernel_size=3: n / 0)
    out = capsys.readouterr().out.strip()
    assert out.count("\n") == 0 and "ZeroDivisionError" in out


def test_wrong_exception_type_is_a_failure(capsys):
    def raises_type_error(n, depth=4):
        if not sizes.is_valid_input_size(n, depth):
            raise TypeError("bad")
        return sizes.output_size(n, depth)
    assert not checks.check_output_size(raises_type_error)
    assert "TypeError" in capsys.readouterr().out


def test_describe_difference_arrays_and_tensors():
    a = np.zeros((3, 4))
    assert describe_difference(a, torch.zeros(3, 4)) is None
    assert "shape" in describe_difference(a, np.zeros((4, 3)))
    b = a.copy(); b[1, 2] = 5
    assert "1 of 12 values differ" in describe_difference(a, b) and "(1, 2)" in describe_difference(a, b)
    assert describe_difference(3, 3.0000001) is None and describe_difference(3, 4)
    assert describe_difference(True, 1)


def test_shrinking_to_exactly_zero_is_caught(capsys):
    """A student who only rejects negative sizes must not pass (16 at depth 1 shrinks to 0)."""
    def late_check(n, depth=4):
        for _ in range(depth):
            n -= 4
            if n % 2:
                raise ValueError("odd")
            n //= 2
        n -= 4
        for _ in range(depth):
            n = 2 * n - 4
        if n < 0:
            raise ValueError("negative")
        return n
    assert not checks.check_output_size(late_check)


def test_even_kernels_are_checked(capsys):
    assert not checks.check_conv_output_size(
        lambda n, kernel_size=3: n - 2 * (kernel_size // 2) if n >= kernel_size else sizes.output_size(-1))
    assert not checks.check_conv_output_size(
        lambda n, kernel_size=3: (n - 2 * (kernel_size // 2)) if n >= kernel_size else (_ for _ in ()).throw(ValueError()))


def test_int_instead_of_bool_is_named(capsys):
    assert not checks.check_is_valid_input_size(lambda n, depth=4: int(sizes.is_valid_input_size(n, depth)))
    assert "expected a bool" in capsys.readouterr().out


def test_paper_case_is_reported_first(capsys):
    checks.check_output_size(lambda n, depth=4: 0)
    assert capsys.readouterr().out.startswith("✗ output_size(572, depth=4): expected 388, got 0")
