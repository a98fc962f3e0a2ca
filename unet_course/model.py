"""The U-Net of Fig. 1 (Ronneberger, Fischer & Brox, MICCAI 2015, arXiv 1505.04597, Sec. 2).

"The contracting path follows the typical architecture of a convolutional network. It
consists of the repeated application of two 3x3 convolutions (unpadded convolutions), each
followed by a rectified linear unit (ReLU) and a 2x2 max pooling operation with stride 2 for
downsampling. [...] Every step in the expansive path consists of an upsampling of the feature
map followed by a 2x2 convolution ("up-convolution") that halves the number of feature
channels, a concatenation with the correspondingly cropped feature map from the contracting
path, and two 3x3 convolutions, each followed by a ReLU. [...] At the final layer a 1x1
convolution is used to map each 64-component feature vector to the desired number of
classes. In total the network has 23 convolutional layers." (Sec. 2)

The course follows Fig. 1 and the text, NOT the authors' Caffe release (phseg_v5), which
differs in details (a ReLU after each up-conv, the width of the last up-conv, where the
drop-out layers sit). With the defaults, `UNet()` is the paper's network: 23 conv layers,
31,030,658 parameters (contracting path 18,842,048, expanding path 12,188,480, final 1x1 130),
572x572 input -> 388x388 output.

Blocks, named as in the paper:
    DoubleConv  two 3x3 convs, each followed by a ReLU ("conv block")
    Down        2x2 max-pool with stride 2, then a DoubleConv (one step down)
    UpConv      2x2 up-convolution that halves the channels (a transposed conv, stride 2)
    CropConcat  crop the skip map to the centre and concatenate it with the up-sampled map
    Up          UpConv, CropConcat, DoubleConv (one step up)
    UNet        ContractingPath -> ExpandingPath -> final 1x1 conv

Tensor shapes are written (N, C, H, W). Deviations that the course offers, all switched off
by default: `padding="same"` (padded convs, output size = input size), `batch_norm=True`
(Conv-BN-ReLU), other depths and widths.
"""
from __future__ import annotations

import math
from typing import NamedTuple, Sequence

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from . import sizes

__all__ = [
    "center_crop", "DoubleConv", "Down", "UpConv", "CropConcat", "Up", "ContractingPath",
    "ExpandingPath", "UNet", "count_parameters", "conv_layers", "paper_parameter_counts",
    "fan_in", "he_std", "he_init_", "LayerRow", "layer_table", "format_layer_table",
]

_PADDINGS = ("valid", "same")


# --------------------------------------------------------------------------- cropping

def _pair(size, name: str = "size") -> tuple[int, int]:
    """(h, w) from an int or a pair of ints; ValueError for anything else."""
    pair = (size, size) if isinstance(size, (int, np.integer)) and not isinstance(size, bool) else size
    try:
        h, w = pair
        if isinstance(h, bool) or isinstance(w, bool):
            raise TypeError
        h, w = int(h.__index__()), int(w.__index__())
    except (TypeError, ValueError, AttributeError):
        raise ValueError(f"{name} must be an int or a pair of ints (h, w), got {size!r}") from None
    if h < 1 or w < 1:
        raise ValueError(f"{name} must be positive, got {(h, w)}")
    return h, w


def center_crop(x: torch.Tensor, size) -> torch.Tensor:
    """The central size x size (or h x w) window of the last two axes of x, e.g. (N, C, H, W).

    Sec. 2: the skip map is "correspondingly cropped" before the concatenation, because the
    unpadded convolutions make the contracting path's maps larger than the expanding path's
    (568 -> 392 at the top level of a 572 tile: 88 pixels cut on each side).

    Raises ValueError when the target is larger than the input, or when the difference is odd
    (then the window cannot sit exactly in the centre). Returns a view (no copy).
    """
    if not isinstance(x, torch.Tensor) or x.ndim < 2:
        raise ValueError(f"center_crop needs a tensor with at least 2 dimensions (N, C, H, W), "
                         f"got {type(x).__name__} of shape {tuple(getattr(x, 'shape', ()))}")
    h, w = _pair(size)
    H, W = x.shape[-2:]
    if h > H or w > W:
        raise ValueError(f"cannot crop a {H}x{W} map to {h}x{w}: the target is larger than the input")
    if (H - h) % 2 or (W - w) % 2:
        raise ValueError(f"cannot centre a {h}x{w} crop in a {H}x{W} map: the differences "
                         f"({H - h}, {W - w}) must be even so that the same number of pixels "
                         f"is cut on each side")
    top, left = (H - h) // 2, (W - w) // 2
    return x[..., top:top + h, left:left + w]


