"""All three ISBI 2012 numbers for a stack of slices, as the challenge's Fiji script did.

For a stack Fiji picks ONE threshold for all slices: for each threshold it adds the counts
over the slices (pixel TP/FP/FN/TN; split + merge pixels; Rand pair sums) and then takes the
best threshold. Per slice we also report each slice's own best. Every warp is computed once
and reused. Beside them, at one given threshold (0.5 by default): the misclassification rate
(the share of wrong pixels, not the challenge's pixel error) and ``foreground_iou``, the mean
of the slices' foreground IoUs (not their pixels pooled, as training's ``val_iou``).
"""
from __future__ import annotations

import numpy as np

from ._inputs import ISBI_THRESHOLDS, above, pair
from .pixel import _check_threshold, pixel_counts, pixel_f_scores
from .rand import _thresholds, cells, f_score_from_sums, rand_pair_sums
from .warping import MERGE, SPLIT, classify_mismatches, warp_label

__all__ = ["slice_counts", "isbi_scores", "stack_scores"]


def slice_counts(pred, label, thresholds=ISBI_THRESHOLDS, radius: int = 20,
                 threshold: float = 0.5) -> dict:
    """Per-threshold counts of one slice: pixel TP/FP/FN/TN (T, 4), Rand pair sums (T, 3),
    split+merge and all remaining mismatch pixels after warping (T,), the pixel count; and at
    ``threshold``: the misclassified pixels and the cell intersection and union."""
    p, t = pair(pred, label)
    ths = _thresholds(thresholds)
    true_cells = cells(t)
    if true_cells.max() == 0:
        raise ValueError("label has no cell pixel: the Rand error is undefined")
    rand, split_merge, remaining = [], [], []
    for th in ths:
        rand.append(rand_pair_sums(cells(above(p, th)), true_cells))
        warp = warp_label(p, t, th)
        kind = classify_mismatches(warp.warped, warp.mismatches, radius)
        split_merge.append(np.count_nonzero((kind == MERGE) | (kind == SPLIT)))
        remaining.append(len(warp.mismatches))
    c = above(p, _check_threshold(threshold))
    return {"thresholds": ths, "pixel": pixel_counts(p, t, ths), "rand": np.array(rand),
            "split_merge": np.array(split_merge), "remaining": np.array(remaining),
            "pixels": p.size, "misclassified": int(np.count_nonzero(c != t)),
            "intersection": int(np.count_nonzero(c & t)), "union": int(np.count_nonzero(c | t))}


def stack_scores(counts: list[dict]) -> dict:
    """ISBI numbers of slices taken together (one threshold for the stack, Fiji's rule): pixel,
    Rand and warping errors and their thresholds; the misclassification rate over all pixels
    and the mean of the slices' foreground IoUs at the fixed threshold."""
    pixels = sum(c["pixels"] for c in counts)
    ths = counts[0]["thresholds"]
    pixel_f = pixel_f_scores(sum(c["pixel"] for c in counts))
    rand = sum(c["rand"] for c in counts)
    f = [f_score_from_sums(*row).f_score for row in rand]
    warp = sum(c["split_merge"] for c in counts) / pixels
    classic = sum(c["remaining"] for c in counts) / pixels
    # the first best, as Fiji's strict comparisons
    k, i, j = int(np.argmax(pixel_f)), int(np.argmax(f)), int(np.argmin(warp))
    ious = [c["intersection"] / c["union"] if c["union"] else 1.0 for c in counts]
    return {"pixel_error": float(1.0 - pixel_f[k]), "pixel_threshold": ths[k],
            "rand_error": 1.0 - f[i], "rand_threshold": ths[i],
            "warping_error": float(warp[j]), "warping_threshold": ths[j],
            "classic_warping_error": float(classic.min()),
            "misclassification_rate": sum(c["misclassified"] for c in counts) / pixels,
            "foreground_iou": float(np.mean(ious))}


def isbi_scores(preds, labels, thresholds=ISBI_THRESHOLDS,
                threshold: float = 0.5) -> tuple[list[dict], dict]:
    """(per-slice scores, stack scores) for matching lists of cell probabilities and labels;
    ``threshold`` is the one of the misclassification rate and the IoU (see ``stack_scores``)."""
    if len(preds) != len(labels) or not len(preds):
        raise ValueError(f"need the same, non-zero number of predictions and labels; got "
                         f"{len(preds)} and {len(labels)}")
    counts = [slice_counts(p, t, thresholds, threshold=threshold) for p, t in zip(preds, labels)]
    return [stack_scores([c]) for c in counts], stack_scores(counts)
