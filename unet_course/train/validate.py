"""Validation during training: predict held-out images whole, score them.

- pooled foreground IoU (``val_iou``): |predicted cells AND true cells| / |predicted cells OR
  true cells|, pixels thresholded at p(cell) = 0.5, the pixels of all validation images pooled
  (one big image), not the mean of per-image IoUs that ``evaluate`` and
  ``metrics.stack_scores`` report as ``foreground_iou``;
- cells separated: the share of true cells matched by one connected component of the
  prediction at IoU > 0.5 (``unet_course.metrics.match_instances``; two touching cells
  merged into one component match neither);
- misclassification rate (``val_misclassification_rate``): the share of pixels whose class is
  wrong at p(cell) = 0.5 over all validation images. Not the ISBI 2012 pixel error (1 - the
  best F-score of the cell pixels, ``unet_course.metrics.pixel_error``); runs logged before
  2026-12-07 called it val_pixel_error.

Prediction goes through the course's ONE prediction path, ``unet_course.tiling.predict_whole``:
one forward pass over the image mirrored (Fig. 2) to the smallest valid input that covers it
plus the margin, normalised by the model's own rule first (``normalize.prepare_image``), so
validation sees exactly what ``predict_tiled`` and the predict command give.
"""
from __future__ import annotations

import numpy as np

from ..tiling import predict_whole

__all__ = ["predict_image", "separated_share", "evaluate"]


def predict_image(model, image: np.ndarray, device=None) -> np.ndarray:
    """p(class 1), (H, W), for a whole image: ``tiling.predict_whole(model, image)[1]`` (kept
    under this name for lesson 07 and ``unet_course.after``)."""
    return predict_whole(model, image, device=device)[1]


def separated_share(pred_mask: np.ndarray, true_instances: np.ndarray) -> tuple[int, int]:
    """(cells separated, cells): connected components (4-connected) of the predicted mask that
    match a true cell at IoU > 0.5."""
    from skimage.measure import label as connected

    from ..metrics import match_instances
    match = match_instances(connected(np.asarray(pred_mask, bool), connectivity=1),
                            np.asarray(true_instances).astype(np.int64))
    return match.matched, match.true


def evaluate(model, images, targets, instances, device=None) -> dict:
    """Validation metrics over lists of images, targets (0/1) and true instances; also the
    probabilities p(class 1) of each image (``predict_image``)."""
    inter = union = wrong = pixels = matched = cells = 0
    probs = []
    for image, target, inst in zip(images, targets, instances):
        p = predict_image(model, image, device)  # eval mode inside, each module's mode restored
        probs.append(p)
        pred, truth = p > 0.5, np.asarray(target) > 0
        inter += np.logical_and(pred, truth).sum()
        union += np.logical_or(pred, truth).sum()
        wrong += (pred != truth).sum()  # misclassified pixels at 0.5
        pixels += truth.size
        m, n = separated_share(pred, inst)
        matched, cells = matched + m, cells + n
    return {"val_iou": float(inter / union) if union else 1.0,
            "val_separated": float(matched / cells) if cells else 1.0,
            "val_misclassification_rate": float(wrong / pixels), "probabilities": probs}
