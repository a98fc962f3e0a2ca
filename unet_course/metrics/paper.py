"""The paper's result tables as data (Ronneberger, Fischer & Brox 2015, arXiv 1505.04597).

Only rows checked against the paper are here; each row names its source. The ISBI 2012
numbers were computed by the challenge organisers on the hidden test stack (30 slices) with
the definitions in ``rand`` and ``warping`` (Rand error: 1 - best foreground-restricted Rand
F-score; warping error: minimum splits-and-mergers). Lower is better for all three.
"""
from __future__ import annotations

__all__ = ["ISBI2012_TABLE", "CELL_TRACKING_TABLE", "PAPER"]

PAPER = "Ronneberger, Fischer & Brox, U-Net, MICCAI 2015 (arXiv 1505.04597)"

# Table 1: ranking on the EM segmentation challenge (march 6th, 2015), sorted by warping error.
ISBI2012_TABLE = (
    {"group": "human values", "warping_error": 0.000005, "rand_error": 0.0021,
     "pixel_error": 0.0010, "source": PAPER + ", Table 1"},
    {"group": "u-net", "warping_error": 0.000353, "rand_error": 0.0382,
     "pixel_error": 0.0611, "source": PAPER + ", Table 1"},
)

# Table 2: segmentation results (IoU) on the ISBI cell tracking challenge 2015.
CELL_TRACKING_TABLE = (
    {"method": "u-net (2015)", "PhC-U373": 0.9203, "DIC-HeLa": 0.7756,
     "source": PAPER + ", Table 2"},
    {"method": "second-best 2015", "PhC-U373": 0.83, "DIC-HeLa": 0.46,
     "source": PAPER + ", Table 2"},
)