# --------------------------------------------------------------------------- blocks

class DoubleConv(nn.Module):
    """Two 3x3 convolutions, each followed by a ReLU (Sec. 2, one blue-arrow pair in Fig. 1).

    padding="valid" (the paper): each conv cuts one pixel per side, (N, C_in, H, W) ->
    (N, C_out, H - 4, W - 4). padding="same" keeps H, W. batch_norm=True inserts a
    BatchNorm2d between each conv and its ReLU (not in the paper; convs then have no bias,
    since the BatchNorm's shift does its job).
    """

    def __init__(self, in_channels: int, out_channels: int, padding: str = "valid",
                 batch_norm: bool = False):
        super().__init__()
        pad = 0 if padding == "valid" else 1  # "valid": unpadded, as in the paper
        self.conv1 = nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=pad, bias=not batch_norm)
        self.bn1 = nn.BatchNorm2d(out_channels) if batch_norm else nn.Identity()
        self.conv2 = nn.Conv2d(out_channels, out_channels, kernel_size=3, padding=pad, bias=not batch_norm)
        self.bn2 = nn.BatchNorm2d(out_channels) if batch_norm else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.bn1(self.conv1(x)))     # (N, C_out, H - 2, W - 2) for valid convs
        return F.relu(self.bn2(self.conv2(x)))  # (N, C_out, H - 4, W - 4)


class Down(nn.Module):
    """One step down the contracting path: 2x2 max-pool, stride 2, then a DoubleConv
    that doubles the channels (Sec. 2, red arrow + blue arrows in Fig. 1)."""

    def __init__(self, in_channels: int, out_channels: int, padding: str = "valid",
                 batch_norm: bool = False):
        super().__init__()
        self.pool = nn.MaxPool2d(kernel_size=2, stride=2)
        self.conv = DoubleConv(in_channels, out_channels, padding, batch_norm)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(x)     # (N, C, H/2, W/2)
        return self.conv(x)  # (N, 2C, H/2 - 4, W/2 - 4) for valid convs


class UpConv(nn.ConvTranspose2d):
    """The 2x2 "up-convolution" that halves the channels (Sec. 2, green arrow in Fig. 1).

    A transposed convolution with kernel 2 and stride 2: each input pixel is spread over its
    own 2x2 output block, so every output pixel sees exactly ONE input pixel per input
    channel (its fan-in is C_in, see `fan_in`). (N, C, H, W) -> (N, C/2, 2H, 2W).
    No ReLU follows (Fig. 1; the Caffe release has one).
    """

    def __init__(self, in_channels: int, out_channels: int | None = None):
        out_channels = in_channels // 2 if out_channels is None else out_channels
        super().__init__(in_channels, out_channels, kernel_size=2, stride=2)


