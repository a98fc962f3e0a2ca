"""Checks for exercise 10: U-Net++'s nested skip node and the Dice coefficient.

The references are ``unet_course.after`` (the node x^{i,j} of Zhou et al. 2018, Sec. 2.1) and,
for hard 0/1 masks, scipy's Dice (``scipy.spatial.distance.dice`` is the DISsimilarity
1 - Dice). When an answer differs, the check recomputes the usual wrong versions (wrong
concatenation order, only the last node of the row, no factor 2, IoU instead of Dice, one Dice
for the whole batch, thresholded probabilities, squared denominators) and names the one that
matches.
"""
from __future__ import annotations

import numpy as np
import torch
from scipy.spatial.distance import dice as scipy_dice

from ..after.dice import dice_coefficient as reference_dice
from ..after.unetpp import nested_node as reference_node
from ..model import DoubleConv, UpConv
from .core import NOT_IMPLEMENTED, CheckResult, describe_difference, report, short

__all__ = ["check_nested_node", "check_dice_coefficient"]


def _node_cases():
    """(previous, below, up, conv, j) for j = 1..4, several widths, sizes and batches."""
    cases = []
    for seed, (j, c, n, size) in enumerate([(1, 4, 1, 8), (2, 4, 2, 8), (3, 2, 1, 6), (4, 3, 2, 4),
                                            (2, 8, 1, 10)]):
        torch.manual_seed(seed)
        previous = [torch.randn(n, c, size, size) for _ in range(j)]
        below = torch.randn(n, 2 * c, size // 2, size // 2)
        up, conv = UpConv(2 * c, c), DoubleConv((j + 1) * c, c, padding="same")
        cases.append((previous, below, up, conv, j))
    return cases


def _node_mistake(previous, below, up, conv, actual) -> str | None:
    """The name of a known wrong version that gives `actual`, else None."""
    with torch.no_grad():
        wrong = {
            "the up-sampled map comes first; the paper concatenates the row's nodes first, "
            "[x^{i,0}, ..., x^{i,j-1}, U(x^{i+1,j-1})]": lambda: conv(torch.cat([up(below), *previous], 1)),
            "the row's nodes are in reverse order; keep x^{i,0} first":
                lambda: conv(torch.cat([*previous[::-1], up(below)], 1)),
            "H (the conv block) is missing: apply `conv` to the concatenation":
                lambda: torch.cat([*previous, up(below)], 1),
        }
        for why, make in wrong.items():
            try:
                if describe_difference(make(), actual) is None:
                    return why
            except RuntimeError:
                continue
    return None


def check_nested_node(student_fn) -> CheckResult:
    """nested_node(previous, below, up, conv): x^{i,j} = H([x^{i,0..j-1}, U(x^{i+1,j-1})])."""
    name = "nested_node"
    cases = _node_cases()
    for previous, below, up, conv, j in cases:
        call = f"{name}(previous=[{j} maps {short(previous[0])}], below={short(below)}, up, conv) (j = {j})"
        with torch.no_grad():
            expected = reference_node(previous, below, up, conv)
            try:
                actual = student_fn(list(previous), below, up, conv)
            except NotImplementedError:
                return report(False, "not implemented", (
                    f"{name}: {NOT_IMPLEMENTED}. Replace the line `raise NotImplementedError(...)` "
                    f"with your code, run that cell, then run this check again."))
            except RuntimeError as error:
                text = str(error)
                if "Sizes of tensors must match" in text:
                    hint = ("the maps to concatenate have different sizes: up-sample x^{i+1,j-1} "
                            "with `up` first (it is half the size of the row's nodes)")
                elif "channels" in text or "size of tensor" in text or "shape" in text:
                    hint = (f"`conv` expects (j + 1)·C = {(j + 1) * previous[0].shape[1]} input "
                            f"channels: concatenate ALL {j} earlier nodes of the row and "
                            f"U(x^{{i+1,j-1}}) along the channel axis (dim=1), do not add them")
                else:
                    hint = "see the error"
                return report(False, "failed", f"{call} raised RuntimeError: "
                                                f"{text.splitlines()[0][:120]} ({hint})")
        if not isinstance(actual, torch.Tensor):
            return report(False, "failed", f"{call}: expected a tensor, got {short(actual)}")
        why = describe_difference(expected, actual, rtol=1e-4, atol=1e-5)
        if why:
            mistake = _node_mistake(previous, below, up, conv, actual)
            return report(False, "failed", f"{call}: {mistake or why}")
    return report(True, "passed", f"{name}: correct on all {len(cases)} inputs (j = 1 to 4).")


def _dice_cases():
    rng = np.random.default_rng(10)
    t = lambda a: torch.tensor(np.asarray(a), dtype=torch.float32)  # noqa: E731
    binary = [(t(rng.random((3, 9, 9)) > 0.5), t(rng.random((3, 9, 9)) > 0.4)),
              (t(rng.random((1, 16, 16)) > 0.8), t(rng.random((1, 16, 16)) > 0.3))]
    soft = [(t(rng.random((2, 8, 8))), t(rng.random((2, 8, 8)) > 0.5)),
            (t(rng.random((4, 5, 7)) ** 3), t(rng.random((4, 5, 7)) > 0.7))]
    empty = [(torch.zeros(2, 6, 6), torch.zeros(2, 6, 6))]
    return binary, soft, empty


PARENTHESES = ("a Dice coefficient lies between 0 and 1; check the parentheses: "
               "(2·Σ p·y + eps) / (Σ p + Σ y + eps), the whole numerator over the whole denominator")


def _dice_mistake(prob, target, eps, actual) -> str | None:
    p, y = prob.flatten(1), target.flatten(1)
    wrong = {
        "the factor 2 is missing: Dice = 2·Σ p·y / (Σ p + Σ y)":
            ((p * y).sum(1) + eps) / (p.sum(1) + y.sum(1) + eps),
        "this is the IoU (Jaccard), Σ p·y / (Σ p + Σ y − Σ p·y), not Dice":
            ((p * y).sum(1) + eps) / (p.sum(1) + y.sum(1) - (p * y).sum(1) + eps),
        "the probabilities were thresholded: the SOFT Dice uses p itself, so it has a gradient":
            reference_dice((prob > 0.5).float(), target, eps),
        "squared sums in the denominator (the V-Net form); U-Net++ uses Σ p + Σ y":
            (2 * (p * y).sum(1) + eps) / ((p * p).sum(1) + (y * y).sum(1) + eps),
        "one Dice for the whole batch: sum over each IMAGE's pixels (flatten(1), sum(1))":
            reference_dice(prob.reshape(1, -1), target.reshape(1, -1), eps).expand(len(prob)),
        f"{PARENTHESES}: you divided only eps, `2·Σ p·y + eps / (...)`":
            2 * (p * y).sum(1) + eps / (p.sum(1) + y.sum(1) + eps),
        f"{PARENTHESES}: you divided by Σ p alone, `(2·Σ p·y + eps) / Σ p + Σ y + eps`":
            (2 * (p * y).sum(1) + eps) / p.sum(1) + y.sum(1) + eps,
    }
    for why, value in wrong.items():
        if describe_difference(value, actual, rtol=1e-4, atol=1e-6) is None:
            return why
    return None


def check_dice_coefficient(student_fn) -> CheckResult:
    """dice_coefficient(prob, target, eps=1e-6) -> (N,) soft Dice per image."""
    name = "dice_coefficient"
    binary, soft, empty = _dice_cases()
    count = 0
    for group, eps in ((binary, 0.0), (soft, 1e-6), (empty, 1e-6)):
        for prob, target in group:
            call = f"{name}({short(prob)}, {short(target)}, eps={eps:g})"
            if group is binary:  # hard masks: scipy's Dice is the reference
                expected = torch.tensor([1 - scipy_dice(a.numpy().ravel() > 0, b.numpy().ravel() > 0)
                                         for a, b in zip(prob, target)], dtype=torch.float32)
            else:
                expected = reference_dice(prob, target, eps)
            try:
                actual = student_fn(prob.clone(), target.clone(), eps=eps)
            except NotImplementedError:
                return report(False, "not implemented", (
                    f"{name}: {NOT_IMPLEMENTED}. Replace the line `raise NotImplementedError(...)` "
                    f"with your code, run that cell, then run this check again."))
            except Exception as error:
                return report(False, "failed", f"{call} raised {type(error).__name__}: {error}")
            actual = torch.as_tensor(actual, dtype=torch.float32)
            if actual.shape != expected.shape:
                hint = (" — one Dice per image: sum over each image's pixels (flatten(1), sum(1)), "
                        "not over the whole batch" if actual.numel() == 1 else "")
                return report(False, "failed", f"{call}: expected shape {tuple(expected.shape)} "
                                                f"(one value per image), got {tuple(actual.shape)}{hint}")
            if group is empty and torch.isnan(actual).any():
                return report(False, "failed", f"{call}: got NaN for images without cells: add eps "
                                                f"to the numerator AND the denominator (then Dice = 1)")
            why = describe_difference(expected, actual, rtol=1e-4, atol=1e-6)
            if why:
                mistake = _dice_mistake(prob, target, eps, actual)
                if mistake is None and (actual > 1 + 1e-4).any():
                    mistake = PARENTHESES
                if mistake and mistake.startswith(PARENTHESES):
                    mistake = f"{why}. {mistake}"
                return report(False, "failed", f"{call}: {mistake or why}")
            count += 1
    return report(True, "passed", f"{name}: correct on all {count} inputs (hard masks against "
                                  f"scipy's Dice, soft ones against unet_course.after).")
