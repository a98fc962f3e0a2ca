"""Size arithmetic of the valid-convolution U-Net (paper Sec. 2, Fig. 1)."""
import pytest
from hypothesis import given, settings, strategies as st

from unet_course import sizes

DEPTHS = st.integers(1, 5)


def test_paper_size_path():
    assert [l.size for l in sizes.size_path(572)] == [
        572, 570, 568, 284, 282, 280, 140, 138, 136, 68, 66, 64, 32, 30, 28,
        56, 54, 52, 104, 102, 100, 200, 198, 196, 392, 390, 388, 388]
    assert sizes.output_size(572) == 388 and sizes.input_size_for(388) == 572
    assert sizes.skip_crops(572) == [88, 40, 16, 4]
    assert sizes.total_shrink(4) == 184


def test_depth4_rule_16k_plus_60():
    valid = sizes.valid_input_sizes(1, 3000)
    assert valid[0] == 188
    assert valid == list(range(188, 3001, 16))
    assert all(sizes.output_size(n) == n - 184 for n in valid)


@pytest.mark.parametrize("n, below, above", [(570, 556, 572), (573, 572, 588), (189, 188, 204)])
def test_invalid_size_error_names_nearest_sizes(n, below, above):
    with pytest.raises(ValueError, match=rf"input size {n} .*Nearest valid input sizes: {below} and {above}"):
        sizes.output_size(n)


@pytest.mark.parametrize("n", [1, 12, 100, 172])
def test_too_small_sizes_name_the_smallest_valid_size(n):
    with pytest.raises(ValueError, match=r"188 \(the smallest valid size\)"):
        sizes.size_path(n)


def test_input_size_for_impossible_output():
    with pytest.raises(ValueError, match=r"output of 390 .* 388 and 404"):
        sizes.input_size_for(390)


@pytest.mark.parametrize("bad", [0, -5])
def test_nonpositive_sizes_rejected(bad):
    with pytest.raises(ValueError, match=str(bad)):
        sizes.output_size(bad)


@pytest.mark.parametrize("bad", [572.0, "572", None, True])
def test_non_integer_sizes_rejected(bad):
    with pytest.raises(TypeError, match="integer"):
        sizes.output_size(bad)


def test_numpy_integers_accepted():
    import numpy as np
    assert sizes.output_size(np.int64(572)) == 388


@settings(max_examples=200, deadline=None)
@given(n=st.integers(1, 4000), depth=DEPTHS)
def test_validity_matches_closed_form(n, depth):
    """Valid iff out = n - (12*2^d - 8) is 4 mod 2^d and large enough that no map vanishes.

    The lowest map m gives out = (m - 4) * 2^d + 4; the expanding path needs m >= 4
    (m >= 3 suffices for depth 1, where out = 2 is possible)."""
    out = n - sizes.total_shrink(depth)
    smallest = 2 if depth == 1 else 4
    expected = out >= smallest and (out - 4) % 2 ** depth == 0
    assert sizes.is_valid_input_size(n, depth) == expected


@settings(max_examples=200, deadline=None)
@given(n=st.integers(1, 4000), depth=DEPTHS)
def test_round_trip(n, depth):
    if sizes.is_valid_input_size(n, depth):
        assert sizes.input_size_for(sizes.output_size(n, depth), depth) == n
    else:
        with pytest.raises(ValueError):
            sizes.output_size(n, depth)


@settings(max_examples=100, deadline=None)
@given(n=st.integers(1, 3000), depth=DEPTHS)
def test_nearest_sizes_are_valid_and_nearest(n, depth):
    below, above = sizes.nearest_valid_input_sizes(n, depth)
    assert above > n and sizes.is_valid_input_size(above, depth)
    assert not any(sizes.is_valid_input_size(m, depth) for m in range(n + 1, above))
    if below is not None:
        assert below < n and sizes.is_valid_input_size(below, depth)
        assert not any(sizes.is_valid_input_size(m, depth) for m in range(below + 1, n))
    else:
        assert not any(sizes.is_valid_input_size(m, depth) for m in range(1, n))


