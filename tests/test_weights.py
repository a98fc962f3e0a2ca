"""The weight map of eq. 2: the fast border term equals the naive definition, and the edge cases."""
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import ndimage as ndi

from unet_course import checks
from unet_course.weights import (border_cutoff, border_weights, cell_distances, class_balance_weights,
                                 naive_border_weights, semantic_target, separation_border,
                                 split_touching, weight_map)

TOL = 1e-5


def voronoi_cells(size=512, n_cells=125, seed=0, gap=True):
    """Voronoi cells of random seeds, ~2 px gaps between neighbours (as in benchmarks/)."""
    rng = np.random.default_rng(seed)
    seeds = np.zeros((size, size), np.int32)
    seeds.flat[rng.choice(size * size, n_cells, replace=False)] = np.arange(1, n_cells + 1)
    _, (rows, cols) = ndi.distance_transform_edt(seeds == 0, return_indices=True)
    cells = seeds[rows, cols]
    if gap:
        cells[ndi.maximum_filter(cells, size=3) != ndi.minimum_filter(cells, size=3)] = 0
    return cells


def disks(shape, n, seed, radii=(1, 8)):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:shape[0], :shape[1]]
    labels = np.zeros(shape, np.int64)
    for k in range(1, n + 1):
        cy, cx, r = rng.uniform(0, shape[0]), rng.uniform(0, shape[1]), rng.uniform(*radii)
        labels[(yy - cy) ** 2 + (xx - cx) ** 2 <= r * r] = k
    return labels


def assert_close_to_naive(labels, w0=10.0, sigma=5.0, **kwargs):
    fast = border_weights(labels, w0, sigma, **kwargs)
    naive = naive_border_weights(labels, w0, sigma)
    assert fast.dtype == np.float32 and fast.shape == np.shape(labels)
    assert np.all(np.isfinite(fast))
    diff = np.abs(fast.astype(np.float64) - naive)
    assert diff.max() <= TOL, f"max abs difference {diff.max()} at {np.unravel_index(diff.argmax(), diff.shape)}"
    return fast, naive


# --------------------------------------------------------------------------- hand-computed values

def test_two_cells_two_pixels_apart_by_hand():
    labels = np.zeros((5, 7), np.int64)
    labels[:, :3], labels[:, 4:] = 1, 2  # one background column between them
    for fn in (border_weights, naive_border_weights):
        w = fn(labels, w0=10, sigma=5)
        # d1 = d2 = 1 on the background column: w0 * exp(-(1 + 1)^2 / (2 * 5^2))
        np.testing.assert_allclose(w[:, 3], 10 * math.exp(-4 / 50), rtol=1e-6)
        assert np.all(w[labels > 0] == 0)


def test_second_nearest_cell_by_hand():
    labels = np.zeros((1, 10), np.int64)
    labels[0, 0], labels[0, 9] = 1, 2
    w = border_weights(labels, w0=2, sigma=3)
    # every background pixel between the two cells has d1 + d2 = 9
    np.testing.assert_allclose(w[0, 1:9], 2 * math.exp(-81 / 18), rtol=1e-6)


def test_cutoff_formula():
    c = border_cutoff(10, 5, 1e-6)
    assert math.isclose(10 * math.exp(-c * c / 50), 1e-6, rel_tol=1e-9)
    assert border_cutoff(10, 5, 0) == math.inf and border_cutoff(1e-7, 5, 1e-6) == 0


# --------------------------------------------------------------------------- fast == naive

@st.composite
def instance_masks(draw):
    """Small masks of many kinds: noise, disks (touching or not), Voronoi with or without gaps."""
    h, w = draw(st.integers(1, 40)), draw(st.integers(1, 40))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    kind = draw(st.sampled_from(["noise", "disks", "voronoi", "sparse"]))
    if kind == "noise":
        labels = rng.integers(0, draw(st.integers(1, 6)), size=(h, w))
        labels[rng.uniform(size=(h, w)) < draw(st.floats(0, 1))] = 0
    elif kind == "disks":
        labels = disks((h, w), draw(st.integers(0, 12)), seed)
    elif kind == "sparse":
        labels = np.zeros((h, w), np.int64)
        n = draw(st.integers(0, 4))
        labels.flat[rng.choice(h * w, min(n, h * w), replace=False)] = rng.integers(1, 5, min(n, h * w))
    else:
        size = max(h, w)
        labels = voronoi_cells(size, min(draw(st.integers(1, 10)), size * size), seed, gap=draw(st.booleans()))
    ids = draw(st.sampled_from(["small", "large", "sparse"]))
    if ids == "large":
        labels = np.where(labels > 0, labels.astype(np.int64) * 2**40 + 12345, 0)
    elif ids == "sparse":
        labels = np.where(labels > 0, labels.astype(np.int64) * 97 + 3, 0)
    return labels


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(labels=instance_masks(), w0=st.floats(0, 30), sigma=st.floats(0.3, 12),
       search_radius=st.sampled_from([None, 0.0, 1.0, 3.0, 8.0]))
