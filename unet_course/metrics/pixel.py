"""Pixel-wise metrics: the ISBI 2012 pixel error, the misclassification rate and the IoU.

The paper reports the pixel error for ISBI 2012 (Sec. 4, Table 1). The challenge defined it as
"1 - the maximal F-score of pixel similarity" and computed it with Fiji
(trainableSegmentation/metrics/PixelError.java, ``getPixelErrorMaximalFScore``, with the
F-score of ClassificationStatistics.java): it is NOT the share of wrong pixels at 0.5, which
keeps its own name here, ``misclassification_rate``. Table 2 (cell tracking) is the SEG score
of ``instances.seg_score``, not ``foreground_iou``. All of these reward every pixel alike, so
a one-pixel gap in a membrane (two cells merged) costs almost nothing: see
``rand_error``/``warping_error``.
"""
from __future__ import annotations

import numpy as np

from ._inputs import ISBI_THRESHOLDS, above, as_image, pair, same_shape
from .rand import _thresholds

__all__ = ["pixel_error", "pixel_counts", "pixel_f_scores", "misclassification_rate",
           "iou_per_class", "foreground_iou"]


def _check_threshold(threshold: float) -> float:
    if not 0 <= threshold < 1:
        raise ValueError(f"threshold must be in [0, 1); got {threshold!r}")
    return float(threshold)


def _slices(pred, label) -> list[tuple[np.ndarray, np.ndarray]]:
    """Checked (float32 probabilities, bool cell mask) per slice: one slice (H, W), a stack
    (N, H, W), or equal-length lists of slices."""
    if not isinstance(pred, (list, tuple)):
        pred, label = np.asarray(pred), np.asarray(label)
        if (pred.ndim == 3) != (label.ndim == 3):
            raise ValueError(f"pred has shape {pred.shape} and label {label.shape}: give one "
                             f"slice (H, W) or a stack (N, H, W) of both")
        if pred.ndim != 3:
            return [pair(pred, label)]
    if len(pred) != len(label) or not len(pred):
        raise ValueError(f"need the same, non-zero number of prediction and label slices; got "
                         f"{len(pred)} and {len(label)}")
    return [pair(p, t) for p, t in zip(pred, label)]


def pixel_counts(pred, label, thresholds=ISBI_THRESHOLDS) -> np.ndarray:
    """(T, 4) int64 counts (TP, FP, FN, TN) of the cell class per threshold, summed over the
    slices of a stack. Positive: ``label > 0`` (cell), ``pred > threshold`` (Fiji's
    PixelError.precisionRecallStats)."""
    ths = np.array(_thresholds(thresholds))
    counts = np.zeros((ths.size, 4), np.int64)
    for p, t in _slices(pred, label):
        cell, other = np.sort(p[t].astype(np.float64)), np.sort(p[~t].astype(np.float64))
        tp = cell.size - np.searchsorted(cell, ths, side="right")   # cells with p > th
        fp = other.size - np.searchsorted(other, ths, side="right")
        counts += np.stack([tp, fp, cell.size - tp, other.size - fp], axis=1)
    return counts


def pixel_f_scores(counts) -> np.ndarray:
    """F-score of each row (TP, FP, FN, TN) with Fiji's conventions (ClassificationStatistics):
    precision = 1 when there is no false positive, recall = 1 when there is no false negative,
    F = 0 when both are 0. So no cell in the label and none predicted gives F = 1."""
    tp, fp, fn = (np.asarray(counts, np.float64)[:, i] for i in range(3))
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(fp == 0, 1.0, tp / (tp + fp))
        recall = np.where(fn == 0, 1.0, tp / (tp + fn))
        f = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    return f


