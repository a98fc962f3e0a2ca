"""Rand error as the ISBI 2012 challenge computed it (Arganda-Carreras et al. 2015).

Cells are the 4-connected components of the thresholded maps; pixels that are membrane in
the ground truth are left out ("foreground-restricted"); predicted membrane pixels that fall
on a true cell count as singletons (each its own segment). The Rand F-score is the harmonic
mean of the Rand split and merge scores over pixel pairs, the error is 1 - the best F-score
over the thresholds 0.0, 0.1, ..., 0.9 (Fiji: RandError.getForegroundRestrictedRandIndex-
MaximalFScore, with the N^2 normalisation of getForegroundRestrictedRandIndexStatsN2).

How it relates to scikit-image: ``skimage.metrics.adapted_rand_error(true_cc, pred_cc)`` with
``ignore_labels=(0,)`` gives the same F-score when every predicted membrane pixel gets its own
label and pixel pairs with themselves are not counted (``self_pairs=False`` here). Fiji counts
them (each sum of squared segment sizes includes the n pixels), which changes the score by
about n / (sum of squared cell sizes): 1e-3 or less on an ISBI slice. Note skimage calls
"precision" what Fiji calls recall (the F-score is symmetric).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy import ndimage as ndi

from ._inputs import ISBI_THRESHOLDS, above, as_image, pair

__all__ = ["RandScore", "rand_f_score", "rand_pair_sums", "f_score_from_sums", "rand_error", "cells"]

FOUR = ndi.generate_binary_structure(2, 1)


class RandScore(NamedTuple):
    f_score: float
    precision: float  # pairs together in the prediction that are together in the truth
    recall: float     # pairs together in the truth that are together in the prediction


def cells(mask) -> np.ndarray:
    """4-connected components of a cell mask (membrane = 0), as the challenge labels cells."""
    return ndi.label(as_image(mask, "mask") > 0, structure=FOUR)[0]


def rand_pair_sums(pred_cells, true_cells, self_pairs: bool = True) -> tuple[float, float, float]:
    """(pairs together in both, together in the truth, together in the prediction), as sums of
    squared overlap/segment sizes over true cell pixels; Fiji adds these over a stack's slices."""
    p, t = as_image(pred_cells, "pred_cells"), as_image(true_cells, "true_cells")
    if p.shape != t.shape:
        raise ValueError(f"pred_cells has shape {p.shape} but true_cells has shape {t.shape}")
    keep = t.ravel() > 0
    n = float(np.count_nonzero(keep))
    if n == 0:
        raise ValueError("true_cells has no cell pixel (all 0): the foreground-restricted Rand "
                         "score is undefined")
    tt = np.unique(t.ravel()[keep], return_inverse=True)[1]
    pp = p.ravel()[keep]
    single = float(np.count_nonzero(pp == 0))          # singletons: sum of 1^2 terms
    pj = np.unique(pp[pp > 0], return_inverse=True)[1]
    pair_keys = tt[pp > 0].astype(np.int64) * (int(pj.max(initial=-1)) + 1) + pj
    joint = np.unique(pair_keys, return_counts=True)[1].astype(np.float64)  # overlap sizes
    a = np.bincount(tt).astype(np.float64)              # true segment sizes
    b = np.bincount(pj).astype(np.float64)              # predicted segment sizes
    sums = (float(joint @ joint) + single, float(a @ a), float(b @ b) + single)
    return sums if self_pairs else tuple(s - n for s in sums)  # skimage: distinct pixels only


def f_score_from_sums(sum_ab: float, sum_a: float, sum_b: float) -> RandScore:
    precision = sum_ab / sum_b if sum_b > 0 else 0.0
    recall = sum_ab / sum_a if sum_a > 0 else 0.0
    f = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    return RandScore(float(f), float(precision), float(recall))


def rand_f_score(pred_cells, true_cells, self_pairs: bool = True) -> RandScore:
    """Foreground-restricted Rand F-score of two labelings (0 = membrane/background).

    ``pred_cells``/``true_cells`` are instance labelings (e.g. ``cells(mask)``). Pixels with
    ``true_cells == 0`` are ignored; pixels with ``pred_cells == 0`` are singletons.
    """
    return f_score_from_sums(*rand_pair_sums(pred_cells, true_cells, self_pairs))


def rand_error(pred, label, thresholds=ISBI_THRESHOLDS, return_threshold: bool = False):
    """ISBI 2012 Rand error: 1 - max over thresholds of the foreground-restricted F-score.

    ``pred``: cell probabilities in [0, 1]; ``label``: binary ground truth (> 0 = cell).
    With ``return_threshold=True`` returns ``(error, best_threshold)``.
    """
    p, t = pair(pred, label)
    true_cells = cells(t)
    if true_cells.max() == 0:
        raise ValueError("label has no cell pixel: the Rand error is undefined")
    best, best_th = -1.0, None
    for th in _thresholds(thresholds):
        f = rand_f_score(cells(above(p, th)), true_cells).f_score
        if f > best:
            best, best_th = f, th
    error = 1.0 - best
    return (error, best_th) if return_threshold else error


def _thresholds(thresholds) -> tuple[float, ...]:
    ths = tuple(float(t) for t in np.atleast_1d(thresholds))
    if not ths or any(not 0 <= t < 1 for t in ths):
        raise ValueError(f"thresholds must be a non-empty list of values in [0, 1); got "
                         f"{thresholds!r}")
    return ths
