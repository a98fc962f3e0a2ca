"""U-Net++: nested, dense skip pathways, deep supervision and pruning.

Zhou, Rahman Siddiquee, Tajbakhsh & Liang, "UNet++: A Nested U-Net Architecture for Medical
Image Segmentation" (DLMIA 2018, arXiv 1807.10165) and "UNet++: Redesigning Skip Connections
to Exploit Multiscale Features in Image Segmentation" (IEEE TMI 2019, arXiv 1912.05074).

"Formally, we formulate the skip pathway as follows: let x^{i,j} denote the output of node
X^{i,j} where i indexes the down-sampling layer along the encoder and j indexes the
convolution layer of the dense block along the skip pathway. [...]

    x^{i,j} = H(x^{i-1,j})                                      j = 0
    x^{i,j} = H([[x^{i,k}]_{k=0}^{j-1}, U(x^{i+1,j-1})])         j > 0

where H(.) is a convolution operation followed by an activation function, U(.) denotes an
up-sampling layer, and [ ] denotes the concatenation layer." (2018, Sec. 2.1)

Deep supervision: a 1x1 head on each of X(0,1) ... X(0,depth); the loss is averaged over the
heads (2018, Sec. 2.2). Pruning: the sub-network that ends at X(0,L) does not need any node
with i + j > L, so after training it can be cut off (the levels UNet++ L1 ... L4) and the
smaller network predicts faster (2018, Sec. 2.2 and Fig. 1c; 2019, Sec. III-C).

Where the course simplifies: H is the course's DoubleConv (two 3x3 convs + ReLU, like the
U-Net paper and the authors' Keras code) with padding="same", because the nested nodes of one
row must have equal sizes; U is the U-Net's 2x2 up-convolution (``UpConv``), as in the
authors' code. No drop-out, no batch norm (the paper's 2018 code used drop-out after each
conv). Widths double per level from ``base_channels`` (the paper: 32, 64, 128, 256, 512).
The input is standardised inside the network (buffers ``input_mean``, ``input_std``), as the
course's U-Net does (``unet_course.normalize``).
"""
from __future__ import annotations

import torch
from torch import nn

from ..model import DoubleConv, UpConv

__all__ = ["UNetPlusPlus", "nested_node", "unetpp_parameter_count", "node_names"]


def nested_node(previous, below, up: nn.Module, conv: nn.Module) -> torch.Tensor:
    """x^{i,j} = H([x^{i,0}, ..., x^{i,j-1}, U(x^{i+1,j-1})]) for j > 0 (Sec. 2.1).

    previous: the maps of the same row, [x^{i,0}, ..., x^{i,j-1}], each (N, C_i, H, W);
    below: x^{i+1,j-1}, (N, C_{i+1}, H/2, W/2); up: U, C_{i+1} -> C_i and size x 2;
    conv: H, (j + 1) C_i -> C_i. The concatenation order is the paper's: the row first."""
    return conv(torch.cat([*previous, up(below)], dim=1))


def node_names(depth: int) -> list[tuple[int, int]]:
    """The nodes (i, j) of a U-Net++ of this depth: all i + j <= depth, in computing order."""
    return [(i, s - i) for s in range(depth + 1) for i in range(s, -1, -1)]