def test_fast_equals_naive_on_random_masks(labels, w0, sigma, search_radius):
    assert_close_to_naive(labels, w0, sigma, search_radius=search_radius)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(labels=instance_masks(), w0=st.floats(0.5, 30), sigma=st.floats(0.3, 4),
       atol=st.sampled_from([1e-2, 1e-3, 1e-5, 1e-9]), search_radius=st.sampled_from([None, 0.0, 2.0, 8.0]))
def test_error_is_below_atol(labels, w0, sigma, atol, search_radius):
    """The proof's bound, tightly: |fast - naive| < atol (equal floats where the weight >= atol)."""
    fast = border_weights(labels, w0, sigma, atol=atol, search_radius=search_radius)
    naive = naive_border_weights(labels, w0, sigma)
    assert np.abs(fast.astype(np.float64) - naive).max(initial=0) < atol
    big = naive >= atol
    np.testing.assert_array_equal(fast[big], naive[big])


@pytest.mark.parametrize("seed", range(4))
def test_error_is_below_atol_when_the_search_stops_early(seed):
    """Thin gaps (phase 1 runs) and cutoffs around the searched radius: the 'negligible' rule."""
    labels = voronoi_cells(48, 14, seed, gap=True)
    labels[ndi.binary_dilation(labels == 0) & (labels % 3 == 0)] = 0  # some wider gaps too
    for sigma in np.linspace(0.3, 3, 12):
        naive = naive_border_weights(labels, 10, sigma)
        for radius in (1.0, 1.5, 2.0, 3.0):
            for atol in (1e-2, 1e-4):
                fast = border_weights(labels, 10, sigma, atol=atol, search_radius=radius)
                assert np.abs(fast.astype(np.float64) - naive).max() < atol, (sigma, radius, atol)


@settings(max_examples=60, deadline=None)
@given(labels=instance_masks(), sigma=st.floats(0.5, 8))
def test_no_cutoff_is_identical_to_naive(labels, sigma):
    fast = border_weights(labels, 10, sigma, atol=0)
    np.testing.assert_array_equal(fast, naive_border_weights(labels, 10, sigma))


def test_fast_equals_naive_on_125_cells_512():
    labels = voronoi_cells(512, 125, seed=0)
    fast, naive = assert_close_to_naive(labels)
    assert fast.max() > 8  # the thin gaps get large weights


@pytest.mark.parametrize("seed", [1, 2])
def test_fast_equals_naive_with_wide_background(seed):
    labels = disks((256, 256), 40, seed, radii=(4, 14))  # > 1/3 background: the windowed phase
    assert (labels == 0).mean() > 0.34
    assert_close_to_naive(labels)
    assert_close_to_naive(labels, w0=10, sigma=2)


def test_cell_distances_are_exact_without_cutoff():
    labels = disks((40, 50), 8, 3)
    ids = np.unique(labels)[1:]
    stack = np.sort(np.stack([ndi.distance_transform_edt(labels != k) for k in ids]), axis=0)
    d1, d2 = cell_distances(labels)
    np.testing.assert_array_equal(d1, stack[0])
    np.testing.assert_array_equal(d2, stack[1])


# --------------------------------------------------------------------------- edge cases

@pytest.mark.parametrize("fn", [border_weights, naive_border_weights])
def test_fewer_than_two_cells_gives_zero(fn):
    assert not fn(np.zeros((10, 12), np.int64)).any()
    one = np.zeros((10, 12), np.int64)
    one[2:5, 3:9] = 7
    assert not fn(one).any()
    assert not fn(np.ones((6, 6), bool)).any()
    assert not fn(np.full((4, 4), 3, np.uint16)).any()  # all cell, one id
    assert fn(np.zeros((0, 5), np.int64)).shape == (0, 5)


def test_two_cells_far_apart_and_on_the_border():
    labels = np.zeros((20, 300), np.int64)
    labels[:, 0], labels[5:9, 299] = 1, 2  # on the image border, 298 px apart
    fast, naive = assert_close_to_naive(labels)
    assert fast.max() < 1e-6 and np.all(np.isfinite(fast))
    labels = np.zeros((30, 30), np.int64)
    labels[0, :], labels[:, -1], labels[-1, :10] = 4, 9, 2  # cells along the image border
    labels[0, -1] = 9
    assert_close_to_naive(labels)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int32, np.int64, np.uint64])