@settings(max_examples=100, deadline=None)
@given(k=st.integers(0, 100), depth=DEPTHS)
def test_output_monotone_in_input(k, depth):
    valid = sizes.valid_input_sizes(1, 3000, depth)
    a, b = valid[k % (len(valid) - 1)], valid[k % (len(valid) - 1) + 1]
    assert sizes.output_size(b, depth) - sizes.output_size(a, depth) == b - a


def test_size_path_structure():
    path = sizes.size_path(572)
    ops = [l.op for l in path]
    assert ops.count("conv 3x3") == 18 and ops.count("max-pool 2x2") == 4
    assert ops.count("up-conv 2x2") == 4 and ops[-1] == "conv 1x1"


# ------------------------------------------------------------------ closed form = the old scans

def _reference_walk(n, depth):
    """The layer-by-layer walk, written again here: (output size, None) or (None, reason)."""
    for level in range(depth + 1):
        for _ in range(2):
            n -= 2
            if n < 1:
                return None, f"the feature map shrinks to nothing at level {level} of the contracting path"
        if level == depth:
            break
        if n % 2:
            return None, f"the 2x2 max-pool at level {level} would get an odd size ({n})"
        n //= 2
    for level in range(depth - 1, -1, -1):
        n *= 2
        for _ in range(2):
            n -= 2
            if n < 1:
                return None, f"the feature map shrinks to nothing at level {level} of the expanding path"
    return n, None


LIMIT = 2000


@pytest.mark.parametrize("depth", range(0, 7))
def test_closed_form_equals_the_old_size_by_size_scans(depth):
    """Every public function of sizes against the scanning implementation it replaced (walk
    each size, scan for the nearest valid ones), on every size up to 2000: same results, same
    error messages."""
    top = LIMIT + sizes.total_shrink(depth) + 2 ** (depth + 1)
    walked = {n: _reference_walk(n, depth) for n in range(1, top + 1)}
    valid = [n for n in range(1, top + 1) if walked[n][0] is not None]
    assert sizes.smallest_valid_input_size(depth) == valid[0]
    assert sizes.valid_input_sizes(1, LIMIT, depth) == [n for n in valid if n <= LIMIT]
    shrink = sizes.total_shrink(depth)
    for n in range(1, LIMIT + 1):
        out, why = walked[n]
        below = max((m for m in valid if m < n), default=None)
        above = min(m for m in valid if m > n)
        assert sizes.nearest_valid_input_sizes(n, depth) == (below, above), n
        assert sizes.valid_input_size_at_least(n, depth) == min(m for m in valid if m >= n)
        assert sizes.is_valid_input_size(n, depth) == (out is not None), n
        if out is not None:
            assert sizes.output_size(n, depth) == out == n - shrink
            assert sizes.size_path(n, depth)[-1].size == out
        else:
            nearest = f"{below} and {above}" if below else f"{above} (the smallest valid size)"
            message = (f"input size {n} is not valid for a depth-{depth} U-Net with valid "
                       f"convolutions: {why}. Nearest valid input sizes: {nearest}.")
            for fn in (sizes.output_size, sizes.size_path):
                with pytest.raises(ValueError) as error:
                    fn(n, depth)
                assert str(error.value) == message
        if n + shrink in valid:
            assert sizes.input_size_for(n, depth) == n + shrink
        else:
            m = n + shrink
            outs = [walked[k][0] for k in (max((v for v in valid if v < m), default=None),
                                           min(v for v in valid if v > m)) if k]
            with pytest.raises(ValueError) as error:
                sizes.input_size_for(n, depth)
            assert str(error.value) == (f"no input size gives an output of {n} at depth {depth}; "
                                        f"nearest possible output sizes: "
                                        f"{' and '.join(map(str, outs))}.")

