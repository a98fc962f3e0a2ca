"""Overlap-tile prediction (unet_course.tiling); the predict command: tests/test_predict.py.

The key claim: with steps on the 2^depth pooling grid, the stitched tiles equal ONE forward pass
over the whole mirror-padded image. The reference here is written independently (numpy.pad
"reflect" + the model's forward), not with predict_tiled.
"""
import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

from unet_course.data import mirrored_window
from unet_course.model import UNet, he_init_
from unet_course.sizes import total_shrink
from unet_course.tiling import (context_margin, default_tile_size, plan_tiles, predict_naive,
                                predict_tiled, predict_whole, tile_grid)

torch.set_num_threads(1)


def tiny(seed=0, **kwargs):
    model = UNet(**{"base_channels": 4, **kwargs})
    he_init_(model, seed)
    return model.eval()


def whole_pass(model, image):
    """Reference: the smallest valid input covering image + margin, mirrored, one forward."""
    image = image if image.ndim == 3 else image[None]
    h, w = image.shape[-2:]
    m = total_shrink(model.depth) // 2 + (0 if model.padding == "valid" else 2 ** model.depth)

    def size(n):
        k = n + 2 * m
        while True:
            try:
                model.output_size(k)
                return k
            except ValueError:
                k += 1

    nh, nw = size(h), size(w)
    if m < min(h, w):  # numpy's reflect where it can (an independent mirror)
        x = np.pad(image, ((0, 0), (m, nh - h - m), (m, nw - w - m)), mode="reflect")
    else:
        x = mirrored_window(image, -m, -m, nh, nw)
    with torch.no_grad():
        y = model(torch.from_numpy(np.ascontiguousarray(x, np.float32))[None])[0]
    crop = (nh - model.output_size(nh)) // 2
    c = m - crop
    y = y[:, c:c + h, c:c + w] if model.padding != "valid" else y[:, :h, :w]
    return torch.softmax(y, 0).numpy()


@pytest.fixture(scope="module")
def model():
    return tiny()


@pytest.mark.parametrize("shape, tile", [
    ((100, 130), 252), ((61, 203), 204), ((300, 187), 220), ((37, 5), (204, 236)),
    ((1, 1), 204), ((2, 3), 252), ((130, 100), None), ((431, 97), 268)])
def test_tiles_equal_one_pass_over_the_whole_mirrored_image(model, shape, tile):
    image = np.random.default_rng(sum(shape)).random(shape, dtype=np.float32)
    plan = plan_tiles(model, shape, tile)
    got = predict_tiled(model, image, tile_size=tile, progress=False)
    assert got.shape == (2,) + shape and got.dtype == np.float32
    np.testing.assert_allclose(got, whole_pass(model, image), rtol=0, atol=1e-5)
    if tile is not None and max(shape) > plan.tile_out[0]:
        assert len(plan.starts) > 1  # really tiled


def test_the_margin_comes_from_the_model():
    assert context_margin(tiny()) == 92  # the paper's 92 px per side at depth 4
    assert context_margin(tiny(depth=3)) == 44
    assert context_margin(tiny(depth=2, padding="same")) == 20 + 4
    plan = plan_tiles(tiny(), (1000, 1000), 572)
    assert plan.tile_out == (388, 388) and plan.step == (384, 384)  # 388 = 4 mod 16, step 384


def test_other_depth_and_padded_convs_are_exact_too():
    rng = np.random.default_rng(1)
    for model, tile in ((tiny(depth=3), 148), (tiny(depth=2, padding="same"), 96)):
        image = rng.random((90, 75), dtype=np.float32)
        assert len(plan_tiles(model, image.shape, tile).starts) >= 4
        np.testing.assert_allclose(predict_tiled(model, image, tile, progress=False),
                                   whole_pass(model, image), atol=1e-5)


def test_batch_norm_models_are_exact_too():
    """The cpu preset trains Conv-BN-ReLU: in eval mode a BatchNorm is a per-channel affine map
    (running statistics), so tiles still equal one pass, whatever the batch of tiles."""
    model = tiny(batch_norm=True)
    g = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):  # statistics as after training, not 0 / 1
                m.running_mean.normal_(0, 0.5, generator=g)
                m.running_var.uniform_(0.5, 2.0, generator=g)
    image = np.random.default_rng(4).random((150, 170), dtype=np.float32)
    for batch in (1, 3):
        np.testing.assert_allclose(predict_tiled(model, image, 236, batch_size=batch, progress=False),
                                   whole_pass(model, image), atol=1e-5)


def test_batch_size_does_not_change_the_result(model):
    image = np.random.default_rng(2).random((150, 170), dtype=np.float32)
    ref = predict_tiled(model, image, 236, batch_size=1)
    for batch in (2, 5, 64):
        np.testing.assert_allclose(predict_tiled(model, image, 236, batch_size=batch), ref, atol=1e-5)


