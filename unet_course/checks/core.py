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


def describe_difference(expected: Any, actual: Any, rtol: float = 1e-5, atol: float = 1e-6) -> str | None:
    """None if `actual` matches `expected`, else one sentence that says how they differ.

    Numbers, sequences, numpy arrays and torch tensors are compared with tolerances.
    """
    if hasattr(expected, "detach"):
        expected = expected.detach().cpu().numpy()
    if hasattr(actual, "detach"):
        actual = actual.detach().cpu().numpy()
    if isinstance(expected, np.ndarray) or isinstance(actual, np.ndarray):
        exp, act = np.asarray(expected), np.asarray(actual)
        if exp.shape != act.shape:
            return f"expected shape {exp.shape}, got shape {act.shape}"
        if exp.dtype.kind in "biu" and act.dtype.kind == "f":
            return f"expected integer values ({exp.dtype}), got floats ({act.dtype})"
        bad = ~np.isclose(act.astype(float), exp.astype(float), rtol=rtol, atol=atol, equal_nan=True)
        if bad.any():
            where = tuple(int(i) for i in np.argwhere(bad)[0])
            return (f"the shape is right, but {int(bad.sum())} of {bad.size} values differ; "
                    f"first at index {where}: expected {_number(exp[where])}, got {_number(act[where])}")
        return None
    if isinstance(expected, (list, tuple)) and not isinstance(expected, str):
        if not isinstance(actual, (list, tuple)) or len(actual) != len(expected):
            return f"expected {short(expected)}, got {short(actual)}"
        for i, (e, a) in enumerate(zip(expected, actual)):
            why = describe_difference(e, a, rtol, atol)
            if why:
                return f"at position {i}: {why}"
        return None
    if isinstance(expected, bool) or isinstance(actual, bool):
        if isinstance(expected, bool) and not isinstance(actual, (bool, np.bool_)):
            return f"expected a bool ({expected!r}), got {actual!r} ({type(actual).__name__})"
        return None if bool(expected) == bool(actual) and isinstance(actual, (bool, np.bool_)) \
            else f"expected {expected!r}, got {actual!r}"
    if isinstance(expected, (int, float)) and isinstance(actual, (int, float, np.number)):
        ok = math.isclose(float(actual), float(expected), rel_tol=rtol, abs_tol=atol)
        return None if ok else f"expected {expected!r}, got {actual!r}"
    return None if actual == expected else f"expected {short(expected)}, got {short(actual)}"


def _reason(error: Exception) -> str:
    """The first clause of the reference's error message: enough to say why, short enough to read."""
    text = str(error)
    for sep in (": ", ". "):
        head, _, tail = text.partition(sep)
        if tail and sep == ": " and len(head) > 30:
            text = tail  # drop a long preamble such as "input size 570 is not valid ...:"
            break
    return text.split(". ")[0][:120]


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
