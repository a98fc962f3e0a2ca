"""Pixel-wise metrics: pixel error and intersection over union (IoU).

The paper reports the pixel error for ISBI 2012 (Sec. 4, Table 1) and the IoU for the cell
tracking challenge (Sec. 4, Table 2). Both reward every pixel alike, so a one-pixel gap in a
membrane (two cells merged) costs almost nothing here: see ``rand_error``/``warping_error``.
"""
from __future__ import annotations

import numpy as np

from ._inputs import as_image, pair, same_shape

__all__ = ["pixel_error", "iou_per_class", "foreground_iou"]


def _check_threshold(threshold: float) -> float:
    if not 0 <= threshold < 1:
        raise ValueError(f"threshold must be in [0, 1); got {threshold!r}")
    return float(threshold)


def pixel_error(pred, label, threshold: float = 0.5) -> float:
    """Fraction of pixels whose class differs: ``mean((pred > threshold) != (label > 0))``.

    The challenge computed its pixel error with Fiji (trainableSegmentation.metrics.PixelError);
    this is the plain misclassification rate at one threshold and may differ from the
    leaderboard's number in detail (the course has not re-implemented PixelError).
    """
    p, t = pair(pred, label)
    return float(np.mean((p > _check_threshold(threshold)) != t))


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
    """IoU of the cell class (the cell tracking challenge's score, the paper's Table 2).

    1.0 when both images have no cell pixel at all (nothing to find, nothing found).
    """
    p, t = pair(pred, label)
    c = p > _check_threshold(threshold)
    union = np.count_nonzero(c | t)
    return 1.0 if union == 0 else float(np.count_nonzero(c & t) / union)