def test_logits_on_request_and_whole_pass(model):
    image = np.random.default_rng(3).random((70, 90), dtype=np.float32)
    logits = predict_tiled(model, image, 220, output="logits")
    probs = predict_tiled(model, image, 220)
    np.testing.assert_allclose(torch.softmax(torch.from_numpy(logits), 0).numpy(), probs, atol=1e-6)
    np.testing.assert_allclose(predict_whole(model, image), probs, atol=1e-5)
    with pytest.raises(ValueError, match="probabilities"):
        predict_tiled(model, image, output="softmax")


def test_uint8_images_are_scaled_like_the_course(model):
    image = np.random.default_rng(4).integers(0, 256, (40, 50), dtype=np.uint8)
    np.testing.assert_allclose(predict_tiled(model, image), predict_tiled(model, image / 255.0),
                               atol=1e-6)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        predict_tiled(model, image.astype(np.float32))  # 0..255 floats: not the course's images


def test_invalid_tile_sizes_and_steps_get_clear_errors(model):
    image = np.zeros((50, 50), np.float32)
    with pytest.raises(ValueError, match="Nearest valid input sizes: 236 and 252"):
        predict_tiled(model, image, tile_size=250)
    with pytest.raises(ValueError, match="smaller than the pooling grid of 16.*204"):
        predict_tiled(model, image, tile_size=188)  # a 4x4 output cannot step on a 16 grid
    with pytest.raises(ValueError, match="not a multiple of 2\\*\\*depth = 16"):
        plan_tiles(model, (500, 500), 572, step=388)
    with pytest.raises(ValueError, match="larger than the output tile"):
        tile_grid((500, 500), 388, 400)
    with pytest.raises(ValueError, match="batch_size"):
        predict_tiled(model, image, batch_size=0)
    with pytest.raises(ValueError, match="tta"):
        predict_tiled(model, image, tta="rotations")


def test_steps_off_the_pooling_grid_make_seams(model):
    """The failure the exact step avoids: step 36 = the whole 36 px output tile, 36 = 4 mod 16."""
    image = np.random.default_rng(5).random((120, 120), dtype=np.float32)
    off = predict_tiled(model, image, 220, step=36, exact=False, output="logits")
    ref = predict_tiled(model, image, 220, output="logits")
    assert np.abs(off - ref).max() > 1e-3
    naive = predict_naive(model, image, 220)
    assert naive.shape == ref.shape and np.abs(naive - predict_tiled(model, image, 220)).max() > 1e-3


def test_multi_channel_images():
    model = tiny(in_channels=3, num_classes=3)
    image = np.random.default_rng(6).random((3, 80, 110), dtype=np.float32)
    got = predict_tiled(model, image, 220)
    assert got.shape == (3, 80, 110)
    np.testing.assert_allclose(got, whole_pass(model, image), atol=1e-5)
    with pytest.raises(ValueError, match=r"3 input channel\(s\).*\(3, H, W\).*\(80, 110\)"):
        predict_tiled(model, image[0])


def test_tta_is_equivariant_for_any_model(model):
    """Averaging over the whole dihedral group: predicting a rotated/flipped image gives the
    rotated/flipped prediction, whatever the network (its average over the group)."""
    image = np.random.default_rng(7).random((45, 70), dtype=np.float32)
    tta = predict_tiled(model, image, 236, tta=True)
    for transform in (np.fliplr, np.flipud, np.rot90, np.transpose):
        moved = predict_tiled(model, np.ascontiguousarray(transform(image)), 236, tta=True)
        expected = np.stack([transform(c) for c in tta])
        np.testing.assert_allclose(moved, expected, atol=1e-5)
    flips = predict_tiled(model, image, 236, tta="flips")
    np.testing.assert_allclose(predict_tiled(model, np.ascontiguousarray(image[::-1]), 236,
                                             tta="flips"), flips[:, ::-1], atol=1e-5)
    assert np.abs(tta - predict_tiled(model, image, 236)).max() > 1e-4  # TTA did something


def _symmetrised(model):
    """Make every kernel invariant under the 8 symmetries of the square (2x2 up-convs: all
    four taps equal): the network then commutes with flips and rotations."""
    with torch.no_grad():
        for layer in model.modules():
            if isinstance(layer, (torch.nn.Conv2d, torch.nn.ConvTranspose2d)):
                w = layer.weight
                w.copy_(sum(torch.rot90(v, k, (-2, -1)) for v in (w, w.flip(-1)) for k in range(4)) / 8)
    return model


def test_tta_of_a_symmetric_model_changes_nothing():
    model = _symmetrised(tiny(seed=3))
    image = np.random.default_rng(8).random((100, 100), dtype=np.float32)  # 100 + 184 = 284 is valid
    plain = predict_tiled(model, image, 204)
    assert len(plan_tiles(model, image.shape, 204).starts) == 36
    np.testing.assert_allclose(predict_tiled(model, image, 204, tta=True), plain, atol=1e-5)
    np.testing.assert_allclose(predict_tiled(model, np.rot90(image).copy(), 204),
                               np.rot90(plain, axes=(1, 2)), atol=1e-5)


def test_eval_mode_no_autograd_and_the_mode_is_restored():
    model = tiny()
    model.train()  # drop-out would make tiles random
    image = np.random.default_rng(9).random((60, 60), dtype=np.float32)
    a, b = predict_tiled(model, image, 204), predict_tiled(model, image, 204)
    np.testing.assert_array_equal(a, b)
    assert model.training


