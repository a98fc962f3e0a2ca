"""Lesson 10's networks and losses: U-Net++ (nested skips, deep supervision, pruning),
DeepLabV3+ (shapes, atrous rates), BCE + Dice, the generic training loop, Mask R-CNN's skip."""
import math

import numpy as np
import pytest
import torch
from scipy.spatial.distance import dice as scipy_dice_dissimilarity

from unet_course.after import (DeepLabV3Plus, UNetPlusPlus, bce_dice_loss, deep_supervision_loss,
                               dice_coefficient, dice_loss, fit, nested_node, node_names,
                               predict_instances, predict_probabilities, targets_for,
                               unetpp_parameter_count)
from unet_course.after import maskrcnn
from unet_course.loss import weighted_cross_entropy
from unet_course.model import DoubleConv, UpConv, count_parameters

torch.set_num_threads(1)


# --------------------------------------------------------------------------- U-Net++

def test_nodes_are_those_with_i_plus_j_at_most_depth():
    assert node_names(1) == [(0, 0), (1, 0), (0, 1)]
    assert len(node_names(4)) == 15 and all(i + j <= 4 for i, j in node_names(4))


@pytest.mark.parametrize("depth,base,classes", [(1, 4, 2), (2, 8, 3), (4, 16, 2), (4, 32, 2)])
def test_unetpp_parameter_count_by_formula(depth, base, classes):
    model = UNetPlusPlus(num_classes=classes, depth=depth, base_channels=base)
    assert count_parameters(model) == unetpp_parameter_count(1, classes, depth, base)


def test_unetpp_l1_by_hand():
    # X00: 1->4->4, X10: 4->8->8, X01: up 8->4 (2x2) + (4+4)->4->4, one head 4->2
    conv = lambda k, a, b: k * k * a * b + b  # noqa: E731
    by_hand = (conv(3, 1, 4) + conv(3, 4, 4) + conv(3, 4, 8) + conv(3, 8, 8)
               + conv(2, 8, 4) + conv(3, 8, 4) + conv(3, 4, 4) + conv(1, 4, 2))
    assert unetpp_parameter_count(depth=1, base_channels=4) == by_hand


def test_unetpp_shapes_and_heads():
    model = UNetPlusPlus(depth=3, base_channels=4, num_classes=3)
    x = torch.randn(2, 1, 24, 40)
    heads = model.forward_heads(x)
    assert len(heads) == 3 and all(h.shape == (2, 3, 24, 40) for h in heads)
    assert torch.allclose(model(x), heads[-1], atol=1e-6)
    assert torch.allclose(model(x, level=2), heads[1], atol=1e-6)


def test_pruned_levels_reuse_the_weights_and_shrink():
    torch.manual_seed(0)
    model = UNetPlusPlus(depth=4, base_channels=4)
    x = torch.randn(1, 1, 32, 32)
    counts = []
    for level in range(1, 5):
        small = model.pruned(level)
        assert small.depth == level
        assert torch.allclose(small(x), model(x, level=level), atol=1e-6)
        counts.append(count_parameters(small))
        assert counts[-1] == unetpp_parameter_count(depth=level, base_channels=4)
    assert counts == sorted(counts) and len(set(counts)) == 4
    with pytest.raises(ValueError, match="level"):
        model.pruned(5)


def test_nested_node_concatenates_the_row_then_the_upsampled_map():
    torch.manual_seed(0)
    up, conv = UpConv(8, 4), DoubleConv(12, 4, padding="same")
    row = [torch.randn(1, 4, 8, 8), torch.randn(1, 4, 8, 8)]
    below = torch.randn(1, 8, 4, 4)
    expected = conv(torch.cat([row[0], row[1], up(below)], 1))
    assert torch.allclose(nested_node(row, below, up, conv), expected)


def test_unetpp_rejects_bad_sizes_and_levels():
    model = UNetPlusPlus(depth=2, base_channels=4)
    with pytest.raises(ValueError, match="divisible by 4"):
        model(torch.zeros(1, 1, 30, 32))
    with pytest.raises(ValueError, match="level"):
        model(torch.zeros(1, 1, 32, 32), level=3)
    with pytest.raises(ValueError, match="depth"):
        UNetPlusPlus(depth=0)


