"""The paper's training energy: a pixel-wise soft-max with cross-entropy, weighted (Sec. 3, Eq. 1).

Paper, Sec. 3: "The energy function is computed by a pixel-wise soft-max over the final
feature map combined with the cross entropy loss function. [...] The cross entropy then
penalizes at each position the deviation of p_l(x)(x) from 1 using

    E = sum_x w(x) log(p_l(x)(x))                                        (1)

where l is the true label of each pixel and w is a weight map that we introduced to give some
pixels more importance in the training." The minus sign is missing in the paper: the energy
to MINIMISE is E = - sum_x w(x) log p_l(x)(x).

Reduction (a course choice; the paper writes a sum): we divide the weighted sum by the
number of pixels, ``sum(w * nll) / num_pixels``. Dividing by a constant keeps the paper's
energy up to a factor, so every pixel's relative weight is exactly Eq. 1's. Dividing by the
pixel count (not by sum(w)) has two advantages: the gradient's size does not depend on the
tile size or batch size, so one learning rate works for 252 and 572 tiles; and it does not
depend on how many borders a tile happens to contain (dividing by sum(w) would shrink the
gradient of tiles full of touching cells, the very pixels Eq. 2 wants to emphasise). With
unit weights it is exactly ``torch.nn.functional.cross_entropy``'s default mean.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["weighted_cross_entropy"]


def _size(shape) -> str:
    return "x".join(str(int(s)) for s in shape)


def _check_shapes(logits: torch.Tensor, target: torch.Tensor, weight) -> None:
    if not isinstance(logits, torch.Tensor) or logits.ndim != 4:
        raise ValueError(f"logits must be a tensor (N, classes, H, W), got shape "
                         f"{tuple(getattr(logits, 'shape', ()))}")
    if not isinstance(target, torch.Tensor) or target.ndim != 3:
        raise ValueError(f"target must be a tensor (N, H, W) of class indices, got shape "
                         f"{tuple(getattr(target, 'shape', ()))}"
                         + (" (drop the channel axis: target[:, 0])" if getattr(target, "ndim", 0) == 4 else ""))
    if target.shape[0] != logits.shape[0] or target.shape[1:] != logits.shape[2:]:
        have, want = _size(logits.shape[2:]), _size(target.shape[1:])
        msg = (f"logits {have} but target {want} (logits shape {tuple(logits.shape)}, "
               f"target shape {tuple(target.shape)})")
        crop = (target.shape[1] - logits.shape[2], target.shape[2] - logits.shape[3])
        if crop[0] == crop[1] and crop[0] > 0 and crop[0] % 2 == 0:
            msg += (f": the valid network crops {crop[0] // 2} px per side; crop the target to "
                    f"the output window (unet_course.model.center_crop) or use "
                    f"unet_course.data.TileDataset, which cuts target and weight to it")
        elif target.shape[0] != logits.shape[0]:
            msg += ": batch sizes differ"
        else:
            msg += ": give the target of the network's output window"
        raise ValueError(msg)
    if target.dtype not in (torch.int64, torch.int32, torch.uint8, torch.int16):
        raise ValueError(f"target must hold integer class indices, got dtype {target.dtype}")
    if weight is not None:
        if not isinstance(weight, torch.Tensor) or weight.shape != target.shape:
            raise ValueError(f"weight must be a tensor of the target's shape {tuple(target.shape)}, "
                             f"got shape {tuple(getattr(weight, 'shape', ()))}")


def _check_values(logits: torch.Tensor, target: torch.Tensor, weight) -> None:
    classes = logits.shape[1]
    lo, hi = int(target.min()), int(target.max())
    if lo < 0 or hi >= classes:
        raise ValueError(f"target values must be class indices 0..{classes - 1} for "
                         f"{classes} classes, got values in [{lo}, {hi}]"
                         + (" (a 0/255 mask? use target // 255 or isbi_targets)" if hi == 255 else ""))
    if weight is not None:
        if not bool(torch.isfinite(weight).all()):
            raise ValueError("weight must be finite, got NaN or inf values (check the weight "
                             "map: w0, sigma, an empty label?)")
        if bool((weight < 0).any()):
            raise ValueError(f"weight must be >= 0, got a minimum of {float(weight.min()):.4g}")


def weighted_cross_entropy(logits: torch.Tensor, target: torch.Tensor,
                           weight: torch.Tensor | None = None, *, check: bool = True) -> torch.Tensor:
    """The paper's energy (Eq. 1, with its minus sign), averaged over pixels.

    logits: (N, classes, H, W) network output (before the soft-max); target: (N, H, W)
    class indices; weight: (N, H, W) >= 0, e.g. Eq. 2's weight map (None: all ones).
    Returns ``sum_x w(x) * -log p_l(x)(x) / (N * H * W)`` (see the module docstring for why).

    ``check=False`` skips the value checks (class range, finite non-negative weights), which
    cost a device synchronisation; shapes are always checked. Errors are ValueErrors naming
    both shapes and the fix (e.g. a 572 target for a 388 output: crop 92 px per side).
    """
    _check_shapes(logits, target, weight)
    if check:
        _check_values(logits, target, weight)
    # -log p_l(x)(x) at every pixel: log_softmax + pick the true class, numerically stable
    nll = F.cross_entropy(logits.float(), target.long(), reduction="none")  # (N, H, W)
    if weight is None:
        return nll.mean()
    return (weight.to(nll.dtype) * nll).sum() / nll.numel()