def test_integer_dtypes_and_large_ids(dtype):
    base = disks((30, 40), 9, 11)
    ids = {np.uint8: 25, np.uint16: 7001, np.int32: 2**30 + 1, np.int64: 2**40, np.uint64: 2**63 + 5}[dtype]
    labels = np.where(base > 0, base.astype(np.uint64) * 0 + ids - base.astype(np.uint64), 0).astype(dtype)
    assert len(np.unique(labels)) == len(np.unique(base))
    fast = border_weights(labels)
    np.testing.assert_allclose(fast, border_weights(base), atol=TOL)
    np.testing.assert_allclose(naive_border_weights(labels), naive_border_weights(base), atol=TOL)
    wm = weight_map(labels)
    assert wm.dtype == np.float32 and np.all(np.isfinite(wm))


def test_boolean_input_is_one_cell():
    mask = np.zeros((10, 10), bool)
    mask[2:4, 2:4] = mask[6:9, 6:9] = True  # two blobs, but one id: one cell
    assert not border_weights(mask).any()
    np.testing.assert_allclose(class_balance_weights(mask).mean(), 1, rtol=1e-6)
    assert weight_map(mask).dtype == np.float32


@pytest.mark.parametrize("fn", [border_weights, naive_border_weights, weight_map, separation_border])
def test_float_and_negative_labels_are_rejected(fn):
    with pytest.raises(ValueError, match="float64"):
        fn(np.zeros((4, 4)))
    with pytest.raises(ValueError, match="-3"):
        fn(np.array([[0, 1], [-3, 2]]))


def test_bad_parameters_and_shapes_are_rejected():
    labels = np.zeros((4, 4), np.int64)
    with pytest.raises(ValueError, match="sigma"):
        border_weights(labels, sigma=0)
    with pytest.raises(ValueError, match="w0"):
        border_weights(labels, w0=-1)
    with pytest.raises(ValueError, match="w0"):
        naive_border_weights(labels, w0=float("nan"))
    with pytest.raises(ValueError, match="2-D"):
        border_weights(np.zeros((2, 3, 4), np.int64))
    with pytest.raises(ValueError, match="float32"):
        class_balance_weights(np.zeros((3, 3), np.float32))


def test_input_is_not_modified():
    labels = disks((30, 30), 10, 5, radii=(3, 8))
    copy = labels.copy()
    border_weights(labels), weight_map(labels), split_touching(labels), semantic_target(labels)
    np.testing.assert_array_equal(labels, copy)


# --------------------------------------------------------------------------- class balance

@given(st.integers(0, 2**32 - 1), st.integers(1, 5))
def test_class_balance_equal_totals_and_mean_one(seed, n_classes):
    rng = np.random.default_rng(seed)
    mask = rng.integers(0, n_classes, size=(rng.integers(1, 30), rng.integers(1, 30)))
    w = class_balance_weights(mask)
    assert w.dtype == np.float32 and w.shape == mask.shape
    np.testing.assert_allclose(w.mean(), 1, rtol=1e-5)
    totals = [w[mask == c].sum() for c in np.unique(mask)]
    np.testing.assert_allclose(totals, mask.size / len(totals), rtol=1e-5)


def test_class_balance_by_hand():
    mask = np.array([[0, 0, 0, 1]])
    # N = 4, 2 classes: background 4 / (2 * 3), cell 4 / (2 * 1)
    np.testing.assert_allclose(class_balance_weights(mask), [[2 / 3, 2 / 3, 2 / 3, 2]], rtol=1e-6)
    np.testing.assert_array_equal(class_balance_weights(np.zeros((3, 3), int)), np.ones((3, 3)))


# --------------------------------------------------------------------------- separation borders

@settings(max_examples=100, deadline=None)
@given(labels=instance_masks())
def test_separated_cells_never_touch(labels):
    border = separation_border(labels)
    split = split_touching(labels)
    assert not (border & (labels == 0)).any()  # only cell pixels become background
    np.testing.assert_array_equal(split[~border], labels[~border])
    assert not split[border].any()
    # no two different cells remain 8-adjacent
    padded = np.pad(split, 1)
    h, w = split.shape
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            other = padded[1 + dy:1 + dy + h, 1 + dx:1 + dx + w]
            assert not ((split > 0) & (other > 0) & (other != split)).any()


def test_separation_border_is_one_pixel_line():
    labels = np.zeros((6, 10), np.int64)
    labels[:, :5], labels[:, 5:] = 1, 2  # two cells sharing a straight border
    border = separation_border(labels)
    assert border[:, 4].all() and border.sum() == 6  # only cell 1's last column
    target = semantic_target(labels)
    assert target.dtype == np.int64 and set(np.unique(target)) == {0, 1}
    np.testing.assert_array_equal(target[:, 4], 0)
    # the new border pixels get the largest border weight: d1 = d2 = 1
    w = weight_map(labels, w0=10, sigma=5)
    balance = class_balance_weights(target)
    np.testing.assert_allclose(w[:, 4], balance[:, 4] + 10 * math.exp(-4 / 50), rtol=1e-6)