# --------------------------------------------------------------------------- DeepLabV3+

@pytest.mark.parametrize("stride", [8, 16])
def test_deeplab_output_has_input_size(stride):
    model = DeepLabV3Plus(base_channels=4, output_stride=stride, num_classes=3).eval()
    assert model(torch.randn(2, 1, 64, 48)).shape == (2, 3, 64, 48)
    assert model.rates == ((6, 12, 18) if stride == 16 else (12, 24, 36))


def test_deeplab_rejects_bad_stride_and_size():
    with pytest.raises(ValueError, match="output_stride"):
        DeepLabV3Plus(output_stride=4)
    with pytest.raises(ValueError, match="divisible"):
        DeepLabV3Plus(base_channels=4)(torch.zeros(1, 1, 40, 40))


def test_separable_convs_are_cheaper_than_full_convs():
    model = DeepLabV3Plus(base_channels=16)
    depthwise = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d) and m.groups > 1]
    assert depthwise and all(m.groups == m.in_channels == m.out_channels for m in depthwise)
    # a separable 3x3 (9 C + C C') has fewer weights than a full 3x3 (9 C C') for C' > 1
    assert 9 * 128 + 128 * 128 < 9 * 128 * 128


# --------------------------------------------------------------------------- Dice and BCE

def test_dice_of_binary_masks_is_scipy_dice():
    rng = np.random.default_rng(0)
    a, b = rng.random((3, 10, 10)) > 0.5, rng.random((3, 10, 10)) > 0.6
    ours = dice_coefficient(torch.tensor(a, dtype=torch.float32), torch.tensor(b), eps=0)
    for k in range(3):
        assert math.isclose(float(ours[k]), 1 - scipy_dice_dissimilarity(a[k].ravel(), b[k].ravel()),
                            rel_tol=1e-6)


def test_dice_properties():
    y = (torch.rand(2, 8, 8) > 0.5).float()
    assert torch.allclose(dice_coefficient(y, y), torch.ones(2))
    assert torch.allclose(dice_coefficient(1 - y, y, eps=0), torch.zeros(2))
    empty = torch.zeros(1, 4, 4)
    assert float(dice_coefficient(empty, empty)) == 1.0          # eps: no cells, none predicted
    p = torch.rand(2, 8, 8)
    assert torch.allclose(dice_coefficient(p, y), dice_coefficient(y, p))  # symmetric
    with pytest.raises(ValueError, match="same shape"):
        dice_coefficient(p, y[:1])


def test_bce_dice_is_half_cross_entropy_plus_one_minus_dice():
    torch.manual_seed(0)
    logits, target = torch.randn(2, 2, 6, 6), (torch.rand(2, 6, 6) > 0.5).long()
    p = torch.softmax(logits, 1)[:, 1]
    bce = torch.nn.functional.binary_cross_entropy(p, target.float())
    expected = 0.5 * bce + 1 - dice_coefficient(p, target).mean()
    assert torch.allclose(bce_dice_loss(logits, target), expected, atol=1e-5)
    perfect = torch.stack([-20 * (target * 2 - 1), 20 * (target * 2 - 1)], 1).float()
    assert float(bce_dice_loss(perfect, target)) < 1e-4
    with pytest.raises(ValueError, match="two-class"):
        dice_loss(torch.randn(1, 3, 4, 4), target[:1, :4, :4])


def test_deep_supervision_averages_the_heads():
    torch.manual_seed(0)
    target = (torch.rand(1, 8, 8) > 0.5).long()
    heads = [torch.randn(1, 2, 8, 8) for _ in range(3)]
    each = [weighted_cross_entropy(h, target) for h in heads]
    assert torch.allclose(deep_supervision_loss(heads, target, loss=weighted_cross_entropy),
                          sum(each) / 3)
    with pytest.raises(ValueError):
        deep_supervision_loss([], target)


