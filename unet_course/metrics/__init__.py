"""Metrics of the paper's Sec. 4: the ISBI 2012 challenge's pixel, Rand and warping errors,
the cell tracking challenge's SEG score, and instance matching; the paper's tables as data.

Convention: prediction first; ``pred`` = probability of the cell class in [0, 1] (or a 0/1
mask), ``label > 0`` = cell (ISBI labels: 255 = cell interior, 0 = membrane).

- ``pixel``: ``pixel_error`` (1 - best F-score of the cell pixels over thresholds, Fiji's
  PixelError), ``misclassification_rate`` (share of wrong pixels at one threshold),
  ``iou_per_class``, ``foreground_iou`` (one image's cell pixels; over several images the
  course reports the MEAN of the images' IoUs as ``foreground_iou``, while training's
  ``val_iou`` pools their pixels; not the challenge's SEG)
- ``rand``: ``rand_error`` (1 - best foreground-restricted Rand F-score over thresholds)
- ``warping``: ``warping_error`` (Fiji's minimum splits-and-mergers warping error)
- ``instances``: ``match_instances`` (precision, recall, F1, merges and splits at IoU > 0.5),
  ``seg_score`` (the cell tracking challenge's SEG, the paper's Table 2)
- ``isbi``: ``isbi_scores`` (all three for a stack, one threshold for all slices, as Fiji)
- ``paper``: ``ISBI2012_TABLE``, ``CELL_TRACKING_TABLE`` (rows with their source)
"""
from ._inputs import ISBI_THRESHOLDS
from .instances import *  # noqa: F401,F403
from .isbi import *  # noqa: F401,F403
from .paper import *  # noqa: F401,F403
from .pixel import *  # noqa: F401,F403
from .rand import *  # noqa: F401,F403
from .warping import *  # noqa: F401,F403
from . import instances, isbi, paper, pixel, rand, warping

__all__ = (["ISBI_THRESHOLDS"] + instances.__all__ + isbi.__all__ + paper.__all__ + pixel.__all__
           + rand.__all__ + warping.__all__)
