"""Instance metrics: which predicted cell is which true cell (IoU > 0.5), and the cell
tracking challenge's SEG score (the paper's Table 2).

Matching: a predicted and a true cell match when their IoU is above 0.5 (as the Data Science
Bowl 2018's "IoU above the threshold"). Above 0.5 a true cell can match at most one predicted
cell and vice versa (two disjoint cells cannot both cover more than half of it), so the
matching is one-to-one without any assignment solver; at exactly 0.5 it would not be (a cell
cut into two equal halves has IoU 0.5 with each). Merges and splits are counted from the
overlaps: a predicted cell that covers most of two or more true cells merged them; a true cell
of which two or more predicted cells lie mostly inside, and that no predicted cell matches,
was split.

SEG (Maska et al., Bioinformatics 2014; Ulman et al., Nature Methods 2017): for each reference
cell R, the predicted cell S with |R & S| > 0.5 |R| (at most one) gives J = |R & S| / |R | S|,
no such S gives 0; SEG is the mean of J over the reference cells. Predicted cells that match
no reference cell cost nothing (the challenge's references may annotate only some cells).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._inputs import as_image, same_shape

__all__ = ["InstanceMatch", "MergesAndSplits", "match_instances", "merges_and_splits",
           "seg_jaccards", "seg_score"]


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


class MergesAndSplits(NamedTuple):
    merged_pred: np.ndarray  # ids of predicted cells that cover most of >= 2 true cells
    merged_true: np.ndarray  # ids of the true cells inside them (``InstanceMatch.merged`` counts these)
    split_true: np.ndarray   # ids of unmatched true cells with >= 2 predicted cells mostly inside


def _overlaps(pred_instances, true_instances, ids: bool = False):
    """(overlap (true x predicted cells), true cell sizes, predicted cell sizes), floats;
    with ``ids`` also (true ids, predicted ids) of the rows and columns."""
    p, t = _instances(pred_instances, "pred_instances"), _instances(true_instances, "true_instances")
    same_shape(p, t)
    p_ids, p_inv = np.unique(p.ravel(), return_inverse=True)
    t_ids, t_inv = np.unique(t.ravel(), return_inverse=True)
    joint = np.bincount(t_inv * p_ids.size + p_inv,
                        minlength=t_ids.size * p_ids.size).reshape(t_ids.size, p_ids.size)
    tk, pk = t_ids != 0, p_ids != 0
    sizes = (joint[np.ix_(tk, pk)].astype(float), joint.sum(1)[tk].astype(float),
             joint.sum(0)[pk].astype(float))
    return sizes + (t_ids[tk], p_ids[pk]) if ids else sizes


def _check_iou(iou_threshold: float) -> None:
    if not 0.5 <= iou_threshold < 1:
        raise ValueError(f"iou_threshold must be in [0.5, 1) for a one-to-one matching (cells "
                         f"match when IoU > iou_threshold); got {iou_threshold!r}")


def _merge_split(overlap, t_size, p_size, good):
    """Boolean (merged predicted cells, true cells in them, split true cells) from overlaps."""
    if not overlap.size:
        return np.zeros(p_size.size, bool), np.zeros(t_size.size, bool), np.zeros(t_size.size, bool)
    mostly_in_pred = overlap > 0.5 * t_size[:, None]       # true cell mostly inside pred cell
    merged_pred = mostly_in_pred.sum(0) >= 2
    merged_true = mostly_in_pred[:, merged_pred].any(1)
    mostly_in_true = overlap > 0.5 * p_size[None, :]       # pred cell mostly inside true cell
    # a true cell matched by one predicted cell is not split by a speck inside it
    split_true = (mostly_in_true.sum(1) >= 2) & ~good.any(1)
    return merged_pred, merged_true, split_true


def merges_and_splits(pred_instances, true_instances, iou_threshold: float = 0.5) -> MergesAndSplits:
    """Which cells ``match_instances`` counts as merged and split (ids, e.g. to draw them):
    the ONE definition that lesson 07's picture and the counts share."""
    _check_iou(iou_threshold)
    overlap, t_size, p_size, t_ids, p_ids = _overlaps(pred_instances, true_instances, ids=True)
    iou = overlap / (t_size[:, None] + p_size[None, :] - overlap) if overlap.size else overlap
    mp, mt, st = _merge_split(overlap, t_size, p_size, iou > iou_threshold)
    return MergesAndSplits(p_ids[mp], t_ids[mt], t_ids[st])


def match_instances(pred_instances, true_instances, iou_threshold: float = 0.5) -> InstanceMatch:
    """Match predicted to true cells at IoU > ``iou_threshold`` (default 0.5; 0.5 or more
    keeps the matching one-to-one). Both inputs: integer labelings, 0 = background."""
    _check_iou(iou_threshold)
    overlap, t_size, p_size = _overlaps(pred_instances, true_instances)
    iou = overlap / (t_size[:, None] + p_size[None, :] - overlap) if overlap.size else overlap
    good = iou > iou_threshold
    matched = int(good.sum())
    n_p, n_t = p_size.size, t_size.size
    precision = matched / n_p if n_p else float(n_t == 0)
    recall = matched / n_t if n_t else float(n_p == 0)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    mean_iou = float(iou[good].mean()) if matched else float("nan")
    _, merged_true, split_true = _merge_split(overlap, t_size, p_size, good)
    merged, split = int(merged_true.sum()), int(split_true.sum())
    return InstanceMatch(float(precision), float(recall), float(f1), mean_iou, matched, n_p,
                         n_t, merged, split)


def seg_jaccards(pred_instances, true_instances) -> np.ndarray:
    """SEG's J of every reference cell (in the order of its id): IoU with the predicted cell
    covering more than half of it, 0 if none does. Concatenate these over images for the
    SEG of a data set (the challenge's mean over all reference cells)."""
    overlap, t_size, p_size = _overlaps(pred_instances, true_instances)
    if not overlap.size:
        return np.zeros(t_size.size)
    covers = overlap > 0.5 * t_size[:, None]                # at most one per row
    iou = overlap / (t_size[:, None] + p_size[None, :] - overlap)
    return np.where(covers, iou, 0.0).max(axis=1)


def seg_score(pred_instances, true_instances) -> float:
    """The cell tracking challenge's SEG: mean over the reference cells of ``seg_jaccards``;
    NaN when the reference has no cell (SEG is undefined there)."""
    j = seg_jaccards(pred_instances, true_instances)
    return float(j.mean()) if j.size else float("nan")
