"""The machinery behind the learner-facing checks.

A check calls the student's function on many inputs, calls the reference (the course
package or the library that already does the job) on the same inputs, and prints ONE line:

    ✓ output_size: correct on all 57 inputs.
    ✗ output_size(570): expected a ValueError (570 is not a valid size), but got 386.
    ⏳ output_size: not implemented yet. Replace `raise NotImplementedError(...)` ...

It never raises on a wrong answer: a student sees a sentence, not a traceback wall.
It returns a `CheckResult` that is truthy when the check passed (tests use that).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence

import numpy as np

__all__ = ["CheckResult", "check_function", "describe_difference", "report", "short", "NOT_IMPLEMENTED"]

NOT_IMPLEMENTED = "not implemented yet"


@dataclass
class CheckResult:
    """Outcome of one check: `passed`, the one-line `message`, and the `status` symbol."""

    passed: bool
    message: str
    status: str  # "passed", "failed" or "not implemented"

    def __bool__(self) -> bool:
        return self.passed

    def _ipython_display_(self) -> None:
        """The message was printed already; show nothing more in a notebook."""


def report(passed: bool, status: str, message: str) -> CheckResult:
    symbol = {"passed": "✓", "failed": "✗", "not implemented": "⏳"}[status]
    print(f"{symbol} {message}")
    return CheckResult(passed, message, status)


def _fmt_call(name: str, args: Sequence, kwargs: dict, show: Callable[[Any], str]) -> str:
    parts = [show(a) for a in args] + [f"{k}={show(v)}" for k, v in kwargs.items()]
    return f"{name}({', '.join(parts)})"


def short(value: Any) -> str:
    """A short description of a value: arrays and tensors by shape and dtype."""
    if hasattr(value, "shape") and hasattr(value, "dtype") and getattr(value, "ndim", 0) > 0:
        kind = type(value).__module__.split(".")[0]
        return f"{'tensor' if kind == 'torch' else 'array'} of shape {tuple(value.shape)} ({value.dtype})"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _number(value: Any) -> str:
    """A numpy scalar as a plain number: 0.271 rather than np.float32(0.27100003)."""
    value = value.item() if hasattr(value, "item") else value
    return f"{value:.6g}" if isinstance(value, float) else repr(value)


RTOL, ATOL = 1e-5, 1e-6  # the default tolerance for floats (each check may state its own)


def _is_bool(value: Any) -> bool:
    return isinstance(value, (bool, np.bool_))


def _is_number(value: Any) -> bool:
    """int, float and their numpy kinds; NOT bool (True is not the number 1 in an answer)."""
    return isinstance(value, (int, float, np.integer, np.floating)) and not _is_bool(value)


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not _is_bool(value)


def _kind(value: Any) -> str:
    """How a value reads in a message: 'the bool True', 'the float 388.0', 'the str "a"'."""
    value = value.item() if isinstance(value, np.generic) else value
    return f"the {type(value).__name__} {value!r}"


def _compare_scalars(expected: Any, actual: Any, rtol: float, atol: float) -> str | None:
    """The ONE rule for single values: an expected bool needs a bool, an expected int needs an
    int (not 388.0, not True), an expected float needs a number within rtol/atol."""
    if _is_bool(expected):
        if not _is_bool(actual):
            return f"expected a bool ({bool(expected)}), got {_kind(actual)}"
        return None if bool(actual) == bool(expected) else f"expected {bool(expected)}, got {bool(actual)}"
    if _is_int(expected):
        if _is_bool(actual):
            return f"expected the integer {int(expected)}, got {_kind(actual)} (a bool is not a number)"
        if _is_number(actual) and not _is_int(actual):
            why = f"expected the integer {int(expected)}, got {_kind(actual)}"
            if float(actual).is_integer():
                why += " (a float: use // for whole-number division, or int(...))"
            return why
        if not _is_int(actual):
            return f"expected the integer {int(expected)}, got {short(actual)} ({type(actual).__name__})"
        return None if int(actual) == int(expected) else f"expected {int(expected)}, got {int(actual)}"
    if not _is_number(actual):
        return f"expected the number {_number(expected)}, got {_kind(actual)}"
    if math.isclose(float(actual), float(expected), rel_tol=rtol, abs_tol=atol):
        return None
    return f"expected {_number(expected)} (to within {rtol:g} relative), got {_number(actual)}"


def describe_difference(expected: Any, actual: Any, rtol: float = RTOL, atol: float = ATOL) -> str | None:
    """None if `actual` matches `expected`, else one sentence that says how they differ.

    One rule for every check: integers must be integers (388, not 388.0), booleans are not
    numbers (True is not 1), floats agree within `rtol` (relative) or `atol` (absolute).
    Numbers, sequences, numpy arrays and torch tensors are compared with the same rule.
    """
    if hasattr(expected, "detach"):
        expected = expected.detach().cpu().numpy()
    if hasattr(actual, "detach"):
        actual = actual.detach().cpu().numpy()
    if isinstance(expected, np.ndarray) or isinstance(actual, np.ndarray):
        exp, act = np.asarray(expected), np.asarray(actual)
        if exp.shape != act.shape:
            return f"expected shape {exp.shape}, got shape {act.shape}"
        if exp.dtype.kind in "biu" and act.dtype.kind in "fc":
            return f"expected integer values ({exp.dtype}), got floats ({act.dtype})"
        if exp.dtype.kind == "b" and act.dtype.kind != "b":
            return f"expected a boolean array, got {act.dtype}"
        if exp.dtype.kind in "iuf" and act.dtype.kind not in "iuf":
            return f"expected numbers ({exp.dtype}), got {act.dtype} values"
        bad = ~np.isclose(act.astype(float), exp.astype(float), rtol=rtol, atol=atol, equal_nan=True)
        if bad.any():
            where = tuple(int(i) for i in np.argwhere(bad)[0])
            return (f"the shape is right, but {int(bad.sum())} of {bad.size} values differ; "
                    f"first at index {where}: expected {_number(exp[where])}, got {_number(act[where])}")
        return None
    if isinstance(expected, (list, tuple)):
        if not isinstance(actual, (list, tuple)) or len(actual) != len(expected):
            return f"expected {short(expected)}, got {short(actual)}"
        for i, (e, a) in enumerate(zip(expected, actual)):
            why = describe_difference(e, a, rtol, atol)
            if why:
                return f"at position {i}: {why}"
        return None
    if _is_bool(expected) or _is_number(expected):
        return _compare_scalars(expected, actual, rtol, atol)
    return None if actual == expected else f"expected {short(expected)}, got {short(actual)}"


def _reason(error: Exception, limit: int = 200) -> str:
    """The reference's error message up to the end of its first sentence (a full stop followed by
    a space), shortened at a word boundary beyond `limit` characters; never cut inside a clause."""
    text = " ".join(str(error).split())
    head, dot, _ = text.partition(". ")
    text = head if dot else text.rstrip(".")
    if len(text) > limit:
        text = text[:limit].rsplit(" ", 1)[0] + " ..."
    return text


def check_function(student_fn: Callable, reference_fn: Callable, cases: Iterable, *,
                   name: str | None = None, show: Callable[[Any], str] = short,
                   compare: Callable[[Any, Any], str | None] = describe_difference) -> CheckResult:
    """Compare `student_fn` with `reference_fn` on every case and print one line.

    `cases` holds argument tuples, or (args, kwargs) pairs. When the reference raises
    (e.g. ValueError for a bad size), the student's function must raise the same type.
    """
    name = name or getattr(student_fn, "__name__", "your function")
    count = 0
    for case in cases:
        args, kwargs = case if (isinstance(case, tuple) and len(case) == 2 and isinstance(case[1], dict)) \
            else (case if isinstance(case, tuple) else (case,), {})
        call = _fmt_call(name, args, kwargs, show)
        try:
            expected, expected_error = reference_fn(*args, **kwargs), None
        except Exception as error:  # the reference rejects this input
            expected, expected_error = None, error
        try:
            actual = student_fn(*args, **kwargs)
        except NotImplementedError:
            return report(False, "not implemented", (
                f"{name}: {NOT_IMPLEMENTED}. Replace the line `raise NotImplementedError(...)` "
                f"with your code, run that cell, then run this check again."))
        except Exception as error:
            if expected_error is not None and isinstance(error, type(expected_error)):
                count += 1
                continue
            want = f"expected {short(expected)}" if expected_error is None else \
                f"expected a {type(expected_error).__name__}"
            return report(False, "failed", f"{call} raised {type(error).__name__}: {error} ({want})")
        if expected_error is not None:
            return report(False, "failed", (
                f"{call}: expected a {type(expected_error).__name__} ({_reason(expected_error)}), "
                f"but your function returned {short(actual)}"))
        why = compare(expected, actual)
        if why:
            return report(False, "failed", f"{call}: {why}")
        count += 1
    return report(True, "passed", f"{name}: correct on all {count} inputs.")
