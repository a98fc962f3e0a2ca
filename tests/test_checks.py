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
    assert out.startswith("✗ output_size(572, depth=4): expected 388, got 390"), out


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
    assert describe_difference(3.0, 3.0000001) is None and describe_difference(3, 4)
    assert describe_difference(True, 1)


@pytest.mark.parametrize("expected, actual, message", [
    (388, 388.0, "expected the integer 388, got the float 388.0 (a float: use //"),
    (9, True, "expected the integer 9, got the bool True (a bool is not a number)"),
    (0.0589, True, "expected the number 0.0589, got the bool True"),
    (388, np.float64(388.0), "got the float 388.0"),
    (3, 3.0000001, "expected the integer 3, got the float 3.0000001"),
    (True, 1, "expected a bool (True), got the int 1"),
    (False, np.int64(0), "expected a bool (False), got the int 0"),
    (0.05, 0.06, "expected 0.05 (to within 1e-05 relative), got 0.06"),
    (572, "572", "expected the integer 572, got '572' (str)"),
    (2.5, None, "expected the number 2.5, got the NoneType None"),
])
def test_one_comparison_rule(expected, actual, message):
    """Integers must be integers, booleans are not numbers, floats agree within a stated tolerance."""
    assert describe_difference(expected, actual) == message or message in describe_difference(expected, actual)


@pytest.mark.parametrize("expected, actual", [(388, 388), (388, np.int64(388)), (True, np.bool_(True)),
                                              (0.5, 0.5 + 1e-9), (1.0, 1), (2.0, np.float32(2.0))])
def test_one_comparison_rule_accepts(expected, actual):
    assert describe_difference(expected, actual) is None


def test_reason_keeps_the_whole_first_sentence(capsys):
    """Before: 'expected a ValueError (388 and 404.)' (cut at the first ': ')."""
    assert not checks.check_input_size_for(lambda out, depth=4: out + 184)
    out = capsys.readouterr().out
    assert "expected a ValueError (no input size gives an output of 390 at depth 4; nearest possible " \
           "output sizes: 388 and 404), but your function returned 574" in out, out


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


def test_readme_example_lines_are_what_the_checks_print(capsys):
    """The README's example lines are the checks' own output (it said '210 inputs' and
    'output_size(570, 4)')."""
    from pathlib import Path
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    checks.check_output_size(sizes.output_size)
    checks.check_output_size(lambda n, depth=4: n - 184 if depth == 4 else sizes.output_size(n, depth))
    checks.check_output_size(stub)
    passed, failed, todo = capsys.readouterr().out.splitlines()
    assert passed in readme and failed in readme
    assert todo[:70] in readme


def test_star_import_gives_the_check_functions_only():
    """`from unet_course.checks import *` replaced a student's `sizes`, `model`, `weights`,
    `augment` and `data` with the checks' submodules (issue 12)."""
    import sys
    namespace = {"sizes": 1, "model": 2, "weights": 3, "augment": 4, "data": 5}
    exec("from unet_course.checks import *", namespace)
    assert [namespace[k] for k in ("sizes", "model", "weights", "augment", "data")] == [1, 2, 3, 4, 5]
    exported = {k for k in namespace if k != "__builtins__"} - {"sizes", "model", "weights", "augment", "data"}
    assert exported == set(checks.__all__) and all(k.startswith("check_") for k in exported)
    every = {n for key, m in sys.modules.items()
             if key.startswith("unet_course.checks.") and key != "unet_course.checks.core"
             for n in getattr(m, "__all__", ()) if n.startswith("check_")}
    assert every <= exported and {"check_output_size", "check_up_step", "check_warp"} <= exported