def test_apart_cells_are_not_changed():
    labels = np.zeros((8, 8), np.int64)
    labels[1:3, 1:3], labels[5:7, 5:7] = 1, 2
    assert not separation_border(labels).any()


def test_weight_map_is_balance_plus_border():
    labels = disks((40, 40), 12, 9, radii=(3, 9))
    split = split_touching(labels)
    expected = class_balance_weights(split > 0) + border_weights(split)
    np.testing.assert_allclose(weight_map(labels), expected, rtol=1e-6)
    no_split = class_balance_weights(labels > 0) + border_weights(labels, 5, 3)
    np.testing.assert_allclose(weight_map(labels, 5, 3, separate=False), no_split, rtol=1e-6)
    assert weight_map(labels).dtype == np.float32


# --------------------------------------------------------------------------- the learner check

def test_check_passes_the_naive_version_and_explains_failures(capsys):
    assert checks.check_border_weights(naive_border_weights)
    assert checks.check_border_weights(border_weights)

    def stub(instances, w0=10, sigma=5):
        raise NotImplementedError("Exercise: write the body of border_weights")

    assert checks.check_border_weights(stub).status == "not implemented"

    def forgets_cells(instances, w0=10, sigma=5):
        return naive_border_weights(instances, w0, sigma) + (np.asarray(instances) > 0)

    assert not checks.check_border_weights(forgets_cells)

    def nan_without_pairs(instances, w0=10, sigma=5):
        return np.full(np.shape(instances), np.nan)

    assert not checks.check_border_weights(nan_without_pairs)
    out = capsys.readouterr().out
    assert "NaN" in out and "not implemented yet" in out


def test_class_balance_check(capsys):
    assert checks.check_class_balance_weights(class_balance_weights)
    assert not checks.check_class_balance_weights(lambda mask: np.ones(np.shape(mask)))

    def inverse_frequency(mask):  # unnormalised: right ratios, wrong scale
        _, inverse, counts = np.unique(mask, return_inverse=True, return_counts=True)
        return (1.0 / counts)[inverse.reshape(np.shape(mask))]

    assert not checks.check_class_balance_weights(inverse_frequency)
    assert "expected" in capsys.readouterr().out


def test_check_accepts_tiny_weights_between_far_cells(capsys):
    """Far-apart cells: the exact term is tiny but not 0; the library rounds it to 0 (< 1e-6)."""
    def exact_naive(instances, w0=10, sigma=5):
        return naive_border_weights(instances, w0, sigma).astype(np.float64)

    assert checks.check_border_weights(exact_naive)


def test_check_explains_wrong_pixels_with_d1_and_d2(capsys):
    """A wrong answer is shown at one pixel with its d1, d2 (or as a cell pixel), in plain numbers."""
    def nearest_twice(instances, w0=10, sigma=5):  # d1 + d2 from the nearest cell only: 2 * d1
        labels = np.asarray(instances)
        if len(np.unique(labels[labels > 0])) < 2:
            return np.zeros(labels.shape)
        d = ndi.distance_transform_edt(labels == 0)
        return np.where(labels == 0, w0 * np.exp(-(2 * d) ** 2 / (2 * sigma ** 2)), 0.0)

    assert not checks.check_border_weights(nearest_twice)
    out = capsys.readouterr().out
    assert "d1 = 1 and second-nearest cell is 2 at d2 = 2" in out and "np.float" not in out

    def keeps_cells(instances, w0=10, sigma=5):
        labels = np.asarray(instances)
        ids = np.unique(labels[labels > 0])
        if len(ids) < 2:
            return np.zeros(labels.shape)
        stack = np.sort(np.stack([ndi.distance_transform_edt(labels != k) for k in ids]), axis=0)
        return w0 * np.exp(-(stack[0] + stack[1]) ** 2 / (2 * sigma ** 2))

    assert not checks.check_border_weights(keeps_cells)
    assert "the border term is 0 on cell pixels" in capsys.readouterr().out

    def integer_weights(instances, w0=10, sigma=5):  # np.zeros_like(instances) keeps the int dtype
        out = np.zeros_like(np.asarray(instances))
        out[...] = naive_border_weights(instances, w0, sigma)
        return out

    assert not checks.check_border_weights(integer_weights)
    assert "integers" in capsys.readouterr().out


def test_class_balance_check_shows_the_counts(capsys):
    def always_two_classes(mask):
        _, inverse, counts = np.unique(mask, return_inverse=True, return_counts=True)
        return (np.size(mask) / (2 * counts))[inverse.reshape(np.shape(mask))]

    assert not checks.check_class_balance_weights(always_two_classes)
    out = capsys.readouterr().out
    assert "n_classes = 1" in out and "expected N / (n_classes · N_class) = 42 / (1 · 42) = 1, got 0.5" in out
