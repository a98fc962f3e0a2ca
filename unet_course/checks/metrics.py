"""Checks for exercise 09: the share of wrong pixels and the foreground-restricted Rand F-score
(Sec. 4, the ISBI 2012 metrics). The references are ``unet_course.metrics``: the exercise's
``misclassification_rate`` is the plain share of wrong pixels at 0.5 (``metrics.misclassification_rate``),
not the challenge's pixel error (``metrics.pixel_error``: 1 - the best F-score of the cell
pixels over thresholds); the Rand F-score is tested against scikit-image's
``adapted_rand_error``."""
from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from .. import metrics
from .core import NOT_IMPLEMENTED, CheckResult, describe_difference, report, short

__all__ = ["check_misclassification_rate", "check_rand_f_score"]


def _cells(rng, shape, level=0.0, sigma=2.0):
    return ndi.gaussian_filter(rng.normal(size=shape), sigma) > level


def _label_cases(seed: int = 2012):
    """(pred, label) pairs: edge cases first, then random maps. Labels like the ISBI ones
    (0 = membrane, 255 = cell) and 0/1 masks; predictions in [0, 1]."""
    rng = np.random.default_rng(seed)
    grid = np.ones((9, 9), np.uint8) * 255
    grid[4, :], grid[:, 4] = 0, 0                          # four cells, a membrane cross
    cases = [("identical", grid / 255.0, grid),
             ("exactly 0.5 on the membrane", np.where(grid > 0, 1.0, 0.5), grid),
             ("all wrong", 1 - grid / 255.0, grid)]
    merged = grid / 255.0
    merged[4, 1] = 0.9                                     # a gap: two cells merge
    cases.append(("a gap in the membrane", merged, grid))
    corner = np.zeros((10, 10), np.uint8)
    corner[1:5, 1:5], corner[5:9, 5:9] = 255, 255          # two cells that touch at a corner
    apart = corner / 255.0
    apart[5, 5:9], apart[5:9, 5] = 0, 0                    # predicted: the corner opened
    cases.append(("cells touching at a corner", apart, corner))
    for i in range(5):
        shape = tuple(int(s) for s in rng.integers(12, 40, size=2))
        label = _cells(rng, shape).astype(np.uint8) * (255 if i % 2 else 1)
        pred = np.clip(ndi.gaussian_filter(label > 0, 1.0) + rng.normal(0, 0.2, shape), 0, 1)
        cases.append((f"random map {i + 1}", pred, label))
    return cases


MISCLASSIFICATION = ("the share of wrong pixels at 0.5, as metrics.misclassification_rate; the "
                     "challenge's pixel error, metrics.pixel_error, is another number")


def check_misclassification_rate(misclassification_rate) -> CheckResult:
    """misclassification_rate(pred, label): share of pixels where (pred > 0.5) differs from (label > 0),
    compared with ``metrics.misclassification_rate`` (not the challenge's ``pixel_error``)."""
    def explain(pred, label):
        def why(expected, actual):
            base = describe_difference(expected, actual)
            if base is None:
                return None
            variants = {
                "you counted pixels with pred >= 0.5 as cells; a probability of exactly 0.5 is "
                "not above the threshold (use pred > 0.5)": np.mean((pred >= 0.5) != (label > 0)),
                "you compared the label with 1; ISBI labels are 0 and 255, a cell is label > 0":
                    np.mean((pred > 0.5) != (label == 1)),
                "you returned the NUMBER of wrong pixels; the rate is their share "
                "(divide by the number of pixels)": np.count_nonzero((pred > 0.5) != (label > 0)),
                "you returned the share of RIGHT pixels (the accuracy); the error is 1 - that":
                    np.mean((pred > 0.5) == (label > 0)),
                "you computed the ISBI challenge's pixel error (1 - the best F-score over "
                "thresholds, metrics.pixel_error); this exercise asks for the plain share of "
                "wrong pixels at 0.5": metrics.pixel_error(pred, label),
            }
            for hint, value in variants.items():
                if np.isclose(float(actual), float(value), rtol=1e-6) and not np.isclose(
                        float(actual), float(expected), rtol=1e-6):
                    return f"{base}: {hint}"
            return base
        return why

    return _run("misclassification_rate", misclassification_rate, metrics.misclassification_rate, _label_cases(),
                explain, what=MISCLASSIFICATION)


