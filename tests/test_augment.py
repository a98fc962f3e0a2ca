"""Elastic deformation and the other augmentations (paper Sec. 3.1), both back ends."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st
from scipy import ndimage

from unet_course import augment as A
from unet_course.augment import torch_backend as AT

SIZES = st.integers(2, 40)


def smooth_image(shape, seed=0):
    rng = np.random.default_rng(seed)
    image = ndimage.gaussian_filter(rng.random(shape), 2)
    return ((image - image.min()) / (np.ptp(image) + 1e-12)).astype(np.float32)


def labels_of(image):
    return np.digitize(image, [0.3, 0.5, 0.7]).astype(np.int64) * 7  # values 0, 7, 14, 21


# ----------------------------------------------------------------------------- the field
@settings(max_examples=40, deadline=None)
@given(grid=st.integers(2, 6), steps=st.integers(1, 12), steps_x=st.integers(1, 12), seed=st.integers(0, 99))
def test_field_passes_through_the_control_values(grid, steps, steps_x, seed):
    # with n = steps * (grid - 1) + 1 pixels every control point falls on a pixel
    shape = (steps * (grid - 1) + 1, steps_x * (grid - 1) + 1)
    coarse = A.random_coarse(grid, 10.0, seed)
    field = A.dense_field(coarse, shape)
    at_controls = field[:, ::steps, ::steps_x]
    np.testing.assert_allclose(at_controls, coarse, atol=1e-9)
    torch_field = AT.dense_field(torch.from_numpy(coarse), shape).numpy()
    np.testing.assert_allclose(torch_field, field, atol=1e-9)


def test_field_is_smooth_and_corners_sit_on_corner_controls():
    coarse = A.random_coarse(3, 10, rng=5)
    field = A.dense_field(coarse, (512, 512))
    np.testing.assert_allclose(field[:, [0, 0, -1, -1], [0, -1, 0, -1]],
                               coarse[:, [0, 0, -1, -1], [0, -1, 0, -1]], atol=1e-9)
    # smooth: neighbouring pixels move by far less than a pixel relative to each other
    assert np.abs(np.diff(field, axis=1)).max() < 0.5 and np.abs(np.diff(field, axis=2)).max() < 0.5


def test_field_is_deterministic_for_a_seed():
    a = A.random_displacement((64, 48), rng=3)
    b = A.random_displacement((64, 48), rng=3)
    c = A.random_displacement((64, 48), rng=4)
    d = A.random_displacement((64, 48), rng=np.random.default_rng(3))
    assert a.shape == (2, 64, 48)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, d)
    assert not np.allclose(a, c)


def test_displacements_have_the_papers_spread():
    coarse = np.stack([A.random_coarse(3, 10, rng=i) for i in range(400)])
    assert abs(coarse.std() - 10) < 0.5 and abs(coarse.mean()) < 0.5


def test_explicit_coarse_grid_is_used():
    coarse = np.zeros((2, 4, 4))
    coarse[0] = 2.5
    np.testing.assert_allclose(A.random_displacement((30, 30), coarse=coarse)[0], 2.5, atol=1e-12)


def test_field_equals_elasticdeforms():
    """Lesson 06 cites this comparison; make setup installs elasticdeform (requirements-dev.txt),
    so it runs, never skips."""
    import elasticdeform
    h, w = 61, 47
    coarse = A.random_coarse(3, 10, rng=0)
    rows, cols = np.meshgrid(np.arange(h, dtype=float), np.arange(w, dtype=float), indexing="ij")
    # elasticdeform moves a coordinate ramp with the field: out - ramp is its field
    y, x = elasticdeform.deform_grid([rows, cols], coarse, order=1, mode="nearest")
    field = A.dense_field(coarse, (h, w))
    inside = (y > 1) & (y < h - 2) & (x > 1) & (x < w - 2)
    np.testing.assert_allclose(field[0][inside], (y - rows)[inside], atol=1e-9)
    np.testing.assert_allclose(field[1][inside], (x - cols)[inside], atol=1e-9)


# ----------------------------------------------------------------------------- warping
@pytest.mark.parametrize("order", [0, 1, 3])
def test_zero_field_is_the_identity(order):
    image = smooth_image((33, 20))
    labels = labels_of(image)
    zero = np.zeros((2, 33, 20))
    np.testing.assert_allclose(A.warp(image, zero, order), image, atol=1e-6)
    np.testing.assert_array_equal(A.warp(labels, zero, 0), labels)
    out = A.elastic_deform(image, labels, coarse=np.zeros((2, 3, 3)))
    np.testing.assert_allclose(out[0], image, atol=1e-6)
    np.testing.assert_array_equal(out[1], labels)


@pytest.mark.parametrize("mode", ["bicubic", "bilinear", "nearest"])
def test_zero_field_is_the_identity_in_torch(mode):
    image = torch.from_numpy(smooth_image((2, 3, 33, 20)))
    out = AT.warp(image, torch.zeros(2, 2, 33, 20), mode=mode)
    torch.testing.assert_close(out, image, atol=1e-5, rtol=0)


def test_output_pixel_takes_the_input_at_x_plus_field():
    image = np.arange(20 * 30, dtype=np.float32).reshape(20, 30)
    field = np.zeros((2, 20, 30))
    field[0], field[1] = 2, -3  # look 2 rows down and 3 columns left
    out = A.warp(image, field, order=1)
    np.testing.assert_allclose(out[5, 10], image[7, 7])
    out_t = AT.warp(torch.from_numpy(image), torch.from_numpy(field).float(), mode="bilinear")
    np.testing.assert_allclose(out_t[5, 10].item(), image[7, 7], rtol=1e-6)


@pytest.mark.parametrize("mode", ["bilinear", "nearest"])
def test_torch_reflection_is_scipys_mirror(mode):
    # a shift of 7 px pushes the sampling points past the border: mirrored about the edge pixel
    image = smooth_image((12, 9), seed=2)
    for dy, dx in [(7, 0), (-7, 0), (0, 11), (3.3, -5.6), (25, -20)]:
        field = np.zeros((2, 12, 9))
        field[0], field[1] = dy, dx
        ref = A.warp(image, field, order=1 if mode == "bilinear" else 0)
        out = AT.warp(torch.from_numpy(image), torch.from_numpy(field), mode=mode).numpy()
        np.testing.assert_allclose(out, ref, atol=1e-5)
    # scipy "mirror" is numpy's pad mode "reflect": d c b | a b c d | c b a
    row = np.arange(4.0)[None].repeat(2, 0)
    field = np.zeros((2, 2, 4))
    field[1] = -3
    np.testing.assert_array_equal(A.warp(row, field, order=0)[0], np.pad(row[0], 3, mode="reflect")[:4])


@settings(max_examples=30, deadline=None)
@given(h=SIZES, w=SIZES, seed=st.integers(0, 10_000), sigma=st.floats(0, 30))
def test_labels_keep_their_value_set(h, w, seed, sigma):
    rng = np.random.default_rng(seed)
    labels = rng.choice(np.array([0, 3, 255, 1000]), size=(h, w)).astype(np.int64)
    field = A.random_displacement((h, w), grid=3, sigma=sigma, rng=rng)
    out = A.warp(labels, field, order=0)
    assert out.dtype == labels.dtype and out.shape == labels.shape
    assert set(np.unique(out)) <= set(np.unique(labels))
    out_t = AT.warp(torch.from_numpy(labels), torch.from_numpy(field).float(), mode="nearest")
    assert out_t.dtype == torch.int64
    assert set(np.unique(out_t.numpy())) <= set(np.unique(labels))


def test_cubic_interpolation_of_labels_invents_values():
    """The bug this module avoids: labels 1 and 3 side by side, cubic splines make 2s (and more)."""
    labels = np.ones((40, 40), np.int64)
    labels[:, 20:] = 3
    labels[10:30, 5:15] = 0
    field = A.random_displacement(labels.shape, sigma=10, rng=1)
    cubic = np.rint(A.warp(labels, field, order=3, clip=False)).astype(np.int64)
    assert set(np.unique(cubic)) - {0, 1, 3}, "cubic interpolation should invent label values"
    assert set(np.unique(A.warp(labels, field, order=0))) == {0, 1, 3}


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), order=st.sampled_from([1, 3]))
def test_weights_are_never_negative(seed, order):
    rng = np.random.default_rng(seed)
    weight = np.zeros((31, 29), np.float32)
    weight[rng.random(weight.shape) < 0.05] = 10.0  # sharp spikes: cubic splines ring below 0
    field = A.random_displacement(weight.shape, sigma=5, rng=rng)
    assert A.warp(weight, field, order=order).min() >= 0
    _, _, w = A.Augment(rotate=True, grey=0.1)(smooth_image(weight.shape), labels_of(smooth_image(weight.shape)),
                                                 weight, rng)
    assert w.min() >= 0
    _, _, w_t = A.Augment(rotate=True, backend="torch")(smooth_image(weight.shape), None, weight, seed)
    assert w_t.min() >= 0


def test_image_stays_in_its_range():
    image = np.zeros((40, 40), np.float32)
    image[10:20, 10:30] = 1.0  # sharp edges
    field = A.random_displacement(image.shape, rng=0)
    assert A.warp(image, field, clip=False).min() < 0  # cubic splines overshoot...
    out = A.warp(image, field)                          # ...the default clips
    assert 0 <= out.min() and out.max() <= 1
    out_t = AT.warp(torch.from_numpy(image), torch.from_numpy(field).float())
    assert 0 <= out_t.min() and out_t.max() <= 1


def test_rotation_by_90_degrees_is_rot90():
    image = np.arange(9 * 9).reshape(9, 9)
    field = A.total_field((9, 9), angle=90)
    out = A.warp(image, field, order=0)
    assert any(np.array_equal(out, np.rot90(image, k)) for k in (1, 3))
    grid = AT.sampling_grid((9, 9), angle=[90.0], dtype=torch.float64)
    out_t = torch.nn.functional.grid_sample(torch.from_numpy(image).double()[None, None], grid,
                                            mode="nearest", align_corners=True)[0, 0]
    np.testing.assert_array_equal(out_t.numpy(), out)


# ----------------------------------------------------------------------------- shapes, dtypes
@pytest.mark.parametrize("shape", [(2, 2), (5, 3), (37, 53), (64, 64)])
def test_shapes_and_dtypes(shape):
    image = smooth_image(shape)
    labels = labels_of(image).astype(np.uint8)
    weight = np.ones(shape, np.float64)
    out = A.elastic_deform(image, labels, weight, rng=0)
    assert [o.shape for o in out] == [shape] * 3
    assert [o.dtype for o in out] == [np.float32, np.uint8, np.float64]
    t_out = AT.elastic_deform(torch.from_numpy(image), torch.from_numpy(labels), torch.from_numpy(weight), rng=0)
    assert [tuple(o.shape) for o in t_out] == [shape] * 3
    assert [o.dtype for o in t_out] == [torch.float32, torch.uint8, torch.float64]
    assert A.elastic_deform(image, rng=0).shape == shape  # no targets: the image alone


def test_leading_axes_move_with_the_same_field():
    image = smooth_image((3, 30, 20))
    out = A.elastic_deform(image, rng=1)
    for c in range(3):
        np.testing.assert_allclose(out[c], A.elastic_deform(image[c], rng=1), atol=1e-6)


def test_torch_batch_gives_each_sample_its_own_field_and_channels_share_it():
    images = torch.from_numpy(np.stack([smooth_image((2, 40, 36), s) for s in range(4)]))  # (4, 2, 40, 36)
    labels = torch.from_numpy(labels_of(images[:, 0].numpy()))                                # (4, 40, 36)
    out_i, out_l = AT.elastic_deform(images, labels, rng=7)
    assert out_i.shape == images.shape and out_l.shape == labels.shape
    coarse = np.random.default_rng(7).normal(0, 10, (4, 2, 3, 3))
    for n in range(4):
        field = A.dense_field(coarse[n], (40, 36))
        agree = np.mean(out_l[n].numpy() == A.warp(labels[n].numpy(), field, 0))
        assert agree > 0.999
        for c in range(2):
            np.testing.assert_allclose(out_i[n, c].numpy(), A.warp(images[n, c].numpy(), field, 1),
                                       atol=0.05)


# ----------------------------------------------------------------------------- the two back ends
@pytest.mark.parametrize("seed", range(5))
def test_back_ends_agree(seed):
    image = smooth_image((64, 50), seed)
    labels = labels_of(image)
    weight = (1 + 9 * smooth_image((64, 50), seed + 100)).astype(np.float32)
    kwargs = dict(elastic=True, rotate=True, shift=4, flip=True, grey=0.1)
    a = A.Augment(**kwargs, backend="numpy")(image, labels, weight, seed)
    b = A.Augment(**kwargs, backend="torch")(image, labels, weight, seed)
    for x, y in zip(a, b):
        assert x.shape == y.shape and x.dtype == y.dtype
    # image: scipy's cubic B-spline vs torch's cubic convolution
    assert np.abs(a[0] - b[0]).max() < 0.03 and np.abs(a[0] - b[0]).mean() < 0.005
    assert np.mean(a[1] != b[1]) < 0.002  # labels: only ties of nearest-neighbour rounding
    assert np.mean(a[2] != b[2]) < 0.002  # weights (nearest too): the same ties
    assert set(np.unique(a[2])) <= set(np.unique(weight)) and set(np.unique(b[2])) <= set(np.unique(weight))


def test_back_ends_agree_exactly_with_linear_interpolation():
    image = smooth_image((70, 45))
    field = A.random_displacement(image.shape, sigma=15, rng=2)
    np.testing.assert_allclose(
        AT.warp(torch.from_numpy(image), torch.from_numpy(field), mode="bilinear").numpy(),
        A.warp(image, field, order=1), atol=1e-5)


# ----------------------------------------------------------------------------- the hook
def test_augment_hook_is_deterministic_and_keeps_shapes():
    image = smooth_image((48, 48))
    labels, weight = labels_of(image), np.ones((48, 48), np.float32)
    augment = A.Augment(rotate=True, shift=3, grey=0.1)
    a = augment(image, labels, weight, np.random.default_rng(5))
    b = augment(image, labels, weight, np.random.default_rng(5))
    for x, y, ref in zip(a, b, (image, labels, weight)):
        np.testing.assert_array_equal(x, y)
        assert x.shape == ref.shape and x.dtype == ref.dtype
    assert set(np.unique(a[1])) <= set(np.unique(labels))
    assert 0 <= a[0].min() and a[0].max() <= 1


def test_augment_keeps_non_square_shapes():
    image = smooth_image((40, 24))
    for seed in range(8):  # some draws ask for quarter turns: only half turns for non-square tiles
        out = A.Augment(flip=True, elastic=False)(image, labels_of(image), None, seed)
        assert out[0].shape == (40, 24) and out[2] is None


def test_augment_without_movement_is_exact():
    image = smooth_image((16, 16))
    labels = labels_of(image)
    out = A.Augment(elastic=False, flip=True, grey=0)(image, labels, None, 3)
    params = A.Augment(elastic=False, flip=True).sample(3, (16, 16))
    expected = np.rot90(labels, params.k90)
    expected = expected[:, ::-1] if params.flip else expected
    np.testing.assert_array_equal(out[1], expected)


def test_grey_values_change_only_the_image():
    image = smooth_image((30, 30))
    labels, weight = labels_of(image), np.full((30, 30), 2.0, np.float32)
    out = A.Augment(elastic=False, flip=False, grey=0.3)(image, labels, weight, 0)
    assert not np.allclose(out[0], image)
    np.testing.assert_array_equal(out[1], labels)
    np.testing.assert_array_equal(out[2], weight)


def test_augment_batch_on_torch_tensors():
    images = torch.from_numpy(np.stack([smooth_image((36, 36), s) for s in range(3)]))[:, None]
    labels = torch.from_numpy(labels_of(images[:, 0].numpy()))
    weights = torch.ones(3, 36, 36)
    out = AT.augment_batch(A.Augment(rotate=True, grey=0.1), images, labels, weights, rng=0)
    assert out[0].shape == images.shape and out[1].shape == labels.shape and out[2].shape == weights.shape
    assert set(out[1].unique().tolist()) <= set(labels.unique().tolist())


def test_plugs_into_the_tile_sampler():
    from unet_course import data
    image = smooth_image((120, 120))
    target = (image > 0.5).astype(np.int64)
    for backend in ("numpy", "torch"):
        tiles = data.TileDataset([image], [target], input_size=108, depth=2,
                                 augment=A.Augment(rotate=True, backend=backend))
        x, y, w = tiles[0]
        assert x.shape[-1] == 108 and set(y.unique().tolist()) <= {0, 1} and w.min() >= 0


# ----------------------------------------------------------------------------- bad arguments
@pytest.mark.parametrize("call, match", [
    (lambda: A.random_displacement((10, 10), sigma=-1), r"sigma .*-1"),
    (lambda: A.random_displacement((10, 10), sigma="big"), r"sigma .*'big'"),
    (lambda: A.random_displacement((10, 10), grid=1), r"grid .*>= 2.* 1"),
    (lambda: A.random_displacement((10, 10), grid=2.5), r"grid .*2\.5"),
    (lambda: A.random_displacement((1, 10)), r"shape .*\(1, 10\)"),
    (lambda: A.dense_field(np.zeros((3, 3, 3)), (10, 10)), r"coarse .*\(3, 3, 3\)"),
    (lambda: A.warp(np.zeros((10, 10)), np.zeros((2, 10, 11))), r"field .*\(2, 10, 10\).*\(2, 10, 11\)"),
    (lambda: A.warp(np.zeros((10, 10)), np.zeros((2, 10, 10)), order=7), r"order .*7"),
    (lambda: A.elastic_deform(np.zeros((10, 10)), np.zeros((10, 12))), r"\(10, 12\)"),
    (lambda: A.elastic_deform(np.zeros((10, 10)), np.zeros((10, 10)), orders=[3]), r"orders"),
    (lambda: A.Augment(backend="jax"), r"backend .*'jax'"),
    (lambda: A.Augment(sigma=-2), r"sigma .*-2"),
    (lambda: A.Augment(grid=0), r"grid .*0"),
    (lambda: A.Augment(grey=1.5), r"grey .*1\.5"),
    (lambda: A.Augment()(np.zeros((10, 10)), np.zeros((10, 9)), None, 0), r"target .*\(10, 9\)"),
    (lambda: A.random_coarse(rng="seed"), r"rng .*'seed'"),
    (lambda: AT.elastic_deform(torch.zeros(10, 10), torch.zeros(10, 12)), r"\(10, 12\)"),
    (lambda: AT.elastic_deform(torch.zeros(10, 10), sigma=-3), r"sigma .*-3"),
    (lambda: AT.warp(torch.zeros(10, 10), torch.zeros(2, 10, 10), mode="cubic"), r"mode .*'cubic'"),
    (lambda: AT.warp(torch.zeros(10, 10), torch.zeros(2, 9, 10)), r"field .*\(1, 2, 9, 10\)"),
    (lambda: AT.dense_field(torch.zeros(2, 1, 3), (10, 10)), r"coarse .*\(2, 1, 3\)"),
])
def test_bad_arguments_give_clear_value_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# ----------------------------------------------------------------------------- learner checks
def test_checks_accept_the_reference_and_explain_mistakes(capsys):
    from unet_course.checks import check_dense_field, check_warp

    assert check_dense_field(A.dense_field)
    assert check_warp(A.warp)  # the course's warp clips an order-3 result (lesson 06)
    assert not check_warp(lambda a, f, order: A.warp(a, -f, order, clip=False))
    assert "other way" in capsys.readouterr().out.splitlines()[-1]
    assert not check_warp(lambda a, f, order: A.warp(a, f, order, clip=False))
    assert "overshoots" in capsys.readouterr().out.splitlines()[-1]
    assert not check_dense_field(lambda c, shape: A.dense_field(c, shape) + 0.01)

    def not_yet(*args):
        raise NotImplementedError("Exercise: write the body of warp")
    result = check_warp(not_yet)
    assert not result and result.status == "not implemented"


def test_check_warp_names_an_ignored_order_argument(capsys):
    """A student who hard-codes the interpolation order is told to use `order`."""
    from scipy import ndimage as ndi
    from unet_course.checks import check_warp

    def warp_always_linear(array, field, order=3):
        h, w = array.shape
        rows, cols = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
        return ndi.map_coordinates(array, [rows + field[0], cols + field[1]], order=1, mode="mirror")

    assert not check_warp(warp_always_linear)
    assert "order-1 interpolation, but this call asked for order=3" in capsys.readouterr().out


# ----------------------------------------------------------------------------- issue 12: weight maps
def _gap_statistics(weights_after, instances_after):
    """Median relative error and share below 70% of Eq. 2 recomputed on the deformed instances,
    on the gap pixels where that border term is above 5 (the review's statistic)."""
    from unet_course import weights as W
    reference = W.weight_map(instances_after)
    gap = W.border_weights(W.split_touching(instances_after)) > 5
    ratio = weights_after[gap] / reference[gap]
    return float(np.median(np.abs(ratio - 1))), float(np.mean(ratio < 0.7))


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_weight_map_keeps_its_ridges_under_deformation(backend):
    """Weights are warped with the nearest neighbour: Eq. 2's thin ridges between cells keep
    their height. (Linear warping: median 11% too low, a fifth below 70%.)"""
    from unet_course.data import synthetic_cells, training_targets
    augment = A.Augment(elastic=True, sigma=10, flip=False, backend=backend)
    errors, low = [], []
    for seed in range(3):
        cells = synthetic_cells(192, seed=seed)
        _, weight = training_targets(cells.instances)
        params = augment.sample(seed, weight.shape)
        _, instances, warped = augment.apply(params, cells.image, cells.instances, weight)
        median, share = _gap_statistics(warped, instances)
        errors.append(median)
        low.append(share)
    assert np.median(errors) < 0.03 and np.mean(low) < 0.08, (errors, low)


def test_elastic_deform_warps_float_targets_with_the_nearest_neighbour():
    weight = np.array([[1.0, 10.0] * 8] * 16, np.float32)
    out = A.elastic_deform(smooth_image((16, 16)), weight, rng=3, sigma=4)[1]
    assert set(np.unique(out)) <= {1.0, 10.0}
    out_t = AT.elastic_deform(torch.from_numpy(smooth_image((16, 16))), torch.from_numpy(weight), rng=3, sigma=4)[1]
    assert set(out_t.unique().tolist()) <= {1.0, 10.0}


# ----------------------------------------------------------------------------- issue 12: bad input
def test_warp_rejects_an_unknown_mode():
    with pytest.raises(ValueError, match=r"mode must be one of .*'mirror'.*got 'foo'"):
        A.warp(np.zeros((4, 4)), np.zeros((2, 4, 4)), mode="foo")


@pytest.mark.parametrize("shift", [1, "ab", (1, 2, 3), None, (0, float("nan"))])
def test_total_field_wants_a_shift_pair(shift):
    with pytest.raises(ValueError, match="shift must be"):
        A.total_field((5, 5), shift=shift)
    np.testing.assert_allclose(A.total_field((5, 5), shift=(1, -2))[1], -2)


def test_total_field_wants_a_number_of_degrees():
    with pytest.raises(ValueError, match="angle must be a number of degrees"):
        A.total_field((5, 5), angle="90")


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_augment_converts_integer_images_to_float(backend):
    """A uint8 image is scaled to [0, 1] (before: grey=0.1 set 99.98% of it to 1.0, and without
    grey a float64 image up to 251.9 came back)."""
    rng = np.random.default_rng(0)
    image = (255 * smooth_image((64, 64))).astype(np.uint8)
    for grey in (0.0, 0.1):
        out = A.Augment(grey=grey, backend=backend)(image, np.zeros((64, 64), np.int64), None, 1)[0]
        assert out.dtype == np.float32 and 0 <= out.min() and out.max() <= 1
        assert np.mean(out == 1) < 0.05
    # floats are taken as they are (the trainer's percentile-normalised images pass a little
    # outside [0, 1]); the warp keeps their range
    raw = A.Augment(backend=backend)(image.astype(np.float32) * 3 - 100, None, None, rng)[0]
    assert raw.max() > 1 and raw.min() >= -100 and raw.max() <= 3 * 255 - 100
    with pytest.raises(ValueError, match="float image"):
        A.grey_value(image, 1.1)
