"""Validation during training: predict held-out images whole, score them.

- foreground IoU: |predicted cells AND true cells| / |predicted cells OR true cells|, pixels
  thresholded at p(cell) = 0.5, summed over the validation images;
- cells separated: the share of true cells matched by one connected component of the
  prediction at IoU >= 0.5 (``unet_course.metrics.match_instances``; two touching cells
  merged into one component match neither);
- pixel error: the share of wrongly classified pixels (the ISBI 2012 pixel error at 0.5).

Whole-image prediction mirrors the image (Fig. 2) so that the valid U-Net's output covers it:
one pass, no tiles (the overlap-tile lesson, 08, predicts big images in tiles).
"""
from __future__ import annotations

import numpy as np
import torch

__all__ = ["predict_image", "separated_share", "evaluate"]


def _sizes(model, n: int) -> tuple[int, int]:
    """(input size, output size) of the smallest output >= n that the network can produce."""
    for out in range(n, n + 4 * 2 ** model.depth + 1):
        try:
            if model.padding == "valid":
                from ..sizes import input_size_for
                return input_size_for(out, model.depth), out
            return model.output_size(out), out
        except ValueError:
            continue
    raise ValueError(f"no valid input size found for an image side of {n}")


@torch.no_grad()
def predict_image(model, image: np.ndarray, device=None) -> np.ndarray:
    """p(class 1) for a whole (H, W) image in [0, 1]: one pass over its mirror extension."""
    from ..data import mirrored_window
    (in_h, out_h), (in_w, out_w) = _sizes(model, image.shape[0]), _sizes(model, image.shape[1])
    m_h, m_w = (in_h - out_h) // 2, (in_w - out_w) // 2
    window = mirrored_window(np.asarray(image, np.float32), -m_h, -m_w, in_h, in_w)
    device = device or next(model.parameters()).device
    x = torch.from_numpy(np.ascontiguousarray(window))[None, None].to(device)
    probs = torch.softmax(model(x).float(), dim=1)[0, 1]
    return probs[:image.shape[0], :image.shape[1]].cpu().numpy()


def separated_share(pred_mask: np.ndarray, true_instances: np.ndarray) -> tuple[int, int]:
    """(cells separated, cells): connected components (4-connected) of the predicted mask that
    match a true cell at IoU >= 0.5."""
    from skimage.measure import label as connected

    from ..metrics import match_instances
    match = match_instances(connected(np.asarray(pred_mask, bool), connectivity=1),
                            np.asarray(true_instances).astype(np.int64))
    return match.matched, match.true


def evaluate(model, images, targets, instances, device=None) -> dict:
    """Validation metrics over lists of images, targets (0/1) and true instances."""
    was_training = model.training
    model.eval()
    inter = union = wrong = pixels = matched = cells = 0
    probs = []
    for image, target, inst in zip(images, targets, instances):
        p = predict_image(model, image, device)
        probs.append(p)
        pred, truth = p > 0.5, np.asarray(target) > 0
        inter += np.logical_and(pred, truth).sum()
        union += np.logical_or(pred, truth).sum()
        wrong += (pred != truth).sum()
        pixels += truth.size
        m, n = separated_share(pred, inst)
        matched, cells = matched + m, cells + n
    model.train(was_training)
    return {"val_iou": float(inter / union) if union else 1.0,
            "val_separated": float(matched / cells) if cells else 1.0,
            "val_pixel_error": float(wrong / pixels), "probabilities": probs}
