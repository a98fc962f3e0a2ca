"""Tests for unet_course.model (the network of Fig. 1) and its learner checks (lessons 02-04)."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st
from torch import nn
from torch.nn import functional as F

from unet_course import checks, model, sizes
from unet_course.model import UNet, center_crop, count_parameters, fan_in, he_init_


@pytest.fixture(scope="module")
def paper_net():
    torch.manual_seed(0)
    return UNet()


def tiny(**kwargs):
    """A narrow network (base 2) that runs in milliseconds; same layer structure."""
    torch.manual_seed(0)
    return UNet(base_channels=kwargs.pop("base_channels", 2), **kwargs).eval()


# --------------------------------------------------------------------------- the paper's numbers

def test_parameter_counts_match_the_paper(paper_net):
    assert count_parameters(paper_net) == 31_030_658
    assert count_parameters(paper_net.contracting) == 18_842_048
    assert count_parameters(paper_net.expanding) == 12_188_480
    assert count_parameters(paper_net.final) == 130
    assert model.paper_parameter_counts() == {"contracting": 18_842_048, "expanding": 12_188_480,
                                              "final": 130, "total": 31_030_658}


@pytest.mark.parametrize("in_channels,num_classes,depth,base", [(1, 2, 1, 4), (3, 5, 2, 8), (1, 1, 3, 6),
                                                                (2, 3, 5, 2), (1, 2, 4, 16)])
def test_parameter_formula_matches_counting(in_channels, num_classes, depth, base):
    net = UNet(in_channels, num_classes, depth, base)
    counts = model.paper_parameter_counts(in_channels, num_classes, depth, base)
    assert counts["contracting"] == count_parameters(net.contracting)
    assert counts["expanding"] == count_parameters(net.expanding)
    assert counts["final"] == count_parameters(net.final)
    assert counts["total"] == count_parameters(net)


def test_23_conv_layers(paper_net):
    convs = model.conv_layers(paper_net)
    assert len(convs) == 23
    kinds = [(type(c).__name__, tuple(c.kernel_size)) for c in convs]
    assert kinds.count(("Conv2d", (3, 3))) == 18
    assert sum(isinstance(c, nn.ConvTranspose2d) and c.kernel_size == (2, 2) and c.stride == (2, 2)
               for c in convs) == 4
    assert kinds.count(("Conv2d", (1, 1))) == 1
    # every 3x3 conv is unpadded, every up-conv halves the channels
    assert all(c.padding == (0, 0) for c in convs)
    assert all(c.out_channels * 2 == c.in_channels for c in convs if isinstance(c, nn.ConvTranspose2d))
    # widths of the contracting path: 64 ... 1024
    assert [c.out_channels for c in convs[:10]] == [64, 64, 128, 128, 256, 256, 512, 512, 1024, 1024]


def test_dropout_at_the_end_of_the_contracting_path(paper_net):
    drops = [m for m in paper_net.modules() if isinstance(m, nn.Dropout)]
    assert drops == [paper_net.contracting.dropout] and drops[0].p == 0.5
    assert not any(isinstance(m, nn.Dropout) for m in UNet(dropout=0, base_channels=2).modules())
    assert not any(isinstance(m, nn.Dropout) for m in UNet(dropout=None, base_channels=2).modules())


def test_paper_network_572_to_388_without_computing(paper_net):
    with torch.device("meta"):  # shapes only: no weights drawn, no arithmetic
        meta = UNet()
    out = meta(torch.empty(1, 1, 572, 572, device="meta"))
    assert out.shape == (1, 2, 388, 388)
    assert paper_net.output_size(572) == 388 and paper_net.output_shape(572, 572) == (388, 388)


def test_skip_crops_are_the_papers():
    net = tiny()
    crops = []
    for m in net.modules():
        if isinstance(m, model.CropConcat):
            m.register_forward_hook(lambda mod, inp, out: crops.append((inp[0].shape[-1] - inp[1].shape[-1]) // 2))
    net(torch.zeros(1, 1, 572, 572))
    assert crops[::-1] == sizes.skip_crops(572) == [88, 40, 16, 4]


def test_layer_table_matches_the_size_path():
    rows = model.layer_table(tiny(), torch.zeros(1, 1, 572, 572))
    spatial = [r.shape[-1] for r in rows if r.op in ("conv 3x3", "max-pool 2x2", "up-conv 2x2", "conv 1x1")]
    assert spatial == [layer.size for layer in sizes.size_path(572)][1:]
    assert sum(r.params for r in rows) == count_parameters(tiny())
    text = model.format_layer_table(rows)
    assert "final" in text and "(1, 2, 388, 388)" in text


# --------------------------------------------------------------------------- shapes, depths, variants

@pytest.mark.parametrize("depth", [1, 2, 3, 4, 5])
def test_output_shapes_for_valid_sizes(depth):
    net = tiny(depth=depth)
    for n in sizes.valid_input_sizes(1, 1200, depth)[:2]:
        with torch.no_grad():
            out = net(torch.zeros(1, 1, n, n))
        assert out.shape == (1, 2, sizes.output_size(n, depth), sizes.output_size(n, depth))


def test_non_square_batches_and_channels():
    net = tiny(in_channels=3, num_classes=4)
    with torch.no_grad():
        out = net(torch.rand(3, 3, 252, 572))
    assert out.shape == (3, 4, 68, 388)


def test_forward_is_pure_and_batch_independent():
    net = tiny()
    x = torch.rand(2, 1, 188, 188)
    before = dict(vars(net))
    with torch.no_grad():
        a, b = net(x), net(x)
        single = net(x[1:])
    assert torch.equal(a, b)
    torch.testing.assert_close(a[1:], single, rtol=1e-4, atol=1e-5)
    assert vars(net).keys() == before.keys()


def test_dropout_only_in_train_mode():
    net = tiny()
    x = torch.rand(1, 1, 188, 188)
    with torch.no_grad():
        assert torch.equal(net(x), net(x))
        net.train()
        torch.manual_seed(1)
        first = net(x)
        torch.manual_seed(2)
        assert not torch.equal(first, net(x))


@pytest.mark.parametrize("depth,n", [(1, 2), (2, 12), (4, 16), (4, 64), (4, 256), (3, 40)])
def test_same_padding_keeps_the_size(depth, n):
    net = tiny(depth=depth, padding="same")
    with torch.no_grad():
        assert net(torch.zeros(1, 1, n, n)).shape == (1, 2, n, n)
    assert net.output_size(n) == n
    assert all(c.padding == (1, 1) for c in model.conv_layers(net) if c.kernel_size == (3, 3))


def test_same_padding_error_names_nearest_sizes():
    net = tiny(padding="same")
    with pytest.raises(ValueError, match=r"input size 100 .*same padding.*96 and 112"):
        net(torch.zeros(1, 1, 100, 100))
    with pytest.raises(ValueError, match=r"input size 8 .*16 \(the smallest valid size\)"):
        net.output_size(8)


def test_batch_norm_variant():
    net = tiny(batch_norm=True)
    bns = [m for m in net.modules() if isinstance(m, nn.BatchNorm2d)]
    assert len(bns) == 18
    assert all(c.bias is None for c in model.conv_layers(net) if c.kernel_size == (3, 3))
    assert net.final.bias is not None
    net.train()
    out = net(torch.rand(2, 1, 188, 188))
    assert out.shape == (2, 2, 4, 4)
    out.sum().backward()  # trainable
    assert all(p.grad is not None for p in net.parameters())


# --------------------------------------------------------------------------- errors

@pytest.mark.parametrize("n,nearest", [(570, "556 and 572"), (573, "572 and 588"), (100, "188 (the smallest")])
def test_invalid_size_raises_before_computing(n, nearest):
    net = tiny()
    calls = []
    net.contracting.first.conv1.register_forward_pre_hook(lambda *args: calls.append(1))
    with pytest.raises(ValueError) as info:
        net(torch.zeros(1, 1, n, 572))
    assert f"input size {n}" in str(info.value) and nearest in str(info.value)
    assert calls == []
    # the same error as the sizes module
    with pytest.raises(ValueError) as from_sizes:
        sizes.output_size(n)
    assert str(info.value) == str(from_sizes.value)
    # the width is checked too
    with pytest.raises(ValueError, match=f"input size {n}"):
        net(torch.zeros(1, 1, 572, n))
    assert calls == []


def test_wrong_input_tensors():
    net = tiny()
    with pytest.raises(ValueError, match=r"1 input channel.*3 channels"):
        net(torch.zeros(1, 3, 572, 572))
    with pytest.raises(ValueError, match=r"\(N, C, H, W\).*\(572, 572\)"):
        net(torch.zeros(572, 572))


@pytest.mark.parametrize("kwargs,match", [
    ({"padding": "foo"}, "padding must be 'valid'.*'foo'"), ({"padding": 1}, "padding"),
    ({"depth": 0}, "depth must be an integer >= 1, got 0"), ({"depth": 2.5}, "depth"),
    ({"base_channels": 0}, "base_channels"), ({"in_channels": -1}, "in_channels"),
    ({"num_classes": 0}, "num_classes"), ({"dropout": 1.0}, r"dropout .*\[0, 1\).*1.0"),
    ({"dropout": -0.1}, "dropout"), ({"batch_norm": "yes"}, "batch_norm"), ({"depth": True}, "depth"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        UNet(**kwargs)


# --------------------------------------------------------------------------- center_crop

def test_center_crop_values():
    x = torch.arange(64.).reshape(1, 1, 8, 8)
    assert torch.equal(center_crop(x, 4), x[..., 2:6, 2:6])
    assert torch.equal(center_crop(x, (2, 6)), x[..., 3:5, 1:7])
    assert center_crop(x, 8) is not None and torch.equal(center_crop(x, 8), x)
    assert center_crop(x, 4).data_ptr() == x[..., 2:6, 2:6].data_ptr()  # a view, no copy
    assert center_crop(torch.zeros(2, 64, 568, 568), 392).shape == (2, 64, 392, 392)


@pytest.mark.parametrize("shape,size,match", [
    ((1, 1, 4, 4), 6, r"4x4 .*6x6.*larger"), ((1, 1, 8, 8), 5, r"5x5.*8x8.*\(3, 3\).*even"),
    ((1, 1, 8, 9), (4, 4), r"4x4.*8x9.*\(4, 5\)"), ((1, 1, 8, 8), (4, 10), "larger"),
    ((1, 1, 8, 8), 0, "positive"), ((1, 1, 8, 8), 2.0, "int"), ((1, 1, 8, 8), (1, 2, 3), "pair"),
])
def test_center_crop_errors(shape, size, match):
    with pytest.raises(ValueError, match=match):
        center_crop(torch.zeros(shape), size)


@settings(max_examples=60, deadline=None)
@given(h=st.integers(1, 30), w=st.integers(1, 30), dh=st.integers(0, 10), dw=st.integers(0, 10))
def test_center_crop_property(h, w, dh, dw):
    x = torch.rand(2, 3, h + 2 * dh, w + 2 * dw)
    out = center_crop(x, (h, w))
    assert torch.equal(out, x[:, :, dh:dh + h, dw:dw + w])
    # as many pixels cut on each side
    assert torch.equal(torch.flip(center_crop(torch.flip(x, (2, 3)), (h, w)), (2, 3)), out)


def test_crop_concat_puts_the_skip_map_first():
    skip, up = torch.rand(1, 3, 10, 10), torch.rand(1, 2, 6, 6)
    out = model.CropConcat()(skip, up)
    assert out.shape == (1, 5, 6, 6)
    assert torch.equal(out[:, :3], skip[..., 2:8, 2:8]) and torch.equal(out[:, 3:], up)


def test_blocks():
    block = model.DoubleConv(3, 8)
    x = torch.rand(2, 3, 20, 20)
    expected = F.relu(F.conv2d(F.relu(F.conv2d(x, block.conv1.weight, block.conv1.bias)),
                               block.conv2.weight, block.conv2.bias))
    torch.testing.assert_close(block(x), expected)
    up = model.UpConv(16)
    assert isinstance(up, nn.ConvTranspose2d) and up(torch.rand(1, 16, 5, 7)).shape == (1, 8, 10, 14)
    assert model.Down(8, 16)(torch.rand(1, 8, 20, 20)).shape == (1, 16, 6, 6)
    assert model.Up(16, 8)(torch.rand(1, 16, 6, 6), torch.rand(1, 8, 20, 20)).shape == (1, 8, 8, 8)


# --------------------------------------------------------------------------- He initialisation

def test_fan_in_values():
    assert fan_in(nn.Conv2d(64, 64, 3)) == 576
    assert fan_in(nn.Conv2d(1, 64, 3)) == 9
    assert fan_in(nn.Conv2d(64, 2, 1)) == 64
    assert fan_in(nn.ConvTranspose2d(1024, 512, 2, stride=2)) == 1024
    assert fan_in(model.UpConv(128)) == 128
    assert fan_in(nn.ConvTranspose2d(16, 8, 4, stride=2)) == 64
    assert fan_in(nn.ConvTranspose2d(16, 8, 3, stride=1)) == 144
    assert fan_in(nn.Conv2d(8, 8, 3, groups=4)) == 18
    assert fan_in(nn.Linear(100, 10)) == 100
    with pytest.raises(ValueError, match="ReLU"):
        fan_in(nn.ReLU())


def test_torch_kaiming_fan_in_is_twice_ours_for_up_convs():
    up = nn.ConvTranspose2d(1024, 512, 2, stride=2)
    torch_fan_in, _ = nn.init._calculate_fan_in_and_fan_out(up.weight)
    assert torch_fan_in == 2048 == 2 * fan_in(up)
    conv = nn.Conv2d(64, 128, 3)
    assert nn.init._calculate_fan_in_and_fan_out(conv.weight)[0] == fan_in(conv)


def test_he_init_std_per_layer(paper_net):
    he_init_(paper_net, rng=0)
    measured = 0
    for layer in model.conv_layers(paper_net):
        w = layer.weight.detach()
        assert torch.count_nonzero(layer.bias) == 0
        if w.numel() >= 10_000:  # large enough to measure a std within a few percent
            std = math.sqrt(2 / fan_in(layer))
            assert abs(w.std().item() / std - 1) < 0.03, layer
            assert abs(w.mean().item()) < 0.05 * std
            measured += 1
    assert measured >= 20
    up = paper_net.expanding.ups[0].upconv
    assert abs(up.weight.std().item() - math.sqrt(2 / 1024)) < 0.02 * math.sqrt(2 / 1024)


def test_he_init_is_deterministic_and_resets_batch_norm():
    a, b = he_init_(tiny(), rng=3), he_init_(tiny(), rng=np.random.default_rng(3))
    c = he_init_(tiny(), rng=3)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), c.parameters()))
    assert not all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    net = tiny(batch_norm=True)
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):
            nn.init.constant_(m.weight, 3.0)
    he_init_(net, rng=0)
    assert all(torch.all(m.weight == 1) for m in net.modules() if isinstance(m, nn.BatchNorm2d))
    with pytest.raises(ValueError, match="rng"):
        he_init_(tiny(), rng="seed")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no GPU here")
def test_runs_on_gpu():
    net = he_init_(tiny(), rng=0).cuda()
    out = net(torch.rand(2, 1, 188, 188, device="cuda"))
    assert out.device.type == "cuda" and out.shape == (2, 2, 4, 4)


# --------------------------------------------------------------------------- learner checks

def _status(result, capsys):
    printed = capsys.readouterr().out
    return result.status, printed


def test_check_center_crop(capsys):
    assert checks.check_center_crop(center_crop)

    def corner(x, size):  # right shapes and errors, wrong window: the top-left corner
        center_crop(x, size)  # raises where the reference raises
        h, w = (size, size) if isinstance(size, int) else size
        return x[..., :h, :w]

    def no_errors(x, size):
        h, w = (size, size) if isinstance(size, int) else size
        top, left = max((x.shape[-2] - h) // 2, 0), max((x.shape[-1] - w) // 2, 0)
        return x[..., top:top + h, left:left + w]

    def not_yet(x, size):
        raise NotImplementedError("Exercise")

    capsys.readouterr()
    result = checks.check_center_crop(corner)
    assert not result and result.status == "failed" and "values differ" in capsys.readouterr().out
    result = checks.check_center_crop(no_errors)
    assert not result and "expected a ValueError" in capsys.readouterr().out
    result = checks.check_center_crop(not_yet)
    assert result.status == "not implemented" and "not implemented yet" in capsys.readouterr().out


def test_check_center_crop_needs_any_number_of_leading_axes(capsys):
    def four_d_only(x, size):  # right on (N, C, H, W), wrong on (H, W) and (C, H, W)
        h, w = (size, size) if isinstance(size, int) else size
        top, left = (x.shape[-2] - h) // 2, (x.shape[-1] - w) // 2
        center_crop(x, size)  # raises where the reference raises
        return x[:, :, top:top + h, left:left + w]

    result = checks.check_center_crop(four_d_only)
    assert not result and result.status == "failed" and "shape (8, 8)" in capsys.readouterr().out


class GoodBlock(nn.Module):
    def __init__(self, c_in, c_out):
        super().__init__()
        self.a, self.b = nn.Conv2d(c_in, c_out, 3), nn.Conv2d(c_out, c_out, 3)

    def forward(self, x):
        return F.relu(self.b(F.relu(self.a(x))))


class NoLastReLU(GoodBlock):
    def forward(self, x):
        return self.b(F.relu(self.a(x)))


class PaddedBlock(GoodBlock):
    def __init__(self, c_in, c_out):
        super().__init__(c_in, c_out)
        self.a.padding = self.b.padding = (1, 1)


class StubBlock(nn.Module):
    def __init__(self, c_in, c_out):
        super().__init__()
        raise NotImplementedError("Exercise: write the body of __init__")


class StubForward(GoodBlock):
    def forward(self, x):
        raise NotImplementedError("Exercise: write the body of forward")


def test_check_conv_block(capsys):
    assert checks.check_conv_block(GoodBlock)
    assert checks.check_conv_block(model.DoubleConv)
    capsys.readouterr()
    assert not checks.check_conv_block(NoLastReLU)
    assert "ReLU" in capsys.readouterr().out
    result = checks.check_conv_block(PaddedBlock)
    assert not result and "padding" in capsys.readouterr().out
    assert checks.check_conv_block(StubBlock).status == "not implemented"
    assert checks.check_conv_block(StubForward).status == "not implemented"
    assert not checks.check_conv_block(lambda c_in, c_out: nn.Sequential(nn.Conv2d(c_in, c_out, 3), nn.ReLU()))
    assert "should have 2 Conv2d" in capsys.readouterr().out


class GoodUp(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.up = nn.ConvTranspose2d(c, c // 2, 2, stride=2)
        self.block = GoodBlock(c, c // 2)

    def forward(self, x, skip):
        x = self.up(x)
        return self.block(torch.cat([center_crop(skip, x.shape[-2:]), x], dim=1))


class SwappedUp(GoodUp):
    def forward(self, x, skip):
        x = self.up(x)
        return self.block(torch.cat([x, center_crop(skip, x.shape[-2:])], dim=1))


class CornerCropUp(GoodUp):
    def forward(self, x, skip):
        x = self.up(x)
        return self.block(torch.cat([skip[..., :x.shape[-2], :x.shape[-1]], x], dim=1))


class UpsampleUp(nn.Module):
    """Bilinear up-sampling + 1x1 conv: right shapes, no ConvTranspose2d."""

    def __init__(self, c):
        super().__init__()
        self.reduce = nn.Conv2d(c, c // 2, 1)
        self.block = GoodBlock(c, c // 2)

    def forward(self, x, skip):
        x = self.reduce(F.interpolate(x, scale_factor=2))
        return self.block(torch.cat([center_crop(skip, x.shape[-2:]), x], dim=1))


def test_check_up_step(capsys):
    assert checks.check_up_step(GoodUp)
    assert checks.check_up_step(lambda c: model.Up(c, c // 2))
    capsys.readouterr()
    assert not checks.check_up_step(SwappedUp)
    assert "skip map FIRST" in capsys.readouterr().out
    assert not checks.check_up_step(CornerCropUp)
    assert "values differ" in capsys.readouterr().out
    assert not checks.check_up_step(UpsampleUp)  # the up-conv is missing: say so, name the layer
    assert "should have 1 ConvTranspose2d layer(s), yours has 0" in capsys.readouterr().out


class PadUpsampledUp(GoodUp):
    """Pads the up-sampled map to the skip map's size instead of cropping the skip map."""

    def forward(self, x, skip):
        x = self.up(x)
        d = skip.shape[-1] - x.shape[-1]
        x = F.pad(x, (d // 2, d - d // 2, d // 2, d - d // 2))
        return self.block(torch.cat([skip, x], dim=1))


class CreatedBackwards(GoodBlock):
    def __init__(self, c_in, c_out):
        nn.Module.__init__(self)
        self.b = nn.Conv2d(c_out, c_out, 3)
        self.a = nn.Conv2d(c_in, c_out, 3)


def test_check_up_step_names_an_unfinished_conv_block(capsys):
    class UpOnStub(GoodUp):  # UpStep written, but the ConvBlock it uses is still the stub
        def __init__(self, c):
            nn.Module.__init__(self)
            self.up = nn.ConvTranspose2d(c, c // 2, 2, stride=2)
            self.block = StubBlock(c, c // 2)

    capsys.readouterr()
    result = checks.check_up_step(UpOnStub)
    assert result.status == "not implemented" and "uses StubBlock" in capsys.readouterr().out


def test_check_messages_name_the_mistake(capsys):
    capsys.readouterr()
    assert not checks.check_conv_block(PaddedBlock)
    printed = capsys.readouterr().out
    assert "padding (1, 1) instead of (0, 0)" in printed and "unpadded" in printed
    assert not checks.check_conv_block(CreatedBackwards)
    assert "order" in capsys.readouterr().out
    # the convs are unpadded here; the shape is wrong because the up-sampled map was padded
    assert not checks.check_up_step(PadUpsampledUp)
    printed = capsys.readouterr().out
    assert "Crop the skip map" in printed and "unpadded, as in the paper" not in printed


def test_check_fan_in_and_he_std(capsys):
    assert checks.check_fan_in(fan_in)
    assert checks.check_he_std(model.he_std)

    def torch_fan_in(layer):
        return nn.init._calculate_fan_in_and_fan_out(layer.weight)[0]

    def weights_per_unit(layer):  # forgets the kernel
        return layer.weight.shape[1]

    capsys.readouterr()
    assert not checks.check_fan_in(torch_fan_in)
    assert "ConvTranspose2d(1024, 512" in capsys.readouterr().out
    assert not checks.check_fan_in(weights_per_unit)
    assert not checks.check_he_std(lambda layer: math.sqrt(1 / fan_in(layer)))
    as_float = checks.check_fan_in(lambda layer: float(fan_in(layer)))  # one rule: a count is an int
    assert not as_float and "expected the integer 9, got the float 9.0" in as_float.message


def test_check_fan_in_catches_floor_division_and_explains(capsys):
    def floor_fan_in(layer):  # k // s instead of ceil(k / s): right whenever k is a multiple of s
        if isinstance(layer, nn.ConvTranspose2d):
            (kh, kw), (sh, sw) = layer.kernel_size, layer.stride
            return layer.in_channels * (kh // sh) * (kw // sw)
        return fan_in(layer)

    def conv_like(layer):  # a transposed conv counted like a conv: C_in * kh * kw
        if isinstance(layer, nn.Linear):
            return layer.in_features
        return layer.in_channels * math.prod(layer.kernel_size)

    capsys.readouterr()
    assert not checks.check_fan_in(floor_fan_in)
    assert "round UP" in capsys.readouterr().out
    assert not checks.check_fan_in(conv_like)
    assert "ceil(kh/sh)" in capsys.readouterr().out
    assert not checks.check_he_std(lambda layer: math.sqrt(1 / fan_in(layer)))
    assert "ReLU" in capsys.readouterr().out
    assert not checks.check_he_std(lambda layer: 2 / fan_in(layer))
    assert "variance" in capsys.readouterr().out


# --------------------------------------------------------------------------- issue 12: bad input
@pytest.mark.parametrize("dtype, words", [
    (torch.float64, "pass x.to(torch.float32)"),
    (torch.uint8, "x.float() / 255"),
    (torch.int64, "floating-point image tensor"),
    (torch.bool, "floating-point image tensor"),
])
def test_unet_names_the_dtype_it_needs(dtype, words):
    """torch.from_numpy on an ISBI image gives uint8 (or float64 after numpy maths): before, an
    error from deep inside conv2d ("Input type (double) and bias type (float) ...")."""
    net = tiny(depth=1)
    with pytest.raises(ValueError, match=str(dtype).replace(".", r"\.")) as error:
        net(torch.zeros(1, 1, 44, 44, dtype=dtype))
    assert words in str(error.value)
    assert net.double()(torch.zeros(1, 1, 44, 44, dtype=torch.float64)).dtype == torch.float64


@pytest.mark.parametrize("kwargs", [{"base_channels": -1}, {"depth": 0}, {"in_channels": 1.5},
                                    {"num_classes": True}])
def test_paper_parameter_counts_rejects_impossible_networks(kwargs):
    """base_channels=-1 returned 7458 before."""
    name = next(iter(kwargs))
    with pytest.raises(ValueError, match=f"{name} must be an integer >= 1"):
        model.paper_parameter_counts(**kwargs)