class UNetPlusPlus(nn.Module):
    """UNet++ L``depth`` (``depth`` down-samplings; the paper's full model is L4).

    forward(x) returns the logits (N, num_classes, H, W) of head ``level`` (default: the
    deepest, ``depth``); ``forward_heads(x)`` returns every head's logits [X(0,1), ...,
    X(0,depth)] for the deep-supervision loss. H and W must be divisible by 2**depth.
    ``pruned(level)`` is the pruned network UNet++ L``level`` with the same weights.
    """

    def __init__(self, in_channels: int = 1, num_classes: int = 2, depth: int = 4,
                 base_channels: int = 16, input_mean: float = 0.0, input_std: float = 1.0):
        super().__init__()
        for name, value in (("in_channels", in_channels), ("num_classes", num_classes),
                            ("depth", depth), ("base_channels", base_channels)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
        if not input_std > 0:
            raise ValueError(f"input_std must be > 0, got {input_std!r}")
        self.args = dict(in_channels=in_channels, num_classes=num_classes, depth=depth,
                         base_channels=base_channels)
        self.depth = depth
        self.level = depth
        widths = [base_channels * 2 ** i for i in range(depth + 1)]
        self.widths = widths
        self.pool = nn.MaxPool2d(2)
        self.nodes = nn.ModuleDict()   # "i_j" -> H of node X(i,j)
        self.ups = nn.ModuleDict()     # "i_j" -> U feeding node X(i,j): C_{i+1} -> C_i
        for i, j in node_names(depth):
            key = f"{i}_{j}"
            if j == 0:
                c_in = in_channels if i == 0 else widths[i - 1]
            else:
                c_in = (j + 1) * widths[i]
                self.ups[key] = UpConv(widths[i + 1], widths[i])
            self.nodes[key] = DoubleConv(c_in, widths[i], padding="same")
        # deep supervision: one 1x1 head per X(0,j), j = 1..depth (Sec. 2.2)
        self.heads = nn.ModuleList(nn.Conv2d(widths[0], num_classes, 1) for _ in range(depth))
        self.register_buffer("input_mean", torch.tensor(float(input_mean)))
        self.register_buffer("input_std", torch.tensor(float(input_std)))

    def check_input(self, x: torch.Tensor, level: int) -> None:
        if x.ndim != 4 or x.shape[1] != self.args["in_channels"]:
            raise ValueError(f"expected input (N, {self.args['in_channels']}, H, W), got shape "
                             f"{tuple(x.shape)}")
        if not 1 <= level <= self.depth:
            raise ValueError(f"level must be 1..{self.depth} (UNet++ L1-L{self.depth}), got {level!r}")
        step = 2 ** self.depth
        if x.shape[-2] % step or x.shape[-1] % step:
            raise ValueError(f"U-Net++ of depth {self.depth} needs H and W divisible by {step}, "
                             f"got {tuple(x.shape[-2:])} (mirror-pad the image, e.g. "
                             f"unet_course.data.mirror_pad)")

    def _rows(self, x: torch.Tensor, level: int) -> dict:
        """Every node x^{i,j} with i + j <= level (the pruned network L``level``)."""
        x = (x - self.input_mean) / self.input_std
        out = {}
        for i, j in node_names(level):
            key = f"{i}_{j}"
            if j == 0:   # the encoder (backbone): x^{i,0} = H(pool(x^{i-1,0}))
                out[i, 0] = self.nodes[key](x if i == 0 else self.pool(out[i - 1, 0]))
            else:        # a nested skip node
                out[i, j] = nested_node([out[i, k] for k in range(j)], out[i + 1, j - 1],
                                        self.ups[key], self.nodes[key])
        return out

    def forward_heads(self, x: torch.Tensor, level: int | None = None) -> list[torch.Tensor]:
        """Logits of the heads on X(0,1) ... X(0,level), each (N, num_classes, H, W)."""
        level = self.depth if level is None else level
        self.check_input(x, level)
        out = self._rows(x, level)
        return [self.heads[j - 1](out[0, j]) for j in range(1, level + 1)]

    def forward(self, x: torch.Tensor, level: int | None = None) -> torch.Tensor:
        """Logits of head ``level`` (default ``self.level``): the pruned network's output."""
        level = self.level if level is None else level
        self.check_input(x, level)
        return self.heads[level - 1](self._rows(x, level)[0, level])

    def output_size(self, n: int) -> int:
        """Padded convs: the output has the input's size (n divisible by 2**depth)."""
        if n % 2 ** self.depth:
            raise ValueError(f"input size {n} is not divisible by {2 ** self.depth}")
        return n

    def pruned(self, level: int) -> "UNetPlusPlus":
        """UNet++ L``level``: a network of depth ``level`` holding this one's weights for
        every node with i + j <= level and the heads 1..level (Sec. 2.2, Fig. 1c)."""
        if not 1 <= level <= self.depth:
            raise ValueError(f"level must be 1..{self.depth}, got {level!r}")
        small = UNetPlusPlus(**{**self.args, "depth": level})
        own = self.state_dict()
        small.load_state_dict({k: own[k] for k in small.state_dict()})
        return small.to(self.input_mean.device).train(self.training)


def unetpp_parameter_count(in_channels: int = 1, num_classes: int = 2, depth: int = 4,
                           base_channels: int = 16, level: int | None = None) -> int:
    """Parameters of UNet++ L``level`` by formula (weights + biases), every head counted.

    Node X(i,0): two 3x3 convs, c_in -> C_i -> C_i. Node X(i,j>0): an up-conv
    C_{i+1} -> C_i (2x2, 4 C_{i+1} C_i + C_i) and two 3x3 convs (j + 1) C_i -> C_i -> C_i.
    Heads: ``level`` 1x1 convs C_0 -> num_classes (deep supervision)."""
    level = depth if level is None else level
    width = [base_channels * 2 ** i for i in range(level + 1)]
    conv = lambda k, a, b: k * k * a * b + b  # noqa: E731
    total = 0
    for i, j in node_names(level):
        c_in = (in_channels if i == 0 else width[i - 1]) if j == 0 else (j + 1) * width[i]
        total += conv(3, c_in, width[i]) + conv(3, width[i], width[i])
        if j:
            total += conv(2, width[i + 1], width[i])
    return total + level * conv(1, width[0], num_classes)