def test_default_tile_is_one_tile_for_small_images_and_bounded_for_big_ones(model):
    assert default_tile_size(model, (512, 512)) == (700, 700)  # 512 + 184 -> 700: the whole pass
    big = default_tile_size(model, (5000, 3000))
    assert max(big) <= 572 * 4 and all(model.output_size(n) > 0 for n in big)
    assert default_tile_size(tiny(base_channels=64), (5000, 5000))[0] <= 572


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 3000), st.integers(1, 3000), st.integers(1, 60), st.integers(1, 600))
def test_tile_grid_covers_the_image_with_as_few_tiles_as_possible(h, w, steps, extra):
    step = 16 * steps
    out = step + extra % (step + 1)
    starts = tile_grid((h, w), out, step)
    rows, cols = sorted({t for t, _ in starts}), sorted({c for _, c in starts})
    assert len(starts) == len(rows) * len(cols)
    for n, axis in ((h, rows), (w, cols)):
        assert axis[0] == 0 and all(s % step == 0 for s in axis)  # on the step's grid
        assert all(b - a <= out for a, b in zip(axis, axis[1:]))  # no gaps
        assert axis[-1] + out >= n and (len(axis) == 1 or axis[-2] + out < n)  # no extra tile


def test_tile_grid_example():
    assert tile_grid((500, 300), 388, 384) == [(0, 0), (384, 0)]
    assert tile_grid((800, 800), (388, 100), (384, 96))[:3] == [(0, 0), (0, 96), (0, 192)]


def test_a_grid_moved_by_a_multiple_of_16_stays_exact(model):
    image = np.random.default_rng(11).random((90, 100), dtype=np.float32)
    ref = predict_tiled(model, image, 236)
    moved = predict_tiled(model, image, 236, shift=16)
    np.testing.assert_allclose(moved, ref, atol=1e-5)
    assert plan_tiles(model, image.shape, 236, shift=16).starts[0] == (-16, -16)
    assert np.abs(predict_tiled(model, image, 236, shift=5, exact=False) - ref).max() > 1e-3
    with pytest.raises(ValueError, match="shift 5 is not a multiple"):
        predict_tiled(model, image, 236, shift=5)


# --------------------------------------------------------------------------- fixed costs (issue 24)

def _scanned_tile(model, n_pixels, margin):
    """The old size-by-size search: the smallest input whose output covers n_pixels and holds
    one pooling step."""
    n = n_pixels + 2 * margin
    while True:
        try:
            model.output_size(n)
            if n - 2 * margin >= 2 ** model.depth:
                return n
        except ValueError:
            pass
        n += 1


@pytest.mark.parametrize("depth, padding", [(d, p) for d in range(1, 6) for p in ("valid", "same")])
def test_tile_sizes_in_closed_form_equal_the_old_scans(depth, padding):
    from unet_course.tiling import _covering_tile
    model = UNet(depth=depth, padding=padding, base_channels=2)
    margin = context_margin(model)
    if padding == "valid":
        smallest = _scanned_tile(model, 1, 0)  # no margin: the smallest valid input
        assert margin == (smallest - model.output_size(smallest)) // 2 == total_shrink(depth) // 2
    for n_pixels in range(1, 400):
        assert _covering_tile(model, n_pixels, margin) == _scanned_tile(model, n_pixels, margin)
    big = plan_tiles(model, (3000, 700))
    assert all(model.output_size(n) - 2 * (margin if padding == "same" else 0) >= 2 ** depth
               for n in big.tile_in)


def test_no_size_walks_when_predicting(monkeypatch):
    """Planning and predicting use the closed form: the layer-by-layer size walk (which every
    invalid size used to pay, with a scan for the nearest valid sizes in its error) never runs."""
    from unet_course import sizes
    walks = []
    real_walk = sizes._walk
    monkeypatch.setattr(sizes, "_walk", lambda n, depth: walks.append(n) or real_walk(n, depth))
    model = tiny()
    image = np.random.default_rng(12).random((40, 70), dtype=np.float32)
    predict_tiled(model, image), predict_whole(model, image), plan_tiles(model, (5000, 300))
    context_margin(model)
    assert walks == []
    with pytest.raises(ValueError, match="Nearest valid input sizes: 236 and 252"):
        plan_tiles(model, (50, 50), 250)  # the error still says which layer fails
    assert walks == [250]


def test_each_module_keeps_its_own_mode():
    """predict_tiled runs every module in eval mode and then restores each module's own mode
    (a model in training with its drop-out switched off keeps it off)."""
    model = tiny()
    model.train()
    model.contracting.dropout.eval()
    image = np.random.default_rng(13).random((30, 30), dtype=np.float32)
    seen = []
    hook = model.contracting.register_forward_hook(
        lambda module, args, out: seen.append([m.training for m in model.modules()]))
    predict_tiled(model, image)
    hook.remove()
    assert seen and not any(seen[0])
    assert [m.training for m in model.modules()] == [m is not model.contracting.dropout
                                                     for m in model.modules()]
