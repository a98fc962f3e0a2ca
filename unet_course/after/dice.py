"""The U-Net++ loss: binary cross-entropy plus Dice, and the deep-supervision average.

Zhou et al., UNet++ (DLMIA 2018, arXiv 1807.10165), Sec. 2.2: "we use a combination of binary
cross-entropy and dice coefficient as the loss function to each of the above four semantic
levels, which is described as:

    L(Y, Ŷ) = − 1/N Σ_b ( 1/2 · Y_b · log Ŷ_b + 2 · Y_b · Ŷ_b / (Y_b + Ŷ_b) )

where Ŷ_b and Y_b denote the flatten predicted probabilities and the flatten ground truths of
b-th image respectively, and N indicates the batch size."

Read as: per image b, a BCE term (weight 1/2) and the soft Dice coefficient
2 Σ y ŷ / (Σ y + Σ ŷ); averaged over the batch. The course's form is
``0.5 * BCE + (1 - Dice)``: the paper's value plus the constant 1 (same gradient, but the loss
is >= 0 and 0 at a perfect prediction). The BCE term is the course's Eq. 1
(``unet_course.loss.weighted_cross_entropy``): with two classes the soft-max cross-entropy IS
the binary cross-entropy of p = p(class 1), and it can take the U-Net weight map (the paper
uses none). ``eps`` keeps Dice defined for an image without cells (then Dice = 1 if nothing
is predicted).
"""
from __future__ import annotations

import torch

from ..loss import weighted_cross_entropy

__all__ = ["dice_coefficient", "dice_loss", "bce_dice_loss", "deep_supervision_loss"]


def dice_coefficient(prob: torch.Tensor, target: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """Soft Dice per image: (2 Σ p·y + eps) / (Σ p + Σ y + eps) over each image's pixels.

    prob: (N, H, W) probabilities of the foreground in [0, 1]; target: (N, H, W) 0/1.
    Returns (N,). For 0/1 masks it is the classic Dice = F1 = 2|A∩B| / (|A| + |B|)."""
    if prob.shape != target.shape or prob.ndim < 2:
        raise ValueError(f"prob and target must have the same shape (N, H, W), got "
                         f"{tuple(prob.shape)} and {tuple(target.shape)}")
    p, y = prob.flatten(1).float(), target.flatten(1).float()   # (N, H*W): "flatten" per image
    return (2 * (p * y).sum(1) + eps) / (p.sum(1) + y.sum(1) + eps)


def dice_loss(logits: torch.Tensor, target: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """1 - mean soft Dice of p(class 1) = softmax(logits)[:, 1]; logits (N, 2, H, W)."""
    if logits.ndim != 4 or logits.shape[1] != 2:
        raise ValueError(f"dice_loss needs two-class logits (N, 2, H, W), got {tuple(logits.shape)}")
    return 1 - dice_coefficient(torch.softmax(logits.float(), dim=1)[:, 1], target, eps).mean()


def bce_dice_loss(logits: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None = None,
                  eps: float = 1e-6) -> torch.Tensor:
    """U-Net++'s loss (Sec. 2.2) as ``0.5 * BCE + (1 - Dice)`` (the paper's value + 1).
    weight: optional (N, H, W) pixel weights of the BCE term (e.g. Eq. 2 of the U-Net paper)."""
    return 0.5 * weighted_cross_entropy(logits, target, weight, check=False) + \
        dice_loss(logits, target, eps)


def deep_supervision_loss(head_logits, target, weight=None, loss=bce_dice_loss) -> torch.Tensor:
    """Deep supervision (Sec. 2.2): the loss of each head X(0,1) ... X(0,L), averaged."""
    if not len(head_logits):
        raise ValueError("deep_supervision_loss needs at least one head's logits")
    return torch.stack([loss(logits, target, weight) for logits in head_logits]).mean()