class CropConcat(nn.Module):
    """Crop the skip map to the centre and concatenate it with the up-sampled map (Sec. 2,
    grey arrow "copy and crop" in Fig. 1). The cropped copy comes first in the channel axis,
    as drawn in Fig. 1 (white box, then blue box). No parameters."""

    def forward(self, skip: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        skip = center_crop(skip, tuple(x.shape[-2:]))  # (N, C_skip, H, W): the centre of the larger map
        return torch.cat([skip, x], dim=1)              # (N, C_skip + C, H, W)


class Up(nn.Module):
    """One step up the expanding path: UpConv (C -> C/2), CropConcat with the skip map
    (C/2 + C/2 = C channels), DoubleConv (C -> C/2) (Sec. 2, Fig. 1)."""

    def __init__(self, in_channels: int, out_channels: int, padding: str = "valid",
                 batch_norm: bool = False):
        super().__init__()
        self.upconv = UpConv(in_channels, in_channels // 2)
        self.concat = CropConcat()
        self.conv = DoubleConv(in_channels // 2 + out_channels, out_channels, padding, batch_norm)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        x = self.upconv(x)          # (N, C/2, 2H, 2W)
        x = self.concat(skip, x)    # (N, C, 2H, 2W): cropped skip map + up-sampled map
        return self.conv(x)         # (N, C/2, 2H - 4, 2W - 4) for valid convs


class ContractingPath(nn.Module):
    """Left half of Fig. 1: a DoubleConv at full resolution, then `depth` Down steps, each
    doubling the channels (64, 128, 256, 512, 1024 in the paper), and drop-out at the end
    ("Drop-out layers at the end of the contracting path perform further implicit data
    augmentation", Sec. 3.1). Returns the lowest map and the skip maps, top level first."""

    def __init__(self, in_channels: int, base_channels: int, depth: int, padding: str,
                 batch_norm: bool, dropout: float):
        super().__init__()
        widths = [base_channels * 2 ** level for level in range(depth + 1)]
        self.first = DoubleConv(in_channels, widths[0], padding, batch_norm)
        self.downs = nn.ModuleList(Down(widths[l], widths[l + 1], padding, batch_norm) for l in range(depth))
        self.dropout = nn.Dropout(dropout) if dropout else nn.Identity()

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        x = self.first(x)        # (N, 64, H - 4, W - 4) for the paper's widths
        skips = []
        for down in self.downs:
            skips.append(x)      # kept for the expanding path ("copy")
            x = down(x)          # channels x 2, size / 2 - 4
        return self.dropout(x), skips  # lowest map: (N, 1024, 28, 28) for a 572 tile


class ExpandingPath(nn.Module):
    """Right half of Fig. 1: `depth` Up steps, each halving the channels, from the lowest
    level back to full resolution (1024 -> 512 -> 256 -> 128 -> 64 in the paper)."""

    def __init__(self, base_channels: int, depth: int, padding: str, batch_norm: bool):
        super().__init__()
        widths = [base_channels * 2 ** level for level in range(depth + 1)]
        self.ups = nn.ModuleList(Up(widths[l + 1], widths[l], padding, batch_norm)
                                 for l in reversed(range(depth)))

    def forward(self, x: torch.Tensor, skips: Sequence[torch.Tensor]) -> torch.Tensor:
        for up, skip in zip(self.ups, reversed(skips)):  # lowest level first
            x = up(x, skip)      # channels / 2, size x 2 - 4
        return x                 # (N, 64, 388, 388) for a 572 tile


class UNet(nn.Module):
    """The U-Net of Fig. 1; the defaults give the paper's network.

    UNet(in_channels=1, num_classes=2, depth=4, base_channels=64, padding="valid",
         batch_norm=False, dropout=0.5)

    - depth: number of max-pools (4 in the paper); base_channels: width of the top level (64).
    - padding: "valid" (the paper: unpadded convs, 572 -> 388) or "same" (a deviation:
      padded convs, output size = input size, for sizes divisible by 2**depth).
    - batch_norm: False (the paper) or True (Conv-BN-ReLU, as many courses teach; a deviation).
    - dropout: drop-out probability at the end of the contracting path (Sec. 3.1: "Drop-out
      layers at the end of the contracting path"); 0 or None switches it off. Fig. 1 does not
      draw it; we put one nn.Dropout after the lowest DoubleConv. It has no parameters and is
      active only in train() mode.

    The course follows Fig. 1, not the authors' Caffe release (phseg_v5), which differs in
    details (a ReLU after each up-conv, the last up-conv's width, drop-out placement).

    forward(x) takes (N, in_channels, H, W) and returns class scores (logits) of shape
    (N, num_classes, output_size(H), output_size(W)); the soft-max of Sec. 3 belongs to the
    loss (`unet_course.loss.weighted_cross_entropy`). x must be a floating-point tensor of the
    weights' dtype (float32 unless the model was converted): an integer image (uint8 from
    ``torch.from_numpy`` on a PNG) or float64 (numpy's default) is a ValueError that says how
    to convert it. The input size is checked BEFORE any computation: an invalid size raises the
    ValueError of `unet_course.sizes` (it names the nearest valid sizes). forward keeps no
    state, works on any device and any batch size.
    """

    def __init__(self, in_channels: int = 1, num_classes: int = 2, depth: int = 4,
                 base_channels: int = 64, padding: str = "valid", batch_norm: bool = False,
                 dropout: float | None = 0.5):
        super().__init__()
        for name, value in (("in_channels", in_channels), ("num_classes", num_classes),
                            ("depth", depth), ("base_channels", base_channels)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
        if padding not in _PADDINGS:
            raise ValueError(f"padding must be 'valid' (the paper) or 'same', got {padding!r}")
        if not isinstance(batch_norm, (bool, np.bool_)):
            raise ValueError(f"batch_norm must be True or False, got {batch_norm!r}")
        dropout = 0.0 if dropout is None else dropout
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout < 1:
            raise ValueError(f"dropout must be a probability in [0, 1), got {dropout!r}")
        self.in_channels, self.num_classes, self.depth = int(in_channels), int(num_classes), int(depth)
        self.base_channels, self.padding, self.batch_norm = int(base_channels), padding, bool(batch_norm)
        self.dropout = float(dropout)

        self.contracting = ContractingPath(self.in_channels, self.base_channels, self.depth,
                                           padding, self.batch_norm, self.dropout)
        self.expanding = ExpandingPath(self.base_channels, self.depth, padding, self.batch_norm)
        # Sec. 2: "a 1x1 convolution is used to map each 64-component feature vector to the
        # desired number of classes"
        self.final = nn.Conv2d(self.base_channels, self.num_classes, kernel_size=1)

    def extra_repr(self) -> str:
        return (f"in_channels={self.in_channels}, num_classes={self.num_classes}, depth={self.depth}, "
                f"base_channels={self.base_channels}, padding={self.padding!r}, "
                f"batch_norm={self.batch_norm}, dropout={self.dropout}")

    # ---- sizes
    def output_size(self, n: int) -> int:
        """Output size for an n x n input: n - 184 at depth 4 with valid convs, n with "same".

        Raises ValueError naming the nearest valid sizes when n is not valid for this network.
        """
        if self.padding == "valid":
            return sizes.output_size(n, self.depth)  # raises the sizes module's ValueError
        step = 2 ** self.depth
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"input size must be a positive integer, got {n!r}")
        if n % step:
            below, above = n // step * step, (n // step + 1) * step
            nearest = f"{below} and {above}" if below else f"{above} (the smallest valid size)"
            raise ValueError(
                f"input size {n} is not valid for a depth-{self.depth} U-Net with same padding: "
                f"it must be divisible by 2**{self.depth} = {step} so that every 2x2 max-pool "
                f"sees an even size. Nearest valid input sizes: {nearest}.")
        return int(n)

    def output_shape(self, height: int, width: int) -> tuple[int, int]:
        """(output height, output width) for an input of height x width."""
        return self.output_size(height), self.output_size(width)

    def check_input(self, x: torch.Tensor) -> None:
        """ValueError (naming the problem) if x cannot go through this network."""
        if not isinstance(x, torch.Tensor) or x.ndim != 4:
            raise ValueError(f"UNet expects a tensor of shape (N, C, H, W), got "
                             f"{type(x).__name__} of shape {tuple(getattr(x, 'shape', ()))}")
        dtype = self.final.weight.dtype
        if not x.is_floating_point():
            raise ValueError(f"UNet expects a floating-point image tensor ({dtype}, values in [0, 1]), "
                             f"got {x.dtype}: convert it first, e.g. x.float() / 255 for uint8 pixels "
                             f"(unet_course.data.files.as_float_image does it for numpy arrays)")
        if x.dtype != dtype and not torch.is_autocast_enabled(x.device.type):  # autocast mixes
            raise ValueError(f"UNet's weights are {dtype} but the input is {x.dtype} (numpy's default "
                             f"float64?): pass x.to({dtype}) (or convert the model with "
                             f"model.to({x.dtype}))")
        if x.shape[1] != self.in_channels:
            raise ValueError(f"UNet was built for {self.in_channels} input channel(s), "
                             f"got a tensor of shape {tuple(x.shape)} ({x.shape[1]} channels)")
        self.output_shape(x.shape[2], x.shape[3])  # raises for an invalid height or width

    # ---- the network
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.check_input(x)                  # before any computation
        x, skips = self.contracting(x)       # (N, 1024, 28, 28) and 4 skip maps for a 572 tile
        x = self.expanding(x, skips)         # (N, 64, 388, 388)
        return self.final(x)                 # (N, num_classes, 388, 388): logits


# --------------------------------------------------------------------------- counting

def count_parameters(module: nn.Module) -> int:
    """Number of trainable parameters (weights and biases) of a module."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def conv_layers(module: nn.Module) -> list[nn.Module]:
    """All Conv2d and ConvTranspose2d layers in the order they were built (the order of
    the forward pass for UNet): 23 for the paper's network (18 3x3, 4 up-convs, 1 1x1)."""
    return [m for m in module.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]


def paper_parameter_counts(in_channels: int = 1, num_classes: int = 2, depth: int = 4,
                           base_channels: int = 64) -> dict[str, int]:
    """Parameter counts of a valid-conv U-Net by formula (no network built).

    A conv with a k x k kernel from C_in to C_out channels has k*k*C_in*C_out weights plus
    C_out biases. Level l has width c_l = base * 2**l. Contracting path: 3x3 convs
    in -> c_0 -> c_0, then c_{l-1} -> c_l -> c_l for l = 1..depth. Expanding path, per level:
    2x2 up-conv c_{l+1} -> c_l, then 3x3 convs 2 c_l -> c_l -> c_l. Final: 1x1 c_0 -> classes.
    Every argument is an integer >= 1 (ValueError otherwise, as for `UNet`).
    """
    for name, value in (("in_channels", in_channels), ("num_classes", num_classes),
                        ("depth", depth), ("base_channels", base_channels)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    def conv(k, c_in, c_out):
        return k * k * c_in * c_out + c_out

    c = [base_channels * 2 ** l for l in range(depth + 1)]
    contracting = conv(3, in_channels, c[0]) + conv(3, c[0], c[0]) + sum(
        conv(3, c[l - 1], c[l]) + conv(3, c[l], c[l]) for l in range(1, depth + 1))
    expanding = sum(conv(2, c[l + 1], c[l]) + conv(3, 2 * c[l], c[l]) + conv(3, c[l], c[l])
                    for l in range(depth))
    final = conv(1, c[0], num_classes)
    return {"contracting": contracting, "expanding": expanding, "final": final,
            "total": contracting + expanding + final}


# --------------------------------------------------------------------------- He init

def fan_in(module: nn.Module) -> int:
    """N, the number of incoming connections of ONE output unit of a layer (Sec. 3).

    - Conv2d: C_in/groups * kh * kw (9 * 64 = 576 for a 3x3 conv with 64 input channels;
      C_in for a 1x1 conv).
    - ConvTranspose2d: C_in/groups * ceil(kh/sh) * ceil(kw/sw): with kernel 2 and stride 2
      (the paper's up-conv) each output pixel sees exactly one input pixel per input
      channel, so N = C_in. (When the kernel is not a multiple of the stride, output pixels
      see different numbers of inputs; this is the largest.)
    - Linear: in_features.

    Note: torch.nn.init.kaiming_normal_ computes a ConvTranspose2d's fan-in from its weight
    shape (C_in, C_out, kh, kw) as C_out * kh * kw, i.e. 4 * C_in/2 = 2 C_in for the paper's
    up-convs: twice the true N, so its std is sqrt(2) too small there.
    """
    if isinstance(module, nn.ConvTranspose2d):
        per_channel = math.prod(math.ceil(k / s) for k, s in zip(module.kernel_size, module.stride))
        return module.in_channels // module.groups * per_channel
    if isinstance(module, nn.Conv2d):
        return module.in_channels // module.groups * math.prod(module.kernel_size)
    if isinstance(module, nn.Linear):
        return module.in_features
    raise ValueError(f"fan_in is defined for Conv2d, ConvTranspose2d and Linear layers, "
                     f"got {type(module).__name__}")


def he_std(module: nn.Module) -> float:
    """The paper's standard deviation sqrt(2/N), N = fan_in(module) (Sec. 3, after He et al.)."""
    return math.sqrt(2.0 / fan_in(module))


def _torch_generator(rng) -> torch.Generator:
    """A CPU torch.Generator from None (fresh entropy), an int seed, a numpy Generator or a torch.Generator."""
    if isinstance(rng, torch.Generator):
        return rng
    if rng is None:
        rng = np.random.default_rng()
    if isinstance(rng, np.random.Generator):
        rng = int(rng.integers(2 ** 63 - 1))
    if isinstance(rng, bool) or not isinstance(rng, (int, np.integer)):
        raise ValueError(f"rng must be None, an int seed, a numpy Generator or a torch.Generator, got {rng!r}")
    return torch.Generator().manual_seed(int(rng))


@torch.no_grad()
def he_init_(model: nn.Module, rng=None) -> nn.Module:
    """Initialise every conv / linear layer as in Sec. 3, in place; return the model.

    "the initial weights [are drawn] from a Gaussian distribution with a standard deviation
    of sqrt(2/N), where N denotes the number of incoming nodes of one neuron": weights
    ~ Normal(0, sqrt(2 / fan_in(layer))), biases 0. BatchNorm layers (if any) are reset to
    weight 1, bias 0. `rng`: an int seed, a numpy Generator or a torch.Generator (same seed,
    same weights, on any device: the numbers are drawn on the CPU and copied).
    """
    generator = _torch_generator(rng)
    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            # not nn.init.kaiming_normal_: for a ConvTranspose2d it takes N = C_out * kh * kw
            # (2 C_in for the up-convs), a std sqrt(2) too small; fan_in counts the true N
            w = torch.randn(module.weight.shape, generator=generator) * he_std(module)
            module.weight.copy_(w)
            if module.bias is not None:
                module.bias.zero_()
        elif isinstance(module, nn.modules.batchnorm._BatchNorm):
            module.reset_parameters()
    return model


# --------------------------------------------------------------------------- layer table

class LayerRow(NamedTuple):
    """One row of `layer_table`: the module's dotted name, what it does, its output shape, its parameters."""

    name: str
    op: str
    shape: tuple
    params: int


def _op_name(m: nn.Module) -> str | None:
    if isinstance(m, nn.ConvTranspose2d):
        return "up-conv {}x{}".format(*m.kernel_size)
    if isinstance(m, nn.Conv2d):
        return "conv {}x{}".format(*m.kernel_size)
    if isinstance(m, nn.MaxPool2d):
        return "max-pool 2x2"
    if isinstance(m, CropConcat):
        return "crop+concat"
    if isinstance(m, nn.Dropout):
        return "drop-out"
    if isinstance(m, nn.BatchNorm2d):
        return "batch-norm"
    return None


@torch.no_grad()
def layer_table(model: nn.Module, x: torch.Tensor) -> list[LayerRow]:
    """Run model(x) once with forward hooks and record every conv, up-conv, max-pool,
    crop+concat, drop-out and batch-norm layer in the order it ran: name, op, output shape,
    parameter count. Nothing is typed in: the table is what the network actually did.
    Hooks are removed afterwards, and the model is left as it was."""
    rows: list[LayerRow] = []
    handles = []
    for name, module in model.named_modules():
        op = _op_name(module)
        if op is None:
            continue

        def hook(m, inputs, output, name=name, op=op):
            rows.append(LayerRow(name, op, tuple(output.shape), count_parameters(m)))
        handles.append(module.register_forward_hook(hook))
    try:
        model(x)
    finally:
        for handle in handles:
            handle.remove()
    return rows


def format_layer_table(rows: Sequence[LayerRow]) -> str:
    """The rows of `layer_table` as fixed-width text, with a total parameter line."""
    width = max(len(r.name) for r in rows)
    lines = [f"{'layer':<{width}}  {'op':<12}  {'output shape':<22}  {'parameters':>11}"]
    for r in rows:
        lines.append(f"{r.name:<{width}}  {r.op:<12}  {str(r.shape):<22}  {r.params:>11,}")
    lines.append(f"{'total':<{width}}  {'':<12}  {'':<22}  {sum(r.params for r in rows):>11,}")
    return "\n".join(lines)
