"""Size arithmetic of a U-Net with valid (unpadded) convolutions.

Paper, Sec. 2 and Fig. 1: every 3x3 convolution is *unpadded*, so it removes one pixel on
each side (n -> n - 2); every 2x2 max-pool with stride 2 halves the size and needs an even
input; every 2x2 up-conv doubles it. For the paper's depth-4 network a 572x572 tile shrinks
to a 388x388 output, 92 pixels lost on each side. Only some input sizes survive all the
halvings: for depth 4, n = 16k + 60 with n >= 188 (n = 12 mod 16), and then
output = n - 184. "To allow a seamless tiling of the output segmentation map, it is
important to select the input tile size such that all 2x2 max-pooling operations are
applied to a layer with an even x- and y-size."

Every function takes ``depth`` (the number of max-pools; 4 in the paper) so other depths
work the same way. The rule for any depth d (lesson 01 derives it for d = 4): call k the size
of the map that enters the lowest level; each level above adds its two convs and doubles, so
n = 2^d k + 4 (2^d - 1): the valid sizes are an arithmetic progression with step 2^d. The
expanding path's step x -> 2x - 4 (up-conv, two convs) has the fixed point 4 and shrinks
anything below it, so k - 4 >= 4 for d >= 2 (3 for d = 1, 1 for d = 0). ``size_path`` walks the
layers one by one (``_walk``, the definition); the other functions use this closed form
(tests/test_sizes.py checks that both agree on every size up to 2000 at depths 0-6).
"""
from __future__ import annotations

from typing import NamedTuple

__all__ = [
    "Layer", "size_path", "output_size", "input_size_for", "is_valid_input_size",
    "valid_input_sizes", "nearest_valid_input_sizes", "total_shrink", "skip_crops",
    "smallest_valid_input_size", "valid_input_size_at_least",
]


class Layer(NamedTuple):
    """One step of the size path: which path, which level, which operation, size after it."""

    path: str   # "contracting" or "expanding" (the lowest level belongs to the contracting path)
    level: int  # 0 = full resolution ... depth = lowest level
    op: str     # "input", "conv 3x3", "max-pool 2x2", "up-conv 2x2", "conv 1x1"
    size: int   # spatial size (height = width) after the operation


def _check_int(name: str, value, minimum: int) -> int:
    if isinstance(value, bool) or not hasattr(value, "__index__"):
        raise TypeError(f"{name} must be an integer, got {value!r} ({type(value).__name__})")
    value = int(value)
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


def _walk(n: int, depth: int):
    """Yield the size path, or raise _Invalid(reason) at the first impossible step."""
    yield Layer("contracting", 0, "input", n)
    for level in range(depth + 1):  # contracting path, then its lowest level
        for _ in range(2):
            n -= 2  # unpadded 3x3 conv: one pixel lost on each side
            if n < 1:
                raise _Invalid(f"the feature map shrinks to nothing at level {level} of the contracting path")
            yield Layer("contracting", level, "conv 3x3", n)
        if level == depth:
            break
        if n % 2:
            raise _Invalid(f"the 2x2 max-pool at level {level} would get an odd size ({n})")
        n //= 2
        yield Layer("contracting", level + 1, "max-pool 2x2", n)
    for level in range(depth - 1, -1, -1):  # expanding path
        n *= 2
        yield Layer("expanding", level, "up-conv 2x2", n)
        for _ in range(2):
            n -= 2
            if n < 1:
                raise _Invalid(f"the feature map shrinks to nothing at level {level} of the expanding path")
            yield Layer("expanding", level, "conv 3x3", n)
    yield Layer("expanding", 0, "conv 1x1", n)


class _Invalid(Exception):
    pass


def total_shrink(depth: int = 4) -> int:
    """Pixels lost in total (both sides) for a given depth: 12 * 2**depth - 8 (184 for depth 4).

    Each conv at level l removes 2 * 2**l input pixels; levels 0..depth-1 have 4 convs
    (2 down, 2 up), the lowest level has 2.
    """
    depth = _check_int("depth", depth, 0)
    return 4 * (2 ** depth - 1) * 2 + 4 * 2 ** depth


def smallest_valid_input_size(depth: int = 4) -> int:
    """The smallest input that passes through the network: 188 for depth 4 (k = 8 in
    n = 2^d k + 4 (2^d - 1)); 44 for depth 2, 18 for depth 1, 5 for depth 0."""
    depth = _check_int("depth", depth, 0)
    lowest = 1 if depth == 0 else 3 if depth == 1 else 4  # the lowest level's output, at least
    return 2 ** depth * (lowest + 4) + 4 * (2 ** depth - 1)