def test_deep_supervision_sends_gradients_to_every_head():
    model = UNetPlusPlus(depth=2, base_channels=4)
    x, target = torch.randn(1, 1, 16, 16), (torch.rand(1, 16, 16) > 0.5).long()
    deep_supervision_loss(model.forward_heads(x), target).backward()
    assert all(h.weight.grad is not None and h.weight.grad.abs().sum() > 0 for h in model.heads)


# --------------------------------------------------------------------------- training loop

@pytest.fixture(scope="module")
def cells():
    from unet_course.data import synthetic_dataset
    data = synthetic_dataset(2, 96, seed=3)
    return list(data.image), list(data.instances)


def test_fit_trains_a_padded_network_and_lowers_the_loss(cells):
    images, instances = cells
    targets, weights = targets_for(instances)
    torch.manual_seed(0)   # the network's initial weights (fit's seed draws the tiles, drop-out)
    model = DeepLabV3Plus(base_channels=4, output_stride=16)
    result = fit(model, images, targets, weights, steps=12, tile=64, batch=2, lr=3e-3, seed=1,
                 validate=lambda m: {"dummy": 1.0}, val_every=5)
    assert result.steps == 12 and not result.model.training
    losses = [h["loss"] for h in result.history]
    assert np.mean(losses[-3:]) < np.mean(losses[:3])
    assert "val_dummy" in result.history[4] and "val_dummy" in result.history[-1]
    p = predict_probabilities(result.model, images[0])
    assert p.shape == images[0].shape and 0 <= p.min() and p.max() <= 1
    assert predict_instances(result.model, images[0]).dtype == np.int32


def test_fit_deep_supervision_and_valid_unet(cells):
    from unet_course.normalize import StandardizedUNet
    images, instances = cells
    targets, weights = targets_for(instances, weight_map=False)
    assert all((w == 1).all() for w in weights)
    r = fit(UNetPlusPlus(depth=2, base_channels=4), images, targets, weights, steps=2, tile=32,
            batch=1, loss="bce_dice", deep_supervision=True)
    assert r.steps == 2
    unet = StandardizedUNet(depth=2, base_channels=4)
    r = fit(unet, images, targets, steps=2, tile=92, batch=1)   # 92 -> 52 at depth 2
    assert r.steps == 2 and predict_probabilities(r.model, images[0]).shape == images[0].shape


def test_fit_rejects_bad_settings(cells):
    images, instances = cells
    targets, _ = targets_for(instances)
    with pytest.raises(ValueError, match="steps or seconds"):
        fit(DeepLabV3Plus(base_channels=4), images, targets)
    with pytest.raises(ValueError, match="loss"):
        fit(DeepLabV3Plus(base_channels=4), images, targets, steps=1, loss="l2")
    with pytest.raises(ValueError, match="forward_heads"):
        fit(DeepLabV3Plus(base_channels=4), images, targets, steps=1, deep_supervision=True)
    with pytest.raises(ValueError, match="divisible"):
        fit(DeepLabV3Plus(base_channels=4), images, targets, steps=1, tile=60)


def test_fit_stops_on_a_cpu_time_budget(cells):
    images, instances = cells
    targets, _ = targets_for(instances)
    r = fit(DeepLabV3Plus(base_channels=4), images, targets, seconds=0.5, tile=32, batch=1)
    assert r.steps >= 1 and r.seconds >= 0.5


def test_fit_uses_the_unet_train_step_with_the_model_loss(cells, monkeypatch):
    """One loop for every network: fit calls unet_course.train's train_step with a loss_fn."""
    import unet_course.train.loop as loop
    images, instances = cells
    targets, weights = targets_for(instances)
    calls = []
    real = loop.train_step
    monkeypatch.setattr(loop, "train_step", lambda *a, **k: calls.append(k) or real(*a, **k))
    fit(DeepLabV3Plus(base_channels=4), images, targets, weights, steps=2, tile=32, batch=1)
    assert len(calls) == 2 and all(callable(k["loss_fn"]) for k in calls)


