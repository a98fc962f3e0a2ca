"""The ONE rule that reads a label image, used by ``train`` (a folder), ``evaluate`` and the
lessons, so that a label file means the same to every command:

- two values (``{0, 1}``, ``{0, 255}``, ``{1, 2}``, ...): a binary mask, the LARGER value is
  cell, the smaller background or membrane; cells are its 4-connected components (as the
  ISBI labels, 255 = cell interior, 0 = membrane). When the smaller value is not 0 a note says
  how it was read: ``{1, 2}`` could also be two instance ids without background;
- three or more values: instance ids, 0 = background (each id one cell, e.g. from
  Cellpose or ``predict --split-borders``); each id must (nearly always) form one connected
  region, which tells a labelling from a raw microscope image given by mistake;
- one value: 0 everywhere is an image without cells; any other single value (all 255, all 1)
  could mean "all cell" or "no cell" and is refused, naming the value;
- bool: True = cell. Floats must hold whole numbers; negative values are refused.

``mask`` is the cell mask the pixel metrics compare with: for instance ids, touching cells are
cut apart by a one-pixel line (the ISBI labels draw a membrane between cells).
"""
from __future__ import annotations

import os
from typing import NamedTuple

import numpy as np

__all__ = ["Label", "as_label", "read_label", "instance_like", "cut_touching"]

VALID = ("a binary mask of two values (the larger = cell), instance ids (0 = background, "
         "one id per cell), or all 0 for an image without cells")


class Label(NamedTuple):
    """A label image read by the rule: ``mask`` bool (H, W), cells True; ``instances`` int32
    (H, W), 0 = background, cells 1..K (binary masks: their 4-connected components); ``note``:
    how an ambiguous-looking label was read (commands print it), or None."""
    mask: np.ndarray
    instances: np.ndarray
    note: str | None


def instance_like(image: np.ndarray) -> bool:
    """Two or more ids, each (almost always) one connected region, most of 4 pixels or more."""
    from skimage.measure import label as regions
    ids, sizes = np.unique(image[image > 0], return_counts=True)
    if ids.size < 2 or np.median(sizes) < 4:
        return False
    return regions(image, background=0, connectivity=2).max() <= 1.1 * ids.size


def cut_touching(instances: np.ndarray) -> np.ndarray:
    """Cells of an instance labelling with a one-pixel line cut where two of them touch."""
    mask = instances > 0
    mask[:-1] &= ~((instances[:-1] != instances[1:]) & (instances[1:] > 0))
    mask[:, :-1] &= ~((instances[:, :-1] != instances[:, 1:]) & (instances[:, 1:] > 0))
    return mask


def _components(mask: np.ndarray) -> np.ndarray:
    from scipy import ndimage as ndi
    return ndi.label(mask, structure=ndi.generate_binary_structure(2, 1))[0].astype(np.int32)


def as_label(label, name: str = "label") -> Label:
    """Read a label array (H, W) by the module's rule; ValueError naming ``name``, the values
    found and what would be valid otherwise."""
    label = np.asarray(label)
    if label.ndim == 3 and label.shape[-1] == 1:
        label = label[..., 0]
    if label.ndim != 2 or label.size == 0:
        raise ValueError(f"{name}: a label image must be one grey channel (H, W), got shape "
                         f"{label.shape}; expected {VALID}")
    if label.dtype == bool:
        return Label(label.copy(), _components(label), None)
    if not (np.issubdtype(label.dtype, np.integer) or np.issubdtype(label.dtype, np.floating)):
        raise ValueError(f"{name}: labels must be integers, got dtype {label.dtype}; "
                         f"expected {VALID}")
    values = np.unique(label)
    if np.issubdtype(label.dtype, np.floating):
        bad = values[~np.isfinite(values) | (values != np.round(values))]
        if bad.size:
            raise ValueError(f"{name}: labels must be whole numbers, got values such as "
                             f"{bad[0]:g}; expected {VALID}")
    if values[0] < 0:
        raise ValueError(f"{name}: labels must not be negative, got {values[0]:g}; "
                         f"expected {VALID}")
    if values.size == 1:
        if values[0] == 0:
            return Label(np.zeros(label.shape, bool), np.zeros(label.shape, np.int32), None)
        raise ValueError(f"{name}: every pixel has the value {values[0]:g}, which could mean "
                         f"all cell or no cell; expected {VALID}")
    if values.size == 2:
        lo, hi = values
        mask = label == hi
        note = None if lo == 0 else (f"{name}: two values read as a binary mask, {hi:g} = cell "
                                     f"and {lo:g} = background (the larger value is cell; "
                                     f"instance ids need 0 as background)")
        return Label(mask, _components(mask), note)
    if values[-1] > np.iinfo(np.int32).max or not instance_like(label):
        raise ValueError(f"{name}: {values.size} values that do not form cells (a raw image?); "
                         f"expected {VALID}")
    instances = label.astype(np.int32)
    return Label(cut_touching(instances), instances, None)


def read_label(path: str | os.PathLike) -> Label:
    """``as_label`` of a PNG or TIFF file (``read_image``), errors naming the file."""
    from .files import read_image
    return as_label(read_image(path), str(path))
