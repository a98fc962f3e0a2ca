"""All three ISBI 2012 numbers for a stack of slices, as the challenge's Fiji script did.

For a stack Fiji picks ONE threshold for all slices: for each threshold it adds the counts
over the slices (split + merge pixels; Rand pair sums) and then takes the best threshold.
Per slice we also report each slice's own best. Every warp is computed once and reused.
"""
from __future__ import annotations

import numpy as np

from ._inputs import ISBI_THRESHOLDS, pair
from .pixel import foreground_iou, pixel_error
from .rand import _thresholds, cells, f_score_from_sums, rand_pair_sums
from .warping import MERGE, SPLIT, classify_mismatches, warp_label

__all__ = ["slice_counts", "isbi_scores"]


def slice_counts(pred, label, thresholds=ISBI_THRESHOLDS, radius: int = 20) -> dict:
    """Per-threshold counts of one slice: Rand pair sums (T, 3), split+merge and all
    remaining mismatch pixels after warping (T,), and the pixel count."""
    p, t = pair(pred, label)
    ths = _thresholds(thresholds)
    true_cells = cells(t)
    if true_cells.max() == 0:
        raise ValueError("label has no cell pixel: the Rand error is undefined")
    rand, split_merge, remaining = [], [], []
    for th in ths:
        rand.append(rand_pair_sums(cells(p > th), true_cells))
        warp = warp_label(p, t, th)
        kind = classify_mismatches(warp.warped, warp.mismatches, radius)
        split_merge.append(np.count_nonzero((kind == MERGE) | (kind == SPLIT)))
        remaining.append(len(warp.mismatches))
    return {"thresholds": ths, "rand": np.array(rand), "split_merge": np.array(split_merge),
            "remaining": np.array(remaining), "pixels": p.size,
            "pixel_error": pixel_error(p, t), "foreground_iou": foreground_iou(p, t)}


def _best(counts: list[dict]) -> dict:
    """ISBI numbers of slices taken together (one threshold for the stack, Fiji's rule)."""
    pixels = sum(c["pixels"] for c in counts)
    ths = counts[0]["thresholds"]
    rand = sum(c["rand"] for c in counts)
    f = [f_score_from_sums(*row).f_score for row in rand]
    warp = sum(c["split_merge"] for c in counts) / pixels
    classic = sum(c["remaining"] for c in counts) / pixels
    i, j = int(np.argmax(f)), int(np.argmin(warp))  # first best, as Fiji's strict comparisons
    return {"pixel_error": sum(c["pixel_error"] * c["pixels"] for c in counts) / pixels,
            "rand_error": 1.0 - f[i], "rand_threshold": ths[i],
            "warping_error": float(warp[j]), "warping_threshold": ths[j],
            "classic_warping_error": float(classic.min()),
            "foreground_iou": float(np.mean([c["foreground_iou"] for c in counts]))}


def isbi_scores(preds, labels, thresholds=ISBI_THRESHOLDS) -> tuple[list[dict], dict]:
    """(per-slice scores, stack scores) for matching lists of cell probabilities and labels."""
    if len(preds) != len(labels) or not len(preds):
        raise ValueError(f"need the same, non-zero number of predictions and labels; got "
                         f"{len(preds)} and {len(labels)}")
    counts = [slice_counts(p, t, thresholds) for p, t in zip(preds, labels)]
    return [_best([c]) for c in counts], _best(counts)
