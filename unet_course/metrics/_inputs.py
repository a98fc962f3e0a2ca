"""Input checks shared by the metrics: shapes, empty images, probabilities, binary labels.

Convention (the whole package): ``pred`` is the probability of the *cell* class in [0, 1]
(or a 0/1 mask), ``label`` is the ground truth with ``label > 0`` = cell (ISBI: 255 = cell
interior, 0 = membrane), Fiji's rule. A two-valued label without 0 (``{1, 2}``) is refused
here: files go through the course's one label rule first (``unet_course.data.as_label``, the
larger value is cell), which agrees with ``label > 0`` on every label that holds 0.
Prediction first, as in ``pixel_error(pred, label)``.
"""
from __future__ import annotations

import numpy as np

# Thresholds of the ISBI 2012 evaluation: Fiji loops ``for (th = 0.0; th <= 0.9; th += 0.1)``
# in double precision, so the values carry its rounding (0.30000000000000004, ...).
ISBI_THRESHOLDS = tuple(float(t) for t in np.cumsum([0.0] + [0.1] * 9))


def above(p: np.ndarray, threshold: float) -> np.ndarray:
    """``p > threshold`` compared in double precision, as Fiji compares its float pixels with
    a double threshold; numpy 2 would compare float32 pixels with float32(threshold), and a
    pixel of float32(0.3) would not lie above 0.30000000000000004 as it does in Fiji."""
    return np.asarray(p).astype(np.float64) > threshold


def as_image(array, name: str) -> np.ndarray:
    """A 2-D, non-empty, finite numeric array (bool becomes uint8)."""
    a = np.asarray(array)
    if a.dtype == bool:
        a = a.astype(np.uint8)
    if a.ndim != 2:
        raise ValueError(f"{name} must be a 2-D image (H, W); got shape {a.shape}")
    if a.size == 0:
        raise ValueError(f"{name} is empty (shape {a.shape}); give an image with pixels")
    if not np.issubdtype(a.dtype, np.number):
        raise ValueError(f"{name} must be numeric; got dtype {a.dtype}")
    if np.issubdtype(a.dtype, np.floating) and not np.isfinite(a).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return a


def same_shape(pred: np.ndarray, label: np.ndarray) -> None:
    if pred.shape != label.shape:
        raise ValueError(f"pred has shape {pred.shape} but label has shape {label.shape}; "
                         f"they must be the same image size")


def as_probability(pred, name: str = "pred") -> np.ndarray:
    """Cell probabilities as float32 in [0, 1] (a 0/1 mask is a valid probability map)."""
    p = as_image(pred, name)
    lo, hi = float(p.min()), float(p.max())
    if lo < 0 or hi > 1:
        hint = " (an 8-bit image? divide by 255)" if hi <= 255 and lo >= 0 else ""
        raise ValueError(f"{name} must hold cell probabilities in [0, 1]; got values in "
                         f"[{lo:g}, {hi:g}]{hint}")
    return p.astype(np.float32)


def as_binary_label(label, name: str = "label") -> np.ndarray:
    """Ground truth as a bool cell mask; more than two distinct values is rejected."""
    a = as_image(label, name)
    values = np.unique(a)
    if values.size > 2 or values.min() < 0:
        shown = ", ".join(f"{v:g}" for v in values[:6]) + (", ..." if values.size > 6 else "")
        raise ValueError(f"{name} must be binary (membrane/background = 0, cell > 0); got "
                         f"{values.size} distinct values ({shown}). For instance labels use "
                         f"match_instances, or pass label > 0 if the cells do not touch")
    if values.size == 2 and values.min() > 0:  # {1, 2}: label > 0 would call every pixel cell
        raise ValueError(f"{name} holds the values {values[0]:g} and {values[1]:g}, none of them 0: "
                         f"the metrics take label > 0 as cell (as Fiji did), which would make "
                         f"every pixel a cell. Read a label file with unet_course.data.as_label "
                         f"(the larger value is cell) and pass its .mask")
    return a > 0


def pair(pred, label, *, probability: bool = True):
    """Checked (pred, label): float32 probabilities and a bool cell mask of the same shape."""
    p = as_probability(pred) if probability else as_image(pred, "pred")
    t = as_binary_label(label)
    same_shape(p, t)
    return p, t
