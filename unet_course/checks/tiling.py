"""Checks for exercise 08: the overlap-tile grid (Sec. 2, Fig. 2).

The reference is the course's ``unet_course.tiling.tile_grid``: output tiles start at 0, step,
2 step, ... on each axis, as few as cover the image (the last may reach past its end, so that
it stays on the step's grid, and with it on the network's pooling grid).
"""
from __future__ import annotations

import numpy as np

from ..tiling import tile_grid as _tile_grid
from .core import CheckResult, check_function

__all__ = ["check_axis_starts", "check_tile_grid"]


def _axis_ref(n: int, tile_out: int, step: int) -> list[int]:
    return [top for top, _ in _tile_grid((n, 1), tile_out, step)]


def _cases(rng: np.random.Generator, count: int) -> list[tuple[int, int, int]]:
    """(n, tile_out, step): the lesson's tiles, edge sizes around one and two tiles, random ones."""
    cases = [(512, 388, 384), (256, 68, 64), (200, 68, 64), (1, 68, 64), (68, 68, 64),
             (69, 68, 64), (132, 68, 64), (133, 68, 64), (388, 388, 384), (389, 388, 384),
             (772, 388, 384), (773, 388, 384), (1000, 388, 384), (300, 100, 96), (30, 20, 16),
             (100, 68, 32), (500, 68, 16), (5000, 388, 384)]
    for _ in range(count):
        tile = int(rng.choice([20, 36, 52, 68, 100, 132, 388]))
        step = int(rng.integers(1, tile // 16 + 1)) * 16
        cases.append((int(rng.integers(1, 6 * tile)), tile, step))
    return cases


def _whole(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _as_list(actual) -> list | None:
    """The starts as a list of ints, or None when they are not whole pixel numbers."""
    try:
        values = list(actual)
    except TypeError:
        return None
    return [int(v) for v in values] if all(_whole(v) for v in values) else None


def _axis_problem(expected: list[int], actual: list[int], n: int, tile_out: int, step: int) -> str | None:
    """Name the usual mistakes on one axis of n pixels."""
    if actual == expected:
        return None
    off = [s for s in actual if s % step]
    if off:
        return (f"start {off[0]} is not a multiple of the step {step}: that tile is off the step's "
                f"grid, hence off the pooling grid (pulling the last tile back to n - tile_out is "
                f"the usual cause; let it reach past the image instead). Expected {expected}")
    if actual and actual[-1] + tile_out < n:
        return (f"the tiles stop at pixel {actual[-1] + tile_out} of {n}: the last tile is "
                f"missing (keep adding tiles until start + tile_out >= n). Expected {expected}")
    if len(actual) > len(expected):
        return (f"{len(actual)} tiles where {len(expected)} cover the axis: a tile starting at "
                f"{actual[len(expected)]} only repeats pixels the tile before it covers already "
                f"(stop once start + tile_out >= n; range(0, n, step) gives one too many). "
                f"Expected {expected}")
    return f"expected {expected}, got {actual}"


def check_axis_starts(student_fn) -> CheckResult:
    """axis_starts(n, tile_out, step): output tile starts along one axis of n pixels."""
    rng = np.random.default_rng(8)
    cases = _cases(rng, 150)

    def compare(expected, actual):
        got = _as_list(actual)
        if got is None:
            return (f"expected a list of whole pixel numbers (ints) such as {expected[:3]}, got "
                    f"{str(actual)[:80]} (use // or int(math.ceil(...)) rather than /)")
        return _axis_problem(expected, got, *compare.case)

    def reference(n, tile_out, step):
        compare.case = (n, tile_out, step)
        return _axis_ref(n, tile_out, step)

    return check_function(student_fn, reference, cases, name="axis_starts", compare=compare)


def check_tile_grid(student_fn) -> CheckResult:
    """tile_grid(image_shape, tile_out, step): (top, left) of every output tile, row by row."""
    rng = np.random.default_rng(9)
    axis = _cases(rng, 60)
    cases = [((n, axis[(i * 7 + 3) % len(axis)][0]), tile, step)
             for i, (n, tile, step) in enumerate(axis)]
    cases += [((1, 1), 68, 64), ((37, 500), 68, 64), ((512, 300), 388, 384)]

    def compare(expected, actual):
        try:
            pairs = [tuple(pair) for pair in actual]
        except TypeError:
            pairs = None
        if pairs is None or any(len(p) != 2 or not all(_whole(v) for v in p) for p in pairs):
            return (f"expected a list of (top, left) pairs of ints such as {expected[:2]}, got "
                    f"{str(actual)[:80]}")
        got = [(int(a), int(b)) for a, b in pairs]
        if got == expected:
            return None
        (h, w), tile, step = compare.case
        if sorted(got) == sorted(expected):
            return f"the right tiles in another order: list them row by row, {expected[:3]} ..."
        if sorted((b, a) for a, b in got) == sorted(expected):
            return "(top, left) swapped: the first number of each pair is the row (top)"
        for k, (n, name) in enumerate(((h, "rows"), (w, "columns"))):
            starts = sorted({pair[k] for pair in got})
            why = _axis_problem(sorted({pair[k] for pair in expected}), starts, n, tile, step)
            if why:
                return f"along the {name} ({n} px): {why}"
        return f"expected {len(expected)} tiles {expected[:4]} ..., got {len(got)}: {got[:4]} ..."

    def reference(image_shape, tile_out, step):
        compare.case = (image_shape, tile_out, step)
        return _tile_grid(image_shape, tile_out, step)

    return check_function(student_fn, reference, cases, name="tile_grid", compare=compare)
