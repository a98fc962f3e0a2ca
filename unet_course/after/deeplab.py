"""A small DeepLabV3+: atrous separable convolutions, ASPP and a light decoder.

Chen, Zhu, Papandreou, Schroff & Adam, "Encoder-Decoder with Atrous Separable Convolution for
Semantic Image Segmentation" (ECCV 2018, arXiv 1802.02611).

"DeepLabv3+ extends DeepLabv3 by adding a simple yet effective decoder module to refine the
segmentation results especially along object boundaries." (Abstract)
"Atrous convolution allows us to explicitly control the resolution of features computed by
deep convolutional neural networks and adjust filter's field-of-view in order to capture
multi-scale information" (Sec. 3.1). "we denote output_stride as the ratio of input image
spatial resolution to the final output resolution (before global pooling or fully-connected
layer)" (Sec. 3.1). The decoder: "The encoder
features are first bilinearly upsampled by a factor of 4 and then concatenated with the
corresponding low-level features [...] We apply another 1x1 convolution on the low-level
features to reduce the number of channels [...] After the concatenation, we apply a few 3x3
convolutions to refine the features followed by another simple bilinear upsampling by a
factor of 4." (Sec. 3.1)

Where the course simplifies: the backbone is a tiny Xception-like stack (a stem and four
residual blocks of depthwise-separable convs, widths ``base_channels`` x 1, 2, 4, 8, 8)
instead of the paper's modified aligned Xception-65 (Sec. 3.2, Sec. 4; Xception-71 only for
Cityscapes, Sec. 4.4) pre-trained on ImageNet-1k (JFT-300M too for the best PASCAL result);
no pretrained weights;
ASPP and decoder widths scale with ``base_channels`` (the paper: 256 and 48). Output stride 16
with atrous rates (6, 12, 18) as in the paper (Sec. 4.1), or 8 with rates doubled. Every conv
is padded, so the output has the input's size. The input is standardised inside the network
(buffers ``input_mean``, ``input_std``), as the course's U-Net does.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["SeparableConv", "ASPP", "DeepLabV3Plus"]


class SeparableConv(nn.Sequential):
    """Depthwise 3x3 (atrous: ``dilation``) then pointwise 1x1, each followed by BN + ReLU
    ("batch normalization and ReLU activation are added after each 3x3 depthwise
    convolution, similar to MobileNet design", Sec. 3.2)."""

    def __init__(self, c_in: int, c_out: int, stride: int = 1, dilation: int = 1):
        super().__init__(
            nn.Conv2d(c_in, c_in, 3, stride, padding=dilation, dilation=dilation, groups=c_in,
                      bias=False),                      # depthwise: one 3x3 filter per channel
            nn.BatchNorm2d(c_in), nn.ReLU(inplace=True),
            nn.Conv2d(c_in, c_out, 1, bias=False),      # pointwise: mixes the channels
            nn.BatchNorm2d(c_out), nn.ReLU(inplace=True))


class _Block(nn.Module):
    """Xception-style block: three separable convs (the last may stride) + a 1x1 shortcut."""

    def __init__(self, c_in: int, c_out: int, stride: int, dilation: int):
        super().__init__()
        self.convs = nn.Sequential(SeparableConv(c_in, c_out, 1, dilation),
                                   SeparableConv(c_out, c_out, 1, dilation),
                                   SeparableConv(c_out, c_out, stride, dilation))
        self.shortcut = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False),
                                      nn.BatchNorm2d(c_out))

    def forward(self, x):
        return self.convs(x) + self.shortcut(x)


def _conv_bn(c_in: int, c_out: int, k: int = 1, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, k, stride, padding=k // 2, bias=False),
                         nn.BatchNorm2d(c_out), nn.ReLU(inplace=True))