def _is_valid(n: int, depth: int) -> bool:
    """The closed form for checked integers: on the progression and not below its start."""
    return n >= smallest_valid_input_size(depth) and (n + 4) % 2 ** depth == 0


def valid_input_size_at_least(n: int, depth: int = 4) -> int:
    """The smallest valid input size >= n: n itself when it is valid (572 -> 572, 570 -> 572,
    1 -> 188 for depth 4)."""
    n = _check_int("input size", n, 1)
    depth = _check_int("depth", depth, 0)
    n = max(n, smallest_valid_input_size(depth))
    return n + (-(n + 4)) % 2 ** depth


def is_valid_input_size(n: int, depth: int = 4) -> bool:
    """True if an n x n tile passes through the network: every max-pool sees an even size
    and no feature map shrinks to nothing."""
    n = _check_int("input size", n, 1)
    depth = _check_int("depth", depth, 0)
    return _is_valid(n, depth)


def nearest_valid_input_sizes(n: int, depth: int = 4) -> tuple[int | None, int]:
    """The largest valid size below n (None if there is none) and the smallest valid size above n."""
    n = _check_int("input size", n, 1)
    depth = _check_int("depth", depth, 0)
    above = valid_input_size_at_least(n + 1, depth)
    below = above - 2 ** depth if above - 2 ** depth < n else above - 2 ** (depth + 1)
    return (below if below >= smallest_valid_input_size(depth) else None), above


def size_path(n: int, depth: int = 4) -> list[Layer]:
    """Every layer's output size for an n x n input (Fig. 1): input, convs, pools, up-convs, 1x1.

    >>> [layer.size for layer in size_path(572)][:4]
    [572, 570, 568, 284]

    Raises ValueError naming the size and the nearest valid sizes when n is not valid.
    """
    n = _check_int("input size", n, 1)
    depth = _check_int("depth", depth, 0)
    try:
        return list(_walk(n, depth))
    except _Invalid as why:
        below, above = nearest_valid_input_sizes(n, depth)
        nearest = f"{below} and {above}" if below else f"{above} (the smallest valid size)"
        raise ValueError(
            f"input size {n} is not valid for a depth-{depth} U-Net with valid convolutions: "
            f"{why}. Nearest valid input sizes: {nearest}.") from None


def output_size(n: int, depth: int = 4) -> int:
    """Output size for an n x n input tile: 572 -> 388 for depth 4 (n - 184)."""
    n = _check_int("input size", n, 1)
    depth = _check_int("depth", depth, 0)
    if not _is_valid(n, depth):
        size_path(n, depth)  # raises the error that says which layer fails
    return n - total_shrink(depth)


def input_size_for(out: int, depth: int = 4) -> int:
    """The input tile size that gives an out x out output: 388 -> 572 for depth 4.

    Raises ValueError naming the nearest achievable output sizes when there is none.
    """
    out = _check_int("output size", out, 1)
    depth = _check_int("depth", depth, 0)
    n = out + total_shrink(depth)
    if _is_valid(n, depth):
        return n
    below, above = nearest_valid_input_sizes(n, depth)
    outs = [m - total_shrink(depth) for m in (below, above) if m]
    raise ValueError(
        f"no input size gives an output of {out} at depth {depth}; "
        f"nearest possible output sizes: {' and '.join(map(str, outs))}.")


def valid_input_sizes(lo: int, hi: int, depth: int = 4) -> list[int]:
    """All valid input sizes n with lo <= n <= hi (for depth 4: 188, 204, 220, ..., 572, ...)."""
    lo = _check_int("lo", lo, 1)
    hi = _check_int("hi", hi, 1)
    return list(range(valid_input_size_at_least(lo, depth), hi + 1, 2 ** depth))


def skip_crops(n: int, depth: int = 4) -> list[int]:
    """Pixels cropped on each side of each skip connection, from the top level down.

    Sec. 2: "concatenation with the correspondingly cropped feature map from the contracting
    path". For a 572 tile: [88, 40, 16, 4] (568 -> 392, 280 -> 200, 136 -> 104, 64 -> 56).
    """
    path = size_path(n, depth)
    down = {l.level: l.size for l in path if l.path == "contracting" and l.op == "conv 3x3"}
    up = {l.level: l.size for l in path if l.op == "up-conv 2x2"}
    return [(down[level] - up[level]) // 2 for level in range(depth)]
