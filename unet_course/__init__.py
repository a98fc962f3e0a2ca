"""unet_course: the small package that the U-Net course lessons build and use.

One module per idea of the paper (Ronneberger, Fischer & Brox, MICCAI 2015, arXiv 1505.04597):
`sizes` (valid convolutions, Sec. 2), `device`, `checks` (learner-facing exercise checks),
and, as the course grows, `model`, `weights`, `augment`, `data`, `train`, `tiling`, `metrics`.
"""
__version__ = "0.1.0"