class ASPP(nn.Module):
    """Atrous Spatial Pyramid Pooling (DeepLabv3, Sec. 3.3, used as DeepLabV3+'s encoder head):
    a 1x1 conv, three 3x3 separable convs with atrous ``rates``, and image-level pooling,
    concatenated and fused by a 1x1 conv."""

    def __init__(self, c_in: int, c_out: int, rates=(6, 12, 18)):
        super().__init__()
        self.branches = nn.ModuleList([_conv_bn(c_in, c_out)] +
                                      [SeparableConv(c_in, c_out, 1, r) for r in rates])
        self.image_pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(c_in, c_out, 1, bias=False),
                                        nn.ReLU(inplace=True))  # no BN on a 1x1 map of batch 1
        self.fuse = _conv_bn(c_out * (len(rates) + 2), c_out)

    def forward(self, x):
        parts = [branch(x) for branch in self.branches]
        parts.append(self.image_pool(x).expand(-1, -1, *x.shape[-2:]))  # (N, c_out, h, w)
        return self.fuse(torch.cat(parts, dim=1))


class DeepLabV3Plus(nn.Module):
    """DeepLabV3+ (small, pure torch). forward(x): (N, C, H, W) -> logits (N, classes, H, W);
    H and W must be divisible by ``output_stride`` (16 or 8)."""

    def __init__(self, in_channels: int = 1, num_classes: int = 2, base_channels: int = 16,
                 output_stride: int = 16, rates=None, input_mean: float = 0.0,
                 input_std: float = 1.0):
        super().__init__()
        if output_stride not in (8, 16):
            raise ValueError(f"output_stride must be 8 or 16 (the paper's two settings), got "
                             f"{output_stride!r}")
        if isinstance(base_channels, bool) or not isinstance(base_channels, int) or base_channels < 1:
            raise ValueError(f"base_channels must be an integer >= 1, got {base_channels!r}")
        if not input_std > 0:
            raise ValueError(f"input_std must be > 0, got {input_std!r}")
        rates = tuple(rates) if rates is not None else \
            ((6, 12, 18) if output_stride == 16 else (12, 24, 36))  # Sec. 4.1
        c = base_channels
        self.output_stride, self.rates = output_stride, rates
        self.stem = _conv_bn(in_channels, c, 3, stride=2)               # output stride 2
        self.block1 = _Block(c, 2 * c, stride=2, dilation=1)            # 4: low-level features
        self.block2 = _Block(2 * c, 4 * c, stride=2, dilation=1)        # 8
        atrous = output_stride == 8   # OS 8: no more striding, dilate instead (Sec. 3.1)
        self.block3 = _Block(4 * c, 8 * c, stride=1 if atrous else 2, dilation=2 if atrous else 1)
        self.block4 = _Block(8 * c, 8 * c, stride=1, dilation=4 if atrous else 2)
        self.aspp = ASPP(8 * c, 8 * c, rates)
        self.reduce = _conv_bn(2 * c, 3 * c)                            # low-level 1x1 (paper: 48)
        self.refine = nn.Sequential(SeparableConv(11 * c, 8 * c), SeparableConv(8 * c, 8 * c))
        self.classify = nn.Conv2d(8 * c, num_classes, 1)
        self.register_buffer("input_mean", torch.tensor(float(input_mean)))
        self.register_buffer("input_std", torch.tensor(float(input_std)))

    def output_size(self, n: int) -> int:
        if n % self.output_stride:
            raise ValueError(f"input size {n} is not divisible by the output stride {self.output_stride}")
        return n

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[-2] % self.output_stride or x.shape[-1] % self.output_stride:
            raise ValueError(f"DeepLabV3+ needs input (N, C, H, W) with H and W divisible by the "
                             f"output stride {self.output_stride}, got shape {tuple(x.shape)}")
        size = x.shape[-2:]
        x = (x - self.input_mean) / self.input_std
        low = self.block1(self.stem(x))                                # (N, 2c, H/4, W/4)
        deep = self.aspp(self.block4(self.block3(self.block2(low))))   # (N, 8c, H/OS, W/OS)
        deep = F.interpolate(deep, size=low.shape[-2:], mode="bilinear", align_corners=False)
        x = self.refine(torch.cat([deep, self.reduce(low)], dim=1))    # (N, 8c, H/4, W/4)
        return F.interpolate(self.classify(x), size=size, mode="bilinear", align_corners=False)
