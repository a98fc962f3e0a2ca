"""The paper's result tables as data (Ronneberger, Fischer & Brox 2015, arXiv 1505.04597).

Only rows checked against the paper are here; each row names its source. The ISBI 2012
numbers were computed by the challenge organisers on the hidden test stack (30 slices) with
the definitions in ``pixel``, ``rand`` and ``warping`` (pixel error: 1 - best F-score of the
cell pixels; Rand error: 1 - best foreground-restricted Rand F-score; warping error: minimum
splits-and-mergers). Lower is better for all three. Table 2's "IoU" is the cell tracking
challenge's SEG score (``instances.seg_score``: the mean over the reference cells of the IoU
with the predicted cell covering more than half of each), not the pooled ``foreground_iou``.
"""
from __future__ import annotations

__all__ = ["ISBI2012_TABLE", "CELL_TRACKING_TABLE", "PAPER"]

PAPER = "Ronneberger, Fischer & Brox, U-Net, MICCAI 2015 (arXiv 1505.04597)"

# Table 1: ranking on the EM segmentation challenge (march 6th, 2015), sorted by warping error.
# The paper prints ranks 1-4 and 10 (ranks 5-9 are elided there, so not here). IDSIA-SCI has
# the best Rand error through data-set-specific post-processing of IDSIA's probability maps.
_T1 = PAPER + ", Table 1"
ISBI2012_TABLE = (
    {"rank": None, "group": "human values", "warping_error": 0.000005, "rand_error": 0.0021,
     "pixel_error": 0.0010, "source": _T1},
    {"rank": 1, "group": "u-net", "warping_error": 0.000353, "rand_error": 0.0382,
     "pixel_error": 0.0611, "source": _T1},
    {"rank": 2, "group": "DIVE-SCI", "warping_error": 0.000355, "rand_error": 0.0305,
     "pixel_error": 0.0584, "source": _T1},
    {"rank": 3, "group": "IDSIA", "warping_error": 0.000420, "rand_error": 0.0504,
     "pixel_error": 0.0613, "source": _T1 + " (Ciresan et al., NIPS 2012)"},
    {"rank": 4, "group": "DIVE", "warping_error": 0.000430, "rand_error": 0.0545,
     "pixel_error": 0.0582, "source": _T1},
    {"rank": 10, "group": "IDSIA-SCI", "warping_error": 0.000653, "rand_error": 0.0189,
     "pixel_error": 0.1027, "source": _T1},
)

# Table 2: segmentation results (IoU) on the ISBI cell tracking challenge 2015: the challenge's
# SEG measure (seg_score), higher is better.
CELL_TRACKING_TABLE = (
    {"method": "u-net (2015)", "PhC-U373": 0.9203, "DIC-HeLa": 0.7756,
     "source": PAPER + ", Table 2"},
    {"method": "second-best 2015", "PhC-U373": 0.83, "DIC-HeLa": 0.46,
     "source": PAPER + ", Table 2"},
)