def test_fit_names_the_step_of_a_non_finite_loss(cells):
    from unet_course.train import TrainingDiverged
    images, instances = cells
    targets, weights = targets_for(instances)
    model = DeepLabV3Plus(base_channels=4)
    with torch.no_grad():
        next(model.parameters()).fill_(float("nan"))   # NaN logits, NaN loss
    with pytest.raises(FloatingPointError, match="step 1 .*learning rate") as info:
        fit(model, images, targets, weights, steps=2, tile=32, batch=1)
    assert isinstance(info.value, TrainingDiverged)    # the U-Net loop's own error


def _unetpp_fit(cells, steps, out, resume=False):
    images, instances = cells
    targets, weights = targets_for(instances)
    torch.manual_seed(0)                                # the same initial weights every time
    return fit(UNetPlusPlus(depth=2, base_channels=4), images, targets, weights, steps=steps,
               tile=32, batch=2, loss="bce_dice", deep_supervision=True, seed=2, val_every=2,
               validate=lambda m: {"head_mean": float(m(torch.zeros(1, 1, 32, 32)).mean())},
               out=out, resume=resume)


def test_fit_is_the_unet_loop_checkpoints_and_bitwise_resume_included(cells, tmp_path):
    """Issue 24: U-Net++ goes through train(): run folder, checkpoints, exact resume."""
    import json
    from unet_course.train.state import read_state
    whole = _unetpp_fit(cells, 4, tmp_path / "whole")
    _unetpp_fit(cells, 2, tmp_path / "part")
    resumed = _unetpp_fit(cells, 4, tmp_path / "part", resume=True)
    assert [h["loss"] for h in resumed.history] == [h["loss"] for h in whole.history][2:]
    assert resumed.history[-1]["val_head_mean"] == whole.history[-1]["val_head_mean"]
    for p, q in zip(whole.model.state_dict().values(), resumed.model.state_dict().values()):
        assert torch.equal(p, q)
    part = tmp_path / "part"
    assert sorted(p.name for p in part.iterdir()) == ["checkpoint.pt", "config.json",
                                                      "metrics.csv"]   # no model.pt: not a UNet
    saved = read_state(part / "checkpoint.pt")
    assert saved["model"]["network"] == "UNetPlusPlus" and saved["step"] == 4
    config = json.loads((part / "config.json").read_text())
    assert config["network"] == "UNetPlusPlus" and config["optimizer"] == "adam"
    assert config["data"].startswith("given") and "train_images" not in config
    assert len((part / "metrics.csv").read_text().splitlines()) == 1 + 4


def test_train_names_what_a_foreign_network_needs_before_training():
    from unet_course.train import make_config, train
    cfg = make_config("cpu", steps=1, base_channels=4, tile=188, batch=1, train_images=1,
                      val_images=1, image_size=64)
    with pytest.raises(ValueError, match="UNetPlusPlus has no .padding.*pass validate="):
        train(cfg, model=UNetPlusPlus(depth=2, base_channels=4), progress=False)


# --------------------------------------------------------------------------- transfer

def test_compare_transfer_starts_both_runs_alike_but_for_the_weights():
    import os
    from pathlib import Path
    from unet_course.after.transfer import compare_transfer
    from unet_course.normalize import StandardizedUNet
    root = Path(os.environ.get("UNET_COURSE_ISBI2012", ""))
    if not (root / "train" / "image" / "00.png").is_file():
        pytest.skip(f"no local ISBI 2012 copy at {root} (set UNET_COURSE_ISBI2012)")
    pretrained = StandardizedUNet(base_channels=2, depth=2)
    before = {k: v.clone() for k, v in pretrained.state_dict().items()}
    runs = compare_transfer(pretrained, seconds=0.3, train_slices=(0,), held_out=(29,), watch=29,
                            val_every=1, root=root)
    assert [r.name for r in runs] == ["pre-trained", "from scratch"]
    for run in runs:
        assert run.steps >= 1 and run.curve[0][0] == 0 and len(run.curve) == run.steps + 1
        assert 0 <= run.final["pixel_error"] <= 1 and 0 <= run.final["foreground_iou"] <= 1
        assert 0 <= run.final["misclassification_rate"] <= 1
    # the caller's model is copied, not fine-tuned in place
    assert all(torch.equal(v, pretrained.state_dict()[k]) for k, v in before.items())
    with pytest.raises(ValueError, match="also held out"):
        compare_transfer(pretrained, 1, train_slices=(0, 25), root=root)


