"""Exercise 08's checks accept the reference and name the plausible wrong tile grids."""
import math

import pytest

from unet_course.checks import check_axis_starts, check_tile_grid
from unet_course.tiling import tile_grid


def right(n, tile_out, step):
    return [top for top, _ in tile_grid((n, 1), tile_out, step)]


def grid_from(axis):
    return lambda shape, tile_out, step: [(t, l) for t in axis(shape[0], tile_out, step)
                                          for l in axis(shape[1], tile_out, step)]


def range_to_n(n, tile_out, step):  # one tile too many when the previous tile reaches the end
    return list(range(0, n, step))


def range_to_end(n, tile_out, step):  # forgets the last tile
    return list(range(0, max(n - tile_out, 1), step))


def clamped(n, tile_out, step):  # the sliding-window habit: last tile ends at the image's edge
    starts = right(n, tile_out, step)
    return starts[:-1] + [max(n - tile_out, 0)] if len(starts) > 1 else starts


def floor_count(n, tile_out, step):  # floor instead of ceil
    count = 1 if n <= tile_out else (n - tile_out) // step + 1
    return [k * step for k in range(count)]


def stub(*args):
    raise NotImplementedError("Exercise: write the body of stub")


def test_the_reference_passes(capsys):
    assert check_axis_starts(right) and check_tile_grid(tile_grid)
    assert capsys.readouterr().out.count("✓") == 2


@pytest.mark.parametrize("wrong, words", [
    (range_to_n, "range(0, n, step) gives one too many"),
    (range_to_end, "the last tile is missing"),
    (clamped, "not a multiple of the step"),
    (floor_count, "the last tile is missing"),
])
def test_wrong_axis_starts_are_named(wrong, words, capsys):
    assert not check_axis_starts(wrong)
    out = capsys.readouterr().out
    assert out.startswith("✗ axis_starts(") and words in out
    assert not check_tile_grid(grid_from(wrong))
    out = capsys.readouterr().out
    assert out.startswith("✗ tile_grid(") and words in out


def test_grid_order_and_swapped_pairs_are_named(capsys):
    assert not check_tile_grid(lambda s, t, st: sorted(tile_grid(s, t, st), key=lambda p: (p[1], p[0])))
    assert "another order" in capsys.readouterr().out
    assert not check_tile_grid(lambda s, t, st: [(l, r) for r, l in tile_grid(s, t, st)])
    assert "swapped" in capsys.readouterr().out
    assert not check_tile_grid(lambda s, t, st: None)
    assert "list of (top, left) pairs" in capsys.readouterr().out


def test_unfinished_exercise_is_not_implemented(capsys):
    for check in (check_axis_starts, check_tile_grid):
        result = check(stub)
        assert result.status == "not implemented"
    assert capsys.readouterr().out.count("⏳") == 2


def test_checks_are_not_fooled_by_float_starts(capsys):
    def floats(n, tile_out, step):
        count = 1 if n <= tile_out else math.ceil((n - tile_out) / step) + 1
        return [k * step / 2 * 2 + 0.5 for k in range(count)]
    assert not check_axis_starts(floats)
    assert "whole pixel numbers" in capsys.readouterr().out
