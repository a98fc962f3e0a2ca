"""Instance matching: which predicted cell is which true cell (IoU >= 0.5).

At IoU > 0.5 a true cell can match at most one predicted cell and vice versa, so the
matching is unique without any assignment solver. Merges and splits are counted from the
overlaps: a predicted cell that covers most of two or more true cells merged them; a true cell
of which two or more predicted cells lie mostly inside, and that no predicted cell matches,
was split.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._inputs import as_image, same_shape

__all__ = ["InstanceMatch", "match_instances"]


class InstanceMatch(NamedTuple):
    precision: float       # matched / predicted cells
    recall: float          # matched / true cells
    f1: float
    mean_matched_iou: float  # NaN when nothing matched
    matched: int
    predicted: int
    true: int
    merged: int            # true cells that lie (> half) inside a predicted cell holding another
    split: int             # unmatched true cells with >= 2 predicted cells mostly inside them


def _instances(a, name):
    a = as_image(a, name)
    if not np.issubdtype(a.dtype, np.integer) or a.min() < 0:
        raise ValueError(f"{name} must be an instance labeling (non-negative integers, 0 = "
                         f"background); got dtype {a.dtype}. Label a probability map first, "
                         f"e.g. scipy.ndimage.label(pred > 0.5)")
    return a


def match_instances(pred_instances, true_instances, iou_threshold: float = 0.5) -> InstanceMatch:
    """Match predicted to true cells at IoU >= ``iou_threshold`` (default 0.5, >= 0.5 needed
    for a unique matching). Both inputs: integer labelings, 0 = background."""
    if not 0.5 <= iou_threshold <= 1:
        raise ValueError(f"iou_threshold must be in [0.5, 1] for a unique matching; got "
                         f"{iou_threshold!r}")
    p, t = _instances(pred_instances, "pred_instances"), _instances(true_instances, "true_instances")
    same_shape(p, t)
    p_ids, p_inv = np.unique(p.ravel(), return_inverse=True)
    t_ids, t_inv = np.unique(t.ravel(), return_inverse=True)
    joint = np.bincount(t_inv * p_ids.size + p_inv,
                        minlength=t_ids.size * p_ids.size).reshape(t_ids.size, p_ids.size)
    tk, pk = t_ids != 0, p_ids != 0
    overlap = joint[np.ix_(tk, pk)].astype(float)
    t_size, p_size = joint.sum(1)[tk].astype(float), joint.sum(0)[pk].astype(float)
    iou = overlap / (t_size[:, None] + p_size[None, :] - overlap) if overlap.size else overlap
    good = iou >= iou_threshold
    if iou_threshold == 0.5:  # IoU == 0.5 exactly can tie; keep the best per row and column
        good &= (iou == iou.max(1, keepdims=True, initial=0)) & (iou == iou.max(0, keepdims=True, initial=0))
    matched = int(good.sum())
    n_p, n_t = int(pk.sum()), int(tk.sum())
    precision = matched / n_p if n_p else float(n_t == 0)
    recall = matched / n_t if n_t else float(n_p == 0)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    mean_iou = float(iou[good].mean()) if matched else float("nan")
    mostly_in_pred = overlap > 0.5 * t_size[:, None]       # true cell mostly inside pred cell
    merged = int(mostly_in_pred[:, mostly_in_pred.sum(0) >= 2].any(1).sum()) if overlap.size else 0
    mostly_in_true = overlap > 0.5 * p_size[None, :]       # pred cell mostly inside true cell
    # a true cell matched by one predicted cell is not split by a speck inside it
    split = int(((mostly_in_true.sum(1) >= 2) & ~good.any(1)).sum()) if overlap.size else 0
    return InstanceMatch(float(precision), float(recall), float(f1), mean_iou, matched, n_p,
                         n_t, merged, split)
