"""A catalogue of plausible wrong answers, one per row: every check rejects each with a message
that names the mistake (issue 12's review list: off-by-one crops, same padding, kaiming fan-in,
wrong sigma term, True/float returns, swapped axes, non-square inputs, ...; issue 34's: an
unstable log-soft-max, an unclipped warp, singletons left out of the Rand F-score, the fan-in of
a kernel-4 transposed conv, Dice with misplaced parentheses, an SGD step in the wrong order)."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy import ndimage as ndi
from torch import nn

from unet_course import augment, checks, model, sizes, weights


# --------------------------------------------------------------------------- sizes (exercise 01)
def conv_off_by_one(n, kernel_size=3):
    if n < kernel_size:
        raise ValueError("too small")
    return n - kernel_size


def conv_float(n, kernel_size=3):
    if n < kernel_size:
        raise ValueError("too small")
    return n - kernel_size + 1.0


def conv_no_validation(n, kernel_size=3):
    return n - kernel_size + 1


def output_true_division(n, depth=4):
    for _ in range(depth):
        n -= 4
        if n <= 0 or n % 2:
            raise ValueError("invalid")
        n /= 2
    n -= 4
    for _ in range(depth):
        n = 2 * n - 4
    return n


def output_same_padding(n, depth=4):
    return n


def output_returns_true(n, depth=4):
    sizes.output_size(n, depth)
    return True


def valid_as_int(n, depth=4):
    return int(sizes.is_valid_input_size(n, depth))


def valid_raises(n, depth=4):
    return sizes.output_size(n, depth) > 0


def input_for_off_by_four(out, depth=4):
    return sizes.input_size_for(out, depth) + 4


# --------------------------------------------------------------------------- crops and blocks (02, 03)
def crop_off_by_one(x, size):
    h, w = (size, size) if isinstance(size, int) else size
    if h > x.shape[-2] or w > x.shape[-1] or (x.shape[-2] - h) % 2 or (x.shape[-1] - w) % 2:
        raise ValueError("bad size")
    top, left = (x.shape[-2] - h) // 2 + 1, (x.shape[-1] - w) // 2 + 1
    return x[..., top:top + h, left:left + w]


def crop_square_only(x, size):
    h = size if isinstance(size, int) else size[0]
    return model.center_crop(x, h)


class PaddedBlock(nn.Module):  # 'same' padding: the paper's convs are unpadded
    def __init__(self, c_in, c_out):
        super().__init__()
        self.conv1, self.conv2 = nn.Conv2d(c_in, c_out, 3, padding=1), nn.Conv2d(c_out, c_out, 3, padding=1)

    def forward(self, x):
        return F.relu(self.conv2(F.relu(self.conv1(x))))


class NoSecondRelu(nn.Module):
    def __init__(self, c_in, c_out):
        super().__init__()
        self.conv1, self.conv2 = nn.Conv2d(c_in, c_out, 3), nn.Conv2d(c_out, c_out, 3)

    def forward(self, x):
        return self.conv2(F.relu(self.conv1(x)))


class _Up(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.up = nn.ConvTranspose2d(c, c // 2, 2, stride=2)
        self.conv1, self.conv2 = nn.Conv2d(c, c // 2, 3), nn.Conv2d(c // 2, c // 2, 3)

    def convs(self, x):
        return F.relu(self.conv2(F.relu(self.conv1(x))))


class UpCropsBothAxesByTheWidthOffset(_Up):
    """Right on square maps, wrong on a 6x10 input with a 20x20 skip map."""
    def forward(self, x, skip):
        x = self.up(x)
        off = (skip.shape[-1] - x.shape[-1]) // 2
        skip = skip[..., off:off + x.shape[-2], off:off + x.shape[-1]]
        return self.convs(torch.cat([skip, x], dim=1))


class UpCropsTheCorner(_Up):
    def forward(self, x, skip):
        x = self.up(x)
        return self.convs(torch.cat([skip[..., :x.shape[-2], :x.shape[-1]], x], dim=1))


class UpConcatWrongOrder(_Up):
    def forward(self, x, skip):
        x = self.up(x)
        return self.convs(torch.cat([x, model.center_crop(skip, x.shape[-2:])], dim=1))


class UpBilinear(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv1, self.conv2 = nn.Conv2d(c, c // 2, 3), nn.Conv2d(c // 2, c // 2, 3)

    def forward(self, x, skip):
        x = F.interpolate(x, scale_factor=2, mode="bilinear")[:, : x.shape[1] // 2]
        return F.relu(self.conv2(F.relu(self.conv1(torch.cat([model.center_crop(skip, x.shape[-2:]), x], 1)))))


# --------------------------------------------------------------------------- fan-in, He (04)
def kaiming_fan_in(layer):  # torch's rule: weight.shape[1] * k * k, out_channels for ConvTranspose2d
    return nn.init._calculate_fan_in_and_fan_out(layer.weight)[0]


def fan_in_out_channels(layer):
    if isinstance(layer, nn.Linear):
        return layer.out_features
    return layer.out_channels * math.prod(layer.kernel_size)


def fan_in_true(layer):
    return model.fan_in(layer) > 0


def fan_in_float(layer):
    return float(model.fan_in(layer))


def he_std_no_two(layer):
    return math.sqrt(1 / model.fan_in(layer))


def he_std_variance(layer):
    return 2 / model.fan_in(layer)


def he_std_true(layer):
    return True


# --------------------------------------------------------------------------- weight map (05)
def _distances(instances):
    ids = [k for k in np.unique(instances) if k != 0]
    return np.sort(np.stack([ndi.distance_transform_edt(instances != k) for k in ids]), axis=0) if ids else None


def border_wrong_sigma(instances, w0=10.0, sigma=5.0):  # 2 sigma instead of 2 sigma^2
    d = _distances(instances)
    if d is None or len(d) < 2:
        return np.zeros(instances.shape)
    return np.where(instances == 0, w0 * np.exp(-(d[0] + d[1]) ** 2 / (2 * sigma)), 0.0)


def border_edt_inside(instances, w0=10.0, sigma=5.0):  # edt(instances == k): distances INSIDE cell k
    ids = [k for k in np.unique(instances) if k != 0]
    if len(ids) < 2:
        return np.zeros(instances.shape)
    d = np.sort(np.stack([ndi.distance_transform_edt(instances == k) for k in ids]), axis=0)
    return np.where(instances == 0, w0 * np.exp(-(d[0] + d[1]) ** 2 / (2 * sigma ** 2)), 0.0)


def border_integer(instances, w0=10.0, sigma=5.0):
    return weights.border_weights(instances, w0, sigma).astype(np.int64)


def border_on_cells_too(instances, w0=10.0, sigma=5.0):
    d = _distances(instances)
    if d is None or len(d) < 2:
        return np.zeros(instances.shape)
    return w0 * np.exp(-(d[0] + d[1]) ** 2 / (2 * sigma ** 2))


def balance_inverse_count(mask):
    _, inverse, counts = np.unique(mask, return_inverse=True, return_counts=True)
    return (1.0 / counts)[inverse.reshape(np.shape(mask))]


# --------------------------------------------------------------------------- elastic field (06)
def dense_xy(coarse, shape):
    h, w = shape
    gy, gx = coarse.shape[1:]
    where = np.meshgrid(np.linspace(0, gy - 1, h), np.linspace(0, gx - 1, w))  # indexing="xy"
    return np.stack([ndi.map_coordinates(c, where, order=3, mode="mirror") for c in coarse])


def dense_linear(coarse, shape):
    h, w = shape
    gy, gx = coarse.shape[1:]
    where = np.meshgrid(np.linspace(0, gy - 1, h), np.linspace(0, gx - 1, w), indexing="ij")
    return np.stack([ndi.map_coordinates(c, where, order=1, mode="mirror") for c in coarse])


def dense_swapped_components(coarse, shape):
    return augment.dense_field(coarse, shape)[::-1]


def dense_pixel_grid(coarse, shape):  # control points at the centres of g x g blocks, not on the corners
    h, w = shape
    return np.stack([ndi.zoom(c, (h / c.shape[0], w / c.shape[1]), order=3, mode="grid-mirror", grid_mode=True)
                     for c in coarse])


def warp_backwards(array, field, order=3):
    return augment.warp(array, -field, order, clip=False)


def warp_xy_field(array, field, order=3):
    return augment.warp(array, field[::-1], order, clip=False)


def warp_constant(array, field, order=3):
    h, w = array.shape
    rows, cols = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    a = array.astype(float) if order else array
    return ndi.map_coordinates(a, [rows + field[0], cols + field[1]], order=order, mode="constant")


def warp_always_cubic(array, field, order=3):
    return augment.warp(array, field, 3, clip=False)


def warp_unclipped(array, field, order=3):  # the spline's overshoot kept
    h, w = array.shape
    rows, cols = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    return ndi.map_coordinates(array, [rows + field[0], cols + field[1]], order=order, mode="mirror")



# --------------------------------------------------------------------------- energy, SGD (07)
def energy_log_of_softmax(logits, target, weight):  # the unstable form: -inf once p rounds to 0
    log_p = torch.log(torch.softmax(logits, dim=1)).gather(1, target[:, None])[:, 0]
    return -(weight * log_p).sum() / log_p.numel()


def energy_log_of_softmax_plus_eps(logits, target, weight):  # finite, but wrong for large logits
    log_p = torch.log(torch.softmax(logits, dim=1) + 1e-12).gather(1, target[:, None])[:, 0]
    return -(weight * log_p).sum() / log_p.numel()


def sgd_step_with_the_old_buffer(param, grad, buffer, lr, momentum):  # step 1 right, then one step late
    if buffer is None:
        return param - lr * grad, grad.clone()
    return param - lr * buffer, momentum * buffer + grad


def sgd_buffer_updated_after_the_step(param, grad, buffer, lr, momentum):
    buffer = grad.clone() if buffer is None else buffer
    return param - lr * buffer, momentum * buffer + grad


# --------------------------------------------------------------------------- metrics (09), after (10)
def rand_f_singletons_left_out(pred_mask, label_mask):
    pred_cells, true_cells = ndi.label(pred_mask)[0], ndi.label(label_mask)[0]
    t, p = true_cells[true_cells > 0], pred_cells[true_cells > 0]
    pairs = np.unique(np.stack([t[p > 0], p[p > 0]]), axis=1, return_counts=True)[1].astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.sum(pairs ** 2) / np.sum(np.bincount(p[p > 0]).astype(float) ** 2)
        recall = np.sum(pairs ** 2) / np.sum(np.bincount(t).astype(float) ** 2)
        return float(2 * precision * recall / (precision + recall))


def dice_eps_alone_divided(prob, target, eps=1e-6):
    p, y = prob.flatten(1), target.flatten(1)
    return 2 * (p * y).sum(1) + eps / (p.sum(1) + y.sum(1) + eps)


def dice_divided_by_prob_sum_alone(prob, target, eps=1e-6):
    p, y = prob.flatten(1), target.flatten(1)
    return (2 * (p * y).sum(1) + eps) / p.sum(1) + y.sum(1) + eps


def fan_in_transposed_is_in_channels(layer):  # right for the paper's 2x2 stride-2 up-conv only
    if isinstance(layer, nn.ConvTranspose2d):
        return layer.in_channels
    return model.fan_in(layer)


# --------------------------------------------------------------------------- exercise 00
def mirror_repeats_edge(i, n):
    return int(np.pad(np.arange(n), abs(i) + n, mode="symmetric")[i + abs(i) + n])


def mirror_float(i, n):
    return float(np.pad(np.arange(n), abs(i) + n, mode="reflect")[i + abs(i) + n])


def pad_symmetric(image, pad):
    return np.pad(image, pad, mode="symmetric")


def pad_list(image, pad):
    return np.pad(image, pad, mode="reflect").tolist()


CATALOGUE = [
    # (check, wrong answer, words the message must contain)
    ("check_conv_output_size", conv_off_by_one, ["conv_output_size(572, kernel_size=3): expected 570, got 569"]),
    ("check_conv_output_size", conv_float, ["expected the integer 570, got the float 570.0", "use //"]),
    ("check_conv_output_size", conv_no_validation, ["expected a ValueError", "your function returned"]),
    ("check_output_size", output_true_division, ["output_size(572, depth=4): expected the integer 388, got the float 388.0"]),
    ("check_output_size", output_same_padding, ["output_size(572, depth=4): expected 388, got 572"]),
    ("check_output_size", output_returns_true, ["expected the integer 388, got the bool True"]),
    ("check_is_valid_input_size", valid_as_int, ["expected a bool (True), got the int 1"]),
    ("check_is_valid_input_size", valid_raises, ["is_valid_input_size(570, depth=4) raised ValueError", "(expected False)"]),
    ("check_input_size_for", input_for_off_by_four, ["input_size_for(388, depth=4): expected 572, got 576"]),
    ("check_center_crop", crop_off_by_one, ["values differ", "is the window centred?"]),
    ("check_center_crop", crop_square_only, ["(6, 8)", "expected shape"]),
    ("check_conv_block", PaddedBlock, ["padding (1, 1) instead of (0, 0)", "unpadded"]),
    ("check_conv_block", NoSecondRelu, ["negative values", "ReLU follow EACH 3x3 conv"]),
    ("check_up_step", UpCropsBothAxesByTheWidthOffset, ["size=(6, 10), skip_size=(20, 20)", "CENTRE of the skip map"]),
    ("check_up_step", UpCropsTheCorner, ["CENTRE of the skip map"]),
    ("check_up_step", UpConcatWrongOrder, ["you concatenate [up-sampled, skip]", "torch.cat([skip, x], dim=1)"]),
    ("check_up_step", UpBilinear, ["should have 1 ConvTranspose2d layer(s), yours has 0", "nn.ConvTranspose2d"]),
    ("check_fan_in", kaiming_fan_in, ["ConvTranspose2d(1024, 512", "expected 1024, got 2048", "twice the answer"]),
    ("check_fan_in", fan_in_out_channels, ["expected 9, got 576", "OUTPUT channels, 64", "in_channels"]),
    ("check_fan_in", fan_in_true, ["expected the integer 9, got the bool True"]),
    ("check_fan_in", fan_in_float, ["expected the integer 9, got the float 9.0"]),
    ("check_he_std", he_std_no_two, ["sqrt(1/N)", "factor 2"]),
    ("check_he_std", he_std_variance, ["that is the variance 2/N"]),
    ("check_he_std", he_std_true, ["expected the number 0.471405, got the bool True"]),
    ("check_border_weights", border_wrong_sigma, ["w0·exp(−(d1 + d2)²/(2σ²))"]),
    ("check_border_weights", border_edt_inside, ["got w0 = 10", "distance_transform_edt(instances != k)"]),
    ("check_border_weights", border_integer, ["your weights are integers"]),
    ("check_border_weights", border_on_cells_too, ["a pixel of cell", "expected 0 (the border term is 0 on cell pixels)"]),
    ("check_class_balance_weights", balance_inverse_count, ["N / (n_classes · N_class)"]),
    ("check_dense_field", dense_xy, ["height and width are swapped", "indexing='ij'"]),
    ("check_dense_field", dense_linear, ["the corners are right; use a cubic spline"]),
    ("check_dense_field", dense_swapped_components, ["field[0] must hold the row (y) displacements"]),
    ("check_dense_field", dense_pixel_grid, ["corner pixels must sit ON the corner control points"]),
    ("check_warp", warp_backwards, ["you move the image the other way"]),
    ("check_warp", warp_xy_field, ["field[0] holds the row (y) displacements"]),
    ("check_warp", warp_constant, ["use mode='mirror'"]),
    ("check_warp", warp_always_cubic, ["your result is order-3 interpolation, but this call asked for order=1"]),
    ("check_warp", warp_unclipped, ["values outside the input's range", "overshoots",
                                    "np.clip(out, array.min(), array.max())"]),
    ("check_weighted_cross_entropy", energy_log_of_softmax, [
        "large logits", "got inf or nan", "rounds to exactly 0", "torch.log(0) = -inf",
        "torch.log(torch.softmax(...)) is unstable", "F.log_softmax(logits, dim=1)"]),
    ("check_weighted_cross_entropy", energy_log_of_softmax_plus_eps, [
        "right for moderate logits but not for large ones", "epsilon", "F.log_softmax"]),
    ("check_sgd_momentum_step", sgd_step_with_the_old_buffer, [
        "at step 2", "the buffer of the PREVIOUS step", "first the buffer, v = m·v + g, then the step"]),
    ("check_sgd_momentum_step", sgd_buffer_updated_after_the_step, [
        "at step 1", "the buffer was updated AFTER the step"]),
    ("check_rand_f_score", rand_f_singletons_left_out, [
        "got nan", "a segment of its own (a singleton)", "add 1 per such pixel to S_ab and to S_b",
        "S_b = 0"]),
    ("check_dice_coefficient", dice_eps_alone_divided, [
        "got 60", "lies between 0 and 1", "check the parentheses", "you divided only eps"]),
    ("check_dice_coefficient", dice_divided_by_prob_sum_alone, [
        "check the parentheses", "you divided by Σ p alone"]),
    ("check_fan_in", fan_in_transposed_is_in_channels, [
        "ConvTranspose2d(16, 8, kernel_size=(4, 4), stride=(2, 2))", "expected 64, got 16",
        "in_channels alone", "ceil(4/2) x ceil(4/2) = 4 input pixels per input channel"]),
    ("check_mirror_index", mirror_repeats_edge, ["mirror_index(-1, 4): expected 1, got 0", "is the edge pixel repeated?"]),
    ("check_mirror_index", mirror_float, ["expected the integer 1, got the float 1.0"]),
    ("check_mirror_pad", pad_symmetric, ["values differ"]),
    ("check_mirror_pad", pad_list, ["expected a numpy array, got"]),
]


@pytest.mark.parametrize("check, wrong, words", CATALOGUE,
                         ids=[f"{c}-{getattr(w, '__name__', w)}" for c, w, _ in CATALOGUE])
def test_each_wrong_answer_is_rejected_with_a_specific_message(check, wrong, words, capsys):
    result = getattr(checks, check)(wrong)
    out = capsys.readouterr().out
    assert not result and result.status == "failed", out
    assert out.startswith("✗ ") and out.count("\n") == 1, out
    for word in words:
        assert word in result.message, f"{word!r} not in {result.message!r}"


def test_every_check_is_in_the_catalogue():
    """A new check in the modules this catalogue covers gets a wrong answer here too."""
    covered = {c for c, _, _ in CATALOGUE}
    mine = {n for module in ("sizes", "model", "weights", "augment", "data")
            for n in getattr(checks, module).__all__}
    assert mine <= covered, f"no wrong answer for {sorted(mine - covered)}"


def test_the_large_logits_case_breaks_the_naive_log_of_softmax():
    """The premise of the energy check's last case: there torch.log(torch.softmax(...)) is
    infinite while log_softmax (the reference) is finite."""
    from unet_course.checks import train
    [(logits, target, weight, _)] = [c for c in train._energy_cases() if c[3] == train.LARGE]
    assert not torch.isfinite(energy_log_of_softmax(logits, target, weight))
    assert torch.isfinite(train._energy_reference(logits, target, weight, train.LARGE))


def test_the_sharp_edged_case_needs_the_clip():
    """The premise of the warp check's last case: an unclipped cubic warp leaves the input's range."""
    from unet_course.checks import augment as warp_checks
    board, field, order = warp_checks._warp_cases()[-1]
    unclipped = warp_unclipped(board, field, order)
    assert unclipped.min() < board.min() - 0.01 and unclipped.max() > board.max() + 0.01