def test_compare_transfer_trains_the_same_network_from_scratch(monkeypatch):
    """A batch-norm model (the course model's kind) is compared with a batch-norm network from
    He initialisation, not with Fig. 1's blocks: the weights are the only difference."""
    import os
    import sys
    from pathlib import Path
    from unet_course.after.transfer import compare_transfer
    from unet_course.normalize import StandardizedUNet
    root = Path(os.environ.get("UNET_COURSE_ISBI2012", ""))
    if not (root / "train" / "image" / "00.png").is_file():
        pytest.skip(f"no local ISBI 2012 copy at {root} (set UNET_COURSE_ISBI2012)")
    fit_module = sys.modules["unet_course.after.fit"]
    trained, real_fit = [], fit_module.fit
    monkeypatch.setattr(fit_module, "fit", lambda model, *a, **k: (trained.append(model), real_fit(model, *a, **k))[1])
    pretrained = StandardizedUNet(base_channels=2, depth=2, batch_norm=True, dropout=0.25)
    compare_transfer(pretrained, seconds=0.2, train_slices=(0,), held_out=(29,), watch=29, root=root)
    assert len(trained) == 2
    tuned, scratch = trained
    assert (scratch.batch_norm, scratch.dropout, scratch.base_channels) == (True, 0.25, 2)
    assert [k for k in tuned.state_dict()] == [k for k in scratch.state_dict()]


# --------------------------------------------------------------------------- Mask R-CNN

def test_instance_targets_boxes_and_masks():
    inst = np.zeros((6, 7), np.int32)
    inst[1:3, 2:5] = 4
    inst[5, 0] = 9
    t = maskrcnn.instance_targets(inst)
    assert t["boxes"].tolist() == [[2, 1, 5, 3], [0, 5, 1, 6]]
    assert t["labels"].tolist() == [1, 1] and t["masks"].shape == (2, 6, 7)
    assert int(t["masks"][0].sum()) == 6
    empty = maskrcnn.instance_targets(np.zeros((4, 4), int))
    assert empty["boxes"].shape == (0, 4) and empty["masks"].shape == (0, 4, 4)


def test_maskrcnn_skips_with_a_clear_message_when_torchvision_is_missing(monkeypatch):
    import builtins
    real_import = builtins.__import__

    def no_torchvision(name, *args, **kwargs):
        if name.startswith("torchvision"):
            raise ImportError("No module named 'torchvision'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_torchvision)
    ok, message = maskrcnn.torchvision_status()
    assert not ok and "Mask R-CNN skipped" in message and "optional" in message
    with pytest.raises(maskrcnn.MaskRCNNUnavailable, match="torchvision"):
        maskrcnn.maskrcnn_model()


def test_maskrcnn_skips_when_torchvision_ops_do_not_load(monkeypatch):
    import sys
    import types
    fake = types.ModuleType("torchvision")
    fake.__version__ = "0.0-broken"
    ops = types.ModuleType("torchvision.ops")

    def nms(*args):
        raise RuntimeError("operator torchvision::nms does not exist")

    ops.nms = nms
    fake.ops = ops
    monkeypatch.setitem(sys.modules, "torchvision", fake)
    monkeypatch.setitem(sys.modules, "torchvision.ops", ops)
    ok, message = maskrcnn.torchvision_status()
    assert not ok and "torchvision::nms does not exist" in message


def test_core_package_does_not_import_torchvision():
    import subprocess
    import sys
    code = ("import sys, unet_course.after, unet_course.after.maskrcnn, unet_course.data; "
            "assert 'torchvision' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)