def _run(name, student, reference, cases, explain, what=None):
    """Compare on every case; a wrong answer names the case and, where it can, the cause."""
    for case_name, pred, label in cases:
        expected = reference(pred, label)
        try:
            actual = student(pred.copy(), label.copy())
        except NotImplementedError:
            return report(False, "not implemented", (
                f"{name}: {NOT_IMPLEMENTED}. Replace the line `raise NotImplementedError(...)` "
                f"with your code, run that cell, then run this check again."))
        except Exception as error:
            return report(False, "failed", f"{name} on '{case_name}' ({short(pred)}) raised "
                                           f"{type(error).__name__}: {error}")
        why = explain(pred, label)(expected, actual)
        if why:
            return report(False, "failed", f"{name} on '{case_name}': {why}"
                                           + (f". The reference is {what}." if what else ""))
    return report(True, "passed", f"{name}: correct on all {len(cases)} inputs"
                                  + (f" ({what})." if what else "."))


def _variant_f(pred_mask, label_mask, *, self_pairs=True, singletons=True, restrict=True,
               four=True):
    """The F-score with one of the usual slips, to name the slip in a message."""
    structure = ndi.generate_binary_structure(2, 1 if four else 2)
    pred_cells = ndi.label(pred_mask, structure)[0]
    true_cells = ndi.label(label_mask, structure)[0]
    if not singletons:                                   # membrane = one big segment
        pred_cells = np.where(pred_cells == 0, pred_cells.max() + 1, pred_cells)
    if not restrict:                                     # membrane pixels of the truth kept
        true_cells = np.where(true_cells == 0, true_cells.max() + 1, true_cells)
    return metrics.rand_f_score(pred_cells, true_cells, self_pairs=self_pairs).f_score


def _f_without_singletons(pred_mask, label_mask):
    """The F-score with the predicted membrane pixels left out of S_ab and S_b altogether."""
    pred_cells, true_cells = ndi.label(pred_mask)[0], ndi.label(label_mask)[0]
    keep = (true_cells > 0) & (pred_cells > 0)
    t, p = true_cells[keep], pred_cells[keep]
    pairs = np.unique(np.stack([t, p]), axis=1, return_counts=True)[1].astype(float)
    s_a = np.sum(np.bincount(true_cells[true_cells > 0]).astype(float) ** 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.sum(pairs ** 2) / np.sum(np.bincount(p).astype(float) ** 2)
        recall = np.sum(pairs ** 2) / s_a
        return float(2 * precision * recall / (precision + recall))


SINGLETONS_LEFT_OUT = (
    "you left out the pixels that are cell in the ground truth but membrane in the prediction; "
    "each of them is a segment of its own (a singleton): add 1 per such pixel to S_ab and to S_b")

SLIPS = {
    "you counted only pairs of two different pixels (skimage's convention); the challenge "
    "(Fiji) also counts each pixel with itself: add n, the number of true cell pixels, to all "
    "three sums": dict(self_pairs=False),
    "the predicted membrane pixels form one segment in your count; each predicted membrane "
    "pixel on a true cell must be its own segment (a singleton)": dict(singletons=False),
    "you kept the pixels that are membrane in the ground truth; the score is foreground-"
    "restricted: drop every pixel where the label is membrane": dict(restrict=False),
    "you used 8-connected cells; cells are 4-connected (scipy.ndimage.label's default "
    "structure)": dict(four=False),
}


def _number(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def check_rand_f_score(rand_f_score) -> CheckResult:
    """rand_f_score(pred_mask, label_mask) -> the foreground-restricted Rand F-score of the
    4-connected cells, as unet_course.metrics.rand_f_score(cells(pred), cells(label))."""
    def reference(pred, label):
        return _variant_f(pred > 0.5, label > 0)

    def explain(pred, label):
        def why(expected, actual):
            base = describe_difference(expected, actual, rtol=1e-6, atol=1e-9)
            if base is None:
                return None
            dropped = _f_without_singletons(pred > 0.5, label > 0)
            if _number(actual) is not None and np.isnan(_number(actual)):
                why = (f"{SINGLETONS_LEFT_OUT}. Here the prediction calls every true cell pixel "
                       f"membrane, so without them S_b = 0 and precision = 0/0" if np.isnan(dropped)
                       else "a division 0/0 somewhere (S_b or S_a is 0 for this input?)")
                return f"expected {expected:.6g}, got nan: {why}"
            if not np.isclose(dropped, expected) and np.isclose(float(actual), dropped, rtol=1e-6):
                return f"{base}: {SINGLETONS_LEFT_OUT}"
            for hint, slip in SLIPS.items():
                value = _variant_f(pred > 0.5, label > 0, **slip)
                if not np.isclose(value, expected, rtol=1e-9) and np.isclose(float(actual), value,
                                                                            rtol=1e-6, atol=1e-9):
                    return f"{base}: {hint}"
            return base
        return why

    cases = [(n, (p > 0.5), t > 0) for n, p, t in _label_cases(2015)]
    return _run("rand_f_score", rand_f_score, reference, cases, explain)