def pixel_error(pred, label, thresholds=ISBI_THRESHOLDS, return_threshold: bool = False):
    """ISBI 2012 pixel error: 1 - the best F-score of the cell class over ``thresholds``.

    ``pred``: cell probabilities in [0, 1], one slice (H, W) or a stack (N, H, W) (or lists);
    ``label``: binary ground truth (> 0 = cell). For a stack, TP/FP/FN are summed over the
    slices before the F-score: one threshold for the stack, as Fiji's PixelError did. The first
    best threshold wins (Fiji: ``if (fScore > bestFscore)``, starting from 0); with
    ``return_threshold=True`` returns ``(error, best_threshold)``.

    Deviation: the default ``thresholds`` are 0.0, 0.1, ..., 0.9 (ISBI_THRESHOLDS, as the
    course's Rand and warping errors); the Fiji script published with the challenge passes
    ``getPixelErrorMaximalFScore(0.0, 1.0, 0.1)``, whose loop adds an 11th threshold
    0.9999999999999999 (only p == 1 is a cell there); pass it in ``thresholds`` to include it.
    Note the F-score's conventions: a slice with no cell pixel scores 0 (some threshold
    predicts no cell) or 1 (every threshold predicts one).
    """
    ths = _thresholds(thresholds)
    f = pixel_f_scores(pixel_counts(pred, label, ths))
    best = int(np.argmax(f))  # the first maximum; all F = 0 keeps the first threshold, as Fiji
    error = float(1.0 - f[best])
    return (error, ths[best]) if return_threshold else error


def misclassification_rate(pred, label, threshold: float = 0.5) -> float:
    """Share of pixels whose class differs: ``mean((pred > threshold) != (label > 0))``, over
    all pixels of a slice or a stack. Not the challenge's pixel error (``pixel_error``)."""
    th = _check_threshold(threshold)
    slices = _slices(pred, label)
    wrong = sum(int(np.count_nonzero(above(p, th) != t)) for p, t in slices)
    return wrong / sum(p.size for p, _ in slices)


def iou_per_class(pred_classes, label_classes, num_classes: int | None = None) -> np.ndarray:
    """IoU of each class ``c``: |pred == c & label == c| / |pred == c | label == c|.

    Both inputs are integer class maps of the same shape. A class absent from both gives NaN.
    """
    p, t = as_image(pred_classes, "pred_classes"), as_image(label_classes, "label_classes")
    same_shape(p, t)
    for a, name in ((p, "pred_classes"), (t, "label_classes")):
        if not np.issubdtype(a.dtype, np.integer) or a.min() < 0:
            raise ValueError(f"{name} must hold non-negative integer class ids; got dtype "
                             f"{a.dtype}, min {a.min()}")
    n = int(max(p.max(), t.max())) + 1 if num_classes is None else int(num_classes)
    if n < 1 or max(p.max(), t.max()) >= n:
        raise ValueError(f"num_classes={num_classes} but the maps hold class "
                         f"{int(max(p.max(), t.max()))}")
    joint = np.bincount(t.ravel().astype(np.int64) * n + p.ravel(), minlength=n * n).reshape(n, n)
    inter = np.diag(joint).astype(float)
    union = joint.sum(0) + joint.sum(1) - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, inter / np.maximum(union, 1), np.nan)


def foreground_iou(pred, label, threshold: float = 0.5) -> float:
    """IoU of the cell class of ONE image: |P & T| / |P | T| with P = pred > threshold.

    Over several images, ``foreground_iou`` in ``stack_scores``, ``evaluate``'s CSV and the
    benchmark CSVs is the mean of the images' IoUs; training's ``val_iou`` is another number,
    the IoU of all validation pixels pooled (``unet_course.train.validate``).

    Not the cell tracking challenge's score (Table 2 is SEG, a mean over the reference cells of
    each one's IoU with its matching cell: ``seg_score``). 1.0 when both images have no cell
    pixel at all (nothing to find, nothing found).
    """
    p, t = pair(pred, label)
    c = above(p, _check_threshold(threshold))
    union = np.count_nonzero(c | t)
    return 1.0 if union == 0 else float(np.count_nonzero(c & t) / union)
